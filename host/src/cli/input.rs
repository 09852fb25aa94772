//! Reading the `--input` argument: inline JSON, `@FILE`, or `-` for stdin.
//! Reads at most one byte past the input cap, so `@/dev/zero` or an endless
//! pipe cannot exhaust memory.

use std::io::Read;

use serde_json::json;

use crate::codes;
use crate::sandbox::InvokeError;

/// Why the input could not be read.
#[derive(Debug)]
pub enum InputError {
    Io(String),
    NotUtf8,
    TooLarge(InvokeError),
}

impl InputError {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            InputError::Io(m) => json!({ "code": codes::HOST_IO, "message": m }),
            InputError::NotUtf8 => json!({
                "code": codes::INPUT_INVALID_JSON,
                "message": "input is not valid UTF-8, so it cannot be JSON",
            }),
            InputError::TooLarge(e) => e.to_json(),
        }
    }
}

/// Resolve the `--input` argument to its text.
pub fn read(arg: &str, limit: u64) -> Result<String, InputError> {
    let bytes = if arg == "-" {
        read_capped(std::io::stdin().lock(), limit)
            .map_err(|e| InputError::Io(format!("cannot read stdin: {e}")))?
    } else if let Some(path) = arg.strip_prefix('@') {
        let file = std::fs::File::open(path)
            .map_err(|e| InputError::Io(format!("cannot read {path}: {e}")))?;
        read_capped(file, limit).map_err(|e| InputError::Io(format!("cannot read {path}: {e}")))?
    } else {
        arg.as_bytes().to_vec()
    };
    if bytes.len() as u64 > limit {
        // The exact size is unknown past the cap; report what was read.
        return Err(InputError::TooLarge(InvokeError::InputTooLarge {
            size: bytes.len() as u64,
            limit,
        }));
    }
    String::from_utf8(bytes).map_err(|_| InputError::NotUtf8)
}

fn read_capped(reader: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inline_and_files_and_caps_size() {
        assert_eq!(read("{\"a\":1}", 100).unwrap(), "{\"a\":1}");
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), b"[1,2]").unwrap();
        assert_eq!(
            read(&format!("@{}", tmp.path().display()), 100).unwrap(),
            "[1,2]"
        );
        let big = read("@/dev/zero", 1000).unwrap_err();
        assert_eq!(big.to_json()["code"], codes::INPUT_TOO_LARGE);
        assert_eq!(
            read("@/nonexistent/x", 10).unwrap_err().to_json()["code"],
            codes::HOST_IO
        );
    }
}
