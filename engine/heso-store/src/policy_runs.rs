//! `policy check` and `policy test` as both programs run them: files in, exit code, text and JSON
//! out. `heso` (through `heso._core`) and `heso-compliance` call these same functions, so their
//! output, JSON and exit codes cannot drift apart.

use std::path::{Path, PathBuf};

use heso_core::policy::explain::explain;
use heso_core::policy::load::{load_policy, LoadedPolicy, PolicyIssue};
use heso_core::policy::model::Policy;
use heso_core::policy::testing::{parse_tests, run_tests, TestFileKind, TestSource};
use heso_core::policy::wire::action_from_json;
use heso_core::receipt::report::group;
use serde_json::{json, Value};

use crate::scaffold::POLICY_FILE;

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
    let path = match location.policy_path() {
        Ok(path) => path,
        Err(error) => return failed(error),
    };
    let shown = shown_path(location, &path);
    let bytes = match read_policy(&path, &shown) {
        Ok(bytes) => bytes,
        Err(error) => return failed(error),
    };
    let policy = match load_policy(&shown, &bytes) {
        Ok(loaded) => loaded.policy,
        Err(errors) => {
            let mut outcome = failed((
                "policy",
                format!(
                    "{shown} has {}; run `heso policy check` and fix them first",
                    count(errors.len(), "error", "errors")
                ),
            ));
            outcome.lines = errors.iter().map(ToString::to_string).collect();
            return outcome;
        }
    };
    let action = match action_from_json(action) {
        Ok(action) => action,
        Err(message) => return failed(("usage", message)),
    };
    let explanation = explain(&policy, &action);
    PolicyRunOutcome {
        exit_code: 0,
        lines: explanation.text_lines(),
        result: explanation.to_json(),
        error: None,
        warnings: Vec::new(),
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
}
