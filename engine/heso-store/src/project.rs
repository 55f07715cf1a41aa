//! Finding the project: the directory whose `heso.toml` governs the current work.

use std::path::{Component, Path, PathBuf};

use crate::scaffold::{DEFAULT_DATA_DIR, POLICY_FILE};

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

/// Why the data directory cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataDirError {
    /// `heso.toml` exists but does not load, so its `[settings].data_dir` is unknown.
    #[error("cannot read [settings] data_dir from {path}: {first}; fix the policy (`heso policy check`) or set HESO_DATA_DIR")]
    Policy {
        /// The policy file as shown to the user.
        path: String,
        /// Its first error.
        first: String,
    },
    /// `heso.toml` exists but cannot be read.
    #[error("cannot read {path}: {reason}")]
    Unreadable {
        /// The policy file as shown to the user.
        path: String,
        /// Why.
        reason: String,
    },
}

/// The project's data directory (storage.md §1.1): `HESO_DATA_DIR`, else `[settings].data_dir`
/// of the project's `heso.toml`, else `.heso`; relative paths are resolved against the project
/// root, never the current directory. (The `data_dir` argument of `heso.init()` comes first; the
/// SDK passes it as `env_data_dir`.) A missing `heso.toml` means no settings.
pub fn resolve_data_dir(root: &Path, env_data_dir: Option<&Path>) -> Result<PathBuf, DataDirError> {
    if let Some(dir) = env_data_dir {
        return Ok(normalize(&root.join(dir)));
    }
    let policy = root.join(POLICY_FILE);
    let bytes = match std::fs::read(&policy) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(root.join(DEFAULT_DATA_DIR));
        }
        Err(error) => {
            return Err(DataDirError::Unreadable {
                path: POLICY_FILE.to_owned(),
                reason: error.to_string(),
            })
        }
    };
    let loaded = heso_core::policy::load::load_policy(POLICY_FILE, &bytes).map_err(|issues| {
        DataDirError::Policy {
            path: POLICY_FILE.to_owned(),
            first: issues.first().map(ToString::to_string).unwrap_or_default(),
        }
    })?;
    Ok(match loaded.settings.data_dir {
        Some(dir) => normalize(&root.join(dir)),
        None => root.join(DEFAULT_DATA_DIR),
    })
}

/// `path` with `.` and `..` resolved lexically (the directory may not exist yet).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "default_decision = \"block\"\n";

    #[test]
    fn environment_then_settings_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(resolve_data_dir(root, None).unwrap(), root.join(".heso"));
        std::fs::write(root.join("heso.toml"), POLICY).unwrap();
        assert_eq!(resolve_data_dir(root, None).unwrap(), root.join(".heso"));
        let with = format!("{POLICY}[settings]\ndata_dir = \"var/../state\"\n");
        std::fs::write(root.join("heso.toml"), with).unwrap();
        assert_eq!(resolve_data_dir(root, None).unwrap(), root.join("state"));
        let env = Path::new("/elsewhere/data");
        assert_eq!(resolve_data_dir(root, Some(env)).unwrap(), env);
        assert_eq!(
            resolve_data_dir(root, Some(Path::new("rel"))).unwrap(),
            root.join("rel")
        );
    }

    #[test]
    fn a_broken_policy_is_an_error_not_a_silent_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("heso.toml"), "version = 2\n").unwrap();
        let error = resolve_data_dir(dir.path(), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot read [settings] data_dir from heso.toml: heso.toml:1:11: unsupported version 2; this heso reads version 1; fix the policy (`heso policy check`) or set HESO_DATA_DIR"
        );
        assert!(resolve_data_dir(dir.path(), Some(Path::new(".d"))).is_ok());
    }
}
