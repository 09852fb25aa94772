//! SHA-256 digests of module bytes: the identity an approval is pinned to.

use std::fmt;

use sha2::{Digest as _, Sha256};

/// The SHA-256 of a module's exact bytes, shown as `sha256:<hex>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleDigest([u8; 32]);

impl ModuleDigest {
    /// Hash module bytes.
    pub fn of(bytes: &[u8]) -> Self {
        ModuleDigest(Sha256::digest(bytes).into())
    }

    /// Wrap a SHA-256 already computed (e.g. read back from the registry);
    /// nothing is hashed or checked.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ModuleDigest(bytes)
    }

    /// The raw 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, without the `sha256:` prefix: safe as a file name.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse `sha256:<64 hex>` (the prefix is required).
    pub fn parse(s: &str) -> Option<Self> {
        let hex_part = s.strip_prefix("sha256:")?;
        if hex_part.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).ok()?;
        Some(ModuleDigest(out))
    }

    /// [`parse`](Self::parse) for input from an owner (CLI or HTTP), with
    /// the message to show when it is not a digest.
    pub fn parse_explained(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| {
            format!("{s:?} is not a digest; expected sha256: followed by 64 hex digits")
        })
    }
}

impl fmt::Display for ModuleDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl serde::Serialize for ModuleDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_round_trip() {
        let d = ModuleDigest::of(b"abc");
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(ModuleDigest::parse(&d.to_string()), Some(d));
    }

    #[test]
    fn parse_refuses_malformed_digests() {
        assert_eq!(ModuleDigest::parse("ba7816bf"), None);
        assert_eq!(ModuleDigest::parse("sha256:zz"), None);
        assert_eq!(
            ModuleDigest::parse(&format!("sha256:{}", "g".repeat(64))),
            None
        );
        assert_eq!(
            ModuleDigest::parse(&format!("md5:{}", "a".repeat(64))),
            None
        );
    }
}
