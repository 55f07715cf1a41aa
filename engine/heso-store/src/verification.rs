//! `verify` as both command lines run it: resolve the inputs and the pinning, verify, report.
//!
//! The two programs call this one function, so for the same inputs they print the same lines,
//! the same JSON and exit with the same status.

use std::path::{Path, PathBuf};

use heso_core::identity::PublicKey;
use heso_core::pinning::project_trust;
use heso_core::receipt::report::{verify_inputs_observed, PinSource, Pinning, Report};

use crate::inputs::{read_inputs, split_receipts, InputError};
use crate::scaffold::POLICY_FILE;
use crate::store_runs::{is_hash_prefix, not_an_input, RunError, StoreLocation};

/// One thing to verify.
#[derive(Debug, Clone)]
pub enum VerifyInput {
    /// A file, a directory, `-` (standard input) or a receipt hash prefix, as the user typed it.
    Named(String),
    /// Receipt bytes handed over in memory (one receipt, a JSON array or JSON Lines).
    Bytes {
        /// How to name it in the report.
        source: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// What to verify and against which keys.
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    /// The inputs, in order.
    pub inputs: Vec<VerifyInput>,
    /// `--pubkey` values (base64, or `@FILE`).
    pub pubkeys: Vec<String>,
    /// `--approver-pubkey` values.
    pub approver_pubkeys: Vec<String>,
    /// `--no-pin`.
    pub no_pin: bool,
    /// The project root, when one was found.
    pub project_root: Option<PathBuf>,
    /// `HESO_DATA_DIR`, which locates the project store (storage.md §1.1).
    pub env_data_dir: Option<PathBuf>,
    /// The current directory, for messages.
    pub cwd: PathBuf,
}

impl VerifyRequest {
    /// Where the project store is.
    pub fn store_location(&self) -> StoreLocation {
        StoreLocation {
            project_root: self.project_root.clone(),
            env_data_dir: self.env_data_dir.clone(),
            cwd: self.cwd.clone(),
        }
    }
}

/// The outcome, ready to print.
#[derive(Debug)]
pub struct VerifyOutcome {
    /// The report.
    pub report: Report,
    /// Warnings to print once.
    pub warnings: Vec<String>,
}

/// Why verification could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// An input could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// An input is neither a path nor a hash.
    #[error("no such file and not a receipt hash: `{0}`")]
    NotAnInput(String),
    /// The project store could not be read, or a hash prefix is unknown or ambiguous there.
    #[error("{}", .0.1)]
    Store(RunError),
    /// `--no-pin` together with keys to pin.
    #[error("--no-pin cannot be combined with --pubkey or --approver-pubkey")]
    PinConflict,
    /// A `--pubkey` value is not a key.
    #[error("{flag} `{value}` is not a public key: {reason}")]
    BadKey {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// Why.
        reason: String,
    },
    /// The project's `heso.toml` cannot be read for its keys.
    #[error("cannot read the pinned keys from {path}: {reason}; run `heso policy check`")]
    Project {
        /// The policy file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl VerifyError {
    /// The JSON error code of the CLI contract, the same from both programs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Input(_) | Self::NotAnInput(_) => "not-found",
            Self::Store((code, _)) => code,
            Self::PinConflict | Self::BadKey { .. } => "usage",
            Self::Project { .. } => "config",
        }
    }
}

/// How many threads verification uses: every core this process may run on. Signatures dominate
/// the cost of verifying a log and are independent of each other.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Runs verification as the CLIs do.
pub fn run_verify(request: &VerifyRequest) -> Result<VerifyOutcome, VerifyError> {
    run_verify_observed(request, &mut |_, _| {})
}

/// As [`run_verify`], calling `progress(done, total)` as receipts are verified.
///
/// Each named input is `-`, an existing path, or else a receipt hash prefix (6–64 hex
/// characters) looked up in the project store. No input at all verifies the whole project store:
/// every session in `seq` order as a chain, every standalone receipt by itself (cli.md §2.3).
pub fn run_verify_observed(
    request: &VerifyRequest,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<VerifyOutcome, VerifyError> {
    if request.no_pin && !(request.pubkeys.is_empty() && request.approver_pubkeys.is_empty()) {
        return Err(VerifyError::PinConflict);
    }
    for input in &request.inputs {
        if let VerifyInput::Named(name) = input {
            if name != "-" && !Path::new(name).exists() && !is_hash_prefix(name) {
                return Err(VerifyError::NotAnInput(name.clone()));
            }
        }
    }
    let (pinning, warnings) = resolve_pinning(request)?;
    let location = request.store_location();
    let mut receipts = Vec::new();
    let mut skipped_files = 0;
    if request.inputs.is_empty() {
        let mut reader = location.reader().map_err(VerifyError::Store)?;
        receipts = crate::store_runs::store_inputs(&mut reader)
            .map_err(|e| VerifyError::Store(crate::store_runs::store_failure(&e)))?;
    }
    let mut reader = None;
    for input in &request.inputs {
        match input {
            VerifyInput::Named(name) if name != "-" && !Path::new(name).exists() => {
                receipts.push(lookup(&location, &mut reader, name)?);
            }
            VerifyInput::Named(name) => {
                let read = read_inputs(&[PathBuf::from(name)])?;
                receipts.extend(read.receipts);
                skipped_files += read.skipped_files;
            }
            VerifyInput::Bytes { source, bytes } => receipts.extend(split_receipts(source, bytes)),
        }
    }
    let report = verify_inputs_observed(
        &receipts,
        pinning,
        skipped_files,
        default_workers(),
        progress,
    );
    Ok(VerifyOutcome { report, warnings })
}

/// The stored receipt a hash prefix names; the store is opened on the first lookup.
fn lookup(
    location: &StoreLocation,
    reader: &mut Option<crate::store::StoreReader>,
    prefix: &str,
) -> Result<heso_core::receipt::report::InputReceipt, VerifyError> {
    let open = match reader {
        Some(open) => open,
        None => reader.insert(location.reader().map_err(|(code, message)| match code {
            // No project to look the hash up in: the input is simply not found.
            "no-project" => VerifyError::Store((code, not_an_input(prefix, &location.cwd))),
            _ => VerifyError::Store((code, message)),
        })?),
    };
    crate::store_runs::lookup_receipt(open, prefix)
        .map(|stored| crate::store_runs::input_of(&stored))
        .map_err(VerifyError::Store)
}

/// Parses `--pubkey` values: base64, or `@FILE` holding one key.
fn flag_keys(flag: &'static str, values: &[String]) -> Result<Vec<PublicKey>, VerifyError> {
    values
        .iter()
        .map(|value| {
            let bad = |reason: String| VerifyError::BadKey {
                flag,
                value: value.clone(),
                reason,
            };
            let text = match value.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?,
                None => value.clone(),
            };
            PublicKey::from_base64(text.trim()).map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// The pinning table of the CLI contract (cli.md §2.3).
pub(crate) fn resolve_pinning(
    request: &VerifyRequest,
) -> Result<(Pinning, Vec<String>), VerifyError> {
    if request.no_pin {
        return Ok((Pinning::Off("--no-pin".to_owned()), Vec::new()));
    }
    let operators = flag_keys("--pubkey", &request.pubkeys)?;
    let approvers = flag_keys("--approver-pubkey", &request.approver_pubkeys)?;
    let project = match &request.project_root {
        Some(root) => Some(read_trust(&root.join(POLICY_FILE))?),
        None => None,
    };
    let project_operators = project.as_ref().and_then(|t| t.operators.clone());
    let project_approvers = project.as_ref().map(|t| t.approvers.clone());
    let pinning = match (operators.is_empty(), approvers.is_empty()) {
        (false, _) => {
            let approvers = match (approvers.is_empty(), project_approvers) {
                (false, _) => (approvers, PinSource::Flags),
                (true, Some(keys)) => (keys, PinSource::Project),
                (true, None) => (Vec::new(), PinSource::None),
            };
            Pinning::On {
                operators: (operators, PinSource::Flags),
                approvers,
            }
        }
        (true, false) => Pinning::On {
            operators: match project_operators {
                Some(keys) => (keys, PinSource::Project),
                None => (Vec::new(), PinSource::None),
            },
            approvers: (approvers, PinSource::Flags),
        },
        (true, true) => match (project_operators, project_approvers) {
            (Some(keys), approvers) => Pinning::On {
                operators: (keys, PinSource::Project),
                approvers: (approvers.unwrap_or_default(), PinSource::Project),
            },
            (None, Some(_)) => Pinning::Off("heso.toml has no [identity]".to_owned()),
            (None, None) => {
                let warning =
                    "no project and no --pubkey: signatures are checked, but not who made them";
                return Ok((
                    Pinning::Off("no project and no --pubkey".to_owned()),
                    vec![warning.to_owned()],
                ));
            }
        },
    };
    Ok((pinning, Vec::new()))
}

fn read_trust(path: &Path) -> Result<heso_core::pinning::ProjectTrust, VerifyError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| VerifyError::Project {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    project_trust(&bytes).map_err(|reason| VerifyError::Project {
        path: shown,
        reason,
    })
}
