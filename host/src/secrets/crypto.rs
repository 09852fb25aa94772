//! AES-256-GCM with a fresh random 96-bit nonce per encryption and
//! associated data that binds a ciphertext to (skill, name, version) and to
//! the destinations it may be sent to: a ciphertext copied to another row,
//! or a row rebound to other hosts, fails to decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use super::key::MasterKey;

/// What a ciphertext is bound to: its row and its destinations, the
/// normalised strings stored in the row's `hosts`, as a set (sorted, without
/// duplicates). Every field is length-prefixed, so no two bindings share an
/// encoding.
pub fn aad(skill: &str, name: &str, version: i64, hosts: &[String]) -> Vec<u8> {
    let mut hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    hosts.sort_unstable();
    hosts.dedup();
    let mut out = b"skillhost-secret-v2\0".to_vec();
    let mut field = |bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    field(skill.as_bytes());
    field(name.as_bytes());
    field(&version.to_be_bytes());
    field(&(hosts.len() as u64).to_be_bytes());
    for h in hosts {
        field(h.as_bytes());
    }
    out
}

/// The associated data before v2, which left the destinations
/// unauthenticated. A row that opens only under it is a legacy row: it is
/// never used, only re-sealed by the owner's `rotate-key`.
pub fn aad_v1(skill: &str, name: &str, version: i64) -> Vec<u8> {
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

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn round_trip_fresh_nonces_and_binding() {
        let key = MasterKey::generate();
        let api = hosts(&["https://api.example.com"]);
        let a = aad("weather", "TOKEN", 1, &api);
        let (n1, c1) = seal(&key, b"s3cret", &a);
        let (n2, c2) = seal(&key, b"s3cret", &a);
        assert_ne!(n1, n2, "a fresh nonce every time");
        assert_ne!(c1, c2);
        assert_eq!(&open(&key, &n1, &c1, &a).unwrap()[..], b"s3cret");
        // Moved to another skill, name or version: refused.
        assert!(open(&key, &n1, &c1, &aad("other", "TOKEN", 1, &api)).is_none());
        assert!(open(&key, &n1, &c1, &aad("weather", "OTHER", 1, &api)).is_none());
        assert!(open(&key, &n1, &c1, &aad("weather", "TOKEN", 2, &api)).is_none());
        // Under the old binding, which did not cover the destinations: refused.
        assert!(open(&key, &n1, &c1, &aad_v1("weather", "TOKEN", 1)).is_none());
        // Wrong key or tampered bytes: refused.
        assert!(open(&MasterKey::generate(), &n1, &c1, &a).is_none());
        let mut bad = c1.clone();
        bad[0] ^= 1;
        assert!(open(&key, &n1, &bad, &a).is_none());
    }

    #[test]
    fn changing_the_destinations_breaks_decryption() {
        let key = MasterKey::generate();
        let bound = hosts(&["https://a.example", "https://b.example:8443"]);
        let (n, c) = seal(&key, b"s3cret", &aad("s", "TOKEN", 1, &bound));
        let opens =
            |list: &[&str]| open(&key, &n, &c, &aad("s", "TOKEN", 1, &hosts(list))).is_some();
        // The same set in another order, or with a repeat, is the same binding.
        assert!(opens(&["https://b.example:8443", "https://a.example"]));
        assert!(opens(&[
            "https://a.example",
            "https://b.example:8443",
            "https://a.example"
        ]));
        for changed in [
            &["https://evil.example"][..],
            &["https://a.example"],
            &[
                "https://a.example",
                "https://b.example:8443",
                "https://evil.example",
            ],
            &["https://a.example", "https://b.example"],
            &["https://a.example", "https://evil.example:8443"],
            &[],
        ] {
            assert!(!opens(changed), "rebound to {changed:?}");
        }
        // Lists that concatenate to the same text are different bindings.
        let a = aad("s", "T", 1, &hosts(&["https://a", "b"]));
        assert_ne!(a, aad("s", "T", 1, &hosts(&["https://ab"])));
        assert_ne!(a, aad("s", "T", 1, &hosts(&["https://a\0b"])));
        assert_ne!(aad("s", "T1", 1, &[]), aad("s", "T", 11, &[]));
    }
}
