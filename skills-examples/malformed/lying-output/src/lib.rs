//! A skill whose output does not match the output schema it declares.
wit_bindgen::generate!({ path: "../../../wit", world: "skill" });

use exports::skillhost::skill::guest::Guest;
use skillhost::skill::types::{LimitRequest, Metadata, Permissions, SkillError};

struct LyingOutput;

impl Guest for LyingOutput {
    fn metadata() -> Metadata {
        Metadata {
            name: "lying-output".into(),
            version: "0.1.0".into(),
            description: "Promises {answer: integer}, returns something else.".into(),
            input_schema: r#"{"type":"object"}"#.into(),
            output_schema: Some(
                r#"{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"]}"#.into(),
            ),
            permissions: Permissions {
                http: vec![],
                secrets: vec![],
                limits: LimitRequest {
                    timeout_ms: None,
                    memory_bytes: None,
                    output_bytes: None,
                },
            },
        }
    }

    fn invoke(input: String) -> Result<String, SkillError> {
        if input.contains("honest") {
            Ok(r#"{"answer":42}"#.into())
        } else {
            Ok(r#"{"answer":"forty-two"}"#.into())
        }
    }
}

export!(LyingOutput);
