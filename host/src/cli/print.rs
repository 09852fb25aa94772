//! Human-readable output for owners. `--json` output is the serde form of
//! the same records.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::registry::{Permissions, SkillRecord, SkillVersion};
use crate::sandbox::LogRecord;

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

fn permissions(out: &mut String, title: &str, p: &Permissions) {
    let _ = writeln!(out, "{title}:");
    let _ = writeln!(out, "  http destinations: {}", list_or_none(&p.http));
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
            .filter(|v| v.state == crate::registry::VersionState::Pending)
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
