//! `skillhost gc`: remove compiled artifacts that no version can use any
//! more, so the artifact cache is a function of what may still run.
//!
//! Kept: the artifacts of every version that is approved or pending (a
//! pending version may yet be approved), in every engine's directory (a
//! `serve` with other engine settings than the CLI's has its own). Removed:
//! the artifacts of every other digest (rejected, superseded, revoked).
//! Files that are not finished artifacts (a writer's temporary file) are
//! left alone, and modules are never removed: see the README ("Disk and
//! memory").
//!
//! Safe beside a running host: it only ever removes cache entries, which a
//! host recompiles if it needs one again; a running host's loaded
//! components live in memory and are untouched. A file that vanishes while
//! gc runs (another gc, a host replacing it) is not an error.

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
    /// Artifacts kept (of approved or pending versions, in every engine's
    /// directory).
    pub kept_files: u64,
}

/// Remove every artifact under `<data_dir>/artifacts/*/` whose digest is
/// not in `keep`.
pub(crate) fn collect(
    data_dir: &Path,
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
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    for engine in artifacts.entries()? {
        let engine = engine?;
        if !engine.file_type()?.is_dir() {
            continue;
        }
        let name = engine.file_name();
        let dir = match artifacts.open_dir(&name) {
            Ok(d) => d,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        for entry in dir.entries()? {
            let entry = entry?;
            let file = entry.file_name();
            let Some(file_name) = file.to_str() else { continue };
            if !file_name.ends_with(".cwasm") || !entry.file_type()?.is_file() {
                continue;
            }
            if kept_names.contains(file_name) {
                out.kept_files += 1;
                continue;
            }
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            match dir.remove_file(&file) {
                Ok(()) => {
                    out.removed_files += 1;
                    out.removed_bytes += len;
                }
                Err(e) if gone(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exactly_the_artifacts_of_kept_digests() {
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
        // A writer's temporary file is not an artifact: left alone.
        let tmp_file = cur.join(format!("{}.tmp-123", b.hex()));
        std::fs::write(&tmp_file, b"1").unwrap();
        let keep: HashSet<ModuleDigest> = [a].into();
        let got = collect(tmp.path(), &keep).unwrap();
        assert_eq!(got.kept_files, 2);
        assert_eq!(got.removed_files, 2);
        assert_eq!(got.removed_bytes, 5 + 3);
        for dir in [&cur, &old] {
            assert!(dir.join(format!("{}.cwasm", a.hex())).is_file());
            assert!(!dir.join(format!("{}.cwasm", b.hex())).exists());
        }
        assert!(tmp_file.is_file());
        // A second run finds nothing more to do.
        let again = collect(tmp.path(), &keep).unwrap();
        assert_eq!((again.removed_files, again.kept_files), (0, 2));
        // No artifacts dir at all is fine.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(collect(empty.path(), &keep).unwrap(), Collected::default());
    }
}
