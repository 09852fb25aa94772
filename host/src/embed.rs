//! [`Host`]: the library API for agent runtimes that embed skillhost.

use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use crate::audit::{AuditRecord, Query as AuditQuery};
use crate::auth::{Caller, NewToken, Role, TokenRecord};
use crate::config::HostConfig;
use crate::digest::ModuleDigest;
use crate::engine::gc::Collected;
use crate::metrics::Metrics;
use crate::registry::{Narrowing, SkillRecord, SkillVersion};
use crate::sandbox::Invocation;
use crate::secrets::{MasterKey, SecretSummary};
use crate::skill_host::Trial;
use crate::skill_host::{Added, HostError, SkillHost, SkillInfo};

/// A running host: registry, engine, checker and audit log behind one
/// cheap-to-clone handle. Clone it into every task that needs it; all clones
/// share one engine, one instance pool, one rate limiter and one audit chain.
///
/// This is the library's one door. Every invocation goes through the same
/// checker pipeline as the CLI, HTTP API and MCP server (see
/// [`invoke`](Self::invoke)), and every owner decision writes its audit
/// record before it takes effect. The crate offers no engine, registry or
/// store to reach past it: a module runs only once added and approved.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use skillhost::{Caller, Host, HostConfig};
///
/// let dir = tempfile::tempdir()?;
/// // Safe defaults: deny-all egress, 10 s / 64 MiB / 1e9 fuel per call.
/// let host = Host::open(HostConfig::default(), dir.path()).await?;
///
/// // Nothing is approved yet, so nothing is listed and nothing runs.
/// let me = Caller::local("my-agent");
/// assert!(host.skills(&me)?.is_empty());
/// let err = host.invoke("echo", r#"{"text":"hi"}"#, &me).await.unwrap_err();
/// assert_eq!(err.code(), "skill.not_found");
///
/// // Wake up when an owner approves, revokes, disables or enables a skill
/// // (in this process or through the CLI on the same data dir).
/// let mut changes = host.subscribe();
/// tokio::spawn(async move {
///     while changes.changed().await.is_ok() {
///         // re-list tools here
///     }
/// });
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Host {
    inner: Arc<SkillHost>,
}

impl Host {
    /// Open (or create) the host in `data_dir` and start watching its
    /// registry for decisions made by other processes. Must be called inside
    /// a tokio runtime.
    pub async fn open(config: HostConfig, data_dir: impl AsRef<Path>) -> Result<Self, HostError> {
        config
            .validate()
            .map_err(|e| HostError::Config(e.to_string()))?;
        let inner = Arc::new(SkillHost::open(&config, data_dir.as_ref()).await?);
        SkillHost::watch_registry(&inner);
        Ok(Host { inner })
    }

    /// A host whose registry and audit log live only in memory, for
    /// trying out a module (`skillhost dev`): the same pipeline, so a module
    /// still runs only once [`add`](Self::add)ed and
    /// [`approve`](Self::approve)d, and every decision is an audit record,
    /// kept in memory ([`audit_query`](Self::audit_query)) and gone with
    /// the host. It has no secrets. `cache_dir`, if given, holds the
    /// compiled-artifact cache, used only if the master key
    /// (`SKILLHOST_MASTER_KEY` or `<cache_dir>/master.key`) is there to
    /// authenticate it.
    pub fn ephemeral(config: HostConfig, cache_dir: Option<&Path>) -> Result<Self, HostError> {
        config
            .validate()
            .map_err(|e| HostError::Config(e.to_string()))?;
        Ok(Host {
            inner: Arc::new(SkillHost::ephemeral(&config, cache_dir)?),
        })
    }

    /// Invoke the approved version of `skill` with JSON `input` for
    /// `caller`.
    ///
    /// The checks, in this order and nowhere else:
    ///
    /// 1. the caller's scope (`auth.forbidden`);
    /// 2. the name is valid (`registry.invalid_name`);
    /// 3. the skill exists, is enabled and has an approved version whose
    ///    bytes still hash to the approved digest (`skill.*`);
    /// 4. rate limits: caller, skill, global (`rate.limited`);
    /// 5. a concurrency slot (`rate.busy`);
    /// 6. input size and JSON syntax (`limits.input_too_large`,
    ///    `input.invalid_json`);
    /// 7. the input schema (`input.schema_invalid`);
    /// 8. an `invoke.start` audit record is made durable; if it cannot be,
    ///    nothing runs (`audit.unavailable`);
    /// 9. the sandbox, with the granted limits and egress (each request is
    ///    on the record, `egress.start`, before it is sent);
    /// 10. the output schema, if declared (`output.schema_invalid`);
    /// 11. the `invoke` audit record (and one per egress attempt) is made
    ///     durable before the result is returned.
    ///
    /// Refusals are audited as `invoke` records with outcome `denied`.
    /// `Err` means the skill did not run (and says why, with a stable
    /// code); `Ok` carries the invocation, whose `result` may still be a
    /// failure inside the sandbox.
    ///
    /// Cancellation-safe: the invocation runs in its own task, so dropping
    /// this future (a client that hung up, a timeout) does not cut it short,
    /// and its audit record is always written.
    pub async fn invoke(
        &self,
        skill: &str,
        input: &str,
        caller: &Caller,
    ) -> Result<Invocation, HostError> {
        let inner = self.inner.clone();
        let (skill, input, caller) = (skill.to_string(), input.to_string(), caller.clone());
        tokio::spawn(async move { inner.invoke_as(&caller, &skill, &input).await })
            .await
            .map_err(|e| HostError::Internal(format!("the invocation task failed: {e}")))?
    }

    /// Refuse an invocation of `skill` that cannot start because of `why`
    /// (input that could not be taken in whole: over the cap, not UTF-8):
    /// the same audited `invoke` refusal the pipeline writes. Returns the
    /// error to hand back, or `audit.unavailable`.
    pub async fn refuse_invocation(
        &self,
        skill: &str,
        caller: &Caller,
        why: HostError,
    ) -> HostError {
        self.inner
            .refused(&caller.name, skill, None, None, why)
            .await
    }

    /// The runnable skills (enabled, approved) `caller` may use, with their
    /// schemas, sorted by name.
    pub fn skills(&self, caller: &Caller) -> Result<Vec<SkillInfo>, HostError> {
        self.inner.runnable_for(caller)
    }

    /// Authenticate a presented token (`skh_…`). Every failure is audited
    /// as `auth.failure`.
    pub async fn authenticate(&self, token: &str) -> Result<Caller, HostError> {
        self.inner.authenticate(token).await
    }

    /// Notified whenever the set of runnable skills changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.subscribe()
    }

    /// The configuration this host runs with.
    pub fn config(&self) -> &HostConfig {
        self.inner.config()
    }

    /// Invocation, egress and authentication counters.
    pub fn metrics(&self) -> &Metrics {
        self.inner.metrics()
    }

    // Owner operations. Each writes its `<kind>.start` audit record durably
    // before it takes effect and its outcome record after, naming `actor`;
    // if the log cannot be written, nothing changes (`audit.unavailable`).
    // The embedding process holds the data dir, so it is the owner: a
    // remote caller reaches these only through an owner token (HTTP API).

    /// Add a module: read its declaration in the sandbox and store it as a
    /// pending version, to be reviewed ([`show`](Self::show)) and approved.
    pub async fn add(&self, module: &[u8], actor: &str) -> Result<Added, HostError> {
        self.inner.add(module, actor).await
    }

    /// Approve the pending version of `skill` whose module hashes to
    /// `digest`, granting what it requested narrowed by `narrowing`.
    pub async fn approve(
        &self,
        skill: &str,
        digest: &ModuleDigest,
        narrowing: &Narrowing,
        actor: &str,
    ) -> Result<SkillVersion, HostError> {
        self.inner.approve(skill, digest, narrowing, actor).await
    }

    /// Run the pending version of `skill` (the newest, or `digest`) on
    /// `input` for review: the normal limits, no secret, and every outbound
    /// request recorded and refused before DNS. Returns what it tried and
    /// the smallest grant that would have allowed it; changes nothing in the
    /// registry. Audited as `skill.trial`.
    pub async fn trial(
        &self,
        skill: &str,
        digest: Option<&ModuleDigest>,
        input: &str,
        actor: &str,
    ) -> Result<Trial, HostError> {
        self.inner.trial(skill, digest, input, actor).await
    }

    /// Reject the pending version of `skill` with `digest`.
    pub async fn reject(
        &self,
        skill: &str,
        digest: &ModuleDigest,
        actor: &str,
    ) -> Result<SkillVersion, HostError> {
        self.inner.reject(skill, digest, actor).await
    }

    /// Revoke the approved version of `skill` (only if it is `digest`, when
    /// given): it never runs again.
    pub async fn revoke(
        &self,
        skill: &str,
        digest: Option<&ModuleDigest>,
        actor: &str,
    ) -> Result<SkillVersion, HostError> {
        self.inner.revoke(skill, digest, actor).await
    }

    /// Disable (`true`) or enable a skill without touching its approval.
    pub async fn set_disabled(
        &self,
        skill: &str,
        disabled: bool,
        actor: &str,
    ) -> Result<(), HostError> {
        self.inner.set_disabled(skill, disabled, actor).await
    }

    /// Remove the compiled artifacts that no approved or pending version
    /// needs, and audit it (one `gc` record). Safe while other hosts run on
    /// the same data dir. Modules are kept.
    pub async fn gc(&self, actor: &str) -> Result<Collected, HostError> {
        self.inner.gc(actor).await
    }

    /// One skill with every version and its decisions.
    pub fn show(&self, skill: &str) -> Result<SkillRecord, HostError> {
        self.inner.show(skill)
    }

    /// Every skill, in any state.
    pub fn list(&self) -> Result<Vec<SkillRecord>, HostError> {
        self.inner.list()
    }

    /// Create a caller token; the token itself is in the result and
    /// nowhere else (only its hash is stored).
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        skills: Option<Vec<String>>,
        expires_in: Option<std::time::Duration>,
        actor: &str,
    ) -> Result<NewToken, HostError> {
        self.inner
            .create_token(name, role, skills, expires_in, actor)
            .await
    }

    /// Every token's record (never a token).
    pub fn list_tokens(&self) -> Result<Vec<TokenRecord>, HostError> {
        self.inner.list_tokens()
    }

    /// Revoke the token named `name`.
    pub async fn revoke_token(&self, name: &str, actor: &str) -> Result<(), HostError> {
        self.inner.revoke_token(name, actor).await
    }

    /// Store (encrypted) the secret `name` of `skill`, bound to the `hosts`
    /// it may be sent to.
    pub async fn set_secret(
        &self,
        skill: &str,
        name: &str,
        value: zeroize::Zeroizing<String>,
        hosts: &[String],
        actor: &str,
    ) -> Result<(), HostError> {
        self.inner
            .set_secret(skill, name, value, hosts, actor)
            .await
    }

    /// Remove a secret; `false` if there was none.
    pub async fn remove_secret(
        &self,
        skill: &str,
        name: &str,
        actor: &str,
    ) -> Result<bool, HostError> {
        self.inner.remove_secret(skill, name, actor).await
    }

    /// The stored secrets (never a value), of one skill or all.
    pub fn list_secrets(&self, skill: Option<&str>) -> Result<Vec<SecretSummary>, HostError> {
        self.inner.list_secrets(skill)
    }

    /// Re-encrypt every secret under `new_key`; the number re-encrypted.
    pub async fn rotate_key(&self, new_key: &MasterKey, actor: &str) -> Result<usize, HostError> {
        self.inner.rotate_key(new_key, actor).await
    }

    /// Audit records matching `query`, newest last.
    pub fn audit_query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, HostError> {
        self.inner.audit_query(query)
    }

    /// Write the counted repeats of aggregated refusals whose interval has
    /// ended (`all`: every one, as at shutdown).
    pub async fn flush_repeats(&self, all: bool) -> Result<(), HostError> {
        self.inner.flush_repeats(all).await
    }

    /// The host behind the door, for this crate's front ends (HTTP, MCP),
    /// which add their own checks before the pipeline.
    pub(crate) fn core(&self) -> &Arc<SkillHost> {
        &self.inner
    }
}

#[cfg(feature = "internal")]
impl Host {
    /// Wrap an existing [`SkillHost`] (started elsewhere) and watch its
    /// registry. For this project's tests and benches only.
    pub fn from_arc(inner: Arc<SkillHost>) -> Self {
        SkillHost::watch_registry(&inner);
        Host { inner }
    }

    /// The shared [`SkillHost`]. For this project's tests and benches only.
    pub fn shared(&self) -> &Arc<SkillHost> {
        &self.inner
    }
}
