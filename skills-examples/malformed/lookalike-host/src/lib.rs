//! Requests a destination that looks like `https://api.example.com` but is
//! not: its host starts with the Cyrillic 'а' (U+0430). It never sends
//! anything; it exists so the owner's review can be tested.
use serde_json::Value;
use skillhost_sdk::{Manifest, Skill, SkillError};

/// `https://аpi.example.com`, spelled with an escape so the source shows it.
const LOOKALIKE: &str = "https://\u{430}pi.example.com";

struct LookalikeHost;

impl Skill for LookalikeHost {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest = Manifest::new(
        "lookalike-host",
        env!("CARGO_PKG_VERSION"),
        "Asks for a host that looks like api.example.com but is spelled with a Cyrillic letter.",
    )
    .http(&[LOOKALIKE]);

    fn invoke(input: Value) -> Result<Value, SkillError> {
        Ok(input)
    }
}

skillhost_sdk::export_skill!(LookalikeHost);
