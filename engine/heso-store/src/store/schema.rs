//! The schema (storage.md §5.2, §10–§12) and the forward-only migrations that build it (§5.3).
//!
//! A migration is one batch of SQL. A file without the schema gets every migration in one
//! `BEGIN IMMEDIATE` transaction; an older file gets each missing migration in its own. Every
//! transaction re-reads the version after taking the write lock, because another process may have
//! migrated in between.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension as _, TransactionBehavior};

use crate::fs::random_bytes;
use crate::store::clock::Instant;
use crate::store::error::StoreError;

/// `PRAGMA application_id` of every heso store: ASCII `HESO`.
pub const APPLICATION_ID: u32 = 0x4845_534F;

/// One forward-only step of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// The version the store has after this step.
    pub(crate) version: i64,
    /// The SQL that takes the store from `version - 1` to `version`. It never touches a `body`.
    pub(crate) sql: &'static str,
}

/// The migrations this build knows, in order; the last one's version is the latest.
pub(crate) const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: SCHEMA_V1,
}];

/// The latest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Schema version 1.
///
/// CHECKs encode the enumerations the spec lists for each column; the derived columns of
/// `receipts` are copies for querying and `body` is the only authority.
const SCHEMA_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE schema_migrations (
    version        INTEGER PRIMARY KEY,
    applied_at     TEXT NOT NULL,
    engine_version TEXT NOT NULL
);

CREATE TABLE receipts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action_hash TEXT NOT NULL UNIQUE,
    session_id  TEXT NULL,
    seq         INTEGER NULL,
    link_hash   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    decision    TEXT NOT NULL,
    trust_level TEXT NOT NULL,
    tool_name   TEXT NOT NULL,
    workflow    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    body        BLOB NOT NULL,
    CHECK ((session_id IS NULL) = (seq IS NULL)),
    UNIQUE (session_id, seq)
);
CREATE INDEX receipts_created_at ON receipts (created_at);
CREATE INDEX receipts_decision ON receipts (decision);
CREATE INDEX receipts_kind ON receipts (kind);

CREATE TABLE chain_heads (
    session_id      TEXT PRIMARY KEY,
    session_type    TEXT NOT NULL CHECK (session_type IN ('action', 'lifecycle')),
    last_seq        INTEGER NOT NULL,
    last_link_hash  TEXT NOT NULL,
    last_receipt_id INTEGER NOT NULL REFERENCES receipts (id),
    updated_at      TEXT NOT NULL
);

CREATE TABLE approvals (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id         TEXT NOT NULL,
    generation         INTEGER NOT NULL,
    state              TEXT NOT NULL
                       CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'consumed')),
    session_id         TEXT NOT NULL,
    pending_receipt_id INTEGER NOT NULL REFERENCES receipts (id),
    base_content       BLOB NOT NULL,
    rule_id            TEXT NOT NULL,
    threshold          INTEGER NOT NULL CHECK (threshold >= 1),
    roster             TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    decided_at         TEXT NULL,
    consumed_at        TEXT NULL,
    consumed_by        TEXT NULL,
    final_receipt_id   INTEGER NULL REFERENCES receipts (id),
    reopened_at        TEXT NULL,
    UNIQUE (request_id, generation)
);
CREATE UNIQUE INDEX approvals_live ON approvals (request_id)
    WHERE state IN ('pending', 'approved');

CREATE TABLE approval_legs (
    approval_id  INTEGER NOT NULL REFERENCES approvals (id),
    approver_key TEXT NOT NULL,
    decision     TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    record       BLOB NOT NULL,
    signature    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (approval_id, approver_key)
);

CREATE TABLE durable_sessions (
    session_id        TEXT PRIMARY KEY,
    request_id        TEXT NOT NULL,
    function_ref      TEXT NOT NULL,
    arguments         BLOB NOT NULL,
    resume_token      TEXT NOT NULL,
    workflow          TEXT NOT NULL,
    rule_id           TEXT NOT NULL,
    roster            TEXT NULL,
    expires_at        TEXT NULL,
    state             TEXT NOT NULL CHECK (state IN
                      ('allowed', 'pending', 'approved', 'rejected', 'expired', 'completed')),
    claimed_at        TEXT NULL,
    claimed_by        TEXT NULL,
    result            BLOB NULL,
    error             TEXT NULL,
    expiry_receipt_id INTEGER NULL REFERENCES receipts (id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE TABLE reveals (
    commitment TEXT PRIMARY KEY,
    receipt_id INTEGER NOT NULL REFERENCES receipts (id),
    field_path TEXT NOT NULL,
    salt_hex   TEXT NOT NULL,
    value_json BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt_id      INTEGER NOT NULL UNIQUE REFERENCES receipts (id),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NULL,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
";

/// What the creating process records in `meta`.
#[derive(Debug, Clone)]
pub(crate) struct Creation {
    /// When.
    pub(crate) now: Instant,
    /// The base64 operator key, when the creator knows it (informational).
    pub(crate) operator_public_key: Option<String>,
}

/// The store's `application_id`.
pub(crate) fn application_id(conn: &Connection) -> rusqlite::Result<u32> {
    let id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    // The header field is 32 bits; SQLite reports it as a signed integer.
    Ok(u32::from_ne_bytes(
        i32::try_from(id).unwrap_or(0).to_ne_bytes(),
    ))
}

/// The schema version: the highest applied migration, 0 for a file without the schema. O(1): the
/// maximum of an integer primary key.
pub(crate) fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table = conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !has_table {
        return Ok(0);
    }
    conn.query_row("SELECT max(version) FROM schema_migrations", [], |row| {
        row.get::<_, Option<i64>>(0)
    })
    .map(Option::unwrap_or_default)
}

/// Whether the file holds any table at all (a non-heso database with `application_id` 0).
fn has_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
        [],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Brings the store to the last of `migrations`: creates every table in one transaction when the
/// file is empty, else applies each missing migration in its own. Refuses a newer store.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    migrations: &[Migration],
    creation: &Creation,
) -> Result<i64, StoreError> {
    let latest = migrations.last().map_or(0, |m| m.version);
    loop {
        let current = schema_version(conn)?;
        if current > latest {
            return Err(StoreError::NewerSchema {
                found: current,
                known: latest,
            });
        }
        if current == latest {
            return Ok(current);
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // INVARIANT: the version is re-read under the write lock; another process may have
        // migrated while this one waited.
        if schema_version(&tx)? != current {
            tx.rollback()?;
            continue;
        }
        let engine_version = env!("CARGO_PKG_VERSION");
        let applied_at = creation.now.store_time();
        let pending: Vec<&Migration> = if current == 0 {
            let found = application_id(&tx)?;
            if found != APPLICATION_ID && (found != 0 || has_tables(&tx)?) {
                return Err(StoreError::NotAHesoStore {
                    path: path.to_owned(),
                    found,
                });
            }
            tx.pragma_update(None, "application_id", i64::from(APPLICATION_ID))?;
            migrations.iter().collect()
        } else {
            migrations
                .iter()
                .filter(|m| m.version == current + 1)
                .collect()
        };
        if pending.is_empty() {
            return Err(StoreError::Misconfigured {
                path: path.to_owned(),
                detail: format!("no migration from schema version {current}"),
            });
        }
        for migration in pending {
            tx.execute_batch(migration.sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at, engine_version)
                 VALUES (?1, ?2, ?3)",
                params![migration.version, applied_at, engine_version],
            )?;
        }
        if current == 0 {
            write_meta(&tx, creation)?;
        }
        tx.commit()?;
    }
}

/// The `meta` rows written once, at creation.
fn write_meta(conn: &Connection, creation: &Creation) -> Result<(), StoreError> {
    let random_error = |source| StoreError::Io {
        path: "the OS random source".into(),
        source,
    };
    let store_id: [u8; 16] = random_bytes().map_err(random_error)?;
    // The key of request ids (§10.1): never exported, never leaves the store.
    let request_key = zeroize::Zeroizing::new(random_bytes::<32>().map_err(random_error)?);
    let insert = |key: &str, value: &dyn rusqlite::ToSql| {
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )
    };
    insert("store_id", &heso_core::hex::encode(&store_id))?;
    insert("created_at", &creation.now.store_time())?;
    insert("approval_request_key", &request_key.as_slice())?;
    if let Some(key) = &creation.operator_public_key {
        insert("operator_public_key", key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::clock::Clock;

    fn creation() -> Creation {
        Creation {
            now: Clock::system().now(),
            operator_public_key: None,
        }
    }

    fn open(dir: &Path) -> Connection {
        Connection::open(dir.join("m.db")).unwrap()
    }

    const FAKE_V2: Migration = Migration {
        version: 2,
        sql: "ALTER TABLE receipts ADD COLUMN verb TEXT NULL;
              CREATE INDEX receipts_verb ON receipts (verb);",
    };

    #[test]
    fn creation_applies_every_migration_in_one_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(dir.path());
        let both = [MIGRATIONS[0], FAKE_V2];
        assert_eq!(
            migrate(&mut conn, dir.path(), &both, &creation()).unwrap(),
            2
        );
        let versions: Vec<i64> = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(versions, vec![1, 2]);
        assert_eq!(application_id(&conn).unwrap(), APPLICATION_ID);
    }

    #[test]
    fn an_older_store_gets_the_missing_migration_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(dir.path());
        migrate(&mut conn, dir.path(), MIGRATIONS, &creation()).unwrap();
        conn.execute("INSERT INTO meta (key, value) VALUES ('probe', 'kept')", [])
            .unwrap();
        let both = [MIGRATIONS[0], FAKE_V2];
        assert_eq!(
            migrate(&mut conn, dir.path(), &both, &creation()).unwrap(),
            2
        );
        // The new column exists and old rows are intact.
        conn.prepare("SELECT verb FROM receipts").unwrap();
        let kept: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'probe'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "kept");
        // Running again is a no-op.
        assert_eq!(
            migrate(&mut conn, dir.path(), &both, &creation()).unwrap(),
            2
        );
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2);
    }

    #[test]
    fn a_newer_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(dir.path());
        migrate(
            &mut conn,
            dir.path(),
            &[MIGRATIONS[0], FAKE_V2],
            &creation(),
        )
        .unwrap();
        let error = migrate(&mut conn, dir.path(), MIGRATIONS, &creation()).unwrap_err();
        assert!(matches!(
            error,
            StoreError::NewerSchema { found: 2, known: 1 }
        ));
        assert!(error.to_string().contains("store written by a newer heso"));
    }

    #[test]
    fn a_foreign_database_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(dir.path());
        conn.execute_batch("CREATE TABLE notes (x TEXT)").unwrap();
        let error = migrate(&mut conn, dir.path(), MIGRATIONS, &creation()).unwrap_err();
        assert!(matches!(error, StoreError::NotAHesoStore { found: 0, .. }));
        assert_eq!(application_id(&conn).unwrap(), 0);
        assert_eq!(schema_version(&conn).unwrap(), 0);
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version_intact() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(dir.path());
        migrate(&mut conn, dir.path(), MIGRATIONS, &creation()).unwrap();
        let broken = Migration {
            version: 2,
            sql: "CREATE TABLE half (x TEXT); THIS IS NOT SQL;",
        };
        assert!(migrate(&mut conn, dir.path(), &[MIGRATIONS[0], broken], &creation()).is_err());
        assert_eq!(schema_version(&conn).unwrap(), 1);
        let half: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'half'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(half, 0);
    }
}
