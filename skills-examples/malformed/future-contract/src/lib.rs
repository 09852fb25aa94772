//! A skill built against a contract version this host does not support.
wit_bindgen::generate!({ path: "wit", world: "skill" });

use exports::skillhost::skill::guest::Guest;
use skillhost::skill::types::{LimitRequest, Metadata, Permissions, SkillError};

struct FutureContract;

impl Guest for FutureContract {
    fn metadata() -> Metadata {
        Metadata {
            name: "future-contract".into(),
            version: "0.1.0".into(),
            description: "Targets skillhost:skill@0.2.0.".into(),
            input_schema: "true".into(),
            output_schema: None,
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
        Ok(input)
    }
}

export!(FutureContract);
