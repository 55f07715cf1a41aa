//! Salvage (storage.md §7, cli.md §3.3): copying every readable receipt out of a damaged store,
//! row by row, without writing to it. A damaged page costs the rows on it, not the export.

use std::io::Write;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension as _};

use crate::store::connection::{read_only_flags, DB_FILE};
use crate::store::error::StoreError;
use crate::store::export::write_line;

/// Lost rows listed individually in a report; the count covers all of them.
const LISTED_LOSSES: usize = 100;

/// A receipt id that could not be copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostRow {
    /// The `receipts.id`.
    pub id: i64,
    /// Why: SQLite's error, or that the row is absent.
    pub reason: String,
}

/// What a salvage copied and what it lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalvageReport {
    /// Receipts written to the output.
    pub copied: u64,
    /// Ids from 1 to the highest known id that could not be copied.
    pub lost: u64,
    /// The first lost rows, with reasons.
    pub lost_rows: Vec<LostRow>,
    /// The highest receipt id the store knows of.
    pub highest_id: i64,
}

impl SalvageReport {
    /// Whether nothing was lost.
    pub fn complete(&self) -> bool {
        self.lost == 0
    }
}

/// Copies every readable receipt of the store in `data_dir` to `out` as JSONL in `id` order,
/// opening the database read-only. Receipt ids are never reused (AUTOINCREMENT), so every id
/// from 1 to the highest one should be present; each one that is not is reported as lost.
pub fn salvage(data_dir: &Path, out: &mut dyn Write) -> Result<SalvageReport, StoreError> {
    let path = data_dir.join(DB_FILE);
    if !path.exists() {
        return Err(StoreError::Missing { path });
    }
    let damaged = |e: rusqlite::Error| StoreError::Corrupt {
        path: path.clone(),
        detail: e.to_string(),
    };
    let conn = Connection::open_with_flags(&path, read_only_flags()).map_err(damaged)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(damaged)?;
    // Reject malformed cells as errors instead of reading past them.
    conn.pragma_update(None, "cell_size_check", true)
        .map_err(damaged)?;
    conn.execute_batch("BEGIN").map_err(damaged)?;
    let highest = highest_id(&conn).ok_or_else(|| StoreError::Corrupt {
        path: path.clone(),
        detail: "neither the receipts table nor its id counter can be read".to_owned(),
    })?;
    let mut report = SalvageReport {
        highest_id: highest,
        ..SalvageReport::default()
    };
    let mut statement = conn
        .prepare("SELECT body FROM receipts WHERE id = ?1")
        .map_err(damaged)?;
    for id in 1..=highest {
        let reason = match statement
            .query_row([id], |row| row.get::<_, Vec<u8>>(0))
            .optional()
        {
            Ok(Some(body)) => {
                write_line(out, &body)?;
                report.copied += 1;
                continue;
            }
            Ok(None) => "no such row (deleted, or lost with a damaged page)".to_owned(),
            Err(error) => error.to_string(),
        };
        report.lost += 1;
        if report.lost_rows.len() < LISTED_LOSSES {
            report.lost_rows.push(LostRow { id, reason });
        }
    }
    Ok(report)
}

/// The highest receipt id, from the table or from AUTOINCREMENT's counter, whichever is
/// readable and larger (a damaged last page can hide the table's maximum).
fn highest_id(conn: &Connection) -> Option<i64> {
    let from_table = conn
        .query_row("SELECT max(id) FROM receipts", [], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .ok()
        .flatten();
    let from_counter = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'receipts'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .optional()
        .ok()
        .flatten();
    match (from_table, from_counter) {
        (None, None) => {
            // Both unreadable, or an empty store: an empty store has a readable table.
            let readable = conn
                .query_row("SELECT 1 FROM receipts LIMIT 1", [], |_| Ok(()))
                .optional()
                .is_ok();
            readable.then_some(0)
        }
        (a, b) => a.max(b),
    }
}
