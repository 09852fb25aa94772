//! [`SkillHost`]: the registry, the engine and the audit sink together. Every
//! owner decision and every invocation goes through here, and each one —
//! allowed or refused — is an audit event.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use tracing::Instrument;

use crate::audit::{AuditEvent, AuditSink, AuditUnavailable, Metrics};
use crate::auth::{AuthError, Caller, NewToken, Role, TokenRecord};
use crate::checker::{CheckError, Checker, Schemas};
use crate::codes::{self, Code};
use crate::config::{HostConfig, Limits};
use crate::contract;
use crate::digest::ModuleDigest;
use crate::egress::Rule;

use crate::engine::{LoadError, LoadedCache, LoadedSkill, SkillEngine, Slot};
use crate::registry::{
    Actor, Declared, Inserted, LimitSet, Narrowing, Permissions, Registry, RegistryError,
    SkillName, SkillRecord, SkillVersion,
};
use crate::sandbox::{CheckedInput, Invocation, InvokeError, check_input};

mod changes;
mod credentials;
mod invoke;
mod owner;
mod repeats;
mod trial;
mod view;

pub use trial::{Trial, TrialAttempt};

use view::{CounterCache, ReadySkill, RunnableView};

#[cfg_attr(not(feature = "internal"), allow(unused_imports))] // tests and benches
pub use changes::{POLL, SkillInfo};

use crate::secrets::{MasterKey, Redactor, SecretError, SecretSummary, Vault};
#[cfg_attr(not(feature = "internal"), allow(unused_imports))] // tests and benches
pub use owner::declared_from;

/// Why a host operation was refused before or instead of running a skill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The registry refused or failed: an unknown, pending, rejected,
    /// revoked or disabled skill, a module whose bytes no longer match the
    /// approved digest, a refused owner decision, or a storage failure.
    /// Codes `skill.*`, `registry.*`, or `host.io` for a file it could not
    /// read or write.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The module could not be loaded as a skill component (`module.invalid`,
    /// `contract.version_mismatch`).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The skill's `metadata` call failed while adding it.
    #[error("reading the skill's metadata failed: {0}")]
    Metadata(InvokeError),
    /// The audit record could not be written, so the operation's result is
    /// withheld: nothing happens unaudited. Code `audit.unavailable`.
    #[error(transparent)]
    Audit(#[from] AuditUnavailable),
    /// A pre-run check refused the invocation: a rate limit, the
    /// concurrency cap, or the input schema (`rate.limited`, `rate.busy`,
    /// `input.schema_invalid`).
    #[error(transparent)]
    Check(#[from] CheckError),
    /// A secret operation was refused or failed. Codes `secret.*`.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The caller was not authenticated or may not do this (`auth.failure`,
    /// `auth.forbidden`, `auth.invalid`).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The input was refused before the sandbox started.
    #[error("{0}")]
    Input(InvokeError),
    /// The input is over the cap by an unknown amount: it was read no
    /// further (a pipe or a device, e.g. the CLI's stdin).
    #[error("input is more than {limit} bytes; the limit is {limit}")]
    InputOverCap {
        /// The input cap, in bytes.
        limit: u64,
    },
    /// The configuration is invalid.
    #[error("invalid config: {0}")]
    Config(String),
    /// The host failed unexpectedly (e.g. the invocation task panicked).
    #[error("internal error: {0}")]
    Internal(String),
}

impl HostError {
    /// The stable code for this refusal (see [`crate::codes`]).
    pub fn code(&self) -> Code {
        match self {
            HostError::Registry(e) => e.code(),
            HostError::Load(e) => e.code(),
            HostError::Metadata(e) => e.code(),
            HostError::Audit(e) => e.code(),
            HostError::Check(e) => e.code(),
            HostError::Secret(e) => e.code(),
            HostError::Auth(e) => e.code(),
            HostError::Input(e) => e.code(),
            HostError::InputOverCap { .. } => codes::INPUT_TOO_LARGE,
            HostError::Config(_) => codes::HOST_CONFIG,
            HostError::Internal(_) => codes::HOST_INTERNAL,
        }
    }

    /// A JSON body for callers: `{"code": ..., "message": ..., ...details}`.
    pub fn to_json(&self) -> Value {
        match self {
            HostError::Load(e) => e.to_json(),
            HostError::Check(e) => e.to_json(),
            HostError::Input(e) => e.to_json(),
            HostError::InputOverCap { limit } => {
                json!({ "code": self.code(), "message": self.to_string(), "limit": limit })
            }
            HostError::Metadata(e) => {
                let mut v = e.to_json();
                v["message"] = self.to_string().into();
                v
            }
            _ => json!({ "code": self.code(), "message": self.to_string() }),
        }
    }
}

/// Limits for the `metadata` call made while adding a skill: the module is
/// not approved yet, so it gets far less than an approved invocation.
pub fn metadata_limits(host: &Limits) -> Limits {
    Limits {
        timeout_ms: host.timeout_ms.min(2_000),
        fuel: host.fuel.min(100_000_000),
        memory_bytes: host.memory_bytes.min(32 << 20),
        http_requests: 0,
        ..host.clone()
    }
}

/// The limits one invocation runs under: the owner's configuration, lowered
/// by whatever was granted. A grant can only lower a limit.
pub fn effective_limits(host: &Limits, granted: &LimitSet) -> Limits {
    let lower = |base: u64, grant: Option<u64>| grant.map_or(base, |g| base.min(g.max(1)));
    Limits {
        timeout_ms: lower(host.timeout_ms, granted.timeout_ms),
        memory_bytes: lower(host.memory_bytes, granted.memory_bytes),
        output_bytes: lower(host.output_bytes, granted.output_bytes),
        // Coarser only: a grant never sharpens the clocks past the host's.
        clock_resolution_us: granted
            .clock_resolution_us
            .map_or(host.clock_resolution_us, |g| {
                host.clock_resolution_us.max(g)
            }),
        ..host.clone()
    }
}

/// The outcome of adding a skill.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Added {
    /// A new pending version, waiting for the owner.
    Pending(SkillVersion),
    /// These bytes were already registered; nothing changed.
    Unchanged(SkillVersion),
}

impl Added {
    /// The version added, or the one these bytes already were.
    pub fn version(&self) -> &SkillVersion {
        match self {
            Added::Pending(v) | Added::Unchanged(v) => v,
        }
    }
}

/// Registry + engine + checker + audit. Share it behind an `Arc`, or use
/// [`Host`](crate::Host), which does that for you.
pub struct SkillHost {
    config: HostConfig,
    engine: SkillEngine,
    registry: Registry,
    checker: Checker,
    audit: Arc<AuditSink>,
    /// Runnable skills as the pipeline needs them (see [`view`]).
    view: RunnableView,
    /// Token records by id, read again after any store change, so a
    /// revocation refuses the next request (see [`view`]).
    tokens: CounterCache<String, TokenRecord>,
    /// Loaded components, bounded by bytes (see [`LoadedCache`]).
    loaded: LoadedCache,
    key: Option<MasterKey>,
    changes: changes::Changes,
    metrics: crate::metrics::Metrics,
    /// Where the durable audit log lives (`None`: in memory).
    data_dir: Option<std::path::PathBuf>,
    /// Repeated refusals being counted (see [`crate::audit::repeats`]).
    repeats: crate::audit::repeats::Repeats,
}

impl std::fmt::Debug for SkillHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillHost")
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

fn outcome_of(code: Code) -> &'static str {
    if code == codes::OK { "ok" } else { "denied" }
}

impl SkillHost {
    /// The persistent host in `data_dir`: registry, module store, artifact
    /// cache and audit log all live there.
    pub async fn open(config: &HostConfig, data_dir: &Path) -> Result<Self, HostError> {
        let registry = Registry::open(data_dir)?;
        let audit = Arc::new(AuditSink::open(data_dir, &config.audit).await?);
        // No key is fine until a secret is used; a bad key is an error now.
        let key = match MasterKey::load(&data_dir.join(crate::secrets::key::FILE)) {
            Ok(k) => Some(k),
            Err(SecretError::NoKey(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let host = SkillHost {
            config: config.clone(),
            engine: SkillEngine::new(config, Some(data_dir), key.as_ref())?,
            registry,
            checker: Checker::new(config),
            audit,
            view: RunnableView::new(view::VIEW_MAX),
            tokens: CounterCache::new(view::TOKENS_MAX),
            loaded: LoadedCache::new(config.engine.loaded_bytes_max),
            key,
            changes: changes::Changes::new(),
            metrics: crate::metrics::Metrics::default(),
            data_dir: Some(data_dir.to_path_buf()),
            repeats: repeats_for(config),
        };
        host.notice_changes()?;
        Ok(host)
    }

    /// A host whose registry and audit log live only in memory (the dev
    /// loop). `cache_dir`, if given, holds the compiled-artifact cache,
    /// which is used only if the master key (`SKILLHOST_MASTER_KEY` or
    /// `<cache_dir>/master.key`) is there to authenticate it. The host has
    /// no secrets either way.
    pub fn ephemeral(config: &HostConfig, cache_dir: Option<&Path>) -> Result<Self, HostError> {
        let cache_key = cache_dir.and_then(|dir| {
            MasterKey::load(&dir.join(crate::secrets::key::FILE))
                .inspect_err(|e| {
                    if !matches!(e, SecretError::NoKey(_)) {
                        tracing::warn!(error = %e, "no artifact cache");
                    }
                })
                .ok()
        });
        let host = SkillHost {
            config: config.clone(),
            engine: SkillEngine::new(config, cache_dir, cache_key.as_ref())?,
            registry: Registry::ephemeral()?,
            checker: Checker::new(config),
            audit: Arc::new(AuditSink::in_memory()),
            view: RunnableView::new(view::VIEW_MAX),
            tokens: CounterCache::new(view::TOKENS_MAX),
            loaded: LoadedCache::new(config.engine.loaded_bytes_max),
            key: None,
            changes: changes::Changes::new(),
            metrics: crate::metrics::Metrics::default(),
            data_dir: None,
            repeats: repeats_for(config),
        };
        host.notice_changes()?;
        Ok(host)
    }

    #[cfg(any(test, feature = "internal"))] // tests and benches
    pub fn audit(&self) -> &AuditSink {
        &self.audit
    }

    /// The audit log's batch-size histogram, for `/metrics`.
    pub(crate) fn audit_batches_metrics(&self) -> String {
        self.audit.render_batches()
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Audit records matching `query` (the durable log, or the in-memory
    /// one of an ephemeral host).
    pub fn audit_query(
        &self,
        query: &crate::audit::Query,
    ) -> Result<Vec<crate::audit::AuditRecord>, HostError> {
        match &self.data_dir {
            Some(dir) => query.read_log(dir).map_err(|e| {
                HostError::Audit(AuditUnavailable(format!("cannot read the audit log: {e}")))
            }),
            None => Ok(query.select(self.audit.memory_records())),
        }
    }

    /// Invocation, egress and authentication counters.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The engine (e.g. for its instance counters).
    pub fn engine(&self) -> &SkillEngine {
        &self.engine
    }

    /// The loaded-component cache's counters and sizes.
    pub fn loaded_stats(&self) -> crate::engine::LoadedStats {
        self.loaded.stats()
    }

    async fn record(&self, event: AuditEvent) -> Result<(), AuditUnavailable> {
        self.audit.record(event).await
    }

    /// Write `<kind>.start` durably, naming what is about to be decided;
    /// only then may the decision take effect. An owner decision is never
    /// live without its record: a crash after this leaves a start record and
    /// at most the decision, never the decision alone.
    async fn intent(
        &self,
        kind: &'static str,
        actor: &str,
        skill: &str,
        digest: Option<&ModuleDigest>,
        detail: Value,
    ) -> Result<(), HostError> {
        self.record(AuditEvent {
            kind: format!("{kind}.start"),
            code: codes::OK.into(),
            outcome: "ok".into(),
            actor: actor.into(),
            skill: (!skill.is_empty()).then(|| skill.to_string()),
            digest: digest.map(|d| d.to_string()),
            detail,
            ..AuditEvent::default()
        })
        .await?;
        Ok(())
    }

    /// An owner decision, audited before and after: [`intent`](Self::intent)
    /// first, then `apply`, then the outcome record.
    #[allow(clippy::too_many_arguments)]
    async fn decision<T>(
        &self,
        kind: &'static str,
        actor: &str,
        skill: &str,
        digest: Option<&ModuleDigest>,
        intent: Value,
        apply: impl FnOnce() -> Result<T, HostError>,
        detail: impl FnOnce(&T) -> Value,
    ) -> Result<T, HostError> {
        self.intent(kind, actor, skill, digest, intent).await?;
        let result = apply();
        self.audited(kind, actor, skill, digest, result, detail)
            .await
    }

    /// Audit the outcome of an owner operation, then return it. A refusal
    /// is audited too; if the audit log fails, that failure is returned.
    async fn audited<T>(
        &self,
        kind: &'static str,
        actor: &str,
        skill: &str,
        digest: Option<&ModuleDigest>,
        result: Result<T, HostError>,
        detail: impl FnOnce(&T) -> Value,
    ) -> Result<T, HostError> {
        let (code, detail) = match &result {
            Ok(v) => (codes::OK, detail(v)),
            Err(e) => (e.code(), json!({ "message": e.to_string() })),
        };
        self.record(AuditEvent {
            kind: kind.into(),
            code: code.into(),
            outcome: outcome_of(code).into(),
            actor: actor.into(),
            skill: (!skill.is_empty()).then(|| skill.to_string()),
            digest: digest.map(|d| d.to_string()),
            detail,
            ..AuditEvent::default()
        })
        .await?;
        result
    }

    fn name(raw: &str) -> Result<SkillName, HostError> {
        SkillName::parse(raw).map_err(|reason| RegistryError::invalid_name(raw, reason).into())
    }
}

fn repeats_for(config: &HostConfig) -> crate::audit::repeats::Repeats {
    crate::audit::repeats::Repeats::new(std::time::Duration::from_secs(
        config.audit.repeat_interval_secs,
    ))
}

/// Decision time for registry records (RFC 3339, UTC).
fn audit_time() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_only_lower_limits() {
        let host = Limits::default();
        let granted = LimitSet {
            timeout_ms: Some(1_000),
            memory_bytes: Some(u64::MAX),
            output_bytes: None,
            clock_resolution_us: Some(1),
        };
        let l = effective_limits(&host, &granted);
        assert_eq!(
            l.clock_resolution_us, host.clock_resolution_us,
            "never sharper"
        );
        assert_eq!(l.timeout_ms, 1_000);
        assert_eq!(l.memory_bytes, host.memory_bytes);
        assert_eq!(l.output_bytes, host.output_bytes);
        // A zero grant cannot disable a limit check by making it 0.
        let zero = LimitSet {
            timeout_ms: Some(0),
            ..LimitSet::default()
        };
        assert_eq!(effective_limits(&host, &zero).timeout_ms, 1);
    }
}
