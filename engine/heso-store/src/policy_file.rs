//! The policy file of a long-lived engine handle: cached, reloaded on change (policy.md §9).
//!
//! Before each evaluation the handle `stat`s `heso.toml`. An unchanged file that was read well
//! after its last modification is trusted without reading it; anything else is read and hashed,
//! and only new bytes are parsed. A file that does not load breaks the handle: every caller gets
//! the error, never the last good policy, until an edit loads cleanly.
//!
//! The cache is a small state behind a mutex. A loaded policy is handed out as an `Arc`, so a
//! reload swaps in a new one while evaluations already running finish on the old one.

use std::fmt;
use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use heso_core::crypto::blake3_hex;
use heso_core::policy::floors::FloorViolation;
use heso_core::policy::load::{load_policy_detailed, LoadFailure, LoadedPolicy, PolicyIssue};

use crate::scaffold::POLICY_FILE;

/// How long after its last modification a file must have been read before its `stat` alone is
/// trusted (policy.md §9). A file read sooner may have been edited again within the same clock
/// tick without changing size, so it is hashed again on the next call, as git does for racily
/// clean files.
const SETTLE_NANOS: i128 = 2_000_000_000;

/// The issue code of a policy file that does not exist (any more).
const CODE_NOT_FOUND: &str = "not-found";
/// The issue code of a policy file that exists but cannot be read.
const CODE_UNREADABLE: &str = "unreadable";

/// The clock a handle compares file times with. Injectable so tests can place "now" exactly.
type Clock = Box<dyn Fn() -> SystemTime + Send + Sync>;

/// The policy file of an engine handle, reloaded when it changes (policy.md §9).
///
/// `Send + Sync`: one handle serves every thread of the process.
pub struct PolicyFile {
    /// Where `heso.toml` is.
    path: PathBuf,
    /// How the file is named in messages (its file name, such as `heso.toml`).
    shown: String,
    /// The system clock, or a test's.
    clock: Clock,
    /// What was last read and what it loaded to.
    cache: Mutex<Cache>,
}

/// Which exception a broken policy file raises in the SDK (sdk.md §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyErrorKind {
    /// `PolicyParseError`: the file is missing, unreadable, or has syntax or validation errors.
    Parse,
    /// `PolicyFloorError`: the file is otherwise valid, but a rule breaks a floor (policy.md §8).
    Floor,
}

impl PolicyErrorKind {
    /// `parse` or `floor`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Parse => "parse",
            Self::Floor => "floor",
        }
    }
}

/// Why the policy file cannot be used: a broken handle's error, repeated on every call until an
/// edit loads cleanly.
///
/// Its `Display` is the one-line message of the SDK's exception: the first issue as
/// `path:line:column: message`, with ` (and N more)` when there are more.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.detail.message)]
pub struct PolicyFileError {
    /// Shared, so handing the same error to every blocked call copies a pointer.
    detail: Arc<ErrorDetail>,
}

/// What a [`PolicyFileError`] carries.
#[derive(Debug, PartialEq, Eq)]
struct ErrorDetail {
    /// Parse or floor.
    kind: PolicyErrorKind,
    /// Every issue, in file order; never empty.
    issues: Vec<PolicyIssue>,
    /// The first rule that breaks a floor, for a floor error.
    floor: Option<FloorViolation>,
    /// The one-line message.
    message: String,
    /// The one-line warning for stderr, without the `heso: warning: ` prefix.
    warning: String,
}

impl PolicyFileError {
    /// Parse or floor: which exception the SDK raises.
    pub fn kind(&self) -> PolicyErrorKind {
        self.detail.kind
    }

    /// The code of the first issue (policy.md §10, or `not-found` / `unreadable` for a file that
    /// cannot be read).
    pub fn code(&self) -> &'static str {
        self.first_issue()
            .map_or(CODE_UNREADABLE, |issue| issue.code)
    }

    /// Every issue, in file order. A missing or unreadable file has one issue about the whole
    /// file (line and column 0).
    pub fn issues(&self) -> &[PolicyIssue] {
        &self.detail.issues
    }

    /// The first issue, whose position and code the SDK's `PolicyParseError` carries.
    pub fn first_issue(&self) -> Option<&PolicyIssue> {
        self.detail.issues.first()
    }

    /// For a floor error, the first rule that breaks a floor (its id and verb are the SDK's
    /// `PolicyFloorError.rule_id` and `.verb`).
    pub fn floor_violation(&self) -> Option<&FloorViolation> {
        self.detail.floor.as_ref()
    }

    /// The warning line for stderr, without the `heso: warning: ` prefix the caller adds: the
    /// message and what it means for gated calls.
    pub fn warning(&self) -> &str {
        &self.detail.warning
    }

    /// The error of a file that did not load.
    fn from_failure(failure: LoadFailure) -> Self {
        let LoadFailure { issues, floors } = failure;
        let kind = if floors.is_empty() {
            PolicyErrorKind::Parse
        } else {
            PolicyErrorKind::Floor
        };
        let first = issues
            .first()
            .map_or_else(|| "the policy did not load".to_owned(), ToString::to_string);
        let message = match issues.len() {
            0 | 1 => first,
            more => format!("{first} (and {} more)", more - 1),
        };
        let warning = format!("{message}; every gated call is blocked until the file loads");
        Self::new(ErrorDetail {
            kind,
            issues,
            floor: floors.into_iter().next(),
            message,
            warning,
        })
    }

    /// The error of a file that cannot be read. `seen` says whether the handle ever found it, so
    /// a file deleted under a running process reads "was removed", and one that never existed
    /// "not found".
    fn from_io(shown: &str, error: &io::Error, seen: bool) -> Self {
        let (code, message, warning) = if error.kind() == io::ErrorKind::NotFound {
            let init = "run `heso init` to write a starter policy";
            let (message, warning) = if seen {
                (
                    format!("{shown} was removed; restore it, or {init}"),
                    format!("{shown} was removed; every gated call is blocked until it is restored ({init})"),
                )
            } else {
                (
                    format!("{shown} not found; {init}"),
                    format!(
                        "{shown} not found; every gated call is blocked until it exists ({init})"
                    ),
                )
            };
            (CODE_NOT_FOUND, message, warning)
        } else {
            let message = format!("cannot read {shown}: {error}");
            let warning = format!("{message}; every gated call is blocked until it can be read");
            (CODE_UNREADABLE, message, warning)
        };
        Self::new(ErrorDetail {
            kind: PolicyErrorKind::Parse,
            issues: vec![PolicyIssue {
                code,
                path: shown.to_owned(),
                line: 0,
                column: 0,
                message: message.clone(),
            }],
            floor: None,
            message,
            warning,
        })
    }

    fn new(detail: ErrorDetail) -> Self {
        Self {
            detail: Arc::new(detail),
        }
    }
}

/// What `stat` says about the file: when any part changes, the file may have changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    /// Modification time, in nanoseconds since the Unix epoch.
    mtime_ns: i128,
    /// Size in bytes.
    size: u64,
    /// Device and inode on Unix; zero elsewhere (the file index of Windows needs an unstable
    /// API, so there the creation time below stands in for it).
    file_id: (u64, u64),
    /// Status-change time on Unix, creation time elsewhere, in nanoseconds. Not required by
    /// policy.md §9, but it catches in-place edits that restore the old mtime (`cp -p`,
    /// `touch -r`), at the cost of an extra hash now and then.
    change_ns: i128,
}

impl Stamp {
    #[cfg(unix)]
    fn of(metadata: &Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        let nanos =
            |seconds: i64, nanos: i64| i128::from(seconds) * 1_000_000_000 + i128::from(nanos);
        Self {
            mtime_ns: nanos(metadata.mtime(), metadata.mtime_nsec()),
            size: metadata.size(),
            file_id: (metadata.dev(), metadata.ino()),
            change_ns: nanos(metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    #[cfg(not(unix))]
    fn of(metadata: &Metadata) -> Self {
        Self {
            mtime_ns: metadata.modified().map_or(0, unix_nanos),
            size: metadata.len(),
            file_id: (0, 0),
            change_ns: metadata.created().map_or(0, unix_nanos),
        }
    }
}

/// A time as nanoseconds since the Unix epoch (negative before it).
fn unix_nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

/// The last read of the file: what `stat` said just before, and when.
#[derive(Debug, Clone, Copy)]
struct LastRead {
    /// `stat` taken before the bytes were read.
    stamp: Stamp,
    /// The clock, taken before that `stat`, in nanoseconds since the Unix epoch.
    read_at_ns: i128,
}

impl LastRead {
    /// Whether the file can be trusted unread: same `stat`, and read more than 2 s after its
    /// modification, so no same-size edit within one clock tick can hide behind the same mtime.
    fn vouches_for(&self, stamp: &Stamp) -> bool {
        self.stamp == *stamp && self.read_at_ns - self.stamp.mtime_ns > SETTLE_NANOS
    }
}

/// What the handle currently hands out.
#[derive(Debug, Clone)]
enum Outcome {
    /// Nothing read yet.
    Unread,
    /// The file loaded.
    Loaded(Arc<LoadedPolicy>),
    /// The file did not load: the handle is broken.
    Broken(PolicyFileError),
}

/// The small state behind the handle's mutex.
#[derive(Debug)]
struct Cache {
    /// The last read, or `None` when the file was not read or could not be.
    last_read: Option<LastRead>,
    /// The BLAKE3 hex of the bytes `outcome` came from, or `None` when it did not come from
    /// bytes.
    hash: Option<String>,
    /// What callers get.
    outcome: Outcome,
    /// The last policy that loaded: reused without parsing when the file returns to its bytes
    /// (an undone edit, a restored file). Never handed out while the handle is broken.
    last_good: Option<Arc<LoadedPolicy>>,
    /// Whether the file was ever found, for "was removed" versus "not found".
    seen: bool,
    /// Whether the current broken error's warning was taken.
    warning_taken: bool,
    /// How many times the file was read.
    reads: u64,
    /// How many times the file was parsed.
    parses: u64,
}

impl Cache {
    /// The result callers get for the current outcome.
    fn result(&self) -> Result<Arc<LoadedPolicy>, PolicyFileError> {
        match &self.outcome {
            Outcome::Loaded(loaded) => Ok(Arc::clone(loaded)),
            Outcome::Broken(error) => Err(error.clone()),
            // Unreachable after a call has run; refuse rather than hand out nothing.
            Outcome::Unread => Err(PolicyFileError::from_io(
                POLICY_FILE,
                &io::Error::other("the policy was not read yet"),
                false,
            )),
        }
    }

    /// Installs a new outcome. A broken error equal to the current one keeps its warning state,
    /// so the warning is reported once per distinct error; anything else resets it.
    fn set(&mut self, outcome: Outcome) {
        let same_error = matches!(
            (&self.outcome, &outcome),
            (Outcome::Broken(old), Outcome::Broken(new)) if old == new
        );
        if !same_error {
            self.warning_taken = false;
        }
        if let Outcome::Loaded(loaded) = &outcome {
            self.last_good = Some(Arc::clone(loaded));
        }
        self.outcome = outcome;
    }
}

impl PolicyFile {
    /// A handle on the policy file at `path` (normally `<project root>/heso.toml`). Nothing is
    /// read until the first [`PolicyFile::current`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_clock(path, SystemTime::now)
    }

    /// [`PolicyFile::new`] with another clock than the system's, for tests of the 2-second rule.
    pub fn with_clock(
        path: impl Into<PathBuf>,
        clock: impl Fn() -> SystemTime + Send + Sync + 'static,
    ) -> Self {
        let path = path.into();
        let shown = path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        Self {
            path,
            shown,
            clock: Box::new(clock),
            cache: Mutex::new(Cache {
                last_read: None,
                hash: None,
                outcome: Outcome::Unread,
                last_good: None,
                seen: false,
                warning_taken: false,
                reads: 0,
                parses: 0,
            }),
        }
    }

    /// The policy file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The policy in force for the next evaluation, reloading it first if the file changed
    /// (policy.md §9); call it before each evaluation.
    ///
    /// The file is `stat`ed every time, read only when the `stat` cannot vouch for it, and parsed
    /// only when its bytes are new. The `Arc` stays valid however the file changes afterwards.
    ///
    /// An error means the handle is broken: the file is missing, unreadable or does not load.
    /// The last good policy is not used; the caller fails closed. See
    /// [`PolicyFile::take_warning`] for the stderr warning.
    pub fn current(&self) -> Result<Arc<LoadedPolicy>, PolicyFileError> {
        // The clock before the stat, so "read more than 2 s after mtime" errs on the safe side.
        let read_at_ns = unix_nanos((self.clock)());
        // The stat runs outside the lock so callers do not queue behind each other's syscalls;
        // a stale stamp can only cause an extra read, never a missed change.
        let stamp = std::fs::metadata(&self.path).map(|metadata| Stamp::of(&metadata));
        let mut cache = self.lock();
        let stamp = match stamp {
            Ok(stamp) => stamp,
            Err(error) => return self.fail(&mut cache, &error),
        };
        if cache
            .last_read
            .is_some_and(|last_read| last_read.vouches_for(&stamp))
        {
            return cache.result();
        }
        // Reading and parsing under the lock: concurrent callers wait for one reload instead of
        // each parsing the same bytes.
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) => return self.fail(&mut cache, &error),
        };
        cache.reads += 1;
        cache.seen = true;
        let last_read = Some(LastRead { stamp, read_at_ns });
        let hash = blake3_hex(&bytes);
        if cache.hash.as_deref() == Some(hash.as_str()) {
            cache.last_read = last_read;
            return cache.result();
        }
        let reusable = cache
            .last_good
            .as_ref()
            .filter(|good| good.policy.policy_hash == hash)
            .map(Arc::clone);
        let outcome = if let Some(good) = reusable {
            Outcome::Loaded(good)
        } else {
            cache.parses += 1;
            match load_policy_detailed(&self.shown, &bytes) {
                Ok(loaded) => Outcome::Loaded(Arc::new(loaded)),
                Err(failure) => Outcome::Broken(PolicyFileError::from_failure(failure)),
            }
        };
        // INVARIANT: `last_read` and `hash` change together with `outcome`, after the parse,
        // so they always describe the bytes the outcome came from.
        cache.last_read = last_read;
        cache.hash = Some(hash);
        cache.set(outcome);
        cache.result()
    }

    /// The warning for stderr when the handle is broken and this error was not reported yet,
    /// without the `heso: warning: ` prefix; `None` otherwise. Each distinct error is returned
    /// once (a later, different error, or the same one after the file loaded in between, is
    /// returned again). The caller prints it; this crate never writes to stderr.
    pub fn take_warning(&self) -> Option<String> {
        let mut cache = self.lock();
        match &cache.outcome {
            Outcome::Broken(error) if !cache.warning_taken => {
                let warning = error.warning().to_owned();
                cache.warning_taken = true;
                Some(warning)
            }
            _ => None,
        }
    }

    /// How many times the file was parsed: it stays put while the file's bytes do not change.
    pub fn parse_count(&self) -> u64 {
        self.lock().parses
    }

    /// Breaks the handle with an I/O error: the file is gone or cannot be read. The next call
    /// reads it again, so a restored file is picked up at once.
    fn fail(
        &self,
        cache: &mut Cache,
        error: &io::Error,
    ) -> Result<Arc<LoadedPolicy>, PolicyFileError> {
        cache.last_read = None;
        cache.hash = None;
        let error = PolicyFileError::from_io(&self.shown, error, cache.seen);
        cache.set(Outcome::Broken(error.clone()));
        Err(error)
    }

    /// The cache, even after a panic elsewhere: every update installs a consistent state at
    /// once, so a poisoned lock holds nothing half-written.
    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for PolicyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyFile")
            .field("path", &self.path)
            .field("cache", &*self.lock())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use heso_core::policy::eval::evaluate;
    use heso_core::policy::model::Decision;
    use heso_core::policy::wire::action_from_json;
    use serde_json::json;

    use super::*;

    /// Allows tool calls.
    const ALLOW: &str =
        "default_decision = \"block\"\n[[rule]]\nid = \"a\"\norder = 1\nverb = \"tool_call\"\ndecision = \"allow\"\n";
    /// Blocks tool calls; the same size as `ALLOW`, so only content tells them apart.
    const BLOCK: &str =
        "default_decision = \"block\"\n[[rule]]\nid = \"a\"\norder = 1\nverb = \"tool_call\"\ndecision = \"block\"\n";
    /// `ALLOW` with a misspelt key.
    const TYPO: &str =
        "default_decision = \"block\"\n[[rule]]\nid = \"a\"\norder = 1\nverb = \"tool_call\"\ndecision = \"allow\"\nscoep = \"*\"\n";
    /// Allows deletes with no narrowing condition.
    const FLOOR: &str =
        "default_decision = \"block\"\n[[rule]]\nid = \"a\"\norder = 1\nverb = \"delete\"\ndecision = \"allow\"\n";

    fn project() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heso.toml");
        (dir, path)
    }

    /// The decision for a plain tool call.
    fn decide(loaded: &LoadedPolicy) -> Decision {
        let action = action_from_json(&json!({"verb": "tool_call"})).unwrap();
        evaluate(&loaded.policy, &action).decision
    }

    fn decision_now(file: &PolicyFile) -> Decision {
        decide(&file.current().unwrap())
    }

    /// Rewrites the file in place and sets its mtime, so size, inode and mtime can all stay put.
    fn write_with_mtime(path: &Path, text: &str, mtime: SystemTime) {
        std::fs::write(path, text).unwrap();
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }

    /// Replaces the file by rename, as editors that save atomically do.
    fn replace(path: &Path, text: &str) {
        let staged = path.with_extension("toml.tmp");
        std::fs::write(&staged, text).unwrap();
        std::fs::rename(&staged, path).unwrap();
    }

    fn reads(file: &PolicyFile) -> u64 {
        file.lock().reads
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PolicyFile>();
        assert_send_sync::<PolicyFileError>();
    }

    #[test]
    fn edit_gives_a_new_decision_on_the_next_call() {
        let (_dir, path) = project();
        std::fs::write(&path, ALLOW).unwrap();
        let file = PolicyFile::new(&path);
        assert_eq!(decision_now(&file), Decision::Allow);
        std::fs::write(&path, BLOCK).unwrap();
        assert_eq!(decision_now(&file), Decision::Block);
        assert_eq!(file.parse_count(), 2);
        assert_eq!(
            file.current().unwrap().policy.policy_hash,
            blake3_hex(BLOCK.as_bytes())
        );
    }

    #[test]
    fn broken_edit_fails_closed_until_fixed() {
        let (_dir, path) = project();
        std::fs::write(&path, ALLOW).unwrap();
        let file = PolicyFile::new(&path);
        assert_eq!(decision_now(&file), Decision::Allow);

        std::fs::write(&path, TYPO).unwrap();
        for _ in 0..3 {
            // The last good policy must not leak through: every call is an error.
            let error = file.current().unwrap_err();
            assert_eq!(error.kind(), PolicyErrorKind::Parse);
            assert_eq!(error.code(), "unknown-key");
            assert_eq!(
                error.to_string(),
                "heso.toml:7:1: unknown key `scoep` in rule `a` (did you mean `scope`?)"
            );
            assert_eq!(
                error.first_issue().map(|i| (i.line, i.column)),
                Some((7, 1))
            );
            assert!(error.floor_violation().is_none());
        }
        // The broken bytes were parsed once, not on every call.
        assert_eq!(file.parse_count(), 2);

        std::fs::write(&path, BLOCK).unwrap();
        assert_eq!(decision_now(&file), Decision::Block);
        assert_eq!(file.parse_count(), 3);
    }

    #[test]
    fn returning_to_the_last_good_bytes_needs_no_parse() {
        let (_dir, path) = project();
        std::fs::write(&path, ALLOW).unwrap();
        let file = PolicyFile::new(&path);
        let first = file.current().unwrap();
        std::fs::write(&path, TYPO).unwrap();
        assert!(file.current().is_err());
        std::fs::write(&path, ALLOW).unwrap();
        let again = file.current().unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(file.parse_count(), 2);
    }

    #[test]
    fn floor_error_names_the_rule_and_verb() {
        let (_dir, path) = project();
        std::fs::write(&path, FLOOR).unwrap();
        let error = PolicyFile::new(&path).current().unwrap_err();
        assert_eq!(error.kind(), PolicyErrorKind::Floor);
        assert_eq!(error.kind().name(), "floor");
        assert_eq!(error.code(), "floor");
        let violation = error.floor_violation().unwrap();
        assert_eq!(
            (violation.rule_id.as_str(), violation.verb.as_str()),
            ("a", "delete")
        );
        assert!(error
            .to_string()
            .starts_with("heso.toml:2:1: rule `a` allows `delete`"));
    }

    #[test]
    fn more_issues_are_counted_in_the_message() {
        let (_dir, path) = project();
        std::fs::write(
            &path,
            "default_decision = \"block\"\nscoep = 1\nverbb = 2\nfoo = 3\n",
        )
        .unwrap();
        let error = PolicyFile::new(&path).current().unwrap_err();
        assert_eq!(error.issues().len(), 3);
        assert!(error
            .to_string()
            .starts_with("heso.toml:2:1: unknown key `scoep`"));
        assert!(error.to_string().ends_with(" (and 2 more)"), "{error}");
    }

    #[test]
    fn deleted_file_fails_closed_until_restored() {
        let (_dir, path) = project();
        std::fs::write(&path, ALLOW).unwrap();
        let file = PolicyFile::new(&path);
        assert_eq!(decision_now(&file), Decision::Allow);

        std::fs::remove_file(&path).unwrap();
        let error = file.current().unwrap_err();
        assert_eq!(error.kind(), PolicyErrorKind::Parse);
        assert_eq!(error.code(), "not-found");
        assert_eq!(
            error.to_string(),
            "heso.toml was removed; restore it, or run `heso init` to write a starter policy"
        );
        assert_eq!(
            file.take_warning().as_deref(),
            Some("heso.toml was removed; every gated call is blocked until it is restored (run `heso init` to write a starter policy)")
        );
        assert!(file.current().is_err());

        std::fs::write(&path, ALLOW).unwrap();
        assert_eq!(decision_now(&file), Decision::Allow);
    }

    #[test]
    fn missing_from_the_start_says_not_found() {
        let (_dir, path) = project();
        let error = PolicyFile::new(&path).current().unwrap_err();
        assert_eq!(
            error.to_string(),
            "heso.toml not found; run `heso init` to write a starter policy"
        );
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_file_fails_closed() {
        let (_dir, path) = project();
        // A directory in the file's place: stat succeeds, reading fails, whoever runs the test.
        std::fs::create_dir(&path).unwrap();
        let error = PolicyFile::new(&path).current().unwrap_err();
        assert_eq!(error.code(), "unreadable");
        assert!(
            error.to_string().starts_with("cannot read heso.toml: "),
            "{error}"
        );
        assert!(error
            .warning()
            .ends_with("; every gated call is blocked until it can be read"));
    }

    #[test]
    fn two_same_size_edits_within_one_second_are_both_seen() {
        let (_dir, path) = project();
        let mtime = SystemTime::now() - Duration::from_millis(300);
        write_with_mtime(&path, ALLOW, mtime);
        let file = PolicyFile::new(&path);
        assert_eq!(decision_now(&file), Decision::Allow);
        // Same inode, same size, same mtime: only the content differs.
        write_with_mtime(&path, BLOCK, mtime);
        assert_eq!(decision_now(&file), Decision::Block);
        write_with_mtime(&path, ALLOW, mtime);
        assert_eq!(decision_now(&file), Decision::Allow);
    }

    #[test]
    fn a_file_read_within_two_seconds_of_its_mtime_is_hashed_again() {
        let (_dir, path) = project();
        std::fs::write(&path, ALLOW).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let now = Arc::new(Mutex::new(mtime + Duration::from_secs(1)));
        let clock = Arc::clone(&now);
        let file = PolicyFile::with_clock(&path, move || *clock.lock().unwrap());

        file.current().unwrap();
        file.current().unwrap();
        // Racily clean: read again each time, but the same bytes are not parsed again.
        assert_eq!((reads(&file), file.parse_count()), (2, 1));

        *now.lock().unwrap() = mtime + Duration::from_secs(3);
        file.current().unwrap();
        assert_eq!(reads(&file), 3);
        // Read more than 2 s after the mtime: the stat alone is trusted from now on.
        file.current().unwrap();
        file.current().unwrap();
        assert_eq!((reads(&file), file.parse_count()), (3, 1));
    }

    #[test]
    fn the_stat_vouches_only_when_unchanged_and_settled() {
        let stamp = Stamp {
            mtime_ns: 10_000_000_000,
            size: 90,
            file_id: (1, 2),
            change_ns: 10_000_000_000,
        };
        let read = |read_at_ns| LastRead { stamp, read_at_ns };
        assert!(read(12_000_000_001).vouches_for(&stamp));
        assert!(!read(12_000_000_000).vouches_for(&stamp));
        assert!(!read(10_500_000_000).vouches_for(&stamp));
        for changed in [
            Stamp {
                mtime_ns: 10_000_000_001,
                ..stamp
            },
            Stamp { size: 91, ..stamp },
            Stamp {
                file_id: (1, 3),
                ..stamp
            },
            Stamp {
                change_ns: 11_000_000_000,
                ..stamp
            },
        ] {
            assert!(!read(20_000_000_000).vouches_for(&changed));
        }
    }

    #[test]
    fn unchanged_file_is_not_parsed_again() {
        let (_dir, path) = project();
        std::fs::write(&path, ALLOW).unwrap();
        let file = PolicyFile::new(&path);
        let first = file.current().unwrap();
        for _ in 0..20 {
            assert!(Arc::ptr_eq(&first, &file.current().unwrap()));
        }
        assert_eq!(file.parse_count(), 1);
    }

    #[test]
    fn touching_the_file_reads_it_but_does_not_parse_it() {
        let (_dir, path) = project();
        let old = SystemTime::now() - Duration::from_mins(1);
        write_with_mtime(&path, ALLOW, old);
        let file = PolicyFile::new(&path);
        file.current().unwrap();
        assert_eq!((reads(&file), file.parse_count()), (1, 1));
        file.current().unwrap();
        assert_eq!(reads(&file), 1, "a settled, unchanged file is not read");

        write_with_mtime(&path, ALLOW, old + Duration::from_secs(5));
        assert_eq!(decision_now(&file), Decision::Allow);
        assert_eq!((reads(&file), file.parse_count()), (2, 1));
    }

    #[test]
    fn warning_is_reported_once_per_distinct_error() {
        let (_dir, path) = project();
        std::fs::write(&path, ALLOW).unwrap();
        let file = PolicyFile::new(&path);
        file.current().unwrap();
        assert_eq!(file.take_warning(), None);

        std::fs::write(&path, TYPO).unwrap();
        assert!(file.current().is_err());
        assert_eq!(
            file.take_warning().as_deref(),
            Some("heso.toml:7:1: unknown key `scoep` in rule `a` (did you mean `scope`?); every gated call is blocked until the file loads")
        );
        assert!(file.current().is_err());
        assert_eq!(file.take_warning(), None);
        // The same error from other bytes is still the same error.
        std::fs::write(&path, format!("{TYPO}\n")).unwrap();
        assert!(file.current().is_err());
        assert_eq!(file.take_warning(), None);

        std::fs::write(&path, FLOOR).unwrap();
        assert!(file.current().is_err());
        assert!(file
            .take_warning()
            .unwrap()
            .starts_with("heso.toml:2:1: rule `a` allows `delete`"));
        assert_eq!(file.take_warning(), None);

        // Fixed, then broken the first way again: a new episode, reported again.
        std::fs::write(&path, ALLOW).unwrap();
        file.current().unwrap();
        assert_eq!(file.take_warning(), None);
        std::fs::write(&path, TYPO).unwrap();
        assert!(file.current().is_err());
        assert!(file.take_warning().is_some());
    }

    #[test]
    fn readers_never_see_a_torn_policy_while_the_file_is_rewritten() {
        let (_dir, path) = project();
        std::fs::write(&path, ALLOW).unwrap();
        let file = Arc::new(PolicyFile::new(&path));
        let held = file.current().unwrap();
        let allow_hash = blake3_hex(ALLOW.as_bytes());
        let block_hash = blake3_hex(BLOCK.as_bytes());
        let done = Arc::new(AtomicBool::new(false));

        let readers: Vec<_> = (0..8)
            .map(|_| {
                let file = Arc::clone(&file);
                let done = Arc::clone(&done);
                let (allow_hash, block_hash) = (allow_hash.clone(), block_hash.clone());
                std::thread::spawn(move || {
                    let mut seen = [0_u32; 2];
                    while !done.load(Ordering::Acquire) {
                        let loaded = file.current().unwrap();
                        // The hash and the rules must come from the same bytes.
                        let hash = &loaded.policy.policy_hash;
                        match decide(&loaded) {
                            Decision::Allow => {
                                assert_eq!(hash, &allow_hash);
                                seen[0] += 1;
                            }
                            Decision::Block => {
                                assert_eq!(hash, &block_hash);
                                seen[1] += 1;
                            }
                            other => panic!("unexpected decision {other:?}"),
                        }
                    }
                    seen
                })
            })
            .collect();

        for round in 0..200 {
            replace(&path, if round % 2 == 0 { BLOCK } else { ALLOW });
            std::thread::sleep(Duration::from_micros(200));
        }
        replace(&path, BLOCK);
        done.store(true, Ordering::Release);
        let seen = readers
            .into_iter()
            .map(|reader| reader.join().unwrap())
            .fold([0, 0], |total, seen| {
                [total[0] + seen[0], total[1] + seen[1]]
            });
        assert!(
            seen[0] > 0 && seen[1] > 0,
            "both versions were seen: {seen:?}"
        );

        // An evaluation that started before the edits finishes on the policy it started with.
        assert_eq!(decide(&held), Decision::Allow);
        assert_eq!(decision_now(&file), Decision::Block);
    }
}
