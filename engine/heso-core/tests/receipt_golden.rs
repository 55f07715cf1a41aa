//! The golden vectors of receipts.md §14, reproduced byte for byte.

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "a panic is a failed test; clippy.toml allow-*-in-tests covers #[test] fns, not helpers"
)]

use heso_core::identity::{Identity, SecretSeed};
use heso_core::receipt::hashing::{canonical_content, link_hash};
use heso_core::receipt::mint::{
    approver_entry, mint_operator_receipt, mint_single_l1, seal_content, Signer,
};
use heso_core::receipt::verify::{verify_receipt, TrustLevel, Verdict};
use serde_json::{json, Map, Value};

fn golden_content() -> Map<String, Value> {
    let value = json!({
        "action_version": "heso-action/2.0",
        "captured_at": "2026-05-29T12:00:00Z",
        "agent_identity": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
        "action": {
            "verb": "llm_call",
            "tool_name": "openai.chat.completions",
            "target_host": "api.openai.com",
            "workflow": "research-run-7",
            "account": "acct_acme",
            "fields": { "prompt": "summarize the filing", "model": "gpt-4o" },
            "result_hash": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        },
        "policy": {
            "rule_id": "allow-llm",
            "rule_display": "allow llm_call to api.openai.com",
            "matched_conditions": [ { "field": "verb", "op": "eq", "value": "llm_call" } ],
            "decision_path": "allow"
        },
        "trust_level": "L0"
    });
    value.as_object().unwrap().clone()
}

const CANONICAL: &str = r#"{"action":{"account":"acct_acme","fields":{"model":"gpt-4o","prompt":"summarize the filing"},"result_hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","target_host":"api.openai.com","tool_name":"openai.chat.completions","verb":"llm_call","workflow":"research-run-7"},"action_version":"heso-action/2.0","agent_identity":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=","captured_at":"2026-05-29T12:00:00Z","policy":{"decision_path":"allow","matched_conditions":[{"field":"verb","op":"eq","value":"llm_call"}],"rule_display":"allow llm_call to api.openai.com","rule_id":"allow-llm"},"trust_level":"L0"}"#;

fn identity(byte: u8) -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([byte; 32]))
}

fn signature_of(receipt: &Value, index: usize) -> &str {
    receipt["signatures"][index]["signature"].as_str().unwrap()
}

fn mint(content: Map<String, Value>) -> Value {
    let operator = identity(0);
    mint_operator_receipt(content, &Signer::allowing_public_test_keys(&operator)).unwrap()
}

#[test]
fn v2_golden_of_receipts_spec_14_2() {
    let content = golden_content();
    assert_eq!(
        String::from_utf8(canonical_content(&content)).unwrap(),
        CANONICAL
    );
    let receipt = mint(content);
    assert_eq!(
        receipt["content"]["action_hash"],
        "988baa2e41ab2046d86cd90eb2115afc795ef15855332bd683e3d4d7e248dc8d"
    );
    assert_eq!(
        signature_of(&receipt, 0),
        "ujGbJO2VR2PpaguiG3NegMWAyQLWJlgAVxuKnwaeV8KsMbtT4K/f8lGhLrNI3NSxbIXQnwZGCS1b4BtXnRMQAQ=="
    );
    let verification = verify_receipt(&receipt, None);
    assert_eq!(
        (verification.verdict, verification.trust_level),
        (Verdict::Valid, Some(TrustLevel::L0))
    );
}

#[test]
fn v2_golden_variant_with_catalog_lanes() {
    let mut content = golden_content();
    let action = content["action"].as_object_mut().unwrap();
    action.insert("domain".into(), "payment".into());
    action.insert("action".into(), "authorize_payment".into());
    let receipt = mint(content);
    assert_eq!(
        receipt["content"]["action_hash"],
        "8857f29f3167272258d009477b53f78cb0072deb7b9d5bd59ce03cb2d3561a3a"
    );
    assert_eq!(
        signature_of(&receipt, 0),
        "liwRem2jfebT+/5hvCXYBWWzfKnINRssJqd6n8lcisWDleN62h8nWaNrlg1Z+N/KE43T65MykikiFOIVm7roAg=="
    );
}

#[test]
fn v1_golden_hash_and_unsupported_verdict() {
    let mut content = golden_content();
    content.insert("action_version".into(), "heso-action/1.0".into());
    let mut receipt = mint(content);
    assert_eq!(
        receipt["content"]["action_hash"],
        "71a19e51a663b8a04ce78cd0e6f5f46ef145ed4cd589e6acb35865ec56cef021"
    );
    assert_eq!(
        signature_of(&receipt, 0),
        "MTEAUAJSoGynP2UxsokGM6Lxf5UJG3i2qoM4Tdc3twAwO6NO5lt2Hvy2VzlZlLh3czawfXMEKEURq0GB2bhkBQ=="
    );
    assert_eq!(verify_receipt(&receipt, None).verdict, Verdict::Unsupported);
    receipt["alg"] = "heso-action/v1+ed25519".into();
    assert_eq!(verify_receipt(&receipt, None).verdict, Verdict::Unsupported);
}

#[test]
fn chain_genesis_golden_of_receipts_spec_14_3() {
    let mut genesis = golden_content();
    genesis["action"]["workflow"] = "session-sess-golden-step-0".into();
    genesis.insert("session_id".into(), "sess-golden".into());
    genesis.insert("seq".into(), 0.into());
    let (sealed, _) = seal_content(genesis).unwrap();
    let genesis_hash = sealed["action_hash"].as_str().unwrap();
    assert_eq!(
        genesis_hash,
        "e9eeb5251861fb70b7d694bc296a71c954ff320c21e0290948ad4f90c5738062"
    );
    let genesis_link = link_hash("sess-golden", 0, genesis_hash);
    assert_eq!(
        genesis_link,
        "8dfc58fd55076aeeffea330e3c8259e98d7cf8fa09e6e85150358edc2122eda9"
    );

    let mut next = golden_content();
    next["action"]["workflow"] = "session-sess-golden-step-1".into();
    next.insert("session_id".into(), "sess-golden".into());
    next.insert("seq".into(), 1.into());
    next.insert("prev_receipt_hash".into(), genesis_link.into());
    let receipt = mint(next);
    let hash = receipt["content"]["action_hash"].as_str().unwrap();
    assert_eq!(
        hash,
        "d8b2cdd4355eacee96370b0157f8ff856740cb554f15c1ec095b3026c9b68f55"
    );
    assert_eq!(
        signature_of(&receipt, 0),
        "Ba6ZSAZiGXur1HnIO5NGeYv94t7kXkH55BwOiL5QtS7LDvTS/Wxv1QjiizRGy9Csvrs17iB0gST8acaPhp99Cw=="
    );
    assert_eq!(
        link_hash("sess-golden", 1, hash),
        "e2657a48a42d6e74902f3b0c4c26a6a5cf5ea7b37162cb74064b5011dbdc8861"
    );
}

#[test]
fn single_approver_l1_golden_of_receipts_spec_14_4() {
    let approver = identity(5);
    let mut body = golden_content();
    body["policy"]["decision_path"] = "require_approval".into();
    body.insert("trust_level".into(), "L1".into());
    body.insert(
        "approver_decision".into(),
        json!({
            "decision": "approved",
            "approver_identity": approver.public_key().to_base64(),
            "reason": "amount under desk limit",
            "decided_at": "2026-05-29T12:05:00Z",
            "sla_minutes": 30
        }),
    );
    let approver_signature =
        approver_entry(body.clone(), &Signer::allowing_public_test_keys(&approver)).unwrap();
    let operator = identity(0);
    let receipt = mint_single_l1(
        body,
        &Signer::allowing_public_test_keys(&operator),
        approver_signature,
    )
    .unwrap();
    assert_eq!(
        receipt["content"]["action_hash"],
        "920d1d38f12dd7ce4c64c1ceaede300cdb9786ed18ea1cd7f1661431c6e0bae8"
    );
    assert_eq!(
        signature_of(&receipt, 0),
        "RSH4mI7TYQDsLY0Gk8uj6M6bRF53KbeuJLrSX9X+Z/PIAxjVaVXcMnBvtoXlf18QasX3UFJ4IhblRRsFmn5SBg=="
    );
    assert_eq!(
        signature_of(&receipt, 1),
        "BqLhYlwvHKmJt0AM3/a6NI2he8zZPVrU0zaqoic/8PfmyVS/F7YJWXnyXSQmkfQCURxNi4hk4l/4ehmGj1DvCw=="
    );
    let verification = verify_receipt(&receipt, None);
    assert_eq!(
        (verification.verdict, verification.trust_level),
        (Verdict::Valid, Some(TrustLevel::L1))
    );
}

#[test]
fn production_signers_refuse_the_published_test_keys() {
    for byte in [0, 5, 7] {
        assert!(Signer::new(&identity(byte)).is_err(), "seed {byte}");
    }
    assert!(Signer::new(&identity(9)).is_ok());
}
