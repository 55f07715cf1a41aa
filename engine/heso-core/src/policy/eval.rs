//! Evaluating an action against a policy (policy.md §7): a pure function of the two.

use serde_json::Value;

use crate::identity::PublicKey;
use crate::policy::condition::{Action, Condition};
use crate::policy::display::{reserved_display, OutcomeView};
use crate::policy::model::{is_dangerous, Decision, Policy, Rule};

/// The rule id for unmatched actions of verbs that are not dangerous.
pub const DEFAULT_RULE: &str = "policy.default";
/// The rule id for unmatched dangerous actions.
pub const FLOOR_RULE: &str = "policy.floor.unmatched";
/// The rule id of the block receipt of a call that meets its rejected approval request.
pub const APPROVAL_REJECTED_RULE: &str = "approval.rejected";
/// The rule id of the block receipt of a call that meets its approval request after the deadline
/// with no decision.
pub const APPROVAL_EXPIRED_RULE: &str = "approval.expired";
/// The rule id of the block receipt of a call made while `heso.toml` does not load (policy.md §9).
pub const POLICY_ERROR_RULE: &str = "policy.error";
/// The deadline of requests no rule sets terms for.
const DEFAULT_SLA_MINUTES: u32 = 1_440;

/// The approval terms of a `require_approval` result (policy.md §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalTerms {
    /// Approver names.
    pub approvers: Vec<String>,
    /// Their distinct keys, sorted by base64 text (may be empty: then nobody can approve yet).
    pub roster: Vec<PublicKey>,
    /// Distinct approving keys needed.
    pub quorum: u32,
    /// Minutes until the request expires.
    pub sla_minutes: u32,
    /// What happens at the deadline (`deny` in version 1).
    pub on_timeout: &'static str,
}

/// The outcome of evaluating one action.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// The deciding rule, or a reserved id.
    pub rule_id: String,
    /// Its `rule_display`.
    pub rule_display: String,
    /// `[{field, op, value}]` of the deciding rule (empty for reserved ids).
    pub matched_conditions: Vec<Value>,
    /// For `require_approval`.
    pub approval: Option<ApprovalTerms>,
    /// For `redact`: the paths to redact.
    pub redact: Option<Vec<String>>,
}

/// Whether a rule's subject, verb, scope and every condition match the action.
pub fn rule_matches(rule: &Rule, action: &Action) -> bool {
    rule.subject.matches(&action.workflow, &action.account)
        && (rule.verb == "any" || rule.verb == action.verb)
        && rule.scope.matches(action.target_host.as_deref())
        && rule.conditions.iter().all(|c| c.evaluate(action))
}

/// Evaluates an action: the first matching enabled rule decides; unmatched actions fall to the
/// default decision, except dangerous verbs, which are never allowed unattended.
pub fn evaluate(policy: &Policy, action: &Action) -> Evaluation {
    match policy
        .evaluation_order()
        .find(|rule| rule_matches(rule, action))
    {
        Some(rule) => decided_by(policy, rule, action),
        None => unmatched(policy, action),
    }
}

fn decided_by(policy: &Policy, rule: &Rule, action: &Action) -> Evaluation {
    let approval = rule
        .approval
        .as_ref()
        .filter(|_| rule.decision == Decision::RequireApproval)
        .map(|terms| ApprovalTerms {
            approvers: terms.approvers.clone(),
            roster: policy.roster(&terms.approvers),
            quorum: terms.quorum,
            sla_minutes: terms.sla_minutes,
            on_timeout: "deny",
        });
    let redact = (rule.decision == Decision::Redact).then(|| redaction_paths(rule, action));
    Evaluation {
        decision: rule.decision,
        rule_id: rule.id.clone(),
        rule_display: rule.display().unwrap_or_default(),
        matched_conditions: rule
            .conditions
            .iter()
            .map(Condition::matched_json)
            .collect(),
        approval,
        redact,
    }
}

/// The rule's `redact` list, or every top-level key of the fields (policy.md §7.5).
fn redaction_paths(rule: &Rule, action: &Action) -> Vec<String> {
    rule.redact
        .clone()
        .unwrap_or_else(|| action.fields.keys().cloned().collect())
}

/// No rule matched (policy.md §7.3).
fn unmatched(policy: &Policy, action: &Action) -> Evaluation {
    let (decision, rule_id) = if is_dangerous(&action.verb) {
        let floor = match policy.default_decision {
            Decision::Block => Decision::Block,
            _ => Decision::RequireApproval,
        };
        (floor, FLOOR_RULE)
    } else {
        (policy.default_decision, DEFAULT_RULE)
    };
    let outcome = match decision {
        Decision::Allow => OutcomeView::Allow,
        Decision::Redact => OutcomeView::Redact(None),
        Decision::Block => OutcomeView::Block,
        Decision::RequireApproval => OutcomeView::RequireApprovalAnyone {
            sla_minutes: DEFAULT_SLA_MINUTES,
        },
    };
    let approval = (decision == Decision::RequireApproval).then(|| {
        let approvers = policy.approver_names();
        ApprovalTerms {
            roster: policy.roster(&approvers),
            approvers,
            quorum: 1,
            sla_minutes: DEFAULT_SLA_MINUTES,
            on_timeout: "deny",
        }
    });
    Evaluation {
        decision,
        rule_id: rule_id.to_owned(),
        rule_display: reserved_display(rule_id, &action.verb, &outcome).unwrap_or_default(),
        matched_conditions: Vec::new(),
        approval,
        redact: None,
    }
}
