//! Finding a secret in what comes back: the raw value and the encodings a
//! server or a skill could use to smuggle it out — base64 (standard and
//! URL-safe, at every alignment inside a longer encoded string, which
//! covers derived forms such as Basic auth), hex (either case) and
//! URL-encoding.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Shortest value the vault accepts: shorter ones cannot be redacted
/// without also erasing ordinary text.
pub const MIN_SECRET_LEN: usize = 8;

/// Every form of `value` to look for, longest first.
pub fn forms(value: &str) -> Vec<Vec<u8>> {
    let bytes = value.as_bytes();
    let mut out: Vec<Vec<u8>> = vec![bytes.to_vec()];
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        // The value at any offset of a longer buffer: skip 0-2 bytes so it
        // starts on a 3-byte group, keep whole groups. That run of base64
        // appears in every encoding of every text containing the value.
        for skip in 0..3 {
            if bytes.len() < skip + 3 {
                continue;
            }
            let whole = (bytes.len() - skip) / 3 * 3;
            out.push(engine.encode(&bytes[skip..skip + whole]).into_bytes());
        }
        out.push(engine.encode(bytes).into_bytes());
    }
    out.push(hex::encode(bytes).into_bytes());
    out.push(hex::encode_upper(bytes).into_bytes());
    let form: String = url::form_urlencoded::byte_serialize(bytes).collect();
    out.push(form.clone().into_bytes());
    out.push(form.replace('+', "%20").into_bytes());
    out.retain(|f| f.len() >= 4);
    out.sort_by_key(|f| std::cmp::Reverse(f.len()));
    out.dedup();
    out
}

/// Replace every form of `value` in `data` with `[REDACTED:NAME]`; returns
/// how many replacements were made.
pub fn redact_bytes(data: &mut Vec<u8>, name: &str, value: &str) -> usize {
    let marker = format!("[REDACTED:{name}]").into_bytes();
    let mut count = 0;
    for form in forms(value) {
        let mut out = Vec::with_capacity(data.len());
        let mut i = 0;
        let mut hit = false;
        while i < data.len() {
            if data[i..].starts_with(&form) {
                out.extend_from_slice(&marker);
                i += form.len();
                count += 1;
                hit = true;
            } else {
                out.push(data[i]);
                i += 1;
            }
        }
        if hit {
            *data = out;
        }
    }
    count
}

/// [`redact_bytes`] for text.
pub fn redact_text(text: &mut String, name: &str, value: &str) -> usize {
    let mut bytes = std::mem::take(text).into_bytes();
    let n = redact_bytes(&mut bytes, name, value);
    *text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const SECRET: &str = "sk-live-4Qe9Zx7TmW2p";

    fn scrub(text: &str) -> (String, usize) {
        let mut t = text.to_string();
        let n = redact_text(&mut t, "TOKEN", SECRET);
        (t, n)
    }

    #[test]
    fn raw_hex_and_url_encoded_forms() {
        for leak in [
            SECRET.to_string(),
            hex::encode(SECRET),
            hex::encode_upper(SECRET),
            url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect::<String>(),
        ] {
            let (out, n) = scrub(&format!("before {leak} after"));
            assert!(n >= 1 && !out.contains(&leak), "{leak}: {out}");
        }
    }

    #[test]
    fn base64_at_every_alignment_including_basic_auth() {
        for prefix in ["", "a", "ab", "abc", "user:", "Bearer ", "x"] {
            let encoded = STANDARD.encode(format!("{prefix}{SECRET}trailing"));
            let (out, n) = scrub(&format!("Authorization: Basic {encoded}"));
            assert!(n >= 1, "{prefix:?}: {out}");
            // What is left cannot be decoded back to the secret.
            let rest = out.replace("[REDACTED:TOKEN]", "");
            assert!(
                !rest.contains(&STANDARD.encode(SECRET)[..8]),
                "{prefix:?}: {out}"
            );
        }
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let (out, n) = scrub("nothing to see here");
        assert_eq!((out.as_str(), n), ("nothing to see here", 0));
    }
}
