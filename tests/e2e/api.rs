//! The HTTP API against a real `skillhost serve` process on loopback.

use std::time::Duration;

use reqwest::Method;
use skillhost::api::{OPENAPI, ROUTES};
use skillhost::codes;

use crate::common::*;
use crate::serve::*;

const SKILLS: &[&str] = &["echo", "word_stats", "panic", "busy_wait", "slow_echo"];

/// Small caps so the limits are quick to reach.
const CONFIG: &str = r#"
[audit]
repeat_interval_secs = 0
[limits]
timeout_ms = 1500
input_bytes = 4096

[server]
request_timeout_ms = 20000
"#;

#[tokio::test(flavor = "multi_thread")]
async fn every_status_code_the_api_promises() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), SKILLS).await;
    let s = Server::start(dir.path(), CONFIG);
    let c = client();
    let post = |skill: &str, token: Option<&str>, body: &str| {
        let (c, url, token, body) = (
            c.clone(),
            invoke_url(&s, skill),
            token.map(str::to_string),
            body.to_string(),
        );
        async move { request(&c, Method::POST, &url, token.as_deref(), Some(&body)).await }
    };

    // 200: output, usage and logs.
    let a = post("word-stats", Some(&t.invoker), r#"{"text":"a b b"}"#).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["output"]["words"], 3);
    assert!(a.body["usage"]["fuel_consumed"].as_u64().unwrap() > 0);

    // 401: no token, a malformed one, a well-formed unknown one.
    for token in [
        None,
        Some("nope"),
        Some("skh_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let a = post("echo", token, "{}").await;
        assert_eq!(
            (a.status, a.code()),
            (401, codes::AUTH_FAILURE),
            "{token:?}"
        );
        assert_eq!(
            a.www_authenticate.as_deref(),
            Some("Bearer realm=\"skillhost\"")
        );
    }

    // 403: a token scoped to echo cannot invoke word-stats (or see it).
    let a = post("word-stats", Some(&t.echo_only), r#"{"text":"x"}"#).await;
    assert_eq!((a.status, a.code()), (403, codes::AUTH_FORBIDDEN));
    let a = request(
        &c,
        Method::GET,
        &format!("{}/v1/skills/word-stats", s.url),
        Some(&t.echo_only),
        None,
    )
    .await;
    assert_eq!((a.status, a.code()), (403, codes::AUTH_FORBIDDEN));
    let a = request(
        &c,
        Method::GET,
        &format!("{}/v1/skills", s.url),
        Some(&t.echo_only),
        None,
    )
    .await;
    let names: Vec<&str> = a.body["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo"]);
    // ... and an invoker is not an owner.
    let a = request(
        &c,
        Method::GET,
        &format!("{}/v1/owner/pending", s.url),
        Some(&t.invoker),
        None,
    )
    .await;
    assert_eq!((a.status, a.code()), (403, codes::AUTH_FORBIDDEN));

    // 404: unknown skill, invalid name, unknown route. 405: wrong method.
    assert_eq!(
        post("no-such-skill", Some(&t.invoker), "{}").await.code(),
        codes::SKILL_NOT_FOUND
    );
    let a = post("BAD..name", Some(&t.invoker), "{}").await;
    assert_eq!((a.status, a.code()), (404, codes::REGISTRY_INVALID_NAME));
    let a = request(
        &c,
        Method::GET,
        &format!("{}/v2/nothing", s.url),
        None,
        None,
    )
    .await;
    assert_eq!((a.status, a.code()), (404, codes::API_NOT_FOUND));
    let a = request(
        &c,
        Method::DELETE,
        &format!("{}/v1/skills", s.url),
        Some(&t.invoker),
        None,
    )
    .await;
    assert_eq!((a.status, a.code()), (405, codes::API_METHOD_NOT_ALLOWED));

    // 400: malformed JSON, and a body that is not UTF-8.
    let a = post("echo", Some(&t.invoker), r#"{"a":"#).await;
    assert_eq!((a.status, a.code()), (400, codes::INPUT_INVALID_JSON));
    let a = c
        .post(invoke_url(&s, "echo"))
        .bearer_auth(&t.invoker)
        .body(vec![0xff, 0xfe, b'{'])
        .send()
        .await
        .unwrap();
    assert_eq!(a.status().as_u16(), 400);

    // 413: declared too large, refused from the header before any body is
    // sent; and streamed (chunked) past the cap.
    let big = format!("\"{}\"", "a".repeat(5000));
    let a = post("echo", Some(&t.invoker), &big).await;
    assert_eq!((a.status, a.code()), (413, codes::INPUT_TOO_LARGE));
    let head_only = raw(
        &s,
        &format!(
            "POST /v1/skills/echo/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 100000000\r\n\r\n",
            t.invoker
        ),
    );
    assert!(head_only.starts_with("HTTP/1.1 413"), "{head_only}");
    assert!(head_only.contains(codes::INPUT_TOO_LARGE));
    let mut chunked = format!(
        "POST /v1/skills/echo/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        t.invoker
    );
    for _ in 0..5 {
        chunked.push_str(&format!("3e8\r\n{}\r\n", "a".repeat(1000)));
    }
    chunked.push_str("0\r\n\r\n");
    let streamed = raw(&s, &chunked);
    assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
    // The size is unknown when the stream is cut: the cap is reported, the
    // same way the CLI reports stdin.
    assert!(streamed.contains("input is more than "), "{streamed}");
    assert!(
        head_only.contains("input is 100000000 bytes"),
        "{head_only}"
    );

    // 422: the input schema.
    let a = post("word-stats", Some(&t.invoker), r#"{"text":1}"#).await;
    assert_eq!((a.status, a.code()), (422, codes::INPUT_SCHEMA_INVALID));
    assert!(!a.body["errors"].as_array().unwrap().is_empty());

    // 502: the skill ran and failed. 504: it ran past its deadline.
    let a = post("panic", Some(&t.invoker), "{}").await;
    assert_eq!(
        (a.status, a.code()),
        (502, codes::SKILL_TRAPPED),
        "{}",
        a.text
    );
    let a = post("busy-wait", Some(&t.invoker), "{}").await;
    assert_eq!((a.status, a.code()), (504, codes::TIMEOUT), "{}", a.text);
    assert!(a.body["usage"]["duration_ms"].as_u64().unwrap() >= 1000);

    // The server is still fine, and every refusal is on the record —
    // without a token's text.
    assert_eq!(
        post("echo", Some(&t.invoker), r#"{"still":"up"}"#)
            .await
            .status,
        200
    );
    let audit = audit_records(dir.path());
    let text = serde_json::to_string(&audit).unwrap();
    assert!(!text.contains(&t.invoker[4..]) && !text.contains("AAAAAAAAAAAAAAAA"));
    assert_eq!(
        audit
            .iter()
            .filter(|r| r["code"] == codes::AUTH_FAILURE)
            .count(),
        3
    );
    let denied = |code: &str| {
        audit
            .iter()
            .filter(|r| r["type"] == "invoke" && r["code"] == code)
            .count()
    };
    assert_eq!(denied(codes::INPUT_TOO_LARGE), 3);
    assert_eq!(denied(codes::INPUT_INVALID_JSON), 2);
    assert!(audit.iter().any(|r| r["type"] == "auth"
        && r["code"] == codes::AUTH_FORBIDDEN
        && r["actor"] == "agent"));
    assert_eq!(
        skillhost::audit::verify(dir.path()).map(|v| v.records).ok(),
        Some(audit.len() as u64)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_is_429_with_retry_after_and_busy_is_503() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo", "slow_echo"]).await;
    let s = Server::start(
        dir.path(),
        "[engine]\nmax_concurrent = 1\n[rate]\nper_caller_per_minute = 2\n",
    );
    let c = client();
    let url = invoke_url(&s, "echo");
    for _ in 0..2 {
        assert_eq!(
            request(&c, Method::POST, &url, Some(&t.echo_only), Some("{}"))
                .await
                .status,
            200
        );
    }
    let a = request(&c, Method::POST, &url, Some(&t.echo_only), Some("{}")).await;
    assert_eq!((a.status, a.code()), (429, codes::RATE_LIMITED));
    let retry: u64 = a.retry_after.expect("Retry-After").parse().unwrap();
    assert!(retry >= 1);

    // One slot: a slow call holds it, the next is refused, not queued.
    let slow = {
        let (c, url, tok) = (c.clone(), invoke_url(&s, "slow-echo"), t.invoker.clone());
        tokio::spawn(async move {
            request(
                &c,
                Method::POST,
                &url,
                Some(&tok),
                Some(r#"{"wait_ms":3000,"text":"x"}"#),
            )
            .await
        })
    };
    wait_until_running(&c, &s, &t.owner).await;
    let a = request(
        &c,
        Method::POST,
        &invoke_url(&s, "slow-echo"),
        Some(&t.invoker),
        Some(r#"{"wait_ms":0,"text":"y"}"#),
    )
    .await;
    assert_eq!((a.status, a.code()), (503, codes::RATE_BUSY));
    assert_eq!(a.retry_after.as_deref(), Some("1"));
    assert_eq!(slow.await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_revoked_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    let host = skillhost::SkillHost::open(&skillhost::HostConfig::default(), dir.path())
        .await
        .unwrap();
    let expired = host
        .create_token(
            "brief",
            skillhost::auth::Role::Invoker,
            None,
            Some(Duration::ZERO),
            "owner",
        )
        .await
        .unwrap();
    drop(host);
    let s = Server::start(dir.path(), "");
    let c = client();
    let url = invoke_url(&s, "echo");
    assert_eq!(
        request(&c, Method::POST, &url, Some(&t.invoker), Some("{}"))
            .await
            .status,
        200
    );
    let a = request(&c, Method::POST, &url, Some(&expired.token), Some("{}")).await;
    assert_eq!((a.status, a.code()), (401, codes::AUTH_FAILURE));
    // Revoked by the owner's CLI while the server runs: refused at once.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skillhost"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["token", "revoke", "agent"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = request(&c, Method::POST, &url, Some(&t.invoker), Some("{}")).await;
    assert_eq!((a.status, a.code()), (401, codes::AUTH_FAILURE));
    let reasons: Vec<String> = audit_records(dir.path())
        .iter()
        .filter(|r| r["code"] == codes::AUTH_FAILURE)
        .map(|r| r["detail"]["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons, ["expired", "revoked"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_endpoints_approve_revoke_disable_and_query_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    // word-stats is added but left pending.
    let host = skillhost::SkillHost::open(&skillhost::HostConfig::default(), dir.path())
        .await
        .unwrap();
    let added = host.add(&skill_bytes("word_stats"), "owner").await.unwrap();
    let digest = added.version().digest.to_string();
    drop(host);
    let s = Server::start(dir.path(), "");
    let c = client();
    let get = |path: &str, token: &str| {
        let (c, url, token) = (c.clone(), format!("{}{path}", s.url), token.to_string());
        async move { request(&c, Method::GET, &url, Some(&token), None).await }
    };
    let post = |path: &str, token: &str, body: &str| {
        let (c, url, token, body) = (
            c.clone(),
            format!("{}{path}", s.url),
            token.to_string(),
            body.to_string(),
        );
        async move { request(&c, Method::POST, &url, Some(&token), Some(&body)).await }
    };

    let a = get("/v1/owner/pending", &t.owner).await;
    assert_eq!(a.body["pending"][0]["name"], "word-stats");
    assert_eq!(a.body["pending"][0]["digest"], digest.as_str());
    // An invoker can do none of it.
    for path in [
        "/v1/owner/skills/word-stats/approve",
        "/v1/owner/skills/echo/revoke",
        "/v1/owner/skills/echo/disable",
    ] {
        let a = post(path, &t.invoker, &format!(r#"{{"digest":"{digest}"}}"#)).await;
        assert_eq!((a.status, a.code()), (403, codes::AUTH_FORBIDDEN), "{path}");
    }
    assert_eq!(get("/v1/owner/audit", &t.invoker).await.status, 403);
    // Bad bodies and digests.
    let a = post(
        "/v1/owner/skills/word-stats/approve",
        &t.owner,
        r#"{"digest":"x","grant_everything":true}"#,
    )
    .await;
    assert_eq!((a.status, a.code()), (400, codes::API_BAD_REQUEST));
    // Not a digest at all: a bad request.
    let a = post(
        "/v1/owner/skills/word-stats/approve",
        &t.owner,
        r#"{"digest":"sha256:00"}"#,
    )
    .await;
    assert_eq!((a.status, a.code()), (400, codes::API_BAD_REQUEST));
    // A digest, but not of the pending version: a conflict.
    let other = format!(r#"{{"digest":"sha256:{}"}}"#, "0".repeat(64));
    let a = post("/v1/owner/skills/word-stats/approve", &t.owner, &other).await;
    assert_eq!((a.status, a.code()), (409, codes::REGISTRY_WRONG_DIGEST));

    let a = post(
        "/v1/owner/skills/word-stats/approve",
        &t.owner,
        &format!(r#"{{"digest":"{digest}"}}"#),
    )
    .await;
    assert_eq!(
        (a.status, a.body["state"].as_str()),
        (200, Some("approved")),
        "{}",
        a.text
    );
    let a = post(
        "/v1/skills/word-stats/invoke",
        &t.invoker,
        r#"{"text":"hi"}"#,
    )
    .await;
    assert_eq!(a.status, 200);

    assert_eq!(
        post("/v1/owner/skills/word-stats/disable", &t.owner, "")
            .await
            .status,
        200
    );
    let a = post(
        "/v1/skills/word-stats/invoke",
        &t.invoker,
        r#"{"text":"hi"}"#,
    )
    .await;
    assert_eq!((a.status, a.code()), (404, codes::SKILL_DISABLED));
    assert_eq!(
        post("/v1/owner/skills/word-stats/enable", &t.owner, "")
            .await
            .status,
        200
    );
    assert_eq!(
        post("/v1/owner/skills/word-stats/revoke", &t.owner, "")
            .await
            .status,
        200
    );
    let a = post(
        "/v1/skills/word-stats/invoke",
        &t.invoker,
        r#"{"text":"hi"}"#,
    )
    .await;
    assert_eq!((a.status, a.code()), (404, codes::SKILL_REVOKED));

    let a = get(
        "/v1/owner/audit?type=skill.approve&skill=word-stats&outcome=ok",
        &t.owner,
    )
    .await;
    let records = a.body["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["actor"], "root");
    let a = get("/v1/owner/audit?actor=agent&type=invoke&limit=1", &t.owner).await;
    assert_eq!(a.body["records"].as_array().unwrap().len(), 1);
    assert_eq!(a.body["records"][0]["code"], codes::SKILL_REVOKED);
    let a = get("/v1/owner/audit?since=yesterday", &t.owner).await;
    assert_eq!((a.status, a.code()), (400, codes::API_BAD_REQUEST));
    let a = get("/v1/owner/audit?colour=blue", &t.owner).await;
    assert_eq!((a.status, a.code()), (400, codes::API_BAD_REQUEST));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_lists_exactly_the_routes_the_server_answers() {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut routes: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    documented.sort();
    routes.sort();
    assert_eq!(documented, routes, "openapi.json and api::ROUTES differ");

    // Every listed route is really served: none answers "no such route" or
    // "wrong method", and the document itself is what /v1/openapi.json serves.
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path(), &["echo"]).await;
    let s = Server::start(dir.path(), "");
    let c = client();
    for (method, path) in ROUTES {
        let url = format!("{}{}", s.url, path.replace("{name}", "echo"));
        let a = request(&c, method.parse().unwrap(), &url, None, Some("{}")).await;
        assert!(
            ![codes::API_NOT_FOUND, codes::API_METHOD_NOT_ALLOWED].contains(&a.code())
                && a.status != 404
                && a.status != 405,
            "{method} {path}: {} {}",
            a.status,
            a.text
        );
        // Only liveness and this document are open; everything else needs
        // a token, and says so before doing anything.
        let open = ["/healthz", "/v1/openapi.json"].contains(path);
        assert_eq!(a.status == 401, !open, "{method} {path}: {}", a.status);
        if !open {
            assert_eq!(a.code(), codes::AUTH_FAILURE, "{method} {path}");
        }
    }
    let served = request(
        &c,
        Method::GET,
        &format!("{}/v1/openapi.json", s.url),
        None,
        None,
    )
    .await;
    assert_eq!(served.body, doc);
}

#[tokio::test(flavor = "multi_thread")]
async fn owner_review_shows_lookalike_destinations_as_granted_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    // lookalike-host asks for https://аpi.example.com (a Cyrillic 'а').
    let host = skillhost::SkillHost::open(&skillhost::HostConfig::default(), dir.path())
        .await
        .unwrap();
    let added = host
        .add(&skill_bytes("lookalike_host"), "owner")
        .await
        .unwrap();
    let digest = added.version().digest.to_string();
    drop(host);
    let s = Server::start(dir.path(), "");
    let c = client();
    let granted_as = "https://xn--pi-6kc.example.com:443";

    let a = request(
        &c,
        Method::GET,
        &format!("{}/v1/owner/pending", s.url),
        Some(&t.owner),
        None,
    )
    .await;
    let v = &a.body["pending"][0];
    assert_eq!(v["name"], "lookalike-host", "{}", a.text);
    assert_eq!(
        v["destinations"][0]["requested"],
        "https://\u{430}pi.example.com"
    );
    assert_eq!(v["destinations"][0]["destination"], granted_as);
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{v}");
    let w = warnings[0].as_str().unwrap();
    assert!(
        w.contains("xn--pi-6kc.example.com") && w.contains("Cyrillic"),
        "{w}"
    );
    assert_eq!(v["destinations"][0]["warnings"][0], warnings[0]);

    // Approving with the shown form grants the skill's destination, and the
    // answer carries the same review.
    let a = request(
        &c,
        Method::POST,
        &format!("{}/v1/owner/skills/lookalike-host/approve", s.url),
        Some(&t.owner),
        Some(&serde_json::json!({ "digest": digest, "http": [granted_as] }).to_string()),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.body["granted"]["http"][0],
        "https://\u{430}pi.example.com"
    );
    assert_eq!(a.body["destinations"][0]["destination"], granted_as);
    assert_eq!(a.body["warnings"].as_array().unwrap().len(), 1);
}
