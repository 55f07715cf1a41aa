//! The store commands as both programs run them: `audit verify`, `export` / `audit export`,
//! `show` and `log`, plus the store half of `verify` (hash prefixes and the whole store, used by
//! [`crate::verification`]). `heso` (through `heso._core`) and `heso-compliance` call these same
//! functions, so their output, JSON and exit codes cannot drift apart.
//!
//! Everything here reads the store through a read-only [`StoreReader`], [`audit_store`] or
//! [`salvage`]; nothing writes to it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use heso_core::receipt::report::{group, InputReceipt};
use heso_core::receipt::{DECISIONS, KINDS, VERBS};
use serde_json::Value;

use crate::inputs::split_receipts;
use crate::project::resolve_data_dir;
use crate::store::{
    audit_store, salvage, Clock, ExportScope, ListFilter, Snapshot, StoreError, StoreOptions,
    StoreReader, StoredReceipt, DB_FILE,
};
use crate::verification::{default_workers, resolve_pinning, VerifyRequest};

pub use crate::policy_runs::RunError;

/// How many hex characters of a hash text output shows (cli.md §1.5).
const SHOWN_HASH_CHARS: usize = 12;
/// The shortest and longest receipt hash prefix (cli.md §1.5).
const PREFIX_LENGTHS: std::ops::RangeInclusive<usize> = 6..=64;
/// The file of a per-session export that holds the operator's public key.
pub const OPERATOR_KEY_FILE: &str = "operator.pub";

/// What a store command printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct StoreRunOutcome {
    /// 0 success, 1 the check found a failure, 2 input or environment error (then `error` is set).
    pub exit_code: u8,
    /// The text report for stdout, one line each.
    pub lines: Vec<String>,
    /// Bytes for stdout, written as they are (`show`, `log --json`, an export to stdout).
    pub data: Vec<u8>,
    /// Status lines for stderr (suppressed by `--quiet`).
    pub status: Vec<String>,
    /// The JSON `result` of cli.md §4 (null when the command has none or could not run).
    pub result: Value,
    /// The one-line error of an exit-2 outcome: `(code, message)`.
    pub error: Option<RunError>,
    /// Warnings to print once (and put in the JSON envelope).
    pub warnings: Vec<String>,
}

impl StoreRunOutcome {
    /// An error: exit 2 with nothing else.
    fn failed(error: RunError) -> Self {
        Self {
            exit_code: 2,
            error: Some(error),
            ..Self::default()
        }
    }
}

/// Where the project store is: the project (`-C`, `HESO_PROJECT_ROOT` or discovery) and
/// `HESO_DATA_DIR`.
#[derive(Debug, Clone, Default)]
pub struct StoreLocation {
    /// The project root, when one was found.
    pub project_root: Option<PathBuf>,
    /// `HESO_DATA_DIR`.
    pub env_data_dir: Option<PathBuf>,
    /// The current directory, for messages.
    pub cwd: PathBuf,
}

impl StoreLocation {
    /// The project's data directory (storage.md §1.1); exit 2 without a project.
    pub fn data_dir(&self) -> Result<PathBuf, RunError> {
        let root = self
            .project_root
            .as_deref()
            .ok_or_else(|| ("no-project", no_project_message(&self.cwd)))?;
        resolve_data_dir(root, self.env_data_dir.as_deref()).map_err(|e| ("config", e.to_string()))
    }

    /// The data directory, once it is known to hold a store.
    pub fn existing_data_dir(&self) -> Result<PathBuf, RunError> {
        let dir = self.data_dir()?;
        let db = dir.join(DB_FILE);
        if !db.exists() {
            return Err((
                "not-found",
                format!(
                    "no audit store at `{}`: this project has recorded no receipts yet; record some first, or point `HESO_DATA_DIR` or `[settings] data_dir` at the data directory that holds `{DB_FILE}`",
                    self.shown(&db)
                ),
            ));
        }
        Ok(dir)
    }

    /// A read-only connection to the project store.
    pub fn reader(&self) -> Result<StoreReader, RunError> {
        let dir = self.existing_data_dir()?;
        StoreReader::open(&dir, &StoreOptions::default()).map_err(|e| store_failure(&e))
    }

    /// A path as people see it: relative to the current directory when it lies below it.
    pub fn shown(&self, path: &Path) -> String {
        match path.strip_prefix(&self.cwd) {
            Ok(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
            _ => path.display().to_string(),
        }
    }
}

/// The message of a command that needs a project and found none (cli.md §1.3).
fn no_project_message(cwd: &Path) -> String {
    format!(
        "no heso.toml in {} or any parent directory; run `heso init` or pass -C DIR",
        cwd.display()
    )
}

/// The error of an input that is neither a file nor, without a project store, a receipt hash.
pub fn not_an_input(input: &str, cwd: &Path) -> String {
    format!(
        "no such file and not a receipt hash: `{input}` (receipt hashes are looked up in the project store, and there is no heso.toml in {} or any parent directory); pass -C DIR",
        cwd.display()
    )
}

/// Whether `text` can be a receipt hash prefix: 6 to 64 hex characters.
pub fn is_hash_prefix(text: &str) -> bool {
    PREFIX_LENGTHS.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A store error as a command's one-line error.
pub fn store_failure(error: &StoreError) -> RunError {
    match error {
        StoreError::Missing { .. } | StoreError::NotFound(_) => ("not-found", error.to_string()),
        StoreError::BadPrefix(_) => ("usage", error.to_string()),
        StoreError::Ambiguous { prefix, candidates } => {
            let listed: Vec<String> = candidates.iter().map(|c| format!("`{c}…`")).collect();
            (
                "ambiguous",
                format!(
                    "receipt hash `{prefix}` is ambiguous: it matches {}; give more characters",
                    listed.join(", ")
                ),
            )
        }
        _ => ("engine", error.to_string()),
    }
}

/// The stored receipt a hash prefix names (cli.md §1.5): an unknown prefix is `not-found`, one
/// that matches several receipts `ambiguous`, listing up to 10 of them.
pub fn lookup_receipt(reader: &mut StoreReader, prefix: &str) -> Result<StoredReceipt, RunError> {
    reader.receipt(prefix).map_err(|error| match error {
        StoreError::NotFound(_) | StoreError::BadPrefix(_) => (
            "not-found",
            format!("no such file and not a receipt hash: `{prefix}`"),
        ),
        other => store_failure(&other),
    })
}

/// A stored receipt as verification input, named `heso.db#<id>` as `audit verify` names it.
pub fn input_of(stored: &StoredReceipt) -> InputReceipt {
    InputReceipt {
        source: format!("{DB_FILE}#{}", stored.id),
        bytes: stored.body.clone(),
    }
}

/// Every receipt of the store, as `verify` reads a whole store (cli.md §2.3): the standalone
/// receipts in append order, then each session in `seq` order, sessions ordered by id. One read
/// transaction, so the set is consistent while agents append.
pub fn store_inputs(reader: &mut StoreReader) -> Result<Vec<InputReceipt>, StoreError> {
    reader.snapshot(|snapshot| {
        let mut standalone = Vec::new();
        let mut sessions: BTreeMap<String, Vec<(u64, InputReceipt)>> = BTreeMap::new();
        snapshot.for_each(&mut |stored| {
            let input = InputReceipt {
                source: format!("{DB_FILE}#{}", stored.id),
                bytes: stored.body,
            };
            match (stored.session_id, stored.seq) {
                (Some(session), Some(seq)) => {
                    sessions.entry(session).or_default().push((seq, input));
                }
                _ => standalone.push(input),
            }
            Ok(())
        })?;
        let mut inputs = standalone;
        for (_, mut members) in sessions {
            members.sort_by_key(|(seq, _)| *seq);
            inputs.extend(members.into_iter().map(|(_, input)| input));
        }
        Ok(inputs)
    })
}

// ---------------------------------------------------------------------------- audit verify

/// `audit verify` (cli.md §3.3): every chain and standalone receipt of the project store, pinned
/// as `verify` pins, plus the store's integrity checks. The text is `verify`'s with one
/// `store: <check> failed: <detail>` line per failed check before the summary; the JSON result is
/// `verify`'s with `store_checks`. Exit 0 only when every receipt, chain and check passed.
pub fn run_audit_verify(
    request: &VerifyRequest,
    all: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> StoreRunOutcome {
    if request.no_pin && !(request.pubkeys.is_empty() && request.approver_pubkeys.is_empty()) {
        let error = crate::verification::VerifyError::PinConflict;
        return StoreRunOutcome::failed((error.code(), error.to_string()));
    }
    let location = request.store_location();
    let data_dir = match location.existing_data_dir() {
        Ok(dir) => dir,
        Err(error) => return StoreRunOutcome::failed(error),
    };
    let (pinning, warnings) = match resolve_pinning(request) {
        Ok(resolved) => resolved,
        Err(error) => return StoreRunOutcome::failed((error.code(), error.to_string())),
    };
    let audit = match audit_store(&data_dir, pinning, default_workers(), progress) {
        Ok(audit) => audit,
        Err(error) => return StoreRunOutcome::failed(store_failure(&error)),
    };
    let mut lines = audit.report.text_lines(all);
    let summary = lines.pop().unwrap_or_default();
    let store_lines = audit.store_lines();
    let failed_checks = store_lines.len();
    lines.extend(store_lines);
    lines.push(match (failed_checks, audit.report.ok()) {
        (0, _) => summary,
        (n, true) => format!(
            "fail: {n} store check{} failed; {}",
            plural(n),
            summary.strip_prefix("ok: ").unwrap_or(&summary)
        ),
        (n, false) => format!("{summary}; {n} store check{} failed", plural(n)),
    });
    let mut result = audit.report.to_json(all);
    if let Value::Object(members) = &mut result {
        members.insert("store_checks".into(), audit.store_checks_json());
    }
    StoreRunOutcome {
        exit_code: audit.exit_code(),
        lines,
        result,
        warnings,
        ..StoreRunOutcome::default()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

// ---------------------------------------------------------------------------- export

/// What `export` / `audit export` writes (cli.md §2.6, §3.3; storage.md §13).
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// Where the store is.
    pub location: StoreLocation,
    /// `-o FILE`; `None` writes to the `stdout` writer.
    pub output: Option<PathBuf>,
    /// `--session S` (repeatable): only these sessions, each in `seq` order.
    pub sessions: Vec<String>,
    /// `--per-session DIR`.
    pub per_session: Option<PathBuf>,
    /// `--salvage` (`audit export` only): copy what is readable out of a damaged store.
    pub salvage: bool,
}

/// `export` and `audit export`: JSONL of the exact stored bytes. A full export (append order),
/// the sessions named (each in `seq` order), or one file per session and per standalone
/// receipt plus `operator.pub`. `--salvage` reads a damaged store row by row and exits 1 when
/// rows were lost. Files are written under a temporary name and renamed when complete.
pub fn run_export(request: &ExportRequest, stdout: &mut dyn Write) -> StoreRunOutcome {
    let conflict = |message: &str| StoreRunOutcome::failed(("usage", message.to_owned()));
    if request.output.is_some() && request.per_session.is_some() {
        return conflict("`-o` and `--per-session` cannot be combined; `--per-session` writes one file per session into DIR");
    }
    if request.salvage && (request.per_session.is_some() || !request.sessions.is_empty()) {
        return conflict("`--salvage` copies every readable receipt into one file; it cannot be combined with `--session` or `--per-session`");
    }
    if let Some(output) = &request.output {
        if output.is_dir() {
            return StoreRunOutcome::failed((
                "usage",
                format!(
                    "`{}` is a directory; give a file name to `-o`, or use `--per-session DIR`",
                    output.display()
                ),
            ));
        }
    }
    let result = if request.salvage {
        salvage_export(request, stdout)
    } else if let Some(dir) = &request.per_session {
        per_session_export(request, dir)
    } else {
        jsonl_export(request, stdout)
    };
    result.unwrap_or_else(StoreRunOutcome::failed)
}

/// Runs `work` on `-o FILE` (written under a temporary name, renamed when complete) or on
/// `stdout`.
fn with_output<T>(
    output: Option<&Path>,
    stdout: &mut dyn Write,
    work: impl FnOnce(&mut dyn Write) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if let Some(path) = output {
        return write_atomically(path, work);
    }
    let value = work(stdout)?;
    stdout.flush().map_err(|source| StoreError::Io {
        path: "standard output".into(),
        source,
    })?;
    Ok(value)
}

/// Writes `path` through `work`: into a temporary file beside it, renamed over `path` only once
/// every byte is written, so an interrupted export never leaves a partial file under its name.
fn write_atomically<T>(
    path: &Path,
    work: impl FnOnce(&mut dyn Write) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Io { path, source }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.partial"));
    let file = File::create(&temp).map_err(io(path))?;
    let mut out = BufWriter::new(file);
    let written = work(&mut out).and_then(|value| {
        out.flush().map_err(io(path))?;
        Ok(value)
    });
    drop(out);
    let renamed = written.and_then(|value| {
        std::fs::rename(&temp, path).map_err(io(path))?;
        Ok(value)
    });
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

fn receipts_count(n: u64) -> String {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    format!("{} receipt{}", group(n), plural(n))
}

fn jsonl_export(
    request: &ExportRequest,
    stdout: &mut dyn Write,
) -> Result<StoreRunOutcome, RunError> {
    let location = &request.location;
    let mut reader = location.reader()?;
    let scope = if request.sessions.is_empty() {
        ExportScope::Full
    } else {
        let known = reader.sessions().map_err(|e| store_failure(&e))?;
        if let Some(unknown) = request
            .sessions
            .iter()
            .find(|s| !known.iter().any(|k| &k.session_id == *s))
        {
            return Err((
                "not-found",
                format!("no session `{unknown}` in the store (nothing was written)"),
            ));
        }
        ExportScope::Sessions(request.sessions.clone())
    };
    let output = request.output.as_deref();
    let summary = with_output(output, stdout, |out| reader.export(&scope, out))
        .map_err(|e| store_failure(&e))?;
    let target = output.map_or_else(String::new, |path| format!(" to {}", location.shown(path)));
    Ok(StoreRunOutcome {
        status: vec![format!(
            "exported {}{target}",
            receipts_count(summary.receipts)
        )],
        ..StoreRunOutcome::default()
    })
}

fn salvage_export(
    request: &ExportRequest,
    stdout: &mut dyn Write,
) -> Result<StoreRunOutcome, RunError> {
    let location = &request.location;
    let data_dir = location.existing_data_dir()?;
    let output = request.output.as_deref();
    let report = with_output(output, stdout, |out| salvage(&data_dir, out)).map_err(|error| {
        match error {
            StoreError::Corrupt { path, detail } => (
                "engine",
                format!(
                    "cannot salvage `{}`: {detail}; nothing readable was found (nothing was written)",
                    location.shown(&path)
                ),
            ),
            other => store_failure(&other),
        }
    })?;
    let target = output.map_or_else(String::new, |path| format!(" to {}", location.shown(path)));
    let mut status = vec![format!(
        "salvaged {}{target}; {} lost",
        receipts_count(report.copied),
        group(usize::try_from(report.lost).unwrap_or(usize::MAX))
    )];
    for row in &report.lost_rows {
        status.push(format!("lost receipt {}: {}", row.id, row.reason));
    }
    let listed = u64::try_from(report.lost_rows.len()).unwrap_or(u64::MAX);
    if report.lost > listed {
        status.push(format!("and {} more lost", report.lost - listed));
    }
    Ok(StoreRunOutcome {
        exit_code: u8::from(!report.complete()),
        status,
        ..StoreRunOutcome::default()
    })
}

/// A session id as a file name (cli.md §2.6): every byte outside `[A-Za-z0-9._-]` becomes
/// `%XX` (uppercase hex of its UTF-8 bytes), so no id names a path outside the directory and no
/// two ids share a name.
pub fn escape_file_name(id: &str) -> String {
    let mut name = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
            name.push(char::from(byte));
        } else {
            let _ = write!(name, "%{byte:02X}");
        }
    }
    name
}

/// What a per-session export wrote.
#[derive(Debug, Default)]
struct PerSession {
    receipts: u64,
    session_files: usize,
    standalone_files: usize,
    operator_key: bool,
}

fn per_session_export(request: &ExportRequest, dir: &Path) -> Result<StoreRunOutcome, RunError> {
    let location = &request.location;
    let mut reader = location.reader()?;
    std::fs::create_dir_all(dir).map_err(|e| {
        (
            "engine",
            format!(
                "cannot create `{}`: {e} (nothing was written)",
                dir.display()
            ),
        )
    })?;
    let mut unknown = None;
    let written = reader
        .snapshot(|snapshot| {
            let sessions = snapshot.sessions()?;
            if let Some(missing) = request
                .sessions
                .iter()
                .find(|s| !sessions.iter().any(|k| &k.session_id == *s))
            {
                unknown = Some(missing.clone());
                return Ok(PerSession::default());
            }
            write_per_session(snapshot, dir, &request.sessions, &sessions)
        })
        .map_err(|e| store_failure(&e))?;
    if let Some(missing) = unknown {
        return Err((
            "not-found",
            format!("no session `{missing}` in the store (nothing was written)"),
        ));
    }
    let mut parts = vec![format!(
        "{} session file{}",
        group(written.session_files),
        plural(written.session_files)
    )];
    if written.standalone_files > 0 {
        parts.push(format!(
            "{} standalone receipt file{}",
            group(written.standalone_files),
            plural(written.standalone_files)
        ));
    }
    if written.operator_key {
        parts.push(OPERATOR_KEY_FILE.to_owned());
    }
    Ok(StoreRunOutcome {
        status: vec![format!(
            "exported {} to {}: {}",
            receipts_count(written.receipts),
            location.shown(dir),
            parts.join(", ")
        )],
        ..StoreRunOutcome::default()
    })
}

fn write_per_session(
    snapshot: &Snapshot<'_>,
    dir: &Path,
    only: &[String],
    sessions: &[crate::store::SessionInfo],
) -> Result<PerSession, StoreError> {
    let mut written = PerSession::default();
    for info in sessions
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.session_id))
    {
        let path = dir.join(format!("{}.jsonl", escape_file_name(&info.session_id)));
        let count = write_atomically(&path, |out| {
            let mut count = 0;
            snapshot.for_each_in_session(&info.session_id, &mut |stored| {
                write_line(out, &path, &stored.body)?;
                count += 1;
                Ok(())
            })?;
            Ok(count)
        })?;
        written.receipts += count;
        written.session_files += 1;
    }
    if only.is_empty() {
        let mut standalone = Vec::new();
        snapshot.for_each(&mut |stored| {
            if stored.session_id.is_none() {
                standalone.push(stored);
            }
            Ok(())
        })?;
        for stored in standalone {
            let name = format!("standalone-{}.json", escape_file_name(&stored.action_hash));
            let path = dir.join(name);
            write_atomically(&path, |out| write_line(out, &path, &stored.body))?;
            written.receipts += 1;
            written.standalone_files += 1;
        }
    }
    // The key that signed the newest receipt: the one a verifier of this export needs.
    let newest = snapshot.list(&ListFilter {
        limit: Some(1),
        ..ListFilter::default()
    })?;
    let key = newest
        .first()
        .and_then(StoredReceipt::json)
        .and_then(|body| {
            body.get("content")?
                .get("agent_identity")?
                .as_str()
                .map(str::to_owned)
        });
    if let Some(key) = key {
        let path = dir.join(OPERATOR_KEY_FILE);
        write_atomically(&path, |out| write_line(out, &path, key.as_bytes()))?;
        written.operator_key = true;
    }
    Ok(written)
}

fn write_line(out: &mut dyn Write, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    out.write_all(bytes)
        .and_then(|()| out.write_all(b"\n"))
        .map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })
}

// ---------------------------------------------------------------------------- show

/// `show REF [--raw]` (cli.md §2.4): the receipt a hash prefix names in the store, or the one
/// receipt of a file, as JSON with 2-space indentation in stored member order; `--raw` gives the
/// exact bytes. Either way followed by one newline.
pub fn run_show(location: &StoreLocation, reference: &str, raw: bool) -> StoreRunOutcome {
    match show_bytes(location, reference) {
        Ok(bytes) => {
            let data = if raw {
                bytes
            } else {
                match heso_core::json::parse_strict(&bytes) {
                    Ok(value) => serde_json::to_vec_pretty(&value).unwrap_or(bytes),
                    Err(error) => {
                        return StoreRunOutcome::failed((
                            "usage",
                            format!("`{reference}` is not a JSON receipt ({error}); print its bytes with `--raw`"),
                        ))
                    }
                }
            };
            let mut data = data;
            data.push(b'\n');
            StoreRunOutcome {
                data,
                ..StoreRunOutcome::default()
            }
        }
        Err(error) => StoreRunOutcome::failed(error),
    }
}

fn show_bytes(location: &StoreLocation, reference: &str) -> Result<Vec<u8>, RunError> {
    let path = Path::new(reference);
    if path.is_dir() {
        return Err((
            "usage",
            format!("`{reference}` is a directory; show takes one receipt (verify a directory with `heso verify`)"),
        ));
    }
    if path.exists() {
        let bytes = std::fs::read(path)
            .map_err(|e| ("not-found", format!("cannot read `{reference}`: {e}")))?;
        let mut receipts = split_receipts(reference, &bytes);
        return match (receipts.pop(), receipts.is_empty()) {
            (Some(receipt), true) => Ok(receipt.bytes),
            (last, _) => {
                let count = receipts.len() + usize::from(last.is_some());
                Err((
                    "usage",
                    format!("`{reference}` holds {count} receipts; show takes a file with one (list them with `heso verify --all {reference}`)"),
                ))
            }
        };
    }
    if !is_hash_prefix(reference) {
        return Err((
            "not-found",
            format!("no such file and not a receipt hash: `{reference}`"),
        ));
    }
    let mut reader = match location.reader() {
        Ok(reader) => reader,
        Err(("no-project", _)) => {
            return Err(("no-project", not_an_input(reference, &location.cwd)))
        }
        Err(error) => return Err(error),
    };
    lookup_receipt(&mut reader, reference).map(|stored| stored.body)
}

// ---------------------------------------------------------------------------- log

/// What `log` lists (cli.md §2.5).
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    /// Where the store is.
    pub location: StoreLocation,
    /// `-n N`: the last N receipts (`None` = all, the `-n 0` of the command line).
    pub limit: Option<usize>,
    /// `--session`.
    pub session: Option<String>,
    /// `--workflow`.
    pub workflow: Option<String>,
    /// `--verb`.
    pub verb: Option<String>,
    /// `--decision`.
    pub decision: Option<String>,
    /// `--kind`.
    pub kind: Option<String>,
    /// `--since TIME`: an RFC 3339 UTC time, a date, or an age such as `2h`.
    pub since: Option<String>,
    /// `--json`: the exact stored bytes, one receipt per line, in `data`.
    pub json: bool,
    /// Only receipts appended after this one (`--follow` polls with the last id it printed).
    pub after_id: Option<i64>,
}

/// One page of `log`: the outcome and the id to poll after for `--follow`.
#[derive(Debug, Clone)]
pub struct LogPage {
    /// Lines (text) or data (`--json`), oldest first.
    pub outcome: StoreRunOutcome,
    /// The highest receipt id listed so far (the request's `after_id` when nothing is new).
    pub last_id: Option<i64>,
}

/// The columns of a `log` line that are padded (every one but the rule).
pub const LOG_PADDED_COLUMNS: usize = 6;

/// `log` (cli.md §2.5): the last `limit` receipts that pass the filters, oldest first, one line
/// each — `captured_at`, decision (or lifecycle kind), verb, tool, `session#seq` or
/// `standalone`, hash, rule — in columns two spaces apart. `widths` holds the column widths so
/// far; they only grow, so the lines of `--follow` stay aligned with the first page.
pub fn run_log(request: &LogRequest, widths: &mut Vec<usize>) -> LogPage {
    let failed = |error| LogPage {
        outcome: StoreRunOutcome::failed(error),
        last_id: request.after_id,
    };
    let filter = match log_filter(request) {
        Ok(filter) => filter,
        Err(error) => return failed(error),
    };
    let mut reader = match request.location.reader() {
        Ok(reader) => reader,
        Err(error) => return failed(error),
    };
    let mut receipts = match reader.list(&filter) {
        Ok(receipts) => receipts,
        Err(error) => return failed(store_failure(&error)),
    };
    let last_id = receipts.first().map(|r| r.id).or(request.after_id);
    receipts.reverse();
    let mut outcome = StoreRunOutcome::default();
    if request.json {
        for stored in &receipts {
            outcome.data.extend_from_slice(&stored.body);
            outcome.data.push(b'\n');
        }
    } else {
        let rows: Vec<[String; LOG_PADDED_COLUMNS + 1]> = receipts.iter().map(log_cells).collect();
        widths.resize(LOG_PADDED_COLUMNS, 0);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row.iter()) {
                *width = (*width).max(cell.chars().count());
            }
        }
        outcome.lines = rows.iter().map(|row| log_line(row, widths)).collect();
    }
    LogPage { outcome, last_id }
}

fn log_filter(request: &LogRequest) -> Result<ListFilter, RunError> {
    let checked = |flag: &str, value: &Option<String>, known: &[&str]| match value {
        Some(value) if !known.contains(&value.as_str()) => {
            let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            Err((
                "usage",
                format!(
                    "unknown {flag} `{value}`; expected one of {}",
                    expected.join(", ")
                ),
            ))
        }
        _ => Ok(value.clone()),
    };
    let since = match &request.since {
        Some(text) => Some(parse_since(text, SystemTime::now())?),
        None => None,
    };
    Ok(ListFilter {
        session_id: request.session.clone(),
        workflow: request.workflow.clone(),
        verb: checked("verb", &request.verb, VERBS)?,
        decision: checked("decision", &request.decision, DECISIONS)?,
        kind: checked("kind", &request.kind, KINDS)?,
        since,
        after_id: request.after_id,
        limit: request.limit,
    })
}

/// The cells of one `log` line.
fn log_cells(stored: &StoredReceipt) -> [String; LOG_PADDED_COLUMNS + 1] {
    let body = stored.json();
    let content = body.as_ref().and_then(|b| b.get("content"));
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let captured_at = text(content.and_then(|c| c.get("captured_at")))
        .unwrap_or_else(|| stored.created_at.clone());
    let verb = text(
        content
            .and_then(|c| c.get("action"))
            .and_then(|a| a.get("verb")),
    );
    let rule = text(
        content
            .and_then(|c| c.get("policy"))
            .and_then(|p| p.get("rule_id")),
    );
    let what = if stored.kind == "action" {
        stored.decision.clone()
    } else {
        stored.kind.clone()
    };
    let place = match (&stored.session_id, stored.seq) {
        (Some(session), Some(seq)) => format!("{session}#{seq}"),
        _ => "standalone".to_owned(),
    };
    let hash: String = stored.action_hash.chars().take(SHOWN_HASH_CHARS).collect();
    [
        to_the_second(&captured_at),
        what,
        verb.unwrap_or_else(|| "-".to_owned()),
        stored.tool_name.clone(),
        place,
        format!("{hash}…"),
        rule.unwrap_or_default(),
    ]
}

fn log_line(cells: &[String; LOG_PADDED_COLUMNS + 1], widths: &[usize]) -> String {
    let mut line = String::new();
    for (cell, width) in cells.iter().zip(widths) {
        let _ = write!(line, "{cell:<width$}  ");
    }
    if let Some(rule) = cells.last() {
        line.push_str(rule);
    }
    line.trim_end().to_owned()
}

/// `2026-11-24T10:02:03.123Z` → `2026-11-24T10:02:03Z` (cli.md §1.5: times to the second).
fn to_the_second(time: &str) -> String {
    match (time.get(..19), time.get(19..20)) {
        (Some(seconds), Some(".")) if time.ends_with('Z') => format!("{seconds}Z"),
        _ => time.to_owned(),
    }
}

/// `--since TIME` in the store's time format (`2026-11-24T10:00:00.000Z`): an RFC 3339 UTC time
/// (`2026-11-24T10:00:00Z`, `…10:00Z`, fractions allowed, `Z` or `+00:00` or nothing), a date
/// (`2026-11-24`), or an age before `now` (`90s`, `30m`, `2h`, `7d`).
pub fn parse_since(text: &str, now: SystemTime) -> Result<String, RunError> {
    let bad = || {
        (
            "usage",
            format!("`--since {text}` is not a time; give a UTC time such as `2026-11-24T10:00:00Z`, a date such as `2026-11-24`, or an age such as `30m`, `2h` or `7d`"),
        )
    };
    if let Some(age) = parse_age(text) {
        let then = now.checked_sub(age).ok_or_else(bad)?;
        return Ok(Clock::from_fn(move || then).now().store_time());
    }
    let trimmed = text
        .strip_suffix(['Z', 'z'])
        .or_else(|| text.strip_suffix("+00:00"))
        .unwrap_or(text);
    let (date, time) = match trimmed.split_once(['T', 't', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (trimmed, None),
    };
    let numbers = |part: &str, lengths: &[usize]| -> Option<Vec<u32>> {
        let pieces: Vec<&str> = part.split(['-', ':']).collect();
        (pieces.len() == lengths.len()
            && pieces
                .iter()
                .zip(lengths)
                .all(|(p, n)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit())))
        .then(|| pieces.iter().filter_map(|p| p.parse().ok()).collect())
    };
    let day = numbers(date, &[4, 2, 2]).ok_or_else(bad)?;
    if !matches!(day.as_slice(), [_, 1..=12, 1..=31]) {
        return Err(bad());
    }
    let Some(time) = time else {
        return Ok(format!("{date}T00:00:00.000Z"));
    };
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, fraction),
        None => (time, ""),
    };
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || (time.contains('.') && fraction.is_empty())
    {
        return Err(bad());
    }
    let (hms, clock) = match numbers(clock, &[2, 2, 2]) {
        Some(hms) => (hms, clock.to_owned()),
        None if fraction.is_empty() => {
            let hm = numbers(clock, &[2, 2]).ok_or_else(bad)?;
            (
                vec![
                    hm.first().copied().unwrap_or(0),
                    hm.get(1).copied().unwrap_or(0),
                    0,
                ],
                format!("{clock}:00"),
            )
        }
        None => return Err(bad()),
    };
    if !matches!(hms.as_slice(), [0..=23, 0..=59, 0..=60]) {
        return Err(bad());
    }
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    Ok(format!("{date}T{clock}.{millis}Z"))
}

/// `90s`, `30m`, `2h`, `7d`.
fn parse_age(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let digits = text.get(..text.len() - 1)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count: u64 = digits.parse().ok()?;
    count.checked_mul(seconds).map(Duration::from_secs)
}

#[cfg(test)]
mod tests;
