//! Every covered form, generated here independently of the decoders.

use super::*;
use crate::canon::{CanonError, canonical_json};

const PLAIN: &str = "sk-test-9f8e7d6c5b4a3921";
/// A value JSON and HTML must escape.
const AWKWARD: &str = r#"Ab"c\d<e>&f'g-Xy9_long+/=value"#;

fn scanner(value: &str) -> Scanner {
    Scanner::new([("TOKEN", value.as_bytes())]).unwrap()
}

fn b64(alphabet: &[u8; 64], data: &[u8], pad: bool) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = u32::from(chunk[0]) << 16
            | u32::from(*chunk.get(1).unwrap_or(&0)) << 8
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..=n {
            out.push(alphabet[(v >> (18 - 6 * k) & 63) as usize] as char);
        }
        if pad {
            for _ in n..3 {
                out.push('=');
            }
        }
    }
    out
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn wrap(s: &str, width: usize, eol: &str) -> String {
    s.as_bytes()
        .chunks(width)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(eol)
}

fn pct(s: &str, upper: bool, plus: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' if plus => "+".to_string(),
            b if b.is_ascii_alphanumeric() && b != b'e' => (b as char).to_string(),
            b if upper => format!("%{b:02X}"),
            b => format!("%{b:02x}"),
        })
        .collect()
}

fn qp(s: &str) -> String {
    let mut line = String::new();
    let mut out = String::new();
    for b in s.bytes() {
        let piece = if b == b'=' || !(33..127).contains(&b) || b % 3 == 0 {
            format!("={b:02X}")
        } else {
            (b as char).to_string()
        };
        if line.len() + piece.len() > 10 {
            out.push_str(&line);
            out.push_str("=\r\n");
            line.clear();
        }
        line.push_str(&piece);
    }
    out + &line
}

fn html_forms(s: &str) -> Vec<String> {
    let named = s
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;");
    let dec: String = s.chars().map(|c| format!("&#{};", c as u32)).collect();
    let hex: String = s.chars().map(|c| format!("&#x{:X};", c as u32)).collect();
    vec![named, dec, hex]
}

fn json_forms(s: &str) -> Vec<String> {
    let standard = serde_json::to_string(s).unwrap();
    let all_u: String = s.chars().map(|c| format!("\\u{:04x}", c as u32)).collect();
    let slash = standard.replace('/', "\\/");
    vec![standard, all_u, slash]
}

fn hex_forms(data: &[u8]) -> Vec<String> {
    let pairs: Vec<String> = data.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        pairs.concat(),
        pairs.concat().to_uppercase(),
        pairs.join(":"),
        pairs.join(" ").to_uppercase(),
        pairs.join("-"),
        pairs.iter().map(|p| format!("\\x{p}")).collect(),
        pairs
            .iter()
            .map(|p| format!("0x{p}"))
            .collect::<Vec<_>>()
            .join(" "),
        pairs
            .iter()
            .map(|p| format!("0x{p}"))
            .collect::<Vec<_>>()
            .join(","),
    ]
}

fn utf16_forms(s: &str) -> Vec<Vec<u8>> {
    let le: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
    vec![
        le.clone(),
        be.clone(),
        [&[0xff, 0xfe][..], &le].concat(),
        [&[0xfe, 0xff][..], &be].concat(),
    ]
}

/// Every covered spelling of `s`, as bytes.
fn forms(s: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |what: &str, v: Vec<u8>| out.push((what.to_string(), v));
    add("raw", s.into());
    add("upper", s.to_uppercase().into());
    add("lower", s.to_lowercase().into());
    for (i, f) in json_forms(s).into_iter().enumerate() {
        add(&format!("json{i}"), f.into());
    }
    for (i, f) in html_forms(s).into_iter().enumerate() {
        add(&format!("html{i}"), f.into());
    }
    add("pct-upper", pct(s, true, false).into());
    add("pct-lower", pct(s, false, false).into());
    add("pct-plus", pct(&format!("a b {s}"), true, true).into());
    add("pct-double", pct(&pct(s, true, false), true, false).into());
    add("qp", qp(s).into());
    for prefix in ["", "a", "ab", "user:", "Bearer "] {
        let data = format!("{prefix}{s}");
        let std = b64(STD, data.as_bytes(), true);
        add(&format!("b64 {prefix:?}"), std.clone().into());
        add(
            &format!("b64url {prefix:?}"),
            b64(URL, data.as_bytes(), false).into(),
        );
        add(
            &format!("b64 wrap64 {prefix:?}"),
            wrap(&std, 64, "\n").into(),
        );
        add(
            &format!("b64 wrap76 {prefix:?}"),
            wrap(&std, 76, "\r\n").into(),
        );
        add(&format!("b64 wrap4 {prefix:?}"), wrap(&std, 4, " ").into());
    }
    for (i, f) in hex_forms(s.as_bytes()).into_iter().enumerate() {
        add(&format!("hex{i}"), f.into());
    }
    for (i, f) in utf16_forms(s).into_iter().enumerate() {
        add(&format!("utf16-{i}"), f);
    }
    // Two layers: JSON-escaped base64 (with `\/`), percent-encoded base64.
    let std = b64(STD, format!("user:{s}").as_bytes(), true);
    add("json(b64)", json_forms(&std)[2].clone().into());
    add("pct(b64)", pct(&std, true, false).into());
    add(
        "html(pct)",
        html_forms(&pct(s, true, false))[0].clone().into(),
    );
    out
}

fn partials(s: &str) -> Vec<(String, Vec<u8>)> {
    let run = partial_run(s.len());
    let mid = (s.len() - run) / 2;
    vec![
        ("head".into(), s[..run].into()),
        ("middle".into(), s[mid..mid + run].into()),
        ("tail".into(), s[s.len() - run..].into()),
        (
            "tail b64".into(),
            b64(STD, &s.as_bytes()[s.len() - run..], true).into(),
        ),
        ("head upper".into(), s[..run].to_uppercase().into()),
    ]
}

fn embed(form: &[u8]) -> Vec<u8> {
    [&b"{\"data\": \"before "[..], form, b" after\"}"].concat()
}

#[test]
fn every_form_is_found_and_none_survives_redaction() {
    for secret in [PLAIN, AWKWARD] {
        let sc = scanner(secret);
        for (what, form) in forms(secret).into_iter().chain(partials(secret)) {
            let mut data = embed(&form);
            assert!(!sc.hits(&data).is_empty(), "{secret}: {what} not found");
            let found = sc.redact(&mut data);
            assert_eq!(found[0].name, "TOKEN", "{what}");
            assert!(
                sc.hits(&data).is_empty(),
                "{secret}: {what} survives: {:?}",
                String::from_utf8_lossy(&data)
            );
            // Independently of the scanner: no generated form is left.
            for (other, f) in forms(secret) {
                assert!(
                    !data.windows(f.len()).any(|w| w.eq_ignore_ascii_case(&f)),
                    "{what}: {other} left in {:?}",
                    String::from_utf8_lossy(&data)
                );
            }
            let text = String::from_utf8_lossy(&data);
            assert!(text.contains("[REDACTED:TOKEN]"), "{what}: {text}");
        }
    }
}

#[test]
fn ordinary_text_and_short_fragments_are_left_alone() {
    let sc = scanner(PLAIN);
    for text in [
        "nothing to see here",
        "sk-test-9f8", // 11 bytes: shorter than a partial run
        "{\"items\":[1,2,3],\"next\":null}",
        "dGhlIHF1aWNrIGJyb3duIGZveA==",
        "0123456789abcdef0123456789abcdef",
    ] {
        let mut data = text.as_bytes().to_vec();
        assert!(sc.redact(&mut data).is_empty(), "{text}");
        assert_eq!(data, text.as_bytes());
    }
}

#[test]
fn several_secrets_are_told_apart() {
    let sc = Scanner::new([("A", PLAIN.as_bytes()), ("B", AWKWARD.as_bytes())]).unwrap();
    let mut text = format!("x {PLAIN} y {} z", b64(STD, AWKWARD.as_bytes(), true));
    let found = sc.redact_text(&mut text);
    assert_eq!(text, "x [REDACTED:A] y [REDACTED:B] z");
    assert_eq!(found.len(), 2);
    assert_eq!(sc.found_in(AWKWARD.as_bytes()), vec![1]);
}

#[test]
fn a_cut_redacts_first_and_never_leaves_a_prefix() {
    let sc = scanner(PLAIN);
    // The secret straddles the cap: redaction first means none of it stays.
    let text = format!("{}{PLAIN}", "x".repeat(90));
    for max in 91..100 {
        let (cut, found) = sc.redact_and_cut(&text, max);
        assert!(cut.len() <= max);
        assert_eq!(found.len(), 1, "{max}");
        assert!(!cut.contains("sk-t"), "{max}: {cut}");
    }
    // A short copy (below the partial run) at the cut is still trimmed.
    let text = format!("{}{}", "x".repeat(20), &PLAIN[..10]);
    let (cut, _) = sc.redact_and_cut(&format!("{text}-tail"), 30);
    assert_eq!(cut, "x".repeat(20));
    // Without a cut nothing is trimmed.
    let (whole, _) = sc.redact_and_cut("short", 100);
    assert_eq!(whole, "short");
}

#[test]
fn canonical_output_has_no_escape_spelling_left() {
    let sc = scanner(PLAIN);
    let escaped: String = PLAIN
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let raw = format!(r#"{{"a": "{escaped}", "{PLAIN}": [1, "x\/y"], "n": 1.5}}"#);
    let (canon, found) = canonical_json(&sc, &raw).unwrap();
    assert_eq!(
        canon,
        r#"{"[REDACTED:TOKEN]":[1,"x/y"],"a":"[REDACTED:TOKEN]","n":1.5}"#
    );
    assert_eq!(found[0].count, 2);
    // What the host cannot parse is an error, never null.
    let deep = "[".repeat(200) + &"]".repeat(200);
    for bad in ["{nope", "1e400", deep.as_str(), ""] {
        assert!(
            matches!(canonical_json(&sc, bad), Err(CanonError::NotJson(_))),
            "{bad}"
        );
    }
}

#[test]
fn short_secrets_use_half_their_length() {
    assert_eq!(partial_run(8), 4);
    assert_eq!(partial_run(9), 5);
    assert_eq!(partial_run(24), 12);
    assert_eq!(partial_run(4096), 12);
}

#[test]
fn canonical_numbers_are_a_fixpoint() {
    // Found by the canon_output fuzzer: without round-trip float parsing,
    // re-reading the canonical text gave another number.
    let sc = scanner(PLAIN);
    for n in [
        "34010873191084037483335",
        "3.401087319108404e22",
        "0.1",
        "-0",
        "1e300",
    ] {
        let (once, _) = canonical_json(&sc, n).unwrap();
        let (twice, _) = canonical_json(&sc, &once).unwrap();
        assert_eq!(once, twice, "{n}");
    }
}
