//! Reading `approvals` and `approval_legs` rows, the request key, request-id prefixes, and the
//! lazy-expiry rule every reader and writer applies.

use heso_core::receipt::approval::{self, ApproverRecord, LegDecision};
use rusqlite::{Connection, OptionalExtension as _, Row};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::store::approvals::{
    ApprovalError, ApprovalFilter, ApprovalLeg, ApprovalRequest, ApprovalState,
};
use crate::store::clock::Instant;
use crate::store::error::StoreError;

/// The shortest request-id prefix accepted.
const MIN_PREFIX: usize = 6;
/// Candidates listed for an ambiguous prefix.
const MAX_CANDIDATES: usize = 10;

/// The columns of an `approvals` row, in the order [`from_row`] reads them.
const COLUMNS: &str = "id, request_id, generation, state, session_id, pending_receipt_id, \
    base_content, rule_id, threshold, roster, created_at, expires_at, decided_at, consumed_at, \
    consumed_by, final_receipt_id, reopened_at";

/// Whether a `pending` row is past its deadline at `now` (store times compare as text).
pub(super) fn overdue(expires_at: &str, now: Instant) -> bool {
    now.store_time().as_str() > expires_at
}

/// The store's request key (`meta.approval_request_key`). It never leaves the store.
fn request_key(conn: &Connection) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let value: Option<Zeroizing<Vec<u8>>> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'approval_request_key'")?
        .query_row([], |row| row.get::<_, Vec<u8>>(0))
        .optional()?
        .map(Zeroizing::new);
    let key = value
        .as_deref()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
        .ok_or_else(|| {
            StoreError::integrity("`meta.approval_request_key` is missing or not 32 bytes")
        })?;
    Ok(Zeroizing::new(key))
}

/// The request id of an action captured before redaction (storage.md §10.1).
pub(super) fn request_id(
    conn: &Connection,
    action: &Map<String, Value>,
) -> Result<String, StoreError> {
    let key = request_key(conn)?;
    approval::request_id(&key, action)
        .map_err(|e| StoreError::request(format!("cannot derive the approval request id: {e}")))
}

/// The one request id with this full id or unique prefix (6–64 hex, any case).
pub(super) fn resolve_prefix(conn: &Connection, id_or_prefix: &str) -> Result<String, StoreError> {
    let prefix = id_or_prefix.to_ascii_lowercase();
    if !(MIN_PREFIX..=64).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(ApprovalError::BadPrefix(id_or_prefix.to_owned()).into());
    }
    // Request ids are lowercase hex: every id with this prefix sorts in [prefix, prefix + "g"),
    // a range of the (request_id, generation) index.
    let upper = format!("{prefix}g");
    let limit = i64::try_from(MAX_CANDIDATES + 1).unwrap_or(i64::MAX);
    let mut ids: Vec<String> = conn
        .prepare_cached(
            "SELECT DISTINCT request_id FROM approvals
             WHERE request_id >= ?1 AND request_id < ?2 ORDER BY request_id LIMIT ?3",
        )?
        .query_map(rusqlite::params![prefix, upper, limit], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    match ids.len() {
        0 => Err(ApprovalError::NotFound(id_or_prefix.to_owned()).into()),
        1 => ids
            .pop()
            .ok_or_else(|| ApprovalError::NotFound(id_or_prefix.to_owned()).into()),
        _ => Err(ApprovalError::Ambiguous {
            prefix: id_or_prefix.to_owned(),
            candidates: ids
                .iter()
                .take(MAX_CANDIDATES)
                .map(|id| id.chars().take(12).collect())
                .collect(),
        }
        .into()),
    }
}

/// The latest generation of a request id.
pub(super) fn latest(
    conn: &Connection,
    request_id: &str,
    now: Instant,
) -> Result<Option<ApprovalRequest>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM approvals WHERE request_id = ?1 ORDER BY generation DESC LIMIT 1"
    );
    let row = conn
        .prepare_cached(&sql)?
        .query_row([request_id], from_row)
        .optional()?;
    row.map(|row| complete(conn, row, now)).transpose()
}

/// One generation of a request id.
pub(super) fn generation(
    conn: &Connection,
    request_id: &str,
    generation: i64,
    now: Instant,
) -> Result<Option<ApprovalRequest>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE request_id = ?1 AND generation = ?2");
    let row = conn
        .prepare_cached(&sql)?
        .query_row(rusqlite::params![request_id, generation], from_row)
        .optional()?;
    row.map(|row| complete(conn, row, now)).transpose()
}

/// The row with this `approvals.id`, as it stands inside the current transaction.
pub(super) fn by_id(
    conn: &Connection,
    id: i64,
    now: Instant,
) -> Result<ApprovalRequest, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1");
    let row = conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| {
            StoreError::integrity(format!("approval {id} vanished inside its transaction"))
        })?;
    complete(conn, row, now)
}

/// Every request, in `approvals.id` order, filtered by the state as read at `now`.
pub(super) fn list(
    conn: &Connection,
    filter: &ApprovalFilter,
    now: Instant,
) -> Result<Vec<ApprovalRequest>, StoreError> {
    let sql = if filter.latest_only {
        format!(
            "SELECT {COLUMNS} FROM approvals a WHERE generation =
                 (SELECT max(generation) FROM approvals b WHERE b.request_id = a.request_id)
             ORDER BY id"
        )
    } else {
        format!("SELECT {COLUMNS} FROM approvals ORDER BY id")
    };
    let mut statement = conn.prepare(&sql)?;
    let rows: Vec<RawRow> = statement
        .query_map([], from_row)?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for row in rows {
        let request = complete(conn, row, now)?;
        if filter.state.is_none_or(|state| state == request.state) {
            out.push(request);
        }
    }
    Ok(out)
}

/// The legs of a request, in the order they were recorded.
fn legs(conn: &Connection, approval_id: i64) -> Result<Vec<ApprovalLeg>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT approver_key, decision, record, signature, created_at FROM approval_legs
         WHERE approval_id = ?1 ORDER BY rowid",
    )?;
    let rows: Vec<(String, String, Vec<u8>, String, String)> = statement
        .query_map([approval_id], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(approver_key, decision, record, signature, created_at)| {
            let bad = |what: &str| {
                StoreError::integrity(format!(
                    "approval {approval_id}: the leg of `{approver_key}` has {what}"
                ))
            };
            let decision =
                LegDecision::parse(&decision).ok_or_else(|| bad("an unknown decision"))?;
            let record = serde_json::from_slice::<Value>(&record)
                .ok()
                .and_then(|value| ApproverRecord::parse(&value).ok())
                .ok_or_else(|| bad("an unreadable record"))?;
            if record.decision != decision || record.approver_identity.to_base64() != approver_key {
                return Err(bad("a record that contradicts its columns"));
            }
            Ok(ApprovalLeg {
                approver_key,
                decision,
                record,
                signature,
                created_at,
            })
        })
        .collect()
}

/// An `approvals` row as stored, before its JSON columns are parsed.
struct RawRow {
    id: i64,
    request_id: String,
    generation: i64,
    state: String,
    session_id: String,
    pending_receipt_id: i64,
    base_content: Vec<u8>,
    rule_id: String,
    threshold: i64,
    roster: String,
    created_at: String,
    expires_at: String,
    decided_at: Option<String>,
    consumed_at: Option<String>,
    consumed_by: Option<String>,
    final_receipt_id: Option<i64>,
    reopened_at: Option<String>,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: row.get(0)?,
        request_id: row.get(1)?,
        generation: row.get(2)?,
        state: row.get(3)?,
        session_id: row.get(4)?,
        pending_receipt_id: row.get(5)?,
        base_content: row.get(6)?,
        rule_id: row.get(7)?,
        threshold: row.get(8)?,
        roster: row.get(9)?,
        created_at: row.get(10)?,
        expires_at: row.get(11)?,
        decided_at: row.get(12)?,
        consumed_at: row.get(13)?,
        consumed_by: row.get(14)?,
        final_receipt_id: row.get(15)?,
        reopened_at: row.get(16)?,
    })
}

/// Parses the JSON columns, loads the legs and applies lazy expiry.
fn complete(conn: &Connection, raw: RawRow, now: Instant) -> Result<ApprovalRequest, StoreError> {
    let id = raw.id;
    let bad = |what: &str| StoreError::integrity(format!("approval {id} has {what}"));
    let stored_state = ApprovalState::parse(&raw.state).ok_or_else(|| bad("an unknown state"))?;
    let Ok(Value::Object(base_content)) = serde_json::from_slice::<Value>(&raw.base_content) else {
        return Err(bad("an unreadable `base_content`"));
    };
    let roster: Vec<String> =
        serde_json::from_str(&raw.roster).map_err(|_| bad("an unreadable `roster`"))?;
    let threshold = u32::try_from(raw.threshold).map_err(|_| bad("an invalid `threshold`"))?;
    let state = if stored_state == ApprovalState::Pending && overdue(&raw.expires_at, now) {
        ApprovalState::Expired
    } else {
        stored_state
    };
    Ok(ApprovalRequest {
        id,
        legs: legs(conn, id)?,
        request_id: raw.request_id,
        generation: raw.generation,
        state,
        stored_state,
        session_id: raw.session_id,
        pending_receipt_id: raw.pending_receipt_id,
        base_content,
        rule_id: raw.rule_id,
        threshold,
        roster,
        created_at: raw.created_at,
        expires_at: raw.expires_at,
        decided_at: raw.decided_at,
        consumed_at: raw.consumed_at,
        consumed_by: raw.consumed_by,
        final_receipt_id: raw.final_receipt_id,
        reopened_at: raw.reopened_at,
    })
}
