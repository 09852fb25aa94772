//! MCP, driven by clients we did not write, over stdio (`skillhost mcp`)
//! and Streamable HTTP (`/mcp` on `serve`): the official Python SDK (`mcp`
//! from PyPI, installed into target/mcp-venv by scripts/test.sh), the
//! official TypeScript SDK and the MCP Inspector CLI (npm, pinned in
//! tests/mcp/package-lock.json, installed by scripts/test.sh), and the MCP
//! conformance suite.

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
pub async fn run_client(args: Vec<String>) -> serde_json::Value {
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
        refusal(&report[call], code);
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

/// A refused call as every client must see it: a tool error with the code
/// in its text and `_meta`, and no structured content (which clients would
/// check against the tool's output schema).
fn refusal(call: &serde_json::Value, code: &str) {
    assert_eq!(call["is_error"], true, "{call}");
    assert!(call["structured"].is_null(), "{call}");
    assert_eq!(call["meta"]["skillhost/error"]["code"], code, "{call}");
    assert!(call["text"][0].as_str().unwrap().contains(code), "{call}");
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
    // The second HTTP failure repeats the first (same source, code and
    // actor): it is counted, and the count is written at shutdown.
    let mut s = s;
    stop(&mut s);
    let failures: Vec<_> = audit_records(dir.path())
        .into_iter()
        .filter(|r| r["code"] == codes::AUTH_FAILURE)
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert_eq!(failures[1]["detail"]["source"], "127.0.0.1");
    assert_eq!(failures[2]["detail"]["repeats"], 1);
}

/// SIGTERM, and wait for the server to exit.
fn stop(s: &mut Server) {
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(s.wait_exit(std::time::Duration::from_secs(30)).is_some());
}

/// The example skills an agent would see: every one is a tool for every
/// client.
const EXAMPLES: &[&str] = &[
    "echo",
    "word_stats",
    "item_stats",
    "counter",
    "http_probe",
    "bearer_client",
    "secret_probe",
    "slow_echo",
];

fn node_tool(script: &str) -> PathBuf {
    let modules = repo_root().join("tests/mcp/node_modules");
    assert!(
        modules.exists(),
        "{} is missing: run ./scripts/test.sh, which installs the pinned npm clients",
        modules.display()
    );
    repo_root().join("tests/mcp").join(script)
}

/// Run a tests/mcp/*.mjs script with `node` (off the async runtime); its
/// JSON report.
pub async fn run_node(
    script: &str,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> serde_json::Value {
    let path = node_tool(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(path)
            .args(args)
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        out.status.success() || script == "conformance.mjs",
        "{script} failed: {report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

fn ts_calls() -> Vec<(String, String)> {
    let calls = serde_json::json!([
        {"name": "word-stats", "arguments": {"text": "one two two"}},
        {"name": "word-stats", "arguments": {"wrong": 1}},
        {"name": "echo", "arguments": {"input": {"x": [1, "two"]}}},
        {"name": "echo", "arguments": {"x": 1}},
        {"name": "no-such-skill", "arguments": {}},
    ]);
    vec![("MCP_CALLS".into(), calls.to_string())]
}

fn names() -> Vec<String> {
    let mut names: Vec<String> = EXAMPLES.iter().map(|s| s.replace('_', "-")).collect();
    names.sort();
    names
}

/// What the TypeScript SDK must see on either transport.
fn check_ts(report: &serde_json::Value) {
    assert!(report.get("list_error").is_none(), "{report}");
    assert_eq!(report["tools"], serde_json::json!(names()));
    // Listed PAGE_SIZE at a time: the client followed the cursor.
    assert_eq!(
        report["tools_pages"],
        names().len().div_ceil(PAGE_SIZE),
        "{report}"
    );
    for (name, schema) in report["schemas"].as_object().unwrap() {
        assert_eq!(schema["type"], "object", "{name}: {schema}");
    }
    // Echo takes any JSON value, so it is wrapped, and says so.
    assert_eq!(
        report["schemas"]["echo"]["required"],
        serde_json::json!(["input"])
    );
    assert!(
        report["descriptions"]["echo"]
            .as_str()
            .unwrap()
            .contains("`input`")
    );
    // word-stats promises an object, so its output schema is published:
    // the refusal below (calls[1]) is then checked against a declared
    // output schema, which is what broke clients before.
    assert_eq!(
        report["output_schemas"]["word-stats"]["type"], "object",
        "{report}"
    );
    // Schemas compile in the SDK without a warning (no unknown formats).
    assert_eq!(report["warnings"], serde_json::json!([]), "{report}");
    let calls = report["calls"].as_array().unwrap();
    for call in calls {
        assert!(call.get("threw").is_none(), "the SDK threw: {call}");
    }
    assert_eq!(calls[0]["is_error"], false);
    assert_eq!(calls[0]["structured"]["words"], 3);
    refusal(&calls[1], codes::INPUT_SCHEMA_INVALID);
    assert_eq!(calls[2]["is_error"], false, "{}", calls[2]);
    assert_eq!(calls[2]["text"][0], r#"{"x":[1,"two"]}"#);
    refusal(&calls[3], codes::INPUT_SCHEMA_INVALID);
    // The owner may see every skill, so an unknown one is not found.
    refusal(&calls[4], codes::SKILL_NOT_FOUND);
    assert_eq!(report["list_changed"], true);
    assert!(
        !report["tools_after"]
            .as_array()
            .unwrap()
            .contains(&"word-stats".into())
    );
}

/// Tools per `tools/list` page in the TypeScript SDK tests, so that the
/// client must follow the cursor to see every tool.
const PAGE_SIZE: usize = 3;

fn paged_config() -> String {
    format!("[server]\npage_size = {PAGE_SIZE}\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn typescript_sdk_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = prepare(dir.path(), EXAMPLES).await;
    std::fs::write(dir.path().join("skillhost.toml"), paged_config()).unwrap();
    let mut args = vec![
        "stdio".to_string(),
        env!("CARGO_BIN_EXE_skillhost").to_string(),
        dir.path().display().to_string(),
        tokens.owner,
    ];
    args.extend(disable_word_stats(dir.path()));
    let report = run_node("client.mjs", args, ts_calls()).await;
    check_ts(&report);
}

#[tokio::test(flavor = "multi_thread")]
async fn typescript_sdk_over_streamable_http_and_transport_errors_are_json_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = prepare(dir.path(), EXAMPLES).await;
    let s = Server::start(dir.path(), &paged_config());
    let mut args = vec!["http".to_string(), format!("{}/mcp", s.url), tokens.owner];
    args.extend(disable_word_stats(dir.path()));
    let report = run_node("client.mjs", args, ts_calls()).await;
    check_ts(&report);
    assert_eq!(report["terminate"], "ok");
    // Raw transport errors: the status the spec asks for, and a JSON-RPC
    // error body with a stable code.
    for (probe, status, code, rpc) in [
        (
            "delete_unknown_session",
            404,
            codes::MCP_SESSION_UNKNOWN,
            -32001,
        ),
        (
            "post_unknown_session",
            404,
            codes::MCP_SESSION_UNKNOWN,
            -32001,
        ),
        ("post_no_session", 400, codes::MCP_INVALID_REQUEST, -32600),
        ("get_no_session", 400, codes::MCP_INVALID_REQUEST, -32600),
        ("post_bad_json", 400, codes::MCP_PARSE_ERROR, -32700),
        ("post_too_deep_json", 400, codes::MCP_PARSE_ERROR, -32700),
        ("post_wrong_accept", 406, codes::MCP_BAD_MEDIA_TYPE, -32600),
        (
            "post_wrong_content_type",
            415,
            codes::MCP_BAD_MEDIA_TYPE,
            -32600,
        ),
        (
            "post_bad_protocol_version",
            400,
            codes::MCP_INVALID_REQUEST,
            -32600,
        ),
    ] {
        let p = &report["http_probes"][probe];
        assert_eq!(p["status"], status, "{probe}: {p}");
        assert_eq!(p["json"]["jsonrpc"], "2.0", "{probe}: {p}");
        assert_eq!(p["json"]["error"]["code"], rpc, "{probe}: {p}");
        assert_eq!(p["json"]["error"]["data"]["code"], code, "{probe}: {p}");
    }
}

/// The Inspector CLI's report for one operation.
async fn inspector(args: &[&str]) -> serde_json::Value {
    run_node(
        "inspector.mjs",
        args.iter().map(|a| a.to_string()).collect(),
        vec![],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inspector_cli_lists_and_calls_every_tool_on_both_transports() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = prepare(dir.path(), EXAMPLES).await;
    let s = Server::start(dir.path(), "");
    let bin = env!("CARGO_BIN_EXE_skillhost");
    let data = dir.path().display().to_string();
    let url = format!("{}/mcp", s.url);
    let stdio = ["stdio", bin, data.as_str(), tokens.owner.as_str()];
    let http = ["http", url.as_str(), tokens.owner.as_str()];
    for transport in [&stdio[..], &http[..]] {
        let mut list = vec!["list"];
        list.extend_from_slice(transport);
        let r = inspector(&list).await;
        assert_eq!(r["exit"], 0, "{r}");
        let mut listed: Vec<String> = r["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        listed.sort();
        // The Inspector drops a tool it cannot use, silently: every example
        // skill must be there, and its portability check finds nothing.
        assert_eq!(listed, names(), "{r}");
        assert!(
            r["schema_findings"].as_array().is_none_or(Vec::is_empty),
            "{r}"
        );
        let mut ok = vec!["call"];
        ok.extend_from_slice(transport);
        ok.extend_from_slice(&["echo", r#"{"input":"hello"}"#]);
        let r = inspector(&ok).await;
        assert_eq!(r["exit"], 0, "{r}");
        assert_eq!(r["result"]["content"][0]["text"], "\"hello\"", "{r}");
        let mut refused = vec!["call"];
        refused.extend_from_slice(transport);
        refused.extend_from_slice(&["word-stats", r#"{"wrong":1}"#]);
        let r = inspector(&refused).await;
        // A tool error (exit 5), not a client-side validation failure (1).
        assert_eq!(r["exit"], 5, "{r}");
        assert!(r.to_string().contains(codes::INPUT_SCHEMA_INVALID), "{r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_conformance_scenarios_for_a_tools_server_pass() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = prepare(dir.path(), EXAMPLES).await;
    let s = Server::start(dir.path(), "");
    // The scenarios that apply to a server with tools and nothing else
    // (no prompts, resources, logging, sampling or elicitation); the
    // tools-call-* scenarios need the suite's own fixture tools.
    let applicable = [
        "server-initialize",
        "ping",
        "tools-list",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
    ];
    let mut args = vec![format!("{}/mcp", s.url), tokens.owner];
    for scenario in applicable {
        args.push("--scenario".into());
        args.push(scenario.into());
    }
    let report = run_node("conformance.mjs", args, vec![]).await;
    for scenario in applicable {
        assert_eq!(
            report["scenarios"][scenario]["verdict"], "pass",
            "{scenario}: {}",
            report["scenarios"][scenario]
        );
    }
}
