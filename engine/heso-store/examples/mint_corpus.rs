//! Writes a corpus of receipts of every kind the engine mints, for the independent checker
//! (`scripts/independent_check.py`) to re-verify with third-party libraries only.
//!
//! Usage: `cargo run -p heso-store --example mint_corpus -- OUT_DIR`. The keys are fixed
//! throwaway seeds, so the corpus is the same on every run.
#![expect(
    clippy::indexing_slicing,
    reason = "a tool that edits JSON it built itself; indexing a missing member is a bug here"
)]

use std::path::{Path, PathBuf};

use heso_core::identity::{Identity, SecretSeed};
use heso_core::receipt::hashing::link_hash;
use heso_core::receipt::mint::{
    approver_entry, mint_decision_link, mint_operator_receipt, mint_quorum, mint_single_l1, Signer,
};
use heso_core::receipt::redaction::{redact, RedactMode};
use serde_json::{json, Map, Value};

fn identity(byte: u8) -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([byte; 32]))
}

fn content(
    operator: &Identity,
    verb: &str,
    tool: &str,
    fields: &Value,
    decision: &str,
) -> Map<String, Value> {
    let mut content = Map::new();
    content.insert("captured_at".into(), "2026-11-24T12:00:00Z".into());
    content.insert(
        "agent_identity".into(),
        operator.public_key().to_base64().into(),
    );
    content.insert(
        "action".into(),
        json!({"verb": verb, "tool_name": tool, "workflow": "corpus", "account": "acct-corpus", "fields": fields.clone()}),
    );
    content.insert(
        "policy".into(),
        json!({"rule_id": format!("{verb}.{decision}"), "rule_display": format!("When any agent does {verb}, then {decision}."),
               "matched_conditions": [], "decision_path": decision}),
    );
    content.insert("trust_level".into(), "L0".into());
    content
}

/// Appends receipts to one session, linking each to the one before.
struct Session {
    id: String,
    receipts: Vec<Value>,
}

impl Session {
    fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            receipts: Vec::new(),
        }
    }

    fn chain(&self, mut content: Map<String, Value>) -> Map<String, Value> {
        let seq = self.receipts.len() as u64;
        content.insert("session_id".into(), self.id.clone().into());
        content.insert("seq".into(), seq.into());
        if let Some(last) = self.receipts.last() {
            let hash = last["content"]["action_hash"].as_str().unwrap_or_default();
            content.insert(
                "prev_receipt_hash".into(),
                link_hash(&self.id, seq - 1, hash).into(),
            );
        }
        content
    }

    fn push(&mut self, receipt: Value) {
        self.receipts.push(receipt);
    }

    fn write(&self, dir: &Path) -> std::io::Result<()> {
        let mut text = String::new();
        for receipt in &self.receipts {
            text.push_str(&serde_json::to_string(receipt).unwrap_or_default());
            text.push('\n');
        }
        std::fs::write(dir.join(format!("{}.jsonl", self.id)), text)
    }
}

fn record(approver: &Identity, decision: &str) -> Value {
    json!({"decision": decision, "approver_identity": approver.public_key().to_base64(),
           "reason": "checked against the budget", "decided_at": "2026-11-24T12:05:00Z", "sla_minutes": 30})
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: mint_corpus OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let operator = identity(0x21);
    let approvers = [identity(0x22), identity(0x23), identity(0x24)];
    let op = Signer::new(&operator)?;
    let pending = content(
        &operator,
        "payment",
        "charge_card",
        &json!({"amount": 5000, "currency": "usd"}),
        "require_approval",
    );
    write_action_session(&out, &operator, &op, &pending)?;
    write_single_l1(&out, &op, &approvers[0], &pending)?;
    let mut roster: Vec<String> = approvers
        .iter()
        .map(|a| a.public_key().to_base64())
        .collect();
    roster.sort();
    write_quorum(&out, &op, &approvers, &roster, &pending)?;
    write_lifecycles(&out, &op, &approvers[1], &roster, &pending)?;
    std::fs::write(
        out.join("operator.pub"),
        format!("{}\n", operator.public_key().to_base64()),
    )?;
    let approver_keys: Vec<String> = approvers
        .iter()
        .map(|a| a.public_key().to_base64())
        .collect();
    std::fs::write(out.join("approvers.pub"), approver_keys.join("\n") + "\n")?;
    println!("wrote the corpus to {}", out.display());
    Ok(())
}

/// An action session: allowed, blocked, redacted both ways, pending, a result and an error.
fn write_action_session(
    out: &Path,
    operator: &Identity,
    op: &Signer<'_>,
    pending: &Map<String, Value>,
) -> Result<()> {
    let mut actions = Session::new("corpus-actions");
    let fields = json!({"prompt": "naïve 日本語 \u{2028} \"q\"", "n": 1e21, "x": -0.0});
    let plain = [
        content(operator, "llm_call", "summarise", &fields, "allow"),
        content(
            operator,
            "http_request",
            "fetch",
            &json!({"url": "https://pastebin.com/x"}),
            "block",
        ),
    ];
    for content in plain {
        let chained = actions.chain(content);
        actions.push(mint_operator_receipt(chained, op)?);
    }
    let mut salt = 0u8;
    for mode in [RedactMode::CommitAndReveal, RedactMode::Destructive] {
        let secret =
            json!({"api_key": "sk-live-123", "auth": {"secret": "s3cret", "scheme": "bearer"}});
        let mut fields = secret.as_object().cloned().unwrap_or_default();
        let paths = ["api_key".to_owned(), "auth.secret".to_owned()];
        let (record, _) = redact(&mut fields, &paths, mode, &mut || {
            salt += 1;
            [salt; 32]
        });
        let mut redacted = content(
            operator,
            "tool_call",
            "call_api",
            &Value::Object(fields),
            "redact",
        );
        if let Some(record) = record {
            redacted.insert("redaction".into(), record);
        }
        let chained = actions.chain(redacted);
        actions.push(mint_operator_receipt(chained, op)?);
    }
    let chained = actions.chain(pending.clone());
    actions.push(mint_operator_receipt(chained, op)?);
    let mut result = content(operator, "tool_call", "search", &json!({"q": "x"}), "allow");
    result["action"]["result_hash"] = heso_core::crypto::blake3_hex(b"\"abc\"").into();
    let chained = actions.chain(result);
    actions.push(mint_operator_receipt(chained, op)?);
    let mut failed = content(operator, "tool_call", "search", &json!({"q": "y"}), "allow");
    failed["action"]["error"] = "TimeoutError: no answer in 30s".into();
    let chained = actions.chain(failed);
    actions.push(mint_operator_receipt(chained, op)?);
    actions.write(out)?;
    Ok(())
}

/// Standalone single-approver L1 receipts, approved and rejected.
fn write_single_l1(
    out: &Path,
    op: &Signer<'_>,
    approver: &Identity,
    pending: &Map<String, Value>,
) -> Result<()> {
    for (name, decision) in [("l1-approved", "approved"), ("l1-rejected", "rejected")] {
        let mut body = pending.clone();
        body.insert("trust_level".into(), "L1".into());
        body.insert("approver_decision".into(), record(approver, decision));
        let signature = approver_entry(body.clone(), &Signer::new(approver)?)?;
        let receipt = mint_single_l1(body, op, signature)?;
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_vec(&receipt)?,
        )?;
    }
    Ok(())
}

/// A 2-of-3 quorum, signed by the first two approvers.
fn write_quorum(
    out: &Path,
    op: &Signer<'_>,
    approvers: &[Identity],
    roster: &[String],
    pending: &Map<String, Value>,
) -> Result<()> {
    let quorum_body = |records: Vec<Value>| {
        let mut body = pending.clone();
        body.insert("trust_level".into(), "L1".into());
        body.insert(
            "multi_approval".into(),
            json!({"threshold": 2, "roster": roster, "approvers": records}),
        );
        body
    };
    let mut legs = Vec::new();
    let mut records = Vec::new();
    for approver in approvers.iter().take(2) {
        let mut leg_record = record(approver, "approved");
        if let Some(map) = leg_record.as_object_mut() {
            map.remove("sla_minutes");
        }
        legs.push(approver_entry(
            quorum_body(vec![leg_record.clone()]),
            &Signer::new(approver)?,
        )?);
        records.push(leg_record);
    }
    let quorum = mint_quorum(quorum_body(records), op, legs)?;
    std::fs::write(out.join("quorum.json"), serde_json::to_vec(&quorum)?)?;
    Ok(())
}

/// Lifecycle sessions: approved then completed, denied, and expired.
fn write_lifecycles(
    out: &Path,
    op: &Signer<'_>,
    approver: &Identity,
    roster: &[String],
    pending: &Map<String, Value>,
) -> Result<()> {
    let sessions = [
        ("lifecycle-approved", "approved", "approved"),
        ("lifecycle-denied", "denied", "rejected"),
        ("lifecycle-expired", "expired", "rejected"),
    ];
    for (name, decision_kind, decision) in sessions {
        let mut session = Session::new(name);
        let mut suspended = pending.clone();
        suspended.insert("kind".into(), "suspended".into());
        let hash = heso_core::crypto::blake3_hex;
        suspended.insert(
            "suspension".into(),
            json!({
                "resume_token_hash": hash(b"token"),
                "context_ref": {"scheme": "customer", "key": name, "hash": hash(b"{}")},
                "policy": {"policy_id": "local", "policy_hash": hash(b"policy"), "rule": "payment.require_approval"},
                "approval": {"sla": "30m", "expires_at": "2026-11-24T12:30:00Z", "on_timeout": "deny", "approver_pubkeys": roster}
            }),
        );
        let chained = session.chain(suspended);
        session.push(mint_operator_receipt(chained, op)?);
        let mut link = pending.clone();
        link.insert("kind".into(), decision_kind.into());
        link.insert("trust_level".into(), "L1".into());
        link.insert("approver_decision".into(), record(approver, decision));
        let chained = session.chain(link);
        session.push(mint_decision_link(chained, &Signer::new(approver)?)?);
        if decision_kind == "approved" {
            let mut completed = pending.clone();
            completed.insert("kind".into(), "completed".into());
            completed["action"]["result_hash"] = hash(b"{\"ok\":true}").into();
            let chained = session.chain(completed);
            session.push(mint_operator_receipt(chained, op)?);
        }
        session.write(out)?;
    }
    Ok(())
}
