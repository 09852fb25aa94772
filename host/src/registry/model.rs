//! What the registry records: versions of skills, their state, the
//! permissions they request and the grants the owner made.

use serde::{Deserialize, Serialize};

use crate::destination::{DestinationReview, review};
use crate::digest::ModuleDigest;

use super::name::SkillName;

/// The life of one version (one exact module digest) of a skill.
///
/// ```text
/// pending ──approve──▶ approved ──(newer version approved)──▶ superseded
///    │                    │
///    └──reject──▶ rejected └──revoke──▶ revoked
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionState {
    /// Added, waiting for the owner's review. Never runs.
    Pending,
    /// Approved: the version that runs (at most one per skill).
    Approved,
    /// Was approved; a newer approval replaced it. Never runs again.
    Superseded,
    /// The owner refused it. Never runs, cannot be approved later.
    Rejected,
    /// The owner withdrew its approval. Never runs again.
    Revoked,
}

impl VersionState {
    /// The state's stored and displayed name, e.g. `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Pending => "pending",
            VersionState::Approved => "approved",
            VersionState::Superseded => "superseded",
            VersionState::Rejected => "rejected",
            VersionState::Revoked => "revoked",
        }
    }

    /// The state named `s` (as [`VersionState::as_str`] writes it); `None`
    /// for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => VersionState::Pending,
            "approved" => VersionState::Approved,
            "superseded" => VersionState::Superseded,
            "rejected" => VersionState::Rejected,
            "revoked" => VersionState::Revoked,
            _ => return None,
        })
    }
}

/// Limits as requested by a skill or granted by the owner. `None` means the
/// host's configured default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSet {
    /// Wall-clock deadline per invocation, in milliseconds. Applied as the
    /// lower of this and the host's `limits.timeout_ms`: it can shorten the
    /// deadline, never extend it.
    pub timeout_ms: Option<u64>,
    /// Linear memory cap of one instance, in bytes. Applied as the lower of
    /// this and the host's `limits.memory_bytes`; never raises it.
    pub memory_bytes: Option<u64>,
    /// Output size cap, in bytes. Applied as the lower of this and the
    /// host's `limits.output_bytes`; never raises it.
    pub output_bytes: Option<u64>,
    /// Clock resolution for this skill, in microseconds. Only the owner sets
    /// it, at approval; it can only coarsen the host's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_resolution_us: Option<u64>,
}

/// What a skill asks for, from its `metadata` export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// HTTP destinations, as `https://host[:port]`.
    pub http: Vec<String>,
    /// Secret names.
    pub secrets: Vec<String>,
    /// Limit requests.
    pub limits: LimitSet,
}

/// Everything a skill declared about itself when it was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declared {
    /// The skill's own version label (1-64 bytes of printable text). For
    /// display only: a version is identified by its digest, not this.
    pub version: String,
    /// What the skill does, in its own words, as shown to callers. Untrusted
    /// text, checked only for length and control characters.
    pub description: String,
    /// JSON Schema every input must match before the skill runs
    /// (`input.schema_invalid` otherwise).
    pub input_schema: serde_json::Value,
    /// JSON Schema the skill's output must match, if it declared one;
    /// non-matching output is discarded (`output.schema_invalid`).
    pub output_schema: Option<serde_json::Value>,
    /// The permissions the skill requests. The owner's grant can only narrow
    /// them (`registry.grant_exceeds_request`).
    pub requested: Permissions,
}

/// One version of a skill as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillVersion {
    /// The skill this is a version of.
    pub name: SkillName,
    /// SHA-256 of the module's exact bytes: the identity an approval is
    /// pinned to. Re-checked before every run (`skill.digest_mismatch`).
    pub digest: ModuleDigest,
    /// Where the version is in its life; only `approved` runs.
    pub state: VersionState,
    /// What the module declared about itself when it was added.
    pub declared: Declared,
    /// What the owner granted; set once approved.
    pub granted: Option<Permissions>,
    /// When the version was added (RFC 3339).
    pub added_at: String,
    /// Who added it (the owner or caller name recorded in the audit log).
    pub added_by: String,
    /// When the owner last approved, rejected or revoked it (RFC 3339);
    /// `None` while pending.
    pub decided_at: Option<String>,
    /// Who made that decision.
    pub decided_by: Option<String>,
}

impl SkillVersion {
    /// Each requested destination in the form that is granted and matched,
    /// with warnings for lookalikes (non-ASCII, mixed scripts).
    pub fn destination_reviews(&self) -> Vec<DestinationReview> {
        self.declared
            .requested
            .http
            .iter()
            .map(|d| review(d))
            .collect()
    }
}

/// A version as an owner reviews it (the HTTP API, `--json`): the record,
/// plus `destinations` (each requested destination as granted and matched,
/// with its warnings) and `warnings` (all of them, for a quick check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewedVersion {
    /// The version record, flattened into the same JSON object.
    #[serde(flatten)]
    pub version: SkillVersion,
    /// Each requested HTTP destination as it would be granted and matched,
    /// with its lookalike warnings.
    pub destinations: Vec<DestinationReview>,
    /// Every warning of `destinations`, gathered for a quick check.
    pub warnings: Vec<String>,
}

impl From<SkillVersion> for ReviewedVersion {
    fn from(version: SkillVersion) -> Self {
        let destinations = version.destination_reviews();
        let warnings = destinations
            .iter()
            .flat_map(|d| d.warnings.iter().cloned())
            .collect();
        ReviewedVersion {
            version,
            destinations,
            warnings,
        }
    }
}

/// A skill: its name, whether the owner disabled it, and its versions
/// (newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillRecord {
    /// The skill's name.
    pub name: SkillName,
    /// Whether the owner disabled the skill: a disabled skill does not run
    /// (`skill.disabled`), whatever its versions' states.
    pub disabled: bool,
    /// Every version ever added, newest first.
    pub versions: Vec<SkillVersion>,
}

impl SkillRecord {
    /// The approved version, if any.
    pub fn approved(&self) -> Option<&SkillVersion> {
        self.versions
            .iter()
            .find(|v| v.state == VersionState::Approved)
    }
}

/// An owner decision, as recorded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// A version was added (pending review).
    Add,
    /// A pending version was approved, with its grant; the previously
    /// approved version, if any, is superseded.
    Approve,
    /// A pending version was rejected; it can never be approved.
    Reject,
    /// The approved version's approval was withdrawn.
    Revoke,
    /// The skill was disabled: none of its versions runs.
    Disable,
    /// The skill was enabled again.
    Enable,
}

impl Decision {
    /// The decision's recorded name, e.g. `approve`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Add => "add",
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Revoke => "revoke",
            Decision::Disable => "disable",
            Decision::Enable => "enable",
        }
    }
}

/// The one place that says which decision may move a version from which
/// state. Anything not listed is refused.
pub fn transition(state: VersionState, decision: Decision) -> Option<VersionState> {
    match (state, decision) {
        (VersionState::Pending, Decision::Approve) => Some(VersionState::Approved),
        (VersionState::Pending, Decision::Reject) => Some(VersionState::Rejected),
        (VersionState::Approved, Decision::Revoke) => Some(VersionState::Revoked),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pending_versions_can_be_approved_or_rejected() {
        use Decision::*;
        use VersionState::*;
        for state in [Pending, Approved, Superseded, Rejected, Revoked] {
            assert_eq!(
                transition(state, Approve).is_some(),
                state == Pending,
                "{state:?}"
            );
            assert_eq!(
                transition(state, Reject).is_some(),
                state == Pending,
                "{state:?}"
            );
            assert_eq!(
                transition(state, Revoke).is_some(),
                state == Approved,
                "{state:?}"
            );
            assert_eq!(VersionState::parse(state.as_str()), Some(state));
        }
    }
}
