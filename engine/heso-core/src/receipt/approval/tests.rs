use serde_json::json;

use super::*;
use crate::identity::{Identity, SecretSeed};
use crate::receipt::mint::{
    approver_entry, mint_operator_receipt, mint_quorum, mint_single_l1, Signer,
};
use crate::receipt::redaction::{redact, RedactMode};
use crate::receipt::verify::{verify_receipt, Pins, TrustLevel, Verdict};

fn identity(byte: u8) -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([byte; 32]))
}

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn payment() -> Map<String, Value> {
    object(&json!({
        "verb": "payment", "tool_name": "charge_card", "workflow": "billing",
        "account": "acme", "fields": {"amount": 5000, "card": "4111"}
    }))
}

/// A pending receipt's content as the store signs it (chain block included).
fn pending_content(operator: &Identity) -> Map<String, Value> {
    let mut content = object(&json!({
        "action": payment(),
        "policy": {"rule_id": "payment.large", "rule_display": "When any agent makes a payment, then require approval from finance within 30m.",
                   "matched_conditions": [], "decision_path": "require_approval"},
        "captured_at": "2026-11-24T12:00:00Z",
        "agent_identity": operator.public_key().to_base64(),
        "trust_level": "L0",
        "session_id": "billing", "seq": 3,
        "prev_receipt_hash": "ab".repeat(32)
    }));
    let receipt = mint_operator_receipt(content.clone(), &Signer::new(operator).unwrap()).unwrap();
    content.insert(
        "action_hash".to_owned(),
        receipt["content"]["action_hash"].clone(),
    );
    content
}

fn record(approver: &Identity, decision: LegDecision) -> ApproverRecord {
    ApproverRecord {
        decision,
        approver_identity: approver.public_key(),
        reason: "checked the invoice".to_owned(),
        decided_at: "2026-11-24T12:05:00Z".to_owned(),
        sla_minutes: Some(30),
    }
}

/// The final receipt's content without the members the store stamps outside the body.
fn pins(operator: &Identity, approvers: &[&Identity]) -> Pins {
    Pins {
        operators: vec![operator.public_key()],
        approvers: approvers.iter().map(|a| a.public_key()).collect(),
    }
}

#[test]
fn the_request_domain_is_the_25_bytes_of_storage_10_1() {
    assert_eq!(REQUEST_DOMAIN.len(), 25);
    assert_eq!(
        crate::hex::encode(REQUEST_DOMAIN),
        "6865736f2d617070726f76616c2d726571756573742f763100"
    );
}

#[test]
fn the_request_id_is_the_keyed_hash_of_the_domain_and_the_jcs_of_d() {
    let key = [7u8; 32];
    // D written out by hand: members sorted, absent ones null, no whitespace.
    let jcs = r#"{"account":"acme","action":null,"domain":null,"fields":{"amount":5000,"card":"4111"},"target_host":null,"tool_name":"charge_card","verb":"payment","workflow":"billing"}"#;
    let mut input = b"heso-approval-request/v1\0".to_vec();
    input.extend_from_slice(jcs.as_bytes());
    let expected = blake3::keyed_hash(&key, &input).to_hex().to_string();
    assert_eq!(request_id(&key, &payment()).unwrap(), expected);
    assert_eq!(expected.len(), 64);
    // An explicit null is the same as an absent member; members outside D do not count.
    let mut same = payment();
    same.insert("target_host".to_owned(), Value::Null);
    same.insert("result_hash".to_owned(), "aa".repeat(32).into());
    assert_eq!(request_id(&key, &same).unwrap(), expected);
}

#[test]
fn request_ids_are_stable_across_commit_and_reveal_retries() {
    let key = [9u8; 32];
    let action = payment();
    let mut salt = 0u8;
    let mut redacted_forms = Vec::new();
    for _ in 0..2 {
        // Each capture redacts with fresh salts: the signed form differs every time.
        let mut fields = action["fields"].as_object().cloned().unwrap();
        let (record, reveals) = redact(
            &mut fields,
            &["card".to_owned()],
            RedactMode::CommitAndReveal,
            &mut || {
                salt += 1;
                [salt; 32]
            },
        );
        assert!(record.is_some());
        assert_eq!(reveals.len(), 1);
        let mut redacted = action.clone();
        redacted.insert("fields".to_owned(), Value::Object(fields));
        redacted_forms.push(redacted);
    }
    assert_ne!(redacted_forms[0], redacted_forms[1]);
    assert_ne!(
        request_id(&key, &redacted_forms[0]).unwrap(),
        request_id(&key, &redacted_forms[1]).unwrap()
    );
    // The id comes from the capture before redaction, so both retries find one request.
    assert_eq!(
        request_id(&key, &action).unwrap(),
        request_id(&key, &action.clone()).unwrap()
    );
}

#[test]
fn request_ids_differ_for_different_actions_and_keys() {
    let key = [9u8; 32];
    let base = request_id(&key, &payment()).unwrap();
    let mut other = payment();
    other.insert("fields".to_owned(), json!({"amount": 5001, "card": "4111"}));
    assert_ne!(request_id(&key, &other).unwrap(), base);
    let mut other = payment();
    other.insert("workflow".to_owned(), "payroll".into());
    assert_ne!(request_id(&key, &other).unwrap(), base);
    let mut other = payment();
    other.insert("target_host".to_owned(), "api.stripe.com".into());
    assert_ne!(request_id(&key, &other).unwrap(), base);
    assert_ne!(request_id(&[8u8; 32], &payment()).unwrap(), base);
}

#[test]
fn request_ids_refuse_integers_canonical_json_cannot_carry() {
    let mut action = payment();
    action.insert(
        "fields".to_owned(),
        json!({"amount": 9_007_199_254_740_993_u64}),
    );
    assert!(request_id(&[1u8; 32], &action).is_err());
}

#[test]
fn the_base_content_drops_the_chain_block_and_the_hash() {
    let base = base_content(&pending_content(&identity(0x41)));
    for gone in ["session_id", "seq", "prev_receipt_hash", "action_hash"] {
        assert!(!base.contains_key(gone), "{gone}");
    }
    for kept in [
        "action",
        "policy",
        "captured_at",
        "agent_identity",
        "trust_level",
    ] {
        assert!(base.contains_key(kept), "{kept}");
    }
}

#[test]
fn records_parse_strictly_and_round_trip() {
    let approver = identity(0x42);
    let original = record(&approver, LegDecision::Approved);
    assert_eq!(
        ApproverRecord::parse(&original.to_value()).unwrap(),
        original
    );
    let mut extra = original.to_value();
    extra["nonce"] = "x".into();
    assert!(matches!(
        ApproverRecord::parse(&extra),
        Err(ApprovalBodyError::Record(_))
    ));
    let mut escalated = original.to_value();
    escalated["decision"] = "escalated".into();
    assert!(ApproverRecord::parse(&escalated).is_err());
    let mut no_reason = original.to_value();
    no_reason.as_object_mut().unwrap().remove("reason");
    assert!(ApproverRecord::parse(&no_reason).is_err());
    let mut big = original.to_value();
    big["sla_minutes"] = json!(-1);
    assert!(ApproverRecord::parse(&big).is_err());
}

#[test]
fn a_single_approver_body_signs_into_a_valid_l1_receipt() {
    let (operator, approver) = (identity(0x41), identity(0x42));
    let base = base_content(&pending_content(&operator));
    let record = record(&approver, LegDecision::Approved);
    let body = approval_body(&base, &record, 1, &[approver.public_key().to_base64()]);
    assert_eq!(body["trust_level"], "L1");
    assert_eq!(body["approver_decision"], record.to_value());
    let entry = approver_entry(body.clone(), &Signer::new(&approver).unwrap()).unwrap();
    let checked = verify_approver_signature(&body, &entry).unwrap();
    assert_eq!(checked.key, approver.public_key());
    let content = final_content(&base, &[record], 1, &[]).unwrap();
    assert_eq!(content, body);
    let receipt = mint_single_l1(content, &Signer::new(&operator).unwrap(), entry).unwrap();
    let verification = verify_receipt(&receipt, Some(&pins(&operator, &[&approver])));
    assert_eq!(verification.verdict, Verdict::Valid, "{verification:?}");
    assert_eq!(verification.trust_level, Some(TrustLevel::L1));
}

#[test]
fn a_signature_over_another_body_or_in_another_role_is_refused() {
    let (operator, approver) = (identity(0x41), identity(0x42));
    let base = base_content(&pending_content(&operator));
    let body = approval_body(&base, &record(&approver, LegDecision::Approved), 1, &[]);
    let entry = approver_entry(body.clone(), &Signer::new(&approver).unwrap()).unwrap();
    let mut other = body.clone();
    other["action"]["fields"]["amount"] = json!(50);
    assert_eq!(
        verify_approver_signature(&other, &entry),
        Err(ApprovalBodyError::Signature)
    );
    let mut operator_role = entry.clone();
    operator_role["key_id"] = "operator".into();
    assert!(matches!(
        verify_approver_signature(&body, &operator_role),
        Err(ApprovalBodyError::Entry(_))
    ));
    let mut short = entry.clone();
    short["signature"] = "AAAA".into();
    assert!(matches!(
        verify_approver_signature(&body, &short),
        Err(ApprovalBodyError::Entry(_))
    ));
    // The same key and signature, rebuilt from a stored leg, verifies.
    let rebuilt =
        approver_signature_entry(&approver.public_key(), entry["signature"].as_str().unwrap());
    assert!(verify_approver_signature(&body, &rebuilt).is_ok());
}

#[test]
fn two_of_three_legs_assemble_into_a_valid_quorum_receipt() {
    let operator = identity(0x41);
    let approvers = [identity(0x43), identity(0x44), identity(0x45)];
    let mut roster: Vec<String> = approvers
        .iter()
        .map(|a| a.public_key().to_base64())
        .collect();
    roster.sort();
    let base = base_content(&pending_content(&operator));
    let mut records = Vec::new();
    let mut legs = Vec::new();
    for approver in approvers.iter().take(2) {
        let record = record(approver, LegDecision::Approved);
        let body = approval_body(&base, &record, 2, &roster);
        assert_eq!(
            body["multi_approval"]["approvers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let entry = approver_entry(body.clone(), &Signer::new(approver).unwrap()).unwrap();
        verify_approver_signature(&body, &entry).unwrap();
        records.push(record);
        legs.push(entry);
    }
    assert!(final_content(&base, &records[..1], 2, &roster).is_err());
    let content = final_content(&base, &records, 2, &roster).unwrap();
    let receipt = mint_quorum(content, &Signer::new(&operator).unwrap(), legs).unwrap();
    let verification = verify_receipt(
        &receipt,
        Some(&pins(&operator, &[&approvers[0], &approvers[1]])),
    );
    assert_eq!(verification.verdict, Verdict::Valid, "{verification:?}");
}

#[test]
fn a_rejection_of_a_quorum_request_is_a_single_lane_body() {
    let (operator, approver) = (identity(0x41), identity(0x43));
    let base = base_content(&pending_content(&operator));
    let record = record(&approver, LegDecision::Rejected);
    let body = approval_body(&base, &record, 3, &[approver.public_key().to_base64()]);
    assert!(!body.contains_key("multi_approval"));
    assert_eq!(body["approver_decision"]["decision"], "rejected");
    let entry = approver_entry(body.clone(), &Signer::new(&approver).unwrap()).unwrap();
    let content = final_content(&base, &[record], 3, &[]).unwrap();
    let receipt = mint_single_l1(content, &Signer::new(&operator).unwrap(), entry).unwrap();
    let verification = verify_receipt(&receipt, Some(&pins(&operator, &[&approver])));
    assert_eq!(verification.verdict, Verdict::Valid);
    assert_eq!(
        receipt["content"]["approver_decision"]["decision"],
        "rejected"
    );
}

#[test]
fn refusal_receipts_copy_the_action_and_name_the_reserved_rule() {
    let mut pending = pending_content(&identity(0x41));
    pending.insert(
        "redaction".to_owned(),
        json!({"mode": "destructive", "markers": []}),
    );
    let base = base_content(&pending);
    let rejected = refusal_content(&base, "approval.rejected").unwrap();
    assert_eq!(rejected["action"], base["action"]);
    assert_eq!(rejected["redaction"], base["redaction"]);
    assert_eq!(
        rejected["policy"],
        json!({"rule_id": "approval.rejected",
               "rule_display": "When an approver rejected this exact action, then block.",
               "matched_conditions": [], "decision_path": "block"})
    );
    let expired = refusal_content(&base, "approval.expired").unwrap();
    assert_eq!(
        expired["policy"]["rule_display"],
        "When no approver decided this exact action in time, then block."
    );
    assert_eq!(
        expired.keys().collect::<Vec<_>>(),
        ["action", "policy", "redaction"]
    );
    assert!(refusal_content(&base, "policy.error").is_none());
}
