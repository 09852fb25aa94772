//! The egress attack suite: an SDK skill (`http-probe`) inside the sandbox
//! attacks the host's outbound HTTP against real servers on loopback — plain
//! HTTP and TLS with a test CA the host config trusts. Each case checks the
//! code the skill sees and, where it matters, that the server never saw the
//! request.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};
use skillhost::config::EgressConfig;
use skillhost::egress::Rule;
use skillhost::{HostConfig, Limits, LoadedSkill, SkillEngine, codes};

use crate::common::*;
use crate::servers::{self, TestPki, TestServer};

/// The fixed port `item-stats` asks for (`https://json-api.test:47443`).
pub const JSON_API_PORT: u16 = 47443;

pub struct Net {
    pub pki: TestPki,
    pub plain: TestServer,
    pub tls: TestServer,
    pub ca_file: PathBuf,
    /// 127.0.0.1 exempt from the private-address block; `api.test` →
    /// 127.0.0.1; request timeout 1.5 s. Kept alive for its probe.
    _open: SkillEngine,
    /// Nothing exempt: `api.test` → 127.0.0.1 must be refused.
    _strict: SkillEngine,
    pub open_probe: LoadedSkill,
    strict_probe: LoadedSkill,
}

/// Egress settings the tests' hosts use.
pub fn egress_config(ca_file: &std::path::Path, exempt_loopback: bool) -> EgressConfig {
    EgressConfig {
        request_timeout_ms: 1_500,
        allow_private: if exempt_loopback {
            vec!["127.0.0.1/32".into()]
        } else {
            vec![]
        },
        extra_ca_files: vec![ca_file.to_path_buf()],
        hosts: [
            ("api.test".to_string(), vec!["127.0.0.1".parse().unwrap()]),
            (
                "json-api.test".to_string(),
                vec!["127.0.0.1".parse().unwrap()],
            ),
        ]
        .into_iter()
        .collect(),
        ..EgressConfig::default()
    }
}

pub fn net() -> &'static Net {
    static NET: OnceLock<Net> = OnceLock::new();
    NET.get_or_init(|| {
        let pki = TestPki::new();
        let dir = tempfile::tempdir().unwrap().keep();
        let ca_file = dir.join("test-ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).unwrap();
        let plain = servers::start(0, None);
        let tls = servers::start(0, Some(&pki));
        let engine = |exempt| {
            let config = HostConfig {
                egress: egress_config(&ca_file, exempt),
                ..HostConfig::default()
            };
            SkillEngine::new(&config, None, None).unwrap()
        };
        let (open, strict) = (engine(true), engine(false));
        let probe = skill_bytes("http_probe");
        let open_probe = open.load(&probe).unwrap();
        let strict_probe = strict.load(&probe).unwrap();
        Net {
            pki,
            plain,
            tls,
            ca_file,
            _open: open,
            _strict: strict,
            open_probe,
            strict_probe,
        }
    })
}

fn grants(list: &[String]) -> Vec<Rule> {
    list.iter().map(|g| Rule::parse(g).unwrap()).collect()
}

fn tls_grant() -> String {
    format!("https://api.test:{}", net().tls.port())
}

fn plain_grant() -> String {
    format!("http://api.test:{}", net().plain.port())
}

pub async fn probe_with(
    skill: &LoadedSkill,
    limits: &Limits,
    grant: &[String],
    input: Value,
) -> Value {
    let inv = skill
        .invoke_granted(&input.to_string(), limits, &grants(grant))
        .await;
    output(&inv)
}

/// Run http-probe on the open engine with these grants.
pub async fn probe(grant: &[String], input: Value) -> Value {
    let n = net();
    probe_with(&n.open_probe, &test_limits(), grant, input).await
}

pub fn assert_refused(out: &Value, code: &str) {
    assert_eq!(out["outcome"], "refused", "expected {code}, got {out}");
    assert_eq!(out["code"], code, "{out}");
}

#[tokio::test]
async fn granted_destinations_work_over_tls_and_http() {
    let n = net();
    let out = probe(
        &[tls_grant()],
        json!({ "url": format!("{}/json", tls_grant()) }),
    )
    .await;
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["body"], r#"{"items":[1,2,3]}"#);
    let out = probe(
        &[plain_grant()],
        json!({ "url": format!("{}/echo", plain_grant()) }),
    )
    .await;
    assert_eq!(out["status"], 200, "{out}");
    let echoed: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["scheme"], "http");
    let _ = &n.pki;
}

#[tokio::test]
async fn userinfo_tricks_are_refused_before_anything_is_sent() {
    let n = net();
    let p = n.tls.port();
    for url in [
        format!("https://api.test:{p}@evil.test/?m=egress-userinfo"),
        format!("https://api.test@evil.test:{p}/?m=egress-userinfo"),
        format!("https://user:pw@api.test:{p}/json?m=egress-userinfo"),
        format!("https://user@api.test:{p}/json?m=egress-userinfo"),
    ] {
        assert_refused(
            &probe(&[tls_grant()], json!({ "url": url })).await,
            codes::EGRESS_USERINFO,
        );
    }
    assert_eq!(
        servers::requests_containing("m=egress-userinfo"),
        0,
        "no request may reach the server"
    );
}

#[tokio::test]
async fn lookalike_hosts_are_refused() {
    let p = net().tls.port();
    for url in [
        format!("https://api.test.evil.test:{p}/"),
        format!("https://evilapi.test:{p}/"),
        format!("https://xapi.test:{p}/"),
        format!("https://api.tes:{p}/"),
        format!("https://api.test-evil.test:{p}/"),
        format!("https://sub.api.test:{p}/"),
        format!("https://аpi.test:{p}/"), // Cyrillic 'а'
    ] {
        assert_refused(
            &probe(&[tls_grant()], json!({ "url": url })).await,
            codes::EGRESS_HOST_NOT_ALLOWED,
        );
    }
}

#[tokio::test]
async fn case_and_trailing_dot_variants_match_the_grant() {
    let p = net().plain.port();
    for url in [
        format!("http://API.TEST:{p}/json"),
        format!("http://Api.Test:{p}/json"),
        format!("http://api.test.:{p}/json"),
    ] {
        let out = probe(&[plain_grant()], json!({ "url": url })).await;
        assert_eq!(out["status"], 200, "{url}: {out}");
    }
    // A trailing dot does not turn a non-granted host into a granted one.
    let out = probe(
        &[plain_grant()],
        json!({ "url": format!("http://evil.test.:{p}/") }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_HOST_NOT_ALLOWED);
}

#[tokio::test]
async fn numeric_ipv4_spellings_are_ip_literals() {
    let p = net().plain.port();
    let spellings = [
        format!("http://2130706433:{p}/json"),
        format!("http://0177.0.0.1:{p}/json"),
        format!("http://0x7f.0.0.1:{p}/json"),
        format!("http://0x7f000001:{p}/json"),
        format!("http://127.1:{p}/json"),
        format!("http://127.0.0.1:{p}/json"),
    ];
    // Granting a name does not grant its address.
    for url in &spellings {
        assert_refused(
            &probe(&[plain_grant()], json!({ "url": url })).await,
            codes::EGRESS_HOST_NOT_ALLOWED,
        );
    }
    // Granting the literal on a host without an exemption still hits the
    // address policy, whatever the spelling.
    let n = net();
    let literal = vec![format!("http://127.0.0.1:{p}")];
    for url in &spellings {
        let out = probe_with(
            &n.strict_probe,
            &test_limits(),
            &literal,
            json!({ "url": url }),
        )
        .await;
        assert_refused(&out, codes::EGRESS_PRIVATE_ADDRESS);
    }
}

#[tokio::test]
async fn special_address_literals_are_refused_even_when_granted() {
    let p = net().plain.port();
    for host in [
        "[::1]",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
        "169.254.169.254",
        "127.0.0.2",
        "10.0.0.1",
        "[fe80::1]",
    ] {
        let url = format!("http://{host}:{p}/");
        // Not granted: refused by the grant check.
        assert_refused(
            &probe(&[plain_grant()], json!({ "url": url })).await,
            codes::EGRESS_HOST_NOT_ALLOWED,
        );
        // Granted: refused by the address policy. The open host exempts only
        // 127.0.0.1/32, so none of these is reachable.
        let grant = vec![format!("http://{host}:{p}")];
        assert_refused(
            &probe(&grant, json!({ "url": url })).await,
            codes::EGRESS_PRIVATE_ADDRESS,
        );
    }
}

#[tokio::test]
async fn names_that_resolve_to_private_addresses_are_refused() {
    let n = net();
    // Static resolution (the test resolver hook): api.test → 127.0.0.1.
    let out = probe_with(
        &n.strict_probe,
        &test_limits(),
        &[tls_grant()],
        json!({ "url": format!("{}/json?m=egress-private", tls_grant()) }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_PRIVATE_ADDRESS);
    assert!(
        !out["message"].as_str().unwrap().contains("127.0.0.1"),
        "internal detail leaked: {out}"
    );
    // The system resolver: localhost → loopback.
    let grant = vec![format!("https://localhost:{}", n.tls.port())];
    let out = probe_with(
        &n.strict_probe,
        &test_limits(),
        &grant,
        json!({ "url": format!("{}/json?m=egress-private", grant[0]) }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_PRIVATE_ADDRESS);
    assert_eq!(
        servers::requests_containing("m=egress-private"),
        0,
        "no connection may be made"
    );
}

#[tokio::test]
async fn redirects_come_back_to_the_skill_and_follow_ups_are_checked() {
    let _n = net();
    let g = tls_grant();
    // To a host that is not granted: the 3xx comes back; following it is refused.
    let url = format!("{g}/redirect?to=https://evil.test/steal");
    let out = probe(std::slice::from_ref(&g), json!({ "url": url })).await;
    assert_eq!(out["status"], 302, "{out}");
    assert_eq!(out["location"], "https://evil.test/steal");
    let out = probe(std::slice::from_ref(&g), json!({ "url": url, "follow": 1 })).await;
    assert_refused(&out, codes::EGRESS_HOST_NOT_ALLOWED);
    assert_eq!(out["hops"], 1);

    // To the cloud metadata address: refused as well.
    let url = format!("{g}/redirect?to=http://169.254.169.254/latest/meta-data/");
    let out = probe(std::slice::from_ref(&g), json!({ "url": url, "follow": 1 })).await;
    assert_refused(&out, codes::EGRESS_HOST_NOT_ALLOWED);

    // To a granted host: not followed by the host (one request reaches the
    // server), works when the skill follows it.
    // The marker is in both the redirect and its target, so a followed
    // redirect would be counted twice.
    let url = format!("{g}/redirect?to={g}/json?m=egress-not-followed");
    let out = probe(std::slice::from_ref(&g), json!({ "url": url })).await;
    assert_eq!(out["status"], 302);
    assert_eq!(
        servers::requests_containing("m=egress-not-followed"),
        1,
        "the host must not follow redirects"
    );
    let out = probe(std::slice::from_ref(&g), json!({ "url": url, "follow": 1 })).await;
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(out["body"], r#"{"items":[1,2,3]}"#);
}

#[tokio::test]
async fn wrong_port_and_wrong_scheme_are_refused() {
    let n = net();
    let p = n.tls.port();
    let out = probe(
        &[tls_grant()],
        json!({ "url": format!("https://api.test:{}/json", p.wrapping_add(1)) }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_PORT_NOT_ALLOWED);
    let out = probe(&[tls_grant()], json!({ "url": "https://api.test/json" })).await;
    assert_refused(&out, codes::EGRESS_PORT_NOT_ALLOWED);
    // http where only https is granted, on the same host and port.
    let out = probe(
        &[tls_grant()],
        json!({ "url": format!("http://api.test:{p}/json") }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_SCHEME_NOT_ALLOWED);
    for url in [
        "ftp://api.test/",
        "file:///etc/passwd",
        "gopher://api.test:70/",
        "ws://api.test/",
    ] {
        assert_refused(
            &probe(&[tls_grant()], json!({ "url": url })).await,
            codes::EGRESS_SCHEME_NOT_ALLOWED,
        );
    }
}

#[tokio::test]
async fn header_injection_and_steering_are_refused() {
    let n = net();
    // Counted by a marker in the URL, so parallel tests using the same
    // server do not disturb the count.
    let marker = "header-injection";
    let url = format!("{}/echo?m={marker}", plain_grant());
    for (name, value) in [
        ("x-test", "a\r\nHost: evil.test"),
        ("x-test", "a\nX-Injected: 1"),
        ("x-test\r\nX-Injected", "1"),
        ("Host", "evil.test"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", "5"),
        ("Connection", "keep-alive, Upgrade"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("X-Forwarded-For", "127.0.0.1"),
    ] {
        let out = probe(
            &[plain_grant()],
            json!({ "url": url, "headers": [[name, value]] }),
        )
        .await;
        assert_refused(&out, codes::EGRESS_BAD_HEADER);
    }
    let out = probe(&[plain_grant()], json!({ "url": url, "method": "CONNECT" })).await;
    assert_refused(&out, codes::EGRESS_BAD_METHOD);
    let out = probe(
        &[plain_grant()],
        json!({ "url": url, "method": "GET\r\nX: y" }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_BAD_METHOD);
    let big = "b".repeat(70 * 1024);
    let roomy = Limits {
        input_bytes: 256 * 1024,
        ..test_limits()
    };
    let body_input = json!({ "url": url, "method": "POST", "body": big });
    let out = probe_with(&n.open_probe, &roomy, &[plain_grant()], body_input).await;
    assert_refused(&out, codes::EGRESS_REQUEST_TOO_LARGE);
    assert_eq!(
        servers::requests_containing(marker),
        0,
        "nothing may be sent"
    );

    // Ordinary headers and bodies go through untouched.
    let out = probe(
        &[plain_grant()],
        json!({ "url": url, "method": "POST", "headers": [["x-test", "fine"]], "body": "hello" }),
    )
    .await;
    let echoed: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["body"], "hello");
    assert!(
        echoed["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["x-test", "fine"]))
    );
}

#[tokio::test]
async fn control_characters_in_header_values_are_bad_headers() {
    // Not just CR, LF and NUL: every control character but tab is refused
    // as a bad header, and the server sees nothing (counted by a marker in
    // the URL, so parallel tests do not disturb the count).
    let marker = "ctl-header-values";
    let url = format!("{}/echo?m={marker}", plain_grant());
    for value in [
        "a\u{1}b",
        "a\u{7f}",
        "\u{1b}[2J",
        "x\u{8}y",
        "\u{1f}",
        "v\u{b}",
    ] {
        let out = probe(
            &[plain_grant()],
            json!({ "url": url, "headers": [["x-test", value]] }),
        )
        .await;
        assert_refused(&out, codes::EGRESS_BAD_HEADER);
    }
    assert_eq!(
        servers::requests_containing(marker),
        0,
        "nothing may be sent"
    );
    // A tab is allowed, and arrives.
    let out = probe(
        &[plain_grant()],
        json!({ "url": url, "headers": [["x-test", "a\tb"]] }),
    )
    .await;
    assert_eq!(out["status"], 200, "{out}");
    let echoed: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert!(
        echoed["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["x-test", "a\tb"])),
        "{echoed}"
    );
    assert_eq!(servers::requests_containing(marker), 1);
}

#[tokio::test]
async fn oversized_responses_are_refused() {
    for path in ["/big", "/big-chunked"] {
        let out = probe(
            &[tls_grant()],
            json!({ "url": format!("{}{path}", tls_grant()) }),
        )
        .await;
        assert_refused(&out, codes::EGRESS_RESPONSE_TOO_LARGE);
    }
}

#[tokio::test]
async fn slow_and_trickling_responses_time_out() {
    // The request timeout (1.5 s here) stops a server that never answers
    // and one that trickles its body a byte at a time.
    for path in ["/slow-headers", "/trickle"] {
        let out = probe(
            &[plain_grant()],
            json!({ "url": format!("{}{path}", plain_grant()) }),
        )
        .await;
        assert_refused(&out, codes::EGRESS_TIMEOUT);
    }
    // A request never outlives the invocation: with 500 ms left, the
    // invocation ends at its deadline and the request is dropped.
    let limits = Limits {
        timeout_ms: 500,
        ..test_limits()
    };
    let n = net();
    let input = json!({ "url": format!("{}/trickle", plain_grant()) }).to_string();
    let inv = n
        .open_probe
        .invoke_granted(&input, &limits, &grants(&[plain_grant()]))
        .await;
    assert!(
        matches!(code(&inv), codes::TIMEOUT),
        "the invocation must end at its own deadline: {:?}",
        inv.result
    );
}

#[tokio::test]
async fn the_request_budget_holds() {
    let n = net();
    let limits = Limits {
        http_requests: 5,
        ..test_limits()
    };
    let out = probe_with(
        &n.open_probe,
        &limits,
        &[plain_grant()],
        json!({ "url": format!("{}/json?m=egress-budget", plain_grant()), "repeat": 8 }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_TOO_MANY_REQUESTS);
    assert_eq!(servers::requests_containing("m=egress-budget"), 5);
}

#[tokio::test]
async fn every_attempt_is_reported_for_audit() {
    let n = net();
    let input =
        json!({ "url": format!("{}/redirect?to=https://evil.test/", tls_grant()), "follow": 1 })
            .to_string();
    let inv = n
        .open_probe
        .invoke_granted(&input, &test_limits(), &grants(&[tls_grant()]))
        .await;
    let codes_seen: Vec<&str> = inv.egress.iter().map(|e| e.code).collect();
    assert_eq!(codes_seen, [codes::OK, codes::EGRESS_HOST_NOT_ALLOWED]);
    assert_eq!(inv.egress[0].status, Some(302));
    assert_eq!(inv.egress[1].destination, "https://evil.test:443");
    assert_eq!(inv.usage.http_requests, 2);
}

#[tokio::test]
async fn without_grants_nothing_leaves_the_sandbox() {
    let _n = net();
    let out = probe(
        &[],
        json!({ "url": format!("{}/json?m=egress-no-grants", tls_grant()) }),
    )
    .await;
    assert_refused(&out, codes::EGRESS_HOST_NOT_ALLOWED);
    assert_eq!(servers::requests_containing("m=egress-no-grants"), 0);
}

/// The JSON API that `item-stats` asks for lives on a fixed port; start it
/// once per test process.
pub fn json_api() -> &'static TestServer {
    static API: OnceLock<TestServer> = OnceLock::new();
    API.get_or_init(|| servers::start(JSON_API_PORT, Some(&net().pki)))
}

#[tokio::test]
async fn a_json_api_skill_through_the_registry_cli_and_audit() {
    use skillhost::registry::Narrowing;
    use skillhost::{Added, SkillHost};

    let n = net();
    let _api = json_api();
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig {
        egress: egress_config(&n.ca_file, true),
        ..HostConfig::default()
    };
    let host = SkillHost::open(&config, dir.path()).await.unwrap();
    let Added::Pending(v) = host.add(&skill_bytes("item_stats"), "owner").await.unwrap() else {
        panic!("expected pending")
    };
    assert_eq!(v.declared.requested.http, ["https://json-api.test:47443"]);
    host.approve("item-stats", &v.digest, &Narrowing::default(), "owner")
        .await
        .unwrap();

    let inv = host
        .invoke("item-stats", r#"{"tag":"tools"}"#, "agent")
        .await
        .unwrap();
    assert_eq!(
        output(&inv),
        json!({"count": 2, "total_cents": 4000, "most_expensive": "saw"})
    );
    let egress: Vec<Value> = audit_records(dir.path())
        .into_iter()
        .filter(|r| r["type"] == "egress")
        .collect();
    assert_eq!(egress.len(), 1);
    assert_eq!(egress[0]["code"], "ok");
    assert_eq!(
        egress[0]["detail"]["destination"],
        "https://json-api.test:47443"
    );
    assert_eq!(egress[0]["detail"]["status"], 200);

    // The same skill, approved without HTTP: the SDK's typed error surfaces
    // as the skill's own error code.
    let v2 = skill_bytes("item_stats");
    let v2 = variant(&v2, "no-http");
    let Added::Pending(second) = host.add(&v2, "owner").await.unwrap() else {
        panic!()
    };
    let none = Narrowing {
        http: Some(vec![]),
        ..Narrowing::default()
    };
    host.approve("item-stats", &second.digest, &none, "owner")
        .await
        .unwrap();
    let inv = host
        .invoke("item-stats", r#"{"tag":"tools"}"#, "agent")
        .await
        .unwrap();
    let err = inv.result.unwrap_err();
    assert_eq!(err.code(), codes::SKILL_ERROR);
    assert_eq!(err.to_json()["skill_code"], "fetch.egress_host_not_allowed");

    // Through the CLI, with proxy variables pointing at a server of ours:
    // the request still goes straight to the API; the proxy sees nothing.
    let proxy = servers::start(0, None);
    let config_file = dir.path().join("skillhost.toml");
    std::fs::write(&config_file, config.to_toml()).unwrap();
    let cli_dir = dir.path().join("cli");
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port());
    let out = succeeded(
        std::process::Command::new(env!("CARGO_BIN_EXE_skillhost"))
            .env("SKILLHOST_DATA_DIR", &cli_dir)
            .env("HTTPS_PROXY", &proxy_url)
            .env("https_proxy", &proxy_url)
            .env("HTTP_PROXY", &proxy_url)
            .env("ALL_PROXY", &proxy_url)
            .arg("--config")
            .arg(&config_file)
            .args(["dev"])
            .arg(skill_path("item_stats"))
            .args(["--input", r#"{"tag":"tools-proxy"}"#]),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total_cents"], 4000);
    assert_eq!(servers::requests_containing("tag=tools-proxy"), 1);
    assert_eq!(
        proxy.hits(),
        0,
        "proxy settings from the environment must be ignored"
    );
}
