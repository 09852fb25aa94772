//! The storage seam. The embedded default is SQLite ([`super::sqlite`]); a
//! shared PostgreSQL backend implements the same trait, and callers never
//! know which one they have.

use crate::digest::ModuleDigest;

use super::error::RegistryError;
use super::model::{Decision, Declared, Permissions, SkillRecord, SkillVersion};
use super::name::SkillName;

/// Result of inserting a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// A new pending version.
    New(SkillVersion),
    /// These exact bytes were already registered under this name; nothing changed.
    AlreadyPresent(SkillVersion),
}

/// Who did what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor<'a> {
    pub who: &'a str,
    pub at: &'a str,
}

/// Registry persistence. Every method is one transaction: it either
/// happens completely or not at all.
pub trait RegistryStore: Send + Sync {
    /// Register a pending version (a no-op for bytes already present).
    fn insert_version(
        &self,
        name: &SkillName,
        digest: &ModuleDigest,
        declared: &Declared,
        actor: &Actor<'_>,
    ) -> Result<Inserted, RegistryError>;

    /// One skill with all its versions, newest first.
    fn skill(&self, name: &SkillName) -> Result<Option<SkillRecord>, RegistryError>;

    /// All skills, by name.
    fn skills(&self) -> Result<Vec<SkillRecord>, RegistryError>;

    /// Apply an owner decision to one version, atomically with the check of
    /// its current state (see [`super::model::transition`]). `digest: None`
    /// targets the approved version.
    fn decide(
        &self,
        name: &SkillName,
        digest: Option<&ModuleDigest>,
        decision: Decision,
        granted: Option<&Permissions>,
        actor: &Actor<'_>,
    ) -> Result<SkillVersion, RegistryError>;

    /// Disable or enable a skill (all versions).
    fn set_disabled(
        &self,
        name: &SkillName,
        disabled: bool,
        actor: &Actor<'_>,
    ) -> Result<(), RegistryError>;
}
