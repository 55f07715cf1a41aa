//! The errors of the audit store: one enum, each variant one line for people that names the fix.

use std::path::PathBuf;

use rusqlite::ffi::ErrorCode;

/// The command that copies every readable row out of a damaged store.
pub const SALVAGE_COMMAND: &str = "heso-compliance audit export --salvage";

/// Why a store operation failed. Every variant's message is one line: what went wrong, then the
/// fix after `; `. None of them carries reveal material or key bytes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory of the store could not be created, read or repaired.
    #[error("cannot use `{}`: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// `open_existing` found no store.
    #[error("no audit store at `{}`; run `heso init`, or check `HESO_DATA_DIR`", path.display())]
    Missing {
        /// The expected `heso.db`.
        path: PathBuf,
    },
    /// The file is an SQLite database of another application.
    #[error("`{}` is not a heso store (application_id {found:#010x}); point `HESO_DATA_DIR` at a heso data directory (nothing was written)", path.display())]
    NotAHesoStore {
        /// The database.
        path: PathBuf,
        /// Its `application_id`.
        found: u32,
    },
    /// The store was written by a newer heso.
    #[error("store written by a newer heso (schema version {found}, this heso knows up to {known}); upgrade heso")]
    NewerSchema {
        /// The store's schema version.
        found: i64,
        /// The latest version this build knows.
        known: i64,
    },
    /// A setting the store depends on is not in force (for example the journal mode was changed).
    #[error("the store at `{}` is misconfigured: {detail}; restore it from a backup or run `heso-compliance audit verify` (nothing was written)", path.display())]
    Misconfigured {
        /// The database.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// SQLite reports the file as damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`). Appends are refused
    /// for the rest of the process; the file is never deleted or recreated.
    #[error("the audit store `{}` is damaged ({detail}); appends are refused and the file is kept as evidence; copy out what is readable with `{SALVAGE_COMMAND}`", path.display())]
    Corrupt {
        /// The database.
        path: PathBuf,
        /// SQLite's message.
        detail: String,
    },
    /// The disk failed during the transaction (`SQLITE_IOERR*`, `SQLITE_FULL`): the receipt is
    /// not durable and the connection is reopened before the next append.
    #[error("the audit store could not write to disk ({detail}); the receipt was not recorded and the action must not run; free disk space or check the device, then retry")]
    DiskFailure {
        /// SQLite's message.
        detail: String,
    },
    /// Three consecutive disk failures: this process refuses further appends.
    #[error("the audit store failed to write {count} times in a row; appends are refused for the rest of this process; fix the disk and restart the process")]
    TooManyDiskFailures {
        /// How many failures in a row.
        count: u32,
    },
    /// The write lock was not granted within the busy timeout.
    #[error("the audit store stayed locked by another writer for {timeout_ms} ms; nothing was written; retry, or raise `HESO_BUSY_TIMEOUT_MS`")]
    Busy {
        /// The busy timeout in force.
        timeout_ms: u32,
    },
    /// The store's own bookkeeping contradicts itself (for example a chain head whose receipt is
    /// missing). Fails closed.
    #[error(
        "store integrity error: {detail}; nothing was written; run `heso-compliance audit verify`"
    )]
    Integrity {
        /// What contradicts what.
        detail: String,
    },
    /// An append declared a session type other than the one the session was created with.
    #[error("session `{session_id}` is an {actual} session, but this append declared {declared}; use another session id")]
    SessionType {
        /// The session.
        session_id: String,
        /// The type the append declared.
        declared: &'static str,
        /// The type fixed at genesis.
        actual: &'static str,
    },
    /// The append request is not one the store accepts.
    #[error("invalid append: {0}")]
    Request(String),
    /// The receipt could not be minted.
    #[error(transparent)]
    Mint(#[from] heso_core::receipt::mint::MintError),
    /// A standalone receipt with this `action_hash` is stored with different bytes.
    #[error("a different receipt with action_hash `{action_hash}` is already stored (nothing was written); run `heso-compliance audit verify`")]
    Conflict {
        /// The colliding hash.
        action_hash: String,
    },
    /// No receipt has this hash or prefix.
    #[error("no receipt `{0}` in the store")]
    NotFound(String),
    /// A hash lookup that is not at least 6 hex characters.
    #[error("`{0}` is not a receipt hash prefix; give 6 to 64 hex characters")]
    BadPrefix(String),
    /// More than one receipt has this prefix.
    #[error("`{prefix}` is ambiguous: it matches {}; give more characters", candidates.join(", "))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// Up to 10 matches, as 12-character prefixes.
        candidates: Vec<String>,
    },
    /// An approval request refused the operation (storage.md §10); nothing was written.
    #[error(transparent)]
    Approval(#[from] crate::store::approvals::ApprovalError),
    /// Any other SQLite failure.
    #[error("audit store error: {0}")]
    Sqlite(rusqlite::Error),
}

/// How a failed SQLite call affects the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The disk failed: close and reopen before the next append.
    Disk,
    /// The file is damaged: refuse every append from now on.
    Corrupt,
    /// Lock timeout.
    Busy,
    /// Anything else.
    Other,
}

/// Classifies an SQLite error by its primary result code (§7).
pub(crate) fn classify(error: &rusqlite::Error) -> Failure {
    match error.sqlite_error_code() {
        Some(ErrorCode::SystemIoFailure | ErrorCode::DiskFull) => Failure::Disk,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Failure::Corrupt,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Failure::Busy,
        _ => Failure::Other,
    }
}

impl StoreError {
    /// A short machine-readable name of the failure (the SDK's `EngineError.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io",
            Self::Missing { .. } => "missing",
            Self::NotAHesoStore { .. } => "not_a_store",
            Self::NewerSchema { .. } => "newer_schema",
            Self::Misconfigured { .. } => "misconfigured",
            Self::Corrupt { .. } => "corrupt",
            Self::DiskFailure { .. } | Self::TooManyDiskFailures { .. } => "disk",
            Self::Busy { .. } => "busy",
            Self::Integrity { .. } => "integrity",
            Self::SessionType { .. } => "session_type",
            Self::Request(_) => "request",
            Self::Mint(_) => "signing",
            Self::Conflict { .. } => "conflict",
            Self::NotFound(_) | Self::BadPrefix(_) | Self::Ambiguous { .. } => "not_found",
            Self::Approval(_) => "approval",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// Wraps an SQLite error raised while using the database at `path`, naming the right fix.
    pub(crate) fn from_sqlite(
        error: rusqlite::Error,
        path: &std::path::Path,
        timeout_ms: u32,
    ) -> Self {
        match classify(&error) {
            Failure::Corrupt => Self::Corrupt {
                path: path.to_owned(),
                detail: error.to_string(),
            },
            Failure::Disk => Self::DiskFailure {
                detail: error.to_string(),
            },
            Failure::Busy => Self::Busy { timeout_ms },
            Failure::Other => Self::Sqlite(error),
        }
    }

    /// A request error.
    pub(crate) fn request(detail: impl Into<String>) -> Self {
        Self::Request(detail.into())
    }

    /// An integrity error.
    pub(crate) fn integrity(detail: impl Into<String>) -> Self {
        Self::Integrity {
            detail: detail.into(),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}
