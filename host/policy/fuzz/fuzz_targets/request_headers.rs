//! Property: header hygiene never panics, and whatever it accepts the HTTP
//! client accepts too (so it can never surface as a connection failure),
//! carries no CR, LF or NUL, and sets no forbidden or proxy header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skillhost_policy::request::{FORBIDDEN_HEADERS, check, check_method};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1}');
    let _ = check_method(parts.next().unwrap_or_default());
    let headers: Vec<(String, String)> = parts
        .filter_map(|p| p.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    if check(&headers, 0, 8192, 65536).is_ok() {
        for (name, value) in &headers {
            assert!(
                http::HeaderName::from_bytes(name.as_bytes()).is_ok(),
                "{name:?}"
            );
            assert!(http::HeaderValue::from_str(value).is_ok(), "{value:?}");
            assert!(!value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0));
            let lower = name.to_ascii_lowercase();
            assert!(!FORBIDDEN_HEADERS.contains(&lower.as_str()) && !lower.starts_with("proxy-"));
        }
    }
});
