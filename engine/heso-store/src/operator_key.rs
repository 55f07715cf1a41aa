//! Loading the operator identity from the data directory.

use std::io;
use std::path::{Path, PathBuf};

use heso_core::custody::Passphrase;
use heso_core::identity::{Identity, PublicKey, SecretSeed};

use crate::fs::{repair_mode, PRIVATE_FILE_MODE};
use crate::keyfile::{key_format, open_key_file, KeyFileError, KeyFormat};

/// The operator key's file name inside the data directory.
pub const IDENTITY_FILE: &str = "identity.key";

/// The path of the operator key in a data directory.
pub fn identity_path(data_dir: &Path) -> PathBuf {
    data_dir.join(IDENTITY_FILE)
}

/// A loaded operator identity. The seed stays in Rust memory and is wiped on drop.
#[derive(Debug)]
pub struct OperatorKey {
    /// The secret seed.
    pub seed: SecretSeed,
    /// The public key derived from it.
    pub public_key: PublicKey,
    /// The file's format.
    pub format: KeyFormat,
    /// Mode repairs to tell the user about once.
    pub warnings: Vec<String>,
}

/// Why the operator key did not load. Callers add the path, as the user should see it.
#[derive(Debug, thiserror::Error)]
pub enum OperatorKeyError {
    /// There is no key file.
    #[error("no operator key")]
    Missing,
    /// The file exists but cannot be read.
    #[error("{0}")]
    Io(io::Error),
    /// The bytes do not give a key.
    #[error("{0}")]
    Key(KeyFileError),
    /// A raw seed that other users can read, and whose mode could not be fixed.
    #[error(
        "a raw seed file readable by other users is refused; make it private with `chmod 600`"
    )]
    ExposedRawSeed,
}

/// Loads the operator key at `path` with the resolved passphrase (if any). A file that fails to
/// load is never rewritten or deleted.
pub fn load_operator_key(
    path: &Path,
    passphrase: Option<&Passphrase>,
) -> Result<OperatorKey, OperatorKeyError> {
    let bytes = zeroize::Zeroizing::new(match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(OperatorKeyError::Missing)
        }
        Err(error) => return Err(OperatorKeyError::Io(error)),
    });
    let format = key_format(&bytes).map_err(OperatorKeyError::Key)?;
    let warnings: Vec<String> = repair_mode(path, PRIVATE_FILE_MODE).into_iter().collect();
    if format == KeyFormat::RawSeed && warnings.iter().any(|w| w.contains("cannot be fixed")) {
        return Err(OperatorKeyError::ExposedRawSeed);
    }
    let seed = open_key_file(&bytes, passphrase).map_err(OperatorKeyError::Key)?;
    let public_key = Identity::from_seed(&seed).public_key();
    Ok(OperatorKey {
        seed,
        public_key,
        format,
        warnings,
    })
}

/// An existing key file that did not load, with the path as the user should see it and the fix.
#[derive(Debug, thiserror::Error)]
#[error("cannot load {shown}: {reason}{hint}")]
pub struct KeyLoadError {
    /// The key file as shown.
    pub shown: String,
    /// Why it did not load.
    pub reason: OperatorKeyError,
    /// The fix, after `; `, or empty.
    pub hint: &'static str,
}

/// Loads the key at `key_path`, turning a failure into a message naming the file and the fix.
pub fn load_operator_key_shown(
    key_path: &Path,
    passphrase: Option<&Passphrase>,
    shown: &dyn Fn(&Path) -> String,
) -> Result<OperatorKey, KeyLoadError> {
    load_operator_key(key_path, passphrase).map_err(|reason| {
        let hint = match &reason {
            OperatorKeyError::Key(KeyFileError::PassphraseRequired) => {
                "; set HESO_KEY_PASSPHRASE or HESO_KEY_PASSPHRASE_FILE"
            }
            _ => "",
        };
        KeyLoadError {
            shown: shown(key_path),
            reason,
            hint,
        }
    })
}

/// Why a project's operator key cannot be opened for signing.
#[derive(Debug, thiserror::Error)]
pub enum OpenKeyError {
    /// A custody variable has a bad value.
    #[error(transparent)]
    Custody(#[from] heso_core::custody::CustodyError),
    /// Strict custody while a development passphrase file exists.
    #[error("strict custody: `{0}` exists; set HESO_KEY_PASSPHRASE to a real passphrase and delete that file")]
    StrictWithDevFile(String),
    /// A passphrase source is set but unusable.
    #[error(transparent)]
    Passphrase(#[from] crate::passphrase::PassphraseError),
    /// No key file.
    #[error("no operator key at {0}; run `heso init` (it keeps your heso.toml)")]
    Missing(String),
    /// The key file does not load.
    #[error(transparent)]
    Load(#[from] KeyLoadError),
}

/// The operator key of a project with where its passphrase came from.
#[derive(Debug)]
pub struct OpenedOperatorKey {
    /// The key.
    pub key: OperatorKey,
    /// The passphrase source (`None` for a raw seed).
    pub passphrase_source: Option<crate::passphrase::PassphraseSource>,
    /// The custody mode in force.
    pub custody: heso_core::custody::CustodyMode,
}

/// Opens the operator key of the data directory under the custody rules: the custody mode from
/// the environment, the passphrase from its sources in order, and refusal of the development
/// passphrase file under strict custody. `shown` renders paths for messages.
pub fn open_operator_key(
    data_dir: &Path,
    env: &crate::env::EngineEnv,
    shown: &dyn Fn(&Path) -> String,
) -> Result<OpenedOperatorKey, OpenKeyError> {
    use heso_core::custody::CustodyMode;
    let custody = CustodyMode::resolve(
        env.heso_env.as_deref(),
        env.require_passphrase.as_deref(),
        false,
    )?;
    let dev_path = crate::passphrase::dev_passphrase_path(data_dir);
    if custody == CustodyMode::Strict && dev_path.symlink_metadata().is_ok() {
        return Err(OpenKeyError::StrictWithDevFile(shown(&dev_path)));
    }
    let key_path = identity_path(data_dir);
    if key_path.symlink_metadata().is_err() {
        return Err(OpenKeyError::Missing(shown(&key_path)));
    }
    let resolved = crate::passphrase::resolve_passphrase(None, env, data_dir, custody)?;
    let key = load_operator_key_shown(&key_path, resolved.as_ref().map(|(p, _)| p), shown)?;
    let passphrase_source = match key.format {
        KeyFormat::Hsk1 => resolved.map(|(_, source)| source),
        KeyFormat::RawSeed => None,
    };
    Ok(OpenedOperatorKey {
        key,
        passphrase_source,
        custody,
    })
}
