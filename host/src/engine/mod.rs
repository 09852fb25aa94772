//! The wasmtime engine for skills: configuration, the epoch ticker, the
//! linker with the locked-down WASI and the `host` interface, the
//! compiled-artifact cache, and loading a component into a pre-instantiated
//! [`LoadedSkill`].

mod artifact_cache;
pub(crate) mod gc;
mod imports;
mod loaded_cache;
mod ticker;

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use artifact_cache::{ArtifactCache, Lookup};
pub use loaded_cache::{LoadedCache, LoadedStats};
pub use ticker::EpochTicker;

use crate::codes::{self, Code};
use crate::config::{HostConfig, Limits};
use crate::contract::{self, ContractCheck, Skill, SkillPre};
use crate::digest::ModuleDigest;
use crate::egress::{EgressClient, Rule};
use crate::sandbox::{self, Call, EgressGrants, Invocation, Report, SandboxState};
use crate::secrets::{MasterKey, SecretGrants};

/// Why a module could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid skill: {0}")]
    ModuleInvalid(String),
    #[error(
        "the component targets {package}@{found}, but this host supports {package}@{supported}; rebuild the skill against a compatible skillhost SDK",
        package = contract::PACKAGE
    )]
    ContractVersionMismatch { found: String, supported: String },
    #[error("engine failure: {0}")]
    Engine(String),
}

impl LoadError {
    pub fn code(&self) -> Code {
        match self {
            LoadError::ModuleInvalid(_) => codes::MODULE_INVALID,
            LoadError::ContractVersionMismatch { .. } => codes::CONTRACT_VERSION_MISMATCH,
            LoadError::Engine(_) => codes::HOST_INTERNAL,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        if let LoadError::ContractVersionMismatch { found, supported } = self {
            body["found"] = found.clone().into();
            body["supported"] = supported.clone().into();
        }
        body
    }
}

/// Where a loaded skill's machine code came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactSource {
    /// A verified entry of the artifact cache.
    Cache,
    /// Compiled now; there was no cache entry (or no cache).
    Compiled,
    /// Compiled now because the cache entry failed verification.
    Recompiled { reason: String },
}

/// Counters of what the engine ran: the proof that refused invocations never
/// started an instance, and that the concurrency cap held.
#[derive(Debug, Default)]
pub struct EngineStats {
    instances: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
}

impl EngineStats {
    /// Fresh instances started (metadata and invoke calls).
    pub fn instances(&self) -> u64 {
        self.instances.load(Ordering::SeqCst)
    }

    /// Instances running now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Most instances that ever ran at once.
    #[cfg(any(test, feature = "internal"))] // tests and benches
    pub fn peak_in_flight(&self) -> u64 {
        self.peak_in_flight.load(Ordering::SeqCst)
    }

    fn enter(self: &Arc<Self>) -> InFlight {
        self.instances.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(self.clone())
    }
}

struct InFlight(Arc<EngineStats>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A place in the instance pool, held for the life of one call: the place
/// is given back when the permit inside is dropped.
#[derive(Debug)]
pub struct Slot(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

/// The engine every skill runs on. Cheap to share behind an `Arc`.
pub struct SkillEngine {
    engine: Engine,
    linker: Linker<SandboxState>,
    cache: Option<ArtifactCache>,
    cache_key: String,
    limits: Limits,
    slots: Arc<Semaphore>,
    egress: Arc<EgressClient>,
    stats: Arc<EngineStats>,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for SkillEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl SkillEngine {
    /// Build an engine from the owner's configuration. With `data_dir` and
    /// the cache enabled in `config`, compiled artifacts are cached there,
    /// authenticated under a subkey of `key`. Without a key there is no
    /// cache: every load compiles.
    pub fn new(
        config: &HostConfig,
        data_dir: Option<&Path>,
        key: Option<&MasterKey>,
    ) -> Result<Self, LoadError> {
        config
            .validate()
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        let engine_config = wasmtime_config(config);
        let engine =
            Engine::new(&engine_config).map_err(|e| LoadError::Engine(format!("{e:#}")))?;

        let mut linker: Linker<SandboxState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        Skill::add_to_linker::<_, HasSelf<SandboxState>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;

        let egress = Arc::new(EgressClient::new(&config.egress).map_err(LoadError::Engine)?);
        let ticker =
            EpochTicker::spawn(&engine, Duration::from_millis(config.engine.epoch_tick_ms))
                .map_err(|e| LoadError::Engine(format!("cannot start epoch ticker: {e}")))?;
        let cache = match (data_dir, key) {
            (Some(dir), Some(key)) if config.engine.artifact_cache => {
                Some(ArtifactCache::new(dir, key))
            }
            (Some(dir), None) if config.engine.artifact_cache => {
                tracing::info!(
                    data_dir = %dir.display(),
                    "no master key, so no artifact cache: its entries are authenticated under a key derived from it; every skill is compiled when loaded"
                );
                None
            }
            _ => None,
        };
        Ok(SkillEngine {
            cache_key: cache_key(&engine),
            engine,
            linker,
            cache,
            limits: config.limits.clone(),
            slots: Arc::new(Semaphore::new(config.engine.max_concurrent as usize)),
            egress,
            stats: Arc::default(),
            _ticker: ticker,
        })
    }

    /// What this engine has run.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// A place in the instance pool for one call, if one is free now. This
    /// semaphore is the one concurrency gate (`engine.max_concurrent`): the
    /// pipeline takes a place here or refuses with `rate.busy`, and hands
    /// it to the call; calls made without one (a skill's `metadata` while
    /// it is added) wait for a place.
    pub fn try_slot(&self) -> Option<Slot> {
        self.slots.clone().try_acquire_owned().ok().map(Slot)
    }

    /// The owner's default limits.
    #[cfg(any(test, feature = "internal"))] // tests and benches
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validate and compile (or load from the verified cache) a component,
    /// check its contract version and imports, and pre-instantiate it.
    /// Nothing is written to the data dir unless all of that succeeds.
    pub fn load(&self, bytes: &[u8]) -> Result<LoadedSkill, LoadError> {
        check_header(bytes)?;
        // Before any compiling: an import no host could satisfy is refused
        // in milliseconds, not after seconds of codegen.
        imports::unsupported(bytes).map_err(LoadError::ModuleInvalid)?;
        let digest = ModuleDigest::of(bytes);
        let (component, source) = self.component(bytes, &digest)?;

        match contract::check(&self.engine, &component) {
            ContractCheck::Compatible => {}
            ContractCheck::VersionMismatch { found } => {
                return Err(LoadError::ContractVersionMismatch {
                    found,
                    supported: contract::VERSION.to_string(),
                });
            }
            ContractCheck::NotASkill { exports } => {
                return Err(LoadError::ModuleInvalid(format!(
                    "the component does not export {}/{}@{} (it exports: {}); build it with the skillhost SDK",
                    contract::PACKAGE,
                    contract::GUEST_INTERFACE,
                    contract::VERSION,
                    if exports.is_empty() {
                        "nothing".to_string()
                    } else {
                        exports.join(", ")
                    }
                )));
            }
        }
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(SkillPre::new)
            .map_err(|e| {
                LoadError::ModuleInvalid(format!(
                    "the component needs something this host does not provide: {e:#}"
                ))
            })?;

        if source != ArtifactSource::Cache
            && let Some(cache) = &self.cache
        {
            match component.serialize() {
                Ok(artifact) => {
                    if let Err(e) = cache.put(&self.cache_key, &digest, &artifact) {
                        tracing::warn!(error = %e, "cannot write the artifact cache; continuing without it");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot serialize the compiled artifact"),
            }
        }
        // The code memory wasmtime mapped for this component: what keeping
        // it loaded costs, as the loaded-component cache accounts it.
        let range = component.image_range();
        let size = (range.end as usize).saturating_sub(range.start as usize) as u64;
        Ok(LoadedSkill {
            engine: self.engine.clone(),
            pre,
            digest,
            size,
            source,
            slots: self.slots.clone(),
            egress: self.egress.clone(),
            stats: self.stats.clone(),
        })
    }

    fn component(
        &self,
        bytes: &[u8],
        digest: &ModuleDigest,
    ) -> Result<(Component, ArtifactSource), LoadError> {
        let mut source = ArtifactSource::Compiled;
        if let Some(cache) = &self.cache {
            match cache.get(&self.cache_key, digest) {
                Lookup::Hit(artifact) => {
                    // SAFETY: `ArtifactCache::get` returned these bytes only
                    // after verifying their HMAC-SHA256 tag, under a key
                    // derived from the master key (which is not in the
                    // cache), over this engine key and this exact module
                    // digest: they are a wasmtime artifact a host holding
                    // that key serialized for this module. wasmtime
                    // additionally refuses artifacts from an incompatible
                    // engine.
                    #[allow(unsafe_code)]
                    match unsafe { Component::deserialize(&self.engine, &artifact) } {
                        Ok(c) => return Ok((c, ArtifactSource::Cache)),
                        Err(e) => {
                            source = ArtifactSource::Recompiled {
                                reason: format!("engine refused the artifact: {e}"),
                            }
                        }
                    }
                }
                Lookup::Miss => {}
                Lookup::Rejected(reason) => {
                    tracing::warn!(module = %digest, %reason, "rejected a cached artifact; recompiling");
                    source = ArtifactSource::Recompiled { reason };
                }
            }
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| {
            LoadError::ModuleInvalid(format!("the component does not validate: {e:#}"))
        })?;
        Ok((component, source))
    }
}

/// A skill compiled and pre-instantiated, ready for any number of calls. Each
/// call gets a fresh instance.
pub struct LoadedSkill {
    engine: Engine,
    pre: SkillPre<SandboxState>,
    #[cfg_attr(not(feature = "internal"), allow(dead_code))] // tests and benches
    digest: ModuleDigest,
    #[cfg_attr(not(feature = "internal"), allow(dead_code))] // tests and benches
    source: ArtifactSource,
    /// Bytes of code memory, as [`LoadedCache`] accounts them.
    size: u64,
    slots: Arc<Semaphore>,
    egress: Arc<EgressClient>,
    stats: Arc<EngineStats>,
}

impl LoadedSkill {
    /// SHA-256 of the module bytes this skill was loaded from.
    #[cfg(any(test, feature = "internal"))] // tests and benches
    pub fn digest(&self) -> ModuleDigest {
        self.digest
    }

    /// Bytes of code memory this component holds while loaded.
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// Whether the machine code came from the artifact cache.
    #[cfg(any(test, feature = "internal"))] // tests and benches
    pub fn source(&self) -> &ArtifactSource {
        &self.source
    }

    /// Call `metadata` in a fresh instance under `limits`.
    pub async fn metadata(&self, limits: &Limits) -> Report<contract::Metadata> {
        self.call(
            None,
            limits,
            &EgressGrants::default(),
            Call::Metadata,
            sandbox::accept_metadata,
        )
        .await
    }

    /// Every call into a skill: hold a pool slot (the one given, or wait for
    /// one), count it, run it in a fresh instance.
    async fn call<T>(
        &self,
        slot: Option<Slot>,
        limits: &Limits,
        grants: &EgressGrants,
        what: Call<'_>,
        accept: impl FnOnce(sandbox::Returned) -> Result<T, sandbox::InvokeError>,
    ) -> Report<T> {
        let _slot = match slot {
            Some(slot) => slot,
            None => Slot(
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the slot semaphore is never closed"),
            ),
        };
        let _running = self.stats.enter();
        sandbox::call(&self.engine, &self.pre, limits, grants, what, accept).await
    }

    /// Call `invoke` with a JSON input in a fresh instance under `limits`,
    /// with no outbound HTTP at all.
    #[cfg(any(test, feature = "internal"))] // tests and benches
    pub async fn invoke(&self, input: &str, limits: &Limits) -> Invocation {
        self.invoke_granted(input, limits, &[]).await
    }

    /// Call `invoke`, allowing outbound HTTP to exactly `destinations`.
    #[cfg(any(test, feature = "internal"))] // tests and benches
    pub async fn invoke_granted(
        &self,
        input: &str,
        limits: &Limits,
        destinations: &[Rule],
    ) -> Invocation {
        match sandbox::check_input(input, limits) {
            Ok(input) => {
                let grants = self.grants(destinations.to_vec().into(), Arc::default(), None);
                self.invoke_checked(None, &input, limits, &grants).await
            }
            Err(e) => Report {
                result: Err(e),
                logs: Vec::new(),
                usage: sandbox::Usage::default(),
                egress: Vec::new(),
                redactions: Vec::new(),
            },
        }
    }

    /// What an invocation may reach: egress to `destinations` with the
    /// granted secrets, each attempt made durable by `witness` first.
    pub fn grants(
        &self,
        destinations: Arc<[Rule]>,
        secrets: Arc<SecretGrants>,
        witness: Option<Arc<dyn crate::egress::EgressWitness>>,
    ) -> EgressGrants {
        EgressGrants {
            client: (!destinations.is_empty()).then(|| self.egress.clone()),
            destinations,
            secrets,
            witness,
            trial: false,
        }
    }

    /// Call `invoke` with an input that [`sandbox::check_input`] passed, in
    /// `slot` (or the next free one), with `grants`.
    pub async fn invoke_checked(
        &self,
        slot: Option<Slot>,
        input: &sandbox::CheckedInput<'_>,
        limits: &Limits,
        grants: &EgressGrants,
    ) -> Invocation {
        self.call(
            slot,
            limits,
            grants,
            Call::Invoke(input.text()),
            sandbox::accept_invoke(limits),
        )
        .await
    }
}

/// Refuse what is obviously not a component, with a message that says why.
fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::ModuleInvalid(
            "not a WebAssembly binary (it does not start with the \\0asm header)".into(),
        ));
    }
    match &bytes[4..8] {
        [0x01, 0x00, 0x00, 0x00] => Err(LoadError::ModuleInvalid(
            "this is a core WebAssembly module, not a component; build the skill with `--target wasm32-wasip2`"
                .into(),
        )),
        [0x0d, 0x00, 0x01, 0x00] => Ok(()),
        other => Err(LoadError::ModuleInvalid(format!(
            "unsupported WebAssembly version/layer {other:02x?}"
        ))),
    }
}

/// Bytes at the start of each pooled linear memory and table that are reset
/// in place (`memset`, or copied back from the module's initial image) when
/// an instance ends; the rest goes back to the kernel with `madvise`. Either
/// way the next instance finds the slot exactly as a fresh one. Resetting the
/// first pages in place spares the next call a page fault for each of them
/// and some of the cross-core TLB shootdowns `madvise` costs; each slot keeps
/// this much resident while idle (2 × `engine.max_concurrent` memories).
///
/// wasmtime's `PAGEMAP_SCAN` mode (reset only the pages the instance wrote)
/// is much faster but stays off: it resets only pages that are present, so a
/// page the guest wrote that was swapped out when the instance ended would be
/// neither reset nor released, and the next instance in that slot (another
/// skill, another caller) could read it back.
const KEEP_RESIDENT: usize = 64 << 10;

fn wasmtime_config(config: &HostConfig) -> Config {
    let e = &config.engine;
    let mut c = Config::new();
    c.wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(e.stack_bytes as usize)
        // The fiber running the guest needs room for the wasm stack plus the
        // host functions it calls.
        .async_stack_size(e.stack_bytes as usize + 1024 * 1024)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(config)));
    c
}

/// The instance pool: sized by `engine.max_concurrent` and the limits, never
/// by the number of skills.
fn pool_config(config: &HostConfig) -> PoolingAllocationConfig {
    let limits = &config.limits;
    let slots = config.engine.max_concurrent;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        // A Rust component holds a handful of core instances (the program
        // plus the shims wit-component adds), each with a table or two.
        .total_core_instances(slots.saturating_mul(16))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(16))
        .total_stacks(slots)
        .max_memory_size(usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX))
        .table_elements(sandbox::MAX_TABLE_ELEMENTS)
        .pagemap_scan(wasmtime::Enabled::No)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT);
    pool
}

/// Cache directory name: SHA-256 over wasmtime's compatibility hash, so
/// artifacts from another wasmtime version or settings are never even looked
/// at (wasmtime would refuse them anyway).
fn cache_key(engine: &Engine) -> String {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(&h.0.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_memory_is_reset_whole_never_by_a_scan_of_present_pages() {
        // PAGEMAP_SCAN resets only present pages: a written page swapped out
        // when an instance ends would reach the next instance in the slot.
        let pool = pool_config(&HostConfig::default());
        assert!(matches!(pool.get_pagemap_scan(), wasmtime::Enabled::No));
        assert_eq!(pool.get_memory_keep_resident(), KEEP_RESIDENT);
    }

    #[test]
    fn header_check_names_the_problem() {
        let msg = |b: &[u8]| check_header(b).unwrap_err().to_string();
        assert!(msg(b"hello world").contains("not a WebAssembly binary"));
        assert!(msg(b"\0asm").contains("not a WebAssembly binary"));
        assert!(msg(b"\0asm\x01\0\0\0").contains("core WebAssembly module"));
        assert!(msg(b"\0asm\x02\0\0\0").contains("unsupported"));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
