//! Strict loading of `heso.toml` (policy.md §10): the file's bytes in, a [`Policy`] and its
//! warnings out, or every error with its position, in file order.
//!
//! The file is parsed into `toml`'s spanned document model, so every key and value keeps its byte
//! range. Each table is then validated on its own and whatever is found is sorted by position. A
//! TOML syntax error stops at the first error, as the parser does; after a successful parse every
//! error is collected. The floor check (policy.md §8) runs only on a policy that is otherwise
//! valid, because a floor message about a half-understood rule would mislead.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ed25519_dalek::VerifyingKey;
use toml::de::{DeArray, DeString, DeTable, DeValue};
use toml::Spanned;

use crate::identity::PublicKey;
use crate::policy::condition::{Condition, ConditionError, FieldPath};
use crate::policy::floors::{floor_violations, FloorViolation};
use crate::policy::model::{ApprovalRule, Decision, Policy, Rule, Settings, Subject};
use crate::policy::scope::{Scope, ScopeError};
use crate::policy::shadow::shadowed_rules;
use crate::policy::testing::parse_test;

/// The largest `heso.toml`, in bytes (policy.md §1).
const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The most rules of a policy (policy.md §1).
const MAX_RULES: usize = 10_000;
/// The most conditions of a rule (policy.md §1).
const MAX_CONDITIONS: usize = 64;
/// The largest string value, in bytes (policy.md §1).
const MAX_STRING_BYTES: usize = 64 * 1024;
/// The longest approval deadline: one year of minutes (policy.md §6).
const MAX_SLA_MINUTES: i64 = 525_600;
/// The deadline of a `require_approval` rule without `sla_minutes`.
const DEFAULT_SLA_MINUTES: u32 = 1_440;
/// The longest `busy_timeout_ms` (policy.md §5).
const MAX_BUSY_TIMEOUT_MS: i64 = 600_000;

/// The top-level keys and tables (policy.md §2).
const TOP_LEVEL_KEYS: [&str; 7] = [
    "version",
    "default_decision",
    "identity",
    "approvers",
    "settings",
    "rule",
    "test",
];
/// The keys of `[identity]` (policy.md §3).
const IDENTITY_KEYS: [&str; 1] = ["operator"];
/// The keys of `[settings]` (policy.md §5).
const SETTINGS_KEYS: [&str; 7] = [
    "data_dir",
    "workflow",
    "account",
    "blocking",
    "durability",
    "endpoint",
    "busy_timeout_ms",
];
/// The keys of a `[[rule]]` (policy.md §6).
const RULE_KEYS: [&str; 13] = [
    "id",
    "order",
    "enabled",
    "subject",
    "verb",
    "scope",
    "conditions",
    "decision",
    "approvers",
    "quorum",
    "sla_minutes",
    "on_timeout",
    "redact",
];
/// The keys that only a `require_approval` rule may have.
const APPROVAL_KEYS: [&str; 4] = ["approvers", "quorum", "sla_minutes", "on_timeout"];
/// The keys of a rule's `subject` (policy.md §6.1).
const SUBJECT_KEYS: [&str; 2] = ["kind", "value"];
/// The keys of a condition (policy.md §6.3).
const CONDITION_KEYS: [&str; 4] = ["field", "op", "value", "display"];
/// The keys of a `[[test]]` (policy.md §11).
pub(crate) const TEST_KEYS: [&str; 6] =
    ["name", "action", "expect", "rule", "approvers", "redacted"];
/// The verbs of policy.md §6.2, and `any`.
const VERBS: [&str; 8] = [
    "llm_call",
    "tool_call",
    "http_request",
    "payment",
    "data_export",
    "account_change",
    "delete",
    "any",
];

/// One error or warning of policy.md §10: `{code, path, line, column, message}`.
///
/// Positions are 1-based and columns count Unicode scalar values. Issues about the whole file
/// (`empty`, `no-rules`, a missing `[identity]`) have no position: line and column are 0 and the
/// message names the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyIssue {
    /// The stable code, such as `unknown-key` or `floor`.
    pub code: &'static str,
    /// How the file is named in messages, such as `heso.toml`.
    pub path: String,
    /// 1-based line, or 0 for an issue about the whole file.
    pub line: usize,
    /// 1-based column in Unicode scalar values, or 0 for an issue about the whole file.
    pub column: usize,
    /// One line, lowercase start, no final period.
    pub message: String,
}

impl fmt::Display for PolicyIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path, self.line, self.column, self.message
            )
        }
    }
}

/// A policy that loaded, with the warnings found on the way (they never change the result).
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The policy.
    pub policy: Policy,
    /// Warnings, in file order (those about the whole file last).
    pub warnings: Vec<PolicyIssue>,
    /// `[settings]`.
    pub settings: Settings,
}

/// Loads `heso.toml` strictly: all valid, or every error in file order.
///
/// `path` is how the file is named in messages (for example `heso.toml`); nothing is read from it.
pub fn load_policy(path: &str, bytes: &[u8]) -> Result<LoadedPolicy, Vec<PolicyIssue>> {
    load_policy_detailed(path, bytes).map_err(|failure| failure.issues)
}

/// Why a policy did not load: every issue, and the floor violations behind `floor` issues (they
/// exist only when nothing else is wrong), for callers that name the offending rule and verb.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    /// Every error, in file order.
    pub issues: Vec<PolicyIssue>,
    /// The rules that break a floor, in file order (empty unless the issues are all `floor`).
    pub floors: Vec<FloorViolation>,
}

/// [`load_policy`], keeping the floor violations of a policy rejected by the floor check.
pub fn load_policy_detailed(path: &str, bytes: &[u8]) -> Result<LoadedPolicy, LoadFailure> {
    let only = |issue| LoadFailure {
        issues: vec![issue],
        floors: Vec::new(),
    };
    let source = decode(path, bytes).map_err(only)?;
    let document =
        DeTable::parse(source).map_err(|error| only(syntax_issue(path, source, &error)))?;
    let mut loader = Loader {
        path,
        source,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let table = document.get_ref();
    if table.is_empty() {
        let message = format!("{path} is empty; run `heso-compliance init` in a new directory to see a starter policy, or add a [[rule]]");
        return Err(only(loader.issue("empty", None, message).1));
    }
    let parts = loader.document(table);
    loader.finish(parts, bytes)
}

/// The file as UTF-8 text within the size limit, or the one issue that stops loading.
pub(crate) fn decode<'b>(path: &str, bytes: &'b [u8]) -> Result<&'b str, PolicyIssue> {
    let whole = |code, line, column, message| PolicyIssue {
        code,
        path: path.to_owned(),
        line,
        column,
        message,
    };
    if bytes.len() > MAX_FILE_BYTES {
        let message = format!(
            "{path} is {} bytes; the limit is 1 MiB (1,048,576 bytes)",
            bytes.len()
        );
        return Err(whole("bad-value", 0, 0, message));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if text.starts_with('\u{feff}') => Err(whole(
            "syntax",
            1,
            1,
            "the file starts with a byte-order mark; save it as UTF-8 without one".to_owned(),
        )),
        Ok(text) => Ok(text),
        Err(error) => {
            let valid = bytes.get(..error.valid_up_to()).unwrap_or_default();
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            let (line, column) = position(prefix, prefix.len());
            Err(whole(
                "syntax",
                line,
                column,
                "invalid UTF-8; save the file as UTF-8".to_owned(),
            ))
        }
    }
}

/// The one `syntax` issue of a file TOML refuses, with the parser's position and a one-line
/// message.
pub(crate) fn syntax_issue(path: &str, source: &str, error: &toml::de::Error) -> PolicyIssue {
    let offset = error.span().map_or(0, |span| span.start);
    let first_line = error.message().lines().next().unwrap_or("invalid TOML");
    let message = match first_line {
        "key with no value, expected `=`" => match key_before(source, offset) {
            Some(key) => format!("expected `=` after key `{key}`"),
            None => "expected `=` after a key".to_owned(),
        },
        "duplicate key" => {
            let key = error
                .span()
                .and_then(|span| source.get(span))
                .unwrap_or_default();
            format!("duplicate key `{}`", shown(key))
        }
        other => other.to_owned(),
    };
    let (line, column) = position(source, offset);
    PolicyIssue {
        code: "syntax",
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// The bare key that ends just before `offset` on its line, if any.
fn key_before(source: &str, offset: usize) -> Option<&str> {
    let before = source.get(..offset)?;
    let line = before.rsplit('\n').next()?.trim_end();
    let start = line
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |i| i + 1);
    line.get(start..).filter(|key| !key.is_empty())
}

/// The 1-based line and column (in Unicode scalar values) of a byte offset.
pub(crate) fn position(source: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(source.len());
    while !source.is_char_boundary(end) {
        end -= 1;
    }
    let before = source.get(..end).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// A user value shown in a message, on one line.
pub(crate) fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// " (did you mean `x`?)" when a valid name is within edit distance 2, otherwise "".
pub(crate) fn did_you_mean<S: AsRef<str>>(written: &str, valid: &[S]) -> String {
    valid
        .iter()
        .map(|name| (edit_distance(written, name.as_ref()), name.as_ref()))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| format!(" (did you mean `{name}`?)"))
        .unwrap_or_default()
}

/// The Levenshtein distance between two strings, in Unicode scalar values.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute =
                previous.get(j).copied().unwrap_or(usize::MAX) + usize::from(ca != *cb);
            let delete = previous
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let insert = current
                .get(j)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

/// The TOML type of a value, with its article, for `wrong-type` messages.
pub(crate) fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// A TOML integer as an `i64`, or `None` when it does not fit.
pub(crate) fn integer_value(value: &toml::de::DeInteger<'_>) -> Option<i64> {
    i64::from_str_radix(value.as_str(), value.radix()).ok()
}

/// A value converted to `toml::Value` for [`Condition::from_toml`]; `None` for an integer
/// outside `i64`.
fn to_toml(value: &DeValue<'_>) -> Option<toml::Value> {
    Some(match value {
        DeValue::String(text) => toml::Value::String(text.to_string()),
        DeValue::Integer(number) => toml::Value::Integer(integer_value(number)?),
        DeValue::Float(number) => toml::Value::Float(number.as_str().parse().ok()?),
        DeValue::Boolean(flag) => toml::Value::Boolean(*flag),
        DeValue::Datetime(datetime) => toml::Value::Datetime(*datetime),
        DeValue::Array(items) => toml::Value::Array(
            items
                .iter()
                .map(|item| to_toml(item.get_ref()))
                .collect::<Option<_>>()?,
        ),
        DeValue::Table(table) => {
            let mut out = toml::Table::new();
            for (key, item) in table {
                out.insert(key.get_ref().to_string(), to_toml(item.get_ref())?);
            }
            toml::Value::Table(out)
        }
    })
}

/// Whether a value was written as a `[table]` or `[[table]]` header rather than after a key.
pub(crate) fn is_header(key: &Spanned<DeString<'_>>, item: &Spanned<DeValue<'_>>) -> bool {
    item.span().start < key.span().start
}

/// Where a top-level entry is reported: its `[table]` header, or its key.
pub(crate) fn entry_offset(key: &Spanned<DeString<'_>>, item: &Spanned<DeValue<'_>>) -> usize {
    if is_header(key, item) {
        item.span().start
    } else {
        key.span().start
    }
}

/// Whether a regex is anchored at both ends, after any leading inline flags such as `(?i)`.
fn is_anchored(pattern: &str) -> bool {
    let mut rest = pattern;
    while let Some(tail) = rest.strip_prefix("(?") {
        match tail.find(')') {
            Some(end) if !tail.get(..end).unwrap_or_default().contains(':') => {
                rest = tail.get(end + 1..).unwrap_or_default();
            }
            _ => break,
        }
    }
    (rest.starts_with('^') || rest.starts_with("\\A"))
        && (rest.ends_with('$') || rest.ends_with("\\z"))
}

/// Whether `endpoint` is `https://…`, or `http://` to a loopback host (policy.md §5).
fn is_allowed_endpoint(endpoint: &str) -> bool {
    if let Some(rest) = endpoint.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether an approver name is `[A-Za-z0-9_-]{1,64}`.
pub(crate) fn is_approver_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether a rule id is `[A-Za-z0-9][A-Za-z0-9._:-]{0,127}`.
pub(crate) fn is_rule_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

/// A decision name of the file.
pub(crate) fn decision_named(name: &str) -> Option<Decision> {
    match name {
        "allow" => Some(Decision::Allow),
        "block" => Some(Decision::Block),
        "redact" => Some(Decision::Redact),
        "require_approval" => Some(Decision::RequireApproval),
        _ => None,
    }
}

/// An error was recorded; whatever depended on the value is skipped.
pub(crate) struct Reported;

/// A key that may be absent, present, or present but wrong (already reported).
pub(crate) type Got<T> = Result<Option<T>, Reported>;

/// One name of `[approvers]`.
struct Approver {
    name: String,
    keys: Vec<PublicKey>,
    /// Where its name is written.
    offset: usize,
}

/// What the tables add up to, once each has been validated.
struct Parts {
    default_decision: Decision,
    settings: Settings,
    operators: Option<Vec<PublicKey>>,
    approvers: Vec<Approver>,
    /// The rules with the offsets of their headers.
    rules: Vec<(Rule, usize)>,
}

/// The validation state: the text for positions and what has been found so far.
pub(crate) struct Loader<'s> {
    pub(crate) path: &'s str,
    pub(crate) source: &'s str,
    /// Errors with their byte offsets (`usize::MAX` for the whole file), for sorting.
    pub(crate) errors: Vec<(usize, PolicyIssue)>,
    pub(crate) warnings: Vec<(usize, PolicyIssue)>,
}

impl Loader<'_> {
    pub(crate) fn issue(
        &self,
        code: &'static str,
        offset: Option<usize>,
        message: String,
    ) -> (usize, PolicyIssue) {
        let (line, column) = offset.map_or((0, 0), |offset| position(self.source, offset));
        let issue = PolicyIssue {
            code,
            path: self.path.to_owned(),
            line,
            column,
            message,
        };
        (offset.unwrap_or(usize::MAX), issue)
    }

    pub(crate) fn error(&mut self, code: &'static str, offset: usize, message: String) -> Reported {
        let issue = self.issue(code, Some(offset), message);
        self.errors.push(issue);
        Reported
    }

    fn warn(&mut self, code: &'static str, offset: Option<usize>, message: String) {
        let issue = self.issue(code, offset, message);
        self.warnings.push(issue);
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        position(self.source, offset).0
    }

    /// Reports every key of `table` that is not in `valid`; `place` completes the message, such
    /// as " in rule `tool.allow`".
    pub(crate) fn unknown_keys(&mut self, table: &DeTable<'_>, valid: &[&str], place: &str) {
        for (key, _) in table {
            let name = key.get_ref().as_ref();
            if !valid.contains(&name) {
                let message = format!(
                    "unknown key `{}`{place}{}",
                    shown(name),
                    did_you_mean(name, valid)
                );
                self.error("unknown-key", key.span().start, message);
            }
        }
    }

    pub(crate) fn wrong_type(
        &mut self,
        name: &str,
        expected: &str,
        item: &Spanned<DeValue<'_>>,
    ) -> Reported {
        let message = format!(
            "`{name}` must be {expected}, found {}",
            type_name(item.get_ref())
        );
        self.error("wrong-type", item.span().start, message)
    }

    /// A string value of `table`, within the 64 KiB limit, with its offset.
    pub(crate) fn string<'a>(
        &mut self,
        table: &'a DeTable<'_>,
        name: &str,
    ) -> Got<(&'a str, usize)> {
        let Some((_, item)) = table.get_key_value(name) else {
            return Ok(None);
        };
        let Some(text) = item.get_ref().as_str() else {
            return Err(self.wrong_type(name, "a string", item));
        };
        if text.len() > MAX_STRING_BYTES {
            let message = format!(
                "`{name}` is {} bytes long; the limit is 65,536 bytes (64 KiB)",
                text.len()
            );
            return Err(self.error("bad-value", item.span().start, message));
        }
        Ok(Some((text, item.span().start)))
    }

    /// An integer value of `table`, with its offset.
    fn integer(&mut self, table: &DeTable<'_>, name: &str) -> Got<(i64, usize)> {
        let Some((_, item)) = table.get_key_value(name) else {
            return Ok(None);
        };
        let DeValue::Integer(number) = item.get_ref() else {
            return Err(self.wrong_type(name, "an integer", item));
        };
        if let Some(value) = integer_value(number) {
            Ok(Some((value, item.span().start)))
        } else {
            let message = format!("`{name}` is out of range for a 64-bit integer");
            Err(self.error("bad-value", item.span().start, message))
        }
    }

    /// A boolean value of `table`.
    fn boolean(&mut self, table: &DeTable<'_>, name: &str) -> Got<bool> {
        let Some((_, item)) = table.get_key_value(name) else {
            return Ok(None);
        };
        match item.get_ref().as_bool() {
            Some(flag) => Ok(Some(flag)),
            None => Err(self.wrong_type(name, "a boolean", item)),
        }
    }

    /// An array value of `table`, with its offset.
    pub(crate) fn array<'a, 'i>(
        &mut self,
        table: &'a DeTable<'i>,
        name: &str,
        expected: &str,
    ) -> Got<(&'a DeArray<'i>, usize)> {
        let Some((_, item)) = table.get_key_value(name) else {
            return Ok(None);
        };
        match item.get_ref().as_array() {
            Some(items) => Ok(Some((items, item.span().start))),
            None => Err(self.wrong_type(name, expected, item)),
        }
    }

    /// Every string of an array, each with its offset; wrong items are reported.
    pub(crate) fn strings<'a>(
        &mut self,
        name: &str,
        items: &'a DeArray<'_>,
    ) -> Option<Vec<(&'a str, usize)>> {
        let mut out = Vec::new();
        let mut valid = true;
        for item in items {
            match item.get_ref().as_str() {
                Some(text) if text.len() <= MAX_STRING_BYTES => out.push((text, item.span().start)),
                Some(text) => {
                    let message = format!(
                        "an item of `{name}` is {} bytes long; the limit is 65,536 bytes (64 KiB)",
                        text.len()
                    );
                    self.error("bad-value", item.span().start, message);
                    valid = false;
                }
                None => {
                    let message = format!(
                        "items of `{name}` must be strings, found {}",
                        type_name(item.get_ref())
                    );
                    self.error("wrong-type", item.span().start, message);
                    valid = false;
                }
            }
        }
        valid.then_some(out)
    }
}

impl Loader<'_> {
    /// Validates the whole document.
    fn document(&mut self, table: &DeTable<'_>) -> Parts {
        self.top_level_keys(table);
        self.version(table);
        let default_decision = self.default_decision(table);
        let operators = self.identity(table);
        let approvers = self.approvers(table, operators.as_deref().unwrap_or_default());
        let settings = self.settings(table);
        let rules = self.rules(table, &approvers);
        self.tests(table);
        self.unkeyed_approver_warnings(&approvers, &rules);
        let has_rule_table = table.iter().any(|(key, _)| {
            matches!(
                key.get_ref().to_ascii_lowercase().as_str(),
                "rule" | "rules"
            )
        });
        // A default_decision written with a wrong value is reported as such, not as "no rules".
        if !has_rule_table && !table.contains_key("default_decision") {
            let message = format!(
                "{} has no [[rule]]; add rules, or set default_decision explicitly",
                self.path
            );
            let issue = self.issue("no-rules", None, message);
            self.errors.push(issue);
        }
        Parts {
            default_decision: default_decision.unwrap_or(Decision::RequireApproval),
            settings,
            operators,
            approvers,
            rules,
        }
    }

    /// Builds the policy when nothing is wrong, checks its floors, and sorts what was found.
    fn finish(mut self, parts: Parts, bytes: &[u8]) -> Result<LoadedPolicy, LoadFailure> {
        let mut headers = Vec::new();
        let mut rules = Vec::new();
        for (rule, header) in parts.rules {
            headers.push(header);
            rules.push(rule);
        }
        let policy = Policy::new(
            crate::crypto::blake3_hex(bytes),
            parts.default_decision,
            parts.operators,
            parts
                .approvers
                .into_iter()
                .map(|approver| (approver.name, approver.keys))
                .collect(),
            rules,
        );
        let mut floors = Vec::new();
        if self.errors.is_empty() {
            floors = floor_violations(&policy);
            for violation in &floors {
                let header = policy
                    .rules
                    .iter()
                    .position(|rule| rule.id == violation.rule_id)
                    .and_then(|index| headers.get(index).copied())
                    .unwrap_or(0);
                self.error("floor", header, violation.message.clone());
            }
        }
        if self.errors.is_empty() {
            self.shadowed_warnings(&policy, &headers);
        }
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|(offset, _)| *offset);
            return Err(LoadFailure {
                issues: self.errors.into_iter().map(|(_, issue)| issue).collect(),
                floors,
            });
        }
        self.warnings.sort_by_key(|(offset, _)| *offset);
        Ok(LoadedPolicy {
            policy,
            warnings: self.warnings.into_iter().map(|(_, issue)| issue).collect(),
            settings: parts.settings,
        })
    }

    /// Warns about rules an earlier rule hides (policy.md §10 `shadowed`).
    fn shadowed_warnings(&mut self, policy: &Policy, headers: &[usize]) {
        for shadowing in shadowed_rules(policy) {
            let (Some(hidden), Some(by), Some(&header)) = (
                policy.rules.get(shadowing.hidden),
                policy.rules.get(shadowing.by),
                headers.get(shadowing.hidden),
            ) else {
                continue;
            };
            let message = format!(
                "rule `{}` can never match: rule `{}` (line {}) comes first and matches every action it could; give `{}` a lower order or narrow `{}`",
                shown(&hidden.id),
                shown(&by.id),
                by.line,
                shown(&hidden.id),
                shown(&by.id),
            );
            self.warn("shadowed", Some(header), message);
        }
    }

    /// Reports unknown top-level keys and tables, with a hint for the usual misspellings of
    /// `[[rule]]`.
    fn top_level_keys(&mut self, table: &DeTable<'_>) {
        for (key, item) in table {
            let name = key.get_ref().as_ref();
            let rule_array = name == "rule" && item.get_ref().is_array();
            let test_array = name == "test" && item.get_ref().is_array();
            if rule_array
                || test_array
                || (TOP_LEVEL_KEYS.contains(&name) && !matches!(name, "rule" | "test"))
            {
                continue;
            }
            let header = is_header(key, item);
            let offset = entry_offset(key, item);
            let lower = name.to_ascii_lowercase();
            let message = if lower == "rule" || lower == "rules" {
                format!(
                    "unknown table `{}`; rules are written [[rule]]",
                    shown(name)
                )
            } else if lower == "test" || lower == "tests" {
                format!(
                    "unknown table `{}`; tests are written [[test]]",
                    shown(name)
                )
            } else if header || item.get_ref().is_table() {
                format!(
                    "unknown table `{}`{}",
                    shown(name),
                    did_you_mean(name, &TOP_LEVEL_KEYS)
                )
            } else {
                format!(
                    "unknown key `{}`{}",
                    shown(name),
                    did_you_mean(name, &TOP_LEVEL_KEYS)
                )
            };
            self.error("unknown-key", offset, message);
        }
    }

    fn version(&mut self, table: &DeTable<'_>) {
        if let Ok(Some((version, offset))) = self.integer(table, "version") {
            if version != 1 {
                let message = format!("unsupported version {version}; this heso reads version 1");
                self.error("bad-value", offset, message);
            }
        }
    }

    /// `default_decision`, or `None` when it is not written (or wrong, which is reported).
    fn default_decision(&mut self, table: &DeTable<'_>) -> Option<Decision> {
        let (name, offset) = self.string(table, "default_decision").ok()??;
        match decision_named(name) {
            Some(decision) if decision != Decision::Redact => Some(decision),
            _ => {
                let message = format!(
                    "unknown default_decision `{}`; expected one of allow, block, require_approval",
                    shown(name)
                );
                self.error("bad-value", offset, message);
                None
            }
        }
    }
}

impl Loader<'_> {
    /// A base64 Ed25519 public key that is a valid, non-small-order point (policy.md §3).
    fn public_key(&mut self, text: &str, offset: usize) -> Option<PublicKey> {
        let key = match PublicKey::from_base64(text) {
            Ok(key) => key,
            Err(error) => {
                let message = format!("{error}; paste the key as `heso approver init` or `heso-compliance init` printed it");
                self.error("bad-value", offset, shown(&message));
                return None;
            }
        };
        let weak = if let Ok(point) = VerifyingKey::from_bytes(key.as_bytes()) {
            point.is_weak()
        } else {
            let message = format!("`{}` is not a valid Ed25519 public key", shown(text));
            self.error("bad-value", offset, message);
            return None;
        };
        if weak {
            let message = format!(
                "`{}` is a small-order Ed25519 point that cannot identify a signer; use a real public key",
                shown(text)
            );
            self.error("bad-value", offset, message);
            return None;
        }
        Some(key)
    }

    /// `[identity]` (policy.md §3): its operator keys, or `None` when the table is absent or
    /// wrong. A missing table is a warning.
    fn identity(&mut self, table: &DeTable<'_>) -> Option<Vec<PublicKey>> {
        let Some((_, item)) = table.get_key_value("identity") else {
            let message = format!("{} has no [identity] table, so receipts are not pinned to an operator key and strict mode refuses to start; add [identity] with operator = [\"<your operator public key>\"]", self.path);
            self.warn("no-identity", None, message);
            return None;
        };
        let Some(identity) = item.get_ref().as_table() else {
            self.wrong_type("identity", "a table", item);
            return None;
        };
        self.unknown_keys(identity, &IDENTITY_KEYS, " in [identity]");
        let (items, offset) = match self.array(identity, "operator", "an array of public keys") {
            Ok(Some(found)) => found,
            Ok(None) => {
                self.error(
                    "missing-key",
                    item.span().start,
                    "[identity] has no `operator`".to_owned(),
                );
                return None;
            }
            Err(Reported) => return None,
        };
        if items.is_empty() {
            let message = "`operator` is empty; list the operator's public key".to_owned();
            self.error("bad-value", offset, message);
            return None;
        }
        let texts = self.strings("operator", items)?;
        let mut keys: Vec<PublicKey> = Vec::new();
        let before = self.errors.len();
        for (text, offset) in texts {
            let Some(key) = self.public_key(text, offset) else {
                continue;
            };
            if keys.contains(&key) {
                let message = format!("key `{}` is listed twice in `operator`", shown(text));
                self.error("bad-value", offset, message);
            } else {
                keys.push(key);
            }
        }
        (self.errors.len() == before).then_some(keys)
    }

    /// `[approvers]` (policy.md §4): every well-formed name with its valid keys.
    fn approvers(&mut self, table: &DeTable<'_>, operators: &[PublicKey]) -> Vec<Approver> {
        let mut out = Vec::new();
        let Some((_, item)) = table.get_key_value("approvers") else {
            return out;
        };
        let Some(names) = item.get_ref().as_table() else {
            self.wrong_type("approvers", "a table", item);
            return out;
        };
        for (key, value) in names {
            let name = key.get_ref().as_ref();
            if !is_approver_name(name) {
                let message = format!(
                    "approver name `{}` is not valid; use 1 to 64 letters, digits, `_` or `-`",
                    shown(name)
                );
                self.error("bad-value", key.span().start, message);
                continue;
            }
            let Some(items) = value.get_ref().as_array() else {
                self.wrong_type(name, "an array of public keys", value);
                continue;
            };
            let keys = self.approver_keys(name, items, operators);
            out.push(Approver {
                name: name.to_owned(),
                keys,
                offset: key.span().start,
            });
        }
        out.sort_by_key(|approver| approver.offset);
        out
    }

    /// The valid keys of one approver name; bad, repeated and operator keys are reported.
    fn approver_keys(
        &mut self,
        name: &str,
        items: &DeArray<'_>,
        operators: &[PublicKey],
    ) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = Vec::new();
        for (text, offset) in self.strings(name, items).unwrap_or_default() {
            let Some(key) = self.public_key(text, offset) else {
                continue;
            };
            if operators.contains(&key) {
                let message = format!(
                    "key {} is an operator key and cannot approve",
                    key.fingerprint().short()
                );
                self.error("self-approval", offset, message);
            } else if keys.contains(&key) {
                let message = format!("key `{}` is listed twice under `{name}`", shown(text));
                self.error("bad-value", offset, message);
            } else {
                keys.push(key);
            }
        }
        keys
    }

    /// Warns about each approver name with no keys that some rule names.
    fn unkeyed_approver_warnings(&mut self, approvers: &[Approver], rules: &[(Rule, usize)]) {
        for approver in approvers.iter().filter(|approver| approver.keys.is_empty()) {
            let users: Vec<String> = rules
                .iter()
                .filter(|(rule, _)| {
                    rule.approval
                        .as_ref()
                        .is_some_and(|terms| terms.approvers.contains(&approver.name))
                })
                .map(|(rule, _)| format!("`{}`", rule.id))
                .collect();
            let Some((last, rest)) = users.split_last() else {
                continue;
            };
            let named = if rest.is_empty() {
                format!("rule {last}")
            } else {
                format!("rules {} and {last}", rest.join(", "))
            };
            let message = format!(
                "`{}` has no keys yet, so nobody can approve {named}; each approver runs `heso approver init` and sends you the line to paste here",
                approver.name
            );
            self.warn("approver-without-keys", Some(approver.offset), message);
        }
    }
}

impl Loader<'_> {
    /// `[settings]` (policy.md §5).
    fn settings(&mut self, table: &DeTable<'_>) -> Settings {
        let mut found = Settings::default();
        let Some((_, item)) = table.get_key_value("settings") else {
            return found;
        };
        let Some(settings) = item.get_ref().as_table() else {
            self.wrong_type("settings", "a table", item);
            return found;
        };
        for (key, value) in settings {
            let name = key.get_ref().as_ref();
            let lower = name.to_ascii_lowercase();
            if ["api_key", "secret", "token"]
                .iter()
                .any(|word| lower.contains(word))
            {
                let message = format!("never put secrets in {}; set HESO_API_KEY", self.path);
                self.error("secret", key.span().start, message);
            } else if SETTINGS_KEYS.contains(&name) {
                self.setting(settings, name, value.span().start, &mut found);
            } else {
                let message = format!(
                    "unknown key `{}` in [settings]{}",
                    shown(name),
                    did_you_mean(name, &SETTINGS_KEYS)
                );
                self.error("unknown-key", key.span().start, message);
            }
        }
        found
    }

    /// One known setting, recorded in `found` when valid.
    fn setting(&mut self, settings: &DeTable<'_>, name: &str, offset: usize, found: &mut Settings) {
        match name {
            "blocking" => {
                if let Ok(Some(value)) = self.boolean(settings, name) {
                    found.blocking = Some(value);
                }
            }
            "busy_timeout_ms" => {
                if let Ok(Some((value, _))) = self.integer(settings, name) {
                    match u32::try_from(value) {
                        Ok(ms) if i64::from(ms) <= MAX_BUSY_TIMEOUT_MS => {
                            found.busy_timeout_ms = Some(ms);
                        }
                        _ => {
                            let message = format!(
                                "`busy_timeout_ms` must be between 0 and 600,000, found {value}"
                            );
                            self.error("bad-value", offset, message);
                        }
                    }
                }
            }
            _ => {
                let Ok(Some((text, _))) = self.string(settings, name) else {
                    return;
                };
                if let Some(problem) = setting_problem(name, text) {
                    self.error("bad-value", offset, problem);
                    return;
                }
                let slot = match name {
                    "data_dir" => &mut found.data_dir,
                    "workflow" => &mut found.workflow,
                    "account" => &mut found.account,
                    "durability" => &mut found.durability,
                    _ => &mut found.endpoint,
                };
                *slot = Some(text.to_owned());
            }
        }
    }
}

/// What is wrong with a string setting, if anything.
fn setting_problem(name: &str, text: &str) -> Option<String> {
    match name {
        "data_dir" if text.is_empty() => {
            Some("`data_dir` is empty; write a path, or leave it out".to_owned())
        }
        "workflow" | "account" => {
            let length = text.chars().count();
            if !(1..=128).contains(&length) {
                Some(format!("`{name}` must be 1 to 128 characters long, found {length}"))
            } else if text.chars().any(char::is_control) {
                Some(format!("`{name}` contains a control character; write it on one line without them"))
            } else {
                None
            }
        }
        "durability" if !matches!(text, "normal" | "full") => Some(format!(
            "unknown durability `{}`; expected one of normal, full",
            shown(text)
        )),
        "endpoint" if !is_allowed_endpoint(text) => Some(format!(
            "endpoint `{}` must start with https://, or be http:// to a loopback host such as 127.0.0.1",
            shown(text)
        )),
        _ => None,
    }
}

impl Loader<'_> {
    /// Every `[[rule]]` (policy.md §6) that is valid, with the offset of its header.
    fn rules(&mut self, table: &DeTable<'_>, approvers: &[Approver]) -> Vec<(Rule, usize)> {
        let mut out = Vec::new();
        let Some((_, item)) = table.get_key_value("rule") else {
            return out;
        };
        let Some(items) = item.get_ref().as_array() else {
            return out;
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            if index == MAX_RULES {
                let message = format!(
                    "{} has more than 10,000 rules; the limit is 10,000",
                    self.path
                );
                self.error("bad-value", item.span().start, message);
            }
            let Some(rule) = item.get_ref().as_table() else {
                self.wrong_type("rule", "a table", item);
                continue;
            };
            let header = item.span().start;
            if let Some(rule) = self.rule(rule, index, header, approvers, &mut seen) {
                out.push((rule, header));
            }
        }
        out
    }

    /// One rule, or `None` when something in it is wrong (and reported).
    fn rule(
        &mut self,
        table: &DeTable<'_>,
        index: usize,
        header: usize,
        approvers: &[Approver],
        seen: &mut HashMap<String, usize>,
    ) -> Option<Rule> {
        let before = self.errors.len();
        let line = self.line_of(header);
        let label = match table
            .get_key_value("id")
            .and_then(|(_, id)| id.get_ref().as_str())
        {
            Some(id) => format!("rule `{}`", shown(id)),
            None => format!("the rule at line {line}"),
        };
        self.unknown_keys(table, &RULE_KEYS, &format!(" in {label}"));
        let id = self.rule_id(table, header, &label, line, seen);
        let order = self.required_integer(table, "order", header, &label);
        let enabled = self
            .boolean(table, "enabled")
            .unwrap_or_default()
            .unwrap_or(true);
        let subject = self.subject(table, &label);
        let verb = self.verb(table, header, &label);
        let scope = self.scope(table);
        let conditions = self.conditions(table, &label);
        let decision = self.decision(table, "decision", header, &label);
        let approval = self.approval_terms(table, decision, header, &label, approvers);
        let redact = self.redact(table, decision);
        if let (Some(Decision::Allow | Decision::Redact), Some(conditions)) =
            (decision, &conditions)
        {
            self.unanchored_regex_warnings(conditions, &label);
        }
        if self.errors.len() != before {
            return None;
        }
        Some(Rule {
            id: id?,
            order: order?,
            position: index,
            line,
            enabled,
            subject: subject?,
            verb: verb?,
            scope: scope?,
            conditions: conditions?
                .into_iter()
                .map(|(condition, _)| condition)
                .collect(),
            decision: decision?,
            approval,
            redact: redact.ok()?,
        })
    }

    fn required_integer(
        &mut self,
        table: &DeTable<'_>,
        name: &str,
        header: usize,
        label: &str,
    ) -> Option<i64> {
        match self.integer(table, name) {
            Ok(Some((value, _))) => Some(value),
            Ok(None) => {
                self.error("missing-key", header, format!("{label} has no `{name}`"));
                None
            }
            Err(Reported) => None,
        }
    }

    /// A required string of a rule with its offset; absence is reported at the header.
    pub(crate) fn required_string<'a>(
        &mut self,
        table: &'a DeTable<'_>,
        name: &str,
        header: usize,
        label: &str,
    ) -> Option<(&'a str, usize)> {
        match self.string(table, name) {
            Ok(Some(found)) => Some(found),
            Ok(None) => {
                self.error("missing-key", header, format!("{label} has no `{name}`"));
                None
            }
            Err(Reported) => None,
        }
    }

    fn rule_id(
        &mut self,
        table: &DeTable<'_>,
        header: usize,
        label: &str,
        line: usize,
        seen: &mut HashMap<String, usize>,
    ) -> Option<String> {
        let (id, offset) = self.required_string(table, "id", header, label)?;
        if !is_rule_id(id) {
            let message = format!("rule id `{}` is not valid; use up to 128 letters, digits, `.`, `_`, `:` or `-`, starting with a letter or digit", shown(id));
            self.error("bad-value", offset, message);
            return None;
        }
        if let Some(prefix) = ["policy.", "approval."]
            .into_iter()
            .find(|prefix| id.starts_with(prefix))
        {
            let message = format!("rule id `{id}` starts with `{prefix}`, which is reserved for heso's own decisions; choose another id");
            self.error("bad-value", offset, message);
            return None;
        }
        if let Some(first) = seen.get(id) {
            let message = format!("duplicate rule id `{id}` (first defined at line {first})");
            self.error("duplicate-id", offset, message);
            return None;
        }
        seen.insert(id.to_owned(), line);
        Some(id.to_owned())
    }

    fn verb(&mut self, table: &DeTable<'_>, header: usize, label: &str) -> Option<String> {
        let (verb, offset) = self.required_string(table, "verb", header, label)?;
        if VERBS.contains(&verb) {
            return Some(verb.to_owned());
        }
        let message = format!(
            "unknown verb `{}`; expected one of {}",
            shown(verb),
            VERBS.join(", ")
        );
        self.error("bad-value", offset, message);
        None
    }

    /// A required key naming one of the four decisions: a rule's `decision`, a test's `expect`.
    pub(crate) fn decision(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        header: usize,
        label: &str,
    ) -> Option<Decision> {
        let (name, offset) = self.required_string(table, key, header, label)?;
        let decision = decision_named(name);
        if decision.is_none() {
            let message = format!(
                "unknown {key} `{}`; expected one of allow, block, redact, require_approval",
                shown(name)
            );
            self.error("bad-value", offset, message);
        }
        decision
    }

    /// The rule's subject (policy.md §6.1); `Some(Subject::Any)` when absent, `None` when wrong.
    fn subject(&mut self, table: &DeTable<'_>, label: &str) -> Option<Subject> {
        let Some((_, item)) = table.get_key_value("subject") else {
            return Some(Subject::Any);
        };
        let Some(subject) = item.get_ref().as_table() else {
            self.wrong_type(
                "subject",
                "a table such as { kind = \"workflow\", value = \"billing\" }",
                item,
            );
            return None;
        };
        let place = format!(" in the subject of {label}");
        self.unknown_keys(subject, &SUBJECT_KEYS, &place);
        let header = item.span().start;
        let (kind, kind_offset) =
            self.required_string(subject, "kind", header, &format!("the subject of {label}"))?;
        let value = self.string(subject, "value").map_err(|Reported| ()).ok()?;
        match (kind, value) {
            ("any", None) => Some(Subject::Any),
            ("any", Some((_, offset))) => {
                let message = "a subject of kind `any` takes no `value`; remove it, or use kind = \"workflow\" or \"account\"".to_owned();
                self.error("bad-value", offset, message);
                None
            }
            ("workflow" | "account", None) => {
                let message = format!("the subject of {label} has no `value`; name the {kind}");
                self.error("missing-key", header, message);
                None
            }
            ("workflow", Some((value, _))) => Some(Subject::Workflow(value.to_owned())),
            ("account", Some((value, _))) => Some(Subject::Account(value.to_owned())),
            _ => {
                let message = format!(
                    "unknown subject kind `{}`; expected one of any, workflow, account",
                    shown(kind)
                );
                self.error("bad-value", kind_offset, message);
                None
            }
        }
    }

    /// The rule's scope (policy.md §6.4); `Some(Scope::Any)` when absent, `None` when wrong.
    fn scope(&mut self, table: &DeTable<'_>) -> Option<Scope> {
        let Some((_, item)) = table.get_key_value("scope") else {
            return Some(Scope::Any);
        };
        let offset = item.span().start;
        match item.get_ref() {
            DeValue::String(pattern) => self.scope_result(Scope::parse_one(pattern), offset),
            DeValue::Array(items) => {
                if items.is_empty() {
                    return self.scope_result(Err(ScopeError::EmptyList), offset);
                }
                let patterns = self.strings("scope", items)?;
                let before = self.errors.len();
                for (pattern, offset) in &patterns {
                    let checked = if *pattern == "*" {
                        Err(ScopeError::WildcardInList)
                    } else {
                        Scope::parse_one(pattern)
                    };
                    self.scope_result(checked, *offset);
                }
                if self.errors.len() != before {
                    return None;
                }
                let texts: Vec<&str> = patterns.iter().map(|(pattern, _)| *pattern).collect();
                self.scope_result(Scope::parse_list(&texts), offset)
            }
            _ => {
                self.wrong_type("scope", "a string or an array of strings", item);
                None
            }
        }
    }

    fn scope_result(&mut self, result: Result<Scope, ScopeError>, offset: usize) -> Option<Scope> {
        match result {
            Ok(scope) => Some(scope),
            Err(error) => {
                self.error("bad-value", offset, error.to_string());
                None
            }
        }
    }
}

/// Which part of a condition a [`ConditionError`] is about.
enum ConditionPart {
    Field,
    Op,
    Value,
    Display,
    Whole,
}

/// The code and the part of the condition an error points at.
fn condition_error_target(error: &ConditionError) -> (&'static str, ConditionPart) {
    match error {
        ConditionError::EmptyPath
        | ConditionError::EmptySegment { .. }
        | ConditionError::UnknownMetadata { .. }
        | ConditionError::StringTooLong {
            what: "field path", ..
        } => ("bad-value", ConditionPart::Field),
        ConditionError::UnknownOperator { .. } => ("bad-value", ConditionPart::Op),
        ConditionError::MissingValue { .. } => ("missing-key", ConditionPart::Whole),
        ConditionError::WrongValueType { .. } | ConditionError::WrongItemType { .. } => {
            ("wrong-type", ConditionPart::Value)
        }
        ConditionError::EmptyDisplay
        | ConditionError::DisplayTooLong { .. }
        | ConditionError::DisplayLineBreak => ("bad-value", ConditionPart::Display),
        _ => ("bad-value", ConditionPart::Value),
    }
}

impl Loader<'_> {
    /// The rule's conditions with the offsets of their values; `[]` when absent, `None` when one
    /// is wrong.
    fn conditions(&mut self, table: &DeTable<'_>, label: &str) -> Option<Vec<(Condition, usize)>> {
        let Ok(found) = self.array(table, "conditions", "an array of tables") else {
            return None;
        };
        let Some((items, offset)) = found else {
            return Some(Vec::new());
        };
        if items.len() > MAX_CONDITIONS {
            let message = format!("{label} has {} conditions; the limit is 64", items.len());
            self.error("bad-value", offset, message);
            return None;
        }
        let mut out = Vec::new();
        let mut valid = true;
        for (index, item) in items.iter().enumerate() {
            let Some(condition) = item.get_ref().as_table() else {
                self.wrong_type("conditions", "an array of tables", item);
                valid = false;
                continue;
            };
            let place = format!("condition {} of {label}", index + 1);
            match self.condition(condition, item.span().start, &place) {
                Some(compiled) => out.push(compiled),
                None => valid = false,
            }
        }
        valid.then_some(out)
    }

    /// One condition, compiled, with the offset of its value (or of the condition itself).
    fn condition(
        &mut self,
        table: &DeTable<'_>,
        header: usize,
        place: &str,
    ) -> Option<(Condition, usize)> {
        let before = self.errors.len();
        self.unknown_keys(table, &CONDITION_KEYS, &format!(" in {place}"));
        let field = self.required_string(table, "field", header, place);
        let op = self.required_string(table, "op", header, place);
        let display = self.string(table, "display").unwrap_or_default();
        let value = table.get_key_value("value").map(|(_, item)| item);
        let converted = value.and_then(|item| {
            let converted = to_toml(item.get_ref());
            if converted.is_none() {
                let message = "`value` has an integer out of range for 64 bits".to_owned();
                self.error("bad-value", item.span().start, message);
            }
            converted
        });
        if self.errors.len() != before {
            return None;
        }
        let (field, field_offset) = field?;
        let (op, op_offset) = op?;
        let display_text = display.map(|(text, _)| text.to_owned());
        match Condition::from_toml(field, op, converted.as_ref(), display_text) {
            Ok(condition) => Some((condition, value.map_or(header, |item| item.span().start))),
            Err(error) => {
                let (code, part) = condition_error_target(&error);
                let offset = match part {
                    ConditionPart::Field => field_offset,
                    ConditionPart::Op => op_offset,
                    ConditionPart::Display => display.map_or(header, |(_, offset)| offset),
                    ConditionPart::Value => value.map_or(header, |item| item_offset(item, &error)),
                    ConditionPart::Whole => header,
                };
                self.error(code, offset, error.to_string());
                None
            }
        }
    }

    /// Warns about each unanchored `regex` of an `allow` or `redact` rule (policy.md §6.3.6).
    fn unanchored_regex_warnings(&mut self, conditions: &[(Condition, usize)], label: &str) {
        for (condition, offset) in conditions {
            if condition.op.name() != "regex" {
                continue;
            }
            let Some(pattern) = condition.value.as_ref().and_then(|value| value.as_str()) else {
                continue;
            };
            if !is_anchored(pattern) {
                let message = format!(
                    "regex `{}` in {label} is not anchored, so it matches anywhere in the value; anchor it with ^ and $ if it should match the whole value",
                    shown(pattern)
                );
                self.warn("unanchored-regex", Some(*offset), message);
            }
        }
    }
}

/// Where a value error points: the offending item of an `in`/`not_in` list, else the value.
fn item_offset(item: &Spanned<DeValue<'_>>, error: &ConditionError) -> usize {
    if let (ConditionError::WrongItemType { position, .. }, Some(items)) =
        (error, item.get_ref().as_array())
    {
        if let Some(found) = position.checked_sub(1).and_then(|index| items.get(index)) {
            return found.span().start;
        }
    }
    item.span().start
}

impl Loader<'_> {
    /// The approval terms of a rule (policy.md §6); approval keys on other decisions are
    /// `misplaced-key`.
    fn approval_terms(
        &mut self,
        table: &DeTable<'_>,
        decision: Option<Decision>,
        header: usize,
        label: &str,
        approvers: &[Approver],
    ) -> Option<ApprovalRule> {
        match decision {
            Some(Decision::RequireApproval) => {}
            Some(_) => {
                for (key, _) in table
                    .iter()
                    .filter(|(key, _)| APPROVAL_KEYS.contains(&key.get_ref().as_ref()))
                {
                    let message = format!(
                        "`{}` is only valid when decision = \"require_approval\"",
                        key.get_ref()
                    );
                    self.error("misplaced-key", key.span().start, message);
                }
                return None;
            }
            None => return None,
        }
        let names = self.approver_names(table, header, label, approvers);
        let quorum = self.quorum(table, names.as_deref(), approvers);
        let sla_minutes = match self.integer(table, "sla_minutes") {
            Ok(None) => Some(DEFAULT_SLA_MINUTES),
            Ok(Some((value, offset))) => {
                let valid = (1..=MAX_SLA_MINUTES).contains(&value);
                let minutes = u32::try_from(value).ok().filter(|_| valid);
                if minutes.is_none() {
                    let message = format!(
                        "`sla_minutes` must be between 1 and 525,600 (one year), found {value}"
                    );
                    self.error("bad-value", offset, message);
                }
                minutes
            }
            Err(Reported) => None,
        };
        if let Ok(Some((action, offset))) = self.string(table, "on_timeout") {
            let message = match action {
                "deny" => None,
                "escalate" | "auto_approve" => Some(format!(
                    "on_timeout `{action}` is not supported in version 1; use `deny`"
                )),
                other => Some(format!(
                    "unknown on_timeout `{}`; expected deny",
                    shown(other)
                )),
            };
            if let Some(message) = message {
                self.error("bad-value", offset, message);
            }
        }
        Some(ApprovalRule {
            approvers: names?,
            quorum: quorum?,
            sla_minutes: sla_minutes?,
        })
    }

    /// The `approvers` of a `require_approval` rule: non-empty, known, no duplicates.
    fn approver_names(
        &mut self,
        table: &DeTable<'_>,
        header: usize,
        label: &str,
        approvers: &[Approver],
    ) -> Option<Vec<String>> {
        let (items, offset) = match self.array(table, "approvers", "an array of approver names") {
            Ok(Some(found)) => found,
            Ok(None) => {
                let message = format!(
                    "{label} has no `approvers`; a require_approval rule names who can approve"
                );
                self.error("missing-key", header, message);
                return None;
            }
            Err(Reported) => return None,
        };
        if items.is_empty() {
            let message =
                "`approvers` is empty; name at least one approver from [approvers]".to_owned();
            self.error("bad-value", offset, message);
            return None;
        }
        let known: Vec<&str> = approvers
            .iter()
            .map(|approver| approver.name.as_str())
            .collect();
        let mut names: Vec<String> = Vec::new();
        let before = self.errors.len();
        for (name, offset) in self.strings("approvers", items)? {
            if names.iter().any(|seen| seen == name) {
                let message = format!("approver `{}` is listed twice", shown(name));
                self.error("bad-value", offset, message);
            } else if !known.contains(&name) {
                let message = format!(
                    "unknown approver `{}`{}",
                    shown(name),
                    did_you_mean(name, &known)
                );
                self.error("unknown-approver", offset, message);
            } else {
                names.push(name.to_owned());
            }
        }
        (self.errors.len() == before).then_some(names)
    }

    /// `quorum` (default 1): at least 1, and at most the distinct keys of the named approvers
    /// when they have any.
    fn quorum(
        &mut self,
        table: &DeTable<'_>,
        names: Option<&[String]>,
        approvers: &[Approver],
    ) -> Option<u32> {
        let (quorum, offset) = match self.integer(table, "quorum") {
            Ok(Some(found)) => found,
            Ok(None) => return Some(1),
            Err(Reported) => return None,
        };
        let Some(value) = u32::try_from(quorum).ok().filter(|value| *value >= 1) else {
            let message = format!("`quorum` must be at least 1, found {quorum}");
            self.error("bad-value", offset, message);
            return None;
        };
        let names = names?;
        let mut roster: Vec<&PublicKey> = Vec::new();
        for approver in approvers
            .iter()
            .filter(|approver| names.contains(&approver.name))
        {
            for key in &approver.keys {
                if !roster.contains(&key) {
                    roster.push(key);
                }
            }
        }
        let available = roster.len();
        if available > 0 && usize::try_from(value).is_ok_and(|needed| needed > available) {
            let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
            let holders = match quoted.split_last() {
                Some((last, [])) => format!("{last} has"),
                Some((last, rest)) => format!("{} and {last} have", rest.join(", ")),
                None => String::new(),
            };
            let message =
                format!("quorum {value} needs {value} distinct keys but {holders} {available}");
            self.error("quorum", offset, message);
            return None;
        }
        Some(value)
    }

    /// `redact` (policy.md §6, §7.5): only on `redact` rules; `Ok(None)` when absent.
    fn redact(
        &mut self,
        table: &DeTable<'_>,
        decision: Option<Decision>,
    ) -> Result<Option<Vec<String>>, Reported> {
        let Some((key, _)) = table.get_key_value("redact") else {
            return Ok(None);
        };
        if decision != Some(Decision::Redact) {
            if decision.is_some() {
                let message = "`redact` is only valid when decision = \"redact\"".to_owned();
                return Err(self.error("misplaced-key", key.span().start, message));
            }
            return Err(Reported);
        }
        let (items, offset) = self
            .array(table, "redact", "an array of field paths")?
            .ok_or(Reported)?;
        if items.is_empty() {
            let message =
                "`redact` is empty; list field paths, or leave it out to redact every field"
                    .to_owned();
            return Err(self.error("bad-value", offset, message));
        }
        let before = self.errors.len();
        let mut paths = Vec::new();
        for (path, offset) in self.strings("redact", items).ok_or(Reported)? {
            if path.starts_with('$') {
                let message = format!("redact path `{}` names action metadata; redact paths name fields such as `card.number`", shown(path));
                self.error("bad-value", offset, message);
            } else if let Err(error) = FieldPath::parse(path) {
                self.error("bad-value", offset, error.to_string());
            } else {
                paths.push(path.to_owned());
            }
        }
        if self.errors.len() == before {
            Ok(Some(paths))
        } else {
            Err(Reported)
        }
    }
}

impl Loader<'_> {
    /// `[[test]]` tables (policy.md §11): validated exactly as the test runner reads them (so a
    /// policy that loads has tests that parse), and warned about.
    fn tests(&mut self, table: &DeTable<'_>) {
        let Some((_, item)) = table.get_key_value("test") else {
            return;
        };
        let Some(items) = item.get_ref().as_array() else {
            return;
        };
        if let Some(first) = items.first() {
            let message = "[[test]] tables in heso.toml change policy_hash whenever a test changes; move them to heso.tests.toml".to_owned();
            self.warn("test-in-policy", Some(first.span().start), message);
        }
        let mut seen = HashMap::new();
        for item in items {
            parse_test(self, item, &mut seen);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;
    use crate::policy::condition::Action;
    use crate::policy::eval::{evaluate, FLOOR_RULE};

    const OPERATOR: &str = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=";
    const APPROVER: &str = "bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E=";

    fn starter_text() -> String {
        crate::starter::starter_policy(&PublicKey::from_base64(OPERATOR).unwrap())
    }

    fn errors(text: &str) -> Vec<PolicyIssue> {
        load_policy("heso.toml", text.as_bytes()).unwrap_err()
    }

    fn lines(text: &str) -> Vec<String> {
        errors(text).iter().map(ToString::to_string).collect()
    }

    fn one(text: &str) -> (String, &'static str) {
        let found = errors(text);
        assert_eq!(found.len(), 1, "{found:#?}");
        (found[0].to_string(), found[0].code)
    }

    fn action(verb: &str, fields: &Value) -> Action {
        Action {
            verb: verb.to_owned(),
            tool_name: "test".to_owned(),
            target_host: None,
            workflow: "default".to_owned(),
            account: "default".to_owned(),
            fields: fields.as_object().cloned().unwrap_or_else(Map::new),
        }
    }

    #[test]
    fn starter_loads_with_one_warning_and_behaves_as_spec_13() {
        let text = starter_text();
        let loaded = load_policy("heso.toml", text.as_bytes()).unwrap();
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warnings, vec!["heso.toml:28:1: `security-admin` has no keys yet, so nobody can approve rules `delete.requires_approval` and `payment.large.requires_approval`; each approver runs `heso approver init` and sends you the line to paste here".to_owned()]);
        let policy = &loaded.policy;
        assert_eq!(
            policy.policy_hash,
            crate::crypto::blake3_hex(text.as_bytes())
        );
        assert_eq!(policy.rules.len(), 5);
        assert_eq!(policy.rules[3].line, 54);
        let decide = |verb: &str, fields: Value| {
            let evaluation = evaluate(policy, &action(verb, &fields));
            (evaluation.decision, evaluation.rule_id)
        };
        for verb in ["llm_call", "tool_call", "http_request"] {
            assert_eq!(decide(verb, json!({})).0, Decision::Allow, "{verb}");
        }
        assert_eq!(
            decide("delete", json!({})),
            (Decision::RequireApproval, "delete.requires_approval".into())
        );
        for amount in [json!(5000), json!("1000.01")] {
            assert_eq!(
                decide("payment", json!({ "amount": amount })).1,
                "payment.large.requires_approval"
            );
        }
        for fields in [json!({"amount": 1000}), json!({"amount": 20}), json!({})] {
            assert_eq!(
                decide("payment", fields),
                (Decision::RequireApproval, FLOOR_RULE.into())
            );
        }
        for verb in ["data_export", "account_change"] {
            assert_eq!(
                decide(verb, json!({})),
                (Decision::RequireApproval, FLOOR_RULE.into())
            );
        }
        let payment = evaluate(policy, &action("payment", &json!({"amount": 5000})));
        assert_eq!(payment.rule_display, "When any agent makes a payment where amount > 1000, then require approval from security-admin within 30m.");
        assert_eq!(policy.operators.as_ref().unwrap()[0].to_base64(), OPERATOR);
    }

    #[test]
    fn empty_and_no_rules_have_no_position() {
        for text in ["", "  \n# only a comment\n\n"] {
            let (line, code) = one(text);
            assert_eq!(code, "empty");
            assert_eq!(line, "heso.toml is empty; run `heso-compliance init` in a new directory to see a starter policy, or add a [[rule]]");
        }
        let (line, code) = one("version = 1\n");
        assert_eq!(code, "no-rules");
        assert_eq!(
            line,
            "heso.toml has no [[rule]]; add rules, or set default_decision explicitly"
        );
        let loaded = load_policy("heso.toml", b"default_decision = \"block\"\n").unwrap();
        assert!(loaded.policy.rules.is_empty());
        assert_eq!(loaded.warnings[0].code, "no-identity");
        assert_eq!((loaded.warnings[0].line, loaded.warnings[0].column), (0, 0));
    }

    #[test]
    fn syntax_error_example() {
        let text = "version = 1\ndefault_decision = \"block\"\n[[rule]]\n   verb \"payment\"\n";
        assert_eq!(
            one(text),
            (
                "heso.toml:4:9: expected `=` after key `verb`".to_owned(),
                "syntax"
            )
        );
        let (line, code) = one("a = \"x\n");
        assert_eq!(code, "syntax");
        assert!(
            line.starts_with("heso.toml:1:") && !line.contains('\n'),
            "{line}"
        );
        assert_eq!(one("\u{feff}version = 1\n").1, "syntax");
        assert_eq!(
            load_policy("heso.toml", b"a = \"\xff\"\n").unwrap_err()[0].to_string(),
            "heso.toml:1:6: invalid UTF-8; save the file as UTF-8"
        );
    }

    /// A file whose line `line` holds `body`, padded with comments before it.
    fn at_line(line: usize, body: &str) -> String {
        let mut text = "default_decision = \"block\"\n".to_owned();
        for _ in 2..line {
            text.push_str("#\n");
        }
        text + body
    }

    const RULE: &str =
        "id = \"tool.allow\"\norder = 1\nverb = \"tool_call\"\ndecision = \"block\"\n";

    #[test]
    fn unknown_keys_and_tables_of_spec_10() {
        let text = at_line(11, &format!("[[rule]]\nscoep = \"*\"\n{RULE}"));
        assert_eq!(
            one(&text),
            (
                "heso.toml:12:1: unknown key `scoep` in rule `tool.allow` (did you mean `scope`?)"
                    .to_owned(),
                "unknown-key"
            )
        );
        for header in ["[[rules]]", "[rule]", "[[Rule]]"] {
            let name = header.trim_matches(['[', ']']);
            let text = at_line(7, &format!("{header}\n{RULE}"));
            assert_eq!(
                one(&text),
                (
                    format!("heso.toml:7:1: unknown table `{name}`; rules are written [[rule]]"),
                    "unknown-key"
                )
            );
        }
        assert_eq!(
            one("verison = 1\ndefault_decision = \"block\"\n").0,
            "heso.toml:1:1: unknown key `verison` (did you mean `version`?)"
        );
        assert_eq!(
            one("default_decision = \"block\"\n[settings]\nworkflw = \"x\"\n").0,
            "heso.toml:3:1: unknown key `workflw` in [settings] (did you mean `workflow`?)"
        );
    }

    #[test]
    fn missing_wrong_type_and_bad_value_examples() {
        let text = at_line(
            20,
            "[[rule]]\nid = \"tool.allow\"\norder = 1\nverb = \"tool_call\"\n",
        );
        assert_eq!(
            one(&text),
            (
                "heso.toml:20:1: rule `tool.allow` has no `decision`".to_owned(),
                "missing-key"
            )
        );
        let text = at_line(
            21,
            "[[rule]]\norder = \"1\"\nid = \"r\"\nverb = \"tool_call\"\ndecision = \"block\"\n",
        );
        assert_eq!(
            one(&text),
            (
                "heso.toml:22:9: `order` must be an integer, found a string".to_owned(),
                "wrong-type"
            )
        );
        let text = at_line(
            20,
            "[[rule]]\nid = \"r\"\norder = 1\nverb = \"payments\"\ndecision = \"block\"\n",
        );
        assert_eq!(
            one(&text),
            ("heso.toml:23:8: unknown verb `payments`; expected one of llm_call, tool_call, http_request, payment, data_export, account_change, delete, any".to_owned(), "bad-value")
        );
    }

    #[test]
    fn duplicate_id_misplaced_key_and_approver_examples() {
        let mut text = at_line(20, &format!("[[rule]]\n{RULE}"));
        while text.lines().count() < 38 {
            text.push_str("#\n");
        }
        text.push_str("[[rule]]\nid = \"tool.allow\"\norder = 2\nverb = \"llm_call\"\ndecision = \"block\"\nenabled = true\napprovers = [\"a\"]\n");
        assert_eq!(
            lines(&text),
            vec![
                "heso.toml:40:6: duplicate rule id `tool.allow` (first defined at line 20)"
                    .to_owned(),
                "heso.toml:45:1: `approvers` is only valid when decision = \"require_approval\""
                    .to_owned(),
            ]
        );
        let codes: Vec<&str> = errors(&text).iter().map(|issue| issue.code).collect();
        assert_eq!(codes, ["duplicate-id", "misplaced-key"]);
        let keys = ["O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=", APPROVER];
        let head = format!(
            "[approvers]\nsecurity-admin = []\nfinance = [\"{}\", \"{}\"]\n",
            keys[0], keys[1]
        );
        let text = at_line(40, &format!("{head}[[rule]]\nid = \"p\"\norder = 1\nverb = \"payment\"\ndecision = \"require_approval\"\napprovers =[\"secuirty-admin\"]\n"));
        assert_eq!(
            one(&text),
            ("heso.toml:48:13: unknown approver `secuirty-admin` (did you mean `security-admin`?)".to_owned(), "unknown-approver")
        );
        let text = at_line(40, &format!("{head}[[rule]]\nid = \"p\"\norder = 1\nverb = \"payment\"\ndecision = \"require_approval\"\napprovers = [\"finance\"]\nquorum = 3\n"));
        assert_eq!(
            one(&text),
            (
                "heso.toml:49:10: quorum 3 needs 3 distinct keys but `finance` has 2".to_owned(),
                "quorum"
            )
        );
    }

    #[test]
    fn self_approval_example() {
        let operator = PublicKey::from_base64(OPERATOR).unwrap();
        let text = at_line(
            10,
            &format!("[identity]\noperator = [\"{OPERATOR}\"]\n#\n#\n[approvers]\nsecurity-admins = [\"{OPERATOR}\"]\n"),
        );
        let found = errors(&text);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].code, "self-approval");
        assert_eq!(
            found[0].to_string(),
            format!(
                "heso.toml:15:20: key {} is an operator key and cannot approve",
                operator.fingerprint().short()
            )
        );
    }

    #[test]
    fn secrets_and_settings() {
        let text = "default_decision = \"block\"\n[settings]\napi_key = \"sk\"\nslack_token = \"x\"\ndurability = \"fast\"\nendpoint = \"http://example.com\"\nendpoint2 = 1\nbusy_timeout_ms = 700000\nblocking = \"no\"\nendpoint3 = \"x\"\n";
        let found = errors(text);
        let codes: Vec<(&str, usize)> = found.iter().map(|i| (i.code, i.line)).collect();
        assert_eq!(
            codes,
            [
                ("secret", 3),
                ("secret", 4),
                ("bad-value", 5),
                ("bad-value", 6),
                ("unknown-key", 7),
                ("bad-value", 8),
                ("wrong-type", 9),
                ("unknown-key", 10)
            ]
        );
        assert_eq!(
            found[0].message,
            "never put secrets in heso.toml; set HESO_API_KEY"
        );
        let ok = "default_decision = \"block\"\n[settings]\nendpoint = \"http://127.0.0.1:8080/x\"\ndurability = \"full\"\nworkflow = \"w\"\n";
        assert!(load_policy("heso.toml", ok.as_bytes()).is_ok());
    }

    #[test]
    fn settings_are_returned_with_the_policy() {
        let text = "default_decision = \"block\"\n[settings]\ndata_dir = \"var/heso\"\nworkflow = \"w\"\naccount = \"a\"\nblocking = false\ndurability = \"normal\"\nendpoint = \"https://cp.example\"\nbusy_timeout_ms = 250\n";
        let settings = load_policy("heso.toml", text.as_bytes()).unwrap().settings;
        assert_eq!(
            settings,
            Settings {
                data_dir: Some("var/heso".into()),
                workflow: Some("w".into()),
                account: Some("a".into()),
                blocking: Some(false),
                durability: Some("normal".into()),
                endpoint: Some("https://cp.example".into()),
                busy_timeout_ms: Some(250),
            }
        );
        let none = load_policy("heso.toml", b"default_decision = \"block\"\n").unwrap();
        assert_eq!(none.settings, Settings::default());
        let negative = "default_decision = \"block\"\n[settings]\nbusy_timeout_ms = -1\n";
        assert_eq!(one(negative).1, "bad-value");
    }

    #[test]
    fn all_errors_in_file_order_in_one_go() {
        let text = "version = 2\ndefault_decision = \"maybe\"\n[identity]\noperator = [\"AAAA\"]\n[[rule]]\nid = \"policy.x\"\norder = 1\nverb = \"tool_call\"\nscope = [\"*\", \"https://x.com/api\"]\nconditions = [{ field = \"a\", op = \"ne\", value = 1 }, { field = \"$b\", op = \"eq\", value = 1 }, { field = \"a\", op = \"in\", value = [1, {x = 1}] }]\ndecision = \"redact\"\nredact = [\"$tool_name\"]\n[[rule]]\norder = 2\nverb = \"delete\"\ndecision = \"require_approval\"\non_timeout = \"escalate\"\nsla_minutes = 0\n";
        let found = errors(text);
        let summary: Vec<(usize, usize, &str)> =
            found.iter().map(|i| (i.line, i.column, i.code)).collect();
        assert_eq!(
            summary,
            [
                (1, 11, "bad-value"),
                (2, 20, "bad-value"),
                (4, 13, "bad-value"),
                (6, 6, "bad-value"),
                (9, 10, "bad-value"),
                (9, 15, "bad-value"),
                (10, 35, "bad-value"),
                (10, 64, "bad-value"),
                (10, 132, "wrong-type"),
                (12, 11, "bad-value"),
                (13, 1, "missing-key"),
                (13, 1, "missing-key"),
                (17, 14, "bad-value"),
                (18, 15, "bad-value"),
            ],
            "{found:#?}"
        );
        assert!(found[9].message.contains("names action metadata"));
        assert_eq!(
            found[12].message,
            "on_timeout `escalate` is not supported in version 1; use `deny`"
        );
    }

    #[test]
    fn floor_is_reported_only_without_other_errors() {
        let floor_only = at_line(
            8,
            "[[rule]]\nid = \"everything\"\norder = 1\nverb = \"any\"\ndecision = \"allow\"\n",
        );
        assert_eq!(
            one(&floor_only),
            ("heso.toml:8:1: rule `everything` allows every verb, including payment, delete, account_change and data_export, with no narrowing condition; name a verb or add a condition".to_owned(), "floor")
        );
        let with_other = format!(
            "{floor_only}[[rule]]\nid = \"b\"\norder = 2\nverb = \"nope\"\ndecision = \"block\"\n"
        );
        let found = errors(&with_other);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "bad-value");
        let narrowed = format!(
            "{floor_only}conditions = [{{ field = \"amount\", op = \"lte\", value = 50 }}]\n"
        );
        assert!(load_policy("heso.toml", narrowed.as_bytes()).is_ok());
    }

    #[test]
    fn rule_conditions_tables_equal_inline_conditions() {
        let inline = "default_decision = \"block\"\n[[rule]]\nid = \"p\"\norder = 1\nverb = \"payment\"\ndecision = \"allow\"\nconditions = [{ field = \"amount\", op = \"lte\", value = 50, display = \"small\" }, { field = \"currency\", op = \"in\", value = [\"usd\", \"eur\"] }]\n";
        let tables = "default_decision = \"block\"\n[[rule]]\nid = \"p\"\norder = 1\nverb = \"payment\"\ndecision = \"allow\"\n[[rule.conditions]]\nfield = \"amount\"\nop = \"lte\"\nvalue = 50\ndisplay = \"small\"\n[[rule.conditions]]\nfield = \"currency\"\nop = \"in\"\nvalue = [\"usd\", \"eur\"]\n";
        let a = load_policy("heso.toml", inline.as_bytes()).unwrap().policy;
        let b = load_policy("heso.toml", tables.as_bytes()).unwrap().policy;
        let shape = |p: &Policy| {
            let rule = &p.rules[0];
            (
                rule.display(),
                rule.conditions
                    .iter()
                    .map(Condition::matched_json)
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(shape(&a), shape(&b));
        assert_eq!(
            shape(&a).0.unwrap(),
            "When any agent makes a payment where small and currency in [\"usd\", \"eur\"], then allow."
        );
        let bad = tables.replace("op = \"in\"", "op = \"contains\"");
        let (line, code) = one(&bad);
        assert_eq!(code, "bad-value");
        assert!(
            line.starts_with("heso.toml:14:6: unknown operator `contains`"),
            "{line}"
        );
    }

    #[test]
    fn warnings_for_regex_tests_and_identity() {
        let text = "default_decision = \"block\"\n[[rule]]\nid = \"r\"\norder = 1\nverb = \"tool_call\"\ndecision = \"allow\"\nconditions = [{ field = \"a\", op = \"regex\", value = \"abc\" }, { field = \"b\", op = \"regex\", value = \"(?i)^abc$\" }]\n[[test]]\nname = \"t\"\naction = { verb = \"tool_call\" }\nexpect = \"allow\"\n";
        let loaded = load_policy("heso.toml", text.as_bytes()).unwrap();
        let codes: Vec<(&str, usize)> = loaded.warnings.iter().map(|w| (w.code, w.line)).collect();
        assert_eq!(
            codes,
            [
                ("unanchored-regex", 7),
                ("test-in-policy", 8),
                ("no-identity", 0)
            ]
        );
        let dup = format!(
            "{text}[[test]]\nname = \"t\"\nexpect = \"maybe\"\naction = {{ verb = \"x\" }}\n"
        );
        let summary: Vec<(&str, usize)> = errors(&dup).iter().map(|i| (i.code, i.line)).collect();
        assert_eq!(
            summary,
            [("duplicate-id", 13), ("bad-value", 14), ("bad-value", 15)]
        );
    }

    #[test]
    fn keys_must_be_valid_points() {
        let small_order = PublicKey::from_bytes([0; 32]).to_base64();
        let text = format!(
            "default_decision = \"block\"\n[identity]\noperator = [\"{small_order}\", \"{OPERATOR}\", \"{OPERATOR}\"]\n[approvers]\na = [\"{APPROVER}\", \"{APPROVER}\"]\n\"b c\" = []\n"
        );
        let summary: Vec<(&str, usize, usize)> = errors(&text)
            .iter()
            .map(|i| (i.code, i.line, i.column))
            .collect();
        assert_eq!(
            summary,
            [
                ("bad-value", 3, 13),
                ("bad-value", 3, 109),
                ("bad-value", 5, 54),
                ("bad-value", 6, 1),
            ]
        );
    }
}
