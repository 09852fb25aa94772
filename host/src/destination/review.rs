//! How a requested rule is shown to the owner who reviews it: in the form
//! that is granted and matched (`METHODS scheme://host:port/prefix`, methods
//! upper-case, the host in punycode and lower case, the prefix normalised),
//! with a warning whenever the text hides what it is: any
//! non-ASCII character (a Cyrillic 'а' looks exactly like the Latin 'a'),
//! or a punycode label that decodes to a mix of scripts.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::TargetHost;
use skillhost_policy::rule::Rule;

/// One requested destination, as an owner should review it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestinationReview {
    /// As the skill wrote it.
    pub requested: String,
    /// What is granted and matched, e.g. `https://xn--pi-6kc.example.com:443`
    /// or `GET,POST https://api.example.com:443/v1/issues/`; `None` if it
    /// does not parse (such a request is never accepted).
    pub destination: Option<String>,
    /// Why the destination may not be what it looks like; empty if plain.
    pub warnings: Vec<String>,
}

/// Review one requested rule as written.
pub fn review(raw: &str) -> DestinationReview {
    let parsed = match Rule::parse_stored(raw) {
        Ok(parsed) => parsed,
        Err(e) => {
            return DestinationReview {
                requested: raw.to_string(),
                destination: None,
                warnings: vec![format!("{} is not a valid rule: {e}", raw.escape_debug())],
            };
        }
    };
    let warnings = match &parsed.origin.host {
        TargetHost::Domain(ascii) => host_warning(written_host(raw), ascii).into_iter().collect(),
        TargetHost::Ip(_) => Vec::new(),
    };
    DestinationReview {
        requested: raw.to_string(),
        destination: Some(parsed.to_string()),
        warnings,
    }
}

/// The host as written: between `://` and the port, path or end.
fn written_host(raw: &str) -> &str {
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.split(':').next().unwrap_or_default()
}

/// A writing system, as far as telling lookalikes apart needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Other,
}

impl Script {
    fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Greek => "Greek",
            Script::Cyrillic => "Cyrillic",
            Script::Other => "other",
        }
    }
}

/// The script of a letter; `None` for what belongs to no script (digits,
/// `-`, `.`, combining marks).
fn script(c: char) -> Option<Script> {
    if c.is_ascii() {
        return c.is_ascii_alphabetic().then_some(Script::Latin);
    }
    Some(match c as u32 {
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF => return None,
        0x00D7 | 0x00F7 => Script::Other,
        0x00C0..=0x024F | 0x0250..=0x02AF | 0x1D00..=0x1D7F | 0x1E00..=0x1EFF => Script::Latin,
        0x2C60..=0x2C7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F | 0xFF21..=0xFF3A => Script::Latin,
        0xFF41..=0xFF5A => Script::Latin,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        _ => Script::Other,
    })
}

fn scripts_of(label: &str) -> BTreeSet<Script> {
    label.chars().filter_map(script).collect()
}

fn and_list(scripts: &BTreeSet<Script>) -> String {
    let names: Vec<&str> = scripts.iter().map(|s| s.name()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// The warning for a host written as `written` and normalised to `ascii`,
/// if there is anything to warn about.
fn host_warning(written: &str, ascii: &str) -> Option<String> {
    let mut mixed = Vec::new();
    let mut unicode = Vec::new();
    for label in ascii.split('.') {
        let decoded = match label.strip_prefix("xn--") {
            Some(_) => match idna::domain_to_unicode(label) {
                (d, Ok(())) => d,
                (_, Err(_)) => {
                    return Some(format!(
                        "{ascii} has the label {label}, which is not valid punycode"
                    ));
                }
            },
            None => label.to_string(),
        };
        let scripts = scripts_of(&decoded);
        if scripts.len() > 1 {
            mixed.push(format!(
                "the label \"{}\" mixes {}",
                decoded.escape_debug(),
                and_list(&scripts)
            ));
        }
        unicode.push(decoded);
    }
    let unicode = unicode.join(".");
    let mut out = if !written.is_ascii() {
        let mut by_script: Vec<(Script, BTreeSet<char>)> = Vec::new();
        for c in written.chars().filter(|c| !c.is_ascii()) {
            let s = script(c).unwrap_or(Script::Other);
            match by_script.iter_mut().find(|(k, _)| *k == s) {
                Some((_, chars)) => {
                    chars.insert(c);
                }
                None => by_script.push((s, BTreeSet::from([c]))),
            }
        }
        let listed: Vec<String> = by_script
            .iter()
            .map(|(s, chars)| {
                let points: Vec<String> = chars
                    .iter()
                    .take(8)
                    .map(|c| format!("U+{:04X}", *c as u32))
                    .collect();
                let more = if chars.len() > 8 { ", ..." } else { "" };
                format!("{} {}{more}", s.name(), points.join(", "))
            })
            .collect();
        format!(
            "{} is shown as {ascii}; it contains non-ASCII characters ({})",
            written.escape_debug(),
            listed.join("; ")
        )
    } else if !mixed.is_empty() {
        format!("{ascii} is the punycode form of {}", unicode.escape_debug())
    } else {
        return None;
    };
    for m in &mixed {
        let _ = write!(out, "; {m}");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cyrillic_lookalike_is_shown_as_punycode_and_flagged() {
        let r = review("https://\u{430}pi.example.com");
        assert_eq!(
            r.destination.as_deref(),
            Some("https://xn--pi-6kc.example.com:443")
        );
        assert_eq!(
            r.warnings,
            [
                "\u{430}pi.example.com is shown as xn--pi-6kc.example.com; it contains \
              non-ASCII characters (Cyrillic U+0430); the label \"\u{430}pi\" mixes \
              Latin and Cyrillic"
            ]
        );
        // Written as punycode it looks harmless; the decoded label still mixes.
        let r = review("https://xn--pi-6kc.example.com");
        assert_eq!(r.warnings.len(), 1, "{r:?}");
        assert!(r.warnings[0].contains("mixes Latin and Cyrillic"), "{r:?}");
        assert!(r.warnings[0].contains("punycode form of \u{430}pi.example.com"));
    }

    #[test]
    fn every_non_ascii_host_is_flagged_even_in_one_script() {
        let r = review("https://bücher.example");
        assert_eq!(
            r.destination.as_deref(),
            Some("https://xn--bcher-kva.example:443")
        );
        assert_eq!(
            r.warnings,
            [
                "bücher.example is shown as xn--bcher-kva.example; it contains non-ASCII \
              characters (Latin U+00FC)"
            ]
        );
        // All-Cyrillic and all-Greek names: non-ASCII, not mixed.
        for host in ["пример.рф", "παράδειγμα.δοκιμή"] {
            let r = review(&format!("https://{host}"));
            assert_eq!(r.warnings.len(), 1, "{r:?}");
            assert!(!r.warnings[0].contains("mixes"), "{r:?}");
        }
        // Greek omicron among Latin letters.
        let r = review("https://g\u{3bf}\u{3bf}gle.com:8443");
        assert_eq!(
            r.destination.as_deref().map(|d| d.ends_with(":8443")),
            Some(true)
        );
        assert!(r.warnings[0].contains("Greek U+03BF"), "{r:?}");
        assert!(r.warnings[0].contains("mixes Latin and Greek"), "{r:?}");
    }

    #[test]
    fn plain_destinations_have_no_warnings() {
        for raw in [
            "https://api.example.com",
            "https://API.Example.COM.",
            "http://127.0.0.1:8080",
            "https://[::1]:9443",
            "https://xn--bcher-kva.example",
            "https://my-api2.example.com:8443",
        ] {
            let r = review(raw);
            assert!(r.destination.is_some(), "{raw}");
            assert!(r.warnings.is_empty(), "{raw}: {:?}", r.warnings);
        }
        assert_eq!(
            review("https://API.Example.COM.").destination.as_deref(),
            Some("https://api.example.com:443")
        );
        let bad = review("https://*.example.com");
        assert_eq!(bad.destination, None);
        assert_eq!(bad.warnings.len(), 1);
    }

    #[test]
    fn rules_are_shown_normalised_with_their_host_warnings() {
        let r = review("get,post https://API.example.com/v1/%69ssues/");
        assert_eq!(
            r.destination.as_deref(),
            Some("GET,POST https://api.example.com:443/v1/issues/")
        );
        assert!(r.warnings.is_empty());
        let r = review("GET https://\u{430}pi.example.com/v1/");
        assert_eq!(
            r.destination.as_deref(),
            Some("GET https://xn--pi-6kc.example.com:443/v1/")
        );
        assert!(r.warnings[0].contains("Cyrillic U+0430"), "{r:?}");
        let bad = review("GET https://api.example.com/v1/../admin");
        assert_eq!(bad.destination, None);
        assert!(bad.warnings[0].contains("dot segment") || bad.warnings[0].contains(". or .."), "{bad:?}");
    }

    #[test]
    fn scripts_by_code_point() {
        assert_eq!(script('a'), Some(Script::Latin));
        assert_eq!(script('é'), Some(Script::Latin));
        assert_eq!(script('\u{430}'), Some(Script::Cyrillic));
        assert_eq!(script('\u{3b1}'), Some(Script::Greek));
        assert_eq!(script('\u{4e2d}'), Some(Script::Other));
        assert_eq!(script('7'), None);
        assert_eq!(script('-'), None);
        assert_eq!(script('\u{301}'), None);
    }
}
