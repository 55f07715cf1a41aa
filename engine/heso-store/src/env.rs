//! The environment variables the engine reads (`HESO_*` and the few platform ones that locate the
//! user's directories), captured once at the program's edge.
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
    /// `HESO_HOME`: the base directory of approver keys instead of the platform data directory.
    pub heso_home: Option<PathBuf>,
    /// `HOME`, the user's home directory (POSIX, and the last resort on Windows).
    pub home: Option<PathBuf>,
    /// `USERPROFILE`, the user's home directory on Windows.
    pub user_profile: Option<PathBuf>,
    /// `XDG_DATA_HOME`, the user's data directory on Linux and the BSDs.
    pub xdg_data_home: Option<PathBuf>,
    /// `LOCALAPPDATA`, the user's local (not roaming) application data directory on Windows.
    pub local_app_data: Option<PathBuf>,
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
            .field("heso_home", &self.heso_home)
            .field("home", &self.home)
            .field("user_profile", &self.user_profile)
            .field("xdg_data_home", &self.xdg_data_home)
            .field("local_app_data", &self.local_app_data)
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
            heso_home: raw("HESO_HOME").map(PathBuf::from),
            home: raw("HOME").map(PathBuf::from),
            user_profile: raw("USERPROFILE").map(PathBuf::from),
            xdg_data_home: raw("XDG_DATA_HOME").map(PathBuf::from),
            local_app_data: raw("LOCALAPPDATA").map(PathBuf::from),
        })
    }
}
