//! The library API: `Host` from config, shared across tasks, listing with
//! schemas, and change notifications from this process and from the CLI.

use std::time::Duration;

use skillhost::registry::Narrowing;
use skillhost::{Caller, Host, HostConfig, codes};

use crate::common::*;

async fn changed(rx: &mut tokio::sync::watch::Receiver<u64>, what: &str) {
    tokio::time::timeout(Duration::from_secs(15), rx.changed())
        .await
        .unwrap_or_else(|_| panic!("no change notification after {what}"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shared_host_lists_invokes_and_reports_changes() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(HostConfig::default(), dir.path()).await.unwrap();
    let me = Caller::local("embedder");
    let mut rx = host.subscribe();

    let added = host.add(&skill_bytes("word_stats"), "owner").await.unwrap();
    // Pending skills are neither listed nor runnable.
    assert!(host.skills(&me).unwrap().is_empty());
    let err = host
        .invoke("word-stats", r#"{"text":"a"}"#, &me)
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::SKILL_PENDING);

    host.approve(
        "word-stats",
        &added.version().digest,
        &Narrowing::default(),
        "owner",
    )
    .await
    .unwrap();
    changed(&mut rx, "an approval in this process").await;
    let listed = host.skills(&me).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "word-stats");
    assert_eq!(
        listed[0].input_schema["required"],
        serde_json::json!(["text"])
    );
    assert_eq!(listed[0].digest, added.version().digest.to_string());

    // Clones share one host: concurrent invocations from many tasks.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (h, me) = (host.clone(), me.clone());
        tasks.push(tokio::spawn(async move {
            h.invoke("word-stats", &format!(r#"{{"text":"w{i} x"}}"#), &me)
                .await
                .unwrap()
                .result
                .unwrap()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().contains(r#""words":2"#));
    }
    assert_eq!(host.metrics().invocations("ok", codes::OK), 8);

    // A decision by another process (the owner's CLI) is noticed too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skillhost"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["skill", "disable", "word-stats"])
        .output()
        .unwrap();
    assert!(out.status.success());
    changed(&mut rx, "a disable by the CLI").await;
    assert!(host.skills(&me).unwrap().is_empty());
    let err = host
        .invoke("word-stats", r#"{"text":"a"}"#, &me)
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::SKILL_DISABLED);
    // Nothing changed since: no spurious wake-up.
    assert!(!rx.has_changed().unwrap());
}

#[tokio::test]
async fn an_invalid_config_is_refused_before_anything_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = HostConfig::default();
    config.server.request_timeout_ms = config.limits.timeout_ms;
    let err = Host::open(config, dir.path().join("never"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), codes::HOST_CONFIG);
    assert!(!dir.path().join("never").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_an_invoke_future_does_not_lose_the_invocation() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::open(HostConfig::default(), dir.path()).await.unwrap();
    let added = host.add(&skill_bytes("slow_echo"), "owner").await.unwrap();
    host.approve(
        "slow-echo",
        &added.version().digest,
        &Narrowing::default(),
        "owner",
    )
    .await
    .unwrap();
    let me = Caller::local("impatient");
    let call = host.invoke("slow-echo", r#"{"wait_ms":800,"text":"x"}"#, &me);
    // Give up on the call once the instance is running.
    let stats = host.shared().engine().stats();
    let gave_up = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::select! {
            _ = call => panic!("finished before it was dropped"),
            () = async {
                while stats.in_flight() == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            } => {}
        }
    })
    .await;
    assert!(gave_up.is_ok(), "the call never started");
    // It still finishes, and the audit log says so.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !audit_records(dir.path())
        .iter()
        .any(|r| r["type"] == "invoke" && r["actor"] == "impatient" && r["outcome"] == "ok")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped invocation was lost"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
