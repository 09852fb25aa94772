//! Adversarial: returns a huge output (`{"bytes": n}`, default 8 MiB) and can
//! first flood stdout (`{"stdout_bytes": n}`).
use std::io::Write;

use serde_json::Value;
use skillhost_sdk::{Manifest, Skill, SkillError};

struct OutputBomb;

impl Skill for OutputBomb {
    type Input = Value;
    type Output = Value;
    const MANIFEST: Manifest = Manifest::new(
        "output-bomb",
        env!("CARGO_PKG_VERSION"),
        "Returns far too much.",
    );

    fn invoke(input: Value) -> Result<Value, SkillError> {
        if let Some(n) = input["stdout_bytes"].as_u64() {
            let line = [b'x'; 1023];
            let mut out = std::io::stdout().lock();
            let mut written = 0u64;
            while written < n {
                // A capped pipe may refuse writes; keep going regardless.
                let _ = out.write_all(&line);
                let _ = out.write_all(b"\n");
                written += 1024;
            }
            let _ = out.flush();
        }
        let bytes = input["bytes"].as_u64().unwrap_or(8 << 20) as usize;
        Ok(Value::String("A".repeat(bytes)))
    }
}

skillhost_sdk::export_skill!(OutputBomb);
