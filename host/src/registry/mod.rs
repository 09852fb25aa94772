//! The skill registry: which skills exist, which exact bytes the owner
//! approved, and what was granted. Only an approved, enabled version whose
//! bytes still hash to the approved digest is ever handed out to run.

mod error;
mod grants;
mod model;
mod modules;
mod name;
mod sqlite;
mod store;

use std::path::Path;

pub use error::RegistryError;
pub use grants::{Narrowing, grant};
#[cfg_attr(not(feature = "internal"), allow(unused_imports))] // tests and benches
pub use model::{
    Decision, Declared, LimitSet, Permissions, ReviewedVersion, SkillRecord, SkillVersion,
    VersionState, transition,
};
pub use modules::{ModuleReadError, ModuleStore};
pub use name::SkillName;
#[cfg_attr(not(feature = "internal"), allow(unused_imports))] // tests and benches
pub use sqlite::{SCHEMA_VERSION, SqliteStore};
pub use store::{Actor, Inserted, RegistryStore, SecretRow, SecretStore, TokenRow, TokenStore};

use crate::digest::ModuleDigest;

/// File name of the registry database in the data dir.
pub const DB_FILE: &str = "registry.db";

/// Registry operations over a store and a module store.
pub struct Registry {
    store: Box<dyn RegistryStore>,
    modules: ModuleStore,
    /// Whether this process swept dead writers' temporary module files.
    swept: std::sync::Once,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("modules", &self.modules)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Open the registry in a data dir (created 0700; database 0600).
    pub fn open(data_dir: &Path) -> Result<Self, RegistryError> {
        crate::data_dir::create(data_dir).map_err(|e| {
            RegistryError::Io(format!(
                "cannot create the data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        Ok(Registry {
            store: Box::new(SqliteStore::open(&data_dir.join(DB_FILE))?),
            modules: ModuleStore::in_dir(data_dir),
            swept: std::sync::Once::new(),
        })
    }

    /// A registry that lives only in this process's memory.
    pub fn ephemeral() -> Result<Self, RegistryError> {
        Ok(Registry {
            store: Box::new(SqliteStore::in_memory()?),
            modules: ModuleStore::in_memory(),
            swept: std::sync::Once::new(),
        })
    }

    /// Register `bytes` as a pending version of `name`. The module file is
    /// written (and synced) before the row that names it, so a crash leaves
    /// at worst an unreferenced file, never a row without its module.
    pub fn add(
        &self,
        name: &SkillName,
        bytes: &[u8],
        declared: &Declared,
        actor: &Actor<'_>,
    ) -> Result<Inserted, RegistryError> {
        let digest = ModuleDigest::of(bytes);
        // A `skill add` killed mid-write leaves a temporary file behind.
        // Swept by the first add of each process, not at open: opening
        // reads no directory, so start-up does not grow with the number of
        // modules.
        self.swept.call_once(|| {
            let swept = self.modules.sweep_temporaries();
            if swept > 0 {
                tracing::info!(swept, "removed temporary module files of writers that died");
            }
        });
        self.modules.put(&digest, bytes)?;
        self.store.insert_version(name, &digest, declared, actor)
    }

    /// Approve the pending version with exactly this digest, granting the
    /// request narrowed by `narrowing`.
    pub fn approve(
        &self,
        name: &SkillName,
        digest: &ModuleDigest,
        narrowing: &Narrowing,
        actor: &Actor<'_>,
    ) -> Result<SkillVersion, RegistryError> {
        let skill = self.skill(name)?;
        // Unknown digests and non-pending versions are refused inside the
        // transaction; here only the grant is computed from the request.
        let granted = match skill.versions.iter().find(|v| v.digest == *digest) {
            Some(v) => Some(grant(&v.declared.requested, narrowing)?),
            None => None,
        };
        self.store.decide(
            name,
            Some(digest),
            Decision::Approve,
            granted.as_ref(),
            actor,
        )
    }

    /// Reject a pending version.
    pub fn reject(
        &self,
        name: &SkillName,
        digest: &ModuleDigest,
        actor: &Actor<'_>,
    ) -> Result<SkillVersion, RegistryError> {
        self.store
            .decide(name, Some(digest), Decision::Reject, None, actor)
    }

    /// Revoke the approved version (or the named one, which must be approved).
    pub fn revoke(
        &self,
        name: &SkillName,
        digest: Option<&ModuleDigest>,
        actor: &Actor<'_>,
    ) -> Result<SkillVersion, RegistryError> {
        self.store
            .decide(name, digest, Decision::Revoke, None, actor)
    }

    /// Disable (`true`) or re-enable a skill.
    pub fn set_disabled(
        &self,
        name: &SkillName,
        disabled: bool,
        actor: &Actor<'_>,
    ) -> Result<(), RegistryError> {
        self.store.set_disabled(name, disabled, actor)
    }

    /// One skill, or `skill.not_found`.
    pub fn skill(&self, name: &SkillName) -> Result<SkillRecord, RegistryError> {
        self.store
            .skill(name)?
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))
    }

    /// Every skill.
    pub fn skills(&self) -> Result<Vec<SkillRecord>, RegistryError> {
        self.store.skills()
    }

    /// Caller tokens in the same store.
    pub fn tokens(&self) -> &dyn TokenStore {
        &*self.store
    }

    /// The encrypted secrets in the same store.
    pub fn secrets(&self) -> &dyn SecretStore {
        &*self.store
    }

    /// The version of `name` that may run now: the approved version of an
    /// enabled skill, or the refusal that says why there is none. Read from
    /// the store, so a revocation or disable is seen as soon as it commits.
    pub fn approved(&self, name: &SkillName) -> Result<SkillVersion, RegistryError> {
        let skill = self.skill(name)?;
        if skill.disabled {
            return Err(RegistryError::Disabled {
                name: name.to_string(),
            });
        }
        skill
            .approved()
            .cloned()
            .ok_or_else(|| refusal_without_approval(&skill))
    }

    /// The bytes of `name`'s module `digest`, read back from the module
    /// store and re-hashed: bytes that no longer hash to `digest` are
    /// `skill.digest_mismatch`. Called when a component is loaded into
    /// memory, so what runs is what was verified.
    pub fn verified_module(
        &self,
        name: &SkillName,
        digest: &ModuleDigest,
    ) -> Result<Vec<u8>, RegistryError> {
        self.modules.get(digest).map_err(|e| match e {
            ModuleReadError::Missing => RegistryError::ModuleMissing {
                name: name.to_string(),
                digest: digest.to_string(),
            },
            ModuleReadError::Changed => RegistryError::DigestMismatch {
                name: name.to_string(),
                expected: digest.to_string(),
            },
            ModuleReadError::Io(e) => {
                RegistryError::Io(format!("cannot read the module of {name}: {e}"))
            }
        })
    }

    /// See [`RegistryStore::runnable_digests`].
    pub fn runnable_digests(&self) -> Result<Vec<(String, String)>, RegistryError> {
        self.store.runnable_digests()
    }

    /// See [`RegistryStore::change_counter`].
    pub fn change_counter(&self) -> Result<u64, RegistryError> {
        self.store.change_counter()
    }
}

/// Why a skill with no approved version cannot run: judged by its newest
/// version, so "pending" wins over an older rejection.
fn refusal_without_approval(skill: &SkillRecord) -> RegistryError {
    let name = skill.name.to_string();
    let pending: Vec<String> = skill
        .versions
        .iter()
        .filter(|v| v.state == VersionState::Pending)
        .map(|v| v.digest.to_string())
        .collect();
    if !pending.is_empty() {
        return RegistryError::Pending {
            name,
            digests: pending.join(", "),
        };
    }
    match skill.versions.first().map(|v| v.state) {
        Some(VersionState::Rejected) => RegistryError::Rejected { name },
        _ => RegistryError::Revoked { name },
    }
}
