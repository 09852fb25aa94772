//! # skillhost
//!
//! Runs AI-agent *skills* — WebAssembly components built against the
//! `skillhost:skill` contract — inside a sandbox where every resource is
//! bounded and every effect goes through the host.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use skillhost::{HostConfig, SkillEngine};
//!
//! let config = HostConfig::default();
//! let engine = SkillEngine::new(&config, None)?;
//! let skill = engine.load(&std::fs::read("echo.wasm")?)?;
//! let report = skill.invoke(r#"{"hello":"world"}"#, engine.limits()).await;
//! match report.result {
//!     Ok(output) => println!("{output}"),
//!     Err(e) => eprintln!("{}: {e}", e.code()),
//! }
//! # Ok(()) }
//! ```
//!
//! Modules, one per capability: [`engine`] (wasmtime, pooling, epochs,
//! artifact cache), [`sandbox`] (one bounded invocation), [`egress`]
//! (outbound HTTP policy), [`contract`] (the WIT bindings and version check),
//! [`config`] (the owner's limits), [`codes`] (every stable outcome code).

pub mod audit;
pub mod auth;
pub mod checker;
pub mod cli;
pub mod codes;
pub mod config;
pub mod contract;
pub mod data_dir;
pub mod digest;
pub mod egress;
pub mod engine;
pub mod registry;
pub mod sandbox;
pub mod secrets;
pub mod skill_host;

pub use config::{HostConfig, Limits};
pub use digest::ModuleDigest;
pub use engine::{ArtifactSource, LoadError, LoadedSkill, SkillEngine};
pub use sandbox::{Invocation, InvokeError, LogRecord, Report, Usage};
pub use skill_host::{Added, HostError, SkillHost};
