//! Request hygiene: what a skill may put in a request's method, headers and
//! body. Anything that could smuggle a second request, steer a proxy or
//! override the checked destination is refused, and so is anything the HTTP
//! client itself would reject (control characters other than tab), so such a
//! request is `egress.bad_header`, never a failed connection.

/// Methods a skill may use.
pub const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Headers a skill may never set: the destination (`host`), framing
/// (`content-length`, `transfer-encoding`), hop-by-hop and proxy headers,
/// and the method and URL overrides common frameworks honour, which would
/// carry a request past a rule's methods or path prefix.
pub const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-method",
    "x-original-url",
    "x-rewrite-url",
    "x-override-url",
];

/// Most headers in one request.
pub const MAX_HEADERS: usize = 64;

/// Why a request's shape was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hygiene {
    Method(String),
    Header(String),
    BodyTooLarge { size: u64, limit: u64 },
}

/// Check the method against [`METHODS`] (exact, upper-case).
pub fn check_method(method: &str) -> Result<http::Method, Hygiene> {
    if !METHODS.contains(&method) {
        return Err(Hygiene::Method(format!(
            "method {:?} is not allowed; use one of {}",
            method.escape_debug().to_string(),
            METHODS.join(", ")
        )));
    }
    http::Method::from_bytes(method.as_bytes())
        .map_err(|_| Hygiene::Method("invalid method".into()))
}

/// Check headers and body size.
pub fn check(
    headers: &[(String, String)],
    body_len: u64,
    max_header_bytes: u64,
    max_body_bytes: u64,
) -> Result<(), Hygiene> {
    if headers.len() > MAX_HEADERS {
        return Err(Hygiene::Header(format!("at most {MAX_HEADERS} headers")));
    }
    let mut total = 0u64;
    for (name, value) in headers {
        // `http` accepts exactly the RFC 9110 token characters (upper case
        // folded), and refuses an empty name: the client's own test.
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(Hygiene::Header(format!(
                "header name {:?} is not a valid token",
                name.escape_debug().to_string()
            )));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(Hygiene::Header(format!(
                "header {name} has CR, LF or NUL in its value"
            )));
        }
        // The exact test the client applies when it builds the request, so
        // nothing refused here can surface later as a connection failure.
        if http::HeaderValue::from_str(value).is_err() {
            let bad = value
                .bytes()
                .find(|b| b.is_ascii_control() && *b != b'\t')
                .unwrap_or_default();
            return Err(Hygiene::Header(format!(
                "header {name} has a control character (0x{bad:02x}) in its value"
            )));
        }
        let lower = name.to_ascii_lowercase();
        if FORBIDDEN_HEADERS.contains(&lower.as_str()) || lower.starts_with("proxy-") {
            return Err(Hygiene::Header(format!(
                "header {lower} may not be set by a skill"
            )));
        }
        total += (name.len() + value.len()) as u64;
    }
    if total > max_header_bytes {
        return Err(Hygiene::Header(format!(
            "headers are {total} bytes; the limit is {max_header_bytes}"
        )));
    }
    if body_len > max_body_bytes {
        return Err(Hygiene::BodyTooLarge {
            size: body_len,
            limit: max_body_bytes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> Vec<(String, String)> {
        vec![(name.into(), value.into())]
    }

    #[test]
    fn plain_requests_pass() {
        assert!(check_method("GET").is_ok());
        assert!(check(&h("accept", "application/json"), 0, 8192, 100).is_ok());
        assert!(check(&h("X-Custom-1", "a b c"), 100, 8192, 100).is_ok());
    }

    #[test]
    fn smuggling_and_steering_are_refused() {
        let bad: &[(&str, &str)] = &[
            ("x", "a\r\nHost: evil"),
            ("x", "a\nb"),
            ("x", "a\0b"),
            ("x\r\nHost", "evil"),
            ("bad name", "v"),
            ("", "v"),
            ("Host", "evil.example"),
            ("HOST", "evil.example"),
            ("Content-Length", "0"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "close"),
            ("Upgrade", "websocket"),
            ("Proxy-Authorization", "Basic x"),
            ("proxy-anything", "x"),
            ("X-Forwarded-For", "127.0.0.1"),
        ];
        for (name, value) in bad {
            assert!(
                matches!(
                    check(&h(name, value), 0, 8192, 100),
                    Err(Hygiene::Header(_))
                ),
                "{name:?}: {value:?}"
            );
        }
    }

    #[test]
    fn header_names_are_exactly_rfc_9110_tokens() {
        // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "."
        //       / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
        let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        // Every character up to U+00FF, alone and inside a name (above
        // U+007F its UTF-8 bytes are not tokens either).
        for c in (0..=255u8).map(char::from) {
            for name in [c.to_string(), format!("x{c}y")] {
                let refused = matches!(
                    check(&h(&name, "v"), 0, 8192, 100),
                    Err(Hygiene::Header(ref m)) if m.contains("is not a valid token")
                );
                assert_eq!(refused, !name.bytes().all(tchar), "{name:?}");
            }
        }
        for bad in [
            "",
            " x",
            "x ",
            "x:y",
            "x\ty",
            "(x)",
            "\"x\"",
            "caf\u{e9}",
            "x\u{7f}",
        ] {
            let e = check(&h(bad, "v"), 0, 8192, 100).unwrap_err();
            assert_eq!(
                e,
                Hygiene::Header(format!(
                    "header name {:?} is not a valid token",
                    bad.escape_debug().to_string()
                ))
            );
        }
        assert!(check(&h("X-Custom_1.v2~!#$%&'*+^`|", "v"), 0, 8192, 100).is_ok());
    }

    #[test]
    fn every_control_character_in_a_value_is_refused() {
        // Every byte the client would reject must be refused here, as a bad
        // header, before anything is sent; tab is the one allowed control.
        for b in (0u8..0x20).chain([0x7f]) {
            let value = format!("a{}b", b as char);
            let result = check(&h("x-test", &value), 0, 8192, 100);
            if b == b'\t' {
                assert!(result.is_ok(), "tab must stay allowed");
            } else {
                assert!(
                    matches!(result, Err(Hygiene::Header(_))),
                    "byte 0x{b:02x} was accepted"
                );
            }
        }
        for value in ["\u{1}", "x\u{7f}", "\u{1b}[31m", "trailing\u{1f}"] {
            assert!(
                matches!(check(&h("x", value), 0, 8192, 100), Err(Hygiene::Header(_))),
                "{value:?}"
            );
        }
        // What passes here, the client accepts.
        for value in ["plain", "with\ttab", "caf\u{e9}", "  spaced  ", ""] {
            assert!(check(&h("x", value), 0, 8192, 100).is_ok(), "{value:?}");
            assert!(http::HeaderValue::from_str(value).is_ok());
        }
    }

    #[test]
    fn methods_sizes_and_counts() {
        for m in ["CONNECT", "TRACE", "get", "GET ", "G\r\nET", ""] {
            assert!(matches!(check_method(m), Err(Hygiene::Method(_))), "{m:?}");
        }
        assert!(matches!(
            check(&[], 101, 8192, 100),
            Err(Hygiene::BodyTooLarge { .. })
        ));
        let big = h("x", &"v".repeat(9000));
        assert!(matches!(check(&big, 0, 8192, 100), Err(Hygiene::Header(_))));
        let many: Vec<_> = (0..65)
            .map(|i| (format!("x-{i}"), "v".to_string()))
            .collect();
        assert!(matches!(
            check(&many, 0, 8192, 100),
            Err(Hygiene::Header(_))
        ));
    }
}
