//! Change notifications: which skills can run right now.
//!
//! The *runnable set* is every skill that is enabled and has an approved
//! version, with that version's digest. Subscribers (the library's
//! [`Host::subscribe`](crate::Host::subscribe), MCP's `tools/list_changed`)
//! are told when it changes. Decisions made through this host are noticed at
//! once; decisions made by another process on the same data dir (the owner's
//! CLI next to a running server) are noticed by [`SkillHost::notice_changes`],
//! which a background task calls every [`POLL`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::*;

/// How often a long-running host re-reads the registry for decisions made by
/// other processes.
pub const POLL: Duration = Duration::from_secs(1);

/// A skill an agent runtime can call: enabled, with an approved version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkillInfo {
    /// The skill's name, as callers invoke it.
    pub name: String,
    /// The version string the skill declared.
    pub version: String,
    /// What the skill does, in its own words (untrusted text).
    pub description: String,
    /// The approved digest (`sha256:…`).
    pub digest: String,
    /// JSON Schema the input must match; checked before the skill runs.
    pub input_schema: Value,
    /// JSON Schema the output must match, if the skill declared one.
    pub output_schema: Option<Value>,
    /// The outbound HTTP rules the owner granted, normalised
    /// (`GET https://api.example.com:443/v1/`); empty: no network.
    pub http: Vec<String>,
}

impl SkillInfo {
    fn of(v: &SkillVersion) -> Self {
        SkillInfo {
            name: v.name.to_string(),
            version: v.declared.version.clone(),
            description: v.declared.description.clone(),
            digest: v.digest.to_string(),
            input_schema: v.declared.input_schema.clone(),
            output_schema: v.declared.output_schema.clone(),
            http: v
                .granted
                .iter()
                .flat_map(|g| &g.http)
                .filter_map(|r| Rule::parse_stored(r).ok())
                .map(|r| r.to_string())
                .collect(),
        }
    }
}

/// The state behind [`SkillHost::subscribe`].
pub(super) struct Changes {
    generation: tokio::sync::watch::Sender<u64>,
    fingerprint: Mutex<Option<[u8; 32]>>,
    /// The registry's change counter at the last look.
    counter: AtomicU64,
}

impl Changes {
    pub(super) fn new() -> Self {
        Changes {
            generation: tokio::sync::watch::Sender::new(0),
            fingerprint: Mutex::new(None),
            counter: AtomicU64::new(u64::MAX),
        }
    }
}

impl SkillHost {
    /// Every runnable skill (enabled, approved), sorted by name.
    pub fn runnable(&self) -> Result<Vec<SkillInfo>, HostError> {
        Ok(self
            .registry
            .skills()?
            .iter()
            .filter(|r| !r.disabled)
            .filter_map(|r| r.approved().map(SkillInfo::of))
            .collect())
    }

    /// The runnable skills `caller` may see.
    pub fn runnable_for(&self, caller: &Caller) -> Result<Vec<SkillInfo>, HostError> {
        let mut all = self.runnable()?;
        all.retain(|s| caller.may_use(&s.name));
        Ok(all)
    }

    /// A receiver that wakes (`changed()`) whenever the runnable set
    /// changes. The value is a generation counter; only its change matters.
    ///
    /// The first subscriber takes the baseline that later looks compare
    /// against (one read of the runnable set); until then nobody is told
    /// anything, so opening a host reads nothing per skill.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        let rx = self.changes.generation.subscribe();
        if let Err(e) = self.notice_changes() {
            tracing::warn!(code = e.code(), "cannot read the runnable set: {e}");
        }
        rx
    }

    /// Re-read the runnable set and wake subscribers if it changed since the
    /// last look. Returns whether it changed.
    pub fn notice_changes(&self) -> Result<bool, HostError> {
        let counter = self.registry.change_counter()?;
        self.view.sync(counter);
        self.tokens.sync(counter);
        // Nothing committed since the last look: the set cannot have
        // changed, and the poller costs one pragma, whatever the number of
        // skills.
        if self.changes.counter.swap(counter, Ordering::SeqCst) == counter
            && self
                .changes
                .fingerprint
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some()
        {
            return Ok(false);
        }
        // Read under the lock: two lookers (a decision and the poller) must
        // not interleave, or an older reading could overwrite a newer one
        // and wake subscribers for nothing.
        let mut last = self
            .changes
            .fingerprint
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // No baseline and nobody to tell: leave the set unread (see
        // `subscribe`).
        if last.is_none() && self.changes.generation.receiver_count() == 0 {
            return Ok(false);
        }
        let mut hash = Sha256::new();
        for (name, digest) in self.registry.runnable_digests()? {
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(digest.as_bytes());
            hash.update([0]);
        }
        let now: [u8; 32] = hash.finalize().into();
        let changed = last.is_some_and(|l| l != now);
        *last = Some(now);
        drop(last);
        if changed {
            self.changes.generation.send_modify(|g| *g += 1);
        }
        Ok(changed)
    }

    /// Poll the registry every [`POLL`] for decisions made by other
    /// processes (and write the summaries of repeated refusals whose
    /// interval ended), for as long as `host` is alive elsewhere.
    pub fn watch_registry(host: &Arc<SkillHost>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(host);
        let _ = host.notice_changes();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(host) = weak.upgrade() else { return };
                if let Err(e) = host.notice_changes() {
                    tracing::warn!(code = e.code(), "cannot re-read the registry: {e}");
                }
                // Summaries of repeated refusals whose interval ended.
                if let Err(e) = host.flush_repeats(false).await {
                    tracing::warn!(code = e.code(), "cannot write a repeat summary: {e}");
                }
            }
        })
    }
}
