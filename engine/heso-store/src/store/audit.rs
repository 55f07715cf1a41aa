//! The store audit behind `heso-compliance audit verify` (cli.md §3.3): every chain and standalone
//! receipt verified by the one verifier of `heso-core`, plus checks of the store's own bookkeeping.
//! It reads only, through a read-only connection, and reports; it never repairs anything.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use heso_core::receipt::hashing::link_hash;
use heso_core::receipt::report::{verify_inputs_observed, InputReceipt, Pinning, Report};
use heso_core::receipt::verify::Verdict;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::store::connection::{companion, read_only_flags, DB_FILE};
use crate::store::error::StoreError;
use crate::store::read::{receipt_from_row, Snapshot, StoredReceipt, RECEIPT_COLUMNS};
use crate::store::schema::{self, APPLICATION_ID};
use crate::store::wal::{self, WalState};

/// Problems quoted in one check's detail; the count covers all of them.
const QUOTED: usize = 5;

/// One store check: its name, whether it passed, and what failed (cli.md §4 `store_checks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCheck {
    /// The check's stable name, such as `chain_heads`.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What it found: the failures, or a note on a pass.
    pub detail: Option<String>,
}

/// The outcome of auditing a store.
#[derive(Debug, Clone)]
pub struct StoreAudit {
    /// Every chain and standalone receipt, as `heso verify` reports them.
    pub report: Report,
    /// The store's own checks, in a fixed order.
    pub store_checks: Vec<StoreCheck>,
}

impl StoreAudit {
    /// Whether every receipt, chain and store check passed.
    pub fn ok(&self) -> bool {
        self.report.ok() && self.store_checks.iter().all(|c| c.ok)
    }

    /// The exit status: 0 when everything passed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.ok())
    }

    /// One line per failed store check: `store: <check> failed: <detail>`.
    pub fn store_lines(&self) -> Vec<String> {
        self.store_checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| {
                format!(
                    "store: {} failed: {}",
                    c.name,
                    c.detail.as_deref().unwrap_or("no detail")
                )
            })
            .collect()
    }

    /// The `store_checks` array of the JSON result.
    pub fn store_checks_json(&self) -> Value {
        Value::Array(
            self.store_checks
                .iter()
                .map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail}))
                .collect(),
        )
    }
}

/// Collects one check's problems.
#[derive(Debug, Default)]
struct Problems {
    count: usize,
    quoted: Vec<String>,
}

impl Problems {
    fn add(&mut self, problem: String) {
        self.count += 1;
        if self.quoted.len() < QUOTED {
            self.quoted.push(problem);
        }
    }

    fn into_check(self, name: &'static str) -> StoreCheck {
        if self.count == 0 {
            return StoreCheck {
                name,
                ok: true,
                detail: None,
            };
        }
        let mut detail = self.quoted.join("; ");
        if self.count > self.quoted.len() {
            let _ = write!(detail, "; and {} more", self.count - self.quoted.len());
        }
        StoreCheck {
            name,
            ok: false,
            detail: Some(detail),
        }
    }
}

fn check(name: &'static str, ok: bool, detail: Option<String>) -> StoreCheck {
    StoreCheck { name, ok, detail }
}

/// Audits the store in `data_dir`: verifies every session as a chain (in `seq` order) and every
/// standalone receipt under `pinning`, on up to `workers` threads, and runs the store checks.
/// `progress(done, total)` is called as receipts are verified.
pub fn audit_store(
    data_dir: &Path,
    pinning: Pinning,
    workers: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<StoreAudit, StoreError> {
    let path = data_dir.join(DB_FILE);
    if !path.exists() {
        return Err(StoreError::Missing { path });
    }
    let empty_report = |pinning| Report {
        pinning,
        chains: Vec::new(),
        receipts: Vec::new(),
        skipped_files: 0,
    };
    let mut checks = Vec::new();
    // Before any connection opens: SQLite would silently ignore a torn tail.
    checks.push(wal_check(
        &companion(&path, "-wal"),
        &companion(&path, "-shm"),
    ));
    let damaged = |e: rusqlite::Error| StoreError::Corrupt {
        path: path.clone(),
        detail: e.to_string(),
    };
    let mut conn = Connection::open_with_flags(&path, read_only_flags()).map_err(damaged)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(damaged)?;
    let found = schema::application_id(&conn).map_err(damaged)?;
    checks.push(check(
        "application_id",
        found == APPLICATION_ID,
        (found != APPLICATION_ID)
            .then(|| format!("{found:#010x}, expected {APPLICATION_ID:#010x}")),
    ));
    let version = schema::schema_version(&conn).map_err(damaged)?;
    let latest = schema::latest_version();
    checks.push(check(
        "schema_version",
        version == latest,
        Some(format!("version {version}, this heso knows {latest}")),
    ));
    if found != APPLICATION_ID || version != latest {
        return Ok(StoreAudit {
            report: empty_report(pinning),
            store_checks: checks,
        });
    }
    let tx = conn.transaction().map_err(damaged)?;
    let snapshot = Snapshot::new(&tx);
    checks.push(integrity_check(snapshot.sql()));
    checks.push(foreign_key_check(snapshot.sql()));
    let scan = scan_receipts(snapshot.sql()).map_err(damaged)?;
    checks.extend(scan.checks);
    checks.push(heads_check(snapshot.sql(), &scan.sessions).map_err(damaged)?);
    checks.push(outbox_check(snapshot.sql()).map_err(damaged)?);
    let finals = approval_finals(snapshot.sql()).map_err(damaged)?;
    drop(tx);
    let report = verify_inputs_observed(&scan.inputs, pinning, 0, workers, progress);
    checks.push(approvals_check(&finals, &scan.index_of, &report));
    Ok(StoreAudit {
        report,
        store_checks: checks,
    })
}

fn wal_check(path: &Path, shm: &Path) -> StoreCheck {
    match wal::inspect(path, shm) {
        Ok(WalState::Absent | WalState::Sound { uncommitted: 0, .. }) => check("wal", true, None),
        Ok(WalState::Sound { uncommitted, .. }) => check(
            "wal",
            true,
            Some(format!(
                "{uncommitted} WAL frames of an unfinished transaction follow the last commit (a writer crashed or is committing); the committed state is intact"
            )),
        ),
        Ok(WalState::Damaged(detail)) => check("wal", false, Some(detail)),
        Err(error) => check("wal", false, Some(format!("cannot read the WAL file: {error}"))),
    }
}

fn integrity_check(conn: &Connection) -> StoreCheck {
    let lines: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA integrity_check(20)")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
    match lines {
        Ok(lines) if lines == ["ok"] => check("integrity_check", true, None),
        Ok(lines) => check("integrity_check", false, Some(lines.join("; "))),
        Err(error) => check("integrity_check", false, Some(error.to_string())),
    }
}

fn foreign_key_check(conn: &Connection) -> StoreCheck {
    let rows: rusqlite::Result<Vec<(String, i64, String)>> =
        conn.prepare("PRAGMA foreign_key_check").and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        });
    let mut problems = Problems::default();
    match rows {
        Ok(rows) => {
            for (table, rowid, parent) in rows {
                problems.add(format!(
                    "{table} row {rowid} points at a missing {parent} row"
                ));
            }
        }
        Err(error) => problems.add(error.to_string()),
    }
    problems.into_check("foreign_keys")
}

/// The last row of one session, as the receipts show it.
#[derive(Debug)]
struct SessionEnd {
    last_seq: u64,
    last_id: i64,
    last_link_hash: String,
    lifecycle_kinds: usize,
}

/// Everything one pass over `receipts` yields.
#[derive(Debug, Default)]
struct Scan {
    inputs: Vec<InputReceipt>,
    /// `receipts.id` → index in `inputs`.
    index_of: HashMap<i64, usize>,
    sessions: HashMap<String, SessionEnd>,
    checks: Vec<StoreCheck>,
}

/// One pass in `(session_id, seq)` order (standalone receipts first): collects the inputs of the
/// verifier and checks every derived column against the body.
fn scan_receipts(conn: &Connection) -> rusqlite::Result<Scan> {
    let sql = format!("SELECT {RECEIPT_COLUMNS} FROM receipts ORDER BY session_id, seq");
    let mut statement = conn.prepare(&sql)?;
    let mut scan = Scan::default();
    let mut hashes = Problems::default();
    let mut links = Problems::default();
    let mut derived = Problems::default();
    let mut gaps = Problems::default();
    for row in statement.query_map([], receipt_from_row)? {
        let row = row?;
        check_row(&row, &mut hashes, &mut links, &mut derived);
        if let (Some(session), Some(seq)) = (&row.session_id, row.seq) {
            let expected = scan
                .sessions
                .get(session)
                .map_or(0, |end| end.last_seq.saturating_add(1));
            if seq != expected {
                gaps.add(format!(
                    "session `{session}` has seq {seq} where seq {expected} was expected"
                ));
            }
            let end = scan
                .sessions
                .entry(session.clone())
                .or_insert_with(|| SessionEnd {
                    last_seq: 0,
                    last_id: 0,
                    last_link_hash: String::new(),
                    lifecycle_kinds: 0,
                });
            end.last_seq = seq;
            end.last_id = row.id;
            end.last_link_hash.clone_from(&row.link_hash);
            end.lifecycle_kinds += usize::from(row.kind != "action");
        }
        scan.index_of.insert(row.id, scan.inputs.len());
        scan.inputs.push(InputReceipt {
            source: format!("heso.db#{}", row.id),
            bytes: row.body,
        });
    }
    scan.checks.push(hashes.into_check("action_hash_column"));
    scan.checks.push(links.into_check("link_hash_column"));
    scan.checks.push(derived.into_check("derived_columns"));
    scan.checks.push(gaps.into_check("seq_contiguous"));
    Ok(scan)
}

fn check_row(
    row: &StoredReceipt,
    hashes: &mut Problems,
    links: &mut Problems,
    derived: &mut Problems,
) {
    let name = match (&row.session_id, row.seq) {
        (Some(session), Some(seq)) => format!("receipt {} (`{session}`#{seq})", row.id),
        _ => format!("receipt {} (standalone)", row.id),
    };
    let Some(body) = row.json() else {
        derived.add(format!("{name}: the body is not JSON"));
        return;
    };
    let content = body.get("content");
    let text = |member: &str| content.and_then(|c| c.get(member)).and_then(Value::as_str);
    let body_hash = text("action_hash").unwrap_or_default();
    if body_hash != row.action_hash {
        hashes.add(format!(
            "{name}: the column holds `{}`, the body `{body_hash}`",
            short(&row.action_hash)
        ));
    }
    let body_session = text("session_id");
    let body_seq = content.and_then(|c| c.get("seq")).and_then(Value::as_u64);
    let recomputed = link_hash(body_session.unwrap_or(""), body_seq.unwrap_or(0), body_hash);
    if recomputed != row.link_hash {
        links.add(format!(
            "{name}: the column holds `{}`, the body gives `{}`",
            short(&row.link_hash),
            short(&recomputed)
        ));
    }
    let action = content.and_then(|c| c.get("action"));
    let action_text = |member: &str| action.and_then(|a| a.get(member)).and_then(Value::as_str);
    let decision = content
        .and_then(|c| c.get("policy"))
        .and_then(|p| p.get("decision_path"))
        .and_then(Value::as_str);
    let pairs = [
        (
            "session_id",
            row.session_id.as_deref(),
            body_session.map(str::to_owned),
        ),
        (
            "kind",
            Some(row.kind.as_str()),
            Some(text("kind").unwrap_or("action").to_owned()),
        ),
        (
            "decision",
            Some(row.decision.as_str()),
            decision.map(str::to_owned),
        ),
        (
            "trust_level",
            Some(row.trust_level.as_str()),
            text("trust_level").map(str::to_owned),
        ),
        (
            "tool_name",
            Some(row.tool_name.as_str()),
            action_text("tool_name").map(str::to_owned),
        ),
        (
            "workflow",
            Some(row.workflow.as_str()),
            action_text("workflow").map(str::to_owned),
        ),
    ];
    for (column, stored, from_body) in pairs {
        if stored != from_body.as_deref() {
            derived.add(format!(
                "{name}: column `{column}` is {stored:?}, the body says {from_body:?}"
            ));
        }
    }
    if row.seq != body_seq {
        derived.add(format!(
            "{name}: column `seq` is {:?}, the body says {body_seq:?}",
            row.seq
        ));
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Each chain head equals the last row of its session; every session has a head; action
/// sessions hold no lifecycle links.
fn heads_check(
    conn: &Connection,
    sessions: &HashMap<String, SessionEnd>,
) -> rusqlite::Result<StoreCheck> {
    let mut statement = conn.prepare(
        "SELECT session_id, session_type, last_seq, last_link_hash, last_receipt_id
         FROM chain_heads ORDER BY session_id",
    )?;
    let heads: Vec<(String, String, i64, String, i64)> = statement
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut problems = Problems::default();
    let mut seen = std::collections::HashSet::new();
    for (session, kind, last_seq, last_link, last_id) in &heads {
        seen.insert(session.as_str());
        let Some(end) = sessions.get(session) else {
            problems.add(format!("the chain head of `{session}` has no receipts"));
            continue;
        };
        if u64::try_from(*last_seq).ok() != Some(end.last_seq) || *last_id != end.last_id {
            problems.add(format!(
                "the chain head of `{session}` says seq {last_seq} (receipt {last_id}), the last row is seq {} (receipt {})",
                end.last_seq, end.last_id
            ));
        } else if *last_link != end.last_link_hash {
            problems.add(format!(
                "the chain head of `{session}` holds link hash `{}`, its last row `{}`",
                short(last_link),
                short(&end.last_link_hash)
            ));
        }
        if kind == "action" && end.lifecycle_kinds > 0 {
            problems.add(format!(
                "action session `{session}` holds {} lifecycle links",
                end.lifecycle_kinds
            ));
        }
    }
    let mut headless: Vec<&String> = sessions
        .keys()
        .filter(|s| !seen.contains(s.as_str()))
        .collect();
    headless.sort();
    for session in headless {
        problems.add(format!(
            "session `{session}` has receipts but no chain head (deleted?)"
        ));
    }
    Ok(problems.into_check("chain_heads"))
}

/// Every receipt has its outbox row.
fn outbox_check(conn: &Connection) -> rusqlite::Result<StoreCheck> {
    let mut statement = conn.prepare(
        "SELECT r.id FROM receipts r LEFT JOIN outbox o ON o.receipt_id = r.id
         WHERE o.id IS NULL ORDER BY r.id",
    )?;
    let mut problems = Problems::default();
    for id in statement.query_map([], |r| r.get::<_, i64>(0))? {
        problems.add(format!("receipt {} has no outbox row", id?));
    }
    Ok(problems.into_check("outbox"))
}

/// `(approval id, final_receipt_id)` of every decided approval.
fn approval_finals(conn: &Connection) -> rusqlite::Result<Vec<(i64, i64)>> {
    conn.prepare(
        "SELECT id, final_receipt_id FROM approvals WHERE final_receipt_id IS NOT NULL ORDER BY id",
    )?
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// Each `approvals.final_receipt_id` names a receipt that verifies.
fn approvals_check(
    finals: &[(i64, i64)],
    index_of: &HashMap<i64, usize>,
    report: &Report,
) -> StoreCheck {
    let mut problems = Problems::default();
    for (approval, receipt) in finals {
        let verdict = index_of
            .get(receipt)
            .and_then(|i| report.receipts.get(*i))
            .map(|entry| entry.verification.verdict);
        match verdict {
            Some(Verdict::Valid) => {}
            Some(verdict) => problems.add(format!(
                "approval {approval}: its receipt {receipt} is {verdict}"
            )),
            None => problems.add(format!(
                "approval {approval}: its receipt {receipt} is missing"
            )),
        }
    }
    problems.into_check("approval_receipts")
}
