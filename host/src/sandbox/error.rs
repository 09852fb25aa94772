//! Why an invocation did not produce an output. One variant per outcome, each
//! with one stable code from [`crate::codes`].

use serde::Serialize;

use crate::codes::{self, Code};

/// Longest skill-chosen error code passed through.
pub const MAX_SKILL_CODE_BYTES: usize = 64;
/// Longest skill-chosen error message passed through.
pub const MAX_SKILL_MESSAGE_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    #[error("input is {size} bytes; the limit is {limit}")]
    InputTooLarge { size: u64, limit: u64 },
    #[error("input is not valid JSON: {detail}")]
    InputNotJson { detail: String },
    #[error("skill used all of its {limit} fuel")]
    FuelExhausted { limit: u64 },
    #[error("skill ran past its {limit_ms} ms deadline")]
    Timeout { limit_ms: u64 },
    #[error("skill tried to grow memory to {requested} bytes; the limit is {limit}")]
    Memory { requested: u64, limit: u64 },
    #[error("output is {size} bytes; the limit is {limit}")]
    OutputTooLarge { size: u64, limit: u64 },
    #[error("output is not valid JSON: {detail}")]
    OutputNotJson { detail: String },
    #[error("skill trapped: {kind}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Trapped {
        kind: String,
        detail: Option<String>,
    },
    #[error("skill returned an error: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    SkillError {
        /// The skill's own code, if it obeyed the grammar (see
        /// `sandbox::skill_code`); never a host code.
        code: Option<String>,
        message: String,
    },
    #[error("output does not match the skill's output schema: {}", errors.join("; "))]
    OutputSchemaInvalid { errors: Vec<String> },
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
