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

/// How one row of the status-code table is sent.
enum Req {
    /// A request to the server: method, path, bearer token, JSON body.
    Api(Method, String, Option<String>, Option<String>),
    /// Raw bytes POSTed to a skill's invoke URL with a bearer token.
    Bytes(&'static str, String, Vec<u8>),
    /// Raw HTTP/1.1 text written to the socket.
    Raw(String),
}

/// One row: what is sent, the status and code it must get, and any check of
/// the rest of the answer.
struct Case {
    what: &'static str,
    send: Req,
    status: u16,
    code: Option<&'static str>,
    check: fn(&Answer) -> Result<(), String>,
}

fn invoke(skill: &str, token: Option<&str>, body: &str) -> Req {
    Req::Api(
        Method::POST,
        format!("/v1/skills/{skill}/invoke"),
        token.map(str::to_string),
        Some(body.to_string()),
    )
}

fn call(method: Method, path: &str, token: Option<&str>) -> Req {
    Req::Api(method, path.to_string(), token.map(str::to_string), None)
}

fn no_check(_: &Answer) -> Result<(), String> {
    Ok(())
}

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_string()) }
}

/// An answer read off the socket: the status from its status line (0 if it
/// is not HTTP/1.1), the JSON after its head, and all of it as text.
fn raw_answer(text: String) -> Answer {
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        retry_after: None,
        www_authenticate: None,
        body,
        text,
    }
}

async fn send(s: &Server, c: &reqwest::Client, how: &Req) -> Answer {
    match how {
        Req::Api(method, path, token, body) => {
            let url = format!("{}{path}", s.url);
            request(c, method.clone(), &url, token.as_deref(), body.as_deref()).await
        }
        Req::Bytes(skill, token, bytes) => {
            let resp = c
                .post(invoke_url(s, skill))
                .bearer_auth(token)
                .body(bytes.clone())
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            Answer {
                status,
                retry_after: None,
                www_authenticate: None,
                body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
                text,
            }
        }
        Req::Raw(text) => raw_answer(raw(s, text)),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_status_code_the_api_promises() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), SKILLS).await;
    let s = Server::start(dir.path(), CONFIG);
    let c = client();
    let (invoker, echo_only) = (Some(t.invoker.as_str()), Some(t.echo_only.as_str()));
    fn bearer_challenge(a: &Answer) -> Result<(), String> {
        ensure(
            a.www_authenticate.as_deref() == Some("Bearer realm=\"skillhost\""),
            &format!("WWW-Authenticate is {:?}", a.www_authenticate),
        )
    }
    let big = format!("\"{}\"", "a".repeat(5000));
    let head_only = format!(
        "POST /v1/skills/echo/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 100000000\r\n\r\n",
        t.invoker
    );
    let mut chunked = format!(
        "POST /v1/skills/echo/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        t.invoker
    );
    for _ in 0..5 {
        chunked.push_str(&format!("3e8\r\n{}\r\n", "a".repeat(1000)));
    }
    chunked.push_str("0\r\n\r\n");

    // Run in order: the audit checks below count what these leave behind.
    let cases = [
        // 200: output, usage and logs.
        Case {
            what: "200: a call that succeeds",
            send: invoke("word-stats", invoker, r#"{"text":"a b b"}"#),
            status: 200,
            code: None,
            check: |a| {
                ensure(a.body["output"]["words"] == 3, "output.words is not 3")?;
                ensure(
                    a.body["usage"]["fuel_consumed"]
                        .as_u64()
                        .is_some_and(|f| f > 0),
                    "usage.fuel_consumed is not above 0",
                )
            },
        },
        // 401: no token, a malformed one, a well-formed unknown one.
        Case {
            what: "401: no token",
            send: invoke("echo", None, "{}"),
            status: 401,
            code: Some(codes::AUTH_FAILURE),
            check: bearer_challenge,
        },
        Case {
            what: "401: a malformed token",
            send: invoke("echo", Some("nope"), "{}"),
            status: 401,
            code: Some(codes::AUTH_FAILURE),
            check: bearer_challenge,
        },
        Case {
            what: "401: a well-formed unknown token",
            send: invoke(
                "echo",
                Some("skh_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                "{}",
            ),
            status: 401,
            code: Some(codes::AUTH_FAILURE),
            check: bearer_challenge,
        },
        // 403: a token scoped to echo cannot invoke word-stats (or see it).
        Case {
            what: "403: a scoped token invokes another skill",
            send: invoke("word-stats", echo_only, r#"{"text":"x"}"#),
            status: 403,
            code: Some(codes::AUTH_FORBIDDEN),
            check: no_check,
        },
        Case {
            what: "403: a scoped token reads another skill",
            send: call(Method::GET, "/v1/skills/word-stats", echo_only),
            status: 403,
            code: Some(codes::AUTH_FORBIDDEN),
            check: no_check,
        },
        Case {
            what: "200: a scoped token lists only its skills",
            send: call(Method::GET, "/v1/skills", echo_only),
            status: 200,
            code: None,
            check: |a| {
                let names: Option<Vec<&str>> = a.body["skills"]
                    .as_array()
                    .and_then(|all| all.iter().map(|s| s["name"].as_str()).collect());
                ensure(
                    names.as_deref() == Some(&["echo"][..]),
                    &format!("the listed skills are {names:?}, not [\"echo\"]"),
                )
            },
        },
        // ... and an invoker is not an owner.
        Case {
            what: "403: an invoker asks for an owner endpoint",
            send: call(Method::GET, "/v1/owner/pending", invoker),
            status: 403,
            code: Some(codes::AUTH_FORBIDDEN),
            check: no_check,
        },
        // 404: unknown skill, invalid name, unknown route. 405: wrong method.
        Case {
            what: "404: an unknown skill",
            send: invoke("no-such-skill", invoker, "{}"),
            status: 404,
            code: Some(codes::SKILL_NOT_FOUND),
            check: no_check,
        },
        Case {
            what: "404: an invalid skill name",
            send: invoke("BAD..name", invoker, "{}"),
            status: 404,
            code: Some(codes::REGISTRY_INVALID_NAME),
            check: no_check,
        },
        Case {
            what: "404: an unknown route",
            send: call(Method::GET, "/v2/nothing", None),
            status: 404,
            code: Some(codes::API_NOT_FOUND),
            check: no_check,
        },
        Case {
            what: "405: a wrong method",
            send: call(Method::DELETE, "/v1/skills", invoker),
            status: 405,
            code: Some(codes::API_METHOD_NOT_ALLOWED),
            check: no_check,
        },
        // 400: malformed JSON, and a body that is not UTF-8.
        Case {
            what: "400: malformed JSON",
            send: invoke("echo", invoker, r#"{"a":"#),
            status: 400,
            code: Some(codes::INPUT_INVALID_JSON),
            check: no_check,
        },
        Case {
            what: "400: a body that is not UTF-8",
            send: Req::Bytes("echo", t.invoker.clone(), vec![0xff, 0xfe, b'{']),
            status: 400,
            code: Some(codes::INPUT_INVALID_JSON),
            check: no_check,
        },
        // 413: declared too large, refused from the header before any body
        // is sent; and streamed (chunked) past the cap.
        Case {
            what: "413: a body over the cap",
            send: invoke("echo", invoker, &big),
            status: 413,
            code: Some(codes::INPUT_TOO_LARGE),
            check: no_check,
        },
        Case {
            what: "413: a Content-Length over the cap, no body sent",
            send: Req::Raw(head_only),
            status: 413,
            code: Some(codes::INPUT_TOO_LARGE),
            check: |a| {
                ensure(
                    a.text.contains(codes::INPUT_TOO_LARGE),
                    "the answer does not name the code",
                )?;
                ensure(
                    a.text.contains("input is 100000000 bytes"),
                    "the declared size is not reported",
                )
            },
        },
        Case {
            what: "413: a chunked body streamed past the cap",
            send: Req::Raw(chunked),
            status: 413,
            code: Some(codes::INPUT_TOO_LARGE),
            // The size is unknown when the stream is cut: the cap is
            // reported, the same way the CLI reports stdin.
            check: |a| {
                ensure(
                    a.text.contains("input is more than "),
                    "the cap is not reported",
                )
            },
        },
        // 422: the input schema.
        Case {
            what: "422: input against the schema",
            send: invoke("word-stats", invoker, r#"{"text":1}"#),
            status: 422,
            code: Some(codes::INPUT_SCHEMA_INVALID),
            check: |a| {
                ensure(
                    a.body["errors"].as_array().is_some_and(|e| !e.is_empty()),
                    "no schema errors are listed",
                )
            },
        },
        // 502: the skill ran and failed. 504: it ran past its deadline.
        Case {
            what: "502: the skill trapped",
            send: invoke("panic", invoker, "{}"),
            status: 502,
            code: Some(codes::SKILL_TRAPPED),
            check: no_check,
        },
        Case {
            what: "504: the skill ran past its deadline",
            send: invoke("busy-wait", invoker, "{}"),
            status: 504,
            code: Some(codes::TIMEOUT),
            check: |a| {
                ensure(
                    a.body["usage"]["duration_ms"]
                        .as_u64()
                        .is_some_and(|d| d >= 1000),
                    "usage.duration_ms is not at least 1000",
                )
            },
        },
        // The server is still fine after all of the above.
        Case {
            what: "200: the server still serves",
            send: invoke("echo", invoker, r#"{"still":"up"}"#),
            status: 200,
            code: None,
            check: no_check,
        },
    ];

    let mut failures = Vec::new();
    for case in &cases {
        let a = send(&s, &c, &case.send).await;
        let mut wrong = Vec::new();
        if a.status != case.status {
            wrong.push(format!("status {} (expected {})", a.status, case.status));
        }
        if let Some(code) = case.code
            && a.code() != code
        {
            wrong.push(format!("code {:?} (expected {code:?})", a.code()));
        }
        if let Err(e) = (case.check)(&a) {
            wrong.push(e);
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}; answer: {}",
                case.what,
                wrong.join(", "),
                a.text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // Every refusal is on the record — without a token's text.
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
    succeeded(skillhost_cli(dir.path()).args(["token", "revoke", "agent"]));
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
        "/v1/owner/skills/word-stats/trial",
        "/v1/owner/skills/echo/revoke",
        "/v1/owner/skills/echo/disable",
    ] {
        let a = post(path, &t.invoker, &format!(r#"{{"digest":"{digest}"}}"#)).await;
        assert_eq!((a.status, a.code()), (403, codes::AUTH_FORBIDDEN), "{path}");
    }
    assert_eq!(get("/v1/owner/audit", &t.invoker).await.status, 403);
    // The owner can try the pending version first: it runs, and stays
    // pending.
    let a = post(
        "/v1/owner/skills/word-stats/trial",
        &t.owner,
        r#"{"input":{"text":"one two two"}}"#,
    )
    .await;
    assert_eq!(
        (a.status, a.body["code"].as_str()),
        (200, Some("ok")),
        "{}",
        a.text
    );
    assert_eq!(a.body["digest"], digest.as_str());
    assert_eq!(a.body["attempts"], serde_json::json!([]));
    for bad in [r#"{"inputs":{}}"#, "", "{}"] {
        let a = post("/v1/owner/skills/word-stats/trial", &t.owner, bad).await;
        assert_eq!(
            (a.status, a.code()),
            (400, codes::API_BAD_REQUEST),
            "{bad:?}"
        );
    }
    let a = get("/v1/owner/pending", &t.owner).await;
    assert_eq!(a.body["pending"][0]["name"], "word-stats");
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

#[tokio::test(flavor = "multi_thread")]
async fn skills_are_listed_a_page_at_a_time_and_foreign_cursors_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo", "word_stats", "counter", "slow_echo"]).await;
    let s = Server::start(dir.path(), "[server]\npage_size = 3\n");
    let c = client();
    let list = |query: String| {
        let (c, url, tok) = (
            c.clone(),
            format!("{}/v1/skills{query}", s.url),
            t.invoker.clone(),
        );
        async move { request(&c, Method::GET, &url, Some(&tok), None).await }
    };
    // Follow the cursor: every skill once, by name, at most 3 a page (the
    // configured size, also when the caller asks for more), 1 when the
    // caller asks for 1.
    for (limit, max, pages) in [("", 3, 2), ("limit=1", 1, 4), ("limit=50", 3, 2)] {
        let mut names = Vec::new();
        let mut cursor = String::new();
        let mut seen = 0;
        loop {
            let params: Vec<String> = [
                (!cursor.is_empty()).then(|| format!("cursor={cursor}")),
                (!limit.is_empty()).then(|| limit.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect();
            let query = if params.is_empty() {
                String::new()
            } else {
                format!("?{}", params.join("&"))
            };
            let a = list(query).await;
            assert_eq!(a.status, 200, "{}", a.text);
            let page = a.body["skills"].as_array().unwrap();
            assert!(page.len() <= max, "{}", a.text);
            names.extend(page.iter().map(|s| s["name"].as_str().unwrap().to_string()));
            seen += 1;
            match a.body["next_cursor"].as_str() {
                Some(next) => cursor = next.to_string(),
                None => break,
            }
        }
        assert_eq!(names, ["counter", "echo", "slow-echo", "word-stats"]);
        assert_eq!(seen, pages, "limit {limit:?}");
    }
    // A cursor the host did not issue, a zero limit and an unknown
    // parameter are 400 api.bad_request.
    for query in [
        "?cursor=bm90LWEtY3Vyc29y",
        "?cursor=%FF",
        "?limit=0",
        "?page=2",
    ] {
        let a = list(query.to_string()).await;
        assert_eq!(a.status, 400, "{query}: {}", a.text);
        assert_eq!(a.code(), codes::API_BAD_REQUEST, "{query}");
    }
}
