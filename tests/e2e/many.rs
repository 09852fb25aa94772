//! A thousand distinct approved skills on one host: memory bounded by
//! `engine.loaded_bytes_max`, not by how many skills were ever used, and
//! discovery that pages — over the HTTP API and, with the official Python
//! and TypeScript SDK clients, over MCP on both transports.
//!
//! The skills are copies of `many-copies`, each with its name block
//! rewritten (see skills-examples/many-copies), so every copy is a distinct
//! module with its own digest, added, reviewed and approved like any other,
//! and loaded by a real `skillhost serve`.

use std::path::Path;
use std::time::Instant;

use reqwest::Method;
use skillhost::auth::Role;
use skillhost::registry::Narrowing;
use skillhost::{Added, HostConfig, SkillHost};

use crate::common::*;
use crate::serve::*;

const COUNT: usize = 1000;
const MARKER: &[u8] = b"many-copies-000000";
const LOADED_MAX: u64 = 64 << 20;

fn copy_name(i: usize) -> String {
    format!("many-copies-{i:06}")
}

/// Copy `i` of the many-copies module: the six digits of its name block
/// rewritten, nothing else.
fn copy(bytes: &[u8], i: usize) -> Vec<u8> {
    let at = bytes
        .windows(MARKER.len())
        .position(|w| w == MARKER)
        .expect("the name block is in the module");
    assert!(
        bytes[at + 1..].windows(MARKER.len()).all(|w| w != MARKER),
        "the name block is unique"
    );
    let mut out = bytes.to_vec();
    out[at..at + MARKER.len()].copy_from_slice(copy_name(i).as_bytes());
    out
}

/// Resident set of a process, in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing from\n{metrics}"))
        .parse()
        .unwrap()
}

/// COUNT copies added and approved in `dir` (with a master key, so the
/// server loads each from the authenticated artifact cache); an owner and
/// an invoker token.
async fn prepare_many(dir: &Path) -> (String, String) {
    skillhost::secrets::MasterKey::generate()
        .write_new(&dir.join("master.key"))
        .unwrap();
    let host = std::sync::Arc::new(SkillHost::open(&HostConfig::default(), dir).await.unwrap());
    let original = std::sync::Arc::new(skill_bytes("many_copies"));
    // Four at a time: compiling is parallel already, the disk waits are not.
    const LANES: usize = 4;
    let lanes: Vec<_> = (0..LANES)
        .map(|lane| {
            let (host, original) = (host.clone(), original.clone());
            tokio::spawn(async move {
                let mut digests = Vec::new();
                for i in (lane..COUNT).step_by(LANES) {
                    let Added::Pending(v) = host.add(&copy(&original, i), "owner").await.unwrap()
                    else {
                        panic!("copy {i} was already added")
                    };
                    assert_eq!(
                        v.name.as_str(),
                        copy_name(i),
                        "the copy declares its own name"
                    );
                    host.approve(v.name.as_str(), &v.digest, &Narrowing::default(), "owner")
                        .await
                        .unwrap();
                    digests.push(v.digest);
                }
                digests
            })
        })
        .collect();
    let mut digests = std::collections::HashSet::new();
    for lane in lanes {
        for d in lane.await.unwrap() {
            assert!(digests.insert(d), "every copy has its own digest");
        }
    }
    assert_eq!(digests.len(), COUNT);
    let owner = host
        .create_token("root", Role::Owner, None, None, "owner")
        .await
        .unwrap()
        .token
        .to_string();
    let invoker = host
        .create_token("agent", Role::Invoker, None, None, "owner")
        .await
        .unwrap()
        .token
        .to_string();
    (owner, invoker)
}

fn config() -> String {
    format!(
        "[engine]\nloaded_bytes_max = {LOADED_MAX}\n\
         [rate]\nper_skill_per_minute = 100000\nglobal_per_minute = 100000\nper_caller_per_minute = 100000\n"
    )
}

/// Every name `GET /v1/skills` lists, following `next_cursor`; and how many
/// pages that took.
async fn list_all(c: &reqwest::Client, s: &Server, token: &str) -> (Vec<String>, usize) {
    let (mut names, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let url = match &cursor {
            Some(c) => format!("{}/v1/skills?cursor={c}", s.url),
            None => format!("{}/v1/skills", s.url),
        };
        let a = request(c, Method::GET, &url, Some(token), None).await;
        assert_eq!(a.status, 200, "{}", a.text);
        pages += 1;
        for skill in a.body["skills"].as_array().unwrap() {
            names.push(skill["name"].as_str().unwrap().to_string());
        }
        match a.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return (names, pages),
        }
        assert!(pages <= COUNT, "the cursor never ends");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_skills_run_in_bounded_memory_and_list_page_by_page() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (owner, invoker) = prepare_many(dir.path()).await;
    eprintln!(
        "{COUNT} copies added and approved in {:?}",
        started.elapsed()
    );
    let s = Server::start(dir.path(), &config());
    let c = client();
    let pid = s.child.id();

    // Idle: started, answered a request, ran nothing.
    let (names, pages) = list_all(&c, &s, &invoker).await;
    let mut expected: Vec<String> = (0..COUNT).map(copy_name).collect();
    expected.sort();
    assert_eq!(names, expected, "every skill, once, in a stable order");
    assert_eq!(
        pages,
        COUNT.div_ceil(100),
        "pages of server.page_size (100)"
    );
    let idle = rss_kib(pid);

    // Every skill once: each is loaded (read back, re-hashed, verified), run,
    // and in time evicted to stay within loaded_bytes_max.
    let started = Instant::now();
    for i in 0..COUNT {
        let a = request(
            &c,
            Method::POST,
            &invoke_url(&s, &copy_name(i)),
            Some(&invoker),
            Some(&format!(r#"{{"copy":{i}}}"#)),
        )
        .await;
        assert_eq!(a.status, 200, "{}: {}", copy_name(i), a.text);
        assert_eq!(
            a.body["output"]["name"],
            copy_name(i),
            "the copy asked for ran"
        );
        assert_eq!(a.body["output"]["input"]["copy"], i);
    }
    eprintln!("{COUNT} first calls in {:?}", started.elapsed());
    let after = rss_kib(pid);
    let m = request(
        &c,
        Method::GET,
        &format!("{}/metrics", s.url),
        Some(&owner),
        None,
    )
    .await
    .text;
    eprintln!(
        "RSS idle {idle} KiB, after {COUNT} skills {after} KiB; loaded {} bytes in {} components, {} evictions",
        sample(&m, "skillhost_loaded_bytes"),
        sample(&m, "skillhost_loaded_components"),
        sample(&m, "skillhost_loaded_evictions_total"),
    );
    assert_eq!(sample(&m, "skillhost_loaded_misses_total"), COUNT as f64);
    assert!(sample(&m, "skillhost_loaded_bytes") <= LOADED_MAX as f64);
    assert!(
        sample(&m, "skillhost_loaded_evictions_total") > 0.0,
        "{COUNT} copies do not fit in {LOADED_MAX} bytes: the cache must have evicted"
    );
    let bound = LOADED_MAX / 1024 + idle + (64 << 10);
    assert!(
        after <= bound,
        "RSS {after} KiB after {COUNT} skills exceeds loaded_bytes_max + idle RSS + 64 MiB = {bound} KiB"
    );

    // The official SDK clients follow the MCP cursor to every tool, and see
    // the list change when the owner disables one skill from the CLI.
    let disable = |name: &str| {
        vec![
            env!("CARGO_BIN_EXE_skillhost").to_string(),
            "--data-dir".into(),
            dir.path().display().to_string(),
            "skill".into(),
            "disable".into(),
            name.to_string(),
        ]
    };
    let enable = |name: &str| {
        succeeded(skillhost_cli(dir.path()).args(["skill", "enable", name]));
    };
    let url = format!("{}/mcp", s.url);
    let report = crate::mcp::run_client(
        [
            vec!["http".to_string(), url.clone(), owner.clone()],
            disable(&copy_name(7)),
        ]
        .concat(),
    )
    .await;
    check_listing(&report, &expected, "tools", &copy_name(7));
    enable(&copy_name(7));
    let report = run_ts(
        [
            vec!["http".to_string(), url, owner.clone()],
            disable(&copy_name(8)),
        ]
        .concat(),
    )
    .await;
    check_listing(&report, &expected, "tools", &copy_name(8));
    enable(&copy_name(8));
    drop(s);

    let stdio = |token: &str| {
        vec![
            "stdio".to_string(),
            env!("CARGO_BIN_EXE_skillhost").to_string(),
            dir.path().display().to_string(),
            token.to_string(),
        ]
    };
    let report = crate::mcp::run_client([stdio(&owner), disable(&copy_name(9))].concat()).await;
    check_listing(&report, &expected, "tools", &copy_name(9));
    enable(&copy_name(9));
    let report = run_ts([stdio(&owner), disable(&copy_name(10))].concat()).await;
    check_listing(&report, &expected, "tools", &copy_name(10));
}

/// The TypeScript SDK client, making no calls.
async fn run_ts(args: Vec<String>) -> serde_json::Value {
    crate::mcp::run_node("client.mjs", args, vec![("MCP_CALLS".into(), "[]".into())]).await
}

/// A client listed every tool in pages of 100, and after the owner disabled
/// `gone`, every tool but that one.
fn check_listing(report: &serde_json::Value, expected: &[String], key: &str, gone: &str) {
    let listed: Vec<String> = serde_json::from_value(report[key].clone())
        .unwrap_or_else(|_| panic!("no {key} in {report}"));
    assert_eq!(listed, expected);
    assert_eq!(
        report[format!("{key}_pages")],
        COUNT.div_ceil(100),
        "{report}"
    );
    assert_eq!(report["list_changed"], true, "{report}");
    let after: Vec<String> = serde_json::from_value(report["tools_after"].clone()).unwrap();
    let mut want = expected.to_vec();
    want.retain(|n| n != gone);
    assert_eq!(after, want);
}

#[test]
fn copies_differ_only_in_their_name_block() {
    let original = skill_bytes("many_copies");
    let (a, b) = (copy(&original, 1), copy(&original, 999_999));
    assert_eq!(a.len(), original.len());
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!((1..=6).contains(&differ), "{differ} bytes differ");
}
