//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The heso engine: initialise projects, verify Action Receipts, check policies. Runs without
/// Python, network, home directory or user database.
#[derive(Debug, Parser)]
#[command(name = "heso-compliance", version, disable_version_flag = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Print the version and exit.
    #[arg(long, action = clap::ArgAction::Version)]
    version: Option<bool>,
}

/// Flags accepted before the command and after any subcommand.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "project", value_name = "DIR", global = true)]
    pub(crate) project: Option<PathBuf>,
    /// Suppress status lines (errors are still printed).
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// When to colour verdicts: auto (a terminal, `NO_COLOR` unset, `TERM` not dumb), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether stdout gets colour.
    pub(crate) fn enabled(self) -> bool {
        use std::io::IsTerminal as _;
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let dumb = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
                std::io::stdout().is_terminal() && !no_color && !dumb
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the project directory, operator key and starter heso.toml (idempotent).
    Init(InitArgs),
    /// Verify receipts offline: files, JSON arrays, JSON Lines, directories or `-` (stdin).
    Verify(VerifyArgs),
    /// Verify or export the project's audit store.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check the policy file or run its tests.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Show the operator key or a key's fingerprint.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the version and build facts.
    Version(VersionArgs),
}

/// `audit verify` and `audit export`.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify every chain and standalone receipt of the project store, and the store itself.
    Verify(AuditVerifyArgs),
    /// Export the project store as JSON Lines (the exact stored bytes).
    Export(AuditExportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AuditVerifyArgs {
    /// Pin operator keys (base64, or @FILE holding one key); repeatable.
    #[arg(long = "pubkey", value_name = "KEY")]
    pub(crate) pubkeys: Vec<String>,
    /// Pin approver keys (base64, or @FILE); repeatable.
    #[arg(long = "approver-pubkey", value_name = "KEY")]
    pub(crate) approver_pubkeys: Vec<String>,
    /// Check signatures without pinning who made them.
    #[arg(long)]
    pub(crate) no_pin: bool,
    /// List every receipt, not only standalone and failed ones.
    #[arg(long)]
    pub(crate) all: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct AuditExportArgs {
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Export only this session, in seq order; repeatable.
    #[arg(long = "session", value_name = "S")]
    pub(crate) sessions: Vec<String>,
    /// Write one JSON Lines file per session (named by its id), one file per standalone receipt,
    /// and the operator key file into DIR.
    #[arg(long = "per-session", value_name = "DIR")]
    pub(crate) per_session: Option<PathBuf>,
    /// Copy every readable receipt out of a damaged store, row by row (exit 1 if rows were lost).
    #[arg(long)]
    pub(crate) salvage: bool,
}

/// `policy check` and `policy test` (the same as `heso policy check` and `heso policy test`).
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Load and validate heso.toml; print its errors and warnings.
    Check(PolicyCheckArgs),
    /// Run the policy tests of heso.tests.toml and heso.toml.
    Test(PolicyTestArgs),
}

/// `keys show` and `keys fingerprint`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// The operator key: file, format, public key, fingerprint, whether heso.toml pins it.
    Show(KeysShowArgs),
    /// The fingerprint of a base64 public key (default: the project's operator key).
    Fingerprint(KeysFingerprintArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeysShowArgs {
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct KeysFingerprintArgs {
    /// A base64 Ed25519 public key.
    #[arg(value_name = "KEY")]
    pub(crate) key: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PolicyCheckArgs {
    /// The policy file (default: the project's heso.toml).
    #[arg(value_name = "PATH")]
    pub(crate) path: Option<PathBuf>,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub(crate) deny_warnings: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PolicyTestArgs {
    /// Test files (default: heso.tests.toml beside the policy, and [[test]] in heso.toml).
    #[arg(value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// The policy under test (default: the project's heso.toml).
    #[arg(long = "policy", value_name = "PATH")]
    pub(crate) policy: Option<PathBuf>,
    /// Fail when an enabled rule decides no test.
    #[arg(long)]
    pub(crate) require_coverage: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Receipt files, directories, `-` for standard input, or receipt hash prefixes.
    #[arg(value_name = "INPUT")]
    pub(crate) inputs: Vec<String>,
    /// Pin operator keys (base64, or @FILE holding one key); repeatable.
    #[arg(long = "pubkey", value_name = "KEY")]
    pub(crate) pubkeys: Vec<String>,
    /// Pin approver keys (base64, or @FILE); repeatable.
    #[arg(long = "approver-pubkey", value_name = "KEY")]
    pub(crate) approver_pubkeys: Vec<String>,
    /// Check signatures without pinning who made them.
    #[arg(long)]
    pub(crate) no_pin: bool,
    /// List every receipt, not only standalone and failed ones.
    #[arg(long)]
    pub(crate) all: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The project directory (created if missing).
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
    /// Strict custody: refuse to generate a development passphrase.
    #[arg(long)]
    pub(crate) require_passphrase: bool,
    /// Read the operator key passphrase from PATH (first non-comment line).
    #[arg(long, value_name = "PATH")]
    pub(crate) passphrase_file: Option<PathBuf>,
    /// Leave out the closing "project ready" line, for callers that add steps of their own
    /// (`heso init` writes the Python bootstrap module afterwards).
    #[arg(long)]
    pub(crate) no_summary: bool,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VersionArgs {
    /// Print the version as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}
