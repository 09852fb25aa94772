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

/// One encrypted secret as stored. Never holds plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRow {
    pub skill: String,
    pub name: String,
    /// Bumped on every write; part of the ciphertext's associated data.
    pub version: i64,
    /// Which master key encrypted it.
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    /// Destinations (`https://host[:port]`) the value may be sent to.
    pub hosts: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Builds the row to write from the next version and the current row.
pub type SecretRowBuilder<'a> =
    dyn FnMut(i64, Option<&SecretRow>) -> Result<SecretRow, RegistryError> + 'a;

/// Encrypted secrets. Every method is one transaction.
pub trait SecretStore: Send + Sync {
    /// Create or replace a secret: `build` gets the next version and the
    /// current row, inside the transaction.
    fn put_secret(
        &self,
        skill: &str,
        name: &str,
        build: &mut SecretRowBuilder<'_>,
    ) -> Result<SecretRow, RegistryError>;
    fn secret(&self, skill: &str, name: &str) -> Result<Option<SecretRow>, RegistryError>;
    /// All secrets, or one skill's.
    fn secrets(&self, skill: Option<&str>) -> Result<Vec<SecretRow>, RegistryError>;
    fn delete_secret(&self, skill: &str, name: &str) -> Result<bool, RegistryError>;
    /// Rewrite every row through `f`, all in one transaction (key rotation).
    fn reencrypt_all(
        &self,
        f: &mut dyn FnMut(&SecretRow) -> Result<SecretRow, RegistryError>,
    ) -> Result<usize, RegistryError>;
}

/// A token as the store keeps it: its role as the stored word, read and
/// checked by `auth` (which owns what a role means). Never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: String,
    /// Skills an invoker may use; `None` means all.
    pub skills: Option<Vec<String>>,
    /// SHA-256 of the token's secret.
    pub hash: Vec<u8>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Caller tokens (hashes only). Every method is one transaction.
pub trait TokenStore: Send + Sync {
    fn insert_token(&self, token: &TokenRow) -> Result<(), RegistryError>;
    /// By public id.
    fn token(&self, id: &str) -> Result<Option<TokenRow>, RegistryError>;
    fn tokens(&self) -> Result<Vec<TokenRow>, RegistryError>;
    /// `false` if there is no such live token.
    fn revoke_token(&self, name: &str, at: &str) -> Result<bool, RegistryError>;
}

/// Registry persistence. Every method is one transaction: it either
/// happens completely or not at all.
pub trait RegistryStore: SecretStore + TokenStore + Send + Sync {
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

    /// The name and approved digest of every enabled skill with an approved
    /// version, by name: the runnable set, in one cheap read.
    fn runnable_digests(&self) -> Result<Vec<(String, String)>, RegistryError>;

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

    /// A number that changes whenever anything in the store may have
    /// changed: a commit by this process or by any other one (the owner's
    /// CLI beside a running server). Cheap enough to read on every call, so
    /// that what a process keeps in memory is re-read as soon as the store
    /// moves. Equal values mean nothing was committed in between.
    fn change_counter(&self) -> Result<u64, RegistryError>;

    /// Disable or enable a skill (all versions).
    fn set_disabled(
        &self,
        name: &SkillName,
        disabled: bool,
        actor: &Actor<'_>,
    ) -> Result<(), RegistryError>;
}
