//! The loaded policy: what the loader builds from `heso.toml` and the evaluator reads.

use crate::identity::PublicKey;
use crate::policy::condition::Condition;
use crate::policy::display::{rule_display, OutcomeView, SubjectView};
use crate::policy::scope::Scope;

/// The verbs no policy may allow unattended (policy.md §6.2, §8).
pub const DANGEROUS_VERBS: [&str; 4] = ["payment", "delete", "account_change", "data_export"];

/// Whether a verb is dangerous.
pub fn is_dangerous(verb: &str) -> bool {
    DANGEROUS_VERBS.contains(&verb)
}

/// A policy decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Run it.
    Allow,
    /// Refuse it.
    Block,
    /// Run it, with fields hidden in the receipt.
    Redact,
    /// Wait for a signed human approval.
    RequireApproval,
}

impl Decision {
    /// The string used in `heso.toml` and in receipts' `decision_path`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Block => "block",
            Self::Redact => "redact",
            Self::RequireApproval => "require_approval",
        }
    }
}

/// Whose actions a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Every action.
    Any,
    /// Actions of one workflow.
    Workflow(String),
    /// Actions on behalf of one account.
    Account(String),
}

impl Subject {
    /// Whether an action of this workflow and account is the rule's subject.
    pub fn matches(&self, workflow: &str, account: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Workflow(value) => value == workflow,
            Self::Account(value) => value == account,
        }
    }

    fn view(&self) -> SubjectView<'_> {
        match self {
            Self::Any => SubjectView::Any,
            Self::Workflow(value) => SubjectView::Workflow(value),
            Self::Account(value) => SubjectView::Account(value),
        }
    }
}

/// The approval terms a `require_approval` rule sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRule {
    /// Approver names from `[approvers]`.
    pub approvers: Vec<String>,
    /// Distinct approving keys needed.
    pub quorum: u32,
    /// Minutes until the request expires.
    pub sla_minutes: u32,
}

/// `[settings]` (policy.md §5): project defaults the SDK layers below arguments and environment
/// variables. Each value has passed the loader's checks; absent keys are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The data directory, as written (relative paths are relative to the project root).
    pub data_dir: Option<String>,
    /// The default workflow.
    pub workflow: Option<String>,
    /// The default account.
    pub account: Option<String>,
    /// `false` = observe-only.
    pub blocking: Option<bool>,
    /// `normal` or `full`.
    pub durability: Option<String>,
    /// The control-plane base URL.
    pub endpoint: Option<String>,
    /// How long an append waits for the store's write lock.
    pub busy_timeout_ms: Option<u32>,
}

/// One `[[rule]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its id.
    pub id: String,
    /// Evaluation order (ascending; ties by position).
    pub order: i64,
    /// Position in the file (0-based), for ties and messages.
    pub position: usize,
    /// The line of its `[[rule]]` header (1-based), for messages.
    pub line: usize,
    /// Disabled rules are validated but never evaluated or floor-checked.
    pub enabled: bool,
    /// Whose actions it applies to.
    pub subject: Subject,
    /// One of the seven verbs, or `any`.
    pub verb: String,
    /// Target hosts.
    pub scope: Scope,
    /// All must hold.
    pub conditions: Vec<Condition>,
    /// What it decides.
    pub decision: Decision,
    /// Approval terms, for `require_approval`.
    pub approval: Option<ApprovalRule>,
    /// Paths to redact for `redact` (`None`: every top-level field).
    pub redact: Option<Vec<String>>,
}

impl Rule {
    /// The rule's `rule_display` (policy.md §12), or `None` if the rule cannot be written in the
    /// grammar (the loader rejects such rules first).
    pub fn display(&self) -> Option<String> {
        let conditions: Vec<String> = self
            .conditions
            .iter()
            .map(Condition::display_text)
            .collect();
        let outcome = match (self.decision, &self.approval) {
            (Decision::Allow, _) => OutcomeView::Allow,
            (Decision::Block, _) => OutcomeView::Block,
            (Decision::Redact, _) => OutcomeView::Redact(self.redact.as_deref()),
            (Decision::RequireApproval, Some(terms)) => OutcomeView::RequireApproval {
                quorum: terms.quorum,
                approvers: &terms.approvers,
                sla_minutes: terms.sla_minutes,
            },
            (Decision::RequireApproval, None) => return None,
        };
        rule_display(
            &self.subject.view(),
            &self.verb,
            &self.scope.display(),
            &conditions,
            &outcome,
        )
    }

    /// Whether some condition narrows the rule (policy.md §8); subject and scope never do.
    pub fn is_narrowed(&self) -> bool {
        self.conditions.iter().any(Condition::is_narrowing)
    }
}

/// A loaded, valid policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Lowercase hex BLAKE3 of the file's bytes.
    pub policy_hash: String,
    /// The decision for unmatched actions (`allow`, `block` or `require_approval`).
    pub default_decision: Decision,
    /// `[identity].operator`, or `None` without the table.
    pub operators: Option<Vec<PublicKey>>,
    /// `[approvers]`: names and their keys, in file order.
    pub approvers: Vec<(String, Vec<PublicKey>)>,
    /// Every rule, in file order (disabled ones included).
    pub rules: Vec<Rule>,
    /// Indexes of the enabled rules in evaluation order, computed once.
    evaluation: Vec<usize>,
}

impl Policy {
    /// A policy from its parts; the evaluation order is computed here, once.
    pub fn new(
        policy_hash: String,
        default_decision: Decision,
        operators: Option<Vec<PublicKey>>,
        approvers: Vec<(String, Vec<PublicKey>)>,
        rules: Vec<Rule>,
    ) -> Self {
        let mut evaluation: Vec<usize> = (0..rules.len()).collect();
        evaluation.retain(|i| rules.get(*i).is_some_and(|r| r.enabled));
        evaluation.sort_by_key(|i| rules.get(*i).map(|r| (r.order, r.position)));
        Self {
            policy_hash,
            default_decision,
            operators,
            approvers,
            rules,
            evaluation,
        }
    }

    /// The enabled rules in evaluation order: ascending `order`, ties by position in the file.
    pub fn evaluation_order(&self) -> impl Iterator<Item = &Rule> {
        self.evaluation.iter().filter_map(|i| self.rules.get(*i))
    }

    /// Every approver name of `[approvers]`, in file order.
    pub fn approver_names(&self) -> Vec<String> {
        self.approvers
            .iter()
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The distinct keys of the named approvers, sorted by their base64 text.
    pub fn roster(&self, names: &[String]) -> Vec<PublicKey> {
        let mut keys: Vec<PublicKey> = Vec::new();
        for (name, list) in &self.approvers {
            if names.contains(name) {
                for key in list {
                    if !keys.contains(key) {
                        keys.push(*key);
                    }
                }
            }
        }
        keys.sort_by_key(PublicKey::to_base64);
        keys
    }

    /// The approver keys registered now for the rule `rule_id` (policy.md §4): the roster of its
    /// approver names, every key of `[approvers]` for the reserved ids of unmatched actions, and
    /// none for a rule that no longer asks for approval. Approvals are re-checked against this
    /// at consumption (sdk.md §7.3).
    pub fn registered_keys(&self, rule_id: &str) -> Vec<PublicKey> {
        if rule_id == crate::policy::eval::DEFAULT_RULE
            || rule_id == crate::policy::eval::FLOOR_RULE
        {
            return self.roster(&self.approver_names());
        }
        self.rules
            .iter()
            .find(|rule| rule.id == rule_id && rule.decision == Decision::RequireApproval)
            .and_then(|rule| rule.approval.as_ref())
            .map(|terms| self.roster(&terms.approvers))
            .unwrap_or_default()
    }
}
