//! `refuse_unlinkable`: `SkillEngine::load` of a component the host can
//! never link (`wants-wasi-http`, which imports `wasi:http/types`, padded
//! with a 12 MiB custom section, as a large interpreter component would be),
//! refused by the import check before anything is compiled, next to a
//! baseline measured in the same run: loading (compiling) the small valid
//! echo skill with no artifact cache. Also prints the process's peak RSS
//! (VmHWM) after the refusal runs, before the baseline compiles anything.
//!
//! Run: `cargo bench -p skillhost --features internal --bench refuse_unlinkable` (after building
//! the example skills). The last lines print both medians and their ratio.

use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use skillhost::{HostConfig, SkillEngine, codes};

mod support;
use support::{median_ns, padded, peak_rss_kib, skill_file};

const PADDING: usize = 12 << 20;

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "unknown".to_string(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

fn main() {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut c = Criterion::default()
        .output_directory(&out_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();

    let unlinkable = padded(
        &std::fs::read(skill_file("wants_wasi_http")).unwrap(),
        PADDING,
    );
    let echo = std::fs::read(skill_file("echo")).unwrap();
    // No data dir, no key: no artifact cache, so every load of echo compiles.
    let engine = SkillEngine::new(&HostConfig::default(), None, None).unwrap();

    // What is refused, and why: checked once, before measuring.
    let err = engine.load(&unlinkable).err().expect("refused");
    assert_eq!(err.code(), codes::MODULE_INVALID);
    assert!(err.to_string().contains("wasi:http"), "{err}");
    // Nothing has been compiled yet: the peak so far is the buffers and
    // the engine.
    let rss_before = peak_rss_kib();

    let mut group = c.benchmark_group("refuse_unlinkable");
    group.sample_size(10);
    group.bench_function("refused_padded_12mib", |b| {
        b.iter(|| {
            let err = engine.load(&unlinkable).err().expect("refused");
            assert_eq!(err.code(), codes::MODULE_INVALID);
        })
    });
    let rss_after_refusals = peak_rss_kib();
    group.bench_function("compile_echo", |b| {
        b.iter(|| {
            let s = engine.load(&echo).unwrap();
            assert_eq!(*s.source(), skillhost::ArtifactSource::Compiled);
        })
    });
    group.finish();
    c.final_summary();

    // `cargo test` runs each case once and writes no estimates; do not
    // report numbers left over from an earlier `cargo bench`.
    let measured = std::env::args().any(|a| a == "--bench");
    let median = |bench: &str| median_ns(&out_dir, "refuse_unlinkable", bench).filter(|_| measured);
    match (median("refused_padded_12mib"), median("compile_echo")) {
        (Some(r), Some(e)) => println!(
            "refuse_unlinkable: median refused_padded_12mib ({:.1} MiB) = {:.1} µs, median compile_echo ({:.1} KiB) = {:.1} µs, ratio refused/compile_echo = {:.4}",
            unlinkable.len() as f64 / (1 << 20) as f64,
            r / 1e3,
            echo.len() as f64 / 1024.0,
            e / 1e3,
            r / e
        ),
        _ => println!("refuse_unlinkable: no estimates (run with `cargo bench` to measure)"),
    }
    println!(
        "refuse_unlinkable: peak RSS (VmHWM) {} before the refusal runs, {} after them (before anything was compiled)",
        mib(rss_before),
        mib(rss_after_refusals)
    );
}
