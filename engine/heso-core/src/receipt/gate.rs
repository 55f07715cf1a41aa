//! The content of the receipts an agent's gate records: the gate receipt of a decision
//! (receipts.md §15.2, sdk.md §4.4 and §5.1) and the result receipt after the body ran
//! (receipts.md §15.5, sdk.md §4.6).
//!
//! Pure: the caller supplies salts for commit-and-reveal; the store stamps time, identity and
//! the chain block.

use serde_json::{Map, Value};

use crate::crypto::blake3_hex;
use crate::json::{canonicalize, check_signable, SignableError};
use crate::policy::condition::Action;
use crate::policy::display::reserved_display;
use crate::policy::display::OutcomeView;
use crate::policy::eval::{Evaluation, POLICY_ERROR_RULE};
use crate::policy::model::Decision;
use crate::receipt::redaction::{redact, RedactMode, Reveal};

/// A top-level field whose canonical encoding is longer than this is recorded as its digest
/// (sdk.md §4.3); policy conditions and approval request ids still see the full value.
pub const RECORDING_CAP: usize = 64 * 1024;

/// The longest `action.error` recorded, in UTF-8 bytes (sdk.md §4.6).
pub const MAX_ERROR_BYTES: usize = 4096;

/// The content of a gate receipt and the reveal material of its commit-and-reveal markers.
#[derive(Debug, Clone)]
pub struct GateContent {
    /// `action`, `policy` and, when a field was redacted, `redaction`.
    pub content: Map<String, Value>,
    /// One reveal per committed field.
    pub reveals: Vec<Reveal>,
}

impl GateContent {
    /// Whether any field was redacted (an error message of the call is then not recorded,
    /// since it may quote a redacted value).
    pub fn redacted(&self) -> bool {
        self.content.contains_key("redaction")
    }
}

/// Redaction asked for in code: the decorator's paths and every enclosing step's (sdk.md §4.4).
#[derive(Debug, Clone, Copy)]
pub struct CodeRedaction<'a> {
    /// Dotted paths into `fields`.
    pub paths: &'a [String],
    /// `destructive` when any source in code asked for it.
    pub mode: RedactMode,
}

/// The `policy` member of a receipt for an evaluation.
pub fn policy_member(evaluation: &Evaluation) -> Value {
    let mut policy = Map::new();
    policy.insert("rule_id".to_owned(), evaluation.rule_id.clone().into());
    policy.insert(
        "rule_display".to_owned(),
        evaluation.rule_display.clone().into(),
    );
    policy.insert(
        "matched_conditions".to_owned(),
        Value::Array(evaluation.matched_conditions.clone()),
    );
    policy.insert(
        "decision_path".to_owned(),
        evaluation.decision.name().into(),
    );
    Value::Object(policy)
}

/// The evaluation recorded when the policy file does not load (policy.md §9): `block` under the
/// reserved `policy.error` rule.
pub fn policy_error_evaluation() -> Evaluation {
    Evaluation {
        decision: Decision::Block,
        rule_id: POLICY_ERROR_RULE.to_owned(),
        rule_display: reserved_display(POLICY_ERROR_RULE, "", &OutcomeView::Block)
            .unwrap_or_default(),
        matched_conditions: Vec::new(),
        approval: None,
        redact: None,
    }
}

/// The `action` member as captured, before redaction: the object an approval request id is
/// derived from (storage.md §10.1). `target_host` is omitted when the action has none.
pub fn action_member(action: &Action) -> Map<String, Value> {
    action_with_fields(action, action.fields.clone())
}

fn action_with_fields(action: &Action, fields: Map<String, Value>) -> Map<String, Value> {
    let mut member = Map::new();
    member.insert("verb".to_owned(), action.verb.clone().into());
    member.insert("tool_name".to_owned(), action.tool_name.clone().into());
    if let Some(host) = &action.target_host {
        member.insert("target_host".to_owned(), host.clone().into());
    }
    member.insert("workflow".to_owned(), action.workflow.clone().into());
    member.insert("account".to_owned(), action.account.clone().into());
    member.insert("fields".to_owned(), Value::Object(fields));
    member
}

/// The content of the gate receipt of `action` decided by `evaluation`: paths from code and,
/// for a `redact` decision, the rule's, unioned in that order (sdk.md §4.4); then the recording
/// cap on what is left. `salt_for` supplies a fresh 32-byte salt per committed field.
pub fn gate_content(
    action: &Action,
    evaluation: &Evaluation,
    code: CodeRedaction<'_>,
    salt_for: &mut dyn FnMut() -> [u8; 32],
) -> GateContent {
    let mut paths: Vec<String> = code.paths.to_vec();
    if evaluation.decision == Decision::Redact {
        paths.extend(evaluation.redact.iter().flatten().cloned());
    }
    let mut fields = action.fields.clone();
    let (redaction, reveals) = redact(&mut fields, &paths, code.mode, salt_for);
    cap_fields(&mut fields);
    let mut content = Map::new();
    content.insert(
        "action".to_owned(),
        Value::Object(action_with_fields(action, fields)),
    );
    content.insert("policy".to_owned(), policy_member(evaluation));
    if let Some(redaction) = redaction {
        content.insert("redaction".to_owned(), redaction);
    }
    GateContent { content, reveals }
}

/// Replaces each top-level field longer than [`RECORDING_CAP`] canonical bytes with
/// `{"$digest": "blake3:<hex>", "$size": <bytes>}`.
pub fn cap_fields(fields: &mut Map<String, Value>) {
    for value in fields.values_mut() {
        // Strings and containers are the only values that can grow this large.
        if !matches!(value, Value::String(_) | Value::Array(_) | Value::Object(_)) {
            continue;
        }
        let canonical = canonicalize(value);
        if canonical.len() > RECORDING_CAP {
            let mut digest = Map::new();
            digest.insert(
                "$digest".to_owned(),
                format!("blake3:{}", blake3_hex(&canonical)).into(),
            );
            digest.insert("$size".to_owned(), canonical.len().into());
            *value = Value::Object(digest);
        }
    }
}

/// What a result receipt binds: the hash of the returned value, or the error the body raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultBinding {
    /// `action.result_hash` (receipts.md §15.5).
    Hash(String),
    /// `action.error`, already limited by [`error_text`].
    Error(String),
}

/// The content of the result receipt after a gate receipt (or approval receipt) whose content
/// is `base`: its `action` copied verbatim plus the binding, the same `policy` and `redaction`.
/// `None` when `base` has no `action` object.
pub fn result_content(
    base: &Map<String, Value>,
    binding: &ResultBinding,
) -> Option<Map<String, Value>> {
    let mut action = base.get("action")?.as_object()?.clone();
    match binding {
        ResultBinding::Hash(hash) => action.insert("result_hash".to_owned(), hash.clone().into()),
        ResultBinding::Error(error) => action.insert("error".to_owned(), error.clone().into()),
    };
    let mut content = Map::new();
    content.insert("action".to_owned(), Value::Object(action));
    for member in ["policy", "redaction"] {
        if let Some(value) = base.get(member) {
            content.insert(member.to_owned(), value.clone());
        }
    }
    Some(content)
}

/// `action.error` for an exception (sdk.md §4.6): `<type>: <message>`, or only `<type>` when the
/// call had redacted fields (a message may quote a redacted value); at most
/// [`MAX_ERROR_BYTES`] bytes, cut at a character boundary.
pub fn error_text(type_name: &str, message: &str, redacted: bool) -> String {
    let mut text = if redacted || message.is_empty() {
        type_name.to_owned()
    } else {
        format!("{type_name}: {message}")
    };
    if text.len() > MAX_ERROR_BYTES {
        let mut end = MAX_ERROR_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Hashes a result that arrives in pieces (a generator's items, a stream's chunks) as the JSON
/// array of them, without holding the items: the canonical bytes of an array are `[`, the
/// items' canonical bytes joined by `,`, and `]`.
#[derive(Debug, Clone, Default)]
pub struct ResultHasher {
    hasher: blake3::Hasher,
    items: u64,
}

impl ResultHasher {
    /// An empty array so far.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one item; a value canonical JSON cannot carry exactly is refused.
    pub fn add(&mut self, item: &Value) -> Result<(), SignableError> {
        check_signable(item)?;
        self.hasher
            .update(if self.items == 0 { b"[" } else { b"," });
        self.hasher.update(&canonicalize(item));
        self.items += 1;
        Ok(())
    }

    /// How many items were added.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// The `result_hash` of the array of every item added.
    pub fn finish(&self) -> String {
        let mut hasher = self.hasher.clone();
        hasher.update(if self.items == 0 { b"[]" } else { b"]" });
        crate::hex::encode(hasher.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::receipt::hashing::result_hash;

    fn action(fields: &Value) -> Action {
        Action {
            verb: "tool_call".to_owned(),
            tool_name: "search".to_owned(),
            target_host: None,
            workflow: "demo".to_owned(),
            account: "default".to_owned(),
            fields: fields.as_object().cloned().unwrap(),
        }
    }

    fn evaluation(decision: Decision, redact: Option<Vec<String>>) -> Evaluation {
        Evaluation {
            decision,
            rule_id: "tool.rule".to_owned(),
            rule_display: "When any agent calls a tool, then allow.".to_owned(),
            matched_conditions: Vec::new(),
            approval: None,
            redact,
        }
    }

    fn salts() -> impl FnMut() -> [u8; 32] {
        let mut n = 0u8;
        move || {
            n += 1;
            [n; 32]
        }
    }

    #[test]
    fn an_allowed_action_is_recorded_as_captured() {
        let gate = gate_content(
            &action(&json!({"q": "rust"})),
            &evaluation(Decision::Allow, None),
            CodeRedaction {
                paths: &[],
                mode: RedactMode::CommitAndReveal,
            },
            &mut salts(),
        );
        assert_eq!(
            Value::Object(gate.content.clone()),
            json!({
                "action": {"verb": "tool_call", "tool_name": "search", "workflow": "demo",
                           "account": "default", "fields": {"q": "rust"}},
                "policy": {"rule_id": "tool.rule", "rule_display": "When any agent calls a tool, then allow.",
                           "matched_conditions": [], "decision_path": "allow"},
            })
        );
        assert!(!gate.redacted());
        assert!(gate.reveals.is_empty());
    }

    #[test]
    fn code_paths_come_before_the_rule_paths_and_duplicates_count_once() {
        let gate = gate_content(
            &action(&json!({"a": 1, "b": 2, "c": 3})),
            &evaluation(Decision::Redact, Some(vec!["b".to_owned(), "a".to_owned()])),
            CodeRedaction {
                paths: &["a".to_owned()],
                mode: RedactMode::CommitAndReveal,
            },
            &mut salts(),
        );
        let paths: Vec<&str> = gate.reveals.iter().map(|r| r.field_path.as_str()).collect();
        assert_eq!(paths, ["a", "b"]);
        assert_eq!(gate.content["action"]["fields"]["c"], json!(3));
        assert!(gate.redacted());
    }

    #[test]
    fn rule_paths_apply_only_to_a_redact_decision() {
        let gate = gate_content(
            &action(&json!({"a": 1})),
            &evaluation(Decision::Allow, Some(vec!["a".to_owned()])),
            CodeRedaction {
                paths: &[],
                mode: RedactMode::Destructive,
            },
            &mut salts(),
        );
        assert_eq!(gate.content["action"]["fields"]["a"], json!(1));
    }

    #[test]
    fn fields_over_the_cap_are_recorded_as_their_digest() {
        let big = "x".repeat(RECORDING_CAP);
        let mut fields = json!({"big": big, "small": "y"})
            .as_object()
            .cloned()
            .unwrap();
        cap_fields(&mut fields);
        let canonical = canonicalize(&Value::String("x".repeat(RECORDING_CAP)));
        assert_eq!(
            fields["big"],
            json!({"$digest": format!("blake3:{}", blake3_hex(&canonical)), "$size": RECORDING_CAP + 2})
        );
        assert_eq!(fields["small"], json!("y"));
        // Exactly at the cap stays as is.
        let mut fields = json!({"edge": "x".repeat(RECORDING_CAP - 2)})
            .as_object()
            .cloned()
            .unwrap();
        cap_fields(&mut fields);
        assert!(fields["edge"].is_string());
    }

    #[test]
    fn a_result_copies_action_policy_and_redaction() {
        let base = json!({
            "action": {"verb": "tool_call", "fields": {"k": {"_sd": "ab"}}},
            "policy": {"rule_id": "r"},
            "redaction": {"mode": "commit_and_reveal"},
        });
        let content =
            result_content(base.as_object().unwrap(), &ResultBinding::Hash("00".into())).unwrap();
        assert_eq!(content["action"]["result_hash"], json!("00"));
        assert_eq!(content["policy"], base["policy"]);
        assert_eq!(content["redaction"], base["redaction"]);
        let content =
            result_content(base.as_object().unwrap(), &ResultBinding::Error("E".into())).unwrap();
        assert_eq!(content["action"]["error"], json!("E"));
        assert!(content["action"].get("result_hash").is_none());
    }

    #[test]
    fn error_text_hides_messages_of_redacted_calls_and_is_bounded() {
        assert_eq!(
            error_text("builtins.ValueError", "bad", false),
            "builtins.ValueError: bad"
        );
        assert_eq!(
            error_text("builtins.ValueError", "bad", true),
            "builtins.ValueError"
        );
        let long = error_text("E", &"é".repeat(MAX_ERROR_BYTES), false);
        assert!(long.len() <= MAX_ERROR_BYTES);
        assert!(long.len() > MAX_ERROR_BYTES - 2);
    }

    #[test]
    fn the_incremental_hash_equals_the_hash_of_the_whole_array() {
        let items = [json!({"b": 1, "a": [1.5, "x"]}), json!("abc"), json!(null)];
        let mut hasher = ResultHasher::new();
        assert_eq!(hasher.finish(), result_hash(&json!([])).unwrap());
        for item in &items {
            hasher.add(item).unwrap();
        }
        assert_eq!(hasher.items(), 3);
        assert_eq!(
            hasher.finish(),
            result_hash(&Value::Array(items.to_vec())).unwrap()
        );
    }

    #[test]
    fn policy_error_is_a_block_with_the_reserved_display() {
        let evaluation = policy_error_evaluation();
        assert_eq!(
            policy_member(&evaluation),
            json!({"rule_id": "policy.error", "rule_display": "When the policy cannot be loaded, then block.",
                   "matched_conditions": [], "decision_path": "block"})
        );
    }
}
