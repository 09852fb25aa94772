//! Adversarial: panics.
use serde_json::{Value, json};
use skillhost_sdk::{Manifest, Skill, SkillError};

struct Panic;

impl Skill for Panic {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest =
        Manifest::new("panic", env!("CARGO_PKG_VERSION"), "Panics on every call.");

    fn invoke(input: Value) -> Result<Value, SkillError> {
        if std::hint::black_box(input.is_null()) {
            return Ok(json!(null));
        }
        panic!("deliberate panic for testing");
    }
}

skillhost_sdk::export_skill!(Panic);
