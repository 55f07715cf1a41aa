//! Load-time floors (policy.md §8): no enabled rule may allow or redact a dangerous verb (or
//! `any`) without a narrowing condition. Subject and scope never count as narrowing.

use crate::policy::model::{is_dangerous, Decision, Policy, Rule};

/// A rule that breaks the floor, with the one-line message of policy.md §8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorViolation {
    /// The rule's id.
    pub rule_id: String,
    /// Its verb.
    pub verb: String,
    /// The line of its header.
    pub line: usize,
    /// The message, without the `path:line:column: ` prefix.
    pub message: String,
}

/// Every rule of the policy that breaks the floor, in file order.
pub fn floor_violations(policy: &Policy) -> Vec<FloorViolation> {
    policy.rules.iter().filter_map(violation).collect()
}

fn violation(rule: &Rule) -> Option<FloorViolation> {
    let lets_through = matches!(rule.decision, Decision::Allow | Decision::Redact);
    let risky = rule.verb == "any" || is_dangerous(&rule.verb);
    if !rule.enabled || !lets_through || !risky || rule.is_narrowed() {
        return None;
    }
    let allows = if rule.decision == Decision::Redact {
        "redacts (and so allows)"
    } else {
        "allows"
    };
    let message = if rule.verb == "any" {
        format!(
            "rule `{}` {allows} every verb, including payment, delete, account_change and data_export, with no narrowing condition; name a verb or add a condition",
            rule.id
        )
    } else {
        let example = match rule.verb.as_str() {
            "payment" => "amount",
            "data_export" => "rows",
            "account_change" => "$tool_name",
            _ => "path",
        };
        format!(
            "rule `{}` {allows} `{}` with no narrowing condition; add a condition (for example on `{example}`) or use decision = \"require_approval\"",
            rule.id, rule.verb
        )
    };
    Some(FloorViolation {
        rule_id: rule.id.clone(),
        verb: rule.verb.clone(),
        line: rule.line,
        message,
    })
}
