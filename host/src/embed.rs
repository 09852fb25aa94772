//! [`Host`]: the library API for agent runtimes that embed skillhost.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::Caller;
use crate::config::HostConfig;
use crate::sandbox::Invocation;
use crate::skill_host::{HostError, SkillHost, SkillInfo};

/// A running host: registry, engine, checker and audit log behind one
/// cheap-to-clone handle. Clone it into every task that needs it; all clones
/// share one engine, one instance pool, one rate limiter and one audit chain.
///
/// Every call goes through the same checker pipeline as the CLI, HTTP API
/// and MCP server (see [`SkillHost::invoke`]); there is no way around it.
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

    /// Wrap an existing [`SkillHost`] (started elsewhere) and watch its
    /// registry.
    pub fn from_arc(inner: Arc<SkillHost>) -> Self {
        SkillHost::watch_registry(&inner);
        Host { inner }
    }

    /// Invoke the approved version of `skill` with JSON `input` for
    /// `caller`. `Err` means the skill did not run (and says why, with a
    /// stable code); `Ok` carries the invocation, whose `result` may still
    /// be a failure inside the sandbox.
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

    /// The shared [`SkillHost`], for owner operations.
    pub fn shared(&self) -> &Arc<SkillHost> {
        &self.inner
    }
}

impl Deref for Host {
    type Target = SkillHost;

    fn deref(&self) -> &SkillHost {
        &self.inner
    }
}
