//! # skillhost
//!
//! Runs AI-agent *skills* — WebAssembly components built against the
//! `skillhost:skill` contract — inside a sandbox where every resource is
//! bounded and every effect goes through the host. Agent runtimes reach
//! skills through [`Host`] (this crate), the HTTP API ([`serve_http`],
//! `skillhost serve`) or MCP ([`serve_mcp_stdio`], `skillhost mcp`, and
//! `/mcp` on `serve`); all three run the one checker pipeline of
//! [`Host::invoke`]. `Host` is the only door: the crate exports no engine,
//! registry or store that could run a module unapproved or change a
//! decision without its audit record.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use skillhost::{Caller, Host, HostConfig};
//!
//! let host = Host::open(HostConfig::default(), "/var/lib/skillhost").await?;
//! let caller = host.authenticate("skh_…").await?; // or Caller::local("me")
//! for skill in host.skills(&caller)? {
//!     println!("{}: {}", skill.name, skill.description);
//! }
//! let run = host.invoke("word-stats", r#"{"text":"a b c"}"#, &caller).await?;
//! match run.result {
//!     Ok(output) => println!("{output}"),
//!     Err(e) => eprintln!("{}: {e}", e.code()),
//! }
//! # Ok(()) }
//! ```
//!
//! ## Security model
//!
//! **What is trusted.** The host process, its data dir (registry, module
//! store, master key, audit log) and the owner who runs `skillhost skill …`.
//! **What is not.** Skill code, skill input, every byte a remote server
//! returns, and every caller until a token proves otherwise.
//!
//! **Approval is pinned to bytes.** An owner approves a skill by the SHA-256
//! of its module after reviewing the permissions it requests; a grant can
//! only narrow the request. Every invocation re-hashes the module on disk and
//! refuses (`skill.digest_mismatch`) if it changed. Pending, rejected,
//! revoked and disabled skills never run.
//!
//! **The sandbox.** A fresh wasmtime `Store` per call (no state survives a
//! call), bounded by fuel, an epoch deadline plus a host-side deadline,
//! a memory limiter, a stack limit, and input/output/log caps. WASI is
//! linked locked down: no files, env, args, sockets or name lookup.
//!
//! **Egress.** The only way out is the host's `http-fetch`: scheme, host and
//! port must match a granted destination exactly; every DNS answer must be a
//! public address (checked after resolution, and the connection goes to the
//! checked address); redirects are never followed; bodies, headers, time and
//! request count are capped. Nothing is allowed unless granted.
//!
//! **Secrets** are encrypted at rest (AES-256-GCM, bound to skill, name and
//! the destinations they may be sent to), decrypted only inside the host,
//! substituted into header values of requests to granted destinations after
//! every egress check, and redacted from everything that returns to the
//! skill or the caller.
//!
//! **Callers.** Remote callers present a token (`skh_<id>_<secret>`; only
//! its SHA-256 is stored, compared in constant time). An invoker sees and
//! invokes only the runnable skills it is scoped to; only an owner token may
//! see pending skills, approve, revoke, disable or read the audit log. MCP
//! offers no way to grant anything.
//!
//! **Audit.** Every decision — allowed or denied, by any front end — is a
//! record with a stable [`codes`] entry in a hash-chained, append-only log.
//! An invocation's `invoke.start` record is durable before the skill runs:
//! if the log cannot be written, nothing runs (`audit.unavailable`).
//!
//! **Not covered.** Someone who can write the data dir can rewrite the
//! whole audit chain consistently; protect the data dir with file
//! permissions (it is created 0700). Compiled artifacts are trusted only
//! under an HMAC keyed by a subkey of the master key, and without a master
//! key nothing is cached. But when the key file lives in the data dir (the
//! default `master.key`), someone who can also read the data dir, or replace
//! that file, can forge cache entries: for that threat pass the key in
//! `SKILLHOST_MASTER_KEY` and keep it out of the data dir.
//!
//! Inside, one module per capability: `engine` (wasmtime, pooling,
//! epochs, artifact cache), `sandbox` (one bounded invocation), `egress`
//! (outbound HTTP policy), `destination` (what a grant names), `registry`,
//! `checker`, `secrets`, `auth`, `audit`, `api` (HTTP), `mcp`, `contract`
//! (the WIT bindings and version check), [`config`] (the owner's limits)
//! and [`codes`] (every stable outcome code).

#![deny(unsafe_code)]
// The public door is documented item by item. The `internal` feature opens
// undocumented internals to this project's own tests, so it is exempt.
#![cfg_attr(not(feature = "internal"), warn(missing_docs))]

/// Declare the crate's internal modules: private to the crate, or, with
/// the `internal` feature (this project's own tests, benches and fuzzers),
/// public but hidden from the docs and outside any stability promise. An
/// embedder never enables it: through it a module can run unapproved.
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internal")]
        #[doc(hidden)]
        pub mod $name;
        #[cfg(not(feature = "internal"))]
        mod $name;
    )*};
}

pub mod codes;
pub mod config;
mod embed;

internal_modules!(
    api,
    audit,
    auth,
    checker,
    contract,
    data_dir,
    destination,
    digest,
    egress,
    engine,
    mcp,
    metrics,
    paging,
    registry,
    sandbox,
    secrets,
    skill_host,
);

pub use api::serve as serve_http;
pub use audit::{AuditRecord, Broken, Query as AuditQuery, Verified, verify as verify_audit_log};
pub use auth::{Caller, NewToken, Role, TokenRecord};
pub use config::{HostConfig, Limits};
pub use data_dir::{create as create_data_dir, default_path as default_data_dir};
pub use destination::{DestinationReview, review as review_destination};
pub use digest::ModuleDigest;
pub use embed::Host;
pub use engine::gc::Collected;
pub use mcp::{TOKEN_ENV, serve_stdio as serve_mcp_stdio};
pub use metrics::Metrics;
pub use registry::{
    Decision, Declared, LimitSet, Narrowing, Permissions, ReviewedVersion, SkillName, SkillRecord,
    SkillVersion, VersionState,
};
pub use sandbox::{Invocation, InvokeError, LogLevel, LogRecord, LogSource, Report, Usage};
pub use secrets::{MAX_SECRET_LEN, MasterKey, SecretSummary};
pub use skill_host::{Added, HostError, SkillInfo, Trial, TrialAttempt};

/// For this project's tests and benches (the `internal` feature).
#[cfg(feature = "internal")]
#[doc(hidden)]
pub use {
    engine::{ArtifactSource, LoadError, LoadedSkill, SkillEngine},
    skill_host::SkillHost,
};

/// What an embedder cannot do: each of these fails to compile. Doc tests
/// build the crate as an embedder gets it, without the `internal` feature.
///
/// Load and run a module with no approval and no audit record, on the
/// engine directly:
///
/// ```compile_fail,E0603
/// use skillhost::engine::SkillEngine;
/// ```
///
/// Approve (or revoke, or store a secret) on the registry directly, with no
/// audit record:
///
/// ```compile_fail,E0599
/// fn approve_quietly(host: &skillhost::Host) {
///     let _ = host.registry();
/// }
/// ```
///
/// Reach the host behind the door, by name or through `Deref`:
///
/// ```compile_fail,E0432
/// use skillhost::SkillHost;
/// ```
///
/// ```compile_fail,E0614
/// fn behind(host: &skillhost::Host) {
///     let _ = &**host;
/// }
/// ```
///
/// Invoke outside the caller's scope, as a bare name instead of a
/// [`Caller`]:
///
/// ```compile_fail,E0308
/// async fn unscoped(host: &skillhost::Host) {
///     let _ = host.invoke("echo", "{}", "anyone").await;
/// }
/// ```
///
/// Mint a `Caller` with a role or scope of one's choosing (only
/// [`Caller::local`] and [`Host::authenticate`] make one):
///
/// ```compile_fail,E0451
/// let owner = skillhost::Caller {
///     name: "me".into(),
///     role: skillhost::Role::Owner,
///     skills: None,
/// };
/// ```
///
/// The door itself compiles:
///
/// ```no_run
/// # async fn door(host: skillhost::Host) -> Result<(), skillhost::HostError> {
/// let me = skillhost::Caller::local("agent");
/// let _ = host.invoke("echo", "{}", &me).await?;
/// # Ok(()) }
/// ```
#[cfg(all(doctest, not(feature = "internal")))]
pub struct OnlyOneDoor;
