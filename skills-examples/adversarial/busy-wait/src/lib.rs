//! Adversarial: burns wall-clock time while using little fuel, either by
//! sleeping in a host call (`{"mode":"sleep"}`) or by polling the clock
//! (`{"mode":"spin"}`, the default). Stopped by the wall-clock deadline.
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillhost_sdk::{Manifest, Skill, SkillError};

struct BusyWait;

impl Skill for BusyWait {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest = Manifest::new("busy-wait", env!("CARGO_PKG_VERSION"), "Waits for an hour.");

    fn invoke(input: Value) -> Result<Value, SkillError> {
        let hour = Duration::from_secs(3600);
        let start = Instant::now();
        if input["mode"] == "sleep" {
            std::thread::sleep(hour);
        } else {
            while start.elapsed() < hour {
                std::hint::spin_loop();
            }
        }
        Ok(json!({"waited_ms": start.elapsed().as_millis() as u64}))
    }
}

skillhost_sdk::export_skill!(BusyWait);
