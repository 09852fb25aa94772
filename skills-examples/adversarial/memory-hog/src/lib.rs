//! Adversarial: allocates and touches memory until the host says no.
use serde_json::{Value, json};
use skillhost_sdk::{Manifest, Skill, SkillError};

struct MemoryHog;

impl Skill for MemoryHog {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest = Manifest::new(
        "memory-hog",
        env!("CARGO_PKG_VERSION"),
        "Allocates without bound.",
    );

    fn invoke(_: Value) -> Result<Value, SkillError> {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; 1 << 20];
            chunk[0] = chunks.len() as u8;
            chunks.push(std::hint::black_box(chunk));
            if chunks.len() == usize::MAX {
                return Ok(json!(chunks.len()));
            }
        }
    }
}

skillhost_sdk::export_skill!(MemoryHog);
