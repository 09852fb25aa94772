//! The data dir: where the host keeps everything it persists. Created 0700
//! on first write; everything inside is reached through `cap-std` handles.

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
