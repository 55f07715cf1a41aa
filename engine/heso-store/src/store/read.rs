//! Reading the store: hash and prefix lookups, `heso log` listings, sessions. Every read runs in
//! a [`Snapshot`], one read transaction, so it sees one consistent state while agents append.

use std::path::{Path, PathBuf};

use rusqlite::{params_from_iter, Connection, OptionalExtension as _, Row, ToSql};
use serde_json::Value;

use crate::store::append::SessionType;
use crate::store::connection::{self, Owned, DB_FILE};
use crate::store::error::StoreError;
use crate::store::StoreOptions;

/// The shortest hash prefix accepted.
const MIN_PREFIX: usize = 6;
/// Candidates listed for an ambiguous prefix.
const MAX_CANDIDATES: usize = 10;

/// One stored receipt: its derived columns and the exact signed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    /// `receipts.id`, the append order.
    pub id: i64,
    /// `content.action_hash`.
    pub action_hash: String,
    /// `session_id`, `None` for a standalone receipt.
    pub session_id: Option<String>,
    /// `seq`, `None` for a standalone receipt.
    pub seq: Option<u64>,
    /// The link hash computed at append.
    pub link_hash: String,
    /// The effective kind (`action` when the receipt has none).
    pub kind: String,
    /// `policy.decision_path`.
    pub decision: String,
    /// The embedded trust level.
    pub trust_level: String,
    /// `action.tool_name`.
    pub tool_name: String,
    /// `action.workflow`.
    pub workflow: String,
    /// The store clock at append (RFC 3339 with milliseconds).
    pub created_at: String,
    /// The exact signed bytes; the only authority.
    pub body: Vec<u8>,
}

impl StoredReceipt {
    /// The body parsed as JSON (`None` if it does not parse, which an audit reports).
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The columns of [`StoredReceipt`], in order.
pub(crate) const RECEIPT_COLUMNS: &str = "id, action_hash, session_id, seq, link_hash, kind, \
    decision, trust_level, tool_name, workflow, created_at, body";

/// Reads a row selected with [`RECEIPT_COLUMNS`].
pub(crate) fn receipt_from_row(row: &Row<'_>) -> rusqlite::Result<StoredReceipt> {
    Ok(StoredReceipt {
        id: row.get(0)?,
        action_hash: row.get(1)?,
        session_id: row.get(2)?,
        seq: row
            .get::<_, Option<i64>>(3)?
            .and_then(|s| u64::try_from(s).ok()),
        link_hash: row.get(4)?,
        kind: row.get(5)?,
        decision: row.get(6)?,
        trust_level: row.get(7)?,
        tool_name: row.get(8)?,
        workflow: row.get(9)?,
        created_at: row.get(10)?,
        body: row.get(11)?,
    })
}

/// The reveal material of one commitment, as far as explaining needs it: the path and the
/// committed value. The value is a secret; [`std::fmt::Debug`] never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredReveal {
    /// The dotted path into `action.fields` the commitment was made for.
    pub field_path: String,
    /// The exact committed bytes: the RFC 8785 JSON text of the original value.
    pub value_json: Vec<u8>,
}

impl std::fmt::Debug for StoredReveal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredReveal")
            .field("field_path", &self.field_path)
            .finish_non_exhaustive()
    }
}

/// What `heso log` selects. Empty filters select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this session.
    pub session_id: Option<String>,
    /// Only this workflow (`action.workflow`).
    pub workflow: Option<String>,
    /// Only this verb (`action.verb`, read from the body).
    pub verb: Option<String>,
    /// Only this decision (`policy.decision_path`).
    pub decision: Option<String>,
    /// Only this kind (`action` for plain receipts).
    pub kind: Option<String>,
    /// Only receipts appended at or after this store time (RFC 3339, compared as text, so give
    /// the store's format: `2026-11-24T10:00:00.000Z`).
    pub since: Option<String>,
    /// Only receipts appended after this id (for `heso log --follow`).
    pub after_id: Option<i64>,
    /// At most this many (`None` = all).
    pub limit: Option<usize>,
}

/// A session, from its chain head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id.
    pub session_id: String,
    /// Fixed at genesis.
    pub session_type: SessionType,
    /// Receipts in it (`last_seq` + 1).
    pub length: u64,
    /// The head's `seq`.
    pub last_seq: u64,
    /// The head's link hash.
    pub last_link_hash: String,
    /// The head receipt's id.
    pub last_receipt_id: i64,
    /// When the head last moved.
    pub updated_at: String,
}

/// A read-only connection to an existing store. Never writes, never creates the store.
#[derive(Debug)]
pub struct StoreReader {
    path: PathBuf,
    options: StoreOptions,
    conn: Owned,
}

impl StoreReader {
    /// Opens the store in `data_dir` read-only; [`StoreError::Missing`] when there is none.
    pub fn open(data_dir: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        Self::open_path(&data_dir.join(DB_FILE), options)
    }

    pub(crate) fn open_path(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        let conn = connection::open_reader(path, options)?;
        Ok(Self {
            path: path.to_owned(),
            options: options.clone(),
            conn: Owned::new(conn),
        })
    }

    /// The path of `heso.db`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The time now, by the clock the reader was opened with.
    pub(crate) fn now(&self) -> crate::store::clock::Instant {
        self.options.clock.now()
    }

    /// Runs `read` in one read transaction (a WAL snapshot).
    pub fn snapshot<T>(
        &mut self,
        read: impl FnOnce(&Snapshot<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.conn.current().is_none() {
            // Opened by the parent of a fork: open our own.
            self.conn = Owned::new(connection::open_reader(&self.path, &self.options)?);
        }
        let (path, options) = (&self.path, &self.options);
        let conn = self
            .conn
            .current()
            .ok_or_else(|| StoreError::integrity("the reader connection is not open"))?;
        let tx = conn
            .transaction()
            .map_err(|e| StoreError::from_sqlite(e, path, options.busy_timeout_ms))?;
        let result = read(&Snapshot { conn: &tx });
        // A read transaction has nothing to commit; ending it releases the snapshot.
        drop(tx);
        result.map_err(|e| e.reclassify(path, options))
    }

    /// The receipt with this full hash or unique prefix (6–64 hex characters).
    pub fn receipt(&mut self, hash_or_prefix: &str) -> Result<StoredReceipt, StoreError> {
        self.snapshot(|s| s.receipt(hash_or_prefix))
    }

    /// Receipts newest first, filtered.
    pub fn list(&mut self, filter: &ListFilter) -> Result<Vec<StoredReceipt>, StoreError> {
        self.snapshot(|s| s.list(filter))
    }

    /// Every session, ordered by id.
    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "the method path would tie the snapshot to one lifetime"
    )]
    pub fn sessions(&mut self) -> Result<Vec<SessionInfo>, StoreError> {
        self.snapshot(|s| s.sessions())
    }
}

/// One read transaction on the store.
#[derive(Debug)]
pub struct Snapshot<'c> {
    conn: &'c Connection,
}

impl<'c> Snapshot<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Self { conn }
    }

    /// The connection, for reads this module does not offer (approvals, outbox listings).
    pub fn sql(&self) -> &Connection {
        self.conn
    }

    /// The receipt with this full hash or unique prefix (6–64 hex characters, any case).
    /// Several matches → [`StoreError::Ambiguous`] listing up to 10 as 12-character prefixes.
    pub fn receipt(&self, hash_or_prefix: &str) -> Result<StoredReceipt, StoreError> {
        let prefix = hash_or_prefix.to_ascii_lowercase();
        if !(MIN_PREFIX..=64).contains(&prefix.len())
            || !prefix.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(StoreError::BadPrefix(hash_or_prefix.to_owned()));
        }
        // Hashes are lowercase hex, so every hash with this prefix sorts in [prefix, prefix+"g"):
        // a range scan of the unique index, never of the table.
        let upper = format!("{prefix}g");
        let sql = format!(
            "SELECT {RECEIPT_COLUMNS} FROM receipts
             WHERE action_hash >= ?1 AND action_hash < ?2 ORDER BY action_hash LIMIT ?3"
        );
        let limit = i64::try_from(MAX_CANDIDATES + 1).unwrap_or(i64::MAX);
        let mut matches: Vec<StoredReceipt> = self
            .conn
            .prepare_cached(&sql)?
            .query_map(rusqlite::params![prefix, upper, limit], receipt_from_row)?
            .collect::<Result<_, _>>()?;
        match matches.len() {
            0 => Err(StoreError::NotFound(hash_or_prefix.to_owned())),
            1 => matches
                .pop()
                .ok_or_else(|| StoreError::NotFound(hash_or_prefix.to_owned())),
            _ => Err(StoreError::Ambiguous {
                prefix: hash_or_prefix.to_owned(),
                candidates: matches
                    .iter()
                    .take(MAX_CANDIDATES)
                    .map(|r| r.action_hash.chars().take(12).collect())
                    .collect(),
            }),
        }
    }

    /// The receipt with this id.
    pub fn receipt_by_id(&self, id: i64) -> Result<Option<StoredReceipt>, StoreError> {
        let sql = format!("SELECT {RECEIPT_COLUMNS} FROM receipts WHERE id = ?1");
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id], receipt_from_row)
            .optional()?)
    }

    /// The reveal material stored for a commit-and-reveal `commitment` (storage.md §11), or
    /// `None` when this store holds none. Read-only; the value must never be printed or logged.
    pub fn reveal(&self, commitment: &str) -> Result<Option<StoredReveal>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT field_path, value_json FROM reveals WHERE commitment = ?1")?
            .query_row([commitment], |row| {
                Ok(StoredReveal {
                    field_path: row.get(0)?,
                    value_json: row.get(1)?,
                })
            })
            .optional()?)
    }

    /// Receipts newest first (highest id first), filtered. The verb filter reads bodies; the
    /// others are columns.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<StoredReceipt>, StoreError> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<&dyn ToSql> = Vec::new();
        let columns = [
            ("session_id = ?", &filter.session_id),
            ("workflow = ?", &filter.workflow),
            ("decision = ?", &filter.decision),
            ("kind = ?", &filter.kind),
            ("created_at >= ?", &filter.since),
        ];
        for (clause, value) in columns {
            if let Some(value) = value {
                clauses.push(clause);
                values.push(value);
            }
        }
        if let Some(after) = &filter.after_id {
            clauses.push("id > ?");
            values.push(after);
        }
        let mut sql = format!("SELECT {RECEIPT_COLUMNS} FROM receipts");
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY id DESC");
        let mut statement = self.conn.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(values), receipt_from_row)?;
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for row in rows {
            if out.len() >= limit {
                break;
            }
            let receipt = row?;
            if let Some(verb) = &filter.verb {
                let matches = receipt
                    .json()
                    .and_then(|v| {
                        v.get("content")?
                            .get("action")?
                            .get("verb")?
                            .as_str()
                            .map(|v| v == verb)
                    })
                    .unwrap_or(false);
                if !matches {
                    continue;
                }
            }
            out.push(receipt);
        }
        Ok(out)
    }

    /// Every session, ordered by id.
    pub fn sessions(&self) -> Result<Vec<SessionInfo>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT session_id, session_type, last_seq, last_link_hash, last_receipt_id,
                    updated_at
             FROM chain_heads ORDER BY session_id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
            ))
        })?;
        let mut sessions = Vec::new();
        for row in rows {
            let (session_id, kind, last_seq, last_link_hash, last_receipt_id, updated_at) = row?;
            let bad = |what: &str| {
                StoreError::integrity(format!(
                    "the chain head of session `{session_id}` has {what}"
                ))
            };
            let session_type = SessionType::parse(&kind).ok_or_else(|| bad("an unknown type"))?;
            let last_seq = u64::try_from(last_seq).map_err(|_| bad("a negative seq"))?;
            sessions.push(SessionInfo {
                length: last_seq.saturating_add(1),
                session_id,
                session_type,
                last_seq,
                last_link_hash,
                last_receipt_id,
                updated_at,
            });
        }
        Ok(sessions)
    }

    /// Calls `each` with every receipt of `session_id`, in `seq` order.
    pub fn for_each_in_session(
        &self,
        session_id: &str,
        each: &mut dyn FnMut(StoredReceipt) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let sql =
            format!("SELECT {RECEIPT_COLUMNS} FROM receipts WHERE session_id = ?1 ORDER BY seq");
        let mut statement = self.conn.prepare(&sql)?;
        for row in statement.query_map([session_id], receipt_from_row)? {
            each(row?)?;
        }
        Ok(())
    }

    /// Calls `each` with every receipt in append (`id`) order.
    pub fn for_each(
        &self,
        each: &mut dyn FnMut(StoredReceipt) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let sql = format!("SELECT {RECEIPT_COLUMNS} FROM receipts ORDER BY id");
        let mut statement = self.conn.prepare(&sql)?;
        for row in statement.query_map([], receipt_from_row)? {
            each(row?)?;
        }
        Ok(())
    }
}
