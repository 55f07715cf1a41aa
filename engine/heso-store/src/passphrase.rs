//! Finding the operator key's passphrase: the sources, in order, and the custody rules.

use std::path::{Path, PathBuf};

use heso_core::custody::{parse_passphrase_file, CustodyMode, Passphrase, DEV_PASSPHRASE_FILE};

use crate::env::EngineEnv;

/// Where a passphrase came from. Shown to people; the passphrase itself never is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseSource {
    /// `--passphrase-file PATH`.
    Argument(PathBuf),
    /// `HESO_KEY_PASSPHRASE`.
    Env,
    /// `HESO_KEY_PASSPHRASE_FILE`.
    EnvFile(PathBuf),
    /// The development passphrase file in the data directory.
    DevFile(PathBuf),
}

impl std::fmt::Display for PassphraseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Argument(path) => write!(f, "--passphrase-file {}", path.display()),
            Self::Env => f.write_str("HESO_KEY_PASSPHRASE"),
            Self::EnvFile(path) => write!(f, "HESO_KEY_PASSPHRASE_FILE ({})", path.display()),
            Self::DevFile(path) => write!(f, "{} (development only)", path.display()),
        }
    }
}

/// Why no passphrase could be read. `source` names where the file came from as the user set it:
/// `--passphrase-file `x``, `HESO_KEY_PASSPHRASE_FILE=`x`` or the development file's path.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    /// A named passphrase file could not be read.
    #[error("{source_name} cannot be read: {error}")]
    Unreadable {
        /// The file, as named by its source.
        source_name: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A passphrase file has no passphrase in it.
    #[error("{source_name} {reason}")]
    Invalid {
        /// The file, as named by its source.
        source_name: String,
        /// What is wrong with it.
        reason: heso_core::custody::PassphraseFileError,
    },
}

/// The path of the development passphrase file in a data directory.
pub fn dev_passphrase_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DEV_PASSPHRASE_FILE)
}

/// Resolves the operator key passphrase; the first source that is set wins: `explicit_file`,
/// `HESO_KEY_PASSPHRASE`, `HESO_KEY_PASSPHRASE_FILE`, then (development custody only) the
/// development file in `data_dir`. `Ok(None)` means no source is set.
pub fn resolve_passphrase(
    explicit_file: Option<&Path>,
    env: &EngineEnv,
    data_dir: &Path,
    custody: CustodyMode,
) -> Result<Option<(Passphrase, PassphraseSource)>, PassphraseError> {
    if let Some(path) = explicit_file {
        let name = format!("--passphrase-file `{}`", path.display());
        return read_named_file(path, name)
            .map(|p| Some((p, PassphraseSource::Argument(path.into()))));
    }
    if let Some(text) = &env.key_passphrase {
        return Ok(Some((Passphrase::new(text.clone()), PassphraseSource::Env)));
    }
    if let Some(path) = &env.key_passphrase_file {
        let name = format!("HESO_KEY_PASSPHRASE_FILE=`{}`", path.display());
        return read_named_file(path, name)
            .map(|p| Some((p, PassphraseSource::EnvFile(path.clone()))));
    }
    let dev_file = dev_passphrase_path(data_dir);
    if custody == CustodyMode::Development && dev_file.is_file() {
        return read_passphrase_file(&dev_file)
            .map(|p| Some((p, PassphraseSource::DevFile(dev_file))));
    }
    Ok(None)
}

/// Reads a passphrase file (heso's passphrase file format).
pub fn read_passphrase_file(path: &Path) -> Result<Passphrase, PassphraseError> {
    read_named_file(path, format!("passphrase file `{}`", path.display()))
}

fn read_named_file(path: &Path, source_name: String) -> Result<Passphrase, PassphraseError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => zeroize::Zeroizing::new(bytes),
        Err(error) => return Err(PassphraseError::Unreadable { source_name, error }),
    };
    parse_passphrase_file(&bytes).map_err(|reason| PassphraseError::Invalid {
        source_name,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(passphrase: Option<&str>, file: Option<PathBuf>) -> EngineEnv {
        EngineEnv {
            key_passphrase: passphrase.map(str::to_owned),
            key_passphrase_file: file,
            ..EngineEnv::default()
        }
    }

    #[test]
    fn sources_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let arg = dir.path().join("arg.txt");
        let env_file = dir.path().join("env.txt");
        std::fs::write(&arg, "# c\nfrom-arg\n").unwrap();
        std::fs::write(&env_file, "from-env-file\n").unwrap();
        std::fs::write(dev_passphrase_path(dir.path()), "from-dev\n").unwrap();
        let dev = CustodyMode::Development;
        let got = |explicit: Option<&Path>, env: &EngineEnv, custody| {
            resolve_passphrase(explicit, env, dir.path(), custody)
                .unwrap()
                .map(|(p, source)| (String::from_utf8(p.as_bytes().to_vec()).unwrap(), source))
        };
        let everything = env_with(Some("from-env"), Some(env_file.clone()));
        assert_eq!(got(Some(&arg), &everything, dev).unwrap().0, "from-arg");
        assert_eq!(
            got(None, &everything, dev),
            Some(("from-env".into(), PassphraseSource::Env))
        );
        let file_only = env_with(None, Some(env_file.clone()));
        assert_eq!(
            got(None, &file_only, dev),
            Some(("from-env-file".into(), PassphraseSource::EnvFile(env_file)))
        );
        let nothing = EngineEnv::default();
        assert_eq!(got(None, &nothing, dev).unwrap().0, "from-dev");
        // Strict custody never reads the development file.
        assert_eq!(got(None, &nothing, CustodyMode::Strict), None);
    }

    #[test]
    fn unreadable_and_empty_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = resolve_passphrase(
            Some(&missing),
            &EngineEnv::default(),
            dir.path(),
            CustodyMode::Strict,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("--passphrase-file `"), "{err}");
        assert!(err.to_string().contains("` cannot be read: "), "{err}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "# nothing\n").unwrap();
        let env = env_with(None, Some(empty));
        let err = resolve_passphrase(None, &env, dir.path(), CustodyMode::Strict).unwrap_err();
        assert!(
            err.to_string().starts_with("HESO_KEY_PASSPHRASE_FILE=`"),
            "{err}"
        );
        assert!(
            err.to_string().ends_with("` has no passphrase line"),
            "{err}"
        );
    }
}
