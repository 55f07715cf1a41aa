//! The `HESO_*` environment variables the engine reads, captured once at the program's edge.
//!
//! Library functions take this snapshot instead of reading the process environment, so tests can
//! give each case its own values and nothing reads the environment twice with different results.

use std::ffi::OsString;
use std::path::PathBuf;

/// A snapshot of the engine's environment variables. Empty values count as unset.
#[derive(Clone, Default)]
pub struct EngineEnv {
    /// `HESO_PROJECT_ROOT`.
    pub project_root: Option<PathBuf>,
    /// `HESO_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `HESO_KEY_PASSPHRASE` (the exact string).
    pub key_passphrase: Option<String>,
    /// `HESO_KEY_PASSPHRASE_FILE`.
    pub key_passphrase_file: Option<PathBuf>,
    /// `HESO_ENV`.
    pub heso_env: Option<String>,
    /// `HESO_REQUIRE_PASSPHRASE`.
    pub require_passphrase: Option<String>,
}

impl std::fmt::Debug for EngineEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineEnv")
            .field("project_root", &self.project_root)
            .field("data_dir", &self.data_dir)
            .field(
                "key_passphrase",
                &self.key_passphrase.as_ref().map(|_| "<redacted>"),
            )
            .field("key_passphrase_file", &self.key_passphrase_file)
            .field("heso_env", &self.heso_env)
            .field("require_passphrase", &self.require_passphrase)
            .finish()
    }
}

/// An environment variable whose value is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not valid UTF-8")]
pub struct EnvError(pub &'static str);

impl EngineEnv {
    /// Reads the variables from the process environment.
    pub fn from_process() -> Result<Self, EnvError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Reads the variables through `lookup`, which returns a variable's raw value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, EnvError> {
        let raw = |name: &'static str| lookup(name).filter(|value| !value.is_empty());
        let text = |name: &'static str| {
            raw(name)
                .map(|value| value.into_string().map_err(|_| EnvError(name)))
                .transpose()
        };
        Ok(Self {
            project_root: raw("HESO_PROJECT_ROOT").map(PathBuf::from),
            data_dir: raw("HESO_DATA_DIR").map(PathBuf::from),
            key_passphrase: text("HESO_KEY_PASSPHRASE")?,
            key_passphrase_file: raw("HESO_KEY_PASSPHRASE_FILE").map(PathBuf::from),
            heso_env: text("HESO_ENV")?,
            require_passphrase: text("HESO_REQUIRE_PASSPHRASE")?,
        })
    }
}
