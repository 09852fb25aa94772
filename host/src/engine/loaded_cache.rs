//! The one cache of loaded components: verified, deserialised and
//! pre-instantiated skills, keyed by the digest of the bytes they were
//! loaded from, bounded by bytes (`engine.loaded_bytes_max`), least recently
//! used evicted first.
//!
//! Invalidation: an entry is keyed by a content digest, so it can never go
//! stale: the bytes it was verified against are the bytes the digest names.
//! What decides *whether* a digest may run (approval, revocation, disable)
//! is never cached here; the pipeline asks the registry view first. An
//! evicted entry is loaded again by the same path as a first load: bytes
//! read back from the module store, re-hashed, then compiled or taken from
//! the authenticated artifact cache. Eviction drops only the cache's
//! reference: a call in flight holds its own `Arc` and finishes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::LoadedSkill;
use crate::digest::ModuleDigest;

/// What the cache holds and has done, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadedStats {
    /// Bytes accounted to the loaded components (their code memory).
    pub bytes: u64,
    /// Components loaded now.
    pub entries: u64,
    /// Calls that found their component loaded.
    pub hits: u64,
    /// Loads: calls that read the module back, re-hashed and loaded it.
    pub misses: u64,
    /// Components dropped to stay within the bound.
    pub evictions: u64,
}

struct Entry {
    skill: Arc<LoadedSkill>,
    bytes: u64,
    /// Logical clock of the last use; the smallest is evicted first.
    used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<ModuleDigest, Entry>,
    bytes: u64,
    clock: u64,
    /// Loads in progress, one gate per digest.
    loading: HashMap<ModuleDigest, Arc<tokio::sync::Mutex<()>>>,
}

/// A byte-bounded LRU of loaded components.
pub struct LoadedCache {
    max_bytes: u64,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl std::fmt::Debug for LoadedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedCache")
            .field("stats", &self.stats())
            .finish()
    }
}

impl LoadedCache {
    /// A cache that holds at most `max_bytes` of components. The newest
    /// component is always kept, even alone over the bound: a skill bigger
    /// than the bound still runs, it is just never kept beside others.
    pub fn new(max_bytes: u64) -> Self {
        LoadedCache {
            max_bytes,
            inner: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The loaded component for `digest`, if it is loaded (a hit).
    pub fn get(&self, digest: &ModuleDigest) -> Option<Arc<LoadedSkill>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(digest)?;
        entry.used = now;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.skill.clone())
    }

    /// The gate that makes loads of `digest` one at a time: whoever holds
    /// it loads, the others wait, then find the component loaded. Without
    /// it, 64 first calls to a large component would compile it 64 times.
    pub fn load_gate(&self, digest: &ModuleDigest) -> Arc<tokio::sync::Mutex<()>> {
        self.lock().loading.entry(*digest).or_default().clone()
    }

    /// Retire the load gate of `digest` after a load that failed (the next
    /// call tries again, through a new gate).
    pub fn load_failed(&self, digest: &ModuleDigest) {
        self.lock().loading.remove(digest);
    }

    /// Keep `skill` (just loaded from the bytes `digest` names: a miss),
    /// evicting the least recently used others until the bound holds, and
    /// retire the load gate of `digest`.
    pub fn insert(&self, digest: ModuleDigest, skill: Arc<LoadedSkill>) -> Arc<LoadedSkill> {
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.keep(digest, skill)
    }

    /// Keep `skill`, compiled from the bytes `digest` names for another
    /// reason than a call (a skill being added), without counting a miss;
    /// otherwise as [`insert`](Self::insert).
    pub fn keep(&self, digest: ModuleDigest, skill: Arc<LoadedSkill>) -> Arc<LoadedSkill> {
        let bytes = skill.size_bytes();
        let mut inner = self.lock();
        inner.loading.remove(&digest);
        inner.clock += 1;
        let now = inner.clock;
        if let Some(existing) = inner.entries.get_mut(&digest) {
            existing.used = now;
            return existing.skill.clone();
        }
        while inner.bytes + bytes > self.max_bytes {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(d, _)| *d)
            else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.bytes -= gone.bytes;
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.bytes += bytes;
        inner.entries.insert(
            digest,
            Entry {
                skill: skill.clone(),
                bytes,
                used: now,
            },
        );
        skill
    }

    /// Counters and sizes now.
    pub fn stats(&self) -> LoadedStats {
        let inner = self.lock();
        LoadedStats {
            bytes: inner.bytes,
            entries: inner.entries.len() as u64,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}
