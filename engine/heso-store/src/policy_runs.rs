//! `policy check` and `policy test` as both programs run them: files in, exit code, text and JSON
//! out. `heso` (through `heso._core`) and `heso-compliance` call these same functions, so their
//! output, JSON and exit codes cannot drift apart.

use std::path::{Path, PathBuf};

use heso_core::json::parse_strict;
use heso_core::policy::explain::{explain, Found, SkipReason};
use heso_core::policy::load::{load_policy, LoadedPolicy, PolicyIssue};
use heso_core::policy::model::Policy;
use heso_core::policy::testing::{parse_tests, run_tests, TestFileKind, TestSource};
use heso_core::policy::wire::action_from_json;
use heso_core::receipt::redaction::SALTED_BLAKE3;
use heso_core::receipt::report::group;
use serde_json::{json, Map, Value};

use crate::scaffold::POLICY_FILE;
use crate::store::{Snapshot, StoreError, StoredReceipt};
use crate::store_runs::{store_failure, StoreLocation};

/// How many hex characters of a hash text output shows (cli.md §1.5).
const SHOWN_HASH_CHARS: usize = 12;

/// An input error that stops a command with exit 2: `(JSON error code, one-line message)`.
pub type RunError = (&'static str, String);

/// One file of policy tests, read.
struct TestFile {
    shown: String,
    bytes: Vec<u8>,
    kind: TestFileKind,
}

/// What a policy command printed and how it ended.
#[derive(Debug, Clone)]
pub struct PolicyRunOutcome {
    /// 0 success, 1 the check found a failure, 2 input error (then `error` is set).
    pub exit_code: u8,
    /// The text report, one line each, for stdout.
    pub lines: Vec<String>,
    /// The JSON `result` of cli.md §4 (null when the command could not run).
    pub result: Value,
    /// The one-line error of an exit-2 outcome: `(code, message)`.
    pub error: Option<RunError>,
    /// The policy's warnings as `path:line:column: message`, for the JSON envelope's `warnings`
    /// (the text report has them as `warning: …` lines already).
    pub warnings: Vec<String>,
}

/// Where a policy command looks for `heso.toml`.
#[derive(Debug, Clone)]
pub struct PolicyLocation {
    /// `PATH` as given on the command line, if any.
    pub path: Option<PathBuf>,
    /// The project root found by `-C`, `HESO_PROJECT_ROOT` or discovery.
    pub project_root: Option<PathBuf>,
    /// The current directory, for messages.
    pub cwd: PathBuf,
}

impl PolicyLocation {
    /// The policy file: `PATH`, else the project's `heso.toml`.
    fn policy_path(&self) -> Result<PathBuf, RunError> {
        if let Some(path) = &self.path {
            return Ok(path.clone());
        }
        match &self.project_root {
            Some(root) => Ok(root.join(POLICY_FILE)),
            None => Err((
                "no-project",
                format!(
                    "no heso.toml in {} or any parent directory; run `heso init` or pass -C DIR",
                    self.cwd.display()
                ),
            )),
        }
    }
}

/// The policy file's name in messages: as the user wrote it, or `heso.toml` for the project's.
fn shown_path(location: &PolicyLocation, path: &Path) -> String {
    match &location.path {
        Some(given) => given.display().to_string(),
        None => path.file_name().map_or_else(
            || POLICY_FILE.to_owned(),
            |n| n.to_string_lossy().into_owned(),
        ),
    }
}

/// Reads the policy file; a missing or unreadable file is an input error (exit 2).
pub(crate) fn read_policy(path: &Path, shown: &str) -> Result<Vec<u8>, RunError> {
    std::fs::read(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            (
                "not-found",
                format!("{shown} not found; run `heso init` to create a starter policy, or pass the policy's path"),
            )
        } else {
            ("not-found", format!("cannot read {shown}: {error}"))
        }
    })
}

/// An input error: exit 2 with nothing else.
fn failed(error: RunError) -> PolicyRunOutcome {
    PolicyRunOutcome {
        exit_code: 2,
        lines: Vec::new(),
        result: Value::Null,
        error: Some(error),
        warnings: Vec::new(),
    }
}

/// The JSON form of an issue (cli.md §4).
pub fn issue_json(issue: &PolicyIssue) -> Value {
    json!({
        "code": issue.code,
        "path": issue.path,
        "line": issue.line,
        "column": issue.column,
        "message": issue.message,
    })
}

/// `n thing` / `n things`, with thousands separators.
fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{} {}", group(n), if n == 1 { singular } else { plural })
}

/// `policy check [PATH] [--deny-warnings]` (cli.md §2.10).
pub fn run_policy_check(location: &PolicyLocation, deny_warnings: bool) -> PolicyRunOutcome {
    let path = match location.policy_path() {
        Ok(path) => path,
        Err(error) => return failed(error),
    };
    let shown = shown_path(location, &path);
    let bytes = match read_policy(&path, &shown) {
        Ok(bytes) => bytes,
        Err(error) => return failed(error),
    };
    let policy_hash = heso_core::crypto::blake3_hex(&bytes);
    // The file was just read, so it exists; canonical form spells the path without `..`.
    let absolute = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    let result = |errors: &[PolicyIssue], loaded: Option<&LoadedPolicy>| {
        let policy = loaded.map(|l| &l.policy);
        json!({
            "path": absolute.display().to_string(),
            "policy_hash": policy_hash,
            "rules": policy.map(|p| p.rules.len()),
            "enabled_rules": policy.map(|p| p.rules.iter().filter(|rule| rule.enabled).count()),
            "approver_names": policy.map(Policy::approver_names),
            "operator_keys": policy.map(|p| p.operators.iter().flatten().map(|key| {
                json!({"public_key": key.to_base64(), "fingerprint": key.fingerprint().to_string()})
            }).collect::<Vec<_>>()),
            "errors": errors.iter().map(issue_json).collect::<Vec<_>>(),
            "warnings": loaded.map_or_else(Vec::new, |l| l.warnings.iter().map(issue_json).collect()),
        })
    };
    match load_policy(&shown, &bytes) {
        Err(errors) => {
            let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            lines.push(format!(
                "fail: {shown} has {}",
                count(errors.len(), "error", "errors")
            ));
            PolicyRunOutcome {
                exit_code: 1,
                lines,
                result: result(&errors, None),
                error: None,
                warnings: Vec::new(),
            }
        }
        Ok(loaded) => {
            let LoadedPolicy {
                policy, warnings, ..
            } = &loaded;
            let mut lines: Vec<String> = warnings
                .iter()
                .map(|warning| format!("warning: {warning}"))
                .collect();
            let rules = policy.rules.len();
            let operators = policy.operators.as_ref().map_or(0, Vec::len);
            let failing = deny_warnings && !warnings.is_empty();
            let hash_prefix: String = policy_hash.chars().take(SHOWN_HASH_CHARS).collect();
            lines.push(if failing {
                format!(
                    "fail: {shown} has {} and --deny-warnings is set",
                    count(warnings.len(), "warning", "warnings")
                )
            } else {
                format!(
                    "ok: {shown} ({}, {}, {}) policy_hash {hash_prefix}…",
                    count(rules, "rule", "rules"),
                    count(policy.approvers.len(), "approver name", "approver names"),
                    match policy.operators {
                        None => "no operator key pinned".to_owned(),
                        Some(_) => format!(
                            "{} pinned",
                            count(operators, "operator key", "operator keys")
                        ),
                    },
                )
            });
            PolicyRunOutcome {
                exit_code: u8::from(failing),
                lines,
                result: result(&[], Some(&loaded)),
                error: None,
                warnings: warnings.iter().map(ToString::to_string).collect(),
            }
        }
    }
}

/// The tests file read beside the policy when no test files are named (policy.md §11).
pub const TESTS_FILE: &str = "heso.tests.toml";

/// `policy test [FILE...] [--policy PATH] [--require-coverage]` (cli.md §2.10, policy.md §11).
///
/// Exit 2 (with `error`) when the policy file is missing, a named tests file is missing, a tests
/// file is malformed (its issues are the `lines`) or no tests are found; exit 1 when the policy
/// does not load (its issues are the `lines`), a test fails, or coverage is required and missing.
pub fn run_policy_test(
    location: &PolicyLocation,
    files: &[PathBuf],
    require_coverage: bool,
) -> PolicyRunOutcome {
    let path = match location.policy_path() {
        Ok(path) => path,
        Err(error) => return failed(error),
    };
    let shown = shown_path(location, &path);
    let policy_bytes = match read_policy(&path, &shown) {
        Ok(bytes) => bytes,
        Err(error) => return failed(error),
    };
    let policy = match load_policy(&shown, &policy_bytes) {
        Ok(loaded) => loaded.policy,
        Err(errors) => {
            let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            lines.push(format!(
                "fail: {shown} has {}; no tests ran",
                count(errors.len(), "error", "errors")
            ));
            let result = json!({
                "tests": [],
                "passed": 0,
                "failed": 0,
                "uncovered_rules": [],
                "policy_errors": errors.iter().map(issue_json).collect::<Vec<_>>(),
            });
            return PolicyRunOutcome {
                exit_code: 1,
                lines,
                result,
                error: None,
                warnings: Vec::new(),
            };
        }
    };
    let files = match test_files(&path, &shown, policy_bytes, files) {
        Ok(files) => files,
        Err(error) => return failed(error),
    };
    let sources: Vec<TestSource<'_>> = files
        .iter()
        .map(|file| TestSource {
            path: &file.shown,
            bytes: &file.bytes,
            kind: file.kind,
        })
        .collect();
    let tests = match parse_tests(&sources) {
        Ok(tests) => tests,
        Err(issues) => {
            let mut outcome = failed((
                "usage",
                format!(
                    "the policy tests have {}; fix them and run again",
                    count(issues.len(), "error", "errors")
                ),
            ));
            outcome.lines = issues.iter().map(ToString::to_string).collect();
            return outcome;
        }
    };
    if tests.is_empty() {
        return failed((
            "not-found",
            format!("no policy tests found; add [[test]] tables to {TESTS_FILE} beside {shown} (policy.md §11)"),
        ));
    }
    let run = run_tests(&policy, &tests);
    PolicyRunOutcome {
        exit_code: run.exit_code(require_coverage),
        lines: run.text_lines(),
        result: run.to_json(),
        error: None,
        warnings: Vec::new(),
    }
}

/// `policy explain` (cli.md §2.10): why an action, given as its JSON object, gets its decision
/// under the policy. Exit 0, or 2 for a missing or invalid policy or a bad action.
pub fn run_policy_explain(location: &PolicyLocation, action: &Value) -> PolicyRunOutcome {
    match explain_policy(location) {
        Ok(policy) => explain_outcome(&policy, action, None),
        Err(outcome) => *outcome,
    }
}

/// `policy explain --receipt REF` (cli.md §2.10): why the action of the stored receipt `reference`
/// (an `action_hash` prefix of 6 to 64 hex characters) gets its decision under the **current**
/// policy, next to the decision the receipt recorded.
///
/// Commit-and-reveal fields are put back from the store's reveal material (storage.md §11) for
/// the evaluation only: the output shows their receipt markers, and a condition on one shows
/// `[revealed]` instead of the value. A field without reveal material, or redacted destructively
/// (`drop/v1`), is left out, so conditions on it read as missing, and a `note:` says so. Exit 0,
/// or 2 for no project, no store, an unknown or ambiguous prefix, a receipt without an
/// explainable action, or a policy that does not load.
pub fn run_policy_explain_receipt(
    location: &PolicyLocation,
    reference: &str,
    env_data_dir: Option<&Path>,
) -> PolicyRunOutcome {
    let policy = match explain_policy(location) {
        Ok(policy) => policy,
        Err(outcome) => return *outcome,
    };
    let store = StoreLocation {
        project_root: location.project_root.clone(),
        env_data_dir: env_data_dir.map(Path::to_path_buf),
        cwd: location.cwd.clone(),
    };
    match recorded_action(&store, reference) {
        Ok(recorded) => explain_outcome(&policy, &recorded.action, Some(&recorded)),
        Err(error) => failed(error),
    }
}

/// The policy `policy explain` explains with; a missing or invalid one is the exit-2 outcome.
fn explain_policy(location: &PolicyLocation) -> Result<Policy, Box<PolicyRunOutcome>> {
    let path = location.policy_path().map_err(|e| Box::new(failed(e)))?;
    let shown = shown_path(location, &path);
    let bytes = read_policy(&path, &shown).map_err(|e| Box::new(failed(e)))?;
    load_policy(&shown, &bytes)
        .map(|loaded| loaded.policy)
        .map_err(|errors| {
            let mut outcome = failed((
                "policy",
                format!(
                    "{shown} has {}; run `heso policy check` and fix them first",
                    count(errors.len(), "error", "errors")
                ),
            ));
            outcome.lines = errors.iter().map(ToString::to_string).collect();
            Box::new(outcome)
        })
}

/// The one explanation path of `policy explain`, for an action given and for a stored one.
fn explain_outcome(
    policy: &Policy,
    action: &Value,
    recorded: Option<&RecordedAction>,
) -> PolicyRunOutcome {
    let action = match action_from_json(action) {
        Ok(action) => action,
        Err(message) => {
            return failed((
                "usage",
                match recorded {
                    Some(recorded) => format!(
                        "receipt `{}…` has no action to explain: {message}",
                        short_hash(&recorded.action_hash)
                    ),
                    None => message,
                },
            ))
        }
    };
    let mut explanation = explain(policy, &action);
    let Some(recorded) = recorded else {
        return PolicyRunOutcome {
            exit_code: 0,
            lines: explanation.text_lines(),
            result: explanation.to_json(),
            error: None,
            warnings: Vec::new(),
        };
    };
    // Revealed values served the evaluation only: show the receipt's markers, never the values.
    explanation.action.fields.clone_from(&recorded.shown_fields);
    for step in &mut explanation.rules {
        if let Some(SkipReason::Condition {
            field,
            found: found @ Found::Value(_),
            ..
        }) = &mut step.skip
        {
            if recorded.revealed.iter().any(|path| overlaps(field, path)) {
                *found = Found::Value(REVEALED.to_owned());
            }
        }
    }
    let mut lines = explanation.text_lines();
    let notes = recorded.note_lines();
    let after_rules = (1 + explanation.rules.len()).min(lines.len());
    lines.splice(after_rules..after_rules, notes);
    lines.insert(
        1.min(lines.len()),
        format!(
            "receipt: {}… (decided {} by {} when it was recorded)",
            short_hash(&recorded.action_hash),
            recorded.decision,
            recorded.rule_id.as_deref().unwrap_or("an unrecorded rule"),
        ),
    );
    let mut result = explanation.to_json();
    if let Value::Object(members) = &mut result {
        members.insert(
            "receipt".to_owned(),
            json!({
                "action_hash": recorded.action_hash,
                "recorded_decision": recorded.decision,
                "recorded_rule_id": recorded.rule_id,
            }),
        );
        members.insert(
            "redacted_unrevealed".to_owned(),
            json!(recorded
                .unrevealed
                .iter()
                .map(|(path, _)| path)
                .collect::<Vec<_>>()),
        );
        members.insert("revealed".to_owned(), json!(recorded.revealed));
    }
    PolicyRunOutcome {
        exit_code: 0,
        lines,
        result,
        error: None,
        warnings: Vec::new(),
    }
}

/// What a skip reason shows instead of a value taken from reveal material.
const REVEALED: &str = "[revealed]";

/// The first characters of a hash, as text output shows it.
fn short_hash(hash: &str) -> String {
    hash.chars().take(SHOWN_HASH_CHARS).collect()
}

/// Whether a condition on `field` reads the value at `path`, or a value inside or around it.
fn overlaps(field: &str, path: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    within(field, path) || within(path, field)
}

/// Why a redacted field of a receipt was explained as missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unrevealed {
    /// Commit-and-reveal, and this store holds no reveal material for it.
    NoMaterial,
    /// Destructive redaction (`drop/v1`): the value is gone.
    Destroyed,
}

/// A stored receipt's action as `policy explain --receipt` explains it.
struct RecordedAction {
    /// The full `content.action_hash`.
    action_hash: String,
    /// `policy.decision_path` when it was recorded.
    decision: String,
    /// `policy.rule_id` when it was recorded.
    rule_id: Option<String>,
    /// The action to evaluate, revealed values put back, unrevealed fields left out.
    action: Value,
    /// The fields to show: as recorded (revealed fields keep their markers), unrevealed fields
    /// left out as they were for the evaluation.
    shown_fields: Map<String, Value>,
    /// The paths whose values came from reveal material, in marker order.
    revealed: Vec<String>,
    /// The redacted paths explained as missing, in marker order.
    unrevealed: Vec<(String, Unrevealed)>,
}

impl RecordedAction {
    /// One `note:` line per redacted field, in marker order.
    fn note_lines(&self) -> Vec<String> {
        let revealed = self.revealed.iter().map(|path| {
            format!(
                "note: `{}` is redacted in the receipt; its value was taken from the reveal material stored here and is not shown",
                path.escape_debug()
            )
        });
        let unrevealed = self.unrevealed.iter().map(|(path, why)| match why {
            Unrevealed::NoMaterial => format!(
                "note: `{}` is redacted in the receipt and no reveal material is stored here, so it was explained as missing",
                path.escape_debug()
            ),
            Unrevealed::Destroyed => format!(
                "note: `{}` was redacted destructively in the receipt (drop/v1), so it was explained as missing",
                path.escape_debug()
            ),
        });
        revealed.chain(unrevealed).collect()
    }
}

/// Reads the receipt `reference` names and its reveal material in one read transaction.
fn recorded_action(store: &StoreLocation, reference: &str) -> Result<RecordedAction, RunError> {
    let mut reader = store.reader()?;
    let outcome = reader.snapshot(|snapshot| {
        let stored = snapshot.receipt(reference)?;
        Ok(read_recorded(snapshot, &stored))
    });
    match outcome {
        Ok(recorded) => recorded,
        Err(StoreError::NotFound(_)) => Err((
            "not-found",
            format!("no receipt `{reference}` in the store; list the receipts with `heso log`"),
        )),
        Err(error) => Err(store_failure(&error)),
    }
}

/// The action of a stored receipt with its redacted fields resolved against the store's reveal
/// material.
fn read_recorded(
    snapshot: &Snapshot<'_>,
    stored: &StoredReceipt,
) -> Result<RecordedAction, RunError> {
    let hash = short_hash(&stored.action_hash);
    let unexplainable = |what: &str| {
        (
            "usage",
            format!("receipt `{hash}…` has no action to explain: {what}"),
        )
    };
    let body = stored
        .json()
        .ok_or_else(|| unexplainable("its body is not JSON; check it with `heso audit verify`"))?;
    let content = body.get("content").unwrap_or(&Value::Null);
    let recorded = content
        .get("action")
        .and_then(Value::as_object)
        .ok_or_else(|| unexplainable("it has no `content.action` object"))?;
    let mut action = Map::new();
    for key in ["verb", "tool_name", "target_host", "workflow", "account"] {
        if let Some(value) = recorded.get(key).filter(|v| !v.is_null()) {
            action.insert(key.to_owned(), value.clone());
        }
    }
    let mut fields = match recorded.get("fields") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(fields)) => fields.clone(),
        Some(_) => return Err(unexplainable("its `fields` is not an object")),
    };
    let mut shown_fields = fields.clone();
    let mut revealed = Vec::new();
    let mut unrevealed = Vec::new();
    let markers = content
        .get("redaction")
        .and_then(|r| r.get("markers"))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for marker in markers {
        let Some(path) = marker.get("field_path").and_then(Value::as_str) else {
            continue;
        };
        let salted = marker.get("algorithm").and_then(Value::as_str) == Some(SALTED_BLAKE3);
        let value = if salted {
            let commitment = marker
                .get("commitment")
                .and_then(Value::as_str)
                .unwrap_or_default();
            snapshot
                .reveal(commitment)
                .map_err(|e| store_failure(&e))?
                .filter(|reveal| reveal.field_path == path)
                .and_then(|reveal| parse_strict(&reveal.value_json).ok())
        } else {
            None
        };
        let put_back = value.and_then(|value| slot(&mut fields, path).map(|slot| *slot = value));
        if put_back.is_some() {
            revealed.push(path.to_owned());
        } else {
            remove(&mut fields, path);
            remove(&mut shown_fields, path);
            let why = if salted {
                Unrevealed::NoMaterial
            } else {
                Unrevealed::Destroyed
            };
            unrevealed.push((path.to_owned(), why));
        }
    }
    action.insert("fields".to_owned(), Value::Object(fields));
    let policy = content.get("policy");
    let text = |key: &str| {
        policy
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(RecordedAction {
        action_hash: stored.action_hash.clone(),
        decision: text("decision_path").unwrap_or_else(|| stored.decision.clone()),
        rule_id: text("rule_id"),
        action: Value::Object(action),
        shown_fields,
        revealed,
        unrevealed,
    })
}

/// The member at a dotted path of `fields` (receipts.md §8.1), if it resolves.
fn slot<'a>(fields: &'a mut Map<String, Value>, path: &str) -> Option<&'a mut Value> {
    let mut parts = path.split('.');
    let mut slot = fields.get_mut(parts.next()?)?;
    for part in parts {
        slot = slot.as_object_mut()?.get_mut(part)?;
    }
    Some(slot)
}

/// Removes the member at a dotted path of `fields`, if it resolves.
fn remove(fields: &mut Map<String, Value>, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (slot(fields, parent).and_then(Value::as_object_mut), last),
        None => (Some(fields), path),
    };
    if let Some(parent) = parent {
        parent.remove(last);
    }
}

/// The test files of a run: the files named, else the
/// policy's own `[[test]]` tables and `heso.tests.toml` beside it when that exists.
fn test_files(
    policy_path: &Path,
    policy_shown: &str,
    policy_bytes: Vec<u8>,
    named: &[PathBuf],
) -> Result<Vec<TestFile>, RunError> {
    if !named.is_empty() {
        return named
            .iter()
            .map(|file| {
                let shown = file.display().to_string();
                let bytes = std::fs::read(file).map_err(|error| {
                    (
                        "not-found",
                        format!("cannot read the tests file {shown}: {error}"),
                    )
                })?;
                Ok(TestFile {
                    shown,
                    bytes,
                    kind: TestFileKind::Tests,
                })
            })
            .collect();
    }
    let mut files = vec![TestFile {
        shown: policy_shown.to_owned(),
        bytes: policy_bytes,
        kind: TestFileKind::Policy,
    }];
    let beside = policy_path.with_file_name(TESTS_FILE);
    match std::fs::read(&beside) {
        Ok(bytes) => files.push(TestFile {
            shown: TESTS_FILE.to_owned(),
            bytes,
            kind: TestFileKind::Tests,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(("not-found", format!("cannot read {TESTS_FILE}: {error}"))),
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(dir: &Path, path: Option<&str>) -> PolicyLocation {
        PolicyLocation {
            path: path.map(|p| dir.join(p)),
            project_root: Some(dir.to_path_buf()),
            cwd: dir.to_path_buf(),
        }
    }

    const TINY: &str =
        "default_decision = \"block\"\n[[rule]]\nid = \"a\"\norder = 1\nverb = \"tool_call\"\ndecision = \"allow\"\n";

    #[test]
    fn a_good_policy_is_ok_with_counts_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("heso.toml"), TINY).unwrap();
        let outcome = run_policy_check(&location(dir.path(), None), false);
        assert_eq!(outcome.exit_code, 0);
        let hash = heso_core::crypto::blake3_hex(TINY.as_bytes());
        assert_eq!(
            outcome.lines.last().unwrap(),
            &format!(
                "ok: heso.toml (1 rule, 0 approver names, no operator key pinned) policy_hash {}…",
                &hash[..12]
            )
        );
        assert!(
            outcome.lines[0].starts_with("warning: heso.toml has no [identity] table"),
            "{:?}",
            outcome.lines
        );
        assert_eq!(outcome.result["warnings"][0]["code"], "no-identity");
        assert_eq!(outcome.result["rules"], 1);
        assert_eq!(outcome.result["enabled_rules"], 1);
        assert_eq!(outcome.result["policy_hash"], hash);
        assert_eq!(outcome.result["errors"], json!([]));
    }

    #[test]
    fn warnings_fail_only_with_deny_warnings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.toml"), TINY).unwrap();
        let outcome = run_policy_check(&location(dir.path(), Some("p.toml")), true);
        assert_eq!(outcome.exit_code, 1);
        let shown = dir.path().join("p.toml").display().to_string();
        assert_eq!(
            outcome.lines.last().unwrap(),
            &format!("fail: {shown} has 1 warning and --deny-warnings is set")
        );
    }

    #[test]
    fn errors_are_listed_then_counted() {
        let dir = tempfile::tempdir().unwrap();
        let text = "version = 2\n[[rules]]\n";
        std::fs::write(dir.path().join("heso.toml"), text).unwrap();
        let outcome = run_policy_check(&location(dir.path(), None), false);
        assert_eq!(outcome.exit_code, 1);
        assert_eq!(
            outcome.lines,
            [
                "heso.toml:1:11: unsupported version 2; this heso reads version 1",
                "heso.toml:2:1: unknown table `rules`; rules are written [[rule]]",
                "fail: heso.toml has 2 errors",
            ]
        );
        assert_eq!(outcome.result["errors"][1]["code"], "unknown-key");
        assert_eq!(outcome.result["errors"][1]["line"], 2);
        assert_eq!(outcome.result["rules"], Value::Null);
    }

    #[test]
    fn a_missing_file_or_project_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let outcome = run_policy_check(&location(dir.path(), None), false);
        assert_eq!(outcome.exit_code, 2);
        let (code, message) = outcome.error.unwrap();
        assert_eq!(code, "not-found");
        assert!(
            message.starts_with("heso.toml not found; run `heso init`"),
            "{message}"
        );
        let nowhere = PolicyLocation {
            path: None,
            project_root: None,
            cwd: dir.path().to_path_buf(),
        };
        let (code, message) = run_policy_check(&nowhere, false).error.unwrap();
        assert_eq!(code, "no-project");
        assert!(message.ends_with("or any parent directory; run `heso init` or pass -C DIR"));
    }

    #[test]
    fn counts_use_thousands_separators() {
        assert_eq!(count(1, "rule", "rules"), "1 rule");
        assert_eq!(count(10_000, "rule", "rules"), "10,000 rules");
        assert_eq!(count(999, "rule", "rules"), "999 rules");
        assert_eq!(count(1_234_567, "rule", "rules"), "1,234,567 rules");
    }

    fn starter_project() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let key = heso_core::identity::PublicKey::from_base64(
            "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
        )
        .unwrap();
        let starter = heso_core::starter::starter_policy(&key);
        std::fs::write(dir.path().join("heso.toml"), starter).unwrap();
        dir
    }

    /// policy.md §13: the starter's behaviour, shipped as `tests/policy/starter.tests.toml`.
    #[test]
    fn the_starter_passes_its_own_tests_with_full_coverage() {
        let dir = starter_project();
        let tests =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/policy/starter.tests.toml");
        std::fs::copy(tests, dir.path().join(TESTS_FILE)).unwrap();
        let outcome = run_policy_test(&location(dir.path(), None), &[], true);
        assert_eq!(outcome.exit_code, 0, "{:#?}", outcome.lines);
        assert_eq!(outcome.lines.last().unwrap(), "14 passed, 0 failed");
        assert_eq!(outcome.result["uncovered_rules"], json!([]));
    }

    #[test]
    fn failures_and_missing_coverage_exit_1() {
        let dir = starter_project();
        let tests =
            "[[test]]\nname = \"wrong\"\naction = { verb = \"delete\" }\nexpect = \"allow\"\n";
        std::fs::write(dir.path().join(TESTS_FILE), tests).unwrap();
        let outcome = run_policy_test(&location(dir.path(), None), &[], false);
        assert_eq!(outcome.exit_code, 1);
        assert!(
            outcome.lines[0].starts_with("FAIL wrong: "),
            "{:?}",
            outcome.lines
        );
        assert!(outcome.lines.contains(&"uncovered rules: llm.allow, tool.allow, http.allow, payment.large.requires_approval".to_owned()), "{:?}", outcome.lines);
        let passing = "[[test]]\nname = \"ok\"\naction = { verb = \"delete\" }\nexpect = \"require_approval\"\n";
        std::fs::write(dir.path().join(TESTS_FILE), passing).unwrap();
        assert_eq!(
            run_policy_test(&location(dir.path(), None), &[], false).exit_code,
            0
        );
        assert_eq!(
            run_policy_test(&location(dir.path(), None), &[], true).exit_code,
            1
        );
    }

    #[test]
    fn input_problems_exit_2_and_a_broken_policy_exits_1() {
        let dir = starter_project();
        let none = run_policy_test(&location(dir.path(), None), &[], false);
        assert_eq!(none.exit_code, 2);
        assert!(none.error.unwrap().1.starts_with("no policy tests found"));
        std::fs::write(dir.path().join(TESTS_FILE), "[[tests]]\n").unwrap();
        let malformed = run_policy_test(&location(dir.path(), None), &[], false);
        assert_eq!(malformed.exit_code, 2);
        assert_eq!(malformed.lines.len(), 1);
        assert!(
            malformed.lines[0].starts_with("heso.tests.toml:1:1: "),
            "{:?}",
            malformed.lines
        );
        let missing = run_policy_test(
            &location(dir.path(), None),
            &[dir.path().join("nope.toml")],
            false,
        );
        assert_eq!(missing.error.unwrap().0, "not-found");
        std::fs::write(dir.path().join("heso.toml"), "version = 2\n").unwrap();
        let broken = run_policy_test(&location(dir.path(), None), &[], false);
        assert_eq!(broken.exit_code, 1);
        assert_eq!(
            broken.lines.last().unwrap(),
            "fail: heso.toml has 2 errors; no tests ran"
        );
    }

    // ------------------------------------------------------------ explain --receipt

    use heso_core::identity::{Identity, SecretSeed};
    use heso_core::receipt::redaction::{redact, RedactMode};

    use crate::store::{AppendRequest, SessionType, Signing, Store, StoreOptions};

    fn signer() -> Identity {
        Identity::from_seed(&SecretSeed::from_bytes([0x51; 32]))
    }

    /// A payment receipt content, recorded as `allow` by `payment.allow`, with `fields` redacted
    /// at `paths` in `mode`.
    fn payment(
        fields: &Value,
        paths: &[&str],
        mode: RedactMode,
    ) -> (
        Map<String, Value>,
        Vec<heso_core::receipt::redaction::Reveal>,
    ) {
        let mut fields = fields.as_object().cloned().unwrap();
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        let mut salt = 0u8;
        let (record, reveals) = redact(&mut fields, &paths, mode, &mut || {
            salt += 1;
            [salt; 32]
        });
        let mut content = Map::new();
        content.insert(
            "action".into(),
            json!({"verb": "payment", "tool_name": "charge_card", "workflow": "shop",
                   "account": "acct-test", "fields": fields}),
        );
        content.insert(
            "policy".into(),
            json!({"rule_id": "payment.allow", "rule_display": "When any agent makes a payment, then allow.",
                   "matched_conditions": [], "decision_path": "allow"}),
        );
        if let Some(record) = record {
            content.insert("redaction".into(), record);
        }
        (content, reveals)
    }

    /// The starter project with one receipt appended; its full hash.
    fn recorded(
        dir: &Path,
        content: Map<String, Value>,
        reveals: Vec<heso_core::receipt::redaction::Reveal>,
    ) -> String {
        let store = Store::open(&dir.join(".heso"), StoreOptions::default()).unwrap();
        let op = signer();
        let request =
            AppendRequest::chained("s1", SessionType::Action, content, Signing::Operator(&op))
                .with_reveals(reveals);
        store.append(&request).unwrap().action_hash
    }

    fn explain_receipt(dir: &Path, reference: &str) -> PolicyRunOutcome {
        run_policy_explain_receipt(&location(dir, None), reference, None)
    }

    #[test]
    fn a_receipt_is_explained_under_the_current_policy() {
        let dir = starter_project();
        let (content, reveals) = payment(&json!({"amount": 500}), &[], RedactMode::Destructive);
        let hash = recorded(dir.path(), content, reveals);
        let outcome = explain_receipt(dir.path(), &hash[..8]);
        assert_eq!(outcome.exit_code, 0, "{:?}", outcome.error);
        assert_eq!(
            outcome.lines[..2],
            [
                "action: payment charge_card (workflow shop, account acct-test, no host)"
                    .to_owned(),
                format!(
                    "receipt: {}… (decided allow by payment.allow when it was recorded)",
                    &hash[..12]
                ),
            ]
        );
        assert!(outcome
            .lines
            .contains(&"decision: require_approval by policy.floor.unmatched".to_owned()));
        // The same explanation as the action given by hand, plus the receipt's members.
        let by_hand = run_policy_explain(
            &location(dir.path(), None),
            &json!({"verb": "payment", "tool_name": "charge_card", "workflow": "shop",
                    "account": "acct-test", "fields": {"amount": 500}}),
        );
        let mut result = outcome.result.clone();
        assert_eq!(
            result["receipt"],
            json!({"action_hash": hash, "recorded_decision": "allow", "recorded_rule_id": "payment.allow"})
        );
        assert_eq!(result["redacted_unrevealed"], json!([]));
        for key in ["receipt", "redacted_unrevealed", "revealed"] {
            result.as_object_mut().unwrap().remove(key);
        }
        assert_eq!(result, by_hand.result);
        let mut lines = outcome.lines.clone();
        lines.remove(1);
        assert_eq!(lines, by_hand.lines);
    }

    #[test]
    fn revealed_values_decide_but_are_never_shown() {
        let dir = starter_project();
        let fields = json!({"amount": 5000, "card": {"number": "4111111111111111"}});
        let (content, reveals) = payment(
            &fields,
            &["amount", "card.number"],
            RedactMode::CommitAndReveal,
        );
        let commitment = content["action"]["fields"]["amount"].clone();
        let hash = recorded(dir.path(), content, reveals);
        let outcome = explain_receipt(dir.path(), &hash);
        assert_eq!(outcome.exit_code, 0, "{:?}", outcome.error);
        assert!(
            outcome.lines.contains(
                &"decision: require_approval by payment.large.requires_approval".to_owned()
            ),
            "{:#?}",
            outcome.lines
        );
        assert!(outcome.lines.contains(&"note: `amount` is redacted in the receipt; its value was taken from the reveal material stored here and is not shown".to_owned()));
        let printed = format!("{}\n{}", outcome.lines.join("\n"), outcome.result);
        assert!(!printed.contains("4111111111111111"), "{printed}");
        assert_eq!(outcome.result["action"]["fields"]["amount"], commitment);
        assert_eq!(outcome.result["revealed"], json!(["amount", "card.number"]));
        assert_eq!(outcome.result["redacted_unrevealed"], json!([]));

        // A condition that reads a revealed value shows it as `[revealed]`.
        let (content, reveals) = payment(
            &json!({"amount": 737}),
            &["amount"],
            RedactMode::CommitAndReveal,
        );
        let hash = recorded(dir.path(), content, reveals);
        let outcome = explain_receipt(dir.path(), &hash);
        let skipped = outcome
            .lines
            .iter()
            .find(|line| line.contains("payment.large.requires_approval"))
            .unwrap();
        assert!(
            skipped.ends_with("skip: condition amount > 1000 is false (amount = [revealed])"),
            "{skipped}"
        );
        let reasons = outcome.result["rules"].to_string();
        assert!(reasons.contains("(amount = [revealed])") && !reasons.contains("737"));
        assert!(outcome.result["action"]["fields"]["amount"]["_sd"].is_string());

        // Without the reveal material the field reads as missing.
        let conn = rusqlite::Connection::open(dir.path().join(".heso").join(crate::store::DB_FILE))
            .unwrap();
        conn.execute("DELETE FROM reveals", []).unwrap();
        drop(conn);
        let outcome = explain_receipt(dir.path(), &hash);
        assert_eq!(outcome.exit_code, 0, "{:?}", outcome.error);
        assert!(outcome.lines.contains(&"note: `amount` is redacted in the receipt and no reveal material is stored here, so it was explained as missing".to_owned()), "{:#?}", outcome.lines);
        assert_eq!(outcome.result["redacted_unrevealed"], json!(["amount"]));
        assert_eq!(outcome.result["action"]["fields"], json!({}));
        assert!(outcome
            .lines
            .contains(&"decision: require_approval by policy.floor.unmatched".to_owned()));
    }

    #[test]
    fn a_destroyed_field_is_explained_as_missing() {
        let dir = starter_project();
        let fields = json!({"amount": 5000, "card": {"number": "4111", "brand": "visa"}});
        let (content, reveals) =
            payment(&fields, &["amount", "card.number"], RedactMode::Destructive);
        let hash = recorded(dir.path(), content, reveals);
        let outcome = explain_receipt(dir.path(), &hash[..6]);
        assert_eq!(outcome.exit_code, 0, "{:?}", outcome.error);
        assert!(outcome.lines.contains(&"note: `amount` was redacted destructively in the receipt (drop/v1), so it was explained as missing".to_owned()), "{:#?}", outcome.lines);
        assert!(outcome.lines.iter().any(
            |line| line.ends_with("skip: condition amount > 1000 is false (amount is missing)")
        ));
        assert_eq!(
            outcome.result["redacted_unrevealed"],
            json!(["amount", "card.number"])
        );
        assert_eq!(
            outcome.result["action"]["fields"],
            json!({"card": {"brand": "visa"}})
        );
    }

    #[test]
    fn receipt_input_errors_are_one_line_exit_2() {
        let dir = starter_project();
        let (code, message) = explain_receipt(dir.path(), "abcdef").error.unwrap();
        assert_eq!(code, "not-found");
        assert!(
            message.starts_with("no audit store at `.heso/heso.db`: "),
            "{message}"
        );
        let (content, _) = payment(&json!({"amount": 1}), &[], RedactMode::Destructive);
        let hash = recorded(dir.path(), content, Vec::new());
        let other = if hash.starts_with('0') {
            "111111"
        } else {
            "000000"
        };
        let (code, message) = explain_receipt(dir.path(), other).error.unwrap();
        assert_eq!(code, "not-found");
        assert_eq!(
            message,
            format!("no receipt `{other}` in the store; list the receipts with `heso log`")
        );
        let (code, _) = explain_receipt(dir.path(), "xyz").error.unwrap();
        assert_eq!(code, "usage");
        std::fs::write(dir.path().join("heso.toml"), "version = 2\n").unwrap();
        let broken = explain_receipt(dir.path(), &hash);
        assert_eq!(broken.exit_code, 2);
        assert_eq!(broken.error.unwrap().0, "policy");
        let nowhere = PolicyLocation {
            path: None,
            project_root: None,
            cwd: dir.path().to_path_buf(),
        };
        let (code, _) = run_policy_explain_receipt(&nowhere, &hash, None)
            .error
            .unwrap();
        assert_eq!(code, "no-project");
    }

    #[test]
    fn overlapping_paths_are_whole_segments() {
        assert!(overlaps("card", "card.number"));
        assert!(overlaps("card.number", "card"));
        assert!(overlaps("amount", "amount"));
        assert!(!overlaps("amounts", "amount"));
        assert!(!overlaps("card.numbers", "card.number"));
    }
}
