//! Why an invocation did not produce an output. One variant per outcome, each
//! with one stable code from [`crate::codes`].

use serde::Serialize;

use crate::codes::{self, Code};

/// Longest skill-chosen error code passed through.
pub const MAX_SKILL_CODE_BYTES: usize = 64;
/// Longest skill-chosen error message passed through.
pub const MAX_SKILL_MESSAGE_BYTES: usize = 1024;

/// Why an invocation produced no output. New outcomes may be added, so a
/// `match` needs a wildcard arm; [`InvokeError::code`] is the stable part.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The input is over the input cap (`limits.input_bytes`); the skill
    /// did not run, so an oversized input cannot cost the host anything.
    /// Code `limits.input_too_large`.
    #[error("input is {size} bytes; the limit is {limit}")]
    InputTooLarge {
        /// Size of the input, in bytes.
        size: u64,
        /// The input cap, in bytes.
        limit: u64,
    },
    /// The input is not valid JSON; the skill did not run. Code
    /// `input.invalid_json`.
    #[error("input is not valid JSON: {detail}")]
    InputNotJson {
        /// The JSON parser's message.
        detail: String,
    },
    /// The skill used all its fuel (CPU budget) and was stopped: the guard
    /// against skills that compute forever. Code `limits.fuel_exhausted`.
    #[error("skill used all of its {limit} fuel")]
    FuelExhausted {
        /// The fuel the invocation had.
        limit: u64,
    },
    /// The skill ran past its wall-clock deadline and was stopped: the guard
    /// against skills that sleep or wait forever. Code `limits.timeout`.
    #[error("skill ran past its {limit_ms} ms deadline")]
    Timeout {
        /// The deadline, in milliseconds.
        limit_ms: u64,
    },
    /// The skill tried to grow its linear memory past the cap and was
    /// stopped: the guard against skills that exhaust the host's memory.
    /// Code `limits.memory`.
    #[error("skill tried to grow memory to {requested} bytes; the limit is {limit}")]
    Memory {
        /// The memory size the refused growth asked for, in bytes.
        requested: u64,
        /// The memory cap, in bytes.
        limit: u64,
    },
    /// The skill's output is over the output cap; it was discarded, so a
    /// skill cannot flood its caller. Code `limits.output_too_large`.
    #[error("output is {size} bytes; the limit is {limit}")]
    OutputTooLarge {
        /// Size of the output, in bytes.
        size: u64,
        /// The output cap, in bytes.
        limit: u64,
    },
    /// The skill returned something that is not JSON; it was discarded.
    /// Code `output.invalid_json`.
    #[error("output is not valid JSON: {detail}")]
    OutputNotJson {
        /// The JSON parser's message.
        detail: String,
    },
    /// The skill trapped (panic, unreachable, stack overflow, ...). Code
    /// `skill.trapped`.
    #[error("skill trapped: {kind}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Trapped {
        /// The kind of trap in snake case, e.g. `panic`, `unreachable`,
        /// `stack_overflow`, `host_trap`; reported to callers as `trap`.
        kind: String,
        /// More about it, if known (e.g. the panic message), size-capped
        /// and with secrets redacted.
        detail: Option<String>,
    },
    /// The skill returned its own error. Code `skill.error`.
    #[error("skill returned an error: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    SkillError {
        /// The skill's own code, if it obeyed the grammar (see
        /// `sandbox::skill_code`); never a host code.
        code: Option<String>,
        /// The skill's message: untrusted text with control characters
        /// escaped, secrets redacted and cut to
        /// `MAX_SKILL_MESSAGE_BYTES` (1024).
        message: String,
    },
    /// The skill's output does not match its declared output schema; it
    /// was discarded. Code `output.schema_invalid`.
    #[error("output does not match the skill's output schema: {}", errors.join("; "))]
    OutputSchemaInvalid {
        /// What does not match (at most ten), each as
        /// `"<json-pointer>: <message>"`.
        errors: Vec<String>,
    },
    /// An unexpected host failure; the skill's effects, if any, were
    /// discarded. Code `host.internal`.
    #[error("host failure: {0}")]
    Internal(String),
}

impl InvokeError {
    /// The stable code for this outcome.
    pub fn code(&self) -> Code {
        match self {
            InvokeError::InputTooLarge { .. } => codes::INPUT_TOO_LARGE,
            InvokeError::InputNotJson { .. } => codes::INPUT_INVALID_JSON,
            InvokeError::FuelExhausted { .. } => codes::FUEL_EXHAUSTED,
            InvokeError::Timeout { .. } => codes::TIMEOUT,
            InvokeError::Memory { .. } => codes::MEMORY,
            InvokeError::OutputTooLarge { .. } => codes::OUTPUT_TOO_LARGE,
            InvokeError::OutputNotJson { .. } => codes::OUTPUT_INVALID_JSON,
            InvokeError::Trapped { .. } => codes::SKILL_TRAPPED,
            InvokeError::SkillError { .. } => codes::SKILL_ERROR,
            InvokeError::OutputSchemaInvalid { .. } => codes::OUTPUT_SCHEMA_INVALID,
            InvokeError::Internal(_) => codes::HOST_INTERNAL,
        }
    }

    /// The skill's own error: a code that breaks the skill-code rule is
    /// dropped, control characters in the message are escaped, and the
    /// message is cut to its cap. (The sandbox also redacts secrets first.)
    pub fn skill_error(code: &str, message: &str) -> Self {
        let message = super::skill_code::escape_controls(message);
        InvokeError::SkillError {
            code: super::skill_code::refusal(code)
                .is_none()
                .then(|| code.to_string()),
            message: super::logs::truncate(&message, MAX_SKILL_MESSAGE_BYTES).to_string(),
        }
    }

    /// A JSON body for callers: `{"code": ..., "message": ..., ...details}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "code": self.code(), "message": self.to_string() });
        let extra = match self {
            InvokeError::Trapped { kind, .. } => serde_json::json!({ "trap": kind }),
            InvokeError::SkillError {
                code: Some(code),
                message,
            } => serde_json::json!({ "skill_code": code, "skill_message": message }),
            InvokeError::SkillError {
                code: None,
                message,
            } => serde_json::json!({ "skill_message": message }),
            InvokeError::InputTooLarge { size, limit }
            | InvokeError::OutputTooLarge { size, limit } => {
                serde_json::json!({ "size": size, "limit": limit })
            }
            InvokeError::Memory { requested, limit } => {
                serde_json::json!({ "requested": requested, "limit": limit })
            }
            InvokeError::FuelExhausted { limit } => serde_json::json!({ "limit": limit }),
            InvokeError::Timeout { limit_ms } => serde_json::json!({ "limit_ms": limit_ms }),
            InvokeError::OutputSchemaInvalid { errors } => serde_json::json!({ "errors": errors }),
            _ => serde_json::json!({}),
        };
        if let (Some(b), serde_json::Value::Object(e)) = (body.as_object_mut(), extra) {
            b.extend(e);
        }
        body
    }
}

impl Serialize for InvokeError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        let samples = [
            InvokeError::InputTooLarge { size: 2, limit: 1 },
            InvokeError::InputNotJson {
                detail: String::new(),
            },
            InvokeError::FuelExhausted { limit: 1 },
            InvokeError::Timeout { limit_ms: 1 },
            InvokeError::Memory {
                requested: 2,
                limit: 1,
            },
            InvokeError::OutputTooLarge { size: 2, limit: 1 },
            InvokeError::OutputNotJson {
                detail: String::new(),
            },
            InvokeError::Trapped {
                kind: "unreachable".into(),
                detail: None,
            },
            InvokeError::skill_error("x", "y"),
            InvokeError::OutputSchemaInvalid { errors: vec![] },
            InvokeError::Internal(String::new()),
        ];
        for e in samples {
            assert!(
                codes::describe(e.code()).is_some(),
                "{} is not in codes::ALL",
                e.code()
            );
            assert_eq!(e.to_json()["code"], e.code());
        }
    }

    #[test]
    fn skill_errors_are_capped_and_lookalikes_dropped() {
        let e = InvokeError::skill_error(&"c".repeat(1000), &"m".repeat(100_000));
        let InvokeError::SkillError { code, message } = e else {
            unreachable!()
        };
        assert_eq!(code, None, "a code past the cap is dropped, not cut");
        assert_eq!(message.len(), MAX_SKILL_MESSAGE_BYTES);
        let e = InvokeError::skill_error("limits.timeout\n{\"code\":\"ok\"}", "x");
        assert_eq!(e.code(), codes::SKILL_ERROR);
        assert!(e.to_json().get("skill_code").is_none());
        assert!(!e.to_string().contains("limits."));
        let e = InvokeError::skill_error("github.rate_limited", "slow down");
        assert_eq!(e.to_json()["skill_code"], "github.rate_limited");
    }
}
