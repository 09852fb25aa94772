//! What a guest may say about its own failure.
//!
//! A skill's error code reaches callers as `skill_code`, beside the host's
//! own `code` (always `skill.error` then). So that no caller can mistake a
//! guest's words for the host's, a skill code has a grammar — lower-case
//! ASCII segments (`[a-z][a-z0-9_]*`) joined by dots, at most
//! [`MAX_SKILL_CODE_BYTES`] — and may not start with a namespace the host
//! uses. The reserved namespaces are derived from [`codes::ALL`], so a
//! namespace added there is reserved here at once. A code that breaks the
//! rule is dropped (the caller sees `skill.error` with no `skill_code`) and
//! the host logs why.

use crate::codes;

use super::MAX_SKILL_CODE_BYTES;

/// Namespaces reserved beyond those in the codes table.
const ALSO_RESERVED: &[&str] = &["host", "ok"];

/// Why a skill code was refused, for the host's log record.
pub fn refusal(code: &str) -> Option<String> {
    if code.len() > MAX_SKILL_CODE_BYTES {
        return Some(format!(
            "it is {} bytes; the limit is {MAX_SKILL_CODE_BYTES}",
            code.len()
        ));
    }
    let segment_ok = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    if !code.split('.').all(segment_ok) {
        return Some(
            "a skill code is lower-case segments ([a-z][a-z0-9_]*) joined by dots".to_string(),
        );
    }
    let namespace = code.split('.').next().unwrap_or_default();
    if is_reserved(namespace) {
        return Some(format!(
            "`{namespace}` is a host namespace; a skill may not use it"
        ));
    }
    None
}

/// Whether `namespace` (the part before the first dot) belongs to the host.
pub fn is_reserved(namespace: &str) -> bool {
    ALSO_RESERVED.contains(&namespace)
        || codes::ALL
            .iter()
            .any(|(code, _)| code.split('.').next() == Some(namespace))
}

/// Control characters in a skill's message, escaped visibly (`\u{1b}`), so
/// a message can neither forge lines nor hide text. Tab stays as it is.
pub fn escape_controls(message: &str) -> String {
    if !message.chars().any(|c| c.is_control() && c != '\t') {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if c.is_control() && c != '\t' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_skill_codes_pass() {
        for ok in [
            "top_too_large",
            "invalid_input",
            "github.rate_limited",
            "fetch.egress_timeout",
            "a1.b_2",
        ] {
            assert_eq!(refusal(ok), None, "{ok}");
        }
    }

    #[test]
    fn lookalikes_of_host_codes_and_malformed_codes_are_refused() {
        let long = "a".repeat(10_000);
        let mut bad: Vec<String> = codes::ALL.iter().map(|(c, _)| c.to_string()).collect();
        bad.extend(
            [
                "limits.timeout\n{\"code\":\"ok\"}",
                "ok",
                "host.internal",
                "host",
                "Limits.timeout",
                "{\"code\":\"limits.timeout\"}",
                "",
                ".x",
                "x.",
                "x..y",
                "x y",
                "x\u{7f}",
                "1abc",
                "rate.limited",
                long.as_str(),
            ]
            .map(String::from),
        );
        for code in &bad {
            assert!(refusal(code).is_some(), "{code:?} was accepted");
        }
    }

    #[test]
    fn every_namespace_in_the_codes_table_is_reserved() {
        for (code, _) in codes::ALL {
            let ns = code.split('.').next().unwrap();
            assert!(is_reserved(ns), "{ns}");
        }
        for ns in [
            "limits", "egress", "secret", "skill", "auth", "rate", "audit", "registry", "input",
            "output", "host",
        ] {
            assert!(is_reserved(ns), "{ns}");
        }
        assert!(!is_reserved("github"));
    }

    #[test]
    fn control_characters_are_escaped_visibly() {
        assert_eq!(
            escape_controls("a\nb\u{1b}[31mc\td"),
            "a\\u{a}b\\u{1b}[31mc\td"
        );
        assert_eq!(escape_controls("plain"), "plain");
    }
}
