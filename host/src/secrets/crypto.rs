//! AES-256-GCM with a fresh random 96-bit nonce per encryption and
//! associated data that binds a ciphertext to (skill, name, version): a
//! ciphertext copied to another row fails to decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use super::key::MasterKey;

/// What a ciphertext is bound to.
pub fn aad(skill: &str, name: &str, version: i64) -> Vec<u8> {
    format!("skillhost-secret-v1\0{skill}\0{name}\0{version}").into_bytes()
}

/// Encrypt; returns (nonce, ciphertext-with-tag).
pub fn seal(key: &MasterKey, plaintext: &[u8], aad: &[u8]) -> ([u8; 12], Vec<u8>) {
    let cipher = Aes256Gcm::new(key.bytes().into());
    let nonce: [u8; 12] = rand::random();
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encryption of a bounded message cannot fail");
    (nonce, ciphertext)
}

/// Decrypt and authenticate; `None` if the key, the data or the binding is wrong.
pub fn open(
    key: &MasterKey,
    nonce: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if nonce.len() != 12 {
        return None;
    }
    let cipher = Aes256Gcm::new(key.bytes().into());
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_fresh_nonces_and_binding() {
        let key = MasterKey::generate();
        let a = aad("weather", "TOKEN", 1);
        let (n1, c1) = seal(&key, b"s3cret", &a);
        let (n2, c2) = seal(&key, b"s3cret", &a);
        assert_ne!(n1, n2, "a fresh nonce every time");
        assert_ne!(c1, c2);
        assert_eq!(&open(&key, &n1, &c1, &a).unwrap()[..], b"s3cret");
        // Moved to another skill, name or version: refused.
        assert!(open(&key, &n1, &c1, &aad("other", "TOKEN", 1)).is_none());
        assert!(open(&key, &n1, &c1, &aad("weather", "OTHER", 1)).is_none());
        assert!(open(&key, &n1, &c1, &aad("weather", "TOKEN", 2)).is_none());
        // Wrong key or tampered bytes: refused.
        assert!(open(&MasterKey::generate(), &n1, &c1, &a).is_none());
        let mut bad = c1.clone();
        bad[0] ^= 1;
        assert!(open(&key, &n1, &bad, &a).is_none());
    }
}
