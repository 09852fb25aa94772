//! Counts its own invocations in a static. Because the host gives every
//! invocation a fresh instance, the answer is always 1: no state leaks.
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::Value;
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError};

static CALLS: AtomicU64 = AtomicU64::new(0);
static mut SCRATCH: Vec<u8> = Vec::new();

#[derive(Serialize, JsonSchema)]
struct Output {
    /// Invocations seen by this instance, including this one.
    calls: u64,
    /// Bytes left behind in the heap by earlier invocations of this instance.
    leftover_bytes: usize,
}

struct Counter;

impl Skill for Counter {
    type Input = Value;
    type Output = Output;
    const MANIFEST: Manifest = Manifest::new(
        "counter",
        env!("CARGO_PKG_VERSION"),
        "Reports how many times this instance has been invoked.",
    );

    fn invoke(_: Value) -> Result<Output, SkillError> {
        let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        #[allow(static_mut_refs)]
        // SAFETY: single-threaded guest; nothing else touches SCRATCH.
        let leftover_bytes = unsafe {
            let before = SCRATCH.len();
            SCRATCH.extend_from_slice(&[0xAB; 4096]);
            before
        };
        Ok(Output {
            calls,
            leftover_bytes,
        })
    }
}

skillhost_sdk::export_skill!(Counter);
