//! Compiled-artifact cache in the data dir.
//!
//! Deserializing a compiled artifact runs its machine code, so an entry is
//! trusted only after its bytes match the hash recorded with it and it names
//! the module it was compiled from. A tampered, truncated or foreign entry is
//! removed and the module is recompiled.
//!
//! Layout: `<data-dir>/artifacts/<engine-key>/<module-sha256>.cwasm`, where the
//! engine key hashes wasmtime's compatibility hash (version, target, settings).
//! Every path is built from hex digests and opened through a `cap-std` `Dir`
//! rooted at the data dir.

use std::io::Write;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, DirBuilder, DirBuilderExt, OpenOptions, OpenOptionsExt};
use sha2::{Digest as _, Sha256};

use crate::digest::ModuleDigest;

const MAGIC: &[u8; 22] = b"skillhost-artifact-v1\n";
const HEADER_LEN: usize = MAGIC.len() + 32 + 32;

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
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    data_dir: PathBuf,
}

impl ArtifactCache {
    pub fn new(data_dir: &Path) -> Self {
        ArtifactCache {
            data_dir: data_dir.to_path_buf(),
        }
    }

    fn entry_path(engine_key: &str, module: &ModuleDigest) -> PathBuf {
        PathBuf::from("artifacts")
            .join(engine_key)
            .join(format!("{}.cwasm", module.hex()))
    }

    /// Find and verify the artifact for `module`.
    pub fn get(&self, engine_key: &str, module: &ModuleDigest) -> Lookup {
        let Ok(dir) = Dir::open_ambient_dir(&self.data_dir, ambient_authority()) else {
            return Lookup::Miss;
        };
        let path = Self::entry_path(engine_key, module);
        let bytes = match dir.read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
            Err(e) => return Lookup::Rejected(format!("unreadable: {e}")),
        };
        match verify(&bytes, module) {
            Ok(()) => Lookup::Hit(bytes[HEADER_LEN..].to_vec()),
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
        file.write_all(&Sha256::digest(artifact))?;
        file.write_all(artifact)?;
        file.sync_all()?;
        drop(file);
        dir.rename(&tmp, &dir, &path)
    }
}

fn verify(bytes: &[u8], module: &ModuleDigest) -> Result<(), String> {
    if bytes.len() < HEADER_LEN {
        return Err("truncated header".into());
    }
    let (magic, rest) = bytes.split_at(MAGIC.len());
    let (recorded_module, rest) = rest.split_at(32);
    let (recorded_hash, body) = rest.split_at(32);
    if magic != MAGIC {
        return Err("unknown format".into());
    }
    if recorded_module != module.as_bytes() {
        return Err("compiled from a different module".into());
    }
    if Sha256::digest(body).as_slice() != recorded_hash {
        return Err("artifact bytes do not match their recorded hash".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_file(root: &Path, key: &str, m: &ModuleDigest) -> PathBuf {
        root.join(ArtifactCache::entry_path(key, m))
    }

    #[test]
    fn round_trip_and_nothing_created_before_put() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        let cache = ArtifactCache::new(&root);
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
        let cache = ArtifactCache::new(&root);
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
        let cache = ArtifactCache::new(tmp.path());
        let m = ModuleDigest::of(b"module");
        let file = entry_file(tmp.path(), "k", &m);

        type Mutation = fn(&mut Vec<u8>);
        let mutations: [(&str, Mutation); 4] = [
            ("flipped body byte", |b| *b.last_mut().unwrap() ^= 1),
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
}
