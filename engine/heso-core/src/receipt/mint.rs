//! Minting receipts: ordering members, stamping `action_hash` and signing in the right domain
//! and role.
//!
//! The functions here take content without `action_hash`, compute the canonical bytes C once,
//! and return the envelope as a JSON value whose member order is the one heso 0.5.1 emits.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::identity::{Identity, PublicKey};
use crate::json::{check_signable, SignableError};
use crate::receipt::domain;
use crate::receipt::hashing::canonical_content;
use crate::receipt::verify::{ACTION_VERSION_V2, ALG_V2};

/// Why a receipt cannot be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// The signing key is one of the published test keys.
    #[error("refusing to sign with the published test key {0}; mint a real key with `heso init`")]
    PublicTestKey(String),
    /// The content holds a number that canonical JSON cannot represent exactly.
    #[error(transparent)]
    NotSignable(#[from] SignableError),
    /// The content is not shaped as a receipt needs.
    #[error("cannot mint: {0}")]
    Shape(String),
}

/// The seeds whose keys are public (all-zero, all-0x05, all-0x07): anyone can sign with them.
const PUBLIC_TEST_KEYS: [&str; 3] = [
    "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
    "bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E=",
    "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=",
];

/// Whether a key is one of the published test keys.
pub fn is_public_test_key(key: &PublicKey) -> bool {
    PUBLIC_TEST_KEYS.contains(&key.to_base64().as_str())
}

/// An identity cleared to sign receipts.
#[derive(Debug)]
pub struct Signer<'a> {
    identity: &'a Identity,
}

impl<'a> Signer<'a> {
    /// A signer for a real key; the published test keys are refused.
    pub fn new(identity: &'a Identity) -> Result<Self, MintError> {
        let key = identity.public_key();
        if is_public_test_key(&key) {
            return Err(MintError::PublicTestKey(key.fingerprint().to_string()));
        }
        Ok(Self { identity })
    }

    /// A signer that accepts the published test keys. Only for reproducing test vectors.
    pub fn allowing_public_test_keys(identity: &'a Identity) -> Self {
        Self { identity }
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.identity.public_key()
    }

    /// A signature entry over `domain ‖ message`.
    pub fn entry(&self, key_id: &str, domain: &[u8], message: &[u8]) -> Value {
        let mut entry = Map::new();
        entry.insert("algorithm".to_owned(), "Ed25519".into());
        entry.insert("key_id".to_owned(), key_id.into());
        entry.insert(
            "public_key".to_owned(),
            self.public_key().to_base64().into(),
        );
        entry.insert(
            "signature".to_owned(),
            STANDARD.encode(self.identity.sign(domain, message)).into(),
        );
        Value::Object(entry)
    }
}

/// The member order heso emits (0.5.1's order); members not listed keep their relative order
/// at the end.
const CONTENT_ORDER: [&str; 22] = [
    "action_version",
    "captured_at",
    "agent_identity",
    "action",
    "policy",
    "approver_decision",
    "multi_approval",
    "redaction",
    "guardrail",
    "trust_level",
    "action_hash",
    "session_id",
    "seq",
    "prev_receipt_hash",
    "kind",
    "suspension",
    "key_rotation",
    "nonce",
    "time_anchor",
    "anchor_policy",
    "attestation",
    "metrics",
];

const ACTION_ORDER: [&str; 13] = [
    "verb",
    "domain",
    "action",
    "ert",
    "tool_name",
    "target_host",
    "workflow",
    "account",
    "fields",
    "result_hash",
    "error",
    "mandate",
    "metrics",
];

fn ordered(map: &Map<String, Value>, order: &[&str]) -> Map<String, Value> {
    let rank = |name: &str| order.iter().position(|n| *n == name).unwrap_or(order.len());
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by_key(|(name, _)| rank(name));
    members
        .into_iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Stamps `action_version` (if absent) and `action_hash`, puts members in emission order and
/// returns the sealed content with its canonical bytes C.
pub fn seal_content(
    mut content: Map<String, Value>,
) -> Result<(Map<String, Value>, Vec<u8>), MintError> {
    content.remove("action_hash");
    content
        .entry("action_version")
        .or_insert_with(|| ACTION_VERSION_V2.into());
    if let Some(Value::Object(action)) = content.get("action") {
        let action = ordered(action, &ACTION_ORDER);
        content.insert("action".to_owned(), Value::Object(action));
    }
    check_signable(&Value::Object(content.clone()))?;
    let canonical = canonical_content(&content);
    content.insert(
        "action_hash".to_owned(),
        crate::crypto::blake3_hex(&canonical).into(),
    );
    Ok((ordered(&content, &CONTENT_ORDER), canonical))
}

/// The envelope around sealed content and its signature entries.
pub fn envelope(content: Map<String, Value>, signatures: Vec<Value>) -> Value {
    let mut envelope = Map::new();
    envelope.insert("alg".to_owned(), ALG_V2.into());
    envelope.insert("content".to_owned(), Value::Object(content));
    envelope.insert("signatures".to_owned(), Value::Array(signatures));
    Value::Object(envelope)
}

/// The domain a producer-role receipt is signed in.
fn producer_domain(content: &Map<String, Value>) -> Result<&'static [u8], MintError> {
    match content.get("kind").and_then(Value::as_str) {
        None | Some("completed") => Ok(domain::ACTION),
        Some("suspended") => Ok(domain::SUSPEND),
        Some(other) => Err(MintError::Shape(format!(
            "`{other}` is not signed by the operator"
        ))),
    }
}

/// Mints an operator-signed receipt: plain receipts (L0), `suspended` and `completed` links.
pub fn mint_operator_receipt(
    content: Map<String, Value>,
    operator: &Signer<'_>,
) -> Result<Value, MintError> {
    let domain = producer_domain(&content)?;
    let (content, canonical) = seal_content(content)?;
    let entry = operator.entry("operator", domain, &canonical);
    Ok(envelope(content, vec![entry]))
}

/// An approver's signature over an approval body (single lane: the full L1 content; quorum: that
/// approver's leg). The body must not carry a chain block.
pub fn approver_entry(body: Map<String, Value>, approver: &Signer<'_>) -> Result<Value, MintError> {
    let (_, canonical) = seal_content(body)?;
    Ok(approver.entry("approver", domain::APPROVAL, &canonical))
}

/// A single-approver L1 receipt: the operator signs the same body the approver signed.
pub fn mint_single_l1(
    body: Map<String, Value>,
    operator: &Signer<'_>,
    approver_signature: Value,
) -> Result<Value, MintError> {
    let (content, canonical) = seal_content(body)?;
    let entry = operator.entry("operator", domain::ACTION, &canonical);
    Ok(envelope(content, vec![entry, approver_signature]))
}

/// A quorum L1 receipt: `content` carries `multi_approval` with every record; the operator signs
/// the base (records emptied); `legs` are the approvers' entries. Records and legs are sorted by
/// key here.
pub fn mint_quorum(
    mut content: Map<String, Value>,
    operator: &Signer<'_>,
    mut legs: Vec<Value>,
) -> Result<Value, MintError> {
    let Some(Value::Object(quorum)) = content.get_mut("multi_approval") else {
        return Err(MintError::Shape(
            "a quorum receipt needs multi_approval".to_owned(),
        ));
    };
    if let Some(Value::Array(records)) = quorum.get_mut("approvers") {
        records.sort_by(|a, b| identity_of(a).cmp(identity_of(b)));
    }
    let mut base = content.clone();
    if let Some(Value::Object(quorum)) = base.get_mut("multi_approval") {
        quorum.insert("approvers".to_owned(), Value::Array(Vec::new()));
    }
    let (_, base_canonical) = seal_content(base)?;
    let (content, _) = seal_content(content)?;
    legs.sort_by(|a, b| key_of(a).cmp(key_of(b)));
    let mut signatures = vec![operator.entry("operator", domain::ACTION, &base_canonical)];
    signatures.extend(legs);
    Ok(envelope(content, signatures))
}

/// A decision link (`approved`, `denied`, `expired`, `escalated`), signed by the approver's
/// decision key alone.
pub fn mint_decision_link(
    content: Map<String, Value>,
    approver: &Signer<'_>,
) -> Result<Value, MintError> {
    let (content, canonical) = seal_content(content)?;
    let entry = approver.entry("approver", domain::DECISION, &canonical);
    Ok(envelope(content, vec![entry]))
}

fn identity_of(record: &Value) -> &str {
    record
        .get("approver_identity")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn key_of(entry: &Value) -> &str {
    entry
        .get("public_key")
        .and_then(Value::as_str)
        .unwrap_or_default()
}
