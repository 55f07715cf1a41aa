//! `policy explain` (cli.md §2.10): why an action gets its decision, rule by rule.
//!
//! [`explain`] walks the rules in evaluation order and gives each its result: `match`, or `skip`
//! with the first test that failed, in the order `disabled`, subject, verb, scope, conditions
//! (in the order written). The decision itself is [`evaluate`]'s, so `explain` can never tell a
//! different story from the one a receipt records.
//!
//! Choices the specification leaves open:
//!
//! * **Disabled rules are listed**, with the reason `disabled`, in the place their `order` gives
//!   them. A user who asks why a rule did not fire gets the answer instead of a missing line, and
//!   §2.10 lists `disabled` first among the skip reasons.
//! * **Listing stops at the deciding rule.** Later rules are not evaluated, so they have no
//!   result to show; the JSON `rules` array ends at the same place.
//! * **A missing field gets a note** (policy.md §6.3.2): a condition on a missing field is false
//!   for every operator except `exists`, so a `block` rule on `env eq "prod"` does not catch an
//!   action without `env`. Each rule skipped for that reason gets a `note:` line after the rule
//!   list, and a `note` in its JSON entry, saying so and how to catch such actions.
//! * **Values** are written as `rule_display` writes operands (policy.md §12): strings as JSON
//!   strings, integers in decimal, floats in ECMAScript shortest form, arrays as `[a, b]`; objects
//!   as RFC 8785 JSON. A value longer than 200 characters is cut there and ends in `…`.
//! * **Scopes** in skip reasons are written as patterns: `api.example.com`, `*.ngrok.io`, or a
//!   list as `[pastebin.com, *.ngrok.io]`.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::policy::condition::{write_display_value, Action, Condition, Op, Resolved};
use crate::policy::display::qstr;
use crate::policy::eval::{evaluate, Evaluation, DEFAULT_RULE, FLOOR_RULE};
use crate::policy::load::shown;
use crate::policy::model::{Decision, Policy, Rule, Subject};
use crate::policy::scope::{HostPattern, Scope};
use crate::policy::wire::{action_to_json, evaluation_to_json};
use crate::receipt::report::group;

/// The longest value a skip reason shows, in characters.
const MAX_VALUE_CHARS: usize = 200;

/// What a condition's field held when the condition was false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The field is present; its value as `rule_display` writes values.
    Value(String),
    /// The path does not resolve (policy.md §6.3.1).
    Missing,
    /// A numeric comparison (`gt`, `lt`, `gte`, `lte`) met a value that is not numeric
    /// (policy.md §6.3.3).
    NotANumber,
}

/// Why a rule did not match: the first test that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// `enabled = false`.
    Disabled,
    /// The rule's subject names another workflow or account.
    Subject(Subject),
    /// The rule's verb, which is not the action's.
    Verb(String),
    /// The action's host is outside the rule's scope.
    HostNotInScope {
        /// The action's (normalized) host.
        host: String,
        /// The rule's scope, as [`scope_text`] writes it.
        scope: String,
    },
    /// The action has no host and the rule's scope is not `*`.
    NoHost {
        /// The rule's scope, as [`scope_text`] writes it.
        scope: String,
    },
    /// A condition is false.
    Condition {
        /// Which of the rule's conditions, counting from 1 in the order written.
        position: usize,
        /// The condition's text in `rule_display` ([`Condition::display_text`]).
        text: String,
        /// The condition's field path, as written.
        field: String,
        /// What the field held.
        found: Found,
    },
}

impl SkipReason {
    /// The reason as `policy explain` prints it after `skip: ` (cli.md §2.10): `disabled`,
    /// `subject is workflow "billing"`, `verb is llm_call`, `host x.com not in scope api.x.com`,
    /// `no host, scope is api.x.com`, or `condition amount > 1000 is false (amount = 500)` (or
    /// `(amount is missing)`, `(amount is not a number)`).
    pub fn text(&self) -> String {
        match self {
            Self::Disabled => "disabled".to_owned(),
            Self::Subject(Subject::Workflow(value)) => {
                format!("subject is workflow {}", qstr(value))
            }
            Self::Subject(Subject::Account(value)) => format!("subject is account {}", qstr(value)),
            // An `any` subject matches every action, so it is never a reason; written for
            // completeness.
            Self::Subject(Subject::Any) => "subject is any agent".to_owned(),
            Self::Verb(verb) => format!("verb is {verb}"),
            Self::HostNotInScope { host, scope } => {
                format!("host {} not in scope {scope}", shown(host))
            }
            Self::NoHost { scope } => format!("no host, scope is {scope}"),
            Self::Condition {
                text, field, found, ..
            } => {
                let field = shown(field);
                let found = match found {
                    Found::Value(value) => format!("{field} = {value}"),
                    Found::Missing => format!("{field} is missing"),
                    Found::NotANumber => format!("{field} is not a number"),
                };
                format!("condition {} is false ({found})", shown(text))
            }
        }
    }
}

/// One rule as `explain` went through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleStep {
    /// The rule's id.
    pub id: String,
    /// The rule's `order`.
    pub order: i64,
    /// `None` when the rule matched (and so decided), else why it was skipped.
    pub skip: Option<SkipReason>,
    /// For a rule skipped because a condition's field is missing: what that means and how to
    /// catch such actions (policy.md §6.3.2).
    pub note: Option<String>,
}

/// Why an action gets its decision: the rules tried, in evaluation order, and the result.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The action explained.
    pub action: Action,
    /// Every rule tried, in evaluation order (disabled ones included), up to and including the
    /// deciding rule.
    pub rules: Vec<RuleStep>,
    /// The result, exactly as [`evaluate`] gives it.
    pub evaluation: Evaluation,
    /// The policy's `default_decision`, for the line about unmatched actions.
    default_decision: Decision,
    /// For a `require_approval` result: each approver name with its number of keys.
    approver_keys: Vec<(String, usize)>,
}

/// Explains how `policy` decides `action`: every rule in evaluation order (ascending `order`, ties
/// by position, disabled rules included and skipped) up to the one that decides, each with the
/// first test that failed, then [`evaluate`]'s result.
pub fn explain(policy: &Policy, action: &Action) -> Explanation {
    let mut ordered: Vec<&Rule> = policy.rules.iter().collect();
    ordered.sort_by_key(|rule| (rule.order, rule.position));
    let mut rules = Vec::new();
    for rule in ordered {
        let skip = skip_reason(rule, action);
        let decided = skip.is_none();
        let note = skip.as_ref().and_then(|reason| missing_note(rule, reason));
        rules.push(RuleStep {
            id: rule.id.clone(),
            order: rule.order,
            skip,
            note,
        });
        if decided {
            break;
        }
    }
    let evaluation = evaluate(policy, action);
    let approver_keys = evaluation
        .approval
        .as_ref()
        .map(|terms| {
            terms
                .approvers
                .iter()
                .map(|name| {
                    let keys = policy
                        .approvers
                        .iter()
                        .find(|(known, _)| known == name)
                        .map_or(0, |(_, keys)| keys.len());
                    (name.clone(), keys)
                })
                .collect()
        })
        .unwrap_or_default();
    Explanation {
        action: action.clone(),
        rules,
        evaluation,
        default_decision: policy.default_decision,
        approver_keys,
    }
}

/// The first test of `rule` that `action` fails, in the order of cli.md §2.10, or `None` when
/// the rule matches. Each test is the very predicate [`rule_matches`] uses, so `None` here is
/// exactly a match there.
///
/// [`rule_matches`]: crate::policy::eval::rule_matches
fn skip_reason(rule: &Rule, action: &Action) -> Option<SkipReason> {
    if !rule.enabled {
        return Some(SkipReason::Disabled);
    }
    if !rule.subject.matches(&action.workflow, &action.account) {
        return Some(SkipReason::Subject(rule.subject.clone()));
    }
    if !(rule.verb == "any" || rule.verb == action.verb) {
        return Some(SkipReason::Verb(rule.verb.clone()));
    }
    if !rule.scope.matches(action.target_host.as_deref()) {
        let scope = scope_text(&rule.scope);
        return Some(match &action.target_host {
            Some(host) => SkipReason::HostNotInScope {
                host: host.clone(),
                scope,
            },
            None => SkipReason::NoHost { scope },
        });
    }
    let (index, failing) = rule
        .conditions
        .iter()
        .enumerate()
        .find(|(_, c)| !c.evaluate(action))?;
    Some(SkipReason::Condition {
        position: index + 1,
        text: failing.display_text(),
        field: failing.field.as_str().to_owned(),
        found: found(failing, action),
    })
}

/// What the field of a false condition held.
fn found(condition: &Condition, action: &Action) -> Found {
    let Some(resolved) = condition.field.resolve(action) else {
        return Found::Missing;
    };
    let numeric = matches!(
        condition.op,
        Op::Gt(_) | Op::Lt(_) | Op::Gte(_) | Op::Lte(_)
    );
    if numeric && resolved.as_decimal().is_none() {
        return Found::NotANumber;
    }
    let mut text = match resolved {
        Resolved::Field(value) => value_text(value),
        Resolved::Metadata(value) => qstr(value),
    };
    if let Some((cut, _)) = text.char_indices().nth(MAX_VALUE_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    Found::Value(text)
}

/// The note for a rule skipped because a condition's field is missing (policy.md §6.3.2); `exists`
/// conditions ask exactly that, so they get none.
fn missing_note(rule: &Rule, reason: &SkipReason) -> Option<String> {
    let SkipReason::Condition {
        position,
        field,
        found: Found::Missing,
        ..
    } = reason
    else {
        return None;
    };
    let condition = rule
        .conditions
        .get(position.checked_sub(1)?)
        .filter(|c| !matches!(c.op, Op::Exists(_)))?;
    Some(format!(
        "`{}` is missing, so condition {} of rule `{}` is false (a missing field makes every condition false except `exists`); to catch actions without it, add a rule with {{ field = {}, op = \"exists\", value = false }}",
        shown(field),
        shown(&condition.display_text()),
        shown(&rule.id),
        qstr(field),
    ))
}

/// A field value as `rule_display` writes values (policy.md §12).
fn value_text(value: &Value) -> String {
    let mut text = String::new();
    write_display_value(&mut text, value);
    text
}

/// A scope as skip reasons write it: `*`, one pattern (`api.example.com`, `*.ngrok.io`,
/// `10.0.0.7`), or a list of them in brackets, in the order written.
pub fn scope_text(scope: &Scope) -> String {
    let Scope::Hosts(patterns) = scope else {
        return "*".to_owned();
    };
    let texts: Vec<String> = patterns
        .iter()
        .map(|pattern| match pattern {
            HostPattern::Exact(host) => host.clone(),
            HostPattern::Subdomain(domain) => format!("*.{domain}"),
            HostPattern::Ip(address) => address.to_string(),
        })
        .collect();
    match texts.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", texts.join(", ")),
    }
}

/// How the line about unmatched actions names a dangerous verb, in the plural.
fn floored_plural(verb: &str) -> &str {
    match verb {
        "payment" => "payments",
        "delete" => "deletes",
        "account_change" => "account changes",
        "data_export" => "data exports",
        other => other,
    }
}

impl Explanation {
    /// The text of cli.md §2.10, one line each:
    ///
    /// ```text
    /// action: payment charge_card (workflow default, account default, no host)
    ///   10  llm.allow                        skip: verb is llm_call
    ///   50  payment.large.requires_approval  skip: condition amount > 1000 is false (amount = 500)
    /// no rule matched; payments are a floored verb
    /// decision: require_approval by policy.floor.unmatched
    ///   When no rule matches and the agent makes a payment, then require approval from any registered approver within 1440m.
    ///   approvers: security-admin (no keys registered yet); quorum 1; deadline 1440m; on timeout deny
    /// ```
    ///
    /// Orders are right-aligned to the widest, ids padded to the longest plus two. A deciding
    /// rule reads `match`. `note:` lines (a missing field) follow the rules. The line about
    /// unmatched actions is `no rule matched; default_decision is allow` for `policy.default`,
    /// and for `policy.floor.unmatched` `no rule matched; payments are a floored verb`, extended
    /// with `, so they need approval whatever default_decision says` when `default_decision` is
    /// `allow`, or `, and default_decision is block` when that stricter result applies. A
    /// `redact` result ends with `  redacted: email, card.number` (`none` for no paths).
    pub fn text_lines(&self) -> Vec<String> {
        let action = &self.action;
        let host = action
            .target_host
            .as_ref()
            .map_or_else(|| "no host".to_owned(), |host| format!("host {host}"));
        let mut lines = vec![format!(
            "action: {} {} (workflow {}, account {}, {})",
            shown(&action.verb),
            shown(&action.tool_name),
            shown(&action.workflow),
            shown(&action.account),
            shown(&host),
        )];
        let order_width = self
            .rules
            .iter()
            .map(|step| step.order.to_string().len())
            .max()
            .unwrap_or(0);
        let id_width = self
            .rules
            .iter()
            .map(|step| step.id.chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        for step in &self.rules {
            let result = match &step.skip {
                None => "match".to_owned(),
                Some(reason) => format!("skip: {}", reason.text()),
            };
            lines.push(format!(
                "  {:>order_width$}  {:<id_width$}{result}",
                step.order, step.id
            ));
        }
        for step in &self.rules {
            if let Some(note) = &step.note {
                lines.push(format!("note: {note}"));
            }
        }
        let evaluation = &self.evaluation;
        if let Some(line) = self.unmatched_line() {
            lines.push(line);
        }
        lines.push(format!(
            "decision: {} by {}",
            evaluation.decision.name(),
            evaluation.rule_id
        ));
        lines.push(format!("  {}", evaluation.rule_display));
        if let Some(terms) = &evaluation.approval {
            lines.push(format!(
                "  approvers: {}; quorum {}; deadline {}m; on timeout {}",
                self.approvers_text(),
                terms.quorum,
                terms.sla_minutes,
                terms.on_timeout
            ));
        }
        if let Some(paths) = &evaluation.redact {
            let paths: Vec<String> = paths.iter().map(|path| shown(path)).collect();
            let shown_paths = if paths.is_empty() {
                "none".to_owned()
            } else {
                paths.join(", ")
            };
            lines.push(format!("  redacted: {shown_paths}"));
        }
        lines
    }

    /// The line about an unmatched action, or `None` when a rule decided.
    fn unmatched_line(&self) -> Option<String> {
        let evaluation = &self.evaluation;
        if evaluation.rule_id == FLOOR_RULE {
            let mut line = format!(
                "no rule matched; {} are a floored verb",
                floored_plural(&self.action.verb)
            );
            match (self.default_decision, evaluation.decision) {
                (Decision::Allow, _) => {
                    line.push_str(", so they need approval whatever default_decision says");
                }
                (_, Decision::Block) => line.push_str(", and default_decision is block"),
                _ => {}
            }
            Some(line)
        } else if evaluation.rule_id == DEFAULT_RULE {
            Some(format!(
                "no rule matched; default_decision is {}",
                evaluation.decision.name()
            ))
        } else {
            None
        }
    }

    /// The approver names with their key counts: `security-admin (no keys registered yet),
    /// finance (2 keys)`, or `none defined (add them under [approvers])`.
    fn approvers_text(&self) -> String {
        if self.approver_keys.is_empty() {
            return "none defined (add them under [approvers])".to_owned();
        }
        let mut out = String::new();
        for (index, (name, keys)) in self.approver_keys.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            let _ = match keys {
                0 => write!(out, "{name} (no keys registered yet)"),
                1 => write!(out, "{name} (1 key)"),
                n => write!(out, "{name} ({} keys)", group(*n)),
            };
        }
        out
    }

    /// The JSON `result` of cli.md §4's `policy explain`: `{action, rules: [{id, order, result:
    /// "match"|"skip", reason, note}], decision, rule_id, rule_display, approval, redact}`, with
    /// `action` as [`action_to_json`] writes it and the last five members as
    /// [`evaluation_to_json`] writes them. `reason` is the skip reason's text (null for a match);
    /// `note` the missing-field note or null.
    pub fn to_json(&self) -> Value {
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|step| {
                json!({
                    "id": step.id,
                    "order": step.order,
                    "result": if step.skip.is_some() { "skip" } else { "match" },
                    "reason": step.skip.as_ref().map(SkipReason::text),
                    "note": step.note,
                })
            })
            .collect();
        let evaluation = evaluation_to_json(&self.evaluation);
        let mut out = serde_json::Map::new();
        out.insert("action".to_owned(), action_to_json(&self.action));
        out.insert("rules".to_owned(), Value::Array(rules));
        for key in ["decision", "rule_id", "rule_display", "approval", "redact"] {
            out.insert(
                key.to_owned(),
                evaluation.get(key).cloned().unwrap_or(Value::Null),
            );
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;
    use crate::identity::PublicKey;
    use crate::policy::load::load_policy;
    use crate::policy::wire::action_from_json;

    const OPERATOR: &str = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=";
    const APPROVER: &str = "bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E=";

    fn starter() -> Policy {
        let text = crate::starter::starter_policy(&PublicKey::from_base64(OPERATOR).unwrap());
        load_policy("heso.toml", text.as_bytes()).unwrap().policy
    }

    fn policy(text: &str) -> Policy {
        load_policy("heso.toml", text.as_bytes()).unwrap().policy
    }

    fn action(value: &Value) -> Action {
        action_from_json(value).unwrap()
    }

    /// A policy with one rule for each skip reason, in this order.
    fn every_reason() -> Policy {
        policy(&format!(
            r#"default_decision = "allow"
[identity]
operator = ["{OPERATOR}"]
[approvers]
security-admin = []
finance = ["{APPROVER}"]

[[rule]]
id = "off"
order = 1
enabled = false
verb = "any"
decision = "block"

[[rule]]
id = "billing.only"
order = 2
subject = {{ kind = "workflow", value = "billing" }}
verb = "any"
decision = "block"

[[rule]]
id = "acme.only"
order = 3
subject = {{ kind = "account", value = "acme" }}
verb = "any"
decision = "block"

[[rule]]
id = "delete.any"
order = 4
verb = "delete"
decision = "block"

[[rule]]
id = "paste.block"
order = 5
scope = ["pastebin.com", "*.ngrok.io"]
verb = "any"
decision = "block"

[[rule]]
id = "api.only"
order = 6
scope = "api.example.com"
verb = "any"
conditions = [{{ field = "x", op = "eq", value = 1 }}]
decision = "block"

[[rule]]
id = "prod.block"
order = 7
verb = "any"
conditions = [{{ field = "$tool_name", op = "matches", value = "*" }}, {{ field = "env", op = "eq", value = "prod" }}]
decision = "block"

[[rule]]
id = "big.payment"
order = 8
verb = "any"
conditions = [{{ field = "amount", op = "gt", value = 1000, display = "amount is over 1000" }}]
decision = "require_approval"
approvers = ["finance", "security-admin"]
quorum = 1
sla_minutes = 60

[[rule]]
id = "export.redact"
order = 9
verb = "data_export"
conditions = [{{ field = "rows", op = "lte", value = 100 }}]
decision = "redact"
redact = ["email", "card.number"]

[[rule]]
id = "tool.allow"
order = 10
verb = "tool_call"
decision = "allow"
"#
        ))
    }

    #[test]
    fn cli_example_byte_for_byte() {
        let explanation = explain(
            &starter(),
            &action(
                &json!({"verb": "payment", "tool_name": "charge_card", "fields": {"amount": 500}}),
            ),
        );
        let expected = "\
action: payment charge_card (workflow default, account default, no host)
  10  llm.allow                        skip: verb is llm_call
  20  tool.allow                       skip: verb is tool_call
  30  http.allow                       skip: verb is http_request
  40  delete.requires_approval         skip: verb is delete
  50  payment.large.requires_approval  skip: condition amount > 1000 is false (amount = 500)
no rule matched; payments are a floored verb
decision: require_approval by policy.floor.unmatched
  When no rule matches and the agent makes a payment, then require approval from any registered approver within 1440m.
  approvers: security-admin (no keys registered yet); quorum 1; deadline 1440m; on timeout deny";
        assert_eq!(explanation.text_lines().join("\n"), expected);
    }

    #[test]
    fn every_skip_reason_in_order() {
        let explanation = explain(
            &every_reason(),
            &action(
                &json!({"verb": "tool_call", "tool_name": "ls", "target_host": "x.com", "fields": {"amount": "many"}}),
            ),
        );
        let lines = explanation.text_lines();
        assert_eq!(
            lines,
            [
                "action: tool_call ls (workflow default, account default, host x.com)",
                "   1  off            skip: disabled",
                "   2  billing.only   skip: subject is workflow \"billing\"",
                "   3  acme.only      skip: subject is account \"acme\"",
                "   4  delete.any     skip: verb is delete",
                "   5  paste.block    skip: host x.com not in scope [pastebin.com, *.ngrok.io]",
                "   6  api.only       skip: host x.com not in scope api.example.com",
                "   7  prod.block     skip: condition env == \"prod\" is false (env is missing)",
                "   8  big.payment    skip: condition amount is over 1000 is false (amount is not a number)",
                "   9  export.redact  skip: verb is data_export",
                "  10  tool.allow     match",
                "note: `env` is missing, so condition env == \"prod\" of rule `prod.block` is false (a missing field makes every condition false except `exists`); to catch actions without it, add a rule with { field = \"env\", op = \"exists\", value = false }",
                "decision: allow by tool.allow",
                "  When any agent calls a tool, then allow.",
            ]
        );
    }

    #[test]
    fn no_host_values_and_stopping_at_the_decider() {
        let explanation = explain(
            &every_reason(),
            &action(&json!({"verb": "llm_call", "fields": {"env": "dev", "amount": 1000.5}})),
        );
        let reasons: Vec<(String, Option<String>)> = explanation
            .rules
            .iter()
            .map(|step| (step.id.clone(), step.skip.as_ref().map(SkipReason::text)))
            .collect();
        assert_eq!(
            reasons[4..],
            [
                (
                    "paste.block".to_owned(),
                    Some("no host, scope is [pastebin.com, *.ngrok.io]".to_owned())
                ),
                (
                    "api.only".to_owned(),
                    Some("no host, scope is api.example.com".to_owned())
                ),
                (
                    "prod.block".to_owned(),
                    Some("condition env == \"prod\" is false (env = \"dev\")".to_owned())
                ),
                ("big.payment".to_owned(), None),
            ]
        );
        assert!(explanation.rules.iter().all(|step| step.note.is_none()));
        let lines = explanation.text_lines();
        assert_eq!(lines[8], "  8  big.payment   match");
        assert_eq!(
            lines[9..],
            [
                "decision: require_approval by big.payment",
                "  When any agent takes any action where amount is over 1000, then require approval from finance, security-admin within 60m.",
                "  approvers: finance (1 key), security-admin (no keys registered yet); quorum 1; deadline 60m; on timeout deny",
            ]
        );
    }

    #[test]
    fn values_render_as_in_rule_display() {
        let policy = policy(
            "default_decision = \"allow\"\n[[rule]]\nid = \"r\"\norder = 1\nverb = \"any\"\nconditions = [{ field = \"v\", op = \"eq\", value = \"x\" }]\ndecision = \"block\"\n",
        );
        let reason = |value: Value| {
            let mut fields = Map::new();
            fields.insert("v".to_owned(), value);
            let action = Action {
                verb: "llm_call".to_owned(),
                fields,
                ..Action::default()
            };
            explain(&policy, &action).rules[0]
                .skip
                .as_ref()
                .unwrap()
                .text()
        };
        for (value, shown) in [
            (json!(9_007_199_254_740_993_u64), "9007199254740993"),
            (json!(-3), "-3"),
            (json!(1e21), "1e+21"),
            (json!(0.5), "0.5"),
            (json!(true), "true"),
            (json!(null), "null"),
            (json!("a\"b\n"), r#""a\"b\n""#),
            (json!([1, "a", [false]]), r#"[1, "a", [false]]"#),
            (json!({"b": 1, "a": [1, 2]}), r#"{"a":[1,2],"b":1}"#),
        ] {
            assert_eq!(
                reason(value),
                format!("condition v == \"x\" is false (v = {shown})")
            );
        }
        let long = reason(json!("y".repeat(300)));
        assert!(
            long.ends_with(&format!("\"{}…)", "y".repeat(199))),
            "{long}"
        );
    }

    #[test]
    fn metadata_fields_and_exists() {
        let policy = policy(
            "default_decision = \"block\"\n[[rule]]\nid = \"host.dev\"\norder = 1\nverb = \"any\"\nconditions = [{ field = \"$target_host\", op = \"matches\", value = \"*.dev\" }]\ndecision = \"allow\"\n[[rule]]\nid = \"has.ticket\"\norder = 2\nverb = \"llm_call\"\nconditions = [{ field = \"ticket\", op = \"exists\" }]\ndecision = \"allow\"\n[[rule]]\nid = \"no.ticket\"\norder = 3\nverb = \"llm_call\"\nconditions = [{ field = \"ticket\", op = \"exists\", value = false }]\ndecision = \"block\"\n",
        );
        let explanation = explain(
            &policy,
            &action(&json!({"verb": "llm_call", "target_host": "api.openai.com"})),
        );
        let reasons: Vec<Option<String>> = explanation
            .rules
            .iter()
            .map(|step| step.skip.as_ref().map(SkipReason::text))
            .collect();
        assert_eq!(
            reasons,
            [
                Some(
                    "condition $target_host matches \"*.dev\" is false ($target_host = \"api.openai.com\")"
                        .to_owned()
                ),
                Some("condition ticket exists is false (ticket is missing)".to_owned()),
                None,
            ]
        );
        // `exists` asks about the missing field itself, so it gets no note.
        assert!(explanation.rules.iter().all(|step| step.note.is_none()));
        let without_host = explain(
            &policy,
            &action(&json!({"verb": "llm_call", "fields": {"ticket": 1}})),
        );
        assert_eq!(
            without_host.rules[0].note.as_deref(),
            Some("`$target_host` is missing, so condition $target_host matches \"*.dev\" of rule `host.dev` is false (a missing field makes every condition false except `exists`); to catch actions without it, add a rule with { field = \"$target_host\", op = \"exists\", value = false }")
        );
        let present = explain(
            &policy,
            &action(&json!({"verb": "llm_call", "target_host": "a.dev", "fields": {"ticket": 1}})),
        );
        assert_eq!(present.rules.len(), 1);
        assert_eq!(present.evaluation.rule_id, "host.dev");
    }

    #[test]
    fn the_note_is_about_the_failing_condition_only() {
        let policy = policy(
            "default_decision = \"allow\"\n[[rule]]\nid = \"r\"\norder = 1\nverb = \"any\"\nconditions = [{ field = \"env\", op = \"exists\" }, { field = \"env\", op = \"eq\", value = \"prod\" }]\ndecision = \"block\"\n",
        );
        let explanation = explain(&policy, &action(&json!({"verb": "llm_call"})));
        assert_eq!(
            explanation.rules[0].skip,
            Some(SkipReason::Condition {
                position: 1,
                text: "env exists".to_owned(),
                field: "env".to_owned(),
                found: Found::Missing,
            })
        );
        assert_eq!(explanation.rules[0].note, None);
        assert!(!explanation
            .text_lines()
            .iter()
            .any(|line| line.starts_with("note:")));
    }

    #[test]
    fn unmatched_lines() {
        let line = |default: &str, verb: &str| {
            let policy = policy(&format!(
                "default_decision = \"{default}\"\n[[rule]]\nid = \"r\"\norder = -10\nverb = \"tool_call\"\ndecision = \"allow\"\n[[rule]]\nid = \"s\"\norder = 100\nverb = \"tool_call\"\ndecision = \"allow\"\n"
            ));
            let lines = explain(&policy, &action(&json!({"verb": verb}))).text_lines();
            lines[1..].join("\n")
        };
        assert_eq!(
            line("allow", "llm_call"),
            "  -10  r  skip: verb is tool_call\n  100  s  skip: verb is tool_call\nno rule matched; default_decision is allow\ndecision: allow by policy.default\n  When no rule matches, then allow."
        );
        assert_eq!(
            line("allow", "account_change"),
            "  -10  r  skip: verb is tool_call\n  100  s  skip: verb is tool_call\nno rule matched; account changes are a floored verb, so they need approval whatever default_decision says\ndecision: require_approval by policy.floor.unmatched\n  When no rule matches and the agent changes an account, then require approval from any registered approver within 1440m.\n  approvers: none defined (add them under [approvers]); quorum 1; deadline 1440m; on timeout deny"
        );
        assert_eq!(
            line("block", "data_export"),
            "  -10  r  skip: verb is tool_call\n  100  s  skip: verb is tool_call\nno rule matched; data exports are a floored verb, and default_decision is block\ndecision: block by policy.floor.unmatched\n  When no rule matches and the agent exports data, then block."
        );
        assert!(line("require_approval", "delete")
            .contains("\nno rule matched; deletes are a floored verb\n"));
        assert!(line("require_approval", "http_request")
            .contains("\nno rule matched; default_decision is require_approval\n"));
    }

    #[test]
    fn redact_result_and_json() {
        let explanation = explain(
            &every_reason(),
            &action(&json!({"verb": "data_export", "fields": {"rows": 5, "email": "a@b.c"}})),
        );
        let lines = explanation.text_lines();
        assert_eq!(
            lines[lines.len() - 3..],
            [
                "decision: redact by export.redact",
                "  When any agent exports data where rows <= 100, then allow with email, card.number redacted.",
                "  redacted: email, card.number",
            ]
        );
        let value = explanation.to_json();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "action",
                "rules",
                "decision",
                "rule_id",
                "rule_display",
                "approval",
                "redact"
            ]
        );
        assert_eq!(value["action"], action_to_json(&explanation.action));
        assert_eq!(
            value["rules"][0],
            json!({"id": "off", "order": 1, "result": "skip", "reason": "disabled", "note": null})
        );
        assert_eq!(
            value["rules"][8],
            json!({"id": "export.redact", "order": 9, "result": "match", "reason": null, "note": null})
        );
        assert_eq!(value["rules"].as_array().unwrap().len(), 9);
        assert_eq!(value["decision"], "redact");
        assert_eq!(value["rule_id"], "export.redact");
        assert_eq!(value["approval"], Value::Null);
        assert_eq!(value["redact"], json!(["email", "card.number"]));

        let floor = explain(&starter(), &action(&json!({"verb": "delete"}))).to_json();
        assert_eq!(floor["rules"][3]["result"], "match");
        assert_eq!(
            floor["approval"],
            json!({"approvers": ["security-admin"], "roster": [], "quorum": 1, "sla_minutes": 30, "on_timeout": "deny"})
        );
        assert_eq!(floor["redact"], Value::Null);
    }

    #[test]
    fn decides_exactly_as_evaluate() {
        let policies = [starter(), every_reason()];
        let mut checked = 0;
        for policy in &policies {
            for verb in crate::policy::wire::ACTION_VERBS {
                for host in [
                    None,
                    Some("api.example.com"),
                    Some("a.ngrok.io"),
                    Some("x.com"),
                ] {
                    for workflow in ["default", "billing"] {
                        for account in ["default", "acme"] {
                            for fields in [
                                json!({}),
                                json!({"amount": 5000}),
                                json!({"amount": "20"}),
                                json!({"amount": [1]}),
                                json!({"env": "prod", "x": 1}),
                                json!({"rows": 100, "email": "e"}),
                            ] {
                                let mut value = json!({"verb": verb, "workflow": workflow, "account": account, "fields": fields});
                                if let Some(host) = host {
                                    value["target_host"] = json!(host);
                                }
                                let action = action(&value);
                                let explanation = explain(policy, &action);
                                let evaluation = evaluate(policy, &action);
                                assert_eq!(explanation.evaluation, evaluation);
                                let matched: Vec<&RuleStep> = explanation
                                    .rules
                                    .iter()
                                    .filter(|step| step.skip.is_none())
                                    .collect();
                                match matched.as_slice() {
                                    [] => {
                                        assert!(evaluation.rule_id.starts_with("policy."));
                                        assert_eq!(explanation.rules.len(), policy.rules.len());
                                    }
                                    [step] => {
                                        assert_eq!(step.id, evaluation.rule_id);
                                        assert_eq!(explanation.rules.last().unwrap().id, step.id);
                                    }
                                    _ => panic!("two rules matched: {matched:?}"),
                                }
                                let json = explanation.to_json();
                                assert_eq!(json["decision"], evaluation.decision.name());
                                assert_eq!(json["rule_id"], evaluation.rule_id.as_str());
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 7 * 4 * 2 * 2 * 6);
    }
}
