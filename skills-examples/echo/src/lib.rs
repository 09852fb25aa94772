//! Returns its input unchanged.
use serde_json::Value;
use skillhost_sdk::{Manifest, Skill, SkillError};

struct Echo;

impl Skill for Echo {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest = Manifest::new(
        "echo",
        env!("CARGO_PKG_VERSION"),
        "Returns its JSON input unchanged.",
    );

    fn invoke(input: Value) -> Result<Value, SkillError> {
        Ok(input)
    }
}

skillhost_sdk::export_skill!(Echo);
