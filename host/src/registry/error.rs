//! Why a registry operation was refused. One variant per reason, each with
//! one stable code. Every refusal leaves the registry unchanged.

use crate::codes::{self, Code};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid skill name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("no skill named {0}")]
    NotFound(String),
    #[error("{name} has no approved version yet; pending: {digests}")]
    Pending { name: String, digests: String },
    #[error("{name} was rejected by the owner")]
    Rejected { name: String },
    #[error("{name} was revoked by the owner")]
    Revoked { name: String },
    #[error("{name} is disabled by the owner")]
    Disabled { name: String },
    #[error(
        "the module of {name} on disk no longer matches its approved digest {expected}; refusing to run it"
    )]
    DigestMismatch { name: String, expected: String },
    #[error("the module of {name} ({digest}) is missing from the module store")]
    ModuleMissing { name: String, digest: String },
    #[error("{digest} is not a version of {name}; its versions are: {known}")]
    WrongDigest {
        name: String,
        digest: String,
        known: String,
    },
    #[error("cannot {action} {name} {digest}: it is {state}")]
    InvalidState {
        name: String,
        digest: String,
        action: &'static str,
        state: &'static str,
    },
    #[error("the grant exceeds the request: {0}")]
    GrantExceedsRequest(String),
    #[error("the skill's metadata is not acceptable: {0}")]
    InvalidMetadata(String),
    #[error(
        "the registry database has schema version {found}, newer than this skillhost supports ({supported}); upgrade skillhost"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("the registry database is corrupted or not a skillhost database: {0}")]
    Corrupt(String),
    #[error("the registry is busy (another skillhost process holds it); try again")]
    Busy,
    #[error("registry storage failure: {0}")]
    Storage(String),
    #[error("{0}")]
    Io(String),
}

impl RegistryError {
    pub fn code(&self) -> Code {
        match self {
            RegistryError::InvalidName { .. } => codes::REGISTRY_INVALID_NAME,
            RegistryError::NotFound(_) => codes::SKILL_NOT_FOUND,
            RegistryError::Pending { .. } => codes::SKILL_PENDING,
            RegistryError::Rejected { .. } => codes::SKILL_REJECTED,
            RegistryError::Revoked { .. } => codes::SKILL_REVOKED,
            RegistryError::Disabled { .. } => codes::SKILL_DISABLED,
            RegistryError::DigestMismatch { .. } => codes::SKILL_DIGEST_MISMATCH,
            RegistryError::ModuleMissing { .. } => codes::SKILL_MODULE_MISSING,
            RegistryError::WrongDigest { .. } => codes::REGISTRY_WRONG_DIGEST,
            RegistryError::InvalidState { .. } => codes::REGISTRY_INVALID_STATE,
            RegistryError::GrantExceedsRequest(_) => codes::REGISTRY_GRANT_EXCEEDS_REQUEST,
            RegistryError::InvalidMetadata(_) => codes::REGISTRY_INVALID_METADATA,
            RegistryError::SchemaTooNew { .. } => codes::REGISTRY_SCHEMA_TOO_NEW,
            RegistryError::Corrupt(_) => codes::REGISTRY_CORRUPT,
            RegistryError::Busy => codes::REGISTRY_BUSY,
            RegistryError::Storage(_) => codes::REGISTRY_STORAGE,
            RegistryError::Io(_) => codes::HOST_IO,
        }
    }

    pub fn invalid_name(name: &str, reason: String) -> Self {
        RegistryError::InvalidName {
            name: name.to_string(),
            reason,
        }
    }
}

impl From<rusqlite::Error> for RegistryError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => RegistryError::Busy,
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                RegistryError::Corrupt(e.to_string())
            }
            _ => RegistryError::Storage(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        let s = || String::new();
        let samples = [
            RegistryError::InvalidName {
                name: s(),
                reason: s(),
            },
            RegistryError::NotFound(s()),
            RegistryError::Pending {
                name: s(),
                digests: s(),
            },
            RegistryError::Rejected { name: s() },
            RegistryError::Revoked { name: s() },
            RegistryError::Disabled { name: s() },
            RegistryError::DigestMismatch {
                name: s(),
                expected: s(),
            },
            RegistryError::ModuleMissing {
                name: s(),
                digest: s(),
            },
            RegistryError::WrongDigest {
                name: s(),
                digest: s(),
                known: s(),
            },
            RegistryError::InvalidState {
                name: s(),
                digest: s(),
                action: "a",
                state: "b",
            },
            RegistryError::GrantExceedsRequest(s()),
            RegistryError::InvalidMetadata(s()),
            RegistryError::SchemaTooNew {
                found: 2,
                supported: 1,
            },
            RegistryError::Corrupt(s()),
            RegistryError::Busy,
            RegistryError::Storage(s()),
            RegistryError::Io(s()),
        ];
        let mut seen = std::collections::HashSet::new();
        for e in samples {
            assert!(
                codes::describe(e.code()).is_some(),
                "{} is not in codes::ALL",
                e.code()
            );
            assert!(
                seen.insert(e.code()),
                "{} is used by two variants",
                e.code()
            );
        }
        assert!(codes::describe(codes::AUDIT_UNAVAILABLE).is_some());
    }
}
