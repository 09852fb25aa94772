//! # skillhost
//!
//! Runs AI-agent *skills* — WebAssembly components built against the
//! `skillhost:skill` contract — inside a sandbox where every resource is
//! bounded and every effect goes through the host. Agent runtimes reach
//! skills through [`Host`] (this crate), the HTTP API ([`api`], `skillhost
//! serve`) or MCP ([`mcp`], `skillhost mcp` and `/mcp` on `serve`); all three
//! run the one checker pipeline of [`SkillHost::invoke`].
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
//! Modules, one per capability: [`engine`] (wasmtime, pooling, epochs,
//! artifact cache), [`sandbox`] (one bounded invocation), [`egress`]
//! (outbound HTTP policy), [`registry`], [`checker`], [`secrets`], [`auth`],
//! [`audit`], [`api`] (HTTP), [`mcp`], [`contract`] (the WIT bindings and
//! version check), [`config`] (the owner's limits), [`codes`] (every stable
//! outcome code).

pub mod api;
pub mod audit;
pub mod auth;
pub mod checker;
pub mod cli;
pub mod codes;
pub mod config;
pub mod contract;
pub mod data_dir;
pub mod destination;
pub mod digest;
pub mod egress;
mod embed;
pub mod engine;
pub mod mcp;
pub mod metrics;
pub mod registry;
pub mod sandbox;
pub mod secrets;
pub mod skill_host;

pub use auth::Caller;
pub use config::{HostConfig, Limits};
pub use digest::ModuleDigest;
pub use embed::Host;
pub use engine::{ArtifactSource, LoadError, LoadedSkill, SkillEngine};
pub use sandbox::{Invocation, InvokeError, LogRecord, Report, Usage};
pub use skill_host::{Added, HostError, SkillHost, SkillInfo};
