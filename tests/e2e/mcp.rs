//! MCP, driven by a client we did not write: the official Python SDK
//! (`mcp` from PyPI, installed into target/mcp-venv by scripts/test.sh),
//! over stdio (`skillhost mcp`) and Streamable HTTP (`/mcp` on `serve`).

use std::path::{Path, PathBuf};
use std::process::Command;

use skillhost::codes;

use crate::common::*;
use crate::serve::*;

fn python() -> PathBuf {
    let p = repo_root().join("target/mcp-venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/test.sh, which installs the Python MCP SDK",
        p.display()
    );
    p
}

/// Run tests/mcp/client.py (off the async runtime); its JSON report.
async fn run_client(args: Vec<String>) -> serde_json::Value {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(repo_root().join("tests/mcp/client.py"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "MCP client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The owner's CLI command the client runs mid-session: disable word-stats.
fn disable_word_stats(dir: &Path) -> Vec<String> {
    vec![
        env!("CARGO_BIN_EXE_skillhost").to_string(),
        "--data-dir".into(),
        dir.display().to_string(),
        "skill".into(),
        "disable".into(),
        "word-stats".into(),
    ]
}

/// What both transports must show for a token scoped to word-stats.
fn check(report: &serde_json::Value, dir: &Path) {
    assert_eq!(report["server"], "skillhost");
    // Only the skill in scope is a tool, with its schema and description.
    assert_eq!(report["tools"], serde_json::json!(["word-stats"]));
    assert_eq!(
        report["schemas"]["word-stats"]["required"],
        serde_json::json!(["text"])
    );
    assert!(
        report["descriptions"]["word-stats"]
            .as_str()
            .unwrap()
            .starts_with("Counts words")
    );
    // A call is an invocation.
    assert_eq!(report["call_ok"]["is_error"], false);
    assert_eq!(report["call_ok"]["structured"]["words"], 3);
    // Refusals are tool errors carrying the stable code.
    for (call, code) in [
        ("call_schema", codes::INPUT_SCHEMA_INVALID),
        ("call_forbidden", codes::AUTH_FORBIDDEN),
        ("call_unknown", codes::AUTH_FORBIDDEN),
    ] {
        assert_eq!(report[call]["is_error"], true, "{call}");
        assert_eq!(report[call]["structured"]["code"], code, "{call}");
        assert!(report[call]["text"][0].as_str().unwrap().contains(code));
    }
    // The owner disabled word-stats from another process: the client was
    // told, and the tool is gone.
    assert_eq!(report["list_changed"], true);
    assert_eq!(report["tools_after"], serde_json::json!([]));
    // Every call is audited like any other invocation.
    let audit = audit_records(dir);
    let calls: Vec<_> = audit
        .iter()
        .filter(|r| r["type"] == "invoke" && r["actor"] == "ws-agent")
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        calls,
        [
            codes::OK,
            codes::INPUT_SCHEMA_INVALID,
            codes::AUTH_FORBIDDEN,
            codes::AUTH_FORBIDDEN
        ]
    );
}

async fn scoped_token(dir: &Path) -> String {
    let host = skillhost::SkillHost::open(&skillhost::HostConfig::default(), dir)
        .await
        .unwrap();
    host.create_token(
        "ws-agent",
        skillhost::auth::Role::Invoker,
        Some(vec!["word-stats".into()]),
        None,
        "owner",
    )
    .await
    .unwrap()
    .token
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), &["echo", "word_stats"]).await;
    let token = scoped_token(dir.path()).await;
    let mut args = vec![
        "stdio".to_string(),
        env!("CARGO_BIN_EXE_skillhost").to_string(),
        dir.path().display().to_string(),
        token,
    ];
    args.extend(disable_word_stats(dir.path()));
    let report = run_client(args).await;
    check(&report, dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_over_streamable_http() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), &["echo", "word_stats"]).await;
    let token = scoped_token(dir.path()).await;
    let s = Server::start(dir.path(), "");
    let mut args = vec!["http".to_string(), format!("{}/mcp", s.url), token];
    args.extend(disable_word_stats(dir.path()));
    let report = run_client(args).await;
    check(&report, dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_refuses_bad_tokens_on_both_transports() {
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), &["echo"]).await;
    // stdio: refused before the session starts, audited.
    let out = Command::new(env!("CARGO_BIN_EXE_skillhost"))
        .arg("--data-dir")
        .arg(dir.path())
        .arg("mcp")
        .env("SKILLHOST_TOKEN", "skh_0000000000000000_forged")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(codes::AUTH_FAILURE));
    assert!(out.stdout.is_empty(), "nothing reaches the MCP channel");
    // HTTP: 401 before any MCP message is read.
    let s = Server::start(dir.path(), "");
    let c = client();
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}"#;
    for token in [None, Some("skh_0000000000000000_forged")] {
        let a = request(
            &c,
            reqwest::Method::POST,
            &format!("{}/mcp", s.url),
            token,
            Some(init),
        )
        .await;
        assert_eq!((a.status, a.code()), (401, codes::AUTH_FAILURE));
    }
    let failures = audit_records(dir.path())
        .iter()
        .filter(|r| r["code"] == codes::AUTH_FAILURE)
        .count();
    assert_eq!(failures, 3);
}
