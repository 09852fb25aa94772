//! The audit sink: one JSON line per event, appended to `<data-dir>/audit.log`
//! (0600) and flushed to disk before the operation it records returns. If
//! the line cannot be written, the operation fails with `audit.unavailable`.
//!
//! Records never carry input content, outputs or secret values: only codes,
//! names, digests, sizes and hashes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
use serde::Serialize;
use serde_json::Value;

use crate::codes::{self, Code};

/// Name of the log file in the data dir.
pub const FILE: &str = "audit.log";

/// One audit event.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// RFC 3339, UTC.
    pub ts: String,
    /// What happened, e.g. `skill.approve` or `invoke`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `ok`, or the stable code of the refusal or failure.
    pub code: Code,
    /// Who: an owner's name or a caller id.
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

/// Where events go.
#[derive(Debug)]
pub enum AuditSink {
    /// Appended to `audit.log` in the data dir.
    File(PathBuf),
    /// Kept in memory for the life of the process (`skillhost dev`, tests).
    Memory(Mutex<Vec<AuditEvent>>),
}

/// The event could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audit log cannot be written: {0}")]
pub struct AuditUnavailable(pub String);

impl AuditUnavailable {
    pub fn code(&self) -> Code {
        codes::AUDIT_UNAVAILABLE
    }
}

impl AuditSink {
    pub fn in_dir(data_dir: &Path) -> Self {
        AuditSink::File(data_dir.to_path_buf())
    }

    pub fn in_memory() -> Self {
        AuditSink::Memory(Mutex::default())
    }

    /// Append one event durably.
    pub fn record(&self, event: AuditEvent) -> Result<(), AuditUnavailable> {
        match self {
            AuditSink::Memory(events) => {
                events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
                Ok(())
            }
            AuditSink::File(root) => {
                let mut line = serde_json::to_vec(&event).expect("events serialise");
                line.push(b'\n');
                let append = || -> std::io::Result<()> {
                    let dir = Dir::open_ambient_dir(root, ambient_authority())?;
                    let mut options = OpenOptions::new();
                    options.append(true).create(true).mode(0o600);
                    let mut file = dir.open_with(FILE, &options)?;
                    // One write call per record: appends do not interleave.
                    file.write_all(&line)?;
                    file.sync_data()
                };
                append().map_err(|e| AuditUnavailable(e.to_string()))
            }
        }
    }

    /// Events recorded in memory (empty for the file sink).
    pub fn memory_events(&self) -> Vec<AuditEvent> {
        match self {
            AuditSink::Memory(events) => events.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            AuditSink::File(_) => Vec::new(),
        }
    }
}

/// The current time as RFC 3339 (UTC, seconds).
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &'static str) -> AuditEvent {
        AuditEvent {
            ts: now(),
            kind,
            code: "ok",
            actor: "tester".into(),
            skill: Some("echo".into()),
            digest: None,
            detail: Value::Null,
        }
    }

    #[test]
    fn appends_json_lines_privately() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let sink = AuditSink::in_dir(tmp.path());
        sink.record(event("one")).unwrap();
        sink.record(event("two")).unwrap();
        let path = tmp.path().join(FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        let kinds: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(kinds, ["one", "two"]);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn an_unwritable_log_is_reported() {
        let sink = AuditSink::in_dir(Path::new("/nonexistent/skillhost-data"));
        assert!(sink.record(event("x")).is_err());
    }
}
