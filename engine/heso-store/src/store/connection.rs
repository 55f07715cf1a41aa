//! Opening SQLite connections to the store with the settings of storage.md §5.1, and the file
//! modes of §1.2. Open does O(1) work: it reads the header fields and pragmas, never a table of
//! receipts (§9).

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::fs::{ensure_private_dir, random_bytes, repair_mode, sync_dir, PRIVATE_FILE_MODE};
use crate::store::error::StoreError;
use crate::store::schema::{self, Creation, APPLICATION_ID};
use crate::store::{Durability, StoreOptions};

/// The store's file name inside the data directory.
pub const DB_FILE: &str = "heso.db";

/// The SQLite companion files, repaired to 0600 with the database.
const COMPANIONS: [&str; 2] = ["-wal", "-shm"];

/// A connection and the process that opened it. A connection must never be used by a process
/// other than its opener (§6.5): after `fork()`, the child abandons it and opens its own.
#[derive(Debug)]
pub(crate) struct Owned {
    conn: Option<Connection>,
    pid: u32,
}

impl Owned {
    /// A connection opened by this process.
    pub(crate) fn new(conn: Connection) -> Self {
        Self {
            conn: Some(conn),
            pid: std::process::id(),
        }
    }

    /// The connection, if this process opened it; an inherited one is leaked, never used or
    /// closed (closing it would disturb the parent's locks), and `None` is returned.
    pub(crate) fn current(&mut self) -> Option<&mut Connection> {
        let pid = std::process::id();
        if self.pid != pid {
            if let Some(inherited) = self.conn.take() {
                std::mem::forget(inherited);
            }
            self.pid = pid;
        }
        self.conn.as_mut()
    }

    /// Closes the connection (after a disk failure: a retried `fsync` on the same file handle
    /// can falsely succeed, §7).
    pub(crate) fn close(&mut self) {
        if self.pid == std::process::id() {
            if let Some(conn) = self.conn.take() {
                // Closing can fail with the same disk error; the handle is gone either way.
                let _ = conn.close();
            }
        } else if let Some(inherited) = self.conn.take() {
            std::mem::forget(inherited);
        }
    }

    /// Pretends the connection was opened by another process (tests of the fork rule).
    #[cfg(test)]
    pub(crate) fn pretend_inherited(&mut self) {
        self.pid = self.pid.wrapping_add(1);
    }
}

/// Creates the data directory (0700) and `heso.db` (0600) when missing, repairs widened modes of
/// both and of the WAL files, and returns the database path with the warnings to show once.
pub(crate) fn prepare_files(data_dir: &Path) -> Result<(PathBuf, Vec<String>), StoreError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Io { path, source }
    };
    let mut warnings = Vec::new();
    let (_, warning) = ensure_private_dir(data_dir).map_err(io_error(data_dir))?;
    warnings.extend(warning);
    let path = data_dir.join(DB_FILE);
    if path.symlink_metadata().is_ok() {
        warnings.extend(repair_mode(&path, PRIVATE_FILE_MODE));
    } else {
        create_wal_file(data_dir, &path)?;
    }
    for suffix in COMPANIONS {
        let companion = companion(&path, suffix);
        if companion.exists() {
            warnings.extend(repair_mode(&companion, PRIVATE_FILE_MODE));
        }
    }
    Ok((path, warnings))
}

/// Creates an empty database already in WAL mode and links it into place without ever replacing
/// an existing one, so processes racing to create the store all find a WAL file at `heso.db`
/// (switching the journal mode of a shared file can fail at once with `SQLITE_BUSY`). The
/// schema is created afterwards in one `BEGIN IMMEDIATE` that re-checks the version.
fn create_wal_file(data_dir: &Path, path: &Path) -> Result<(), StoreError> {
    let io_error = |at: &Path| {
        let at = at.to_owned();
        move |source| StoreError::Io { path: at, source }
    };
    let suffix: [u8; 8] = random_bytes().map_err(io_error(data_dir))?;
    let hex = heso_core::hex::encode(&suffix);
    let temp = data_dir.join(format!(".tmp-{DB_FILE}-{hex}"));
    let mut options = OpenOptions::new();
    // O_CREAT|O_EXCL with an explicit mode: the file is private from its first byte, whatever
    // the umask. SQLite then creates its WAL files with the database's mode.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    options.open(&temp).map_err(io_error(&temp))?;
    let outcome = (|| {
        let conn = Connection::open(&temp).map_err(|e| StoreError::from_sqlite(e, &temp, 0))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| StoreError::from_sqlite(e, &temp, 0))?;
        drop(conn);
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Misconfigured {
                path: path.to_owned(),
                detail: format!("the file system refused WAL mode (got `{mode}`); put the data directory on a local disk"),
            });
        }
        match std::fs::hard_link(&temp, path) {
            Ok(()) => sync_dir(data_dir).map_err(io_error(data_dir)),
            // Another process created it first; use theirs.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(error) => Err(io_error(path)(error)),
        }
    })();
    for leftover in [
        temp.clone(),
        companion(&temp, "-wal"),
        companion(&temp, "-shm"),
    ] {
        let _ = std::fs::remove_file(leftover);
    }
    outcome
}

/// `heso.db-wal` or `heso.db-shm` next to the database.
pub(crate) fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Opens the writer connection: checks the header, sets every pragma of §5.1 and brings the
/// schema to the latest version.
pub(crate) fn open_writer(
    path: &Path,
    options: &StoreOptions,
    operator_public_key: Option<String>,
) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_EXRESCODE;
    let mut conn = connect(path, flags, options)?;
    let wrap = |e| StoreError::from_sqlite(e, path, options.busy_timeout_ms);
    check_header(&conn, path, true).map_err(|e| e.reclassify(path, options))?;
    set_durability(&conn, options.durability).map_err(wrap)?;
    let creation = Creation {
        now: options.clock.now(),
        operator_public_key,
    };
    schema::migrate(&mut conn, path, schema::MIGRATIONS, &creation)
        .map_err(|e| e.reclassify(path, options))?;
    Ok(conn)
}

/// Opens a read-only connection to an existing store at the latest schema version.
pub(crate) fn open_reader(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    let conn = connect(path, read_only_flags(), options)?;
    let wrap = |e| StoreError::from_sqlite(e, path, options.busy_timeout_ms);
    conn.pragma_update(None, "query_only", true).map_err(wrap)?;
    check_header(&conn, path, false).map_err(|e| e.reclassify(path, options))?;
    let version = schema::schema_version(&conn).map_err(wrap)?;
    let latest = schema::latest_version();
    if version == 0 {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    if version > latest {
        return Err(StoreError::NewerSchema {
            found: version,
            known: latest,
        });
    }
    if version < latest {
        return Err(StoreError::Misconfigured {
            path: path.to_owned(),
            detail: format!(
                "schema version {version} is older than this heso's {latest}; run any heso command that records a receipt to upgrade it"
            ),
        });
    }
    Ok(conn)
}

/// The flags of every read-only connection.
pub(crate) fn read_only_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_EXRESCODE
}

/// Opens a connection and applies the settings every connection shares.
fn connect(
    path: &Path,
    flags: OpenFlags,
    options: &StoreOptions,
) -> Result<Connection, StoreError> {
    let wrap = |e| StoreError::from_sqlite(e, path, options.busy_timeout_ms);
    #[cfg_attr(
        not(test),
        expect(unused_mut, reason = "tests install a statement trace")
    )]
    let mut conn = Connection::open_with_flags(path, flags).map_err(wrap)?;
    #[cfg(test)]
    trace::install(&mut conn);
    conn.busy_timeout(std::time::Duration::from_millis(u64::from(
        options.busy_timeout_ms,
    )))
    .map_err(wrap)?;
    // Schema code never runs functions or virtual tables from the file (§5.1).
    conn.pragma_update(None, "trusted_schema", false)
        .map_err(wrap)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(wrap)?;
    Ok(conn)
}

/// `synchronous` per durability mode, and on macOS the full flush to the drive in `full` mode.
pub(crate) fn set_durability(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    let level = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", level)?;
    #[cfg(target_os = "macos")]
    {
        let full = durability == Durability::Full;
        conn.pragma_update(None, "fullfsync", full)?;
        conn.pragma_update(None, "checkpoint_fullfsync", full)?;
    }
    Ok(())
}

/// Checks `application_id` and the journal mode. A brand-new empty file (only when `may_create`)
/// is switched to WAL here, before the schema transaction, since the journal mode cannot change
/// inside a transaction.
fn check_header(conn: &Connection, path: &Path, may_create: bool) -> Result<(), StoreError> {
    // One read transaction, so another process's schema commit cannot land between the reads.
    conn.execute_batch("BEGIN DEFERRED")?;
    let header = read_header(conn);
    conn.execute_batch("COMMIT")?;
    let (found, mode, empty) = header?;
    if found == APPLICATION_ID {
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Misconfigured {
                path: path.to_owned(),
                detail: format!("journal mode is `{mode}`, not `wal`"),
            });
        }
        return Ok(());
    }
    if found != 0 || !empty {
        return Err(StoreError::NotAHesoStore {
            path: path.to_owned(),
            found,
        });
    }
    if !may_create {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Misconfigured {
            path: path.to_owned(),
            detail: format!("the file system refused WAL mode (got `{mode}`); put the data directory on a local disk"),
        });
    }
    Ok(())
}

/// `application_id`, the journal mode and whether the schema is empty, read together.
fn read_header(conn: &Connection) -> Result<(u32, String, bool), StoreError> {
    let found = schema::application_id(conn)?;
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
    let empty: bool = conn.query_row("SELECT count(*) = 0 FROM sqlite_schema", [], |row| {
        row.get(0)
    })?;
    Ok((found, mode, empty))
}

impl StoreError {
    /// Gives a generic SQLite error its specific meaning (damaged file, disk failure, lock).
    pub(crate) fn reclassify(self, path: &Path, options: &StoreOptions) -> Self {
        match self {
            Self::Sqlite(error) => Self::from_sqlite(error, path, options.busy_timeout_ms),
            other => other,
        }
    }
}

/// A statement trace for the tests that prove open and append never scan `receipts` (§9, §16
/// item 7). The sink is per thread, so tests running in parallel do not mix their statements.
#[cfg(test)]
pub(crate) mod trace {
    use std::cell::RefCell;
    use std::sync::{Arc, Mutex};

    use rusqlite::trace::{TraceEvent, TraceEventCodes};
    use rusqlite::Connection;

    /// Statements run on connections opened by this thread while tracing.
    pub(crate) type Sink = Arc<Mutex<Vec<String>>>;

    thread_local! {
        static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
    }

    /// Starts recording the statements of connections this thread opens from now on.
    pub(crate) fn start() -> Sink {
        let sink = Sink::default();
        SINK.with(|s| *s.borrow_mut() = Some(sink.clone()));
        sink
    }

    /// Stops recording on this thread.
    pub(crate) fn stop() {
        SINK.with(|s| *s.borrow_mut() = None);
    }

    pub(super) fn install(conn: &mut Connection) {
        let Some(sink) = SINK.with(|s| s.borrow().clone()) else {
            return;
        };
        let result = conn.trace_v2(
            TraceEventCodes::SQLITE_TRACE_STMT,
            Some(move |event: TraceEvent<'_>| {
                if let TraceEvent::Stmt(statement, text) = event {
                    // Trigger sub-programs are reported as `-- comment`; keep the statement.
                    if !text.starts_with("--") {
                        let sql = statement.sql().into_owned();
                        sink.lock().unwrap().push(sql);
                    }
                }
            }),
        );
        result.unwrap();
    }
}
