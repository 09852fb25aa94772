//! A skill meant to be copied: its name lives in [`NAME`], a block in the
//! data segment that starts with a marker the tests find and rewrite, so one
//! build yields as many distinct modules (each with its own digest and name)
//! as a test needs. [`BALLAST`] gives every copy a 128 KiB initial memory
//! image, so that a thousand loaded copies are enough to fill a bounded
//! cache. It answers `{"name": its name, "input": its input}`.
wit_bindgen::generate!({ path: "../../wit", world: "skill" });

use exports::skillhost::skill::guest::Guest;
use skillhost::skill::types::{LimitRequest, Metadata, Permissions, SkillError};

/// `many-copies-` followed by six digits that the tests rewrite; the name
/// is the block up to its first NUL.
#[used]
static NAME: [u8; 24] = *b"many-copies-000000\0\0\0\0\0\0";

/// Non-zero, so it lands in the data segment and the memory image.
#[used]
static BALLAST: [u8; 128 * 1024] = [0x5a; 128 * 1024];

fn name() -> String {
    let block = core::hint::black_box(&NAME);
    let end = block.iter().position(|b| *b == 0).unwrap_or(block.len());
    String::from_utf8_lossy(&block[..end]).into_owned()
}

struct ManyCopies;

impl Guest for ManyCopies {
    fn metadata() -> Metadata {
        Metadata {
            name: name(),
            version: "1.0.0".into(),
            description:
                "One of many copies of the same skill; answers with its name and its input.".into(),
            input_schema: "true".into(),
            output_schema: None,
            permissions: Permissions {
                http: vec![],
                secrets: vec![],
                limits: LimitRequest {
                    timeout_ms: None,
                    memory_bytes: None,
                    output_bytes: None,
                },
            },
        }
    }

    fn invoke(input: String) -> Result<String, SkillError> {
        let ballast = core::hint::black_box(&BALLAST);
        if ballast[input.len() % ballast.len()] != 0x5a {
            return Err(SkillError {
                code: "ballast.changed".into(),
                message: "the data block was altered".into(),
            });
        }
        // The input is JSON (the host checked it); answer with this copy's
        // name, so a caller can tell which copy ran.
        Ok(format!("{{\"name\":\"{}\",\"input\":{input}}}", name()))
    }
}

export!(ManyCopies);
