//! `polyglot`: what an interpreter inside a skill costs, against the Rust
//! `echo` in the same run. For the Python `py-echo` (CPython inside, about
//! 18 MB) and, when it was built, the TypeScript `ts-echo` (SpiderMonkey):
//! - the cold compile (no artifact cache; one timed run, it takes seconds);
//! - the cached load (the authenticated artifact cache: re-hash, HMAC
//!   check, deserialise), with the cold/cached ratio (goal >= 20);
//! - the per-call invoke with a fresh instance (goal <= 2 ms for Python),
//!   with its ratio against the Rust echo.
//!
//! The components come from `scripts/build-polyglot.sh` (target/polyglot).
//! Under `cargo test` each case runs once and no figures are printed.
//!
//! Run: `cargo bench -p skillhost --features internal --bench polyglot`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use skillhost::secrets::MasterKey;
use skillhost::{HostConfig, Limits, SkillEngine};

mod support;
use support::{median_ns, skill_file};

const INPUT: &str = r#"{"message":"hello","n":42}"#;

fn polyglot_file(stem: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/polyglot")
        .join(format!("{stem}.wasm"))
}

fn main() {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut c = Criterion::default()
        .output_directory(&out_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let measured = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = HostConfig::default();
    let limits = Limits::default();
    let py = polyglot_file("py_echo");
    assert!(
        py.is_file(),
        "{} is missing: build the Python examples with scripts/build-polyglot.sh",
        py.display()
    );
    let mut guests = vec![("py", std::fs::read(&py).unwrap())];
    let ts = polyglot_file("ts_echo");
    if ts.is_file() {
        guests.push(("ts", std::fs::read(&ts).unwrap()));
    } else {
        println!(
            "polyglot: {} not built; TypeScript not measured",
            ts.display()
        );
    }

    let uncached = SkillEngine::new(&config, None, None).unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let cached = SkillEngine::new(&config, Some(cache_dir.path()), Some(&key)).unwrap();
    let rust = uncached
        .load(&std::fs::read(skill_file("echo")).unwrap())
        .unwrap();

    let mut group = c.benchmark_group("polyglot");
    group.sample_size(10);
    group.bench_function("rust_invoke", |b| {
        b.iter(|| {
            let inv = rt.block_on(rust.invoke(INPUT, &limits));
            assert_eq!(inv.result.unwrap(), INPUT);
        })
    });
    let mut cold = Vec::new();
    for (lang, bytes) in &guests {
        let started = Instant::now();
        let loaded = uncached.load(bytes).unwrap();
        cold.push((*lang, started.elapsed(), bytes.len()));
        // The first cached load compiles and stores the artifact.
        drop(cached.load(bytes).unwrap());
        group.bench_function(format!("{lang}_cached_load"), |b| {
            b.iter(|| drop(cached.load(bytes).unwrap()))
        });
        group.bench_function(format!("{lang}_invoke"), |b| {
            b.iter(|| {
                let inv = rt.block_on(loaded.invoke(INPUT, &limits));
                let out: serde_json::Value = serde_json::from_str(&inv.result.unwrap()).unwrap();
                assert_eq!(out["n"], 42);
            })
        });
    }
    group.finish();
    c.final_summary();

    let m = |bench: &str| median_ns(&out_dir, "polyglot", bench).filter(|_| measured);
    let Some(rust_ns) = m("rust_invoke") else {
        println!("polyglot: no estimates (run with `cargo bench` to measure)");
        return;
    };
    for (lang, compile, size) in cold {
        let (Some(load), Some(call)) = (
            m(&format!("{lang}_cached_load")),
            m(&format!("{lang}_invoke")),
        ) else {
            continue;
        };
        let compile_ns = compile.as_nanos() as f64;
        println!(
            "polyglot: {lang} echo ({:.1} MB): cold compile = {:.2} s, cached load = {:.1} ms, ratio = {:.0} (goal >= 20)",
            size as f64 / 1e6,
            compile_ns / 1e9,
            load / 1e6,
            compile_ns / load
        );
        println!(
            "polyglot: {lang} echo per call = {:.2} ms, rust echo = {:.1} µs, ratio = {:.0}{}",
            call / 1e6,
            rust_ns / 1e3,
            call / rust_ns,
            if lang == "py" {
                " (goal: python <= 2 ms per call)"
            } else {
                ""
            }
        );
    }
}
