//! Adversarial: burns wall-clock time while using little fuel. By default it
//! polls the clock between short sleeps; `{"mode":"sleep"}` makes one long
//! sleep inside a host call, which epochs cannot interrupt. Either way only
//! the wall-clock deadline stops it.
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillhost_sdk::{Manifest, Skill, SkillError};

struct BusyWait;

impl Skill for BusyWait {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest =
        Manifest::new("busy-wait", env!("CARGO_PKG_VERSION"), "Waits for an hour.");

    fn invoke(input: Value) -> Result<Value, SkillError> {
        let hour = Duration::from_secs(3600);
        let start = Instant::now();
        if input["mode"] == "sleep" {
            std::thread::sleep(hour);
        } else {
            while start.elapsed() < hour {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(json!({"waited_ms": start.elapsed().as_millis() as u64}))
    }
}

skillhost_sdk::export_skill!(BusyWait);
