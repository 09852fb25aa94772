//! `egress_get`: a skill doing one GET through the host's egress pipeline
//! (grant check, checking resolver, caps, audit events) to a loopback
//! server, next to a native reqwest GET to the same server, in the same run.
//!
//! Run: `cargo bench -p skillhost --features internal --bench egress_get` (after building the
//! example skills). The last line prints both medians and their ratio.

#[path = "../../tests/e2e/servers.rs"]
#[allow(dead_code)]
mod servers;

use std::path::Path;
use std::time::Duration;

use criterion::Criterion;
use skillhost::config::EgressConfig;
use skillhost::egress::Rule;
use skillhost::{HostConfig, SkillEngine};

fn main() {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut c = Criterion::default()
        .output_directory(&out_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();

    let server = servers::start(0, None);
    let port = server.port();
    let wasm = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../skills-examples/target/wasm32-wasip2/release/http_probe.wasm");
    let bytes = std::fs::read(&wasm).expect("build the example skills first");
    let config = HostConfig {
        egress: EgressConfig {
            allow_private: vec!["127.0.0.1/32".into()],
            hosts: [("api.test".to_string(), vec!["127.0.0.1".parse().unwrap()])]
                .into_iter()
                .collect(),
            ..EgressConfig::default()
        },
        ..HostConfig::default()
    };
    let engine = SkillEngine::new(&config, None, None).unwrap();
    let skill = engine.load(&bytes).unwrap();
    let limits = engine.limits().clone();
    let grants = vec![Rule::parse(&format!("http://api.test:{port}")).unwrap()];
    let input = serde_json::json!({ "url": format!("http://api.test:{port}/json") }).to_string();
    let native_url = format!("http://127.0.0.1:{port}/json");
    let native = reqwest::Client::builder().no_proxy().build().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let mut group = c.benchmark_group("egress_get");
    group.bench_function("skill_via_host", |b| {
        b.iter(|| {
            let inv = rt.block_on(skill.invoke_granted(&input, &limits, &grants));
            let out = inv.result.unwrap();
            assert!(out.contains("\"status\":200"), "{out}");
        })
    });
    group.bench_function("native_reqwest", |b| {
        b.iter(|| {
            let body = rt.block_on(async {
                native
                    .get(&native_url)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
            });
            assert_eq!(&body[..], br#"{"items":[1,2,3]}"#);
        })
    });
    group.finish();
    c.final_summary();

    let median = |bench: &str| -> Option<f64> {
        let path = out_dir
            .join("egress_get")
            .join(bench)
            .join("new/estimates.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    // `cargo test` runs each case once and writes no estimates; do not
    // report numbers left over from an earlier `cargo bench`.
    let measured = std::env::args().any(|a| a == "--bench");
    match (
        median("skill_via_host").filter(|_| measured),
        median("native_reqwest"),
    ) {
        (Some(a), Some(b)) => println!(
            "egress_get: median skill_via_host = {:.1} µs, median native_reqwest = {:.1} µs, ratio = {:.2}",
            a / 1e3,
            b / 1e3,
            a / b
        ),
        _ => println!("egress_get: no estimates (run with `cargo bench` to measure)"),
    }
}
