//! `many_skills`: what the number of approved skills costs, as ratios
//! measured in one run (the audit log on the page cache only, so that the
//! figures show the pipeline, not the disk):
//! - a repeat call of a loaded skill with 1,000 skills approved vs with 1;
//! - opening the host (what `serve` does at start) with 1,000 vs 1;
//! - the first call after the component was evicted from the bounded
//!   loaded-component cache (read back, re-hashed, deserialised from the
//!   authenticated artifact cache) vs a repeat call of a loaded skill.
//!
//! The 1,000 skills are rows in the registry over the same module, written
//! through the registry directly: adding each through the host would compile
//! nothing new for the measurement and take minutes. Under `cargo test` the
//! counts are tiny and no figures are printed.
//!
//! Run: `cargo bench -p skillhost --features internal --bench many_skills`.

use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use skillhost::registry::{Actor, Narrowing, Registry, SkillName};
use skillhost::{HostConfig, SkillHost};

mod support;
use support::{median_ns, padded, skill_file};

const INPUT: &str = r#"{"message":"hello","n":42}"#;

fn config(loaded_bytes_max: u64) -> HostConfig {
    let mut c = HostConfig::default();
    c.rate.per_skill_per_minute = u32::MAX;
    c.rate.global_per_minute = u32::MAX;
    c.rate.per_caller_per_minute = u32::MAX;
    c.engine.loaded_bytes_max = loaded_bytes_max;
    c
}

/// A data dir with a master key (so the artifact cache is on), `echo`
/// added and approved through the host, and `extra` more skills approved
/// through the registry: `(name, bytes)`.
fn data_dir(rt: &tokio::runtime::Runtime, extra: &[(String, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    skillhost::secrets::MasterKey::generate()
        .write_new(&dir.path().join("master.key"))
        .unwrap();
    let echo = std::fs::read(skill_file("echo")).unwrap();
    let declared = rt.block_on(async {
        let host = SkillHost::open(&config(u64::MAX), dir.path())
            .await
            .unwrap();
        let v = host.add(&echo, "bench").await.unwrap().version().clone();
        host.approve("echo", &v.digest, &Narrowing::default(), "bench")
            .await
            .unwrap();
        v.declared
    });
    let registry = Registry::open(dir.path()).unwrap();
    let actor = Actor {
        who: "bench",
        at: "2026-12-07T00:00:00Z",
    };
    for (name, bytes) in extra {
        let name = SkillName::parse(name).unwrap();
        registry.add(&name, bytes, &declared, &actor).unwrap();
        let digest = skillhost::ModuleDigest::of(bytes);
        registry
            .approve(&name, &digest, &Narrowing::default(), &actor)
            .unwrap();
    }
    dir
}

fn main() {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut c = Criterion::default()
        .output_directory(&out_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    let measured = std::env::args().any(|a| a == "--bench");
    let many = if measured { 1_000 } else { 3 };
    skillhost::audit::BENCH_SKIP_FSYNC.store(true, std::sync::atomic::Ordering::SeqCst);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let echo = std::fs::read(skill_file("echo")).unwrap();

    let one = data_dir(&rt, &[]);
    let others: Vec<(String, Vec<u8>)> = (1..many)
        .map(|i| (format!("skill-{i:04}"), echo.clone()))
        .collect();
    let lots = data_dir(&rt, &others);
    // Two skills of different modules, and room for only one loaded.
    let evicting = data_dir(&rt, &[("other".into(), padded(&echo, 64))]);

    let open = |dir: &Path, max: u64| rt.block_on(SkillHost::open(&config(max), dir)).unwrap();
    let mut group = c.benchmark_group("many_skills");
    for (name, dir) in [("repeat_1", &one), ("repeat_many", &lots)] {
        let host = open(dir.path(), u64::MAX);
        group.bench_function(name, |b| {
            b.iter(|| {
                let inv = rt.block_on(host.invoke("echo", INPUT, "bench")).unwrap();
                assert_eq!(inv.result.unwrap().len(), INPUT.len());
            })
        });
    }
    let host = open(evicting.path(), 1);
    group.bench_function("after_eviction", |b| {
        b.iter(|| {
            // Each call evicts the other skill's component.
            for skill in ["echo", "other"] {
                let inv = rt.block_on(host.invoke(skill, INPUT, "bench")).unwrap();
                assert_eq!(inv.result.unwrap().len(), INPUT.len());
            }
        })
    });
    assert!(host.loaded_stats().evictions > 0);
    drop(host);
    // What one loaded Rust skill costs the loaded-component cache.
    let sizing = open(one.path(), u64::MAX);
    rt.block_on(sizing.invoke("echo", INPUT, "bench")).unwrap();
    let echo_bytes = sizing.loaded_stats().bytes;
    drop(sizing);
    group.sample_size(20);
    for (name, dir) in [("open_1", &one), ("open_many", &lots)] {
        group.bench_function(name, |b| {
            b.iter(|| drop(open(dir.path(), u64::MAX)));
        });
    }
    group.finish();
    c.final_summary();

    let m = |bench: &str| median_ns(&out_dir, "many_skills", bench).filter(|_| measured);
    match (
        m("repeat_1"),
        m("repeat_many"),
        m("after_eviction"),
        m("open_1"),
        m("open_many"),
    ) {
        (Some(r1), Some(rn), Some(ev), Some(o1), Some(on)) => {
            // `after_eviction` makes two calls per iteration.
            let ev = ev / 2.0;
            println!(
                "many_skills: repeat call with {many} approved = {:.1} µs, with 1 = {:.1} µs, ratio = {:.2} (goal <= 1.1)",
                rn / 1e3,
                r1 / 1e3,
                rn / r1
            );
            println!(
                "many_skills: first call after eviction = {:.1} µs, repeat call = {:.1} µs, ratio = {:.2} (goal <= 3)",
                ev / 1e3,
                r1 / 1e3,
                ev / r1
            );
            println!(
                "many_skills: open with {many} approved = {:.1} ms, with 1 = {:.1} ms, ratio = {:.2} (goal <= 1.5)",
                on / 1e6,
                o1 / 1e6,
                on / o1
            );
        }
        _ => println!("many_skills: no estimates (run with `cargo bench` to measure)"),
    }
    println!(
        "many_skills: one loaded echo ({:.0} KiB module) accounts {:.0} KiB of code memory against engine.loaded_bytes_max",
        echo.len() as f64 / 1024.0,
        echo_bytes as f64 / 1024.0
    );
}
