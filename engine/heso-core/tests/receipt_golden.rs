//! The golden vectors of receipts.md §14, reproduced byte for byte. The values live in
//! `tests/vectors/receipts/golden.json`, which the Python tests read too.

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
use heso_core::receipt::redaction::{commitment, merkle_root};
use heso_core::receipt::verify::{verify_receipt, TrustLevel, Verdict};
use serde_json::{Map, Value};

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/receipts/golden.json"
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn content(golden: &Value) -> Map<String, Value> {
    golden["v2"]["content"].as_object().unwrap().clone()
}

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
fn golden_keys_and_fingerprint() {
    for key in golden()["keys"].as_array().unwrap() {
        let byte = u8::try_from(key["seed_byte"].as_u64().unwrap()).unwrap();
        let public = identity(byte).public_key();
        assert_eq!(public.to_base64(), key["public_key"], "seed {byte}");
        if let Some(fingerprint) = key.get("fingerprint") {
            assert_eq!(public.fingerprint().to_string(), *fingerprint);
        }
    }
}

#[test]
fn v2_golden_of_receipts_spec_14_2() {
    let golden = golden();
    let content = content(&golden);
    let canonical = String::from_utf8(canonical_content(&content)).unwrap();
    assert_eq!(canonical, golden["v2"]["canonical"]);
    let receipt = mint(content);
    assert_eq!(
        receipt["content"]["action_hash"],
        golden["v2"]["action_hash"]
    );
    assert_eq!(signature_of(&receipt, 0), golden["v2"]["signature"]);
    let verification = verify_receipt(&receipt, None);
    assert_eq!(
        (verification.verdict, verification.trust_level),
        (Verdict::Valid, Some(TrustLevel::L0))
    );
}

#[test]
fn v2_golden_variant_with_catalog_lanes() {
    let golden = golden();
    let mut content = content(&golden);
    let action = content["action"].as_object_mut().unwrap();
    for (name, value) in golden["v2_catalog"]["action_members"].as_object().unwrap() {
        action.insert(name.clone(), value.clone());
    }
    let receipt = mint(content);
    assert_eq!(
        receipt["content"]["action_hash"],
        golden["v2_catalog"]["action_hash"]
    );
    assert_eq!(signature_of(&receipt, 0), golden["v2_catalog"]["signature"]);
}

#[test]
fn v1_golden_hash_and_unsupported_verdict() {
    let golden = golden();
    let mut content = content(&golden);
    content.insert(
        "action_version".into(),
        golden["v1"]["action_version"].clone(),
    );
    let mut receipt = mint(content);
    assert_eq!(
        receipt["content"]["action_hash"],
        golden["v1"]["action_hash"]
    );
    assert_eq!(signature_of(&receipt, 0), golden["v1"]["signature"]);
    assert_eq!(verify_receipt(&receipt, None).verdict, Verdict::Unsupported);
    receipt["alg"] = "heso-action/v1+ed25519".into();
    assert_eq!(verify_receipt(&receipt, None).verdict, Verdict::Unsupported);
}

#[test]
fn chain_genesis_golden_of_receipts_spec_14_3() {
    let golden = golden();
    let chain = &golden["chain"];
    let session = chain["session_id"].as_str().unwrap();
    let mut genesis = content(&golden);
    genesis["action"]["workflow"] = chain["genesis_workflow"].clone();
    genesis.insert("session_id".into(), session.into());
    genesis.insert("seq".into(), 0.into());
    let (sealed, _) = seal_content(genesis).unwrap();
    let genesis_hash = sealed["action_hash"].as_str().unwrap();
    assert_eq!(genesis_hash, chain["genesis_action_hash"]);
    let genesis_link = link_hash(session, 0, genesis_hash);
    assert_eq!(genesis_link, chain["genesis_link_hash"]);

    let mut next = content(&golden);
    next["action"]["workflow"] = chain["next_workflow"].clone();
    next.insert("session_id".into(), session.into());
    next.insert("seq".into(), 1.into());
    next.insert("prev_receipt_hash".into(), genesis_link.into());
    let receipt = mint(next);
    let hash = receipt["content"]["action_hash"].as_str().unwrap();
    assert_eq!(hash, chain["next_action_hash"]);
    assert_eq!(signature_of(&receipt, 0), chain["next_signature"]);
    assert_eq!(link_hash(session, 1, hash), chain["next_link_hash"]);
}

#[test]
fn single_approver_l1_golden_of_receipts_spec_14_4() {
    let golden = golden();
    let l1 = &golden["l1"];
    let approver = identity(5);
    let mut body = content(&golden);
    body["policy"]["decision_path"] = l1["decision_path"].clone();
    body.insert("trust_level".into(), "L1".into());
    body.insert("approver_decision".into(), l1["approver_decision"].clone());
    let approver_signature =
        approver_entry(body.clone(), &Signer::allowing_public_test_keys(&approver)).unwrap();
    let operator = identity(0);
    let receipt = mint_single_l1(
        body,
        &Signer::allowing_public_test_keys(&operator),
        approver_signature,
    )
    .unwrap();
    assert_eq!(receipt["content"]["action_hash"], l1["action_hash"]);
    assert_eq!(signature_of(&receipt, 0), l1["operator_signature"]);
    assert_eq!(signature_of(&receipt, 1), l1["approver_signature"]);
    let verification = verify_receipt(&receipt, None);
    assert_eq!(
        (verification.verdict, verification.trust_level),
        (Verdict::Valid, Some(TrustLevel::L1))
    );
}

#[test]
fn redaction_golden_of_receipts_spec_8_5() {
    let golden = golden();
    let vector = &golden["redaction"];
    let salt = [u8::try_from(vector["salt_byte"].as_u64().unwrap()).unwrap(); 32];
    let path = vector["field_path"].as_str().unwrap();
    let value_json = vector["value_json"].as_str().unwrap();
    let commitment = commitment(&salt, path, value_json.as_bytes());
    assert_eq!(commitment, vector["commitment"]);
    assert_eq!(merkle_root([commitment.as_str()]), vector["merkle_root"]);
}

#[test]
fn production_signers_refuse_the_published_test_keys() {
    for byte in [0, 5, 7] {
        assert!(Signer::new(&identity(byte)).is_err(), "seed {byte}");
    }
    assert!(Signer::new(&identity(9)).is_ok());
}
