//! The always-on checker: rate limits, the concurrency cap and schemas.
//! There is no switch to turn it off; [`crate::SkillHost::invoke`] runs it
//! on every call, in the one order documented there.

pub mod rate;
pub mod schema;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};


pub use rate::{RateLimiter, Scope};
pub use schema::Schemas;

use crate::codes::{self, Code};
use crate::config::HostConfig;
use crate::digest::ModuleDigest;
use crate::registry::Declared;

/// A refusal by the checker. The skill did not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("rate limit reached ({scope} limit); retry after {retry_after_secs} s", scope = scope.as_str())]
    RateLimited { scope: Scope, retry_after_secs: u64 },
    #[error("the host is running its maximum of {0} invocations; try again shortly")]
    Busy(u32),
    /// The approved version or its grant changed while this call was being
    /// prepared (e.g. a new version was approved): nothing ran; a retry
    /// runs what is approved now. Reported as `rate.busy`.
    #[error("the approval of {0} changed while this call was being prepared; try again")]
    Changed(String),
    #[error("the input does not match the skill's input schema: {}", errors.join("; "))]
    InputSchema { errors: Vec<String> },
}

impl CheckError {
    pub fn code(&self) -> Code {
        match self {
            CheckError::RateLimited { .. } => codes::RATE_LIMITED,
            CheckError::Busy(_) | CheckError::Changed(_) => codes::RATE_BUSY,
            CheckError::InputSchema { .. } => codes::INPUT_SCHEMA_INVALID,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        match self {
            CheckError::RateLimited {
                scope,
                retry_after_secs,
            } => {
                v["retry_after_secs"] = (*retry_after_secs).into();
                v["scope"] = scope.as_str().into();
            }
            CheckError::InputSchema { errors } => v["errors"] = errors.clone().into(),
            CheckError::Busy(_) | CheckError::Changed(_) => {}
        }
        v
    }
}

/// The checker's state for one host.
#[derive(Debug)]
pub struct Checker {
    rate: RateLimiter,
    schemas: Mutex<HashMap<ModuleDigest, Arc<Schemas>>>,
}

impl Checker {
    pub fn new(config: &HostConfig) -> Self {
        Checker {
            rate: RateLimiter::new(&config.rate),
            schemas: Mutex::default(),
        }
    }

    /// Take a token from every bucket that applies, or refuse.
    /// A failed authentication from `source`; `Err(retry_after_secs)` once
    /// that source is over `rate.auth_failures_per_minute`.
    pub fn auth_failure(&self, source: &str) -> Result<(), u64> {
        self.rate.auth_failure(source)
    }

    pub fn rate(&self, skill: &str, caller: &str) -> Result<(), CheckError> {
        self.rate
            .acquire(skill, caller)
            .map_err(|(scope, retry_after_secs)| CheckError::RateLimited {
                scope,
                retry_after_secs,
            })
    }

    /// The compiled schemas of a version (compiled on first use).
    pub fn schemas(
        &self,
        digest: &ModuleDigest,
        declared: &Declared,
    ) -> Result<Arc<Schemas>, String> {
        if let Some(s) = self
            .schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
        {
            return Ok(s.clone());
        }
        let compiled = Arc::new(Schemas::compile(
            &declared.input_schema,
            declared.output_schema.as_ref(),
        )?);
        self.schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*digest, compiled.clone());
        Ok(compiled)
    }
}
