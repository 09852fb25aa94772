//! Compiled-artifact cache in the data dir.
//!
//! Deserializing a compiled artifact runs its machine code, so an entry is
//! trusted only under an HMAC-SHA256 tag whose key is not stored beside it:
//! a subkey of the secrets master key ([`MasterKey::subkey`]). The tag covers
//! the format, the engine key, the module digest and the artifact bytes. An
//! entry with a bad tag — tampered, truncated, of another module or engine,
//! written under another key, or from an older skillhost that recorded only
//! a plain hash — is removed and the module is recompiled. Without a master
//! key the engine has no cache at all.
//!
//! Layout: `<data-dir>/artifacts/<engine-key>/<module-sha256>.cwasm`, where the
//! engine key hashes wasmtime's compatibility hash (version, target, settings).
//! Every path is built from hex digests and opened through a `cap-std` `Dir`
//! rooted at the data dir. A file is `MAGIC`, the module digest (32 bytes),
//! the tag (32 bytes), then the artifact.

use std::io::Write;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, DirBuilder, DirBuilderExt, OpenOptions, OpenOptionsExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::digest::ModuleDigest;
use crate::secrets::MasterKey;

const MAGIC: &[u8; 22] = b"skillhost-artifact-v2\n";
/// The unauthenticated format before v2 (a plain SHA-256 in the header).
const MAGIC_V1: &[u8; 22] = b"skillhost-artifact-v1\n";
const HEADER_LEN: usize = MAGIC.len() + 32 + 32;
/// What the cache key is derived for; never used for anything else.
const PURPOSE: &[u8] = b"skillhost artifact-cache v2";

type HmacSha256 = Hmac<Sha256>;

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A verified artifact.
    Hit(Vec<u8>),
    /// No entry.
    Miss,
    /// An entry existed but failed verification (and was removed).
    Rejected(String),
}

/// The cache, rooted at a data dir. Nothing is created until the first `put`.
#[derive(Clone)]
pub struct ArtifactCache {
    data_dir: PathBuf,
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for ArtifactCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactCache")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl ArtifactCache {
    /// A cache in `data_dir` whose entries are authenticated under a subkey
    /// of `key`.
    pub fn new(data_dir: &Path, key: &MasterKey) -> Self {
        ArtifactCache {
            data_dir: data_dir.to_path_buf(),
            key: key.subkey(PURPOSE),
        }
    }

    fn entry_path(engine_key: &str, module: &ModuleDigest) -> PathBuf {
        PathBuf::from("artifacts")
            .join(engine_key)
            .join(format!("{}.cwasm", module.hex()))
    }

    /// The tag over everything an entry stands for.
    fn mac(&self, engine_key: &str, module: &ModuleDigest, artifact: &[u8]) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&*self.key)
            .expect("HMAC takes a key of any length");
        mac.update(MAGIC);
        mac.update(&(engine_key.len() as u64).to_be_bytes());
        mac.update(engine_key.as_bytes());
        mac.update(module.as_bytes());
        mac.update(artifact);
        mac
    }

    /// Find and verify the artifact for `module`.
    pub fn get(&self, engine_key: &str, module: &ModuleDigest) -> Lookup {
        let Ok(dir) = Dir::open_ambient_dir(&self.data_dir, ambient_authority()) else {
            return Lookup::Miss;
        };
        let path = Self::entry_path(engine_key, module);
        let mut bytes = match dir.read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return Lookup::Rejected(format!("unreadable: {e}")),
        };
        match self.verify(&bytes, engine_key, module) {
            Ok(()) => Lookup::Hit(bytes.split_off(HEADER_LEN)),
            Err(reason) => {
                let _ = dir.remove_file(&path);
                Lookup::Rejected(reason)
            }
        }
    }

    /// Store an artifact atomically (temp file, fsync, rename), 0600 in 0700
    /// directories.
    pub fn put(
        &self,
        engine_key: &str,
        module: &ModuleDigest,
        artifact: &[u8],
    ) -> std::io::Result<()> {
        crate::data_dir::create(&self.data_dir)?;
        let dir = Dir::open_ambient_dir(&self.data_dir, ambient_authority())?;
        let path = Self::entry_path(engine_key, module);
        let parent = path.parent().expect("entry paths have a parent");
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        dir.create_dir_with(parent, &builder)?;

        let tmp = parent.join(format!("{}.tmp-{}", module.hex(), std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true).mode(0o600);
        let mut file = dir.open_with(&tmp, &options)?;
        file.write_all(MAGIC)?;
        file.write_all(module.as_bytes())?;
        let tag = self
            .mac(engine_key, module, artifact)
            .finalize()
            .into_bytes();
        file.write_all(&tag)?;
        file.write_all(artifact)?;
        file.sync_all()?;
        drop(file);
        dir.rename(&tmp, &dir, &path)
    }

    fn verify(&self, bytes: &[u8], engine_key: &str, module: &ModuleDigest) -> Result<(), String> {
        if bytes.len() < HEADER_LEN {
            return Err("truncated header".into());
        }
        let (magic, rest) = bytes.split_at(MAGIC.len());
        let (recorded_module, rest) = rest.split_at(32);
        let (tag, body) = rest.split_at(32);
        if magic == MAGIC_V1 {
            return Err("written by an older skillhost, unauthenticated".into());
        }
        if magic != MAGIC {
            return Err("unknown format".into());
        }
        if recorded_module != module.as_bytes() {
            return Err("compiled from a different module".into());
        }
        self.mac(engine_key, module, body)
            .verify_slice(tag)
            .map_err(|_| "the entry's tag does not verify under this host's key".into())
    }
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    fn entry_file(root: &Path, key: &str, m: &ModuleDigest) -> PathBuf {
        root.join(ArtifactCache::entry_path(key, m))
    }

    fn cache(root: &Path) -> ArtifactCache {
        ArtifactCache::new(root, &MasterKey::generate())
    }

    #[test]
    fn round_trip_and_nothing_created_before_put() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        let cache = cache(&root);
        let m = ModuleDigest::of(b"module");
        assert!(matches!(cache.get("k", &m), Lookup::Miss));
        assert!(!root.exists(), "a lookup must not create the data dir");
        cache.put("k", &m, b"compiled").unwrap();
        assert!(matches!(cache.get("k", &m), Lookup::Hit(b) if b == b"compiled"));
    }

    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        let cache = cache(&root);
        let m = ModuleDigest::of(b"module");
        cache.put("k", &m, b"compiled").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("artifacts")), 0o700);
        assert_eq!(mode(&entry_file(&root, "k", &m)), 0o600);
    }

    #[test]
    fn tampered_truncated_and_foreign_entries_are_rejected_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache(tmp.path());
        let m = ModuleDigest::of(b"module");
        let file = entry_file(tmp.path(), "k", &m);

        type Mutation = fn(&mut Vec<u8>);
        let mutations: [(&str, Mutation); 5] = [
            ("flipped body byte", |b| *b.last_mut().unwrap() ^= 1),
            ("flipped tag byte", |b| b[MAGIC.len() + 32] ^= 1),
            ("truncated body", |b| {
                b.pop();
            }),
            ("truncated header", |b| b.truncate(10)),
            ("other module", |b| b[MAGIC.len()] ^= 1),
        ];
        for (what, mutate) in mutations {
            cache.put("k", &m, b"compiled artifact").unwrap();
            let mut bytes = std::fs::read(&file).unwrap();
            mutate(&mut bytes);
            std::fs::write(&file, &bytes).unwrap();
            assert!(
                matches!(cache.get("k", &m), Lookup::Rejected(_)),
                "{what} was accepted"
            );
            assert!(!file.exists(), "{what}: bad entry left behind");
        }
    }

    /// What someone who can write the data dir, but has no key, can build:
    /// any header they can compute from the bytes alone.
    #[test]
    fn forged_entries_are_rejected_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = cache(tmp.path());
        let m = ModuleDigest::of(b"module");
        let file = entry_file(tmp.path(), "k", &m);
        let body = b"another skill's machine code";
        let header = |magic: &[u8], tag: &[u8]| [magic, m.as_bytes(), tag, body].concat();
        let sha = Sha256::digest(body);

        // The same artifact, authenticated by a host with another key.
        let other = ArtifactCache::new(tmp.path(), &MasterKey::generate());
        other.put("k", &m, body).unwrap();
        let under_other_key = std::fs::read(&file).unwrap();
        // This host's own entry for another engine, moved into this one.
        cache.put("other-engine", &m, body).unwrap();
        let other_engine = std::fs::read(entry_file(tmp.path(), "other-engine", &m)).unwrap();

        let forgeries = [
            (
                "a v1 header with a recomputed SHA-256",
                header(MAGIC_V1, &sha),
            ),
            (
                "a v2 header with a plain SHA-256 as tag",
                header(MAGIC, &sha),
            ),
            ("an entry tagged under another key", under_other_key),
            ("an entry of another engine", other_engine),
        ];
        for (what, bytes) in forgeries {
            std::fs::write(&file, &bytes).unwrap();
            match cache.get("k", &m) {
                Lookup::Rejected(reason) => assert!(!reason.is_empty()),
                other => panic!("{what}: {other:?}"),
            }
            assert!(!file.exists(), "{what}: forged entry left behind");
        }
    }
}
