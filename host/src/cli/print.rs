//! Human-readable output for owners. `--json` output is the serde form of
//! the same records.

use std::fmt::Write as _;
use std::io::Write as _;

use skillhost::LogRecord;
use skillhost::review_destination;
use skillhost::{Permissions, SkillRecord, SkillVersion, Trial};

/// Log records on stderr, one per line, control characters escaped so a
/// skill cannot forge terminal output.
pub fn logs(logs: &[LogRecord]) {
    let mut err = std::io::stderr().lock();
    for r in logs {
        let level = serde_json::to_value(r.level).unwrap_or_default();
        let source = serde_json::to_value(r.source).unwrap_or_default();
        let _ = writeln!(
            err,
            "skill {} [{}]: {}",
            level.as_str().unwrap_or("?"),
            source.as_str().unwrap_or("?"),
            r.message.escape_debug()
        );
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items
            .iter()
            .map(|i| i.escape_debug().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn limit(v: Option<u64>) -> String {
    v.map_or_else(|| "host default".to_string(), |v| v.to_string())
}

/// Destinations as they are granted and matched (punycode, lower case,
/// explicit port), never as the skill spelled them.
fn destinations(http: &[String]) -> Vec<String> {
    http.iter()
        .map(|d| {
            review_destination(d)
                .destination
                .unwrap_or_else(|| d.clone())
        })
        .collect()
}

fn permissions(out: &mut String, title: &str, p: &Permissions) {
    let _ = writeln!(out, "{title}:");
    let _ = writeln!(
        out,
        "  http destinations: {}",
        list_or_none(&destinations(&p.http))
    );
    let _ = writeln!(out, "  secrets:           {}", list_or_none(&p.secrets));
    let _ = writeln!(
        out,
        "  limits:            timeout_ms={}, memory_bytes={}, output_bytes={}",
        limit(p.limits.timeout_ms),
        limit(p.limits.memory_bytes),
        limit(p.limits.output_bytes)
    );
}

/// Everything an owner reviews before approving a version.
pub fn review(v: &SkillVersion) -> String {
    let d = &v.declared;
    let mut out = String::new();
    let _ = writeln!(out, "skill:       {} {}", v.name, d.version.escape_debug());
    let _ = writeln!(out, "state:       {}", v.state.as_str());
    let _ = writeln!(out, "digest:      {}", v.digest);
    let _ = writeln!(out, "description: {}", d.description.escape_debug());
    permissions(&mut out, "requested", &d.requested);
    for w in v.destination_reviews().iter().flat_map(|r| &r.warnings) {
        let _ = writeln!(out, "warning: {w}");
    }
    if let Some(g) = &v.granted {
        permissions(&mut out, "granted", g);
    }
    let _ = writeln!(out, "input schema:  {}", d.input_schema);
    match &d.output_schema {
        Some(s) => {
            let _ = writeln!(out, "output schema: {s}");
        }
        None => {
            let _ = writeln!(out, "output schema: (none)");
        }
    }
    out
}

/// A trial run for the owner: what the skill tried, and the grant to pass
/// to `skill approve` for exactly that.
pub fn trial(t: &Trial) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "trial of {} {}: {}", t.skill, t.digest, t.code);
    if let Some(error) = &t.error {
        let message = error["message"].as_str().unwrap_or_default();
        let _ = writeln!(out, "  {}", message.escape_debug());
    }
    if t.attempts.is_empty() {
        let _ = writeln!(out, "attempts: none");
    } else {
        let _ = writeln!(out, "attempts (each refused before DNS; nothing was sent):");
        for a in &t.attempts {
            let note = if a.code != skillhost::codes::EGRESS_TRIAL {
                format!("  [{}]", a.code)
            } else if !a.requested {
                "  [not requested by the skill: no grant can allow it]".to_string()
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {} {}{}{note}",
                a.method.escape_debug(),
                a.destination,
                a.path.escape_debug()
            );
        }
    }
    for w in &t.warnings {
        let _ = writeln!(out, "warning: {}", w.escape_debug());
    }
    let flags: Vec<String> = if t.drafted.is_empty() {
        vec!["--no-http".to_string()]
    } else {
        t.drafted
            .iter()
            .map(|r| format!("--http '{}'", r.replace('\'', "'\\''")))
            .collect()
    };
    let _ = writeln!(out, "drafted grant:");
    for r in &t.drafted {
        let _ = writeln!(out, "  {r}");
    }
    if t.drafted.is_empty() {
        let _ = writeln!(out, "  (no HTTP)");
    }
    let _ = writeln!(
        out,
        "approve with: skillhost skill approve {} --digest {} {}",
        t.skill,
        t.digest,
        flags.join(" ")
    );
    out
}

/// One line per skill.
pub fn list(skills: &[SkillRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<10} {:<12} {:<9} DIGEST",
        "NAME", "STATE", "VERSION", "PENDING"
    );
    for s in skills {
        let pending = s
            .versions
            .iter()
            .filter(|v| v.state == skillhost::VersionState::Pending)
            .count();
        let (state, version, digest) = match s.approved() {
            Some(v) => ("approved", v.declared.version.clone(), v.digest.to_string()),
            None => (
                s.versions.first().map_or("-", |v| v.state.as_str()),
                "-".to_string(),
                "-".to_string(),
            ),
        };
        let state = if s.disabled { "disabled" } else { state };
        let _ = writeln!(
            out,
            "{:<24} {:<10} {:<12} {:<9} {}",
            s.name.as_str(),
            state,
            version.escape_debug().to_string(),
            pending,
            digest
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillhost::ModuleDigest;
    use skillhost::{Declared, SkillName, VersionState};

    fn version(http: &[&str]) -> SkillVersion {
        SkillVersion {
            name: SkillName::parse("lookalike").unwrap(),
            digest: ModuleDigest::of(b"x"),
            state: VersionState::Pending,
            declared: Declared {
                version: "1".into(),
                description: "d".into(),
                input_schema: serde_json::json!({}),
                output_schema: None,
                requested: Permissions {
                    http: http.iter().map(|s| s.to_string()).collect(),
                    ..Permissions::default()
                },
            },
            granted: None,
            added_at: String::new(),
            added_by: String::new(),
            decided_at: None,
            decided_by: None,
        }
    }

    #[test]
    fn the_review_shows_what_is_granted_and_warns_about_lookalikes() {
        let text = review(&version(&[
            "https://\u{430}pi.example.com",
            "https://ok.example",
        ]));
        assert!(
            text.contains(
                "http destinations: https://xn--pi-6kc.example.com:443, https://ok.example:443\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("https://\u{430}pi"),
            "shown as Unicode: {text}"
        );
        let warnings: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("warning: "))
            .collect();
        assert_eq!(warnings.len(), 1, "{text}");
        assert!(warnings[0].contains("xn--pi-6kc.example.com"), "{text}");
        assert!(
            warnings[0].contains("non-ASCII characters (Cyrillic U+0430)"),
            "{text}"
        );
        let plain = review(&version(&["https://api.example.com"]));
        assert!(!plain.contains("warning"), "{plain}");
    }
}
