//! The HTTP server under pressure: many clients at once, slow and
//! vanishing clients, and shutdown with work in flight — against a real
//! `skillhost serve` process on loopback.

use std::io::{Read, Write};
use std::time::Duration;

use reqwest::Method;
use skillhost::codes;

use crate::common::*;
use crate::serve::*;

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_concurrent_requests_are_all_answered_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    let s = Server::start(
        dir.path(),
        // Every refusal one by one, so each request has its own record.
        "[audit]\nrepeat_interval_secs = 0\n[rate]\nper_skill_per_minute = 100000\nglobal_per_minute = 100000\nper_caller_per_minute = 100000\n",
    );
    let c = client();
    let url = invoke_url(&s, "echo");
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (c, url, tok) = (c.clone(), url.clone(), t.invoker.clone());
        tasks.push(tokio::spawn(async move {
            request(
                &c,
                Method::POST,
                &url,
                Some(&tok),
                Some(&format!(r#"{{"n":{i}}}"#)),
            )
            .await
        }));
    }
    let all = tokio::time::timeout(Duration::from_secs(120), futures_join(tasks))
        .await
        .expect("200 requests within 120 s");
    let mut ok = 0;
    for (i, a) in all.iter().enumerate() {
        match a.status {
            200 => {
                assert_eq!(a.body["output"]["n"], i);
                ok += 1;
            }
            // A full host refuses instead of queueing; still an answer.
            503 => assert_eq!(a.code(), codes::RATE_BUSY),
            other => panic!("request {i}: {other} {}", a.text),
        }
    }
    assert!(ok > 0);
    let audit = audit_records(dir.path());
    let mine: Vec<_> = audit
        .iter()
        .filter(|r| r["type"] == "invoke" && r["actor"] == "agent")
        .collect();
    assert_eq!(mine.len(), 200, "one audit record per request");
    assert_eq!(mine.iter().filter(|r| r["outcome"] == "ok").count(), ok);
    let m = request(
        &c,
        Method::GET,
        &format!("{}/metrics", s.url),
        Some(&t.owner),
        None,
    )
    .await;
    assert!(
        m.text.contains(&format!(
            "skillhost_invocations_total{{outcome=\"ok\",code=\"ok\"}} {ok}\n"
        )),
        "{}",
        m.text
    );
    // One skill, loaded once and verified once: every other call that ran
    // found it in the loaded-component cache, and nothing was evicted.
    let sample = |name: &str| -> f64 {
        m.text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from\n{}", m.text))
            .parse()
            .unwrap()
    };
    assert_eq!(sample("skillhost_loaded_components"), 1.0);
    assert_eq!(sample("skillhost_loaded_misses_total"), 1.0);
    assert_eq!(sample("skillhost_loaded_hits_total"), (ok - 1) as f64);
    assert_eq!(sample("skillhost_loaded_evictions_total"), 0.0);
    assert!(sample("skillhost_loaded_bytes") > 0.0);
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<Answer>>) -> Vec<Answer> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_the_invocation_in_flight_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["slow_echo"]).await;
    let mut s = Server::start(dir.path(), "");
    let c = client();
    let call = {
        let (c, url, tok) = (c.clone(), invoke_url(&s, "slow-echo"), t.invoker.clone());
        tokio::spawn(async move {
            request(
                &c,
                Method::POST,
                &url,
                Some(&tok),
                Some(r#"{"wait_ms":1500,"text":"finish me"}"#),
            )
            .await
        })
    };
    wait_until_running(&c, &s, &t.owner).await;
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let a = call.await.unwrap();
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["output"]["text"], "finish me");
    let status = s
        .wait_exit(Duration::from_secs(30))
        .expect("the server exits");
    assert_eq!(status.code(), Some(0), "{}", s.stderr.lock().unwrap());
    // Nothing is accepted any more, and the invocation is on the record.
    assert!(std::net::TcpStream::connect(s.addr()).is_err());
    let audit = audit_records(dir.path());
    assert!(
        audit
            .iter()
            .any(|r| r["type"] == "invoke" && r["outcome"] == "ok" && r["skill"] == "slow-echo")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_time_out_and_cannot_hold_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["echo"]).await;
    let s = Server::start(
        dir.path(),
        // The skill's own deadline stays well above what a loaded CI machine
        // needs for echo; the request timeout must exceed it.
        "[limits]\ntimeout_ms = 2000\n[server]\nmax_connections = 2\nheader_timeout_ms = 500\nrequest_timeout_ms = 3000\n",
    );
    // A body trickled slower than the request timeout: 504 api.timeout.
    let mut slow = std::net::TcpStream::connect(s.addr()).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        slow,
        "POST /v1/skills/echo/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 10\r\n\r\n{{",
        t.invoker
    )
    .unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    assert!(answer.contains(codes::API_TIMEOUT));

    // Both connection slots taken by clients that never send a header: the
    // header timeout drops them, and a real request is then served.
    let idle: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let c = std::net::TcpStream::connect(s.addr()).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            c
        })
        .collect();
    // Bounded well below hyper's own 30 s default, so this fails if the
    // configured header timeout is not applied.
    let patient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let a = request(
        &patient,
        Method::POST,
        &invoke_url(&s, "echo"),
        Some(&t.invoker),
        Some("{}"),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    for mut c in idle {
        let mut buf = Vec::new();
        let _ = c.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_hangs_up_does_not_cut_the_invocation_short() {
    let dir = tempfile::tempdir().unwrap();
    let t = prepare(dir.path(), &["slow_echo"]).await;
    let s = Server::start(dir.path(), "");
    let c = client();
    let body = r#"{"wait_ms":1000,"text":"orphan"}"#;
    let mut stream = std::net::TcpStream::connect(s.addr()).unwrap();
    write!(
        stream,
        "POST /v1/skills/slow-echo/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n{body}",
        t.invoker,
        body.len()
    )
    .unwrap();
    wait_until_running(&c, &s, &t.owner).await;
    drop(stream);
    // The invocation still finishes and is audited as a success.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let audit = audit_records(dir.path());
        if audit
            .iter()
            .any(|r| r["type"] == "invoke" && r["skill"] == "slow-echo" && r["outcome"] == "ok")
        {
            break;
        }
        assert!(
            !audit
                .iter()
                .any(|r| r["type"] == "invoke" && r["skill"] == "slow-echo"),
            "the invocation ended otherwise: {audit:?}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no invoke record after the client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
