//! The data dir: where the host keeps everything it persists. Created 0700
//! on first write.
//!
//! The module store (`modules/`) and the artifact cache (`artifacts/`),
//! whose file names come from digests and engine versions, are reached
//! through `cap-std` `Dir` handles rooted there. The audit log (`audit/`,
//! segments named by the host's own sequence numbers), the SQLite database
//! (`registry.db`), the key file (`master.key`) and the optional
//! `skillhost.toml` are opened with `std::fs` at fixed names under the data
//! dir. None is ever opened at a path built from skill-controlled input: no
//! skill name, version or digest becomes a path.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Environment variable that overrides the default data dir.
pub const ENV: &str = "SKILLHOST_DATA_DIR";

/// The default data dir: `$SKILLHOST_DATA_DIR`, else the platform data dir
/// (e.g. `~/.local/share/skillhost`).
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os(ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("skillhost")
}

/// Create the data dir (and parents) if missing, owner-only.
pub fn create(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    // The umask may have narrowed the mode further, never widened it; make
    // the leaf exactly 0700.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}
