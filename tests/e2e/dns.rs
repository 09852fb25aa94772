//! Egress name resolution against real DNS servers on loopback, started by
//! the tests: one that never answers, and one that answers from a fixed
//! table (a hand-written minimal DNS response). The skill is http-probe,
//! running in the real sandbox; where a name resolves to loopback, the
//! request reaches a real test server, so the DNS path is proven end to end.

use std::collections::HashMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillhost::config::EgressConfig;
use skillhost::egress::Rule;
use skillhost::{HostConfig, Limits, SkillEngine, codes};

use crate::common::*;
use crate::servers;

/// A UDP DNS server on 127.0.0.1 that answers A queries for the names in
/// its table (every other query gets an empty answer), or, with no table,
/// reads every query and never answers. Stops when dropped.
struct DnsServer {
    port: u16,
    queries: Arc<std::sync::atomic::AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    fn silent() -> Self {
        Self::start(None)
    }

    fn answering(table: &[(&str, &[Ipv4Addr])]) -> Self {
        let table = table
            .iter()
            .map(|(name, ips)| (name.to_string(), ips.to_vec()))
            .collect();
        Self::start(Some(table))
    }

    fn start(table: Option<HashMap<String, Vec<Ipv4Addr>>>) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, q) = (stop.clone(), queries.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                q.fetch_add(1, Ordering::Relaxed);
                let Some(table) = &table else { continue };
                if let Some(answer) = respond(&buf[..n], table) {
                    let _ = socket.send_to(&answer, from);
                }
            }
        });
        DnsServer {
            port,
            queries,
            stop,
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A minimal DNS response: the query's id and question, and one A record
/// per address when the question is `A IN` for a name in `table`.
fn respond(query: &[u8], table: &HashMap<String, Vec<Ipv4Addr>>) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question_end = at + 4;
    let question = query.get(12..question_end)?;
    let name = labels.join(".");
    let ips: &[Ipv4Addr] = match table.get(&name) {
        Some(ips) if qtype == 1 => ips,
        _ => &[],
    };
    let mut out = Vec::new();
    out.extend_from_slice(&query[..2]); // id
    out.extend_from_slice(&[0x81, 0x80]); // response, RD, RA, NOERROR
    out.extend_from_slice(&1u16.to_be_bytes()); // one question
    out.extend_from_slice(&(ips.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // no authority, no additional
    out.extend_from_slice(question);
    for ip in ips {
        out.extend_from_slice(&[0xc0, 0x0c]); // the name: a pointer to the question
        out.extend_from_slice(&[0, 1, 0, 1]); // A, IN
        out.extend_from_slice(&60u32.to_be_bytes()); // TTL
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&ip.octets());
    }
    Some(out)
}

fn config(dns: &DnsServer, request_timeout_ms: u64, dns_timeout_ms: u64) -> HostConfig {
    HostConfig {
        egress: EgressConfig {
            request_timeout_ms,
            dns_servers: vec![dns.addr()],
            dns_timeout_ms,
            allow_private: vec!["127.0.0.1/32".into()],
            ..EgressConfig::default()
        },
        ..HostConfig::default()
    }
}

/// Run http-probe once, on an engine of its own, with `grant`.
async fn probe(config: &HostConfig, grant: &str, url: &str) -> Value {
    let engine = SkillEngine::new(config, None, None).unwrap();
    let skill = engine.load(&skill_bytes("http_probe")).unwrap();
    let grants = [Rule::parse(grant).unwrap()];
    let limits = Limits {
        timeout_ms: 8_000,
        ..test_limits()
    };
    let inv = skill
        .invoke_granted(&json!({ "url": url }).to_string(), &limits, &grants)
        .await;
    output(&inv)
}

fn assert_refused(out: &Value, code: &str) {
    assert_eq!(out["outcome"], "refused", "expected {code}, got {out}");
    assert_eq!(out["code"], code, "{out}");
}

#[tokio::test]
async fn a_name_server_that_never_answers_is_a_timeout() {
    let dns = DnsServer::silent();
    // Cut off by the request's timeout (the lookup's own is longer) ...
    let out = probe(
        &config(&dns, 800, 30_000),
        "http://never.test:80",
        "http://never.test/",
    )
    .await;
    assert_refused(&out, codes::EGRESS_TIMEOUT);
    // ... and by the lookup's own timeout, well inside the request's.
    let out = probe(
        &config(&dns, 30_000, 500),
        "http://never.test:80",
        "http://never.test/",
    )
    .await;
    assert_refused(&out, codes::EGRESS_TIMEOUT);
    assert!(
        dns.queries() > 0,
        "the configured name server was not asked"
    );
}

#[tokio::test]
async fn dns_answers_are_checked_and_only_checked_answers_are_used() {
    let server = servers::start(0, None);
    let p = server.port();
    let dns = DnsServer::answering(&[
        ("loopback.test", &[Ipv4Addr::LOCALHOST]),
        ("private.test", &[Ipv4Addr::new(10, 0, 0, 1)]),
        (
            "mixed.test",
            &[Ipv4Addr::LOCALHOST, Ipv4Addr::new(10, 0, 0, 1)],
        ),
    ]);
    let config = config(&dns, 5_000, 2_000);
    // 127.0.0.1 is exempt on this host: the answer is used, and the request
    // reaches the test server.
    let grant = format!("http://loopback.test:{p}");
    let out = probe(&config, &grant, &format!("{grant}/json")).await;
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["body"], r#"{"items":[1,2,3]}"#);
    let before = server.hits();
    // A private answer is refused.
    let grant = format!("http://private.test:{p}");
    let out = probe(&config, &grant, &format!("{grant}/json")).await;
    assert_refused(&out, codes::EGRESS_PRIVATE_ADDRESS);
    assert!(
        !out["message"].as_str().unwrap().contains("10.0.0.1"),
        "internal detail leaked: {out}"
    );
    // A mixed answer is refused whole: the usable half is not picked.
    let grant = format!("http://mixed.test:{p}");
    let out = probe(&config, &grant, &format!("{grant}/json")).await;
    assert_refused(&out, codes::EGRESS_PRIVATE_ADDRESS);
    assert_eq!(server.hits(), before, "no connection may be made");
    // A name the server does not know is a failed connection.
    let grant = format!("http://unknown.test:{p}");
    let out = probe(&config, &grant, &format!("{grant}/json")).await;
    assert_refused(&out, codes::EGRESS_CONNECT_FAILED);
}

#[tokio::test]
async fn static_hosts_win_over_dns() {
    let server = servers::start(0, None);
    let p = server.port();
    // DNS says private; the owner's static entry says loopback (exempt).
    let dns = DnsServer::answering(&[("pinned.test", &[Ipv4Addr::new(10, 0, 0, 1)])]);
    let mut config = config(&dns, 5_000, 2_000);
    config
        .egress
        .hosts
        .insert("pinned.test".into(), vec!["127.0.0.1".parse().unwrap()]);
    let grant = format!("http://pinned.test:{p}");
    let out = probe(&config, &grant, &format!("{grant}/json")).await;
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(dns.queries(), 0, "a pinned name must not be looked up");
}

/// The real binary, with a name server that never answers: the skill gets
/// `egress.timeout`, and the process exits instead of waiting on a lookup.
#[test]
fn the_cli_exits_when_a_name_server_never_answers() {
    let dns = DnsServer::silent();
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("skillhost.toml");
    std::fs::write(
        &config_file,
        format!(
            "[limits]\ntimeout_ms = 3000\n\n[egress]\nrequest_timeout_ms = 1000\n\
             dns_servers = [\"{}\"]\n",
            dns.addr()
        ),
    )
    .unwrap();
    // item-stats asks for https://json-api.test:47443; `dev` grants it.
    let mut child = Command::new(env!("CARGO_BIN_EXE_skillhost"))
        .env("SKILLHOST_DATA_DIR", dir.path().join("data"))
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(&config_file)
        .arg("dev")
        .arg(skill_path("item_stats"))
        .args(["--input", r#"{"tag":"tools"}"#])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A generous bound: this is about exiting at all, not about speed.
    let bound = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > bound {
            let _ = child.kill();
            panic!("skillhost did not exit after its invocation ended");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    let err: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(err["code"], codes::SKILL_ERROR, "{stderr}");
    assert_eq!(err["skill_code"], "fetch.egress_timeout", "{stderr}");
    assert!(
        dns.queries() > 0,
        "the configured name server was not asked"
    );
}
