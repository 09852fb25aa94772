//! `invoke_echo`: the full host path for a trivial skill next to a
//! raw-wasmtime baseline (fresh store + instantiate from `InstancePre` + call,
//! same component, no limits), measured in the same run; plus cold load of
//! the component with and without the verified artifact cache.
//!
//! Run: `cargo bench -p skillhost --features internal --bench invoke_echo` (after building the
//! example skills). The last lines print both medians and their ratio.

use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use skillhost::contract::{self, Skill, SkillPre};
use skillhost::{HostConfig, SkillEngine};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod support;
use support::{median_ns, padded, skill_file};

const INPUT: &str = r#"{"message":"hello","n":42}"#;

/// Store state for the baseline: WASI with wasmtime's defaults and no-op host
/// functions. No fuel, no epochs, no limiter, no pooling.
struct Baseline {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Baseline {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl contract::skillhost::skill::types::Host for Baseline {}

impl contract::skillhost::skill::host::Host for Baseline {
    async fn log(&mut self, _: contract::LogLevel, _: String) {}
    async fn http_fetch(
        &mut self,
        _: contract::HttpRequest,
    ) -> Result<contract::HttpResponse, contract::HttpError> {
        Err(contract::HttpError {
            code: "baseline".into(),
            message: String::new(),
        })
    }
}

fn baseline_pre(bytes: &[u8]) -> (Engine, SkillPre<Baseline>) {
    let engine = Engine::new(&Config::new()).unwrap();
    let mut linker = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    Skill::add_to_linker::<_, HasSelf<Baseline>>(&mut linker, |s| s).unwrap();
    let component = wasmtime::component::Component::new(&engine, bytes).unwrap();
    let pre = SkillPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
    (engine, pre)
}

async fn baseline_invoke(engine: &Engine, pre: &SkillPre<Baseline>) -> String {
    let mut store = Store::new(
        engine,
        Baseline {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        },
    );
    let skill = pre.instantiate_async(&mut store).await.unwrap();
    skill
        .skillhost_skill_guest()
        .call_invoke(&mut store, INPUT)
        .await
        .unwrap()
        .unwrap()
}

fn main() {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut c = Criterion::default()
        .output_directory(&out_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();

    let bytes = std::fs::read(skill_file("echo")).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let host = SkillEngine::new(&HostConfig::default(), None, None).unwrap();
    let skill = host.load(&bytes).unwrap();
    let limits = host.limits().clone();
    let (raw_engine, raw_pre) = baseline_pre(&bytes);

    let mut group = c.benchmark_group("invoke_echo");
    group.bench_function("skillhost", |b| {
        b.iter(|| {
            let out = rt.block_on(skill.invoke(INPUT, &limits)).result.unwrap();
            assert_eq!(out.len(), INPUT.len());
        })
    });
    group.bench_function("raw_wasmtime", |b| {
        b.iter(|| {
            let out = rt.block_on(baseline_invoke(&raw_engine, &raw_pre));
            assert_eq!(out.len(), INPUT.len());
        })
    });
    group.finish();

    // The full pipeline: the runnable view, rate limits, schema, the loaded
    // component, the sandbox, and two durable audit records per call.
    // Sequentially (one caller) and with 64 callers at once, with and
    // without group commit; sequentially with the log on the page cache
    // only; and for a 20 MiB component.
    let mt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let checked = |group_commit: bool, bytes: &[u8]| {
        let dir = tempfile::tempdir().unwrap();
        let mut config = HostConfig::default();
        config.rate.per_skill_per_minute = u32::MAX;
        config.rate.global_per_minute = u32::MAX;
        config.rate.per_caller_per_minute = u32::MAX;
        config.audit.group_commit = group_commit;
        let host = mt.block_on(async {
            let host = skillhost::SkillHost::open(&config, dir.path())
                .await
                .unwrap();
            let added = host.add(bytes, "bench").await.unwrap();
            let v = added.version();
            host.approve("echo", &v.digest, &Default::default(), "bench")
                .await
                .unwrap();
            host
        });
        (dir, std::sync::Arc::new(host))
    };
    let mt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_d1, grouped) = checked(true, &bytes);
    let (_d2, ungrouped) = checked(false, &bytes);
    // The same skill padded to 20 MiB (a custom section, as a large
    // interpreter component carries): the per-call cost must not grow with
    // the module once it is loaded and verified.
    let big = padded(&bytes, 20 << 20);
    let (_d3, padded_host) = checked(true, &big);
    let mut group = c.benchmark_group("invoke_echo_checked");
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let inv = mt.block_on(grouped.invoke("echo", INPUT, "bench")).unwrap();
            assert_eq!(inv.result.unwrap().len(), INPUT.len());
        })
    });
    // The audit log on the page cache only (no fdatasync): what the
    // pipeline itself costs next to the bare sandbox call.
    skillhost::audit::BENCH_SKIP_FSYNC.store(true, std::sync::atomic::Ordering::SeqCst);
    for (name, host) in [
        ("sequential_page_cache", &grouped),
        ("sequential_page_cache_20mib", &padded_host),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let inv = mt.block_on(host.invoke("echo", INPUT, "bench")).unwrap();
                assert_eq!(inv.result.unwrap().len(), INPUT.len());
            })
        });
    }
    skillhost::audit::BENCH_SKIP_FSYNC.store(false, std::sync::atomic::Ordering::SeqCst);
    // What one durable append costs on this disk: the floor under a
    // sequential invocation, which makes two records durable in turn.
    let sync_dir = tempfile::tempdir_in(_d1.path()).unwrap();
    let mut sync_file = std::fs::File::create(sync_dir.path().join("sync")).unwrap();
    group.bench_function("fdatasync_200_bytes", |b| {
        use std::io::Write as _;
        b.iter(|| {
            sync_file.write_all(&[b'x'; 200]).unwrap();
            sync_file.sync_data().unwrap();
        })
    });
    let mut batch_lines = Vec::new();
    for (name, host) in [
        ("concurrent64_group_commit", &grouped),
        ("concurrent64_no_group_commit", &ungrouped),
    ] {
        let before = host.audit().batch_stats().unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                mt.block_on(async {
                    let tasks: Vec<_> = (0..64)
                        .map(|_| {
                            let host = host.clone();
                            tokio::spawn(async move {
                                host.invoke("echo", INPUT, "bench").await.unwrap()
                            })
                        })
                        .collect();
                    for t in tasks {
                        assert!(t.await.unwrap().result.is_ok());
                    }
                })
            })
        });
        batch_lines.push(batch_distribution(
            name,
            &before,
            &host.audit().batch_stats().unwrap(),
        ));
    }
    group.finish();

    // Cold load: a fresh engine each time, loading echo.wasm either from a
    // warm, verified artifact cache or by compiling it.
    let data = tempfile::tempdir().unwrap();
    let key = skillhost::secrets::MasterKey::generate();
    SkillEngine::new(&HostConfig::default(), Some(data.path()), Some(&key))
        .unwrap()
        .load(&bytes)
        .unwrap();
    let mut group = c.benchmark_group("cold_load");
    group.sample_size(10);
    group.bench_function("cached", |b| {
        b.iter(|| {
            let engine =
                SkillEngine::new(&HostConfig::default(), Some(data.path()), Some(&key)).unwrap();
            let s = engine.load(&bytes).unwrap();
            assert_eq!(*s.source(), skillhost::ArtifactSource::Cache);
        })
    });
    group.bench_function("compiled", |b| {
        b.iter(|| {
            let engine = SkillEngine::new(&HostConfig::default(), None, None).unwrap();
            let s = engine.load(&bytes).unwrap();
            assert_eq!(*s.source(), skillhost::ArtifactSource::Compiled);
        })
    });
    group.finish();
    c.final_summary();

    // `cargo test` runs each case once and writes no estimates; do not
    // report numbers left over from an earlier `cargo bench`.
    let measured = std::env::args().any(|a| a == "--bench");
    let report = |group: &str, a: &str, b: &str| match (
        median_ns(&out_dir, group, a).filter(|_| measured),
        median_ns(&out_dir, group, b),
    ) {
        (Some(x), Some(y)) => println!(
            "{group}: median {a} = {:.1} µs, median {b} = {:.1} µs, ratio {a}/{b} = {:.2}",
            x / 1e3,
            y / 1e3,
            x / y
        ),
        _ => println!("{group}: no estimates (run with `cargo bench` to measure)"),
    };
    report("invoke_echo", "skillhost", "raw_wasmtime");
    let checked_seq = median_ns(&out_dir, "invoke_echo_checked", "sequential").filter(|_| measured);
    let raw = median_ns(&out_dir, "invoke_echo", "raw_wasmtime").filter(|_| measured);
    if let (Some(c), Some(r)) = (checked_seq, raw) {
        println!(
            "invoke_echo_checked: median sequential = {:.1} µs ({:.0} invocations/s), ratio to raw_wasmtime = {:.2}",
            c / 1e3,
            1e9 / c,
            c / r
        );
    }
    let stat = |name: &str| median_ns(&out_dir, "invoke_echo_checked", name).filter(|_| measured);
    let sandbox = median_ns(&out_dir, "invoke_echo", "skillhost").filter(|_| measured);
    if let (Some(p), Some(s)) = (stat("sequential_page_cache"), sandbox) {
        println!(
            "P1 page cache: median checked pipeline = {:.1} µs, bare sandbox call = {:.1} µs, ratio = {:.2} (goal <= 1.5)",
            p / 1e3,
            s / 1e3,
            p / s
        );
    }
    if let (Some(seq), Some(sync)) = (stat("sequential"), stat("fdatasync_200_bytes")) {
        let bound = 2.0 * sync + 100_000.0;
        println!(
            "P1 fsync: median sequential = {:.1} µs, fdatasync = {:.1} µs, bound 2 x fdatasync + 100 µs = {:.1} µs, ratio = {:.2} (goal <= 1.0)",
            seq / 1e3,
            sync / 1e3,
            bound / 1e3,
            seq / bound
        );
    }
    if let (Some(big), Some(small)) = (
        stat("sequential_page_cache_20mib"),
        stat("sequential_page_cache"),
    ) {
        println!(
            "size independence: median 20 MiB component = {:.1} µs, {:.0} KiB component = {:.1} µs, ratio = {:.2} (goal <= 1.2)",
            big / 1e3,
            bytes.len() as f64 / 1024.0,
            small / 1e3,
            big / small
        );
    }
    for name in ["concurrent64_group_commit", "concurrent64_no_group_commit"] {
        if let Some(t) = median_ns(&out_dir, "invoke_echo_checked", name).filter(|_| measured) {
            println!(
                "invoke_echo_checked/{name}: median per batch of 64 = {:.1} ms, throughput = {:.0} invocations/s",
                t / 1e6,
                64.0 * 1e9 / t
            );
        }
    }
    report("cold_load", "cached", "compiled");
    for line in batch_lines {
        println!("{line}");
    }
}

/// The audit batch sizes (records per fsync) written between two snapshots.
fn batch_distribution(
    name: &str,
    before: &skillhost::audit::BatchStats,
    after: &skillhost::audit::BatchStats,
) -> String {
    let batches = after.batches() - before.batches();
    let records = after.records - before.records;
    let mut line = format!(
        "audit batches during {name}: {batches} fsyncs for {records} records, mean {:.1} records per fsync; by size:",
        records as f64 / batches.max(1) as f64
    );
    let mut low = 1;
    for (i, le) in skillhost::audit::BATCH_BUCKETS.iter().enumerate() {
        let n = after.buckets[i] - before.buckets[i];
        if n > 0 {
            line.push_str(&format!(" {low}-{le}: {n},"));
        }
        low = le + 1;
    }
    line.pop();
    line
}
