//! The audit store: one SQLite database, `heso.db`, holding every receipt, chain head, outbox
//! row and reveal (storage.md §5–§13).
//!
//! # Design
//!
//! * **Writers.** A [`Store`] owns one writer connection behind a mutex (`Store: Send + Sync`).
//!   Every write is one `BEGIN IMMEDIATE` transaction ([`Store::transaction`]); the mutex
//!   serializes the threads of this process and SQLite's write lock serializes processes, so
//!   `seq` is always assigned from the chain head re-read under the lock (§6.2). The lock is held
//!   for a head read, one canonicalization, one signature and a few inserts: policy evaluation,
//!   redaction and argument capture happen before the caller builds its [`AppendRequest`].
//! * **Composable transactions.** [`WriteTx::append`] mints and inserts one receipt with its
//!   chain head, outbox row and reveal rows. The approvals and durable-session code runs its own
//!   statements in the same transaction through [`WriteTx::sql`], so a state change and the
//!   receipt that goes with it commit together or not at all (§6.1).
//! * **Approvals.** [`Store::gate_approval`], [`Store::add_approval_leg`] and
//!   [`Store::reopen_approval`] move approval requests through the states of §10.3, each in one
//!   transaction with the receipts that go with it; consumption happens exactly once (§10.4).
//! * **Readers.** [`StoreReader`] is a read-only connection; every read runs in one
//!   [`Snapshot`] (a WAL read transaction), so exports and audits are consistent while agents
//!   append. Readers never write, not even to repair.
//! * **Failure.** Disk errors fail the append and close the connection; three in a row refuse
//!   further appends. A damaged file refuses every append and is never deleted or recreated;
//!   [`salvage`] copies out what is readable without writing. There is no application-level
//!   repair anywhere: [`audit_store`] reports, it never fixes.
//! * **Cost.** Open and append do O(1) work in the number of stored receipts (§9); only the
//!   explicit audit and export read everything.
//! * **Secrets.** Reveal material and the approval request key stay in the store: they are never
//!   exported, logged or put in an error message.

mod append;
mod approvals;
mod audit;
mod clock;
mod connection;
mod error;
mod export;
mod read;
mod salvage;
mod schema;
mod wal;

#[cfg(test)]
pub(crate) mod testing;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior};

pub use append::{AppendRequest, Appended, Placement, SessionType, Signing, WriteTx};
pub use approvals::{
    ApprovalError, ApprovalFilter, ApprovalLeg, ApprovalRequest, ApprovalState, GateOutcome,
    GateRequest, LegOutcome, LegSubmission, RegisteredKeys, ReopenOutcome, RequestTerms,
};
pub use audit::{audit_store, StoreAudit, StoreCheck};
pub use clock::{Clock, Instant};
pub use connection::DB_FILE;
pub use error::{StoreError, SALVAGE_COMMAND};
pub use export::{ExportScope, ExportSummary};
pub use read::{ListFilter, SessionInfo, Snapshot, StoreReader, StoredReceipt, StoredReveal};
pub use salvage::{salvage, LostRow, SalvageReport};
pub use schema::{latest_version, APPLICATION_ID};

use connection::Owned;

/// How hard a commit pushes the receipt to disk (§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a committed receipt survives power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a committed receipt survives a process crash.
    Normal,
}

impl Durability {
    /// Parses `full` or `normal` (the values of `HESO_DURABILITY`); anything else is an error at
    /// start, never a silent default.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!(
                "unknown durability `{other}`; expected `full` or `normal`"
            )),
        }
    }

    /// `full` or `normal`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Normal => "normal",
        }
    }
}

/// The default wait for the write lock.
pub const DEFAULT_BUSY_TIMEOUT_MS: u32 = 10_000;

/// How a store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The durability mode of every append.
    pub durability: Durability,
    /// How long to wait for the write lock, in milliseconds.
    pub busy_timeout_ms: u32,
    /// Where store times and `captured_at` come from.
    pub clock: Clock,
    /// The base64 operator key recorded in `meta` when this open creates the store
    /// (informational). Without it, the first append records its operator key.
    pub operator_public_key: Option<String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            busy_timeout_ms: DEFAULT_BUSY_TIMEOUT_MS,
            clock: Clock::system(),
            operator_public_key: None,
        }
    }
}

/// Consecutive disk failures after which appends are refused for the rest of the process (§7).
const MAX_DISK_FAILURES: u32 = 3;

/// Why the writer refuses every append from now on.
#[derive(Debug, Clone)]
enum Refusal {
    /// The file is damaged.
    Corrupt(String),
    /// Three disk failures in a row.
    Disk,
}

/// The writer connection and its failure bookkeeping, behind the store's mutex.
#[derive(Debug)]
struct Writer {
    conn: Owned,
    disk_failures: u32,
    refusal: Option<Refusal>,
    /// Whether `meta.operator_public_key` is known to be present, so appends stop checking.
    operator_recorded: bool,
    /// Reopens since open, for tests of the disk-failure and fork rules.
    reopened: u32,
    /// A commit failure to simulate, for tests of §7 (SQLite cannot be made to fail on demand).
    #[cfg(test)]
    fail_next_commit: Option<std::os::raw::c_int>,
}

/// The audit store, opened for appending. Cheap to share between threads (`Send + Sync`).
#[derive(Debug)]
pub struct Store {
    data_dir: PathBuf,
    path: PathBuf,
    options: StoreOptions,
    writer: Mutex<Writer>,
    warnings: Vec<String>,
}

impl Store {
    /// Opens the store in `data_dir`, creating the directory (0700), `heso.db` (0600) and the
    /// schema when missing, repairing widened modes, and checking `application_id`, the journal
    /// mode and the schema version. Does no work proportional to the stored receipts.
    pub fn open(data_dir: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        let (path, warnings) = connection::prepare_files(data_dir)?;
        let conn = connection::open_writer(&path, &options, options.operator_public_key.clone())?;
        Ok(Self {
            data_dir: data_dir.to_owned(),
            path,
            writer: Mutex::new(Writer {
                conn: Owned::new(conn),
                disk_failures: 0,
                refusal: None,
                operator_recorded: options.operator_public_key.is_some(),
                reopened: 0,
                #[cfg(test)]
                fail_next_commit: None,
            }),
            options,
            warnings,
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The path of `heso.db`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// Warnings from open (modes that were repaired or could not be), to show once.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A read-only connection to this store.
    pub fn reader(&self) -> Result<StoreReader, StoreError> {
        StoreReader::open_path(&self.path, &self.options)
    }

    /// Appends one receipt in its own transaction and returns it once committed.
    pub fn append(&self, request: &AppendRequest<'_>) -> Result<Appended, StoreError> {
        self.transaction(|tx| tx.append(request))
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the writer connection and commits it.
    /// Any error (from `work` or the commit) rolls everything back. The value is returned only
    /// after `COMMIT` succeeded.
    pub fn transaction<T>(
        &self,
        work: impl FnOnce(&mut WriteTx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(false, work)
    }

    /// As [`Store::transaction`], committed with `synchronous=FULL` whatever the durability mode
    /// (the durable-call claim, §10.5).
    pub fn transaction_full_sync<T>(
        &self,
        work: impl FnOnce(&mut WriteTx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(true, work)
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        // A panic inside `work` unwound through the transaction, which rolled back on drop; the
        // writer's state is still consistent.
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn run<T>(
        &self,
        full_sync: bool,
        work: impl FnOnce(&mut WriteTx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut writer = self.lock();
        match &writer.refusal {
            Some(Refusal::Corrupt(detail)) => {
                return Err(StoreError::Corrupt {
                    path: self.path.clone(),
                    detail: detail.clone(),
                })
            }
            Some(Refusal::Disk) => {
                return Err(StoreError::TooManyDiskFailures {
                    count: writer.disk_failures,
                })
            }
            None => {}
        }
        if writer.conn.current().is_none() {
            // A successful reopen is not a successful append: the failure count stays.
            let conn = match connection::open_writer(&self.path, &self.options, None) {
                Ok(conn) => conn,
                Err(error) => return self.note_failure(&mut writer, Err(error)),
            };
            writer.conn = Owned::new(conn);
            writer.reopened += 1;
        }
        let result = self.run_on(&mut writer, full_sync, work);
        self.note_failure(&mut writer, result)
    }

    fn run_on<T>(
        &self,
        writer: &mut Writer,
        full_sync: bool,
        work: impl FnOnce(&mut WriteTx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let wrap = |e: rusqlite::Error| StoreError::Sqlite(e);
        let mut operator_recorded = writer.operator_recorded;
        #[cfg(test)]
        let fail_commit = writer.fail_next_commit.take();
        let Some(conn) = writer.conn.current() else {
            return Err(StoreError::integrity("the writer connection is not open"));
        };
        if full_sync && self.options.durability != Durability::Full {
            connection::set_durability(conn, Durability::Full).map_err(wrap)?;
        }
        let result = (|| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(wrap)?;
            let mut write = WriteTx::new(tx, &self.options, &mut operator_recorded);
            let value = work(&mut write)?;
            let tx = write.into_inner();
            #[cfg(test)]
            if let Some(code) = fail_commit {
                drop(tx);
                return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(code),
                    Some("simulated commit failure".to_owned()),
                )));
            }
            tx.commit().map_err(wrap)?;
            Ok(value)
        })();
        if full_sync && self.options.durability != Durability::Full {
            restore_durability(conn, self.options.durability);
        }
        if result.is_ok() {
            writer.operator_recorded = operator_recorded;
        }
        result
    }

    /// Records what a failure means for the writer (§7) and gives it its user-facing form.
    fn note_failure<T>(
        &self,
        writer: &mut Writer,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let error = match result {
            Ok(value) => {
                writer.disk_failures = 0;
                return Ok(value);
            }
            Err(error) => error.reclassify(&self.path, &self.options),
        };
        match &error {
            StoreError::DiskFailure { .. } => {
                writer.conn.close();
                writer.disk_failures += 1;
                if writer.disk_failures >= MAX_DISK_FAILURES {
                    writer.refusal = Some(Refusal::Disk);
                }
            }
            StoreError::Corrupt { detail, .. } => {
                writer.refusal = Some(Refusal::Corrupt(detail.clone()));
            }
            _ => {}
        }
        Err(error)
    }

    /// Runs `work` with the writer's connection, outside any transaction (tests).
    #[cfg(test)]
    fn with_writer<T>(&self, work: impl FnOnce(&mut Writer) -> T) -> T {
        work(&mut self.lock())
    }
}

/// Puts `synchronous` back after a full-sync transaction. A failure here leaves the connection
/// stricter than asked, never weaker, so it is not an error.
fn restore_durability(conn: &Connection, durability: Durability) {
    let _ = connection::set_durability(conn, durability);
}

#[cfg(test)]
mod tests;
