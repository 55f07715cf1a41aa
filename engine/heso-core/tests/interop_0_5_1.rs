//! Receipts and chains made by heso 0.5.1 get exactly the verdicts its own verifier gave them
//! (`../shared/vectors/heso-0.5.1/expected.json`).

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "a panic is a failed test; clippy.toml allow-*-in-tests covers #[test] fns, not helpers"
)]

mod common;

use std::path::Path;

use heso_core::identity::PublicKey;
use heso_core::json::parse_strict;
use heso_core::receipt::chain::{verify_chain, ChainMode, ChainVerdict};
use heso_core::receipt::verify::{verify_receipt_bytes, Pins, Verdict};
use serde_json::Value;

/// The receipts of a file as their exact bytes: a `.json` file is one receipt, a `.jsonl` file
/// one per LF-terminated line.
fn receipt_bytes(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "jsonl") {
        bytes
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    } else {
        vec![bytes]
    }
}

fn corpus() -> Option<(std::path::PathBuf, Value)> {
    let Some(root) = common::vectors_dir() else {
        common::skip("the heso 0.5.1 interop corpus");
        return None;
    };
    let root = root.join("heso-0.5.1");
    let expected =
        serde_json::from_slice(&std::fs::read(root.join("expected.json")).unwrap()).unwrap();
    Some((root, expected))
}

#[test]
fn every_receipt_gets_the_verdict_0_5_1_gave() {
    let Some((root, expected)) = corpus() else {
        return;
    };
    let mut checked = 0;
    for (file, spec) in expected["files"].as_object().unwrap() {
        let receipts = receipt_bytes(&root.join(file));
        for entry in spec["receipts"].as_array().unwrap() {
            let line = usize::try_from(entry["line"].as_u64().unwrap()).unwrap();
            let verification = verify_receipt_bytes(&receipts[line - 1], None);
            for checker in ["verify_action_receipt", "verify_lifecycle_receipt"] {
                let Some(want) = entry.get(checker) else {
                    continue;
                };
                assert_eq!(
                    verification.verdict.name(),
                    want["kind"],
                    "{file}:{line} {checker}"
                );
                if let Some(level) = want.get("trust_level") {
                    assert_eq!(
                        verification
                            .trust_level
                            .map(heso_core::receipt::verify::TrustLevel::name),
                        level.as_str(),
                        "{file}:{line}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} receipts checked");
}

#[test]
fn every_chain_gets_the_verdict_0_5_1_gave() {
    let Some((root, expected)) = corpus() else {
        return;
    };
    for (file, spec) in expected["files"].as_object().unwrap() {
        let receipts: Vec<Value> = receipt_bytes(&root.join(file))
            .iter()
            .map(|bytes| parse_strict(bytes).unwrap_or(Value::Null))
            .collect();
        for chain in spec["chains"].as_array().unwrap() {
            let session = chain["session_id"].as_str().unwrap();
            let members: Vec<Value> = receipts
                .iter()
                .filter(|r| r.is_null() || r["content"]["session_id"] == session)
                .cloned()
                .collect();
            let report = verify_chain(&members, ChainMode::Auto, None);
            let want = &chain["verdict"];

            if want.get("raised").is_some() {
                // 0.5.1 raises on a chain it cannot parse; we report the receipt as tampered.
                assert!(
                    matches!(
                        report.verdict,
                        ChainVerdict::ContentTamper {
                            reason: Verdict::Malformed,
                            ..
                        }
                    ),
                    "{file}: {:?}",
                    report.verdict
                );
                continue;
            }
            assert_eq!(
                report.verdict.name(),
                want["kind"],
                "{file}: {:?}",
                report.verdict
            );
            match &report.verdict {
                ChainVerdict::Valid { length } => {
                    assert_eq!(Some(*length as u64), want["length"].as_u64());
                }
                ChainVerdict::ContentTamper { seq, reason, .. } => {
                    assert_eq!(Some(*seq), want["seq"].as_u64(), "{file}");
                    assert!(
                        want["reason"].as_str().unwrap().starts_with(reason.name()),
                        "{file}: {reason}"
                    );
                }
                ChainVerdict::LinkBroken { seq, detail } => {
                    assert_eq!(Some(*seq), want["seq"].as_u64(), "{file}");
                    assert!(
                        want["detail"]
                            .as_str()
                            .unwrap()
                            .starts_with(detail.as_str()),
                        "{file}: {detail}"
                    );
                }
                other => panic!("{file}: unexpected {other:?}"),
            }
        }
    }
}

#[test]
fn pinning_to_the_corpus_keys() {
    let Some((root, _)) = corpus() else { return };
    let key = |path: &str| {
        PublicKey::from_base64(std::fs::read_to_string(root.join(path)).unwrap().trim()).unwrap()
    };
    let operator = key("l1/operator.pub");
    let approver = key("l1/approver.pub");
    let receipt = &receipt_bytes(&root.join("l1/receipt.json"))[0];
    let both = Pins {
        operators: vec![operator],
        approvers: vec![approver],
    };
    assert_eq!(
        verify_receipt_bytes(receipt, Some(&both)).verdict,
        Verdict::Valid
    );
    let operator_only = Pins {
        operators: vec![operator],
        approvers: vec![],
    };
    let verification = verify_receipt_bytes(receipt, Some(&operator_only));
    assert_eq!(verification.verdict, Verdict::UntrustedSigner);
    assert!(verification.detail.unwrap().starts_with("approver heso:"));
    let wrong_operator = Pins {
        operators: vec![key("demo/operator.pub")],
        approvers: vec![approver],
    };
    assert_eq!(
        verify_receipt_bytes(receipt, Some(&wrong_operator)).verdict,
        Verdict::UntrustedSigner
    );

    let session: Vec<Value> = receipt_bytes(&root.join("lifecycle/session.jsonl"))
        .iter()
        .map(|bytes| parse_strict(bytes).unwrap())
        .collect();
    let lifecycle = Pins {
        operators: vec![key("lifecycle/operator.pub")],
        approvers: vec![key("lifecycle/decision.pub")],
    };
    assert_eq!(
        verify_chain(&session, ChainMode::Auto, Some(&lifecycle))
            .verdict
            .name(),
        "Valid"
    );
    let no_decision_key = Pins {
        operators: lifecycle.operators.clone(),
        approvers: vec![],
    };
    let verdict = verify_chain(&session, ChainMode::Auto, Some(&no_decision_key)).verdict;
    assert!(
        matches!(verdict, ChainVerdict::UntrustedSigner { seq: 1, .. }),
        "{verdict:?}"
    );
}
