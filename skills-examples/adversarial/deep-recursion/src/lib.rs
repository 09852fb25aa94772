//! Adversarial: recurses without bound. Stopped by the host's stack limit.
use serde_json::{Value, json};
use skillhost_sdk::{Manifest, Skill, SkillError};

#[inline(never)]
fn descend(depth: u64, acc: u64) -> u64 {
    if std::hint::black_box(depth) == u64::MAX {
        return acc;
    }
    // Work after the call keeps this from becoming a loop.
    descend(depth + 1, acc.wrapping_mul(31).wrapping_add(depth)) ^ std::hint::black_box(depth)
}

struct DeepRecursion;

impl Skill for DeepRecursion {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest = Manifest::new(
        "deep-recursion",
        env!("CARGO_PKG_VERSION"),
        "Recurses forever.",
    );

    fn invoke(_: Value) -> Result<Value, SkillError> {
        Ok(json!(descend(0, 1)))
    }
}

skillhost_sdk::export_skill!(DeepRecursion);
