//! Finding the project: the directory whose `heso.toml` governs the current work.

use std::path::{Path, PathBuf};

use crate::scaffold::POLICY_FILE;

/// Finds the project root: an explicit directory, then `HESO_PROJECT_ROOT`, then the nearest
/// directory from `cwd` upwards holding a regular `heso.toml`.
pub fn find_project_root(
    explicit: Option<&Path>,
    env_root: Option<&Path>,
    cwd: &Path,
) -> Option<PathBuf> {
    if let Some(root) = explicit.or(env_root) {
        return root.join(POLICY_FILE).is_file().then(|| root.to_path_buf());
    }
    let start = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    start
        .ancestors()
        .find(|dir| dir.join(POLICY_FILE).is_file())
        .map(Path::to_path_buf)
}
