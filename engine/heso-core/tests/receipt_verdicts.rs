//! One negative test per verdict name of receipts.md §9 and §10.5, each asserting the exact name
//! and that the earlier gate wins when a receipt fails several.

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "a panic is a failed test; clippy.toml allow-*-in-tests covers #[test] fns, not helpers"
)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine as _;
use heso_core::identity::{Identity, PublicKey, SecretSeed};
use heso_core::receipt::chain::{verify_chain, ChainMode, ChainVerdict};
use heso_core::receipt::domain;
use heso_core::receipt::hashing::{canonical_content, link_hash};
use heso_core::receipt::mint::{
    approver_entry, envelope, mint_decision_link, mint_operator_receipt, mint_quorum,
    mint_single_l1, seal_content, Signer,
};
use heso_core::receipt::verify::{
    verify_receipt, verify_receipt_bytes, Pins, Role, TrustLevel, Verdict,
};
use serde_json::{json, Map, Value};

fn identity(byte: u8) -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([byte; 32]))
}

fn operator() -> Identity {
    identity(9)
}

fn approver() -> Identity {
    identity(10)
}

fn content(verb: &str) -> Map<String, Value> {
    json!({
        "captured_at": "2026-11-24T10:00:00Z",
        "agent_identity": operator().public_key().to_base64(),
        "action": {
            "verb": verb, "tool_name": "charge_card", "workflow": "billing", "account": "acme",
            "fields": {"amount": 5000, "card": {"number": "4242"}}
        },
        "policy": {
            "rule_id": "tool.allow", "rule_display": "When any agent calls a tool, then allow.",
            "matched_conditions": [], "decision_path": "allow"
        },
        "trust_level": "L0"
    })
    .as_object()
    .unwrap()
    .clone()
}

fn mint(content: Map<String, Value>) -> Value {
    let operator = operator();
    mint_operator_receipt(content, &Signer::new(&operator).unwrap()).unwrap()
}

fn verdict(receipt: &Value) -> Verdict {
    verify_receipt(receipt, None).verdict
}

fn l1_body() -> Map<String, Value> {
    let mut body = content("payment");
    body["policy"]["decision_path"] = "require_approval".into();
    body.insert("trust_level".into(), "L1".into());
    body.insert(
        "approver_decision".into(),
        json!({"decision": "approved", "approver_identity": approver().public_key().to_base64(),
               "reason": "ok", "decided_at": "2026-11-24T10:05:00Z", "sla_minutes": 30}),
    );
    body
}

fn l1_receipt() -> Value {
    let (operator, approver) = (operator(), approver());
    let signature = approver_entry(l1_body(), &Signer::new(&approver).unwrap()).unwrap();
    mint_single_l1(l1_body(), &Signer::new(&operator).unwrap(), signature).unwrap()
}

#[test]
fn minted_kinds_are_valid() {
    let plain = mint(content("tool_call"));
    let verification = verify_receipt(&plain, None);
    assert_eq!(
        (verification.verdict, verification.trust_level),
        (Verdict::Valid, Some(TrustLevel::L0))
    );
    assert_eq!(verification.operator, Some(operator().public_key()));
    let l1 = verify_receipt(&l1_receipt(), None);
    assert_eq!(
        (l1.verdict, l1.trust_level),
        (Verdict::Valid, Some(TrustLevel::L1))
    );
    assert_eq!(l1.signers.len(), 2);
}

#[test]
fn malformed_shapes_and_g0_wins_over_every_later_gate() {
    let mut receipt = mint(content("tool_call"));
    receipt["content"]["action"]["fields"]["amount"] = 1.into(); // would be HashMismatch
    receipt["alg"] = "other".into(); // would be WrongAlgorithm
    receipt["comment"] = "added after signing".into();
    assert_eq!(verdict(&receipt), Verdict::Malformed);

    let base = mint(content("tool_call"));
    let mut null_optional = base.clone();
    null_optional["content"]["session_id"] = Value::Null;
    assert_eq!(verdict(&null_optional), Verdict::Malformed);
    let mut l2 = base.clone();
    l2["content"]["trust_level"] = "L2".into();
    assert_eq!(verdict(&l2), Verdict::Malformed);
    let text = serde_json::to_string(&base).unwrap();
    let duplicated = text.replacen("\"alg\":", "\"alg\":\"x\",\"alg\":", 1);
    assert_eq!(
        verify_receipt_bytes(duplicated.as_bytes(), None).verdict,
        Verdict::Malformed
    );
    assert_eq!(
        verify_receipt_bytes(b"[]", None).verdict,
        Verdict::Malformed
    );
    assert_eq!(
        verify_receipt_bytes(b"{\"alg\":", None).verdict,
        Verdict::Malformed
    );
}

#[test]
fn wrong_algorithm_wins_over_hash_mismatch() {
    let mut receipt = mint(content("tool_call"));
    receipt["alg"] = "heso-plat/v1+ed25519".into();
    receipt["content"]["action"]["fields"]["amount"] = 1.into();
    let verification = verify_receipt(&receipt, None);
    assert_eq!(verification.verdict, Verdict::WrongAlgorithm);
    assert_eq!(
        verification.detail.as_deref(),
        Some("alg `heso-plat/v1+ed25519`")
    );
}

#[test]
fn unsupported_version() {
    let mut old = content("tool_call");
    old.insert("action_version".into(), "heso-action/1.0".into());
    assert_eq!(verdict(&mint(old)), Verdict::Unsupported);
}

#[test]
fn hash_mismatch_wins_over_invalid_signature() {
    let mut receipt = mint(content("tool_call"));
    receipt["content"]["action"]["fields"]["amount"] = 5001.into();
    assert_eq!(verdict(&receipt), Verdict::HashMismatch);
    // A nested member named action_hash is content, so changing it is tampering too.
    let mut nested = mint(content("tool_call"));
    nested["content"]["action"]["fields"]["action_hash"] = "x".into();
    assert_eq!(verdict(&nested), Verdict::HashMismatch);
}

#[test]
fn unknown_key_id_is_malformed_after_the_hash() {
    let mut receipt = mint(content("tool_call"));
    receipt["signatures"][0]["key_id"] = "auditor".into();
    assert_eq!(verdict(&receipt), Verdict::Malformed);
}

#[test]
fn invalid_signatures() {
    let receipt = mint(content("tool_call"));
    let signature = STANDARD
        .decode(receipt["signatures"][0]["signature"].as_str().unwrap())
        .unwrap();
    let mut flipped = signature.clone();
    flipped[10] ^= 1;
    let mut tampered = receipt.clone();
    tampered["signatures"][0]["signature"] = STANDARD.encode(&flipped).into();
    assert_eq!(verdict(&tampered), Verdict::InvalidSignature);
    let mut wrong_algorithm = receipt.clone();
    wrong_algorithm["signatures"][0]["algorithm"] = "Ed448".into();
    assert_eq!(verdict(&wrong_algorithm), Verdict::InvalidSignature);
    let mut url_safe = receipt.clone();
    url_safe["signatures"][0]["signature"] = URL_SAFE.encode(&signature).replace('=', "").into();
    assert_eq!(verdict(&url_safe), Verdict::InvalidSignature);
    let mut short_key = receipt;
    short_key["signatures"][0]["public_key"] = "AAAA".into();
    assert_eq!(verdict(&short_key), Verdict::InvalidSignature);
}

#[test]
fn self_approval() {
    let operator = operator();
    let mut body = l1_body();
    body["approver_decision"]["approver_identity"] = operator.public_key().to_base64().into();
    let signer = Signer::new(&operator).unwrap();
    let signature = approver_entry(body.clone(), &signer).unwrap();
    let receipt = mint_single_l1(body, &signer, signature).unwrap();
    assert_eq!(verdict(&receipt), Verdict::SelfApproval);
}

fn quorum_content(threshold: u32, approvers: &[&Identity]) -> Map<String, Value> {
    let mut roster: Vec<String> = approvers
        .iter()
        .map(|a| a.public_key().to_base64())
        .collect();
    roster.sort();
    let records: Vec<Value> = approvers
        .iter()
        .map(|a| {
            json!({"decision": "approved", "approver_identity": a.public_key().to_base64(),
                        "reason": "", "decided_at": "2026-11-24T10:05:00Z"})
        })
        .collect();
    let mut body = content("payment");
    body["policy"]["decision_path"] = "require_approval".into();
    body.insert("trust_level".into(), "L1".into());
    body.insert(
        "multi_approval".into(),
        json!({"threshold": threshold, "roster": roster, "approvers": records}),
    );
    body
}

fn quorum(threshold: u32, signing: &[&Identity], roster: &[&Identity]) -> Value {
    let mut legs = Vec::new();
    for approver in signing {
        let mut leg = quorum_content(threshold, roster);
        let record = leg["multi_approval"]["approvers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["approver_identity"] == approver.public_key().to_base64())
            .unwrap()
            .clone();
        leg["multi_approval"]["approvers"] = json!([record]);
        legs.push(approver_entry(leg, &Signer::new(approver).unwrap()).unwrap());
    }
    let mut content = quorum_content(threshold, roster);
    let keep: Vec<String> = signing.iter().map(|a| a.public_key().to_base64()).collect();
    content["multi_approval"]["approvers"]
        .as_array_mut()
        .unwrap()
        .retain(|r| keep.iter().any(|k| r["approver_identity"] == k.as_str()));
    let operator = operator();
    mint_quorum(content, &Signer::new(&operator).unwrap(), legs).unwrap()
}

#[test]
fn quorum_valid_and_threshold_not_met() {
    let (a, b, c) = (identity(11), identity(12), identity(13));
    let two_of_three = quorum(2, &[&a, &b], &[&a, &b, &c]);
    let verification = verify_receipt(&two_of_three, None);
    assert_eq!(
        (verification.verdict, verification.trust_level),
        (Verdict::Valid, Some(TrustLevel::L1))
    );
    let short = quorum(2, &[&a], &[&a, &b, &c]);
    let verification = verify_receipt(&short, None);
    assert_eq!(verification.verdict, Verdict::ThresholdNotMet);
    assert_eq!(verification.detail.as_deref(), Some("have=1 need=2"));
    // A leg re-attributed to a key off the roster is malformed, before its signature is checked.
    let mut off_roster = quorum(1, &[&a], &[&a]);
    off_roster["content"]["multi_approval"]["roster"] = json!([b.public_key().to_base64()]);
    assert_eq!(verdict(&off_roster), Verdict::HashMismatch);
}

#[test]
fn malformed_redaction() {
    let mut redacted = content("tool_call");
    redacted["action"]["fields"]["card"]["number"] = "[redacted]".into();
    redacted.insert(
        "redaction".into(),
        json!({"mode": "destructive", "markers": [{"field_path": "card.number", "algorithm": "drop/v1", "commitment": ""}]}),
    );
    assert_eq!(verdict(&mint(redacted.clone())), Verdict::Valid);
    redacted["redaction"]["markers"][0]["commitment"] = "ab".repeat(32).into();
    assert_eq!(verdict(&mint(redacted)), Verdict::MalformedRedaction);
}

#[test]
fn trust_level_mismatch_both_ways() {
    let mut receipt = l1_receipt();
    receipt["signatures"].as_array_mut().unwrap().pop();
    let verification = verify_receipt(&receipt, None);
    assert_eq!(verification.verdict, Verdict::TrustLevelMismatch);
    assert_eq!(
        verification.detail.as_deref(),
        Some("embedded=L1 derived=L0")
    );
    let mut claims_l1 = content("tool_call");
    claims_l1.insert("trust_level".into(), "L1".into());
    assert_eq!(verdict(&mint(claims_l1)), Verdict::TrustLevelMismatch);
}

#[test]
fn time_anchor_anchor_policy_and_mandate() {
    let mut anchored = content("tool_call");
    anchored.insert(
        "time_anchor".into(),
        json!({"kind": "rfc3161", "token_b64": "AA==", "tsa": "x", "anchored_hash": "00"}),
    );
    assert_eq!(verdict(&mint(anchored)), Verdict::TimeAnchorUnverifiable);
    let mut required = content("tool_call");
    required.insert("anchor_policy".into(), "required".into());
    assert_eq!(verdict(&mint(required)), Verdict::AnchorRequired);
    let mut payment = content("payment");
    payment["action"]["mandate"] = json!({"verdict": "invalid"});
    assert_eq!(verdict(&mint(payment.clone())), Verdict::MandateRejected);
    payment["action"]["mandate"] = json!({"verdict": "valid"});
    assert_eq!(verdict(&mint(payment)), Verdict::Valid);
}

#[test]
fn identity_mismatch_on_swapped_identities() {
    let mut swapped = content("tool_call");
    swapped.insert(
        "agent_identity".into(),
        identity(20).public_key().to_base64().into(),
    );
    assert_eq!(verdict(&mint(swapped)), Verdict::IdentityMismatch);
    let mut body = l1_body();
    body["approver_decision"]["approver_identity"] = identity(21).public_key().to_base64().into();
    let signature = approver_entry(body.clone(), &Signer::new(&approver()).unwrap()).unwrap();
    let operator = operator();
    let receipt = mint_single_l1(body, &Signer::new(&operator).unwrap(), signature).unwrap();
    assert_eq!(verdict(&receipt), Verdict::IdentityMismatch);
}

#[test]
fn untrusted_signer_only_when_pinning() {
    let receipt = l1_receipt();
    let all = Pins {
        operators: vec![operator().public_key()],
        approvers: vec![approver().public_key()],
    };
    assert_eq!(verify_receipt(&receipt, Some(&all)).verdict, Verdict::Valid);
    let foreign = Pins {
        operators: vec![identity(30).public_key()],
        approvers: all.approvers.clone(),
    };
    assert_eq!(
        verify_receipt(&receipt, Some(&foreign)).verdict,
        Verdict::UntrustedSigner
    );
    let operator_only = Pins {
        operators: all.operators.clone(),
        approvers: vec![],
    };
    let verification = verify_receipt(&receipt, Some(&operator_only));
    assert_eq!(verification.verdict, Verdict::UntrustedSigner);
    assert!(verification.detail.unwrap().starts_with("approver heso:"));
    // Pinning never hides an earlier failure.
    let mut tampered = receipt;
    tampered["content"]["action"]["fields"]["amount"] = 1.into();
    assert_eq!(
        verify_receipt(&tampered, Some(&foreign)).verdict,
        Verdict::HashMismatch
    );
}

// ---- lifecycle ----

fn link(kind: &str, seq: u64, prev: Option<&str>, session: &str) -> Map<String, Value> {
    let mut link = content("payment");
    link["policy"]["decision_path"] = "require_approval".into();
    link.insert("session_id".into(), session.into());
    link.insert("seq".into(), seq.into());
    if let Some(prev) = prev {
        link.insert("prev_receipt_hash".into(), prev.into());
    }
    link.insert("kind".into(), kind.into());
    if matches!(kind, "approved" | "denied" | "expired" | "escalated") {
        link.insert("trust_level".into(), "L1".into());
        let decision = if kind == "approved" {
            "approved"
        } else if kind == "escalated" {
            "escalated"
        } else {
            "rejected"
        };
        link.insert(
            "approver_decision".into(),
            json!({"decision": decision, "approver_identity": approver().public_key().to_base64(),
                   "reason": "", "decided_at": "2026-11-24T10:05:00Z"}),
        );
    }
    link
}

fn mint_link(link: Map<String, Value>) -> Value {
    let kind = link["kind"].as_str().unwrap().to_owned();
    if matches!(kind.as_str(), "suspended" | "completed") {
        mint(link)
    } else {
        mint_decision_link(link, &Signer::new(&approver()).unwrap()).unwrap()
    }
}

/// Mints a lifecycle session of the given kinds, each linked to the one before.
fn session(kinds: &[&str]) -> Vec<Value> {
    let mut receipts: Vec<Value> = Vec::new();
    for (seq, kind) in kinds.iter().enumerate() {
        let prev = receipts.last().map(|r| {
            link_hash(
                "life",
                (seq - 1) as u64,
                r["content"]["action_hash"].as_str().unwrap(),
            )
        });
        receipts.push(mint_link(link(kind, seq as u64, prev.as_deref(), "life")));
    }
    receipts
}

#[test]
fn lifecycle_happy_path_and_levels() {
    let receipts = session(&["suspended", "approved", "completed"]);
    let levels: Vec<_> = receipts
        .iter()
        .map(|r| verify_receipt(r, None).trust_level)
        .collect();
    assert_eq!(
        levels,
        vec![
            Some(TrustLevel::L0),
            Some(TrustLevel::L1),
            Some(TrustLevel::L0)
        ]
    );
    assert_eq!(
        verify_chain(&receipts, ChainMode::Auto, None).verdict,
        ChainVerdict::Valid { length: 3 }
    );
    let pins = Pins {
        operators: vec![operator().public_key()],
        approvers: vec![approver().public_key()],
    };
    assert_eq!(
        verify_chain(&receipts, ChainMode::Auto, Some(&pins))
            .verdict
            .name(),
        "Valid"
    );
    let swapped_roles = Pins {
        operators: pins.approvers.clone(),
        approvers: pins.operators.clone(),
    };
    let verdict = verify_chain(&receipts, ChainMode::Auto, Some(&swapped_roles)).verdict;
    assert!(
        matches!(
            verdict,
            ChainVerdict::UntrustedSigner {
                seq: 0,
                role: Role::Operator,
                ..
            }
        ),
        "{verdict:?}"
    );
}

#[test]
fn producer_signed_decision_is_a_role_violation() {
    let approved = link("approved", 1, None, "life");
    let (sealed, canonical) = seal_content(approved).unwrap();
    let operator = operator();
    let signer = Signer::new(&operator).unwrap();
    let receipt = envelope(
        sealed,
        vec![signer.entry("operator", domain::ACTION, &canonical)],
    );
    assert_eq!(verdict(&receipt), Verdict::RoleViolation);
    // Also signed correctly by a decision key, but that same key signed as producer too.
    let decision_key = approver();
    let decision = Signer::new(&decision_key).unwrap();
    let both = envelope(
        receipt["content"].as_object().unwrap().clone(),
        vec![
            decision.entry("approver", domain::DECISION, &canonical),
            decision.entry("approver", domain::ACTION, &canonical),
        ],
    );
    assert_eq!(verdict(&both), Verdict::RoleViolation);
    assert_eq!(
        canonical,
        canonical_content(receipt["content"].as_object().unwrap())
    );
}

#[test]
fn illegal_transition_and_double_terminal() {
    let approved_then_denied = session(&["suspended", "approved", "denied"]);
    let verdict = verify_chain(&approved_then_denied, ChainMode::Auto, None).verdict;
    assert!(
        matches!(verdict, ChainVerdict::IllegalTransition { seq: 2, .. }),
        "{verdict:?}"
    );
    let twice = session(&["suspended", "approved", "completed", "completed"]);
    let verdict = verify_chain(&twice, ChainMode::Auto, None).verdict;
    assert_eq!(
        verdict,
        ChainVerdict::DoubleTerminal {
            seq: 3,
            first: "completed".into(),
            second: "completed".into()
        }
    );
    let completed_while_suspended = session(&["suspended", "completed"]);
    let verdict = verify_chain(&completed_while_suspended, ChainMode::Auto, None).verdict;
    assert!(
        matches!(verdict, ChainVerdict::IllegalTransition { seq: 1, .. }),
        "{verdict:?}"
    );
}

// ---- action chains ----

fn action_chain(length: u64, session: &str) -> Vec<Value> {
    let mut receipts: Vec<Value> = Vec::new();
    for seq in 0..length {
        let mut content = content("tool_call");
        content["action"]["fields"]["amount"] = seq.into();
        content.insert("session_id".into(), session.into());
        content.insert("seq".into(), seq.into());
        if let Some(previous) = receipts.last() {
            let hash = previous["content"]["action_hash"].as_str().unwrap();
            content.insert(
                "prev_receipt_hash".into(),
                link_hash(session, seq - 1, hash).into(),
            );
        }
        receipts.push(mint(content));
    }
    receipts
}

fn chain_verdict(receipts: &[Value]) -> ChainVerdict {
    verify_chain(receipts, ChainMode::Auto, None).verdict
}

fn link_broken(receipts: &[Value]) -> (u64, String) {
    match chain_verdict(receipts) {
        ChainVerdict::LinkBroken { seq, detail } => (seq, detail),
        other => panic!("expected LinkBroken, got {other:?}"),
    }
}

#[test]
fn every_tamper_class_of_an_action_chain() {
    let chain = action_chain(5, "s");
    assert_eq!(chain_verdict(&chain), ChainVerdict::Valid { length: 5 });
    assert_eq!(chain_verdict(&[]), ChainVerdict::Empty);

    let mut dropped = chain.clone();
    dropped.remove(2);
    assert_eq!(
        link_broken(&dropped),
        (3, "seq 3 out of order (expected 2)".to_owned())
    );
    let mut swapped = chain.clone();
    swapped.swap(2, 3);
    assert_eq!(
        link_broken(&swapped),
        (3, "seq 3 out of order (expected 2)".to_owned())
    );
    let mut inserted = chain.clone();
    inserted.insert(2, action_chain(3, "s")[2].clone());
    assert_eq!(link_broken(&inserted).0, 2);
    assert_eq!(
        link_broken(&chain[1..]),
        (1, "genesis receipt has seq 1, expected 0".to_owned())
    );
    let mut other_session = chain.clone();
    other_session[3] = action_chain(4, "t")[3].clone();
    assert_eq!(
        link_broken(&other_session),
        (3, "session_id changed mid-chain".to_owned())
    );

    // Re-pointing a link needs a new signature over the new prev_receipt_hash: an attacker
    // without the key breaks the signature (ContentTamper), one with a different key is caught
    // by pinning, and a correctly re-signed link to the wrong predecessor breaks the link.
    let mut repointed = chain.clone();
    repointed[3]["content"]["prev_receipt_hash"] = "00".repeat(32).into();
    assert!(matches!(
        chain_verdict(&repointed),
        ChainVerdict::ContentTamper {
            seq: 3,
            reason: Verdict::HashMismatch,
            ..
        }
    ));
    let mut resigned = chain[3]["content"].as_object().unwrap().clone();
    resigned.insert(
        "prev_receipt_hash".into(),
        link_hash("s", 1, chain[1]["content"]["action_hash"].as_str().unwrap()).into(),
    );
    let mut repointed = chain.clone();
    repointed[3] = mint(resigned);
    let (seq, detail) = link_broken(&repointed);
    assert_eq!(seq, 3);
    assert!(
        detail.starts_with("prev_receipt_hash does not match"),
        "{detail}"
    );

    let mut edited = chain.clone();
    edited[4]["content"]["action"]["tool_name"] = "other".into();
    assert!(matches!(
        chain_verdict(&edited),
        ChainVerdict::ContentTamper {
            seq: 4,
            reason: Verdict::HashMismatch,
            ..
        }
    ));

    let mut foreign = chain.clone();
    let stranger = identity(40);
    let mut forged = chain[2]["content"].as_object().unwrap().clone();
    forged.insert(
        "agent_identity".into(),
        stranger.public_key().to_base64().into(),
    );
    foreign[2] = mint_operator_receipt(forged, &Signer::new(&stranger).unwrap()).unwrap();
    // The forged link has a new action_hash, so the next link no longer points at it.
    assert_eq!(link_broken(&foreign).0, 3);
    let pins = Pins {
        operators: vec![operator().public_key()],
        approvers: vec![],
    };
    let mut forged_tail = chain[..3].to_vec();
    forged_tail[2] = foreign[2].clone();
    let verdict = verify_chain(&forged_tail, ChainMode::Auto, Some(&pins)).verdict;
    assert!(
        matches!(
            verdict,
            ChainVerdict::UntrustedSigner {
                seq: 2,
                role: Role::Operator,
                ..
            }
        ),
        "{verdict:?}"
    );
    let _ = PublicKey::from_bytes([0; 32]);
}

#[test]
fn lifecycle_link_in_an_action_chain() {
    let mut chain = action_chain(2, "s");
    chain.push(session(&["suspended"])[0].clone());
    let verdict = verify_chain(&chain, ChainMode::Action, None).verdict;
    assert_eq!(verdict, ChainVerdict::WrongChainKind { seq: 0 });
}

// ---- redaction reveals and result binding ----

#[test]
fn reveal_round_trip_and_tampered_reveals() {
    use heso_core::receipt::redaction::{
        redact, reveal_document, verify_reveal, RedactMode, RevealError,
    };
    let mut content = content("tool_call");
    let mut fields = content["action"]["fields"].as_object().unwrap().clone();
    let paths = ["card.number".to_owned(), "amount".to_owned()];
    let (record, reveals) = redact(
        &mut fields,
        &paths,
        RedactMode::CommitAndReveal,
        &mut || [7; 32],
    );
    content["action"]["fields"] = Value::Object(fields);
    content.insert("redaction".into(), record.unwrap());
    let receipt = mint(content);
    assert_eq!(verdict(&receipt), Verdict::Valid);
    let hash = receipt["content"]["action_hash"].as_str().unwrap();
    let document = reveal_document(hash, &reveals);
    let revealed = verify_reveal(&receipt, &document, None).unwrap();
    assert_eq!(
        revealed,
        vec![
            ("card.number".to_owned(), json!("4242")),
            ("amount".to_owned(), json!(5000))
        ]
    );

    let mut wrong_value = document.clone();
    wrong_value["reveals"][0]["value_json"] = "\"4243\"".into();
    assert_eq!(
        verify_reveal(&receipt, &wrong_value, None),
        Err(RevealError::Mismatch("card.number".into()))
    );
    // The exact bytes count: the same value spelled differently does not match.
    let mut respelled = document.clone();
    respelled["reveals"][1]["value_json"] = "5000.0".into();
    assert_eq!(
        verify_reveal(&receipt, &respelled, None),
        Err(RevealError::Mismatch("amount".into()))
    );
    let mut wrong_salt = document.clone();
    wrong_salt["reveals"][0]["salt_hex"] = "08".repeat(32).into();
    assert_eq!(
        verify_reveal(&receipt, &wrong_salt, None),
        Err(RevealError::Mismatch("card.number".into()))
    );
    let mut short_salt = document.clone();
    short_salt["reveals"][0]["salt_hex"] = "07".into();
    assert_eq!(
        verify_reveal(&receipt, &short_salt, None),
        Err(RevealError::BadSalt("card.number".into()))
    );
    let mut other = document.clone();
    other["action_hash"] = "00".repeat(32).into();
    assert!(matches!(
        verify_reveal(&receipt, &other, None),
        Err(RevealError::OtherReceipt { .. })
    ));
    let mut tampered = receipt.clone();
    tampered["content"]["action"]["tool_name"] = "x".into();
    assert!(matches!(
        verify_reveal(&tampered, &document, None),
        Err(RevealError::Receipt(_))
    ));
}

#[test]
fn result_binding() {
    use heso_core::receipt::hashing::result_hash;
    let mut result_receipt = content("tool_call");
    result_receipt["action"]["result_hash"] = result_hash(&json!({"rows": 3})).unwrap().into();
    let receipt = mint(result_receipt);
    assert_eq!(verdict(&receipt), Verdict::Valid);
    assert_eq!(
        receipt["content"]["action"]["result_hash"],
        heso_core::crypto::blake3_hex(br#"{"rows":3}"#)
    );
}

// ---- rotation-aware verification ----

#[test]
fn key_rotation_hands_the_producer_role_to_the_incoming_key() {
    use heso_core::receipt::chain::{verify_chain_with_roots, RotationRoots};
    let old = operator();
    let new = identity(50);
    // suspended (old key) → key_rotation old→new (signed by old) → approved → completed (new key)
    let mut receipts: Vec<Value> = Vec::new();
    let mut prev: Option<String> = None;
    let steps = ["suspended", "key_rotation", "approved", "completed"];
    for (seq, kind) in steps.iter().enumerate() {
        let seq = seq as u64;
        let mut link = link(
            if *kind == "key_rotation" {
                "suspended"
            } else {
                kind
            },
            seq,
            prev.as_deref(),
            "rot",
        );
        link.insert("kind".into(), (*kind).into());
        let signer_identity = if seq >= 2 { &new } else { &old };
        link.insert(
            "agent_identity".into(),
            signer_identity.public_key().to_base64().into(),
        );
        let receipt = match *kind {
            "approved" => mint_decision_link(link, &Signer::new(&approver()).unwrap()).unwrap(),
            "key_rotation" => {
                link.insert(
                    "key_rotation".into(),
                    json!({"role": "producer", "outgoing_public_key": old.public_key().to_base64(),
                           "incoming_public_key": new.public_key().to_base64()}),
                );
                let (sealed, canonical) = seal_content(link).unwrap();
                let signer = Signer::new(&old).unwrap();
                envelope(
                    sealed,
                    vec![signer.entry("operator", domain::ACTION, &canonical)],
                )
            }
            _ => mint_operator_receipt(link, &Signer::new(signer_identity).unwrap()).unwrap(),
        };
        prev = Some(link_hash(
            "rot",
            seq,
            receipt["content"]["action_hash"].as_str().unwrap(),
        ));
        receipts.push(receipt);
    }
    for receipt in &receipts {
        assert_eq!(
            verdict(receipt),
            Verdict::Valid,
            "{}",
            receipt["content"]["kind"]
        );
    }
    let roots = RotationRoots {
        producer: old.public_key(),
        decision: Some(approver().public_key()),
    };
    let report = verify_chain_with_roots(&receipts, ChainMode::Session, None, Some(&roots));
    assert_eq!(report.verdict, ChainVerdict::Valid { length: 4 });
    // A decision link with no trusted decision key fails closed.
    let no_decision = RotationRoots {
        producer: old.public_key(),
        decision: None,
    };
    let verdict =
        verify_chain_with_roots(&receipts, ChainMode::Session, None, Some(&no_decision)).verdict;
    assert!(
        matches!(
            verdict,
            ChainVerdict::KeyNotValidAtPosition {
                seq: 2,
                role: Role::Approver,
                ..
            }
        ),
        "{verdict:?}"
    );
    let wrong_root = RotationRoots {
        producer: new.public_key(),
        decision: Some(approver().public_key()),
    };
    let verdict =
        verify_chain_with_roots(&receipts, ChainMode::Session, None, Some(&wrong_root)).verdict;
    assert!(
        matches!(
            verdict,
            ChainVerdict::KeyNotValidAtPosition {
                seq: 0,
                role: Role::Operator,
                ..
            }
        ),
        "{verdict:?}"
    );
}
