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
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Pending => "pending",
            VersionState::Approved => "approved",
            VersionState::Superseded => "superseded",
            VersionState::Rejected => "rejected",
            VersionState::Revoked => "revoked",
        }
    }

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
    pub timeout_ms: Option<u64>,
    pub memory_bytes: Option<u64>,
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
    pub version: String,
    pub description: String,
    pub input_schema: serde_json::Value,
    pub output_schema: Option<serde_json::Value>,
    pub requested: Permissions,
}

/// One version of a skill as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillVersion {
    pub name: SkillName,
    pub digest: ModuleDigest,
    pub state: VersionState,
    pub declared: Declared,
    /// What the owner granted; set once approved.
    pub granted: Option<Permissions>,
    pub added_at: String,
    pub added_by: String,
    pub decided_at: Option<String>,
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
    #[serde(flatten)]
    pub version: SkillVersion,
    pub destinations: Vec<DestinationReview>,
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
    pub name: SkillName,
    pub disabled: bool,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Add,
    Approve,
    Reject,
    Revoke,
    Disable,
    Enable,
}

impl Decision {
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
