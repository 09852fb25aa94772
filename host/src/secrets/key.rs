//! The master key: 32 bytes from `SKILLHOST_MASTER_KEY` (base64) or a key
//! file that only its owner can read (0600 or narrower). Never from a skill
//! and never from the database.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::SecretError;

/// Environment variable holding the base64 key.
pub const ENV: &str = "SKILLHOST_MASTER_KEY";
/// Default key file name in the data dir.
pub const FILE: &str = "master.key";

/// A 256-bit key, wiped from memory when dropped.
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

impl MasterKey {
    /// The key's file name in the data dir.
    pub const FILE: &str = FILE;

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(&mut *bytes);
        MasterKey { bytes }
    }

    /// Decode base64 text (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let mut decoded = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::BadKey("the master key is not valid base64".into()))?;
        if decoded.len() != 32 {
            decoded.zeroize();
            return Err(SecretError::BadKey(
                "the master key must be exactly 32 bytes".into(),
            ));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&decoded);
        decoded.zeroize();
        Ok(MasterKey { bytes })
    }

    /// Read a key file, refusing one that group or others can access.
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let meta = std::fs::metadata(path).map_err(|e| {
            SecretError::BadKey(format!("cannot read the key file {}: {e}", path.display()))
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretError::BadKey(format!(
                "the key file {} has mode {mode:03o}; it must not be readable by group or others (chmod 600)",
                path.display()
            )));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            SecretError::BadKey(format!("cannot read the key file {}: {e}", path.display()))
        })?);
        Self::from_base64(&text)
    }

    /// `SKILLHOST_MASTER_KEY` if set, else the key file.
    pub fn load(key_file: &Path) -> Result<Self, SecretError> {
        match std::env::var(ENV) {
            Ok(text) if !text.is_empty() => Self::from_base64(&Zeroizing::new(text)),
            _ if key_file.exists() => Self::from_file(key_file),
            _ => Err(SecretError::NoKey(format!(
                "set {ENV} or create a key file with `skillhost secret init-key` ({})",
                key_file.display()
            ))),
        }
    }

    /// Write a new key file (0600). Refuses to overwrite an existing file.
    pub fn write_new(&self, path: &Path) -> Result<(), SecretError> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                SecretError::BadKey(format!(
                    "cannot create the key file {}: {e}",
                    path.display()
                ))
            })?;
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(*self.bytes));
        f.write_all(text.as_bytes())
            .and_then(|_| f.write_all(b"\n"))
            .and_then(|_| f.sync_all())
            .map_err(|e| {
                SecretError::BadKey(format!("cannot write the key file {}: {e}", path.display()))
            })
    }

    /// A short public identifier of the key (not the key).
    pub fn id(&self) -> String {
        hex::encode(
            &Sha256::digest(
                b"skillhost-key-id\0"
                    .iter()
                    .chain(self.bytes.iter())
                    .copied()
                    .collect::<Vec<u8>>(),
            )[..8],
        )
    }

    /// A key for one purpose, derived as HMAC-SHA256(master key, `purpose`),
    /// so a key used elsewhere (e.g. to authenticate the artifact cache)
    /// never is the key that encrypts the secrets. Wiped when dropped.
    pub fn subkey(&self, purpose: &[u8]) -> Zeroizing<[u8; 32]> {
        use hmac::{Hmac, Mac as _};
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&*self.bytes)
            .expect("HMAC takes a key of any length");
        mac.update(purpose);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = MasterKey::generate();
        key.write_new(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(MasterKey::from_file(&path).unwrap().id(), key.id());
        assert!(key.write_new(&path).is_err(), "never overwrite a key");
        for mode in [0o640, 0o604, 0o644, 0o666] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = MasterKey::from_file(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{mode:o}: {err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(MasterKey::from_file(&path).is_ok());
    }

    #[test]
    fn subkeys_differ_by_purpose_and_key_and_are_not_the_key() {
        let key =
            MasterKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
                .unwrap();
        let a = key.subkey(b"purpose a");
        assert_eq!(*a, *key.subkey(b"purpose a"), "deterministic");
        assert_ne!(*a, *key.subkey(b"purpose b"));
        assert_ne!(*a, *MasterKey::generate().subkey(b"purpose a"));
        assert_ne!(&*a, key.bytes());
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64("AAAA").is_err());
        let ok = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(MasterKey::from_base64(&ok).is_ok());
    }
}
