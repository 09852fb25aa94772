//! A guest that tries to speak with the host's voice: it fails with exactly
//! the error code and message it is given, so a test can hand it a host
//! code (`limits.timeout`, `ok`, ...), a code with a newline, a huge code,
//! a code holding JSON, or a message with control characters, and check
//! that no caller ever reads those words as the host's
//! (tests/e2e/guest_voice.rs).
//!
//! Input: `{"code": "...", "message": "..."}`. It never succeeds. No
//! permissions: no HTTP, no secrets.
use serde::Deserialize;
use skillhost_sdk::{JsonSchema, Manifest, Skill, SkillError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Input {
    /// The error code to report, as written.
    code: String,
    /// The error message to report, as written.
    message: String,
}

struct LookalikeCodes;

impl Skill for LookalikeCodes {
    type Input = Input;
    type Output = ();
    const MANIFEST: Manifest = Manifest::new(
        "lookalike-codes",
        env!("CARGO_PKG_VERSION"),
        "Fails with the error code and message it is given (an adversarial test skill).",
    );

    fn invoke(input: Input) -> Result<(), SkillError> {
        Err(SkillError::new(input.code, input.message))
    }
}

skillhost_sdk::export_skill!(LookalikeCodes);
