//! Waits `wait_ms` (at most 5 s) of wall-clock time, then returns its text.
//! For tests of what happens to an invocation in flight (server shutdown,
//! concurrency), and for nothing else.
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use skillhost_sdk::{Manifest, Skill, SkillError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    /// Milliseconds to wait before answering (0 to 5000).
    #[schemars(range(max = 5000))]
    wait_ms: u64,
    /// Returned unchanged.
    text: String,
}

#[derive(Serialize, JsonSchema)]
struct Output {
    text: String,
    waited_ms: u64,
}

struct SlowEcho;

impl Skill for SlowEcho {
    type Input = Input;
    type Output = Output;
    const MANIFEST: Manifest = Manifest::new(
        "slow-echo",
        env!("CARGO_PKG_VERSION"),
        "Waits the given number of milliseconds, then returns its text.",
    );

    fn invoke(input: Input) -> Result<Output, SkillError> {
        let wait = input.wait_ms.min(5_000);
        std::thread::sleep(Duration::from_millis(wait));
        Ok(Output {
            text: input.text,
            waited_ms: wait,
        })
    }
}

skillhost_sdk::export_skill!(SlowEcho);
