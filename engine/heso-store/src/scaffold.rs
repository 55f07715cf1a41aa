//! `heso-compliance init`: scaffolding a project (directory, data directory, `.gitignore` entry,
//! passphrase, operator key, starter policy).
//!
//! Everything that can be checked is checked before the first byte is written, so a refusal
//! leaves the file system exactly as it was. Re-running on a finished project writes nothing.

use std::io;
use std::path::{Path, PathBuf};

use heso_core::custody::{
    dev_passphrase_file, CustodyError, CustodyMode, Passphrase, DEV_PASSPHRASE_FILE,
};
use heso_core::gitignore::{plan_gitignore, GitignoreChange};
use heso_core::identity::{Identity, PublicKey, SecretSeed};
use heso_core::pinning::{operator_pinning, OperatorPinning};
use heso_core::starter::starter_policy;

use crate::env::EngineEnv;
use crate::fs::{
    append_synced, create_file_atomically, ensure_private_dir, random_bytes, Presence,
    PRIVATE_FILE_MODE, SHARED_FILE_MODE,
};
use crate::keyfile::{seal_hsk1, KdfParams, KeyFileError};
use crate::operator_key::{identity_path, load_operator_key_shown, KeyLoadError, IDENTITY_FILE};
use crate::passphrase::{
    dev_passphrase_path, read_passphrase_file, resolve_passphrase, PassphraseError,
    PassphraseSource,
};

/// The policy file's name at the project root.
pub const POLICY_FILE: &str = "heso.toml";
/// The default data directory, relative to the project root.
pub const DEFAULT_DATA_DIR: &str = ".heso";

/// What `init` is asked to do.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The project directory as the user named it (relative to `cwd` unless absolute).
    pub dir: PathBuf,
    /// The working directory relative paths are resolved against.
    pub cwd: PathBuf,
    /// `--require-passphrase`: strict custody regardless of the environment.
    pub require_passphrase: bool,
    /// `--passphrase-file PATH`.
    pub passphrase_file: Option<PathBuf>,
    /// The engine's environment variables.
    pub env: EngineEnv,
}

/// What happened to one thing `init` looks after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAction {
    /// Created now.
    Created,
    /// Appended to an existing file.
    Appended,
    /// Already there; left untouched.
    Kept,
}

impl StepAction {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Appended => "appended",
            Self::Kept => "kept",
        }
    }
}

/// One step of `init`, reported as it happens. `shown` is the path relative to the project
/// directory (absolute when outside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitStep {
    /// The project directory did not exist and was created; `shown` is the name as given.
    CreatedDir {
        /// The directory as the user named it.
        shown: String,
    },
    /// The `.gitignore` entry for the data directory.
    Gitignore {
        /// The entry, such as `.heso/`.
        entry: String,
        /// What was done.
        action: StepAction,
    },
    /// The development passphrase file (only when a new key is sealed with it).
    DevPassphrase {
        /// The file.
        shown: String,
        /// Created or reused.
        action: StepAction,
    },
    /// The operator key.
    Key {
        /// The file.
        shown: String,
        /// Minted or kept.
        action: StepAction,
        /// Its public key.
        public_key: PublicKey,
    },
    /// The starter policy.
    Policy {
        /// The file.
        shown: String,
        /// Written or kept.
        action: StepAction,
    },
}

/// The outcome of a successful `init`.
#[derive(Debug, Clone)]
pub struct InitReport {
    /// The project directory, absolute.
    pub project_root: PathBuf,
    /// Whether the project directory was created.
    pub created_dir: bool,
    /// Every step, in order.
    pub steps: Vec<InitStep>,
    /// The operator public key.
    pub operator: PublicKey,
    /// Whether `heso.toml` pins it.
    pub pinning: OperatorPinning,
    /// Warnings to show (mode repairs).
    pub warnings: Vec<String>,
}

/// Why `init` refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A custody variable has a bad value.
    #[error(transparent)]
    Custody(#[from] CustodyError),
    /// Strict custody and no passphrase for a new key.
    #[error("strict custody: no passphrase for a new operator key; set HESO_KEY_PASSPHRASE or HESO_KEY_PASSPHRASE_FILE (nothing was written)")]
    StrictWithoutPassphrase,
    /// Strict custody while a development passphrase file exists.
    #[error("strict custody: `{0}` exists; set HESO_KEY_PASSPHRASE to a real passphrase and delete that file (nothing was written)")]
    StrictWithDevFile(String),
    /// A passphrase source is set but unusable.
    #[error("{0} (nothing was written)")]
    Passphrase(#[from] PassphraseError),
    /// The existing key does not load.
    #[error(transparent)]
    KeyLoad(#[from] KeyLoadError),
    /// A path that must be a directory is something else.
    #[error("`{0}` exists and is not a directory")]
    NotADirectory(String),
    /// A path that must be a regular file is something else.
    #[error("`{0}` exists and is not a regular file")]
    NotAFile(String),
    /// A directory that must be written to is read-only.
    #[error("cannot write in `{0}`: it is read-only (nothing was written)")]
    ReadOnly(String),
    /// An I/O operation failed.
    #[error("cannot {action} `{shown}`: {source}")]
    Io {
        /// What was being done, such as "create".
        action: &'static str,
        /// The path.
        shown: String,
        /// The error.
        source: io::Error,
    },
    /// Sealing the new key failed.
    #[error("cannot seal the new operator key: {0}")]
    Seal(KeyFileError),
    /// The data directory cannot be resolved from an existing `heso.toml`.
    #[error("{0} (nothing was written)")]
    DataDir(#[from] crate::project::DataDirError),
}

/// How the new key gets its passphrase.
enum NewKeyPassphrase {
    Resolved(Passphrase),
    /// Development custody with no passphrase anywhere: generate the development file.
    GenerateDevFile {
        content: String,
        passphrase: Passphrase,
    },
}

/// What the preflight found; everything the writes need.
struct Plan {
    root: PathBuf,
    root_exists: bool,
    data_dir: PathBuf,
    key: KeyPlan,
    passphrase_source: Option<PassphraseSource>,
    gitignore: Option<(String, GitignoreChange)>,
    existing_policy: Option<Vec<u8>>,
}

/// What happens to the operator key.
enum KeyPlan {
    /// It exists and loads.
    Existing {
        public_key: PublicKey,
        warnings: Vec<String>,
    },
    /// It is minted with this passphrase.
    New(NewKeyPassphrase),
}

/// Runs `init`, calling `on_step` after each step so the caller can report progress as it goes.
pub fn init_project(
    options: &InitOptions,
    on_step: &mut dyn FnMut(&InitStep),
) -> Result<InitReport, InitError> {
    let plan = preflight(options)?;
    let mut run = Run {
        root: plan.root.clone(),
        steps: Vec::new(),
        on_step,
    };
    let mut warnings = Vec::new();

    if !plan.root_exists {
        std::fs::create_dir_all(&run.root).map_err(run.io_error("create", &plan.root))?;
        run.step(InitStep::CreatedDir {
            shown: format!("{}/", options.dir.display()),
        });
    }
    if let Some(parent) = plan.data_dir.parent() {
        std::fs::create_dir_all(parent).map_err(run.io_error("create", parent))?;
    }
    let (_, repaired) =
        ensure_private_dir(&plan.data_dir).map_err(run.io_error("create", &plan.data_dir))?;
    warnings.extend(repaired);
    if let Some((entry, change)) = plan.gitignore {
        run.gitignore(entry, change)?;
    }
    let operator = match plan.key {
        KeyPlan::Existing {
            public_key,
            warnings: key_warnings,
        } => {
            warnings.extend(key_warnings);
            let shown = run.shown(&identity_path(&plan.data_dir));
            run.step(InitStep::Key {
                shown,
                action: StepAction::Kept,
                public_key,
            });
            public_key
        }
        KeyPlan::New(new) => run.new_key(&plan.data_dir, new, plan.passphrase_source.as_ref())?,
    };
    let pinning = run.policy(plan.existing_policy, &operator)?;

    let project_root = std::fs::canonicalize(&run.root).unwrap_or_else(|_| run.root.clone());
    Ok(InitReport {
        project_root,
        created_dir: !plan.root_exists,
        steps: run.steps,
        operator,
        pinning,
        warnings,
    })
}

/// The writing half of `init`: each method performs one step and reports it.
struct Run<'a> {
    root: PathBuf,
    steps: Vec<InitStep>,
    on_step: &'a mut dyn FnMut(&InitStep),
}

impl Run<'_> {
    fn step(&mut self, step: InitStep) {
        (self.on_step)(&step);
        self.steps.push(step);
    }

    fn shown(&self, path: &Path) -> String {
        shown_path(&self.root, path)
    }

    fn io_error(&self, action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> InitError {
        let shown = self.shown(path);
        move |source| InitError::Io {
            action,
            shown,
            source,
        }
    }

    fn gitignore(&mut self, entry: String, change: GitignoreChange) -> Result<(), InitError> {
        let path = self.root.join(".gitignore");
        let action = match change {
            GitignoreChange::AlreadyIgnored => StepAction::Kept,
            GitignoreChange::Create(text) => {
                create_file_atomically(&self.root, ".gitignore", text.as_bytes(), SHARED_FILE_MODE)
                    .map_err(self.io_error("create", &path))?;
                StepAction::Created
            }
            GitignoreChange::Append(text) => {
                append_synced(&path, text.as_bytes()).map_err(self.io_error("append to", &path))?;
                StepAction::Appended
            }
        };
        self.step(InitStep::Gitignore { entry, action });
        Ok(())
    }

    fn new_key(
        &mut self,
        data_dir: &Path,
        new: NewKeyPassphrase,
        source: Option<&PassphraseSource>,
    ) -> Result<PublicKey, InitError> {
        let dev_path = dev_passphrase_path(data_dir);
        let passphrase = match new {
            NewKeyPassphrase::Resolved(passphrase) => {
                if let Some(PassphraseSource::DevFile(path)) = source {
                    let shown = self.shown(path);
                    self.step(InitStep::DevPassphrase {
                        shown,
                        action: StepAction::Kept,
                    });
                }
                passphrase
            }
            NewKeyPassphrase::GenerateDevFile {
                content,
                passphrase,
            } => {
                let presence = create_file_atomically(
                    data_dir,
                    DEV_PASSPHRASE_FILE,
                    content.as_bytes(),
                    PRIVATE_FILE_MODE,
                )
                .map_err(self.io_error("create", &dev_path))?;
                let shown = self.shown(&dev_path);
                self.step(InitStep::DevPassphrase {
                    shown,
                    action: StepAction::Created,
                });
                match presence {
                    Presence::Created => passphrase,
                    // Another process created it first: seal with the passphrase it holds.
                    Presence::Existed => read_passphrase_file(&dev_path)?,
                }
            }
        };
        let key_path = identity_path(data_dir);
        let shown = self.shown(&key_path);
        let (public_key, action) = mint_key(data_dir, &passphrase, &shown)?;
        self.step(InitStep::Key {
            shown,
            action,
            public_key,
        });
        Ok(public_key)
    }

    fn policy(
        &mut self,
        existing: Option<Vec<u8>>,
        operator: &PublicKey,
    ) -> Result<OperatorPinning, InitError> {
        let path = self.root.join(POLICY_FILE);
        let shown = self.shown(&path);
        if let Some(bytes) = existing {
            self.step(InitStep::Policy {
                shown,
                action: StepAction::Kept,
            });
            return Ok(operator_pinning(&bytes, operator));
        }
        let text = starter_policy(operator);
        let presence =
            create_file_atomically(&self.root, POLICY_FILE, text.as_bytes(), SHARED_FILE_MODE)
                .map_err(self.io_error("create", &path))?;
        Ok(match presence {
            Presence::Created => {
                self.step(InitStep::Policy {
                    shown,
                    action: StepAction::Created,
                });
                OperatorPinning::Pinned
            }
            // Another process wrote one first: treat it like any existing policy.
            Presence::Existed => {
                self.step(InitStep::Policy {
                    shown,
                    action: StepAction::Kept,
                });
                let bytes = std::fs::read(&path).map_err(self.io_error("read", &path))?;
                operator_pinning(&bytes, operator)
            }
        })
    }
}

/// Checks everything before anything is written.
fn preflight(options: &InitOptions) -> Result<Plan, InitError> {
    let env = &options.env;
    let custody = CustodyMode::resolve(
        env.heso_env.as_deref(),
        env.require_passphrase.as_deref(),
        options.require_passphrase,
    )?;
    let root = crate::project::normalize(&options.cwd.join(&options.dir));
    let shown = |path: &Path| shown_path(&root, path);

    let root_exists = match root.symlink_metadata() {
        Ok(_) if root.is_dir() => true,
        Ok(_) => return Err(InitError::NotADirectory(options.dir.display().to_string())),
        Err(_) => false,
    };
    let data_dir = crate::project::resolve_data_dir(&root, env.data_dir.as_deref())?;
    if data_dir.symlink_metadata().is_ok() && !data_dir.is_dir() {
        return Err(InitError::NotADirectory(shown(&data_dir)));
    }
    for dir in [&root, &data_dir] {
        let existing = nearest_existing_ancestor(dir);
        if std::fs::metadata(&existing).is_ok_and(|m| m.permissions().readonly()) {
            return Err(InitError::ReadOnly(existing.display().to_string()));
        }
    }

    let dev_path = dev_passphrase_path(&data_dir);
    if custody == CustodyMode::Strict && dev_path.symlink_metadata().is_ok() {
        return Err(InitError::StrictWithDevFile(shown(&dev_path)));
    }
    let resolved = resolve_passphrase(options.passphrase_file.as_deref(), env, &data_dir, custody)?;
    let passphrase_source = resolved.as_ref().map(|(_, source)| source.clone());

    let key = preflight_key(&data_dir, resolved, custody, &shown)?;

    let existing_policy = read_regular_file(&root.join(POLICY_FILE), POLICY_FILE)?;
    let gitignore = match data_dir.strip_prefix(&root) {
        Ok(relative) if relative != Path::new("") => {
            let entry = format!("{}/", slash_path(relative));
            let existing = read_regular_file(&root.join(".gitignore"), ".gitignore")?;
            let change = plan_gitignore(existing.as_deref(), &entry);
            Some((entry, change))
        }
        _ => None,
    };

    Ok(Plan {
        root,
        root_exists,
        data_dir,
        key,
        passphrase_source,
        gitignore,
        existing_policy,
    })
}

/// Checks the operator key: an existing one must load; a new one needs a passphrase (or, in
/// development custody, a generated development passphrase).
fn preflight_key(
    data_dir: &Path,
    resolved: Option<(Passphrase, PassphraseSource)>,
    custody: CustodyMode,
    shown: &dyn Fn(&Path) -> String,
) -> Result<KeyPlan, InitError> {
    let key_path = identity_path(data_dir);
    if key_path.symlink_metadata().is_ok() {
        let key = load_operator_key_shown(&key_path, resolved.as_ref().map(|(p, _)| p), shown)?;
        return Ok(KeyPlan::Existing {
            public_key: key.public_key,
            warnings: key.warnings,
        });
    }
    let new = match resolved {
        Some((passphrase, _)) => NewKeyPassphrase::Resolved(passphrase),
        None if custody == CustodyMode::Strict => return Err(InitError::StrictWithoutPassphrase),
        None => {
            let random = random_bytes::<32>().map_err(|source| InitError::Io {
                action: "generate a passphrase for",
                shown: shown(&dev_passphrase_path(data_dir)),
                source,
            })?;
            let (content, passphrase) = dev_passphrase_file(&random);
            NewKeyPassphrase::GenerateDevFile {
                content,
                passphrase,
            }
        }
    };
    Ok(KeyPlan::New(new))
}

/// Reads a file that must be a regular file if it exists.
fn read_regular_file(path: &Path, shown: &str) -> Result<Option<Vec<u8>>, InitError> {
    match path.symlink_metadata() {
        Err(_) => Ok(None),
        Ok(meta) if meta.is_file() => {
            std::fs::read(path)
                .map(Some)
                .map_err(|source| InitError::Io {
                    action: "read",
                    shown: shown.to_owned(),
                    source,
                })
        }
        Ok(_) => Err(InitError::NotAFile(shown.to_owned())),
    }
}

/// Mints a new key and creates `identity.key` without clobbering. If another process created the
/// file first, its key wins and is loaded instead.
fn mint_key(
    data_dir: &Path,
    passphrase: &Passphrase,
    shown: &str,
) -> Result<(PublicKey, StepAction), InitError> {
    let io_error = |source| InitError::Io {
        action: "create",
        shown: shown.to_owned(),
        source,
    };
    let seed = SecretSeed::from_bytes(random_bytes::<32>().map_err(io_error)?);
    let salt = random_bytes::<16>().map_err(io_error)?;
    let nonce = random_bytes::<12>().map_err(io_error)?;
    let file =
        seal_hsk1(&seed, passphrase, &salt, &nonce, KdfParams::DEFAULT).map_err(InitError::Seal)?;
    match create_file_atomically(data_dir, IDENTITY_FILE, &file, PRIVATE_FILE_MODE)
        .map_err(io_error)?
    {
        Presence::Created => Ok((Identity::from_seed(&seed).public_key(), StepAction::Created)),
        Presence::Existed => {
            // Another process minted the key first: its key wins.
            let key = load_operator_key_shown(&identity_path(data_dir), Some(passphrase), &|_| {
                shown.to_owned()
            })?;
            Ok((key.public_key, StepAction::Kept))
        }
    }
}

/// A path as shown in status lines: relative to the project root when inside it.
fn shown_path(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) => slash_path(relative),
        Err(_) => path.display().to_string(),
    }
}

/// A relative path with `/` separators, as `.gitignore` and status lines want.
fn slash_path(relative: &Path) -> String {
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn nearest_existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.symlink_metadata().is_ok())
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(cwd: &Path, env: EngineEnv) -> InitOptions {
        InitOptions {
            dir: PathBuf::from("proj"),
            cwd: cwd.to_path_buf(),
            require_passphrase: false,
            passphrase_file: None,
            env,
        }
    }

    fn run(options: &InitOptions) -> Result<InitReport, InitError> {
        init_project(options, &mut |_| {})
    }

    fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path.clone());
                    out.push((path, Vec::new()));
                } else {
                    out.push((path.clone(), std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn first_run_creates_everything_and_the_second_changes_nothing() {
        let cwd = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        let first = init_project(&options(cwd.path(), EngineEnv::default()), &mut |step| {
            seen.push(step.clone());
        })
        .unwrap();
        assert!(first.created_dir);
        assert_eq!(first.pinning, OperatorPinning::Pinned);
        assert_eq!(seen, first.steps);
        assert!(matches!(seen[0], InitStep::CreatedDir { .. }));
        let root = cwd.path().join("proj");
        let policy = std::fs::read_to_string(root.join(POLICY_FILE)).unwrap();
        assert_eq!(policy, starter_policy(&first.operator));
        let before = tree(cwd.path());
        let second = run(&options(cwd.path(), EngineEnv::default())).unwrap();
        assert_eq!(second.operator, first.operator);
        assert!(second.steps.iter().all(|step| matches!(
            step,
            InitStep::Gitignore {
                action: StepAction::Kept,
                ..
            } | InitStep::Key {
                action: StepAction::Kept,
                ..
            } | InitStep::Policy {
                action: StepAction::Kept,
                ..
            }
        )));
        assert_eq!(tree(cwd.path()), before);
    }

    #[test]
    fn strict_custody_without_a_passphrase_writes_nothing() {
        let cwd = tempfile::tempdir().unwrap();
        let env = EngineEnv {
            heso_env: Some("production".into()),
            ..EngineEnv::default()
        };
        let error = run(&options(cwd.path(), env)).unwrap_err();
        assert!(matches!(error, InitError::StrictWithoutPassphrase));
        assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
    }

    /// storage.md §16 item 2 on an existing project: each strict-custody refusal leaves the
    /// whole tree byte-identical, and development custody creates the dev file once and reuses it.
    #[test]
    fn custody_refusals_leave_the_tree_alone_and_the_dev_file_is_reused() {
        let cwd = tempfile::tempdir().unwrap();
        let root = cwd.path().join("proj");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join(".gitignore"), "dist/\n").unwrap();
        std::fs::write(root.join("README.md"), "mine\n").unwrap();
        let strict = EngineEnv {
            require_passphrase: Some("yes".into()),
            ..EngineEnv::default()
        };
        let before = tree(cwd.path());
        let error = run(&options(cwd.path(), strict.clone())).unwrap_err();
        assert!(matches!(error, InitError::StrictWithoutPassphrase));
        assert!(error.to_string().ends_with("(nothing was written)"));
        assert_eq!(tree(cwd.path()), before);

        let first = run(&options(cwd.path(), EngineEnv::default())).unwrap();
        let dev_file = root.join(DEFAULT_DATA_DIR).join(DEV_PASSPHRASE_FILE);
        let dev_bytes = std::fs::read(&dev_file).unwrap();
        assert!(first.steps.contains(&InitStep::DevPassphrase {
            shown: format!("{DEFAULT_DATA_DIR}/{DEV_PASSPHRASE_FILE}"),
            action: StepAction::Created,
        }));

        let before = tree(cwd.path());
        let error = run(&options(cwd.path(), strict)).unwrap_err();
        assert!(matches!(error, InitError::StrictWithDevFile(_)), "{error}");
        assert_eq!(tree(cwd.path()), before);

        // A new key in development custody is sealed with the existing dev file, not a new one.
        std::fs::remove_file(identity_path(&root.join(DEFAULT_DATA_DIR))).unwrap();
        let second = run(&options(cwd.path(), EngineEnv::default())).unwrap();
        assert!(second.steps.contains(&InitStep::DevPassphrase {
            shown: format!("{DEFAULT_DATA_DIR}/{DEV_PASSPHRASE_FILE}"),
            action: StepAction::Kept,
        }));
        assert_ne!(second.operator, first.operator);
        assert_eq!(std::fs::read(&dev_file).unwrap(), dev_bytes);
    }

    #[test]
    fn data_dir_outside_the_project_gets_no_gitignore_entry() {
        let cwd = tempfile::tempdir().unwrap();
        let elsewhere = cwd.path().join("state");
        let env = EngineEnv {
            data_dir: Some(elsewhere.clone()),
            ..EngineEnv::default()
        };
        let report = run(&options(cwd.path(), env)).unwrap();
        assert!(!report
            .steps
            .iter()
            .any(|s| matches!(s, InitStep::Gitignore { .. })));
        assert!(elsewhere.join(IDENTITY_FILE).is_file());
        assert!(!cwd.path().join("proj").join(".gitignore").exists());
    }

    #[test]
    fn an_existing_policy_settings_data_dir_is_honoured() {
        let cwd = tempfile::tempdir().unwrap();
        let root = cwd.path().join("proj");
        std::fs::create_dir(&root).unwrap();
        let policy = "default_decision = \"block\"\n[settings]\ndata_dir = \"var/state\"\n";
        std::fs::write(root.join(POLICY_FILE), policy).unwrap();
        run(&options(cwd.path(), EngineEnv::default())).unwrap();
        assert!(root.join("var/state").join(IDENTITY_FILE).is_file());
        assert!(!root.join(DEFAULT_DATA_DIR).exists());
        std::fs::write(root.join(POLICY_FILE), "version = 2\n").unwrap();
        let error = run(&options(cwd.path(), EngineEnv::default())).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("cannot read [settings] data_dir from heso.toml"));
        assert!(error.to_string().ends_with("(nothing was written)"));
    }

    #[test]
    fn nested_relative_data_dir_is_ignored_by_its_path() {
        let cwd = tempfile::tempdir().unwrap();
        let env = EngineEnv {
            data_dir: Some("var/heso".into()),
            ..EngineEnv::default()
        };
        let report = run(&options(cwd.path(), env)).unwrap();
        assert!(report.steps.contains(&InitStep::Gitignore {
            entry: "var/heso/".into(),
            action: StepAction::Created
        }));
    }
}
