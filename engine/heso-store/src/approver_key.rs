//! Approver keys: personal `HSK1` keys that belong to a human, never to a project.
//!
//! A key lives at `<base>/approvers/<name>.key`, where `<base>` is `HESO_HOME` when set, else the
//! user data directory `platformdirs.user_data_dir("heso")` would give (see [`approver_base`]).
//! Unlike the operator key, an approver key:
//!
//! * is always `HSK1`; a raw 32-byte seed is refused, because it would sign without a human
//!   typing a passphrase;
//! * takes its passphrase only from the caller, who asks the human for it. The functions here never
//!   look at `HESO_KEY_PASSPHRASE`, `HESO_KEY_PASSPHRASE_FILE` or the development passphrase file,
//!   which all serve the operator key of a project;
//! * must not be stored under the project root or the data directory, where it would travel with
//!   the project (checked on canonical paths, so a symlink does not hide it);
//! * must not equal the project's operator key ([`ensure_not_operator_key`]): the project would
//!   approve its own actions.

use std::io;
use std::path::{Path, PathBuf};

use heso_core::custody::{CustodyMode, Passphrase};
use heso_core::identity::{Identity, PublicKey, SecretSeed};

use crate::env::EngineEnv;
pub use crate::fs::ModeRepair;
use crate::fs::{
    classify_repair, create_file_atomically, ensure_private_dir, random_bytes, repair_mode,
    Presence, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE,
};
use crate::keyfile::{key_format, open_key_file, seal_hsk1, KdfParams, KeyFileError, KeyFormat};

/// The directory under the base that holds approver keys.
pub const APPROVERS_DIR: &str = "approvers";
/// The key name used when the user names none (`heso approver init` without `--key`).
pub const DEFAULT_APPROVER_KEY_NAME: &str = "default";
/// The application name platformdirs is given.
const APP_NAME: &str = "heso";
const KEY_EXTENSION: &str = ".key";
const MAX_NAME_LEN: usize = 64;

/// The platform whose user-data-directory rules locate the base directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Linux, the BSDs and every other POSIX system except macOS (the XDG rules).
    Unix,
    /// macOS.
    MacOs,
    /// Windows.
    Windows,
}

impl Platform {
    /// The platform this program was built for.
    pub const fn current() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Unix
        }
    }
}

/// Why an approver key cannot be located, created, opened or used. Every message is one line and
/// names the fix.
#[derive(Debug, thiserror::Error)]
pub enum ApproverKeyError {
    /// No home directory in the environment and no `HESO_HOME`.
    #[error("cannot locate the approver key directory without {0}; set `HESO_HOME` to a directory outside every project")]
    NoHome(&'static str),
    /// `HESO_HOME` is a relative path, which would depend on the current directory.
    #[error("`HESO_HOME` must be an absolute path, got `{0}`; set it to an absolute directory outside every project")]
    RelativeHome(PathBuf),
    /// The key name is not allowed.
    #[error("invalid approver key name `{0}`; use 1 to 64 characters from `A-Z`, `a-z`, `0-9`, `.`, `_` and `-`, not starting with `.`")]
    InvalidName(String),
    /// The key would be stored inside the project root or the data directory.
    #[error("refusing approver key `{key}`: it lies inside the {place} `{inside}`, and approver keys are personal; set `HESO_HOME` to a directory outside every project (nothing was read or written)")]
    InsideProject {
        /// The key file.
        key: PathBuf,
        /// `project root` or `data directory`.
        place: &'static str,
        /// The directory it lies in.
        inside: PathBuf,
    },
    /// `create` found a key of that name.
    #[error("approver key `{0}` already exists; show it with `heso approver show`, or choose another name with `--key` (nothing was written)")]
    AlreadyExists(PathBuf),
    /// `open` found no key of that name.
    #[error("no approver key at `{0}`; create one with `heso approver init`")]
    Missing(PathBuf),
    /// The file is a raw seed, which approver keys may not be.
    #[error("approver key `{0}` is a raw seed, which approver keys may not be; mint a passphrase-protected key with `heso approver init --key NAME`")]
    RawSeed(PathBuf),
    /// The file does not give a key.
    #[error("cannot load approver key `{path}`: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why it did not load.
        reason: KeyFileError,
    },
    /// An empty passphrase would leave the key unprotected.
    #[error("an approver key needs a non-empty passphrase; enter one (nothing was written)")]
    EmptyPassphrase,
    /// Group- or world-accessible, the mode cannot be fixed, and custody is strict.
    #[error("strict custody: `{0}` is accessible to other users and its mode cannot be fixed (not the owner); as its owner run `chmod go-rwx` on it, or move the key")]
    Exposed(PathBuf),
    /// The approver key is the project's operator key.
    #[error("approver key {0} is the project's operator key, so its approvals would be self-approvals; mint a personal key with `heso approver init` and list that one in `[approvers]`")]
    SameAsOperator(String),
    /// Sealing a new key failed.
    #[error("cannot seal the new approver key: {0}")]
    Seal(KeyFileError),
    /// A file-system operation failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done, such as "create".
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// A valid approver key name: 1–64 characters from `[A-Za-z0-9._-]`, not starting with `.`, so
/// it is a plain file name on every platform and never a hidden file or `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApproverKeyName(String);

impl ApproverKeyName {
    /// Checks a name.
    pub fn parse(text: &str) -> Result<Self, ApproverKeyError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let valid = (1..=MAX_NAME_LEN).contains(&text.len())
            && !text.starts_with('.')
            && text.chars().all(allowed);
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ApproverKeyError::InvalidName(text.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ApproverKeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The base directory of approver keys: `HESO_HOME` when set (it must be absolute), else the
/// directory `platformdirs.user_data_dir("heso")` gives (no app author, not roaming):
///
/// * Linux and BSD: `$XDG_DATA_HOME/heso` when that variable is absolute, else
///   `~/.local/share/heso`;
/// * macOS: `~/Library/Application Support/heso`;
/// * Windows: `%LOCALAPPDATA%\heso\heso` (platformdirs uses the app name as the author when none is
///   given), with `%USERPROFILE%\AppData\Local` when `LOCALAPPDATA` is not set.
///
/// The home directory comes from `HOME` (on Windows `USERPROFILE`, then `HOME`) in the snapshot.
pub fn approver_base(env: &EngineEnv, platform: Platform) -> Result<PathBuf, ApproverKeyError> {
    if let Some(home) = &env.heso_home {
        return if home.is_absolute() {
            Ok(home.clone())
        } else {
            Err(ApproverKeyError::RelativeHome(home.clone()))
        };
    }
    // A relative value would make the location depend on the current directory; ignore it as
    // the XDG specification says, and as an unset value.
    let absolute = |value: &Option<PathBuf>| value.clone().filter(|path| path.is_absolute());
    let base = match platform {
        Platform::Unix => match absolute(&env.xdg_data_home) {
            Some(data) => data,
            None => absolute(&env.home)
                .ok_or(ApproverKeyError::NoHome("`HOME`"))?
                .join(".local")
                .join("share"),
        },
        Platform::MacOs => absolute(&env.home)
            .ok_or(ApproverKeyError::NoHome("`HOME`"))?
            .join("Library")
            .join("Application Support"),
        Platform::Windows => match absolute(&env.local_app_data) {
            Some(local) => local.join(APP_NAME),
            None => absolute(&env.user_profile)
                .or_else(|| absolute(&env.home))
                .ok_or(ApproverKeyError::NoHome("`LOCALAPPDATA` or `USERPROFILE`"))?
                .join("AppData")
                .join("Local")
                .join(APP_NAME),
        },
    };
    Ok(base.join(APP_NAME))
}

/// The directories of the current project, which approver keys must stay out of.
#[derive(Debug, Clone)]
pub struct ProjectDirs {
    /// The project root.
    pub project_root: PathBuf,
    /// The data directory (storage.md §1.1); it may lie outside the project root.
    pub data_dir: PathBuf,
}

/// A decrypted approver key. The seed stays in Rust memory and is wiped on drop.
#[derive(Debug)]
pub struct ApproverKey {
    /// The key's name.
    pub name: ApproverKeyName,
    /// The key file.
    pub path: PathBuf,
    /// The secret seed.
    pub seed: SecretSeed,
    /// The public key derived from it, the value a project lists in `[approvers]`.
    pub public_key: PublicKey,
    /// Mode repairs (or unfixable modes under development custody) to tell the user about once.
    pub warnings: Vec<String>,
}

/// The approver keys of one user, as seen from one place: the base directory, the project the
/// command runs in (if any) and the custody mode, which decides what an unfixable file mode means.
#[derive(Debug, Clone)]
pub struct ApproverKeyStore {
    base: PathBuf,
    project: Option<ProjectDirs>,
    custody: CustodyMode,
}

impl ApproverKeyStore {
    /// A store at `base`. `project` is the project the command runs in; pass it whenever there is
    /// one, so keys inside it are refused.
    pub fn new(base: PathBuf, project: Option<ProjectDirs>, custody: CustodyMode) -> Self {
        Self {
            base,
            project,
            custody,
        }
    }

    /// A store at the base the environment selects on this platform (see [`approver_base`]).
    pub fn from_env(
        env: &EngineEnv,
        project: Option<ProjectDirs>,
        custody: CustodyMode,
    ) -> Result<Self, ApproverKeyError> {
        Ok(Self::new(
            approver_base(env, Platform::current())?,
            project,
            custody,
        ))
    }

    /// The base directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The file of the key `name`: `<base>/approvers/<name>.key`.
    pub fn key_path(&self, name: &ApproverKeyName) -> PathBuf {
        self.base
            .join(APPROVERS_DIR)
            .join(format!("{}{KEY_EXTENSION}", name.as_str()))
    }

    /// Mints a new approver key `name` sealed as `HSK1` with `passphrase`, which the caller asked
    /// the human for; it is never taken from the operator key's passphrase sources. The file is
    /// created atomically with mode 0600 in a 0700 `approvers/` directory, and an existing key is
    /// never replaced: then the result is [`ApproverKeyError::AlreadyExists`].
    pub fn create(
        &self,
        name: &ApproverKeyName,
        passphrase: &Passphrase,
    ) -> Result<ApproverKey, ApproverKeyError> {
        if passphrase.as_bytes().is_empty() {
            return Err(ApproverKeyError::EmptyPassphrase);
        }
        let path = self.key_path(name);
        self.ensure_outside_project(&path)?;
        if path.symlink_metadata().is_ok() {
            return Err(ApproverKeyError::AlreadyExists(path));
        }
        let io_error = |action, at: &Path| {
            let at = at.to_path_buf();
            move |source| ApproverKeyError::Io {
                action,
                path: at,
                source,
            }
        };
        // Everything that can fail without touching the disk happens before the first write.
        let seed = SecretSeed::from_bytes(random_bytes::<32>().map_err(io_error("create", &path))?);
        let salt = random_bytes::<16>().map_err(io_error("create", &path))?;
        let nonce = random_bytes::<12>().map_err(io_error("create", &path))?;
        let file = seal_hsk1(&seed, passphrase, &salt, &nonce, KdfParams::DEFAULT)
            .map_err(ApproverKeyError::Seal)?;

        let dir = self.base.join(APPROVERS_DIR);
        std::fs::create_dir_all(&self.base).map_err(io_error("create", &self.base))?;
        let (_, dir_repair) = ensure_private_dir(&dir).map_err(io_error("create", &dir))?;
        let mut warnings = Vec::new();
        warnings.extend(exposure_verdict(
            &dir,
            classify_repair(&dir, dir_repair),
            self.custody,
        )?);
        let file_name = format!("{}{KEY_EXTENSION}", name.as_str());
        match create_file_atomically(&dir, &file_name, &file, PRIVATE_FILE_MODE)
            .map_err(io_error("create", &path))?
        {
            Presence::Created => Ok(ApproverKey {
                name: name.clone(),
                path,
                public_key: Identity::from_seed(&seed).public_key(),
                seed,
                warnings,
            }),
            // Another process created it between the check and the link; its key stays.
            Presence::Existed => Err(ApproverKeyError::AlreadyExists(path)),
        }
    }

    /// Opens the approver key `name` with `passphrase`, which the caller asked the human for; it
    /// is never taken from the operator key's passphrase sources. Only `HSK1` files are accepted.
    /// A group- or world-accessible `approvers/` directory or key file is reset to 0700/0600 with
    /// a warning; when that is impossible (not the owner) strict custody refuses and development
    /// custody warns. A file that fails to load is never rewritten.
    pub fn open(
        &self,
        name: &ApproverKeyName,
        passphrase: &Passphrase,
    ) -> Result<ApproverKey, ApproverKeyError> {
        let path = self.key_path(name);
        self.ensure_outside_project(&path)?;
        let bytes = zeroize::Zeroizing::new(match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(ApproverKeyError::Missing(path));
            }
            Err(source) => {
                return Err(ApproverKeyError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        });
        let key_error = |reason| ApproverKeyError::Key {
            path: path.clone(),
            reason,
        };
        match key_format(&bytes).map_err(key_error)? {
            KeyFormat::Hsk1 => {}
            KeyFormat::RawSeed => return Err(ApproverKeyError::RawSeed(path)),
        }
        let mut warnings = Vec::new();
        let dir = self.base.join(APPROVERS_DIR);
        for (at, mode) in [(&dir, PRIVATE_DIR_MODE), (&path, PRIVATE_FILE_MODE)] {
            let repair = classify_repair(at, repair_mode(at, mode));
            warnings.extend(exposure_verdict(at, repair, self.custody)?);
        }
        let seed = open_key_file(&bytes, Some(passphrase)).map_err(key_error)?;
        Ok(ApproverKey {
            name: name.clone(),
            public_key: Identity::from_seed(&seed).public_key(),
            path,
            seed,
            warnings,
        })
    }

    /// Refuses a key path that lies inside the project root or the data directory.
    fn ensure_outside_project(&self, key: &Path) -> Result<(), ApproverKeyError> {
        let Some(project) = &self.project else {
            return Ok(());
        };
        let key_real = canonical_as_far_as_exists(key);
        for (place, dir) in [
            ("project root", &project.project_root),
            ("data directory", &project.data_dir),
        ] {
            if key_real.starts_with(canonical_as_far_as_exists(dir)) {
                return Err(ApproverKeyError::InsideProject {
                    key: key.to_path_buf(),
                    place,
                    inside: dir.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Refuses an approver key whose public key is the project's operator key: signing approvals with
/// it would approve the project's own actions (a `SelfApproval`).
pub fn ensure_not_operator_key(
    approver: &PublicKey,
    operator: &PublicKey,
) -> Result<(), ApproverKeyError> {
    if approver == operator {
        Err(ApproverKeyError::SameAsOperator(
            approver.fingerprint().to_string(),
        ))
    } else {
        Ok(())
    }
}

/// Decides what a mode check means under a custody mode (storage.md §1.2): a repaired mode is a
/// warning; an unfixable one refuses under strict custody and is a warning otherwise.
pub fn exposure_verdict(
    path: &Path,
    repair: ModeRepair,
    custody: CustodyMode,
) -> Result<Option<String>, ApproverKeyError> {
    match (repair, custody) {
        (ModeRepair::Private, _) => Ok(None),
        (ModeRepair::Unfixable(_), CustodyMode::Strict) => {
            Err(ApproverKeyError::Exposed(path.to_path_buf()))
        }
        (ModeRepair::Repaired(warning) | ModeRepair::Unfixable(warning), _) => Ok(Some(warning)),
    }
}

/// The canonical form of `path` when it exists; otherwise its nearest existing ancestor made
/// canonical with the rest appended, so a path that is about to be created compares correctly
/// even when an ancestor is a symlink.
fn canonical_as_far_as_exists(path: &Path) -> PathBuf {
    // Relative paths are made absolute first; compared relative, they would never match.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let path = crate::project::normalize(&absolute);
    for ancestor in path.ancestors() {
        if let Ok(real) = std::fs::canonicalize(ancestor) {
            let rest = path
                .strip_prefix(ancestor)
                .unwrap_or_else(|_| Path::new(""));
            return real.join(rest);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSPHRASE: &str = "approve with care";

    fn passphrase(text: &str) -> Passphrase {
        Passphrase::new(text.into())
    }

    fn name(text: &str) -> ApproverKeyName {
        ApproverKeyName::parse(text).unwrap()
    }

    fn store(base: &Path, project: Option<&Path>, custody: CustodyMode) -> ApproverKeyStore {
        let project = project.map(|root| ProjectDirs {
            project_root: root.to_path_buf(),
            data_dir: root.join(".heso"),
        });
        ApproverKeyStore::new(base.to_path_buf(), project, custody)
    }

    fn dev(base: &Path) -> ApproverKeyStore {
        store(base, None, CustodyMode::Development)
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn assert_one_line(error: &ApproverKeyError) {
        let text = error.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.contains("; "), "no fix in: {text}");
    }

    /// The bytes and modification time of a file, to prove a refusal did not touch it.
    fn snapshot(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
        let meta = std::fs::metadata(path).unwrap();
        (std::fs::read(path).unwrap(), meta.modified().unwrap())
    }

    #[test]
    fn names_follow_the_documented_alphabet() {
        let longest = "a".repeat(64);
        for good in [
            "default",
            "a",
            "A-b_c.9",
            "ana.laptop",
            "x.",
            longest.as_str(),
        ] {
            assert_eq!(ApproverKeyName::parse(good).unwrap().as_str(), good);
        }
        let too_long = "a".repeat(65);
        for bad in [
            "",
            ".hidden",
            "..",
            ".",
            "a/b",
            "a\\b",
            "a b",
            "é",
            "a:b",
            too_long.as_str(),
        ] {
            let error = ApproverKeyName::parse(bad).unwrap_err();
            assert!(
                matches!(&error, ApproverKeyError::InvalidName(n) if n == bad),
                "{bad}"
            );
            assert_one_line(&error);
        }
    }

    #[test]
    fn base_follows_heso_home_then_the_platform_rules() {
        let root = std::env::temp_dir();
        let home = root.join("home-ana");
        let env = EngineEnv {
            home: Some(home.clone()),
            user_profile: Some(root.join("profile-ana")),
            ..EngineEnv::default()
        };
        let base = |env: &EngineEnv, platform| approver_base(env, platform).unwrap();
        assert_eq!(
            base(&env, Platform::Unix),
            home.join(".local").join("share").join("heso")
        );
        assert_eq!(
            base(&env, Platform::MacOs),
            home.join("Library")
                .join("Application Support")
                .join("heso")
        );
        assert_eq!(
            base(&env, Platform::Windows),
            root.join("profile-ana")
                .join("AppData")
                .join("Local")
                .join("heso")
                .join("heso")
        );
        let xdg = EngineEnv {
            xdg_data_home: Some(root.join("xdg")),
            local_app_data: Some(root.join("local")),
            ..env.clone()
        };
        assert_eq!(base(&xdg, Platform::Unix), root.join("xdg").join("heso"));
        assert_eq!(
            base(&xdg, Platform::Windows),
            root.join("local").join("heso").join("heso")
        );
        // XDG ignores relative values; macOS ignores XDG entirely.
        let relative_xdg = EngineEnv {
            xdg_data_home: Some("data".into()),
            ..env.clone()
        };
        assert_eq!(
            base(&relative_xdg, Platform::Unix),
            base(&env, Platform::Unix)
        );
        assert_eq!(base(&xdg, Platform::MacOs), base(&env, Platform::MacOs));
        let heso_home = EngineEnv {
            heso_home: Some(root.join("ci-home")),
            ..xdg.clone()
        };
        for platform in [Platform::Unix, Platform::MacOs, Platform::Windows] {
            assert_eq!(base(&heso_home, platform), root.join("ci-home"));
        }
    }

    #[test]
    fn no_home_and_relative_heso_home_name_the_fix() {
        for platform in [Platform::Unix, Platform::MacOs, Platform::Windows] {
            let error = approver_base(&EngineEnv::default(), platform).unwrap_err();
            assert!(matches!(error, ApproverKeyError::NoHome(_)));
            assert!(error.to_string().contains("set `HESO_HOME`"), "{error}");
            assert_one_line(&error);
        }
        let relative = EngineEnv {
            heso_home: Some("keys".into()),
            home: Some(std::env::temp_dir()),
            ..EngineEnv::default()
        };
        let error = approver_base(&relative, Platform::current()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`HESO_HOME` must be an absolute path, got `keys`; set it to an absolute directory outside every project"
        );
    }

    #[test]
    fn a_created_key_opens_with_its_passphrase_only() {
        let home = tempfile::tempdir().unwrap();
        let keys = dev(home.path());
        let created = keys.create(&name("ana"), &passphrase(PASSPHRASE)).unwrap();
        assert_eq!(created.path, home.path().join("approvers").join("ana.key"));
        assert!(created.warnings.is_empty());
        let bytes = std::fs::read(&created.path).unwrap();
        assert_eq!(bytes.len(), 93);
        assert!(bytes.starts_with(b"HSK1"));
        #[cfg(unix)]
        {
            assert_eq!(mode_of(&home.path().join("approvers")), 0o700);
            assert_eq!(mode_of(&created.path), 0o600);
        }
        let opened = keys.open(&name("ana"), &passphrase(PASSPHRASE)).unwrap();
        assert_eq!(opened.public_key, created.public_key);
        assert_eq!(opened.seed.expose(), created.seed.expose());
        assert!(opened.warnings.is_empty());

        let before = snapshot(&created.path);
        let error = keys.open(&name("ana"), &passphrase("guess")).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot load approver key `{}`: wrong passphrase or corrupted key file",
                created.path.display()
            )
        );
        assert_eq!(snapshot(&created.path), before);
    }

    #[test]
    fn create_never_replaces_a_key() {
        let home = tempfile::tempdir().unwrap();
        let keys = dev(home.path());
        let first = keys.create(&name("ana"), &passphrase(PASSPHRASE)).unwrap();
        let before = snapshot(&first.path);
        let error = keys.create(&name("ana"), &passphrase("other")).unwrap_err();
        assert!(matches!(&error, ApproverKeyError::AlreadyExists(p) if *p == first.path));
        assert_one_line(&error);
        assert_eq!(snapshot(&first.path), before);
        let names: Vec<_> = std::fs::read_dir(home.path().join("approvers"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("ana.key")]);
    }

    #[test]
    fn an_empty_passphrase_is_refused_before_writing() {
        let home = tempfile::tempdir().unwrap();
        let error = dev(home.path())
            .create(&name("ana"), &passphrase(""))
            .unwrap_err();
        assert!(matches!(error, ApproverKeyError::EmptyPassphrase));
        assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
    }

    #[test]
    fn raw_seeds_and_other_lengths_are_refused_untouched() {
        let home = tempfile::tempdir().unwrap();
        let keys = dev(home.path());
        std::fs::create_dir(home.path().join("approvers")).unwrap();
        let raw = keys.key_path(&name("raw"));
        std::fs::write(&raw, [7u8; 32]).unwrap();
        let before = snapshot(&raw);
        let error = keys
            .open(&name("raw"), &passphrase(PASSPHRASE))
            .unwrap_err();
        assert!(matches!(&error, ApproverKeyError::RawSeed(p) if *p == raw));
        assert_one_line(&error);
        assert_eq!(snapshot(&raw), before);

        let short = keys.key_path(&name("short"));
        std::fs::write(&short, [7u8; 40]).unwrap();
        let error = keys
            .open(&name("short"), &passphrase(PASSPHRASE))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with(": wrong length: expected 32 or 93 bytes, got 40"),
            "{error}"
        );

        let error = keys
            .open(&name("nobody"), &passphrase(PASSPHRASE))
            .unwrap_err();
        assert!(matches!(error, ApproverKeyError::Missing(_)));
        assert_one_line(&error);
    }

    #[test]
    fn keys_inside_the_project_or_data_dir_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().join("proj");
        std::fs::create_dir(&project).unwrap();
        let pass = passphrase(PASSPHRASE);

        // A base that does not exist yet, below the project root: refused, nothing created.
        let nested = store(
            &project.join("keys").join("deeper"),
            Some(&project),
            CustodyMode::Development,
        );
        let error = nested.create(&name("ana"), &pass).unwrap_err();
        assert!(
            matches!(
                &error,
                ApproverKeyError::InsideProject {
                    place: "project root",
                    ..
                }
            ),
            "{error}"
        );
        assert_one_line(&error);
        assert_eq!(std::fs::read_dir(&project).unwrap().count(), 0);

        // The data directory may lie outside the project root; it is refused too.
        let data_dir = tmp.path().join("state");
        let outside_data = ApproverKeyStore::new(
            data_dir.join("home"),
            Some(ProjectDirs {
                project_root: project.clone(),
                data_dir: data_dir.clone(),
            }),
            CustodyMode::Development,
        );
        let error = outside_data.create(&name("ana"), &pass).unwrap_err();
        assert!(
            matches!(
                &error,
                ApproverKeyError::InsideProject {
                    place: "data directory",
                    ..
                }
            ),
            "{error}"
        );
        assert!(!data_dir.exists());

        // A key made elsewhere is refused when the project's view of it goes through a symlink.
        let home = tmp.path().join("home");
        let made = dev(&home).create(&name("ana"), &pass).unwrap();
        #[cfg(unix)]
        {
            // A base outside the project that is a symlink into it: the key really lies inside.
            let inside = project.join("keys");
            dev(&inside).create(&name("ana"), &pass).unwrap();
            let link = tmp.path().join("home-link");
            std::os::unix::fs::symlink(&inside, &link).unwrap();
            let through_link = store(&link, Some(&project), CustodyMode::Development);
            assert!(matches!(
                through_link.open(&name("ana"), &pass),
                Err(ApproverKeyError::InsideProject { .. })
            ));
            // And a project root reached through a symlink still contains what lies in it.
            let project_link = tmp.path().join("proj-link");
            std::os::unix::fs::symlink(&project, &project_link).unwrap();
            let via_root_link = store(
                &project.join("k"),
                Some(&project_link),
                CustodyMode::Development,
            );
            assert!(matches!(
                via_root_link.create(&name("ana"), &pass),
                Err(ApproverKeyError::InsideProject { .. })
            ));
        }
        // The same key, seen from outside the project, opens.
        let fine = store(&home, Some(&project), CustodyMode::Strict);
        assert_eq!(
            fine.open(&name("ana"), &pass).unwrap().public_key,
            made.public_key
        );
    }

    #[test]
    fn the_operator_key_is_refused_as_an_approver_key() {
        let operator = Identity::from_seed(&SecretSeed::from_bytes([1; 32])).public_key();
        let other = Identity::from_seed(&SecretSeed::from_bytes([2; 32])).public_key();
        assert!(ensure_not_operator_key(&other, &operator).is_ok());
        let error = ensure_not_operator_key(&operator, &operator).unwrap_err();
        assert!(
            error.to_string().starts_with(&format!(
                "approver key {} is the project's operator key",
                operator.fingerprint()
            )),
            "{error}"
        );
        assert_one_line(&error);
    }

    #[cfg(unix)]
    #[test]
    fn widened_modes_are_reset_on_open_with_one_warning_each() {
        let home = tempfile::tempdir().unwrap();
        let keys = store(home.path(), None, CustodyMode::Strict);
        let created = keys.create(&name("ana"), &passphrase(PASSPHRASE)).unwrap();
        let dir = home.path().join("approvers");
        set_mode(&dir, 0o755);
        set_mode(&created.path, 0o644);
        let opened = keys.open(&name("ana"), &passphrase(PASSPHRASE)).unwrap();
        assert_eq!(opened.warnings.len(), 2, "{:?}", opened.warnings);
        assert!(opened.warnings.iter().all(|w| w.contains("reset it to")));
        assert_eq!(mode_of(&dir), 0o700);
        assert_eq!(mode_of(&created.path), 0o600);
        let again = keys.open(&name("ana"), &passphrase(PASSPHRASE)).unwrap();
        assert!(again.warnings.is_empty());
    }

    #[test]
    fn an_unfixable_mode_refuses_under_strict_custody_and_warns_otherwise() {
        let path = Path::new("/elsewhere/approvers/ana.key");
        let unfixable =
            || ModeRepair::Unfixable("ana.key cannot be fixed: not the owner".to_owned());
        let error = exposure_verdict(path, unfixable(), CustodyMode::Strict).unwrap_err();
        assert!(matches!(&error, ApproverKeyError::Exposed(p) if p == path));
        assert_one_line(&error);
        assert_eq!(
            exposure_verdict(path, unfixable(), CustodyMode::Development).unwrap(),
            Some("ana.key cannot be fixed: not the owner".to_owned())
        );
        for custody in [CustodyMode::Strict, CustodyMode::Development] {
            assert_eq!(
                exposure_verdict(path, ModeRepair::Private, custody).unwrap(),
                None
            );
            assert_eq!(
                exposure_verdict(path, ModeRepair::Repaired("reset".into()), custody).unwrap(),
                Some("reset".to_owned())
            );
        }
    }

    #[test]
    fn the_operator_passphrase_sources_are_not_consulted() {
        // The store has no access to `EngineEnv` passphrases; only the argument unlocks the key.
        let home = tempfile::tempdir().unwrap();
        let keys = ApproverKeyStore::from_env(
            &EngineEnv {
                heso_home: Some(home.path().to_path_buf()),
                key_passphrase: Some(PASSPHRASE.into()),
                ..EngineEnv::default()
            },
            None,
            CustodyMode::Development,
        )
        .unwrap();
        assert_eq!(keys.base(), home.path());
        keys.create(&name("ana"), &passphrase("typed by ana"))
            .unwrap();
        assert!(matches!(
            keys.open(&name("ana"), &passphrase(PASSPHRASE)),
            Err(ApproverKeyError::Key {
                reason: KeyFileError::WrongPassphrase,
                ..
            })
        ));
    }
}
