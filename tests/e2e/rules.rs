//! Request rules from inside the sandbox: `http-probe` sends each row of
//! an attack table through the host to a real loopback server that records
//! the request line as it arrives. The grant is
//!
//! - `GET,HEAD http://api.test:PORT/v1/issues/`
//! - `POST http://api.test:PORT/v1/comments`
//!
//! For every refused row the server sees nothing and the code is the
//! documented one; for every allowed row the request line that arrives is
//! inside the grant: a granted method, and a path under a granted prefix at
//! a segment boundary with no traversal, doubled or encoded slash left in
//! it. Each row carries a unique marker in its query string (the query is
//! outside rules) so that rows and parallel tests cannot see each other's
//! requests.

use serde_json::json;
use skillhost::codes;

use crate::egress::{assert_refused, net, probe};
use crate::servers;

/// What a row expects: `Ok(method)` is the method the server must see.
type Expect = Result<&'static str, &'static str>;

fn grant(port: u16) -> Vec<String> {
    vec![
        format!("GET,HEAD http://api.test:{port}/v1/issues/"),
        format!("POST http://api.test:{port}/v1/comments"),
    ]
}

/// An arrived target is inside the grant, judged without the host's own
/// matcher: the literal prefixes, and none of the forms a server could
/// read as another path.
fn inside_grant(method: &str, target: &str) -> bool {
    let path = decode_unreserved(target.split('?').next().unwrap_or_default());
    let path = path.as_str();
    let lower = path.to_ascii_lowercase();
    let clean = !path.contains("//")
        && !path.contains("/../")
        && !path.ends_with("/..")
        && !path.contains("/./")
        && !path.contains('\\')
        && !lower.contains("%2f")
        && !lower.contains("%5c")
        && !lower.contains("%2e");
    let under = match method {
        "GET" | "HEAD" => path.starts_with("/v1/issues/"),
        "POST" => path == "/v1/comments" || path.starts_with("/v1/comments/"),
        _ => false,
    };
    clean && under
}

#[tokio::test]
async fn the_path_and_method_attack_table_from_inside_the_sandbox() {
    let port = net().plain.port();
    let base = format!("http://api.test:{port}");
    let ok = |m: &'static str| -> Expect { Ok(m) };
    let path = Err(codes::EGRESS_PATH_NOT_ALLOWED);
    let method = Err(codes::EGRESS_METHOD_NOT_ALLOWED);
    let bad_method = Err(codes::EGRESS_BAD_METHOD);
    // (method, URL after the origin, or a whole URL when it starts with
    // "http", expectation)
    let rows: Vec<(&str, &str, Expect)> = vec![
        // Inside the grant.
        ("GET", "/v1/issues/7", ok("GET")),
        ("GET", "/v1/issues/", ok("GET")),
        ("HEAD", "/v1/issues/7", ok("HEAD")),
        ("POST", "/v1/comments", ok("POST")),
        ("POST", "/v1/comments/9", ok("POST")),
        ("GET", "/v1/%69ssues/7", ok("GET")),
        ("GET", "/v1/issues/%C3%A9", ok("GET")),
        ("GET", "/v1/issues/é", ok("GET")),
        ("GET", "/v1/issues/7;x=1", ok("GET")),
        ("GET", "/v1/issues/%252e%252e/admin", path),
        ("GET", "/v1/issues/%25%32e%25%32e/admin", path),
        ("GET", "/v1/issues/%EF%BC%8E%EF%BC%8E/admin", path),
        ("GET", "/v1/issues/a%EF%BC%8Fb", path),
        // The URL parser resolves these before the rule sees the path;
        // what is checked is what is sent.
        ("GET", "/v1/./issues/7", ok("GET")),
        ("GET", "/v1/issues/%2e/7", ok("GET")),
        ("GET", "/v1/issues/a/../7", ok("GET")),
        ("GET", "/v1/is\tsues/7", ok("GET")),
        ("GET", "/v1/issues/7#../../admin", ok("GET")),
        // Traversal out of the prefix.
        ("GET", "/v1/issues/../admin", path),
        ("GET", "/v1/issues/%2e%2e/admin", path),
        ("GET", "/v1/issues/%2E%2E/admin", path),
        ("GET", "/v1/issues/.%2e/admin", path),
        ("GET", "/v1/issues/%2e./admin", path),
        ("GET", "/v1/issues/..", path),
        ("GET", "/v1/issues/...", path),
        ("GET", "/v1/issues/..%2fadmin", path),
        ("GET", "/v1/issues/..%2Fadmin", path),
        ("GET", "/v1/issues/x/%2e%2e%2f%2e%2e/admin", path),
        ("GET", "/v1/issues/..;/admin", path),
        ("GET", "/v1/issues/..;x/admin", path),
        ("GET", "/v1/issues/..%3b/admin", path),
        ("GET", "/v1/issues/%2e%2e%3B/admin", path),
        ("GET", "/v1/issues/..%20/admin", path),
        // Encoded and doubled slashes, backslashes.
        ("GET", "/v1/issues%2F7", path),
        ("GET", "/v1/issues/%2fadmin", path),
        ("GET", "/v1/issues//7", path),
        ("GET", "//v1/issues/7", path),
        ("GET", "/v1/issues\\..\\admin", path),
        ("GET", "/v1/issues/..\\admin", path),
        ("GET", "/v1/issues/..%5cadmin", path),
        ("GET", "/v1/issues/%5C7", path),
        // Overlong UTF-8 and control characters.
        ("GET", "/v1/issues/%C0%AE%C0%AE/admin", path),
        ("GET", "/v1/issues/%C0%AF", path),
        ("GET", "/v1/issues/%E0%80%AE", path),
        ("GET", "/v1/issues/%ED%A0%80", path),
        ("GET", "/v1/issues/%00", path),
        ("GET", "/v1/issues/%0d%0aX:y", path),
        ("GET", "/v1/issues/%", path),
        // A prefix without its boundary, case, parameters.
        ("GET", "/v1/issues", path),
        ("GET", "/v1/issuesX", path),
        ("GET", "/v1/issues../x", path),
        ("GET", "/V1/issues/7", path),
        ("GET", "/v1/ISSUES/7", path),
        ("GET", "/v1;/issues/7", path),
        ("GET", "/v1/issues;/7", path),
        ("GET", "/admin", path),
        ("GET", "/", path),
        ("POST", "/v1/commentsX", path),
        ("POST", "/v1/comments;x", path),
        // A method granted on the origin, but not for this path.
        ("POST", "/v1/issues/7", path),
        ("GET", "/v1/comments", path),
        // Methods the grant does not hold, and odd methods.
        ("DELETE", "/v1/issues/7", method),
        ("PUT", "/v1/comments", method),
        ("PATCH", "/v1/issues/7", method),
        ("OPTIONS", "/v1/issues/7", method),
        ("get", "/v1/issues/7", bad_method),
        ("Get", "/v1/issues/7", bad_method),
        ("GET ", "/v1/issues/7", bad_method),
        ("PROPFIND", "/v1/issues/7", bad_method),
        ("TRACE", "/v1/issues/7", bad_method),
        ("CONNECT", "/v1/issues/7", bad_method),
        ("G\u{0}ET", "/v1/issues/7", bad_method),
        ("GET /admin HTTP/1.1\r\nX:", "/v1/issues/7", bad_method),
        // Authority and absolute-form tricks.
        ("GET", "/http://evil.test/v1/issues/", path),
        ("GET", "/v1/issues/http://evil.test/", path),
        ("GET", "#@evil.test/v1/issues/", path),
    ];
    let whole: Vec<(&str, String, Expect)> = vec![
        (
            "GET",
            format!("http://api.test:{port}@evil.test/v1/issues/7"),
            Err(codes::EGRESS_USERINFO),
        ),
        (
            "GET",
            "http://evil.test/v1/issues/7".to_string(),
            Err(codes::EGRESS_HOST_NOT_ALLOWED),
        ),
        (
            "GET",
            format!("https://api.test:{port}/v1/issues/7"),
            Err(codes::EGRESS_SCHEME_NOT_ALLOWED),
        ),
        (
            "GET",
            "http://api.test:1/v1/issues/7".to_string(),
            Err(codes::EGRESS_PORT_NOT_ALLOWED),
        ),
        (
            "GET",
            format!("http://API.TEST:{port}/v1/issues/7"),
            ok("GET"),
        ),
    ];
    let all = rows
        .into_iter()
        .map(|(m, u, e)| (m, format!("{base}{u}"), e))
        .chain(whole);
    let mut count = 0;
    for (i, (method_name, url, expect)) in all.enumerate() {
        count += 1;
        let marker = format!("m=rule-row-{i}-");
        // The marker goes in the query, before any fragment.
        let url = match url.split_once('#') {
            Some((before, frag)) => format!("{}{}{marker}#{frag}", before, sep(before)),
            None => format!("{url}{}{marker}", sep(&url)),
        };
        let out = probe(&grant(port), json!({ "url": url, "method": method_name })).await;
        let arrived = servers::request_lines_containing(&marker);
        match expect {
            Err(code) => {
                assert_refused(&out, code);
                assert!(
                    arrived.is_empty(),
                    "{method_name:?} {url}: the server saw {arrived:?}"
                );
            }
            Ok(want) => {
                assert_eq!(out["outcome"], "response", "{method_name:?} {url}: {out}");
                assert_eq!(arrived.len(), 1, "{method_name:?} {url}: {arrived:?}");
                let mut parts = arrived[0].split(' ');
                let (_host, m, target) = (parts.next(), parts.next(), parts.next());
                let (m, target) = (m.unwrap_or_default(), target.unwrap_or_default());
                assert_eq!(m, want, "{url}: {arrived:?}");
                assert!(inside_grant(m, target), "{url} arrived as {arrived:?}");
            }
        }
    }
    assert!(count >= 75, "{count} rows");
}

/// The path as a server reads it once it decodes escapes of unreserved
/// characters (`%69` is `i`, `%2e` is `.`); other escapes stay.
fn decode_unreserved(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
            && (v.is_ascii_alphanumeric() || b"-._~".contains(&v))
        {
            out.push(v as char);
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

#[tokio::test]
async fn method_and_url_override_headers_never_leave() {
    let port = net().plain.port();
    for (i, name) in [
        "X-HTTP-Method-Override",
        "x-http-method",
        "X-Method-Override",
        "X-Original-Method",
        "X-Original-URL",
        "X-Rewrite-URL",
        "X-Override-URL",
    ]
    .iter()
    .enumerate()
    {
        let marker = format!("m=rule-override-{i}");
        let value = if name.to_ascii_lowercase().contains("url") {
            "/admin"
        } else {
            "DELETE"
        };
        let out = probe(
            &grant(port),
            json!({
                "url": format!("http://api.test:{port}/v1/comments?{marker}"),
                "method": "POST",
                "headers": [[name, value]],
            }),
        )
        .await;
        assert_refused(&out, codes::EGRESS_BAD_HEADER);
        assert!(
            servers::request_lines_containing(&marker).is_empty(),
            "{name}"
        );
    }
}

fn sep(url: &str) -> &'static str {
    if url.contains('?') { "&" } else { "?" }
}

#[tokio::test]
async fn a_bare_origin_grant_still_allows_every_path_and_method() {
    let port = net().plain.port();
    let bare = vec![format!("http://api.test:{port}")];
    for (method, path) in [
        ("GET", "/anything/at/all"),
        ("DELETE", "/v1/issues/7"),
        ("PUT", "/a%2Fb"),
        ("OPTIONS", "/x//y"),
    ] {
        let marker = format!("m=rule-bare-{method}");
        let url = format!("http://api.test:{port}{path}?{marker}");
        let out = probe(&bare, json!({ "url": url, "method": method })).await;
        assert_eq!(out["outcome"], "response", "{method} {path}: {out}");
        assert_eq!(
            servers::request_lines_containing(&marker).len(),
            1,
            "{method} {path}"
        );
    }
}

/// `item-stats` asks for the bare origin of its API. The owner narrows it
/// at approval to the one call the skill needs; other narrowings refuse
/// the skill's request with the new codes, and nothing wider is accepted.
#[tokio::test]
async fn an_owner_narrows_a_bare_origin_to_one_call_at_approval() {
    use crate::common::*;
    use skillhost::registry::Narrowing;
    use skillhost::{Added, HostConfig, SkillHost};

    let n = net();
    let _api = crate::egress::json_api();
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig {
        egress: crate::egress::egress_config(&n.ca_file, true),
        ..HostConfig::default()
    };
    let host = SkillHost::open(&config, dir.path()).await.unwrap();
    let bytes = skill_bytes("item_stats");
    let narrowing = |rules: &[&str]| Narrowing {
        http: Some(rules.iter().map(|r| r.to_string()).collect()),
        ..Narrowing::default()
    };
    let cases: [(&str, &[&str], Option<&str>); 4] = [
        ("exact", &["get https://JSON-API.test:47443/v1/items"], None),
        (
            "method",
            &["POST https://json-api.test:47443/v1/items"],
            Some("egress_method_not_allowed"),
        ),
        (
            "path",
            &["GET https://json-api.test:47443/v1/other/"],
            Some("egress_path_not_allowed"),
        ),
        (
            "boundary",
            &["GET https://json-api.test:47443/v1/item"],
            Some("egress_path_not_allowed"),
        ),
    ];
    for (label, rules, refused) in cases {
        let Added::Pending(v) = host.add(&variant(&bytes, label), "owner").await.unwrap() else {
            panic!("expected pending")
        };
        let approved = host
            .approve("item-stats", &v.digest, &narrowing(rules), "owner")
            .await
            .unwrap();
        // Granted in normalised form, as the review shows it.
        let shown = skillhost::review_destination(rules[0]).destination.unwrap();
        assert_eq!(approved.granted.unwrap().http, [shown], "{label}");
        let inv = host
            .invoke(
                "item-stats",
                &format!(r#"{{"tag":"tools-narrow-{label}"}}"#),
                "agent",
            )
            .await
            .unwrap();
        let arrived = servers::requests_containing(&format!("tag=tools-narrow-{label}"));
        match refused {
            None => {
                assert_eq!(output(&inv)["total_cents"], 4000, "{label}");
                assert_eq!(arrived, 1, "{label}");
            }
            Some(code) => {
                let err = inv.result.unwrap_err();
                assert_eq!(
                    err.to_json()["skill_code"],
                    format!("fetch.{code}"),
                    "{label}"
                );
                assert_eq!(arrived, 0, "{label}: the API saw the refused request");
            }
        }
    }
    // Wider than the request, or not a rule: refused, nothing changes.
    let Added::Pending(v) = host.add(&variant(&bytes, "wider"), "owner").await.unwrap() else {
        panic!()
    };
    for wider in [
        "https://json-api.test:8443",
        "GET http://json-api.test:47443/v1/items",
        "GET https://json-api.test:47443/v1/items/../../admin",
    ] {
        let err = host
            .approve("item-stats", &v.digest, &narrowing(&[wider]), "owner")
            .await
            .unwrap_err();
        assert_eq!(err.code(), codes::REGISTRY_GRANT_EXCEEDS_REQUEST, "{wider}");
    }
}
