//! The runnable view: what the pipeline needs to run an approved skill —
//! its approved version, compiled schemas, effective limits, parsed
//! destinations and decrypted secrets — kept in memory between calls, so an
//! invocation costs no query and no decryption.
//!
//! Invalidation: every call first reads the registry's change counter
//! ([`Registry::change_counter`](crate::registry::Registry::change_counter),
//! one `PRAGMA data_version` on SQLite). It moves on every commit, from
//! this process or another (the owner's CLI beside a running server), and
//! when it has moved the whole view is dropped and rebuilt from the store
//! on demand. So a revoke, disable, new grant or changed secret refuses or
//! changes the very next invocation that starts after it commits. Only
//! runnable skills are kept; refusals are always read from the store.
//! Decrypted secrets live here in zeroizing memory until the next change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::checker::Schemas;
use crate::config::Limits;
use crate::egress::Rule;
use crate::registry::{SkillName, SkillVersion};
use crate::secrets::{SecretError, SecretGrants};

/// One runnable skill, as the pipeline runs it.
#[derive(Debug)]
pub(super) struct ReadySkill {
    pub version: SkillVersion,
    pub schemas: Arc<Schemas>,
    pub limits: Limits,
    pub destinations: Arc<[Rule]>,
    pub secrets: Arc<SecretGrants>,
}

impl ReadySkill {
    /// Whether this entry may be kept until the next change: a secret
    /// whose value could not be read for a reason the store's change
    /// counter would not show (an I/O error, say) is read again next call.
    pub fn settled(&self) -> bool {
        self.secrets.values.iter().all(|v| {
            matches!(
                v,
                Ok(_) | Err(SecretError::NotSet(_) | SecretError::NoKey(_) | SecretError::Decrypt(_))
            )
        })
    }
}

/// Entries read from the store under one value of its change counter, all
/// dropped when the counter moves; at most `max` of them (past that, all
/// are dropped and read again as needed, so an attacker who can make
/// lookups cannot grow it).
pub(super) struct CounterCache<K, V> {
    max: usize,
    inner: Mutex<(Option<u64>, HashMap<K, V>)>,
}

impl<K: std::hash::Hash + Eq, V: Clone> CounterCache<K, V> {
    pub fn new(max: usize) -> Self {
        CounterCache {
            max,
            inner: Mutex::new((None, HashMap::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Option<u64>, HashMap<K, V>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry for `key` if it was read under `counter`; a different
    /// counter drops every entry first.
    pub fn get(&self, counter: u64, key: &K) -> Option<V> {
        let mut inner = self.lock();
        if inner.0 != Some(counter) {
            inner.1.clear();
            inner.0 = Some(counter);
            return None;
        }
        inner.1.get(key).cloned()
    }

    /// Drop every entry if the store moved past what they were read under:
    /// called by the change poller, so that what a change removed (a
    /// decrypted secret, a revoked token's record) leaves memory within a
    /// poll even when no call comes to look.
    pub fn sync(&self, counter: u64) {
        let mut inner = self.lock();
        if inner.0.is_some_and(|c| c != counter) {
            inner.1.clear();
            inner.0 = Some(counter);
        }
    }

    /// Keep `value`, read from the store under `counter`, unless the cache
    /// has moved on to another counter meanwhile (then it may be stale).
    pub fn keep(&self, counter: u64, key: K, value: V) {
        let mut inner = self.lock();
        if inner.0 != Some(counter) {
            return;
        }
        if inner.1.len() >= self.max {
            inner.1.clear();
        }
        inner.1.insert(key, value);
    }
}

/// Runnable skills by name.
pub(super) type RunnableView = CounterCache<SkillName, Arc<ReadySkill>>;

/// Most runnable skills the view keeps; past it, it starts again empty.
pub(super) const VIEW_MAX: usize = 16_384;

/// Most token records kept. Only tokens that exist are kept, so unknown ids
/// presented by an attacker never take a place.
pub(super) const TOKENS_MAX: usize = 4_096;
