//! The engine handle on a real project: key file, `heso.toml` and store on disk.

use heso_core::policy::condition::Action;
use heso_core::receipt::chain::{ChainMode, ChainVerdict};
use heso_core::receipt::gate::ResultBinding;
use heso_core::receipt::hashing::result_hash;
use heso_core::receipt::redaction::RedactMode;
use serde_json::{json, Value};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use heso_core::identity::Identity;
use heso_core::receipt::approval::{ApproverRecord, LegDecision};
use heso_core::receipt::mint::{approver_entry, Signer};

use super::*;
use crate::env::EngineEnv;
use crate::store::testing::{approver, operator, session_values, verify_session};
use crate::store::{ApprovalRequest, Clock, LegSubmission};

/// The extra rules every test project has after the starter's.
const EXTRA_RULES: &str = r#"
[[rule]]
id = "secrets.redact"
order = 1
verb = "tool_call"
conditions = [{ field = "$tool_name", op = "eq", value = "call_api" }]
decision = "redact"
redact = ["api_key"]

[[rule]]
id = "shell.block"
order = 2
verb = "tool_call"
conditions = [{ field = "$tool_name", op = "eq", value = "shell" }]
decision = "block"
"#;

/// The starter policy with `approvers` registered as security-admin, plus [`EXTRA_RULES`].
fn policy_with(approvers: &[&Identity]) -> String {
    let keys: Vec<String> = approvers
        .iter()
        .map(|a| format!("\"{}\"", a.public_key().to_base64()))
        .collect();
    heso_core::starter::starter_policy(&operator().public_key()).replace(
        "security-admin = []",
        &format!("security-admin = [{}]", keys.join(", ")),
    ) + EXTRA_RULES
}

struct Project {
    dir: tempfile::TempDir,
    engine: Engine,
    /// Seconds the store clock is ahead of 2026-11-24T12:00:00Z.
    offset: Arc<AtomicU64>,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join(".heso");
        std::fs::create_dir_all(&data_dir).unwrap();
        let key = data_dir.join("identity.key");
        std::fs::write(&key, [0x31; 32]).unwrap();
        crate::fs::secure_mode(&key, crate::fs::PRIVATE_FILE_MODE);
        std::fs::write(dir.path().join("heso.toml"), policy_with(&[&approver()])).unwrap();
        let offset = Arc::new(AtomicU64::new(0));
        let ahead = offset.clone();
        let start = UNIX_EPOCH + Duration::from_hours(498_756);
        let store = StoreOptions {
            clock: Clock::from_fn(move || {
                start + Duration::from_secs(ahead.load(Ordering::SeqCst))
            }),
            ..StoreOptions::default()
        };
        let engine = Engine::open_with_env(
            EngineOptions {
                project_root: dir.path().to_path_buf(),
                data_dir,
                store,
            },
            &EngineEnv::default(),
        )
        .unwrap();
        Self {
            dir,
            engine,
            offset,
        }
    }

    fn advance_minutes(&self, minutes: u64) {
        self.offset.fetch_add(minutes * 60, Ordering::SeqCst);
    }

    /// An approver tool: signs the request's approval body and records the leg.
    fn decide(&self, request: &ApprovalRequest, decision: LegDecision) {
        let approver = approver();
        let record = ApproverRecord {
            decision,
            approver_identity: approver.public_key(),
            reason: "over budget".to_owned(),
            decided_at: "2026-11-24T12:05:00Z".to_owned(),
            sla_minutes: Some(30),
        };
        let entry = approver_entry(
            request.approval_body(&record),
            &Signer::new(&approver).unwrap(),
        )
        .unwrap();
        let registered = vec![approver.public_key().to_base64()];
        self.engine
            .store()
            .add_approval_leg(&LegSubmission {
                request_id: &request.request_id,
                generation: request.generation,
                record: &record.to_value(),
                signature: &entry,
                registered: &|_| registered.clone(),
            })
            .unwrap();
    }

    fn gate(&self, verb: &str, tool: &str, fields: Value, enforce: bool) -> Gated {
        self.gate_with(verb, tool, fields, &[], enforce)
    }

    #[expect(clippy::needless_pass_by_value, reason = "tests pass json! literals")]
    fn gate_with(
        &self,
        verb: &str,
        tool: &str,
        fields: Value,
        redact: &[String],
        enforce: bool,
    ) -> Gated {
        let action = Action {
            verb: verb.to_owned(),
            tool_name: tool.to_owned(),
            target_host: None,
            workflow: "demo".to_owned(),
            account: "default".to_owned(),
            fields: fields.as_object().cloned().unwrap(),
        };
        self.engine
            .gate(&GateCall {
                action,
                redact,
                mode: RedactMode::CommitAndReveal,
                enforce,
            })
            .unwrap()
    }

    fn finish(&self, gated: &Gated, result: &Value) -> Appended {
        self.engine
            .record_result(
                &gated.session_id,
                gated.result_base().unwrap(),
                &ResultBinding::Hash(result_hash(result).unwrap()),
            )
            .unwrap()
    }

    fn receipts(&self) -> Vec<Value> {
        session_values(&mut self.engine.store().reader().unwrap(), "demo")
    }
}

fn decision_of(receipt: &Value) -> &str {
    receipt["content"]["policy"]["decision_path"]
        .as_str()
        .unwrap()
}

#[test]
fn an_allowed_call_records_its_gate_and_its_result() {
    let project = Project::new();
    let gated = project.gate("tool_call", "search", json!({"q": "rust"}), true);
    assert!(gated.allows());
    assert!(!gated.redacted);
    let result = project.finish(&gated, &json!(["a", "b"]));
    let receipts = project.receipts();
    assert_eq!(receipts.len(), 2);
    assert_eq!(decision_of(&receipts[0]), "allow");
    assert_eq!(receipts[0]["content"]["policy"]["rule_id"], "tool.allow");
    assert_eq!(
        receipts[1]["content"]["action"]["result_hash"],
        json!(result_hash(&json!(["a", "b"])).unwrap())
    );
    assert_eq!(result.chain, Some(("demo".to_owned(), 1)));
    let report = verify_session(project.engine.store(), "demo", ChainMode::Action);
    assert_eq!(report.verdict, ChainVerdict::Valid { length: 2 });
}

#[test]
fn a_block_is_recorded_and_does_not_allow_the_body() {
    let project = Project::new();
    let gated = project.gate("tool_call", "shell", json!({"cmd": "rm -rf /"}), true);
    assert!(!gated.allows());
    let receipts = project.receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(decision_of(&receipts[0]), "block");
    assert_eq!(receipts[0]["content"]["policy"]["rule_id"], "shell.block");
}

#[test]
fn redaction_unions_code_and_rule_paths_and_keeps_reveals() {
    let project = Project::new();
    let gated = project.gate_with(
        "tool_call",
        "call_api",
        json!({"api_key": "sk-secret", "user": "ada", "n": 1}),
        &["user".to_owned()],
        true,
    );
    assert!(gated.allows());
    assert!(gated.redacted);
    let receipts = project.receipts();
    let fields = &receipts[0]["content"]["action"]["fields"];
    assert!(fields["api_key"]["_sd"].is_string());
    assert!(fields["user"]["_sd"].is_string());
    assert_eq!(fields["n"], json!(1));
    assert!(!receipts[0].to_string().contains("sk-secret"));
    let mut reader = project.engine.store().reader().unwrap();
    for path in ["api_key", "user"] {
        let commitment = fields[path]["_sd"].as_str().unwrap();
        let reveal = reader.snapshot(|s| s.reveal(commitment)).unwrap().unwrap();
        assert_eq!(reveal.field_path, path);
    }
    // The result receipt copies the redacted action and its redaction record.
    project.finish(&gated, &json!("ok"));
    let receipts = project.receipts();
    assert_eq!(
        receipts[1]["content"]["redaction"],
        receipts[0]["content"]["redaction"]
    );
    let report = verify_session(project.engine.store(), "demo", ChainMode::Action);
    assert_eq!(report.verdict, ChainVerdict::Valid { length: 2 });
}

#[test]
fn require_approval_opens_a_request_in_enforce_mode_and_only_records_in_observe_mode() {
    let project = Project::new();
    let gated = project.gate("payment", "charge", json!({"amount": 5000}), true);
    assert!(!gated.allows());
    let Gate::Approval { outcome, .. } = &gated.gate else {
        panic!("{gated:?}");
    };
    assert!(matches!(**outcome, GateOutcome::Opened { .. }));
    // The same call again: pending, nothing new recorded.
    let again = project.gate("payment", "charge", json!({"amount": 5000}), true);
    assert!(again.receipt().is_none());
    assert_eq!(project.receipts().len(), 1);

    let observed = project.gate("payment", "charge", json!({"amount": 7000}), false);
    let Gate::Decided { evaluation, .. } = &observed.gate else {
        panic!("{observed:?}");
    };
    assert_eq!(evaluation.decision, Decision::RequireApproval);
    assert!(!observed.allows());
    assert!(observed.result_base().is_some());
    let mut reader = project.engine.store().reader().unwrap();
    assert_eq!(
        reader
            .approvals(&crate::store::ApprovalFilter::default())
            .unwrap()
            .len(),
        1
    );
    assert_eq!(project.receipts().len(), 2);
}

#[test]
fn a_broken_policy_records_a_policy_error_block() {
    let project = Project::new();
    std::fs::write(project.dir.path().join("heso.toml"), "rule = [").unwrap();
    let gated = project.gate("tool_call", "search", json!({}), true);
    let Gate::PolicyBroken { error, .. } = &gated.gate else {
        panic!("{gated:?}");
    };
    assert!(error.to_string().starts_with("heso.toml:1:"), "{error}");
    assert!(!gated.allows());
    let receipts = project.receipts();
    assert_eq!(receipts[0]["content"]["policy"]["rule_id"], "policy.error");
    assert_eq!(decision_of(&receipts[0]), "block");
}

#[test]
fn fields_over_the_recording_cap_are_digests_but_conditions_see_them() {
    let project = Project::new();
    let big: String = "x".repeat(70_000);
    let gated = project.gate("tool_call", "search", json!({"doc": big}), true);
    assert!(gated.allows());
    let receipts = project.receipts();
    assert_eq!(
        receipts[0]["content"]["action"]["fields"]["doc"]["$size"],
        json!(70_002)
    );
}

#[test]
fn an_error_result_is_bound_instead_of_a_hash() {
    let project = Project::new();
    let gated = project.gate("tool_call", "search", json!({}), true);
    project
        .engine
        .record_result(
            &gated.session_id,
            gated.result_base().unwrap(),
            &ResultBinding::Error("builtins.ValueError: no".to_owned()),
        )
        .unwrap();
    let receipts = project.receipts();
    assert_eq!(
        receipts[1]["content"]["action"]["error"],
        "builtins.ValueError: no"
    );
    assert!(receipts[1]["content"]["action"]
        .get("result_hash")
        .is_none());
}

fn approval_outcome(gated: &Gated) -> &GateOutcome {
    match &gated.gate {
        Gate::Approval { outcome, .. } => outcome,
        other => panic!("not an approval gate: {other:?}"),
    }
}

fn delete(project: &Project) -> Gated {
    project.gate("delete", "delete_file", json!({"path": "/srv/a"}), true)
}

#[test]
fn an_approved_request_is_consumed_once_and_its_result_follows() {
    let project = Project::new();
    let opened = delete(&project);
    let request = approval_outcome(&opened).request().clone();
    project.decide(&request, LegDecision::Approved);
    let approved = delete(&project);
    assert!(matches!(
        approval_outcome(&approved),
        GateOutcome::Approved { .. }
    ));
    assert!(approved.allows());
    let approval = approved.receipt().unwrap().clone();
    assert_eq!(approval.chain, None, "the approval receipt is standalone");
    project.finish(&approved, &Value::Null);
    // The next identical call needs a new approval.
    let next = delete(&project);
    let GateOutcome::Opened {
        request: second, ..
    } = approval_outcome(&next)
    else {
        panic!("{next:?}");
    };
    assert_eq!(second.generation, 2);
    assert_eq!(second.request_id, request.request_id);
    let receipts = project.receipts();
    // pending, result, pending (generation 2); the result copies the approved action.
    assert_eq!(receipts.len(), 3);
    assert_eq!(
        receipts[1]["content"]["action"]["result_hash"],
        json!(result_hash(&Value::Null).unwrap())
    );
    let report = verify_session(project.engine.store(), "demo", ChainMode::Action);
    assert_eq!(report.verdict, ChainVerdict::Valid { length: 3 });
    let body: Value = serde_json::from_slice(&approval.body).unwrap();
    assert_eq!(body["content"]["trust_level"], "L1");
}

#[test]
fn a_rejected_request_refuses_every_attempt_with_a_block_receipt() {
    let project = Project::new();
    let opened = delete(&project);
    let request = approval_outcome(&opened).request().clone();
    project.decide(&request, LegDecision::Rejected);
    for attempt in 0..2 {
        let refused = delete(&project);
        let GateOutcome::Rejected {
            rejection_receipt, ..
        } = approval_outcome(&refused)
        else {
            panic!("{refused:?}");
        };
        assert_eq!(rejection_receipt.is_some(), attempt == 0);
        assert!(!refused.allows());
        assert!(refused.result_base().is_none());
    }
    let rules: Vec<Value> = project
        .receipts()
        .iter()
        .map(|r| r["content"]["policy"]["rule_id"].clone())
        .collect();
    assert_eq!(
        rules,
        [
            json!("delete.requires_approval"),
            json!("approval.rejected"),
            json!("approval.rejected")
        ]
    );
}

#[test]
fn a_request_past_its_deadline_expires_then_a_new_one_opens() {
    let project = Project::new();
    delete(&project);
    project.advance_minutes(31);
    let expired = delete(&project);
    assert!(matches!(
        approval_outcome(&expired),
        GateOutcome::Expired { .. }
    ));
    assert!(!expired.allows());
    let reopened = delete(&project);
    let GateOutcome::Opened { request, .. } = approval_outcome(&reopened) else {
        panic!("{reopened:?}");
    };
    assert_eq!(request.generation, 2);
    let rules: Vec<Value> = project
        .receipts()
        .iter()
        .map(|r| r["content"]["policy"]["rule_id"].clone())
        .collect();
    assert_eq!(
        rules,
        [
            json!("delete.requires_approval"),
            json!("approval.expired"),
            json!("delete.requires_approval")
        ]
    );
}

#[test]
fn an_approval_by_a_key_no_longer_registered_does_not_count() {
    let project = Project::new();
    let opened = delete(&project);
    let request = approval_outcome(&opened).request().clone();
    project.decide(&request, LegDecision::Approved);
    // The approver's key leaves heso.toml (a different size, so the reload sees the edit).
    let other = Identity::from_seed(&heso_core::identity::SecretSeed::from_bytes([0x44; 32]));
    std::fs::write(project.dir.path().join("heso.toml"), policy_with(&[&other])).unwrap();
    let revoked = delete(&project);
    assert!(matches!(
        approval_outcome(&revoked),
        GateOutcome::Revoked { .. }
    ));
    assert!(!revoked.allows());
}
