//! The content-addressed module store: `<data-dir>/modules/<sha256>.wasm`,
//! read-only (0400). Bytes are verified against their name on every read, so
//! a file changed on disk is refused, never run.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, DirBuilder, DirBuilderExt, OpenOptions, OpenOptionsExt, Permissions};
use std::os::unix::fs::PermissionsExt;

use crate::digest::ModuleDigest;

use super::error::RegistryError;

const DIR: &str = "modules";

/// Where module bytes live.
#[derive(Debug)]
pub enum ModuleStore {
    /// Files in the data dir.
    Dir(PathBuf),
    /// Process memory only (`skillhost dev`).
    Memory(Mutex<HashMap<ModuleDigest, Vec<u8>>>),
}

/// Why module bytes could not be read back.
#[derive(Debug)]
pub enum ModuleReadError {
    Missing,
    Changed,
    Io(String),
}

fn file_name(digest: &ModuleDigest) -> PathBuf {
    PathBuf::from(DIR).join(format!("{}.wasm", digest.hex()))
}

fn io(context: &str, e: std::io::Error) -> RegistryError {
    RegistryError::Io(format!("{context}: {e}"))
}

/// The writer's pid, if `name` is one of [`ModuleStore::put`]'s temporaries.
fn stale_temporary_pid(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (hex, pid) = inner.split_once('.')?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| pid.parse().ok())
        .flatten()
}

impl ModuleStore {
    pub fn in_dir(data_dir: &Path) -> Self {
        ModuleStore::Dir(data_dir.to_path_buf())
    }

    pub fn in_memory() -> Self {
        ModuleStore::Memory(Mutex::default())
    }

    /// Remove temporary files a killed writer left behind
    /// (`modules/.<digest>.<pid>.tmp`), but only those whose process is gone,
    /// so a writer in another live process is never disturbed. Returns how
    /// many were removed.
    pub fn sweep_temporaries(&self) -> usize {
        let ModuleStore::Dir(root) = self else {
            return 0;
        };
        let Ok(dir) =
            Dir::open_ambient_dir(root, ambient_authority()).and_then(|d| d.open_dir(DIR))
        else {
            return 0;
        };
        let Ok(entries) = dir.entries() else { return 0 };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = stale_temporary_pid(&name) else {
                continue;
            };
            let alive = Path::new("/proc").join(pid.to_string()).exists();
            if (!alive || pid == std::process::id()) && dir.remove_file(&name).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Store `bytes` under their digest. Identical bytes already stored are
    /// left alone; a damaged file with the same name is replaced.
    pub fn put(&self, digest: &ModuleDigest, bytes: &[u8]) -> Result<(), RegistryError> {
        debug_assert_eq!(ModuleDigest::of(bytes), *digest);
        let root = match self {
            ModuleStore::Memory(map) => {
                map.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(*digest, bytes.to_vec());
                return Ok(());
            }
            ModuleStore::Dir(root) => root,
        };
        if self.get(digest).is_ok() {
            return Ok(());
        }
        let dir = Dir::open_ambient_dir(root, ambient_authority())
            .map_err(|e| io("cannot open the data dir", e))?;
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        dir.create_dir_with(DIR, &builder)
            .map_err(|e| io("cannot create the module store", e))?;

        let target = file_name(digest);
        let tmp = PathBuf::from(DIR).join(format!(".{}.{}.tmp", digest.hex(), std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true).mode(0o600);
        let write = || -> std::io::Result<()> {
            let mut file = dir.open_with(&tmp, &options)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            file.set_permissions(Permissions::from_std(std::fs::Permissions::from_mode(
                0o400,
            )))?;
            drop(file);
            dir.rename(&tmp, &dir, &target)?;
            // Make the rename durable before the registry row that names it.
            dir.open(DIR)?.sync_all()
        };
        write().map_err(|e| {
            let _ = dir.remove_file(&tmp);
            io("cannot write the module store", e)
        })
    }

    /// Read module bytes and verify them against `digest`.
    pub fn get(&self, digest: &ModuleDigest) -> Result<Vec<u8>, ModuleReadError> {
        let bytes = match self {
            ModuleStore::Memory(map) => map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(digest)
                .cloned()
                .ok_or(ModuleReadError::Missing)?,
            ModuleStore::Dir(root) => {
                let dir = Dir::open_ambient_dir(root, ambient_authority())
                    .map_err(|e| ModuleReadError::Io(e.to_string()))?;
                match dir.read(file_name(digest)) {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(ModuleReadError::Missing);
                    }
                    Err(e) => return Err(ModuleReadError::Io(e.to_string())),
                }
            }
        };
        if ModuleDigest::of(&bytes) != *digest {
            return Err(ModuleReadError::Changed);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_of_dead_writers_are_swept_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ModuleStore::in_dir(tmp.path());
        let d = ModuleDigest::of(b"module");
        store.put(&d, b"module").unwrap();
        let dir = tmp.path().join(DIR);
        let hex = d.hex();
        // A pid that cannot be alive (above the kernel's pid_max), a live one
        // (the parent of this test), and files that are not temporaries.
        let dead = dir.join(format!(".{hex}.4294967295.tmp"));
        let live = dir.join(format!(
            ".{hex}.{}.tmp",
            std::os::unix::process::parent_id()
        ));
        let other = dir.join("notes.tmp");
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"partial").unwrap();
        }
        assert_eq!(store.sweep_temporaries(), 1);
        assert!(!dead.exists());
        assert!(live.exists() && other.exists());
        assert_eq!(store.get(&d).unwrap(), b"module");
    }

    #[test]
    fn stores_read_only_and_verifies_on_read() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ModuleStore::in_dir(tmp.path());
        let bytes = b"\0asm module bytes".to_vec();
        let d = ModuleDigest::of(&bytes);
        store.put(&d, &bytes).unwrap();
        store.put(&d, &bytes).unwrap();
        let path = tmp.path().join(file_name(&d));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o400
        );
        assert_eq!(store.get(&d).unwrap(), bytes);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, b"tampered").unwrap();
        assert!(matches!(store.get(&d), Err(ModuleReadError::Changed)));
        // Adding the genuine bytes again repairs the store.
        store.put(&d, &bytes).unwrap();
        assert_eq!(store.get(&d).unwrap(), bytes);

        std::fs::remove_file(&path).unwrap();
        assert!(matches!(store.get(&d), Err(ModuleReadError::Missing)));
    }
}
