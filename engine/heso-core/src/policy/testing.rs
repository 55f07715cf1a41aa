//! Policy tests (policy.md §11): `[[test]]` tables, running them, coverage and their reports.
//!
//! Both CLIs (`heso policy test` and `heso-compliance policy test`) read the files and call
//! [`parse_tests`], [`run_tests`], [`TestRun::text_lines`], [`TestRun::to_json`] and
//! [`TestRun::exit_code`], so their output, JSON and exit codes cannot drift apart.
//!
//! Tests are parsed as strictly as the policy (policy.md §10): unknown keys with "did you mean",
//! wrong types, bad values, duplicate names across the whole run, every error with its position
//! and in file order. The action of a test is built by
//! [`action_from_json`], so it gets exactly the defaults
//! every other caller gets (`tool_name = "test"`, `workflow` and `account` `default`, no host,
//! no fields).
//!
//! A failing test is reported on one line, ``FAIL <name>: expected <what>, got <what> (rule
//! `<id>`)``, naming the first expectation that does not hold, in the order decision and rule,
//! approvers, redacted. See [`Mismatch`] for the exact wording of each kind.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Number, Value};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::policy::condition::{Action, FieldPath};
use crate::policy::eval::{evaluate, Evaluation};
use crate::policy::load::{
    decode, did_you_mean, entry_offset, integer_value, is_approver_name, is_header, is_rule_id,
    shown, syntax_issue, type_name, Loader, PolicyIssue, Reported, TEST_KEYS,
};
use crate::policy::model::{Decision, Policy};
use crate::policy::wire::{action_from_json, ACTION_VERBS};
use crate::receipt::report::group;

/// The keys of a test's `action` table (policy.md §11), as
/// [`action_from_json`] reads them.
const ACTION_KEYS: [&str; 6] = [
    "verb",
    "tool_name",
    "target_host",
    "workflow",
    "account",
    "fields",
];
/// The string keys of a test's `action` table besides `verb`.
const ACTION_TEXT_KEYS: [&str; 4] = ["tool_name", "target_host", "workflow", "account"];
/// The longest test name, in characters (policy.md §11).
const MAX_NAME_CHARS: usize = 200;

/// Which kind of file the tests come from; it decides what else the file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestFileKind {
    /// `heso.tests.toml` (or a file named on the command line): only `[[test]]` tables at the top
    /// level; anything else is an `unknown-key` error.
    Tests,
    /// `heso.toml`: only its `[[test]]` tables are read. Everything else is the policy loader's
    /// concern (it has already reported, or will report, whatever is wrong there).
    Policy,
}

/// One file of tests: its bytes and how messages name it. Nothing is read from `path`.
#[derive(Debug, Clone, Copy)]
pub struct TestSource<'a> {
    /// How the file is named in messages and in the `file` of results, such as
    /// `heso.tests.toml`.
    pub path: &'a str,
    /// The file's bytes.
    pub bytes: &'a [u8],
    /// What else the file may hold.
    pub kind: TestFileKind,
}

/// One `[[test]]` (policy.md §11), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTest {
    /// Its name, unique within the run, 1–200 characters.
    pub name: String,
    /// The file it comes from, as [`TestSource::path`] names it.
    pub file: String,
    /// The line of its `[[test]]` header (1-based).
    pub line: usize,
    /// The action to evaluate, with the defaults of policy.md §11 applied.
    pub action: Action,
    /// The expected decision.
    pub expect: Decision,
    /// The expected deciding rule id, reserved ids allowed.
    pub rule: Option<String>,
    /// The expected approver names, compared as a set.
    pub approvers: Option<Vec<String>>,
    /// The expected redaction paths, compared as a set.
    pub redacted: Option<Vec<String>>,
}

/// Parses the `[[test]]` tables of every source, in the order given, as strictly as the policy
/// loader reads `heso.toml`.
///
/// Test names must be unique across all sources; a repeated name is a `duplicate-id` error on
/// the later one. Errors come file by file in the order given, each file's in file order.
///
/// An empty result means no tests were found; the runners exit 2 on it ("no tests found"), as
/// they do on an error here (a malformed tests file).
pub fn parse_tests(sources: &[TestSource<'_>]) -> Result<Vec<PolicyTest>, Vec<PolicyIssue>> {
    let mut seen = HashMap::new();
    let mut tests = Vec::new();
    let mut issues = Vec::new();
    for source in sources {
        match parse_source(source, &mut seen) {
            Ok(found) => tests.extend(found),
            Err(found) => issues.extend(found),
        }
    }
    if issues.is_empty() {
        Ok(tests)
    } else {
        Err(issues)
    }
}

/// Where each test name was first defined: the file and the line of its header.
pub(crate) type Seen = HashMap<String, (String, usize)>;

/// The tests of one file, or its errors in file order.
fn parse_source(
    source: &TestSource<'_>,
    seen: &mut Seen,
) -> Result<Vec<PolicyTest>, Vec<PolicyIssue>> {
    let text = decode(source.path, source.bytes).map_err(|issue| vec![issue])?;
    let document =
        DeTable::parse(text).map_err(|error| vec![syntax_issue(source.path, text, &error)])?;
    let mut loader = Loader {
        path: source.path,
        source: text,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let table = document.get_ref();
    if source.kind == TestFileKind::Tests {
        tests_file_keys(&mut loader, table);
    }
    let mut tests = Vec::new();
    // A `test` that is not an array is reported by `tests_file_keys`, or by the policy loader in
    // `heso.toml`.
    if let Some(items) = table
        .get_key_value("test")
        .and_then(|(_, item)| item.get_ref().as_array())
    {
        for item in items {
            if let Some(test) = parse_test(&mut loader, item, seen) {
                tests.push(test);
            }
        }
    }
    if loader.errors.is_empty() {
        return Ok(tests);
    }
    loader.errors.sort_by_key(|(offset, _)| *offset);
    Err(loader.errors.into_iter().map(|(_, issue)| issue).collect())
}

/// Reports every top-level key of a tests file except `[[test]]`.
fn tests_file_keys(loader: &mut Loader<'_>, table: &DeTable<'_>) {
    for (key, item) in table {
        let name = key.get_ref().as_ref();
        if name == "test" && item.get_ref().is_array() {
            continue;
        }
        let header = is_header(key, item);
        let offset = entry_offset(key, item);
        let lower = name.to_ascii_lowercase();
        let path = loader.path;
        let message = if lower == "test" || lower == "tests" {
            format!(
                "unknown table `{}`; tests are written [[test]]",
                shown(name)
            )
        } else if matches!(
            lower.as_str(),
            "rule"
                | "rules"
                | "identity"
                | "approvers"
                | "settings"
                | "version"
                | "default_decision"
        ) {
            format!(
                "`{}` belongs in heso.toml; {path} holds only [[test]] tables",
                shown(name)
            )
        } else {
            let what = if header || item.get_ref().is_table() {
                "table"
            } else {
                "key"
            };
            format!(
                "unknown {what} `{}`{}; {path} holds only [[test]] tables",
                shown(name),
                did_you_mean(name, &["test"])
            )
        };
        loader.error("unknown-key", offset, message);
    }
}

/// One `[[test]]`, or `None` when something in it is wrong (and reported).
pub(crate) fn parse_test(
    loader: &mut Loader<'_>,
    item: &Spanned<DeValue<'_>>,
    seen: &mut Seen,
) -> Option<PolicyTest> {
    let Some(table) = item.get_ref().as_table() else {
        loader.wrong_type("test", "a table", item);
        return None;
    };
    let before = loader.errors.len();
    let header = item.span().start;
    let line = loader.line_of(header);
    let label = match table
        .get_key_value("name")
        .and_then(|(_, name)| name.get_ref().as_str())
    {
        Some(name) => format!("test `{}`", shown(name)),
        None => format!("the test at line {line}"),
    };
    loader.unknown_keys(table, &TEST_KEYS, &format!(" in {label}"));
    let name = test_name(loader, table, header, &label, line, seen);
    let action = test_action(loader, table, header, &label);
    let expect = loader.decision(table, "expect", header, &label);
    let rule = test_rule(loader, table);
    let approvers = expected_list(loader, table, "approvers", expect);
    let redacted = expected_list(loader, table, "redacted", expect);
    if loader.errors.len() != before {
        return None;
    }
    Some(PolicyTest {
        name: name?,
        file: loader.path.to_owned(),
        line,
        action: action?,
        expect: expect?,
        rule: rule.ok()?,
        approvers: approvers.ok()?,
        redacted: redacted.ok()?,
    })
}

/// The test's `name`: 1–200 characters, not used before in this run.
fn test_name(
    loader: &mut Loader<'_>,
    table: &DeTable<'_>,
    header: usize,
    label: &str,
    line: usize,
    seen: &mut Seen,
) -> Option<String> {
    let (name, offset) = loader.required_string(table, "name", header, label)?;
    let length = name.chars().count();
    if !(1..=MAX_NAME_CHARS).contains(&length) {
        let message = format!("test name must be 1 to 200 characters long, found {length}");
        loader.error("bad-value", offset, message);
        return None;
    }
    if let Some((file, first)) = seen.get(name) {
        let place = if file == loader.path {
            format!("at line {first}")
        } else {
            format!("in {file} at line {first}")
        };
        let message = format!(
            "duplicate test name `{}` (first defined {place})",
            shown(name)
        );
        loader.error("duplicate-id", offset, message);
        return None;
    }
    seen.insert(name.to_owned(), (loader.path.to_owned(), line));
    Some(name.to_owned())
}

/// The test's `action`, built by `action_from_json` once its keys and types are checked here
/// with their positions.
fn test_action(
    loader: &mut Loader<'_>,
    table: &DeTable<'_>,
    header: usize,
    label: &str,
) -> Option<Action> {
    let Some((_, item)) = table.get_key_value("action") else {
        loader.error("missing-key", header, format!("{label} has no `action`"));
        return None;
    };
    let Some(action) = item.get_ref().as_table() else {
        loader.wrong_type(
            "action",
            "a table such as { verb = \"payment\", fields = { amount = 20 } }",
            item,
        );
        return None;
    };
    let offset = item.span().start;
    let before = loader.errors.len();
    let place = format!("the action of {label}");
    loader.unknown_keys(action, &ACTION_KEYS, &format!(" in {place}"));
    let verb = loader.required_string(action, "verb", offset, &place);
    let mut object = Map::new();
    if let Some((verb, _)) = verb {
        object.insert("verb".to_owned(), Value::String(verb.to_owned()));
    }
    for key in ACTION_TEXT_KEYS {
        if let Ok(Some((text, _))) = loader.string(action, key) {
            object.insert(key.to_owned(), Value::String(text.to_owned()));
        }
    }
    if let Some((_, fields)) = action.get_key_value("fields") {
        if fields.get_ref().is_table() {
            if let Some(value) = json_value(loader, fields) {
                object.insert("fields".to_owned(), value);
            }
        } else {
            loader.wrong_type("fields", "a table", fields);
        }
    }
    if loader.errors.len() != before {
        return None;
    }
    match action_from_json(&Value::Object(object)) {
        Ok(built) => Some(built),
        Err(message) => {
            // The keys and types are right, so the verb or the host is at fault; point at it.
            let at = match verb {
                Some((verb, at)) if !ACTION_VERBS.contains(&verb) => at,
                _ => action
                    .get_key_value("target_host")
                    .map_or(offset, |(_, host)| host.span().start),
            };
            loader.error("bad-value", at, message);
            None
        }
    }
}

/// A TOML value of `fields` as JSON; integers out of 64-bit range, `nan`, `inf` and date-times
/// have no JSON form and are reported where they are written.
fn json_value(loader: &mut Loader<'_>, item: &Spanned<DeValue<'_>>) -> Option<Value> {
    let at = item.span().start;
    match item.get_ref() {
        DeValue::String(text) => Some(Value::String(text.to_string())),
        DeValue::Boolean(flag) => Some(Value::Bool(*flag)),
        DeValue::Integer(number) => {
            if let Some(value) = integer_value(number) {
                Some(Value::Number(Number::from(value)))
            } else {
                let message = "an integer in `fields` is out of range for 64 bits".to_owned();
                loader.error("bad-value", at, message);
                None
            }
        }
        DeValue::Float(number) => {
            let finite = number
                .as_str()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64);
            if finite.is_none() {
                let message = format!(
                    "`{}` in `fields` is not a finite number; JSON has no such value",
                    shown(number.as_str())
                );
                loader.error("bad-value", at, message);
            }
            finite.map(Value::Number)
        }
        DeValue::Datetime(_) => {
            let message = format!(
                "`fields` cannot hold {}; write it as a string such as \"2026-01-31\"",
                type_name(item.get_ref())
            );
            loader.error("wrong-type", at, message);
            None
        }
        DeValue::Array(items) => {
            let values: Vec<Option<Value>> =
                items.iter().map(|item| json_value(loader, item)).collect();
            values
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(Value::Array)
        }
        DeValue::Table(table) => {
            let mut object = Map::new();
            let mut valid = true;
            for (key, value) in table {
                match json_value(loader, value) {
                    Some(value) => {
                        object.insert(key.get_ref().to_string(), value);
                    }
                    None => valid = false,
                }
            }
            valid.then_some(Value::Object(object))
        }
    }
}

/// The test's `rule`: a rule id in the syntax of policy.md §6 (reserved ids fit it too).
fn test_rule(loader: &mut Loader<'_>, table: &DeTable<'_>) -> Result<Option<String>, Reported> {
    let Some((id, offset)) = loader.string(table, "rule")? else {
        return Ok(None);
    };
    if is_rule_id(id) {
        return Ok(Some(id.to_owned()));
    }
    let message = format!("rule id `{}` is not valid; use up to 128 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit", shown(id));
    Err(loader.error("bad-value", offset, message))
}

/// `approvers` or `redacted`: an array of approver names or field paths, only valid with the
/// `expect` it describes (`misplaced-key` otherwise).
fn expected_list(
    loader: &mut Loader<'_>,
    table: &DeTable<'_>,
    key: &str,
    expect: Option<Decision>,
) -> Result<Option<Vec<String>>, Reported> {
    let Some((key_item, _)) = table.get_key_value(key) else {
        return Ok(None);
    };
    let (needs, expected) = if key == "approvers" {
        (Decision::RequireApproval, "an array of approver names")
    } else {
        (Decision::Redact, "an array of field paths")
    };
    if expect != Some(needs) {
        if expect.is_none() {
            // `expect` is missing or wrong, which is reported already.
            return Err(Reported);
        }
        let message = format!("`{key}` is only valid when expect = \"{}\"", needs.name());
        return Err(loader.error("misplaced-key", key_item.span().start, message));
    }
    let (items, _) = loader.array(table, key, expected)?.ok_or(Reported)?;
    let before = loader.errors.len();
    let mut out = Vec::new();
    for (text, offset) in loader.strings(key, items).ok_or(Reported)? {
        let problem = if needs == Decision::RequireApproval {
            (!is_approver_name(text)).then(|| {
                format!(
                    "approver name `{}` is not valid; use 1 to 64 letters, digits, `_` or `-`",
                    shown(text)
                )
            })
        } else if text.starts_with('$') {
            Some(format!("redact path `{}` names action metadata; redact paths name fields such as `card.number`", shown(text)))
        } else {
            FieldPath::parse(text).err().map(|error| error.to_string())
        };
        match problem {
            Some(message) => {
                loader.error("bad-value", offset, message);
            }
            None => out.push(text.to_owned()),
        }
    }
    if loader.errors.len() == before {
        Ok(Some(out))
    } else {
        Err(Reported)
    }
}

/// The first expectation of a test that does not hold, in the order they are checked.
///
/// Each kind has its own wording in [`TestResult::message`], always
/// ``expected <what>, got <what> (rule `<id>`)`` with the rule that actually decided:
///
/// * [`Mismatch::Decision`]: `` expected allow, got require_approval (rule `policy.floor.unmatched`) ``;
///   when the test names a `rule`, the expectation says which rule should decide and the
///   decision is always shown: `` expected require_approval by `payment.large`, got
///   require_approval (rule `policy.floor.unmatched`) ``.
/// * [`Mismatch::Approvers`]: `` expected approvers `finance, security-admin`, got
///   `security-admin` (rule `payment.large`) ``.
/// * [`Mismatch::Redacted`]: `` expected redacted `card.number, email`, got `email` (rule
///   `export.redact`) ``.
///
/// Lists are compared as sets, so they are shown sorted, without repeats, inside one pair of
/// backticks; an empty list is `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// The decision, or the deciding rule when the test names one.
    Decision,
    /// The approver names of a `require_approval` result.
    Approvers,
    /// The redaction paths of a `redact` result.
    Redacted,
}

/// One test, run.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    /// The test.
    pub test: PolicyTest,
    /// What the policy decided for its action.
    pub actual: Evaluation,
    /// The first expectation that did not hold, or `None` when the test passed.
    pub mismatch: Option<Mismatch>,
}

impl TestResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.mismatch.is_none()
    }

    /// The one-line failure message (see [`Mismatch`] for the wording), or `None` when the test
    /// passed.
    pub fn message(&self) -> Option<String> {
        let test = &self.test;
        let actual = &self.actual;
        let expected = match self.mismatch? {
            Mismatch::Decision => match &test.rule {
                Some(rule) => format!("{} by `{}`", test.expect.name(), shown(rule)),
                None => test.expect.name().to_owned(),
            },
            Mismatch::Approvers => {
                format!("approvers {}", shown_list(test.approvers.as_deref()))
            }
            Mismatch::Redacted => format!("redacted {}", shown_list(test.redacted.as_deref())),
        };
        let got = match self.mismatch? {
            Mismatch::Decision => actual.decision.name().to_owned(),
            Mismatch::Approvers => {
                shown_list(actual.approval.as_ref().map(|a| a.approvers.as_slice()))
            }
            Mismatch::Redacted => shown_list(actual.redact.as_deref()),
        };
        Some(format!(
            "expected {expected}, got {got} (rule `{}`)",
            shown(&actual.rule_id)
        ))
    }

    /// The JSON of one test in cli.md §4's `policy test` result: `{name, file, line, passed,
    /// expected: {decision, rule_id, approvers, redacted}, actual: {decision, rule_id, approvers,
    /// redacted}, message}`. Expectations the test does not give are null, as are approvers and
    /// redacted paths a result does not have.
    pub fn to_json(&self) -> Value {
        let test = &self.test;
        let actual = &self.actual;
        json!({
            "name": test.name,
            "file": test.file,
            "line": test.line,
            "passed": self.passed(),
            "expected": {
                "decision": test.expect.name(),
                "rule_id": test.rule,
                "approvers": test.approvers,
                "redacted": test.redacted,
            },
            "actual": {
                "decision": actual.decision.name(),
                "rule_id": actual.rule_id,
                "approvers": actual.approval.as_ref().map(|terms| &terms.approvers),
                "redacted": actual.redact,
            },
            "message": self.message(),
        })
    }
}

/// A list as failure messages show it: sorted, without repeats, in backticks; `none` when empty
/// or absent.
fn shown_list(items: Option<&[String]>) -> String {
    let set = as_set(items.unwrap_or_default());
    if set.is_empty() {
        return "none".to_owned();
    }
    let joined: Vec<String> = set.iter().map(|item| shown(item)).collect();
    format!("`{}`", joined.join(", "))
}

/// A list sorted and without repeats, for order-insensitive comparison.
fn as_set(items: &[String]) -> Vec<&str> {
    let mut set: Vec<&str> = items.iter().map(String::as_str).collect();
    set.sort_unstable();
    set.dedup();
    set
}

/// The first expectation of `test` that `actual` does not meet.
fn first_mismatch(test: &PolicyTest, actual: &Evaluation) -> Option<Mismatch> {
    let rule_differs = test
        .rule
        .as_ref()
        .is_some_and(|rule| *rule != actual.rule_id);
    if test.expect != actual.decision || rule_differs {
        return Some(Mismatch::Decision);
    }
    if let Some(expected) = &test.approvers {
        let got = actual
            .approval
            .as_ref()
            .map(|terms| terms.approvers.as_slice())
            .unwrap_or_default();
        if as_set(expected) != as_set(got) {
            return Some(Mismatch::Approvers);
        }
    }
    if let Some(expected) = &test.redacted {
        if as_set(expected) != as_set(actual.redact.as_deref().unwrap_or_default()) {
            return Some(Mismatch::Redacted);
        }
    }
    None
}

/// The outcome of a run: every test's result and the rules no test exercised.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRun {
    /// One result per test, in the order the tests were given.
    pub results: Vec<TestResult>,
    /// The ids of the enabled rules that decided no test, in evaluation order.
    pub uncovered_rules: Vec<String>,
}

/// Runs every test against the policy (policy.md §11): each test's action is evaluated with
/// [`evaluate`] and passes when every expectation it gives holds. An enabled rule is covered when
/// it decides at least one test, whether that test passes or not.
pub fn run_tests(policy: &Policy, tests: &[PolicyTest]) -> TestRun {
    let results: Vec<TestResult> = tests
        .iter()
        .map(|test| {
            let actual = evaluate(policy, &test.action);
            let mismatch = first_mismatch(test, &actual);
            TestResult {
                test: test.clone(),
                actual,
                mismatch,
            }
        })
        .collect();
    let deciding: HashSet<&str> = results
        .iter()
        .map(|result| result.actual.rule_id.as_str())
        .collect();
    let uncovered_rules = policy
        .evaluation_order()
        .filter(|rule| !deciding.contains(rule.id.as_str()))
        .map(|rule| rule.id.clone())
        .collect();
    TestRun {
        results,
        uncovered_rules,
    }
}

impl TestRun {
    /// How many tests passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|result| result.passed()).count()
    }

    /// How many tests failed.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// Whether the run succeeds: every test passed and, when coverage is required, every enabled
    /// rule decided some test.
    pub fn succeeded(&self, require_coverage: bool) -> bool {
        self.failed() == 0 && (!require_coverage || self.uncovered_rules.is_empty())
    }

    /// The exit code of policy.md §11 for a run that took place: 0 when it
    /// [succeeded](Self::succeeded), 1 otherwise. (No tests found, a malformed tests file and a
    /// missing policy are exit 2, decided before a run.)
    pub fn exit_code(&self, require_coverage: bool) -> u8 {
        u8::from(!self.succeeded(require_coverage))
    }

    /// The text report of cli.md §2.10: `PASS <name>` or `FAIL <name>: <message>` per test, then
    /// `uncovered rules: a, b` when some enabled rule decided no test, then `5 passed, 1 failed`.
    pub fn text_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .results
            .iter()
            .map(|result| match result.message() {
                None => format!("PASS {}", shown(&result.test.name)),
                Some(message) => format!("FAIL {}: {message}", shown(&result.test.name)),
            })
            .collect();
        if !self.uncovered_rules.is_empty() {
            lines.push(format!(
                "uncovered rules: {}",
                self.uncovered_rules.join(", ")
            ));
        }
        lines.push(format!(
            "{} passed, {} failed",
            group(self.passed()),
            group(self.failed())
        ));
        lines
    }

    /// The JSON `result` of cli.md §4's `policy test`: `{tests: [...], passed, failed,
    /// uncovered_rules}` (see [`TestResult::to_json`]).
    pub fn to_json(&self) -> Value {
        json!({
            "tests": self.results.iter().map(TestResult::to_json).collect::<Vec<_>>(),
            "passed": self.passed(),
            "failed": self.failed(),
            "uncovered_rules": self.uncovered_rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use serde_json::json;

    use super::*;
    use crate::identity::PublicKey;
    use crate::policy::load::load_policy;

    const OPERATOR: &str = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=";

    /// The example of policy.md §11, byte for byte.
    const SPEC_EXAMPLE: &str = r#"[[test]]
name = "large payments need security-admin"
action = { verb = "payment", tool_name = "charge_card", fields = { amount = 5000, currency = "usd" } }
expect = "require_approval"
rule = "payment.large.requires_approval"
approvers = ["security-admin"]

[[test]]
name = "small payments still need approval (floor)"
action = { verb = "payment", tool_name = "charge_card", fields = { amount = 20 } }
expect = "require_approval"
rule = "policy.floor.unmatched"

[[test]]
name = "model calls are allowed"
action = { verb = "llm_call", tool_name = "openai.chat.completions.create", target_host = "api.openai.com" }
expect = "allow"
"#;

    fn starter_text() -> String {
        crate::starter::starter_policy(&PublicKey::from_base64(OPERATOR).unwrap())
    }

    fn starter() -> Policy {
        load_policy("heso.toml", starter_text().as_bytes())
            .unwrap()
            .policy
    }

    fn tests_file(text: &str) -> Result<Vec<PolicyTest>, Vec<PolicyIssue>> {
        parse_tests(&[TestSource {
            path: "heso.tests.toml",
            bytes: text.as_bytes(),
            kind: TestFileKind::Tests,
        }])
    }

    /// Every error of a tests file as `line:column: message [code]`.
    fn errors(text: &str) -> Vec<String> {
        tests_file(text)
            .unwrap_err()
            .iter()
            .map(|issue| format!("{issue} [{}]", issue.code))
            .collect()
    }

    /// One test around `body` (lines 2 onwards), with a valid name, action and expect unless
    /// `body` gives its own.
    fn one_error(body: &str) -> String {
        let found = errors(&format!("[[test]]\n{body}"));
        assert_eq!(found.len(), 1, "{found:#?}");
        found[0].clone()
    }

    fn run(policy: &Policy, text: &str) -> TestRun {
        run_tests(policy, &tests_file(text).unwrap())
    }

    #[test]
    fn spec_example_passes_on_the_starter_policy() {
        let tests = tests_file(SPEC_EXAMPLE).unwrap();
        assert_eq!(tests.len(), 3);
        assert_eq!(tests[0].file, "heso.tests.toml");
        assert_eq!(tests.iter().map(|t| t.line).collect::<Vec<_>>(), [1, 8, 14]);
        assert_eq!(tests[0].action.fields["amount"], json!(5000));
        assert_eq!(
            tests[2].action.target_host.as_deref(),
            Some("api.openai.com")
        );
        assert_eq!(tests[1].action.workflow, "default");
        let run = run_tests(&starter(), &tests);
        assert_eq!(
            run.text_lines(),
            [
                "PASS large payments need security-admin",
                "PASS small payments still need approval (floor)",
                "PASS model calls are allowed",
                "uncovered rules: tool.allow, http.allow, delete.requires_approval",
                "3 passed, 0 failed",
            ]
        );
        assert_eq!(run.exit_code(false), 0);
        assert_eq!(run.exit_code(true), 1);
        assert!(run.succeeded(false) && !run.succeeded(true));
        let value = run.to_json();
        assert_eq!(value["passed"], 3);
        assert_eq!(value["failed"], 0);
        assert_eq!(
            value["uncovered_rules"],
            json!(["tool.allow", "http.allow", "delete.requires_approval"])
        );
        assert_eq!(
            value["tests"][0],
            json!({
                "name": "large payments need security-admin",
                "file": "heso.tests.toml",
                "line": 1,
                "passed": true,
                "expected": {
                    "decision": "require_approval",
                    "rule_id": "payment.large.requires_approval",
                    "approvers": ["security-admin"],
                    "redacted": null,
                },
                "actual": {
                    "decision": "require_approval",
                    "rule_id": "payment.large.requires_approval",
                    "approvers": ["security-admin"],
                    "redacted": null,
                },
                "message": null,
            })
        );
        assert_eq!(
            value["tests"][2]["expected"],
            json!({"decision": "allow", "rule_id": null, "approvers": null, "redacted": null})
        );
        assert_eq!(value["tests"][2]["actual"]["rule_id"], "llm.allow");
    }

    #[test]
    fn full_coverage_passes_with_require_coverage() {
        let text = format!(
            "{SPEC_EXAMPLE}[[test]]\nname = \"t\"\naction = {{ verb = \"tool_call\" }}\nexpect = \"allow\"\n[[test]]\nname = \"h\"\naction = {{ verb = \"http_request\" }}\nexpect = \"allow\"\n[[test]]\nname = \"d\"\naction = {{ verb = \"delete\" }}\nexpect = \"require_approval\"\n"
        );
        let run = run(&starter(), &text);
        assert!(run.uncovered_rules.is_empty());
        assert_eq!(run.text_lines().last().unwrap(), "6 passed, 0 failed");
        assert_eq!(run.exit_code(true), 0);
        // A failing test still covers the rule that decided it, and fails the run on its own.
        let failing = run_tests(
            &starter(),
            &tests_file(
                "[[test]]\nname = \"x\"\naction = { verb = \"tool_call\" }\nexpect = \"block\"\n",
            )
            .unwrap(),
        );
        assert!(!failing.uncovered_rules.contains(&"tool.allow".to_owned()));
        assert_eq!(failing.exit_code(false), 1);
    }

    #[test]
    fn every_mismatch_kind_has_its_message() {
        let policy = load_policy(
            "heso.toml",
            format!("{}\n[[rule]]\nid = \"export.redact\"\norder = 60\nverb = \"data_export\"\nconditions = [{{ field = \"rows\", op = \"lte\", value = 100 }}]\ndecision = \"redact\"\nredact = [\"email\", \"card.number\"]\n", starter_text()).as_bytes(),
        )
        .unwrap()
        .policy;
        let text = r#"
[[test]]
name = "decision"
action = { verb = "payment", fields = { amount = 20 } }
expect = "allow"

[[test]]
name = "decision and rule"
action = { verb = "payment", fields = { amount = 20 } }
expect = "allow"
rule = "payment.large.requires_approval"

[[test]]
name = "rule only"
action = { verb = "payment", fields = { amount = 20 } }
expect = "require_approval"
rule = "payment.large.requires_approval"

[[test]]
name = "approvers"
action = { verb = "delete" }
expect = "require_approval"
approvers = ["security-admin", "finance"]

[[test]]
name = "approvers, order-insensitive"
action = { verb = "delete" }
expect = "require_approval"
approvers = ["security-admin", "security-admin"]

[[test]]
name = "no approvers expected"
action = { verb = "delete" }
expect = "require_approval"
approvers = []

[[test]]
name = "redacted"
action = { verb = "data_export", fields = { rows = 5 } }
expect = "redact"
redacted = ["email"]

[[test]]
name = "redacted, order-insensitive"
action = { verb = "data_export", fields = { rows = 5 } }
expect = "redact"
redacted = ["card.number", "email"]
"#;
        let run = run(&policy, text);
        assert_eq!(
            run.text_lines(),
            [
                "FAIL decision: expected allow, got require_approval (rule `policy.floor.unmatched`)",
                "FAIL decision and rule: expected allow by `payment.large.requires_approval`, got require_approval (rule `policy.floor.unmatched`)",
                "FAIL rule only: expected require_approval by `payment.large.requires_approval`, got require_approval (rule `policy.floor.unmatched`)",
                "FAIL approvers: expected approvers `finance, security-admin`, got `security-admin` (rule `delete.requires_approval`)",
                "PASS approvers, order-insensitive",
                "FAIL no approvers expected: expected approvers none, got `security-admin` (rule `delete.requires_approval`)",
                "FAIL redacted: expected redacted `email`, got `card.number, email` (rule `export.redact`)",
                "PASS redacted, order-insensitive",
                "uncovered rules: llm.allow, tool.allow, http.allow, payment.large.requires_approval",
                "2 passed, 6 failed",
            ]
        );
        let kinds: Vec<Option<Mismatch>> = run.results.iter().map(|r| r.mismatch).collect();
        assert_eq!(
            kinds,
            [
                Some(Mismatch::Decision),
                Some(Mismatch::Decision),
                Some(Mismatch::Decision),
                Some(Mismatch::Approvers),
                None,
                Some(Mismatch::Approvers),
                Some(Mismatch::Redacted),
                None,
            ]
        );
        let value = run.to_json();
        assert_eq!(value["failed"], 6);
        assert_eq!(value["tests"][0]["passed"], false);
        assert_eq!(
            value["tests"][0]["message"],
            "expected allow, got require_approval (rule `policy.floor.unmatched`)"
        );
        assert_eq!(
            value["tests"][6]["actual"],
            json!({"decision": "redact", "rule_id": "export.redact", "approvers": null, "redacted": ["email", "card.number"]})
        );
        assert_eq!(run.exit_code(false), 1);
    }

    #[test]
    fn counts_use_thousands_separators() {
        let mut text = String::new();
        for i in 0..1_001 {
            writeln!(
                text,
                "[[test]]\nname = \"t{i}\"\naction = {{ verb = \"llm_call\" }}\nexpect = \"allow\""
            )
            .unwrap();
        }
        let run = run(&starter(), &text);
        assert_eq!(run.text_lines().last().unwrap(), "1,001 passed, 0 failed");
    }

    #[test]
    fn names_are_unique_across_heso_toml_and_the_tests_file() {
        let policy_text = format!(
            "{}\n[[test]]\nname = \"shared\"\naction = {{ verb = \"llm_call\" }}\nexpect = \"allow\"\n[[test]]\nname = \"only in heso.toml\"\naction = {{ verb = \"tool_call\" }}\nexpect = \"allow\"\n",
            starter_text()
        );
        let policy_lines = policy_text.lines().count();
        let tests_text = "[[test]]\nname = \"fine\"\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n\n[[test]]\nname = \"shared\"\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n[[test]]\nname = \"fine\"\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n";
        let sources = [
            TestSource {
                path: "heso.toml",
                bytes: policy_text.as_bytes(),
                kind: TestFileKind::Policy,
            },
            TestSource {
                path: "heso.tests.toml",
                bytes: tests_text.as_bytes(),
                kind: TestFileKind::Tests,
            },
        ];
        let issues = parse_tests(&sources).unwrap_err();
        let shown: Vec<String> = issues
            .iter()
            .map(|issue| format!("{issue} [{}]", issue.code))
            .collect();
        assert_eq!(
            shown,
            [
                format!("heso.tests.toml:7:8: duplicate test name `shared` (first defined in heso.toml at line {}) [duplicate-id]", policy_lines - 7),
                "heso.tests.toml:11:8: duplicate test name `fine` (first defined at line 1) [duplicate-id]".to_owned(),
            ]
        );
        // Without the clash, both files' tests run together: heso.toml's first.
        let tests_text =
            "[[test]]\nname = \"fine\"\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n";
        let sources = [
            sources[0],
            TestSource {
                path: "heso.tests.toml",
                bytes: tests_text.as_bytes(),
                kind: TestFileKind::Tests,
            },
        ];
        let tests = parse_tests(&sources).unwrap();
        let names: Vec<(&str, &str)> = tests
            .iter()
            .map(|t| (t.file.as_str(), t.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("heso.toml", "shared"),
                ("heso.toml", "only in heso.toml"),
                ("heso.tests.toml", "fine")
            ]
        );
    }

    #[test]
    fn heso_toml_is_read_for_its_tests_only() {
        let none = parse_tests(&[TestSource {
            path: "heso.toml",
            bytes: starter_text().as_bytes(),
            kind: TestFileKind::Policy,
        }])
        .unwrap();
        assert!(none.is_empty());
        let empty = tests_file("# nothing yet\n").unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn action_defaults_of_spec_11() {
        let tests = tests_file(
            "[[test]]\nname = \"n\"\nexpect = \"block\"\n[test.action]\nverb = \"delete\"\n",
        )
        .unwrap();
        assert_eq!(
            tests[0].action,
            Action {
                verb: "delete".to_owned(),
                tool_name: "test".to_owned(),
                target_host: None,
                workflow: "default".to_owned(),
                account: "default".to_owned(),
                fields: Map::new(),
            }
        );
        let tests = tests_file("[[test]]\nname = \"n\"\nexpect = \"block\"\naction = { verb = \"http_request\", tool_name = \"get\", target_host = \"API.Example.COM.\", workflow = \"w\", account = \"a\", fields = { a = { b = [1, 2.5, true, \"s\"] } } }\n").unwrap();
        let action = &tests[0].action;
        assert_eq!(action.target_host.as_deref(), Some("api.example.com"));
        assert_eq!(
            (
                action.tool_name.as_str(),
                action.workflow.as_str(),
                action.account.as_str()
            ),
            ("get", "w", "a")
        );
        assert_eq!(
            Value::Object(action.fields.clone()),
            json!({"a": {"b": [1, 2.5, true, "s"]}})
        );
    }

    /// Asserts that each test body has exactly its one error, reporting every case that does not.
    fn assert_one_error_each(cases: Vec<(String, &str)>) {
        let mut wrong = Vec::new();
        for (body, expected) in cases {
            let found = one_error(&body);
            if found != expected {
                wrong.push(format!(
                    "{body}\n  found:    {found}\n  expected: {expected}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn strict_errors_in_actions_with_positions() {
        let valid = "name = \"n\"\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n";
        assert_one_error_each(vec![
            (
                format!("{valid}rules = \"x\"\n"),
                "heso.tests.toml:5:1: unknown key `rules` in test `n` (did you mean `rule`?) [unknown-key]",
            ),
            (
                "name = \"n\"\naction = { verb = \"llm_call\", tool = \"x\" }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:31: unknown key `tool` in the action of test `n` [unknown-key]",
            ),
            (
                "name = \"n\"\naction = { verb = \"llm_call\", feilds = {} }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:31: unknown key `feilds` in the action of test `n` (did you mean `fields`?) [unknown-key]",
            ),
            (
                "name = 5\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:2:8: `name` must be a string, found an integer [wrong-type]",
            ),
            (
                "name = \"n\"\naction = \"llm_call\"\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:10: `action` must be a table such as { verb = \"payment\", fields = { amount = 20 } }, found a string [wrong-type]",
            ),
            (
                "name = \"n\"\naction = { verb = \"llm_call\", fields = [1] }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:40: `fields` must be a table, found an array [wrong-type]",
            ),
            (
                "name = \"n\"\naction = { verb = \"llm_call\", tool_name = 1 }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:43: `tool_name` must be a string, found an integer [wrong-type]",
            ),
            (
                "name = \"n\"\naction = { verb = \"payments\" }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:19: unknown verb `payments`; expected one of llm_call, tool_call, http_request, payment, data_export, account_change, delete [bad-value]",
            ),
            (
                "name = \"n\"\naction = { verb = \"any\" }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:19: unknown verb `any`; expected one of llm_call, tool_call, http_request, payment, data_export, account_change, delete [bad-value]",
            ),
            (
                "name = \"n\"\naction = { verb = \"llm_call\", target_host = \"https://x.com/a\" }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:45: target_host `https://x.com/a` is not a host; write a name such as `api.example.com` or an IP address [bad-value]",
            ),
            (
                "name = \"n\"\naction = { verb = \"llm_call\", fields = { a = { b = nan } } }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:52: `nan` in `fields` is not a finite number; JSON has no such value [bad-value]",
            ),
            (
                "name = \"n\"\naction = { verb = \"llm_call\", fields = { at = 2026-01-31 } }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:47: `fields` cannot hold a date-time; write it as a string such as \"2026-01-31\" [wrong-type]",
            ),
            (
                "name = \"n\"\naction = { tool_name = \"x\" }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:3:10: the action of test `n` has no `verb` [missing-key]",
            ),
        ]);
    }

    #[test]
    fn strict_errors_in_expectations_with_positions() {
        let valid = "name = \"n\"\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n";
        assert_one_error_each(vec![
            (
                "name = \"n\"\naction = { verb = \"llm_call\" }\nexpect = \"allowed\"\n".to_owned(),
                "heso.tests.toml:4:10: unknown expect `allowed`; expected one of allow, block, redact, require_approval [bad-value]",
            ),
            (
                "name = \"\"\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n".to_owned(),
                "heso.tests.toml:2:8: test name must be 1 to 200 characters long, found 0 [bad-value]",
            ),
            (
                format!("name = \"{}\"\naction = {{ verb = \"llm_call\" }}\nexpect = \"allow\"\n", "é".repeat(201)),
                "heso.tests.toml:2:8: test name must be 1 to 200 characters long, found 201 [bad-value]",
            ),
            (
                format!("{valid}approvers = [\"security-admin\"]\n"),
                "heso.tests.toml:5:1: `approvers` is only valid when expect = \"require_approval\" [misplaced-key]",
            ),
            (
                format!("{valid}redacted = [\"email\"]\n"),
                "heso.tests.toml:5:1: `redacted` is only valid when expect = \"redact\" [misplaced-key]",
            ),
            (
                "name = \"n\"\naction = { verb = \"delete\" }\nexpect = \"require_approval\"\napprovers = \"security-admin\"\n".to_owned(),
                "heso.tests.toml:5:13: `approvers` must be an array of approver names, found a string [wrong-type]",
            ),
            (
                "name = \"n\"\naction = { verb = \"delete\" }\nexpect = \"require_approval\"\napprovers = [\"security admin\"]\n".to_owned(),
                "heso.tests.toml:5:14: approver name `security admin` is not valid; use 1 to 64 letters, digits, `_` or `-` [bad-value]",
            ),
            (
                "name = \"n\"\naction = { verb = \"data_export\" }\nexpect = \"redact\"\nredacted = [\"email\", 3]\n".to_owned(),
                "heso.tests.toml:5:22: items of `redacted` must be strings, found an integer [wrong-type]",
            ),
            (
                "name = \"n\"\naction = { verb = \"data_export\" }\nexpect = \"redact\"\nredacted = [\"$tool_name\"]\n".to_owned(),
                "heso.tests.toml:5:13: redact path `$tool_name` names action metadata; redact paths name fields such as `card.number` [bad-value]",
            ),
            (
                "name = \"n\"\naction = { verb = \"data_export\" }\nexpect = \"redact\"\nredacted = [\"card..number\"]\n".to_owned(),
                "heso.tests.toml:5:13: field path `card..number` has an empty segment; separate field names with single dots [bad-value]",
            ),
            (
                format!("{valid}rule = \"policy default\"\n"),
                "heso.tests.toml:5:8: rule id `policy default` is not valid; use up to 128 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit [bad-value]",
            ),
        ]);
    }

    #[test]
    fn missing_keys_and_every_error_in_file_order() {
        let found = errors("[[test]]\nexpect = 1\n\n[[test]]\nname = \"b\"\nexpect = \"nope\"\nredacted = [\"x\"]\naction = { verb = \"x\", zzz = 1 }\n[[test]]\nname = \"b\"\naction = { verb = \"llm_call\" }\nexpect = \"allow\"\n");
        assert_eq!(
            found,
            [
                "heso.tests.toml:1:1: the test at line 1 has no `name` [missing-key]",
                "heso.tests.toml:1:1: the test at line 1 has no `action` [missing-key]",
                "heso.tests.toml:2:10: `expect` must be a string, found an integer [wrong-type]",
                "heso.tests.toml:6:10: unknown expect `nope`; expected one of allow, block, redact, require_approval [bad-value]",
                "heso.tests.toml:8:24: unknown key `zzz` in the action of test `b` [unknown-key]",
                "heso.tests.toml:10:8: duplicate test name `b` (first defined at line 4) [duplicate-id]",
            ]
        );
    }

    #[test]
    fn tests_files_hold_only_test_tables() {
        let found = errors("version = 1\nmystery = 2\n[[rule]]\nid = \"x\"\n[tests]\n[tset]\n");
        assert_eq!(
            found,
            [
                "heso.tests.toml:1:1: `version` belongs in heso.toml; heso.tests.toml holds only [[test]] tables [unknown-key]",
                "heso.tests.toml:2:1: unknown key `mystery`; heso.tests.toml holds only [[test]] tables [unknown-key]",
                "heso.tests.toml:3:1: `rule` belongs in heso.toml; heso.tests.toml holds only [[test]] tables [unknown-key]",
                "heso.tests.toml:5:1: unknown table `tests`; tests are written [[test]] [unknown-key]",
                "heso.tests.toml:6:1: unknown table `tset` (did you mean `test`?); heso.tests.toml holds only [[test]] tables [unknown-key]",
            ]
        );
        assert_eq!(
            errors("[test]\nname = \"x\"\n"),
            ["heso.tests.toml:1:1: unknown table `test`; tests are written [[test]] [unknown-key]"]
        );
        assert_eq!(
            errors("test = [1]\n"),
            ["heso.tests.toml:1:9: `test` must be a table, found an integer [wrong-type]"]
        );
    }

    #[test]
    fn unreadable_files_stop_at_the_first_problem() {
        assert_eq!(
            errors("[[test]]\nname = \"a\"\nexpect \"allow\"\n"),
            ["heso.tests.toml:3:8: expected `=` after key `expect` [syntax]"]
        );
        assert_eq!(
            errors("\u{feff}[[test]]\n"),
            ["heso.tests.toml:1:1: the file starts with a byte-order mark; save it as UTF-8 without one [syntax]"]
        );
        let issues = parse_tests(&[TestSource {
            path: "heso.tests.toml",
            bytes: b"[[test]]\nname = \"\xff\"\n",
            kind: TestFileKind::Tests,
        }])
        .unwrap_err();
        assert_eq!(
            issues[0].to_string(),
            "heso.tests.toml:2:9: invalid UTF-8; save the file as UTF-8"
        );
    }
}
