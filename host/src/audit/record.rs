//! One audit record and the hash chain that links records together.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// `prev` of the very first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, as the caller describes it. The log adds sequence
/// number, id, time and the chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AuditEvent {
    /// e.g. `skill.approve`, `invoke.start`, `invoke`, `egress`.
    pub kind: String,
    /// `ok` or a stable code.
    pub code: String,
    /// `ok`, `denied` (refused before running) or `failed` (ran and failed).
    pub outcome: String,
    /// Caller id or owner name.
    pub actor: String,
    pub skill: Option<String>,
    pub digest: Option<String>,
    pub metrics: Metrics,
    pub detail: Value,
}

/// Measurements attached to invocation records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_bytes: Option<u64>,
    /// SHA-256 of the input, never the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
}

/// One line of the log.
///
/// The measurement fields repeat `Metrics` instead of flattening it:
/// serde cannot combine `flatten` with `deny_unknown_fields`, and refusing
/// unknown fields is what makes an injected field fail verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Position in the chain: 1 for the first record ever written, one more
    /// for each record after it. Gaps or repeats fail `audit verify`.
    pub seq: u64,
    /// Random 64-bit record id, hex-encoded; lets a caller or operator point
    /// at one record.
    pub id: String,
    /// When the record was written: RFC 3339 UTC with milliseconds. Records
    /// written in one batch share it.
    pub ts: String,
    /// Record type, e.g. `skill.approve`, `invoke.start`, `invoke`, `egress`;
    /// serialised as `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `ok` or the stable code (see [`crate::codes`]) of the refusal or
    /// failure.
    pub code: String,
    /// `ok`, `denied` (refused before running) or `failed` (ran and failed).
    pub outcome: String,
    /// Who acted: the caller id, or the owner name for owner commands.
    pub actor: String,
    /// The skill concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// SHA-256 of the skill module concerned, if any: the exact bytes that
    /// were approved or run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Wall-clock time of the invocation, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Fuel (roughly, wasm instructions) the invocation consumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Largest linear memory granted to the instance, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory: Option<u64>,
    /// Outbound HTTP requests the skill attempted, allowed or refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_count: Option<u64>,
    /// Response body bytes returned to the skill across its outbound
    /// requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_bytes: Option<u64>,
    /// SHA-256 of the input, never the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_sha256: Option<String>,
    /// Size of the skill's output in bytes (0 if it failed), never the
    /// output itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
    /// Type-specific detail, e.g. the error of a failed invocation; omitted
    /// when null. Covered by the hash like every other field.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
    /// Hash of the previous record (`GENESIS` for the first).
    pub prev: String,
    /// SHA-256 of this record serialised without `hash`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

impl AuditRecord {
    /// Build record `seq` from `event`, chained to `prev` (the previous
    /// record's hash, or `GENESIS`), and compute its `hash`.
    pub fn new(seq: u64, ts: String, id: String, event: AuditEvent, prev: String) -> Self {
        let mut r = AuditRecord {
            seq,
            id,
            ts,
            kind: event.kind,
            code: event.code,
            outcome: event.outcome,
            actor: event.actor,
            skill: event.skill,
            digest: event.digest,
            duration_ms: event.metrics.duration_ms,
            fuel: event.metrics.fuel,
            peak_memory: event.metrics.peak_memory,
            egress_count: event.metrics.egress_count,
            egress_bytes: event.metrics.egress_bytes,
            input_sha256: event.metrics.input_sha256,
            output_bytes: event.metrics.output_bytes,
            detail: event.detail,
            prev,
            hash: String::new(),
        };
        r.hash = r.compute_hash();
        r
    }

    /// The hash this record should carry.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash.clear();
        let bytes = serde_json::to_vec(&unhashed).expect("records serialise");
        hex::encode(Sha256::digest(&bytes))
    }

    /// The record as one line, with its newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("records serialise");
        line.push(b'\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_cover_every_field_and_round_trip() {
        let event = AuditEvent {
            kind: "invoke".into(),
            code: "ok".into(),
            outcome: "ok".into(),
            actor: "a".into(),
            skill: Some("echo".into()),
            metrics: Metrics {
                fuel: Some(5),
                ..Metrics::default()
            },
            detail: serde_json::json!({"b": 1, "a": [1, 2]}),
            ..AuditEvent::default()
        };
        let r = AuditRecord::new(1, "t".into(), "id".into(), event, GENESIS.into());
        let parsed: AuditRecord = serde_json::from_slice(&r.to_line()).unwrap();
        assert_eq!(parsed, r);
        assert_eq!(parsed.compute_hash(), r.hash);
        let mut edited = parsed.clone();
        edited.fuel = Some(6);
        assert_ne!(edited.compute_hash(), r.hash);
        let mut edited = parsed;
        edited.prev = "1".repeat(64);
        assert_ne!(edited.compute_hash(), r.hash);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r = AuditRecord::new(
            1,
            "t".into(),
            "id".into(),
            AuditEvent::default(),
            GENESIS.into(),
        );
        let mut v: Value = serde_json::from_slice(&r.to_line()).unwrap();
        v["injected"] = "x".into();
        assert!(serde_json::from_value::<AuditRecord>(v).is_err());
    }
}
