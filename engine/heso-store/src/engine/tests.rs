//! The engine handle on a real project: key file, `heso.toml` and store on disk.

use heso_core::policy::condition::Action;
use heso_core::receipt::chain::{ChainMode, ChainVerdict};
use heso_core::receipt::gate::ResultBinding;
use heso_core::receipt::hashing::result_hash;
use heso_core::receipt::redaction::RedactMode;
use serde_json::{json, Value};

use super::*;
use crate::env::EngineEnv;
use crate::store::testing::{operator, options, session_values, verify_session};

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

struct Project {
    dir: tempfile::TempDir,
    engine: Engine,
}

impl Project {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join(".heso");
        std::fs::create_dir_all(&data_dir).unwrap();
        let key = data_dir.join("identity.key");
        std::fs::write(&key, [0x31; 32]).unwrap();
        crate::fs::secure_mode(&key, crate::fs::PRIVATE_FILE_MODE);
        let policy = heso_core::starter::starter_policy(&operator().public_key());
        std::fs::write(dir.path().join("heso.toml"), policy + EXTRA_RULES).unwrap();
        let engine = Engine::open_with_env(
            EngineOptions {
                project_root: dir.path().to_path_buf(),
                data_dir,
                store: options(),
            },
            &EngineEnv::default(),
        )
        .unwrap();
        Self { dir, engine }
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
