//! The server against callers who want to hurt it: floods of bad tokens,
//! malformed and oversized requests, held connections, and MCP session
//! hoarding — against a real `skillhost serve` on loopback.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use skillhost::codes;

use crate::common::*;
use crate::serve::*;

/// SIGTERM, and wait for the server to exit (it writes the repeat
/// summaries on the way out).
fn stop(s: &mut Server) {
    let pid = s.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(s.wait_exit(Duration::from_secs(30)).is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_bad_tokens_writes_a_bounded_number_of_records_and_valid_callers_keep_working() {
    const FLOOD: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    let mut s = Server::start(dir.path(), "");
    let before = audit_records(dir.path()).len();
    let c = client();
    let started = Instant::now();
    let url = format!("{}/v1/skills", s.url);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut valid_ok = 0;
    for batch in 0..(FLOOD / 50) {
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let (c, url) = (c.clone(), url.clone());
                // Malformed, unknown and well-formed-but-wrong tokens.
                let token = match i % 3 {
                    0 => "nonsense".to_string(),
                    1 => format!("skh_{:016x}_forged", batch * 50 + i),
                    _ => format!("{}x", t.invoker),
                };
                tokio::spawn(
                    async move { request(&c, Method::GET, &url, Some(&token), None).await },
                )
            })
            .collect();
        // A valid caller from the same address, during the flood.
        let a = request(&c, Method::GET, &url, Some(&t.invoker), None).await;
        assert_eq!(a.status, 200, "a valid token was refused: {}", a.text);
        valid_ok += 1;
        for task in tasks {
            let a = task.await.unwrap();
            *statuses.entry(a.status).or_default() += 1;
            match a.status {
                401 => assert_eq!(a.code(), codes::AUTH_FAILURE),
                429 => {
                    assert_eq!(a.code(), codes::RATE_LIMITED);
                    assert!(a.retry_after.is_some());
                }
                other => panic!("unexpected {other}: {}", a.text),
            }
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(valid_ok, FLOOD / 50);
    // The per-source limit (30 a minute) let the first failures through as
    // 401; the rest were 429.
    assert!(statuses[&429] > FLOOD / 2, "{statuses:?}");
    // Bound: six keys (auth.failure and rate.limited, one source, three
    // reasons: malformed, unknown token, wrong secret), each at most one
    // record and one summary per interval (60 s).
    let during: Vec<_> = audit_records(dir.path())[before..]
        .iter()
        .filter(|r| r["type"] == "auth")
        .cloned()
        .collect();
    let intervals = 1 + elapsed.as_secs() as usize / 60;
    assert!(
        during.len() <= 6 * 2 * intervals,
        "{} records for {FLOOD} failures",
        during.len()
    );
    // Nothing is lost: after shutdown the records and their repeat counts
    // add up to every failure.
    stop(&mut s);
    let after: Vec<_> = audit_records(dir.path())[before..]
        .iter()
        .filter(|r| r["type"] == "auth")
        .cloned()
        .collect();
    assert!(after.len() <= 6 * 2 * intervals, "{after:?}");
    let counted: u64 = after
        .iter()
        .map(|r| r["detail"]["repeats"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(counted, FLOOD as u64, "{after:?}");
    for r in &after {
        assert_eq!(r["detail"]["source"], "127.0.0.1", "{r}");
    }
}

/// Send `head` (and nothing else) on a fresh connection; the whole answer.
fn send(s: &Server, head: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(s.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(head).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The status line and the JSON body's `code`.
fn status_and_code(answer: &str) -> (String, String) {
    let status = answer.lines().next().unwrap_or("").to_string();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    let code = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("not JSON: {body:?}"));
    (status, code)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_body_is_json_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    let s = Server::start(dir.path(), "");
    let auth = format!("Authorization: Bearer {}\r\n", t.owner);
    let close = "Connection: close\r\n";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            format!(
                "GET /v1/skills?{} HTTP/1.1\r\nHost: x\r\n{auth}{close}\r\n",
                "a".repeat(9000)
            ),
            "HTTP/1.1 414",
            codes::API_TOO_LARGE,
        ),
        (
            format!(
                "GET /v1/skills HTTP/1.1\r\nHost: x\r\n{auth}{}{close}\r\n",
                (0..80)
                    .map(|i| format!("X-H{i}: v\r\n"))
                    .collect::<String>()
            ),
            "HTTP/1.1 431",
            codes::API_TOO_LARGE,
        ),
        (
            format!(
                "GET /v1/skills HTTP/1.1\r\nHost: x\r\n{auth}X-Big: {}\r\n{close}\r\n",
                "b".repeat(40_000)
            ),
            "HTTP/1.1 431",
            codes::API_TOO_LARGE,
        ),
        (
            format!("GET /v1/skills/%FF HTTP/1.1\r\nHost: x\r\n{auth}{close}\r\n"),
            "HTTP/1.1 400",
            codes::API_BAD_REQUEST,
        ),
        (
            format!("GET /v1/owner/audit?outcome=bogus HTTP/1.1\r\nHost: x\r\n{auth}{close}\r\n"),
            "HTTP/1.1 400",
            codes::API_BAD_REQUEST,
        ),
        (
            format!("GET /v1/owner/audit?limit=-1 HTTP/1.1\r\nHost: x\r\n{auth}{close}\r\n"),
            "HTTP/1.1 400",
            codes::API_BAD_REQUEST,
        ),
        (
            {
                let body = r#"{"digest":"sha256:not-hex"}"#;
                format!(
                    "POST /v1/owner/skills/echo/approve HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n{close}\r\n{body}",
                    body.len()
                )
            },
            "HTTP/1.1 400",
            codes::API_BAD_REQUEST,
        ),
        (
            {
                let body = format!(r#"{{"digest":"{}"}}"#, "x".repeat(3 * 1024 * 1024));
                format!(
                    "POST /v1/owner/skills/echo/approve HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n{close}\r\n{body}",
                    body.len()
                )
            },
            "HTTP/1.1 413",
            codes::API_TOO_LARGE,
        ),
        (
            {
                let body = "{not json";
                format!(
                    "POST /v1/owner/skills/echo/approve HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n{close}\r\n{body}",
                    body.len()
                )
            },
            "HTTP/1.1 400",
            codes::API_BAD_REQUEST,
        ),
    ];
    for (head, status, code) in cases {
        let answer = send(&s, head.as_bytes());
        let (got_status, got_code) = status_and_code(&answer);
        assert!(
            got_status.starts_with(status),
            "{status} expected for {:.80}: {answer:.300}",
            head
        );
        assert_eq!(got_code, code, "{:.80}: {answer:.300}", head);
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{answer:.300}"
        );
    }
    // The server is still up and serving.
    let a = request(
        &client(),
        Method::GET,
        &format!("{}/healthz", s.url),
        None,
        None,
    )
    .await;
    assert_eq!(a.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_checks_answer_while_idle_connections_hold_every_slot() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    let s = Server::start(
        dir.path(),
        "[server]\nmax_connections = 4\nheader_timeout_ms = 20000\n",
    );
    // More idle connections than slots: they hold all four, and the rest
    // wait in the backlog.
    let idle: Vec<std::net::TcpStream> = (0..6)
        .map(|_| std::net::TcpStream::connect(s.addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let quick = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // Well inside the 20 s the idle connections may hold their slots.
    let started = Instant::now();
    let a = request(
        &quick,
        Method::GET,
        &format!("{}/healthz", s.url),
        None,
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(started.elapsed() < Duration::from_secs(5));
    // So is any other request: a reserved connection serves one, then
    // closes.
    let a = request(
        &quick,
        Method::POST,
        &invoke_url(&s, "echo"),
        Some(&t.invoker),
        Some("{}"),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    drop(idle);
}

#[test]
fn the_cli_exits_quietly_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["codes"][..],
        &["config"][..],
        &["skill", "list", "--json"][..],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_skillhost"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -0`: the reader is gone before the first write.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// `initialize` on `/mcp` with `token`: (status, session id, JSON body).
async fn initialize(
    c: &reqwest::Client,
    s: &Server,
    token: &str,
) -> (u16, Option<String>, serde_json::Value) {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}"#;
    let resp = c
        .post(format!("{}/mcp", s.url))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let session = resp
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, session, json)
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_sessions_are_capped_bound_to_their_token_and_end_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    let s = Server::start(
        dir.path(),
        "[server]\nmcp_sessions_per_token = 2\nmcp_sessions_total = 3\n",
    );
    let c = client();
    let (st, a1, _) = initialize(&c, &s, &t.invoker).await;
    assert_eq!(st, 200);
    let a1 = a1.unwrap();
    let (_, a2, _) = initialize(&c, &s, &t.invoker).await;
    let a2 = a2.unwrap();
    // A third for the same token: refused, nothing created.
    let (st, none, body) = initialize(&c, &s, &t.invoker).await;
    assert_eq!((st, none), (429, None), "{body}");
    assert_eq!(body["error"]["data"]["code"], codes::MCP_SESSION_LIMIT);
    // Another token: one more fits the total of 3, then the total refuses.
    let (st, b1, _) = initialize(&c, &s, &t.echo_only).await;
    assert_eq!(st, 200);
    let b1 = b1.unwrap();
    let (st, _, body) = initialize(&c, &s, &t.owner).await;
    assert_eq!(st, 429, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("host"));
    // A session id is no use with another token.
    for (method, id) in [
        (Method::GET, &a1),
        (Method::DELETE, &a2),
        (Method::POST, &a1),
    ] {
        let resp = c
            .request(method.clone(), format!("{}/mcp", s.url))
            .bearer_auth(&t.echo_only)
            .header("mcp-session-id", id)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{method} with another token");
    }
    // The owner of a session may end it, which frees its place.
    let resp = c
        .delete(format!("{}/mcp", s.url))
        .bearer_auth(&t.invoker)
        .header("mcp-session-id", &a2)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let (st, _, _) = initialize(&c, &s, &t.invoker).await;
    assert_eq!(st, 200);
    // An event stream of echo-agent's session is open; revoking the token
    // ends the session and the stream.
    let notify = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let resp = c
        .post(format!("{}/mcp", s.url))
        .bearer_auth(&t.echo_only)
        .header("mcp-session-id", &b1)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(notify)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let mut stream = c
        .get(format!("{}/mcp", s.url))
        .bearer_auth(&t.echo_only)
        .header("mcp-session-id", &b1)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    succeeded(
        Command::new(env!("CARGO_BIN_EXE_skillhost"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(["token", "revoke", "echo-agent"]),
    );
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the revoked token's event stream is still open"
    );
    // The refusals are on the record.
    let limits = audit_records(dir.path())
        .iter()
        .filter(|r| r["code"] == codes::MCP_SESSION_LIMIT)
        .count();
    assert!(limits >= 1);
}
