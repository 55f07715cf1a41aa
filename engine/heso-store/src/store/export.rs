//! JSONL export (storage.md §13): each line the exact stored body and one `\n`. Only `receipts`
//! is read; reveal material, approval legs, durable sessions, outbox and meta never leave.

use std::io::Write;

use crate::store::error::StoreError;
use crate::store::read::{Snapshot, StoreReader};

/// Which receipts an export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportScope {
    /// Every receipt in append (`id`) order, standalone receipts included.
    Full,
    /// The receipts of these sessions, each in `seq` order, one session after the other.
    Sessions(Vec<String>),
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Lines written.
    pub receipts: u64,
    /// Bytes written.
    pub bytes: u64,
}

impl Snapshot<'_> {
    /// Writes the receipts of `scope` as JSONL to `out`.
    pub fn export(
        &self,
        scope: &ExportScope,
        out: &mut dyn Write,
    ) -> Result<ExportSummary, StoreError> {
        let mut summary = ExportSummary::default();
        let mut write = |body: &[u8]| -> Result<(), StoreError> {
            write_line(out, body)?;
            summary.receipts += 1;
            summary.bytes += body.len() as u64 + 1;
            Ok(())
        };
        match scope {
            ExportScope::Full => self.for_each(&mut |r| write(&r.body))?,
            ExportScope::Sessions(sessions) => {
                for session in sessions {
                    self.for_each_in_session(session, &mut |r| write(&r.body))?;
                }
            }
        }
        Ok(summary)
    }
}

impl StoreReader {
    /// Writes the receipts of `scope` as JSONL to `out`, in one read transaction.
    pub fn export(
        &mut self,
        scope: &ExportScope,
        out: &mut dyn Write,
    ) -> Result<ExportSummary, StoreError> {
        self.snapshot(|s| s.export(scope, out))
    }
}

/// One JSONL line. Bodies are compact JSON, so they never contain a raw newline.
pub(crate) fn write_line(out: &mut dyn Write, body: &[u8]) -> Result<(), StoreError> {
    out.write_all(body)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|source| StoreError::Io {
            path: "the export output".into(),
            source,
        })
}
