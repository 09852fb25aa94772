//! Adversarial: spins forever on pure computation. Stopped by fuel.
use serde_json::{Value, json};
use skillhost_sdk::{Manifest, Skill, SkillError};

struct InfiniteLoop;

impl Skill for InfiniteLoop {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest =
        Manifest::new("infinite-loop", env!("CARGO_PKG_VERSION"), "Never returns.");

    fn invoke(_: Value) -> Result<Value, SkillError> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
            if std::hint::black_box(n) == 0 {
                return Ok(json!(n));
            }
        }
    }
}

skillhost_sdk::export_skill!(InfiniteLoop);
