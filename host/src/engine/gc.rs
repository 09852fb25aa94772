//! `skillhost gc`: remove compiled artifacts that no version can use any
//! more, so the artifact cache is a function of what may still run.
//!
//! Kept: the artifact of every version that is approved or pending (a
//! pending version may yet be approved), for the engine this host runs.
//! Removed: artifacts of every other digest (rejected, superseded, revoked),
//! leftover temporary files, and whole directories of other engines (an
//! older wasmtime or other settings, whose artifacts this host would refuse
//! anyway). Modules are never removed: see the README ("Disk").
//!
//! Safe beside a running host: it only ever removes cache entries, which a
//! host recompiles if it needs one again; a running host's loaded
//! components live in memory and are untouched.

use std::collections::HashSet;
use std::path::Path;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::digest::ModuleDigest;

/// What a collection removed and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Collected {
    /// Files removed.
    pub removed_files: u64,
    /// Bytes those files held.
    pub removed_bytes: u64,
    /// Artifacts kept (of approved or pending versions).
    pub kept_files: u64,
}

/// Remove every artifact under `<data_dir>/artifacts` that is not the
/// current engine's artifact of a digest in `keep`.
pub(crate) fn collect(
    data_dir: &Path,
    engine_key: &str,
    keep: &HashSet<ModuleDigest>,
) -> std::io::Result<Collected> {
    let mut out = Collected::default();
    let root = match Dir::open_ambient_dir(data_dir, ambient_authority()) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let artifacts = match root.open_dir("artifacts") {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let kept_names: HashSet<String> = keep.iter().map(|d| format!("{}.cwasm", d.hex())).collect();
    for engine in artifacts.entries()? {
        let engine = engine?;
        let name = engine.file_name();
        let Some(name) = name.to_str() else { continue };
        if !engine.file_type()?.is_dir() {
            continue;
        }
        let current = name == engine_key;
        let dir = artifacts.open_dir(name)?;
        for entry in dir.entries()? {
            let entry = entry?;
            let file = entry.file_name();
            let keep_it = current && file.to_str().is_some_and(|f| kept_names.contains(f));
            if keep_it {
                out.kept_files += 1;
                continue;
            }
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if entry.file_type()?.is_file() {
                dir.remove_file(&file)?;
                out.removed_files += 1;
                out.removed_bytes += len;
            }
        }
        if !current {
            // Empty now, unless something other than files was put there.
            let _ = artifacts.remove_dir(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exactly_the_current_engines_artifacts_of_kept_digests() {
        let tmp = tempfile::tempdir().unwrap();
        let a = ModuleDigest::of(b"a");
        let b = ModuleDigest::of(b"b");
        let cur = tmp.path().join("artifacts/engine-now");
        let old = tmp.path().join("artifacts/engine-old");
        std::fs::create_dir_all(&cur).unwrap();
        std::fs::create_dir_all(&old).unwrap();
        for d in [&a, &b] {
            std::fs::write(cur.join(format!("{}.cwasm", d.hex())), b"12345").unwrap();
            std::fs::write(old.join(format!("{}.cwasm", d.hex())), b"123").unwrap();
        }
        std::fs::write(cur.join(".tmp.123"), b"1").unwrap();
        let keep: HashSet<ModuleDigest> = [a].into();
        let got = collect(tmp.path(), "engine-now", &keep).unwrap();
        assert_eq!(got.kept_files, 1);
        assert_eq!(got.removed_files, 4);
        assert_eq!(got.removed_bytes, 5 + 3 + 3 + 1);
        assert!(cur.join(format!("{}.cwasm", a.hex())).is_file());
        assert!(!cur.join(format!("{}.cwasm", b.hex())).exists());
        assert!(!old.exists(), "another engine's directory goes");
        // A second run finds nothing more to do.
        let again = collect(tmp.path(), "engine-now", &keep).unwrap();
        assert_eq!((again.removed_files, again.kept_files), (0, 1));
        // No artifacts dir at all is fine.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(collect(empty.path(), "x", &keep).unwrap(), Collected::default());
    }
}
