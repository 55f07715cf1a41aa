//! The policy conformance corpus (policy.md §14): every file of `tests/vectors/policy/` run
//! through the public API, with every failing case reported at once by file and case name.
//!
//! The format is described in `tests/vectors/policy/README.md`; the Python runner reads the same
//! files through `heso._core`. This runner is strict about the files themselves: an unknown key,
//! a case without expectations or a repeated case name is a failure, so a typo in the corpus
//! cannot turn a case into one that asserts nothing.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "a panic is a failed test (clippy.toml covers #[test] fns, not helpers); tests read \
              the vector files, the library stays pure"
)]

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use heso_core::policy::eval::evaluate;
use heso_core::policy::load::{load_policy, LoadedPolicy, PolicyIssue};
use heso_core::policy::wire::{action_from_json, evaluation_to_json};
use serde_json::{Map, Value};

/// The files the corpus must have (policy.md §14 item 1); listing them makes a missing file a
/// failure, not a smaller loop.
const FILES: [&str; 9] = [
    "display.json",
    "errors.json",
    "evaluation.json",
    "floors.json",
    "globs.json",
    "numbers.json",
    "operators.json",
    "regex.json",
    "scopes.json",
];

const FILE_KEYS: [&str; 3] = ["description", "source", "cases"];
const CASE_KEYS: [&str; 8] = [
    "name",
    "note",
    "path",
    "policy",
    "errors",
    "warnings",
    "actions",
    "known_failure",
];
const ISSUE_KEYS: [&str; 4] = ["code", "line", "column", "message"];
const STEP_KEYS: [&str; 3] = ["note", "action", "expect"];
const EXPECT_KEYS: [&str; 11] = [
    "decision",
    "rule_id",
    "rule_display",
    "matched_conditions",
    "approval",
    "approvers",
    "roster",
    "quorum",
    "sla_minutes",
    "on_timeout",
    "redact",
];
/// Keys of `expect` that are compared with the member of the same name in `approval`.
const APPROVAL_TERMS: [&str; 5] = ["approvers", "roster", "quorum", "sla_minutes", "on_timeout"];
/// Lists compared without regard to order.
const UNORDERED: [&str; 2] = ["approvers", "redact"];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/policy")
}

/// The text of a `policy`: a string as is, or an array of lines, each ended by `\n`.
fn policy_text(policy: &Value) -> Result<String, String> {
    match policy {
        Value::String(text) => Ok(text.clone()),
        Value::Array(lines) => lines
            .iter()
            .map(|line| {
                line.as_str()
                    .map(|line| format!("{line}\n"))
                    .ok_or_else(|| "`policy` lines must be strings".to_owned())
            })
            .collect(),
        _ => Err("`policy` must be a string or an array of lines".to_owned()),
    }
}

fn unknown_keys(object: &Map<String, Value>, valid: &[&str], what: &str) -> Result<(), String> {
    match object.keys().find(|key| !valid.contains(&key.as_str())) {
        Some(key) => Err(format!("unknown key `{key}` in {what}")),
        None => Ok(()),
    }
}

/// Whether two JSON values are equal, numbers by value (`1000` equals `1000.0`, as in canonical
/// JSON and in Python).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() || y.is_f64() {
                x.as_f64() == y.as_f64()
            } else {
                x == y
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, value)| y.get(key).is_some_and(|other| json_equal(value, other)))
        }
        _ => a == b,
    }
}

/// Equality of two lists of strings without regard to order (`null` equals only `null`).
fn same_set(expected: &Value, actual: &Value) -> bool {
    let sorted = |value: &Value| {
        value.as_array().map(|items| {
            let mut texts: Vec<String> = items.iter().map(ToString::to_string).collect();
            texts.sort();
            texts
        })
    };
    match (expected, actual) {
        (Value::Null, Value::Null) => true,
        (Value::Array(_), Value::Array(_)) => sorted(expected) == sorted(actual),
        _ => false,
    }
}

/// Issues as text, one indented line each, with their codes.
fn listed(issues: &[PolicyIssue]) -> String {
    let mut out = String::new();
    for issue in issues {
        out.push_str("\n      ");
        out.push_str(&issue.to_string());
        out.push_str(" [");
        out.push_str(issue.code);
        out.push(']');
    }
    out
}

/// Compares issues with the expected list: same length, and each expected key equal.
fn compare_issues(kind: &str, expected: &Value, actual: &[PolicyIssue]) -> Result<(), String> {
    let expected = expected
        .as_array()
        .ok_or_else(|| format!("`{kind}` must be an array"))?;
    let shown = || listed(actual);
    for item in expected {
        let object = item
            .as_object()
            .ok_or_else(|| format!("items of `{kind}` must be objects"))?;
        unknown_keys(object, &ISSUE_KEYS, &format!("an item of `{kind}`"))?;
        if !object.contains_key("code") {
            return Err(format!("an item of `{kind}` has no `code`"));
        }
    }
    if expected.len() != actual.len() {
        return Err(format!(
            "expected {} {kind}, got {}:{}",
            expected.len(),
            actual.len(),
            shown()
        ));
    }
    for (index, (want, got)) in expected.iter().zip(actual).enumerate() {
        let got_json = serde_json::json!({
            "code": got.code, "line": got.line, "column": got.column, "message": got.message,
        });
        for (key, value) in want.as_object().into_iter().flatten() {
            if !json_equal(value, &got_json[key]) {
                return Err(format!(
                    "{kind}[{index}].{key}: expected {value}, got {}; all {kind}:{}",
                    got_json[key],
                    shown()
                ));
            }
        }
    }
    Ok(())
}

/// Evaluates one action step and compares the keys its `expect` gives.
fn run_step(loaded: &LoadedPolicy, step: &Value) -> Result<(), String> {
    let step = step
        .as_object()
        .ok_or("items of `actions` must be objects")?;
    unknown_keys(step, &STEP_KEYS, "an item of `actions`")?;
    let action = step
        .get("action")
        .ok_or("an item of `actions` has no `action`")?;
    let expect = step
        .get("expect")
        .and_then(Value::as_object)
        .ok_or("an item of `actions` has no `expect` object")?;
    unknown_keys(expect, &EXPECT_KEYS, "`expect`")?;
    if expect.is_empty() {
        return Err("`expect` is empty".to_owned());
    }
    let action =
        action_from_json(action).map_err(|error| format!("action {action} is refused: {error}"))?;
    let result = evaluation_to_json(&evaluate(&loaded.policy, &action));
    for (key, want) in expect {
        let got = if APPROVAL_TERMS.contains(&key.as_str()) {
            match &result["approval"] {
                Value::Object(terms) => terms.get(key).cloned().unwrap_or(Value::Null),
                _ => {
                    return Err(format!(
                        "expected approval terms, got no approval in {result}"
                    ))
                }
            }
        } else {
            result[key.as_str()].clone()
        };
        let equal = if UNORDERED.contains(&key.as_str()) {
            same_set(want, &got)
        } else {
            json_equal(want, &got)
        };
        if !equal {
            return Err(format!(
                "{key}: expected {want}, got {got}\n      evaluation: {result}"
            ));
        }
    }
    Ok(())
}

/// Runs one case; `Err` holds what went wrong.
fn run_case(case: &Map<String, Value>) -> Result<(), String> {
    unknown_keys(case, &CASE_KEYS, "the case")?;
    let text = policy_text(case.get("policy").ok_or("the case has no `policy`")?)?;
    let path = case
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or("heso.toml");
    let expects_errors = case.contains_key("errors");
    if expects_errors && (case.contains_key("actions") || case.contains_key("warnings")) {
        return Err("a case with `errors` cannot have `actions` or `warnings`".to_owned());
    }
    if !expects_errors && !case.contains_key("actions") && !case.contains_key("warnings") {
        return Err("the case has none of `errors`, `warnings`, `actions`".to_owned());
    }
    let loaded = load_policy(path, text.as_bytes());
    match (loaded, case.get("errors")) {
        (Err(issues), Some(expected)) => compare_issues("errors", expected, &issues),
        (Ok(_), Some(_)) => Err("the policy loaded, but errors were expected".to_owned()),
        (Err(issues), None) => Err(format!("the policy does not load:{}", listed(&issues))),
        (Ok(loaded), None) => {
            if let Some(expected) = case.get("warnings") {
                compare_issues("warnings", expected, &loaded.warnings)?;
            }
            let steps = match case.get("actions") {
                None => return Ok(()),
                Some(Value::Array(steps)) if !steps.is_empty() => steps,
                Some(_) => return Err("`actions` must be a non-empty array".to_owned()),
            };
            let mut failures = Vec::new();
            for (index, step) in steps.iter().enumerate() {
                if let Err(problem) = run_step(&loaded, step) {
                    let note = step
                        .get("note")
                        .and_then(Value::as_str)
                        .map(|note| format!(" ({note})"))
                        .unwrap_or_default();
                    failures.push(format!("actions[{index}]{note}: {problem}"));
                }
            }
            if failures.is_empty() {
                Ok(())
            } else {
                Err(failures.join("\n    "))
            }
        }
    }
}

/// Runs every case of one file; returns the number of cases and appends failures.
fn run_file(name: &str, failures: &mut Vec<String>) -> usize {
    let path = corpus_dir().join(name);
    let bytes = fs::read(&path).unwrap_or_else(|error| panic!("cannot read {name}: {error}"));
    let file: Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
    let file = file
        .as_object()
        .unwrap_or_else(|| panic!("{name}: not an object"));
    if let Err(problem) = unknown_keys(file, &FILE_KEYS, "the file") {
        failures.push(format!("{name}: {problem}"));
    }
    for key in ["description", "source"] {
        if !file.get(key).is_some_and(Value::is_string) {
            failures.push(format!("{name}: `{key}` must be a string"));
        }
    }
    let cases = file
        .get("cases")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{name}: no `cases` array"));
    assert!(!cases.is_empty(), "{name} has no cases");
    let mut names = HashSet::new();
    for (index, case) in cases.iter().enumerate() {
        let Some(case) = case.as_object() else {
            failures.push(format!("{name}: cases[{index}] is not an object"));
            continue;
        };
        let Some(case_name) = case.get("name").and_then(Value::as_str) else {
            failures.push(format!("{name}: cases[{index}] has no `name`"));
            continue;
        };
        if !names.insert(case_name.to_owned()) {
            failures.push(format!("{name}: case name `{case_name}` is used twice"));
        }
        let outcome = run_case(case);
        match (case.get("known_failure"), outcome) {
            (None, Ok(())) => {}
            (None, Err(problem)) => failures.push(format!("{name}: {case_name}:\n    {problem}")),
            (Some(reason), Err(problem)) => eprintln!(
                "note: {name}: {case_name}: known failure ({reason}), skipped:\n    {problem}"
            ),
            (Some(_), Ok(())) => failures.push(format!(
                "{name}: {case_name}: marked known_failure but passes; remove the marker"
            )),
        }
    }
    cases.len()
}

#[test]
fn every_policy_vector_holds() {
    let mut failures = Vec::new();
    let mut total = 0;
    for name in FILES {
        let count = run_file(name, &mut failures);
        eprintln!("{name}: {count} cases");
        total += count;
    }
    assert!(total > 0, "the policy corpus is empty");
    assert!(
        failures.is_empty(),
        "{} failing policy vector case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_directory_holds_no_file_this_test_does_not_know() {
    let mut found: Vec<String> = fs::read_dir(corpus_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| Path::new(name).extension().is_some_and(|ext| ext == "json"))
        .collect();
    found.sort();
    assert_eq!(found, FILES);
}
