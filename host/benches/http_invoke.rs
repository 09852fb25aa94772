//! `http_invoke`: invoking the echo skill over the HTTP API on loopback,
//! next to the in-process library call (`Host::invoke`) in the same run.
//! Both go through the full checker pipeline (runnable view, rate, schema,
//! loaded component, sandbox, two durable audit records); HTTP adds the
//! request, token authentication (a cached record and one hash compare)
//! and JSON framing.
//!
//! Two measurements:
//! - criterion medians of one sequential call each (`http`, `in_process`);
//! - a bounded load: `CLIENTS` concurrent clients making `REQUESTS` calls in
//!   all, reporting requests/s and p50/p99 latency for both paths.
//!
//! Run: `cargo bench -p skillhost --features internal --bench http_invoke` (after building the
//! example skills). Under `cargo test` each case runs once and the load is
//! tiny; no figures are printed then.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use skillhost::auth::Role;
use skillhost::registry::Narrowing;
use skillhost::{Added, Caller, Host, HostConfig, SkillHost};

const INPUT: &str = r#"{"message":"hello","n":42}"#;
const CLIENTS: usize = 16;
const REQUESTS: usize = 2_000;

fn config() -> HostConfig {
    let mut c = HostConfig::default();
    c.rate.per_skill_per_minute = 10_000_000;
    c.rate.global_per_minute = 10_000_000;
    c.rate.per_caller_per_minute = 10_000_000;
    c
}

struct Load {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
}

/// `total` calls of `call` from `clients` concurrent tasks.
async fn load<F, Fut>(clients: usize, total: usize, call: F) -> Load
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let call = call.clone();
        let n = total / clients + usize::from(i < total % clients);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                call().await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1e6;
    Load {
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
    }
}

fn main() {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let mut c = Criterion::default()
        .output_directory(&out_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let measured = std::env::args().any(|a| a == "--bench");

    let echo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../skills-examples/target/wasm32-wasip2/release/echo.wasm");
    let bytes = std::fs::read(&echo).expect("build the example skills first");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();

    let (host, token, caller, url, stop) = rt.block_on(async {
        let host = SkillHost::open(&config(), data.path()).await.unwrap();
        let Added::Pending(v) = host.add(&bytes, "owner").await.unwrap() else {
            panic!()
        };
        host.approve("echo", &v.digest, &Narrowing::default(), "owner")
            .await
            .unwrap();
        let token = host
            .create_token("bench", Role::Invoker, None, None, "owner")
            .await
            .unwrap()
            .token
            .to_string();
        let host = Host::from_arc(Arc::new(host));
        let caller: Caller = host.authenticate(&token).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/v1/skills/echo/invoke",
            listener.local_addr().unwrap()
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(skillhost::api::serve(host.clone(), listener, async {
            let _ = stopped.await;
        }));
        (host, token, caller, url, stop)
    });
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let http_call = {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        move || {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move {
                let resp = client
                    .post(&url)
                    .bearer_auth(&token)
                    .body(INPUT)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                let _ = resp.bytes().await.unwrap();
            }
        }
    };
    let lib_call = {
        let (host, caller) = (host.clone(), caller.clone());
        move || {
            let (host, caller) = (host.clone(), caller.clone());
            async move {
                let inv = host.invoke("echo", INPUT, &caller).await.unwrap();
                assert!(inv.result.is_ok());
            }
        }
    };

    let mut group = c.benchmark_group("http_invoke");
    group.bench_function("http", |b| b.iter(|| rt.block_on(http_call())));
    group.bench_function("in_process", |b| b.iter(|| rt.block_on(lib_call())));
    group.finish();
    c.final_summary();

    let total = if measured { REQUESTS } else { CLIENTS };
    let http = rt.block_on(load(CLIENTS, total, http_call));
    let lib = rt.block_on(load(CLIENTS, total, lib_call));
    let _ = stop.send(());

    if !measured {
        println!("http_invoke: no figures (run with `cargo bench` to measure)");
        return;
    }
    let median = |name: &str| {
        let p = out_dir
            .join("http_invoke")
            .join(name)
            .join("new/estimates.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    if let (Some(h), Some(l)) = (median("http"), median("in_process")) {
        println!(
            "http_invoke: sequential median http = {:.1} µs, in_process = {:.1} µs, ratio http/in_process = {:.2}",
            h / 1e3,
            l / 1e3,
            h / l
        );
    }
    for (name, r) in [("http", &http), ("in_process", &lib)] {
        println!(
            "http_invoke load ({CLIENTS} clients, {total} requests): {name}: {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs",
            r.rps, r.p50_us, r.p99_us
        );
    }
    println!(
        "http_invoke load: throughput ratio http/in_process = {:.2}, p50 ratio = {:.2}, p99 ratio = {:.2}",
        http.rps / lib.rps,
        http.p50_us / lib.p50_us,
        http.p99_us / lib.p99_us
    );
}
