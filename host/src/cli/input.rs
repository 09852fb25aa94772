//! Reading the `--input` argument: inline JSON, `@FILE`, or `-` for stdin.
//! Reads at most one byte past the input cap, so `@/dev/zero` or an endless
//! pipe cannot exhaust memory. An oversized input is reported with its real
//! size when that is known without reading it (inline text, a regular
//! file), and as "more than" the cap otherwise.

use std::io::Read;

use serde_json::json;

use skillhost::HostError;
use skillhost::InvokeError;
use skillhost::codes;

/// Why the input could not be used.
#[derive(Debug)]
pub enum InputError {
    /// It could not be read at all (a missing file): nothing was invoked.
    Io(String),
    NotUtf8,
    /// Over the cap: `size` is the real size when known.
    TooLarge {
        size: Option<u64>,
        limit: u64,
    },
}

impl InputError {
    /// The refusal the host reports and audits, or, for input that could
    /// not even be read (an I/O error, not a refused invocation), why.
    pub fn refusal(&self) -> Result<HostError, &str> {
        match *self {
            InputError::Io(ref message) => Err(message),
            InputError::NotUtf8 => Ok(HostError::Input(InvokeError::InputNotJson {
                detail: "the input is not valid UTF-8".into(),
            })),
            InputError::TooLarge {
                size: Some(size),
                limit,
            } => Ok(HostError::Input(InvokeError::InputTooLarge { size, limit })),
            InputError::TooLarge { size: None, limit } => Ok(HostError::InputOverCap { limit }),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self.refusal() {
            Ok(refusal) => refusal.to_json(),
            Err(message) => json!({ "code": codes::HOST_IO, "message": message }),
        }
    }
}

/// Resolve the `--input` argument to its text.
pub fn read(arg: &str, limit: u64) -> Result<String, InputError> {
    let (bytes, known_size) = if arg == "-" {
        let bytes = read_capped(std::io::stdin().lock(), limit)
            .map_err(|e| InputError::Io(format!("cannot read stdin: {e}")))?;
        (bytes, None)
    } else if let Some(path) = arg.strip_prefix('@') {
        let io = |e: std::io::Error| InputError::Io(format!("cannot read {path}: {e}"));
        let file = std::fs::File::open(path).map_err(io)?;
        // A regular file's length is its size; a device or pipe has none.
        let len = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        if let Some(size) = len.filter(|l| *l > limit) {
            return Err(InputError::TooLarge {
                size: Some(size),
                limit,
            });
        }
        (read_capped(file, limit).map_err(io)?, None)
    } else {
        (arg.as_bytes().to_vec(), Some(arg.len() as u64))
    };
    if bytes.len() as u64 > limit {
        // Past the cap nothing more was read: unless the size was known
        // beforehand, all that is known is "more than the limit".
        return Err(InputError::TooLarge {
            size: known_size,
            limit,
        });
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

    #[test]
    fn oversized_input_reports_its_real_size_or_more_than_the_cap() {
        // A regular file: its length, without reading it.
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), vec![b' '; 5000]).unwrap();
        let e = read(&format!("@{}", tmp.path().display()), 1000).unwrap_err();
        assert_eq!(e.to_json()["size"], 5000);
        assert_eq!(
            e.to_json()["message"],
            "input is 5000 bytes; the limit is 1000"
        );
        // A device: read no further than the cap, so "more than".
        let e = read("@/dev/zero", 1000).unwrap_err().to_json();
        assert_eq!(
            e["message"],
            "input is more than 1000 bytes; the limit is 1000"
        );
        assert_eq!(e["limit"], 1000);
        assert!(e.get("size").is_none(), "{e}");
        // Inline: the exact size.
        let e = read(&"x".repeat(1001), 1000).unwrap_err().to_json();
        assert_eq!(e["size"], 1001);
    }

    #[test]
    fn non_utf8_is_invalid_json() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), b"\xff\xfe").unwrap();
        let e = read(&format!("@{}", tmp.path().display()), 100).unwrap_err();
        assert_eq!(e.to_json()["code"], codes::INPUT_INVALID_JSON);
    }
}
