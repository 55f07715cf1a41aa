//! Verifying one receipt: the ordered gates of the format, each with its verdict name.
//!
//! Gates run in order and stop at the first failure, so the verdict always names the earliest
//! problem: a tampered byte is `HashMismatch`, never `InvalidSignature`. A verifier never fails
//! open: every path that cannot establish validity returns a failing verdict.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::crypto::{verify_strict, SIGNATURE_LEN};
use crate::identity::PublicKey;
use crate::json::parse_strict;
use crate::receipt::domain;
use crate::receipt::hashing::canonical_content;
use crate::receipt::redaction::check_redaction;
use crate::receipt::schema::check_envelope;

/// The `alg` of every receipt heso mints.
pub const ALG_V2: &str = "heso-action/v2+ed25519";
/// The `alg` of version 1 receipts (recognised, then reported `Unsupported`).
pub const ALG_V1: &str = "heso-action/v1+ed25519";
/// The `action_version` of v2 content.
pub const ACTION_VERSION_V2: &str = "heso-action/2.0";

/// The outcome names of single-receipt verification, in gate order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Every gate passed.
    Valid,
    /// Not a well-formed receipt (G0, G4a, parts of G4, lifecycle L4).
    Malformed,
    /// Unknown `alg` (G1).
    WrongAlgorithm,
    /// A known but unsupported version (G2).
    Unsupported,
    /// `action_hash` does not match the content (G3).
    HashMismatch,
    /// A signature does not verify (G4).
    InvalidSignature,
    /// The approver key is the operator key (G4).
    SelfApproval,
    /// Fewer verified quorum legs than the threshold (G4).
    ThresholdNotMet,
    /// Redaction markers are not well-formed (G5).
    MalformedRedaction,
    /// The embedded trust level differs from the derived one (G6).
    TrustLevelMismatch,
    /// A time anchor is present and cannot be verified (G7).
    TimeAnchorUnverifiable,
    /// `anchor_policy` requires an anchor that is absent (G8).
    AnchorRequired,
    /// A payment carries a mandate that is not valid (G9).
    MandateRejected,
    /// Signed identities do not match their signers (G10).
    IdentityMismatch,
    /// A signer is not among the pinned keys (G11).
    UntrustedSigner,
    /// A lifecycle link is signed by the wrong role (L4, L4b).
    RoleViolation,
}

impl Verdict {
    /// The normative verdict name, such as `HashMismatch`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Valid => "Valid",
            Self::Malformed => "Malformed",
            Self::WrongAlgorithm => "WrongAlgorithm",
            Self::Unsupported => "Unsupported",
            Self::HashMismatch => "HashMismatch",
            Self::InvalidSignature => "InvalidSignature",
            Self::SelfApproval => "SelfApproval",
            Self::ThresholdNotMet => "ThresholdNotMet",
            Self::MalformedRedaction => "MalformedRedaction",
            Self::TrustLevelMismatch => "TrustLevelMismatch",
            Self::TimeAnchorUnverifiable => "TimeAnchorUnverifiable",
            Self::AnchorRequired => "AnchorRequired",
            Self::MandateRejected => "MandateRejected",
            Self::IdentityMismatch => "IdentityMismatch",
            Self::UntrustedSigner => "UntrustedSigner",
            Self::RoleViolation => "RoleViolation",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Trust levels derived from the signatures that verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TrustLevel {
    /// Only the operator (producer) signed.
    L0,
    /// An approver key signed too (or alone, on a decision link).
    L1,
}

impl TrustLevel {
    /// `L0` or `L1`.
    pub fn name(self) -> &'static str {
        match self {
            Self::L0 => "L0",
            Self::L1 => "L1",
        }
    }
}

/// The role a key signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The operator (producer) key.
    Operator,
    /// An approver (decision) key.
    Approver,
}

impl Role {
    /// `operator` or `approver`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Approver => "approver",
        }
    }
}

/// Keys a verifier trusts. When pinning is requested, both sets are in force; an empty set
/// trusts nobody in that role (fail closed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    /// Pinned operator (producer) keys.
    pub operators: Vec<PublicKey>,
    /// Pinned approver (decision) keys.
    pub approvers: Vec<PublicKey>,
}

impl Pins {
    /// The first signer that is not pinned in its role, with a detail for people.
    pub fn first_untrusted(&self, signers: &[(Role, PublicKey)]) -> Option<(Role, String)> {
        signers.iter().find_map(|(role, key)| {
            let pinned = match role {
                Role::Operator => &self.operators,
                Role::Approver => &self.approvers,
            };
            (!pinned.contains(key)).then(|| {
                (
                    *role,
                    format!("{} {} is not pinned", role.name(), key.fingerprint()),
                )
            })
        })
    }
}

/// The result of verifying one receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The verdict.
    pub verdict: Verdict,
    /// The derived trust level, when `Valid`.
    pub trust_level: Option<TrustLevel>,
    /// Why, when not `Valid`.
    pub detail: Option<String>,
    /// The operator entry's key, when one parsed.
    pub operator: Option<PublicKey>,
    /// The signers whose signatures verified, with their roles (for pinning and display).
    pub signers: Vec<(Role, PublicKey)>,
}

impl Verification {
    fn fail(verdict: Verdict, detail: impl Into<String>, operator: Option<PublicKey>) -> Self {
        Self {
            verdict,
            trust_level: None,
            detail: Some(detail.into()),
            operator,
            signers: Vec::new(),
        }
    }
}

/// A JSON object.
type Object = Map<String, Value>;

/// A failed gate: the verdict and its detail.
type Gate<T> = Result<T, (Verdict, String)>;

fn gate<T>(verdict: Verdict, detail: impl Into<String>) -> Gate<T> {
    Err((verdict, detail.into()))
}

/// Verifies one receipt given as bytes (gates G0–G11). `pins` turns on pinning.
pub fn verify_receipt_bytes(bytes: &[u8], pins: Option<&Pins>) -> Verification {
    match parse_strict(bytes) {
        Ok(value) => verify_receipt(&value, pins),
        Err(error) => Verification::fail(Verdict::Malformed, error.to_string(), None),
    }
}

/// Verifies one parsed receipt (gates G0–G11). `pins` turns on pinning.
pub fn verify_receipt(value: &Value, pins: Option<&Pins>) -> Verification {
    let operator = operator_key(value);
    match run_gates(value, pins) {
        Ok((trust_level, signers)) => Verification {
            verdict: Verdict::Valid,
            trust_level: Some(trust_level),
            detail: None,
            operator,
            signers,
        },
        Err((verdict, detail)) => Verification::fail(verdict, detail, operator),
    }
}

/// The key of the first `operator` signature entry, when it decodes.
fn operator_key(value: &Value) -> Option<PublicKey> {
    value
        .get("signatures")?
        .as_array()?
        .iter()
        .find(|entry| entry.get("key_id").and_then(Value::as_str) == Some("operator"))
        .and_then(|entry| entry.get("public_key")?.as_str())
        .and_then(|text| PublicKey::from_base64(text).ok())
}

/// A signature entry, after the shape check.
struct Entry<'a> {
    algorithm: &'a str,
    key_id: &'a str,
    public_key: &'a str,
    signature: &'a str,
}

impl Entry<'_> {
    /// Whether this entry verifies over `domain ‖ message`. Any decoding problem or an algorithm
    /// other than Ed25519 is a failed signature, never an error.
    fn verifies(&self, domain: &[u8], message: &[u8]) -> bool {
        if self.algorithm != "Ed25519" {
            return false;
        }
        let (Some(key), Some(signature)) = (
            decode_key(self.public_key),
            decode_signature(self.signature),
        ) else {
            return false;
        };
        verify_strict(key.as_bytes(), domain, message, &signature)
    }

    fn key(&self) -> Option<PublicKey> {
        decode_key(self.public_key)
    }
}

fn decode_key(text: &str) -> Option<PublicKey> {
    PublicKey::from_base64(text).ok()
}

fn decode_signature(text: &str) -> Option<[u8; SIGNATURE_LEN]> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

fn run_gates(value: &Value, pins: Option<&Pins>) -> Gate<(TrustLevel, Vec<(Role, PublicKey)>)> {
    let (envelope, content, canonical) = integrity_gates(value)?;
    // G4a: signature roles.
    let entries = signature_entries(envelope);
    if let Some(entry) = entries
        .iter()
        .find(|e| e.key_id != "operator" && e.key_id != "approver")
    {
        let detail = format!(
            "signature key_id `{}` is neither operator nor approver",
            entry.key_id
        );
        return gate(Verdict::Malformed, detail);
    }
    // G4: the signature lane of the receipt's kind.
    let kind = content
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("action");
    let (derived, signers, decision_signer) = if kind == "action" {
        let (level, signers) = if content.contains_key("multi_approval") {
            quorum_lane(content, &entries)?
        } else {
            single_lane(&entries, &canonical)?
        };
        (level, signers, None)
    } else {
        lifecycle_lane(content, kind, &entries, &canonical)?
    };
    content_gates(content, derived)?;
    // G10: identity binding.
    check_identity(content, kind, &signers, decision_signer.as_ref())?;
    // G11: pinning, only when asked for.
    if let Some(pins) = pins {
        if let Some((_, detail)) = pins.first_untrusted(&signers) {
            return gate(Verdict::UntrustedSigner, detail);
        }
    }
    Ok((derived, signers))
}

/// A string member of an object, or `""` (the shape check has run already).
fn text<'a>(map: &'a Map<String, Value>, name: &str) -> &'a str {
    map.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// G0–G3: shape, algorithm, version and hash. Returns the envelope and content objects.
fn integrity_gates(value: &Value) -> Gate<(&Object, &Object, Vec<u8>)> {
    check_envelope(value).or_else(|detail| gate(Verdict::Malformed, detail))?;
    let (Some(envelope), Some(content)) = (
        value.as_object(),
        value.get("content").and_then(Value::as_object),
    ) else {
        return gate(
            Verdict::Malformed,
            "a receipt is a JSON object with `content`",
        );
    };
    let alg = text(envelope, "alg");
    if alg != ALG_V2 && alg != ALG_V1 {
        return gate(Verdict::WrongAlgorithm, format!("alg `{alg}`"));
    }
    // heso 0.5.1 reports a v1 envelope around 2.0 content as WrongAlgorithm, and a receipt
    // whose content is not 2.0 as Unsupported (a retired version, not a foreign format).
    let version = text(content, "action_version");
    if version != ACTION_VERSION_V2 {
        let detail =
            format!("action_version `{version}`; this verifier supports `{ACTION_VERSION_V2}`");
        return gate(Verdict::Unsupported, detail);
    }
    if alg != ALG_V2 {
        return gate(Verdict::WrongAlgorithm, format!("alg `{alg}`"));
    }
    // The hash binds everything but the signatures; they are not examined when it fails.
    let canonical = canonical_content(content);
    let recomputed = crate::crypto::blake3_hex(&canonical);
    let embedded = text(content, "action_hash");
    if recomputed != embedded {
        return gate(
            Verdict::HashMismatch,
            format!("embedded {embedded}, recomputed {recomputed}"),
        );
    }
    Ok((envelope, content, canonical))
}

/// G5–G9: redaction, trust level, time anchors and payment mandates.
fn content_gates(content: &Map<String, Value>, derived: TrustLevel) -> Gate<()> {
    check_redaction(content).or_else(|detail| gate(Verdict::MalformedRedaction, detail))?;
    let embedded = text(content, "trust_level");
    if embedded != derived.name() {
        let detail = format!("embedded={embedded} derived={}", derived.name());
        return gate(Verdict::TrustLevelMismatch, detail);
    }
    // No RFC 3161 verification is implemented, so any present anchor fails closed.
    if content.contains_key("time_anchor") {
        return gate(
            Verdict::TimeAnchorUnverifiable,
            "time anchors cannot be verified by this verifier",
        );
    }
    if text(content, "anchor_policy") == "required" {
        return gate(
            Verdict::AnchorRequired,
            "anchor_policy is `required` and there is no time_anchor",
        );
    }
    if let Some(action) = content.get("action").and_then(Value::as_object) {
        let verdict = action
            .get("mandate")
            .and_then(|m| m.get("verdict"))
            .and_then(Value::as_str);
        if text(action, "verb") == "payment" && verdict.is_some_and(|v| v != "valid") {
            let detail = format!("payment mandate verdict `{}`", verdict.unwrap_or_default());
            return gate(Verdict::MandateRejected, detail);
        }
    }
    Ok(())
}

fn signature_entries(envelope: &Map<String, Value>) -> Vec<Entry<'_>> {
    let entries = envelope.get("signatures").and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .map(|entry| Entry {
            algorithm: str_member(entry, "algorithm"),
            key_id: str_member(entry, "key_id"),
            public_key: str_member(entry, "public_key"),
            signature: str_member(entry, "signature"),
        })
        .collect()
}

/// A string member, or `""` (the shape check has already run).
fn str_member<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or_default()
}

type Signers = Vec<(Role, PublicKey)>;

/// G4 without `multi_approval`: one operator over `ACTION ‖ C`, at most one approver over
/// `APPROVAL ‖ C` of the same C.
fn single_lane(entries: &[Entry<'_>], canonical: &[u8]) -> Gate<(TrustLevel, Signers)> {
    let operators: Vec<&Entry<'_>> = entries.iter().filter(|e| e.key_id == "operator").collect();
    let approvers: Vec<&Entry<'_>> = entries.iter().filter(|e| e.key_id == "approver").collect();
    let operator = match operators.as_slice() {
        [] => return gate(Verdict::Malformed, "no operator signature"),
        [one] => *one,
        _ => return gate(Verdict::Malformed, "more than one operator signature"),
    };
    if approvers.len() > 1 {
        return gate(
            Verdict::Malformed,
            "more than one approver signature without multi_approval",
        );
    }
    let Some(operator_key) = operator
        .key()
        .filter(|_| operator.verifies(domain::ACTION, canonical))
    else {
        return gate(
            Verdict::InvalidSignature,
            "the operator signature does not verify",
        );
    };
    let mut signers = vec![(Role::Operator, operator_key)];
    if let Some(approver) = approvers.first() {
        let Some(approver_key) = approver
            .key()
            .filter(|_| approver.verifies(domain::APPROVAL, canonical))
        else {
            return gate(
                Verdict::InvalidSignature,
                "the approver signature does not verify",
            );
        };
        if approver_key == operator_key {
            return gate(
                Verdict::SelfApproval,
                "the approver key is the operator key",
            );
        }
        signers.push((Role::Approver, approver_key));
        return Ok((TrustLevel::L1, signers));
    }
    Ok((TrustLevel::L0, signers))
}

/// G4 with `multi_approval`: the operator signs the base (no records), each approver its own leg.
fn quorum_lane(content: &Map<String, Value>, entries: &[Entry<'_>]) -> Gate<(TrustLevel, Signers)> {
    if content.contains_key("approver_decision") {
        return gate(
            Verdict::Malformed,
            "approver_decision and multi_approval together",
        );
    }
    let quorum = content
        .get("multi_approval")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let threshold = quorum
        .get("threshold")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let roster: Vec<&str> = quorum
        .get("roster")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let records: Vec<&Value> = quorum
        .get("approvers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    if threshold == 0 || roster.is_empty() {
        return gate(
            Verdict::Malformed,
            "multi_approval needs a threshold of at least 1 and a roster",
        );
    }
    let operators: Vec<&Entry<'_>> = entries.iter().filter(|e| e.key_id == "operator").collect();
    let operator = match operators.as_slice() {
        [] => return gate(Verdict::Malformed, "no operator signature"),
        [one] => *one,
        _ => return gate(Verdict::Malformed, "more than one operator signature"),
    };
    let with_records = |records: Vec<Value>| {
        let mut form = content.clone();
        if let Some(Value::Object(quorum)) = form.get_mut("multi_approval") {
            quorum.insert("approvers".to_owned(), Value::Array(records));
        }
        canonical_content(&form)
    };
    let Some(operator_key) = operator
        .key()
        .filter(|_| operator.verifies(domain::ACTION, &with_records(Vec::new())))
    else {
        return gate(
            Verdict::InvalidSignature,
            "the operator signature over the quorum base does not verify",
        );
    };
    let approver_entries: Vec<&Entry<'_>> =
        entries.iter().filter(|e| e.key_id == "approver").collect();
    if approver_entries.len() != records.len() {
        return gate(
            Verdict::Malformed,
            format!(
                "{} approver signatures for {} approval records",
                approver_entries.len(),
                records.len()
            ),
        );
    }
    let signers = verify_legs(
        &approver_entries,
        &records,
        &roster,
        operator_key,
        &with_records,
    )?;
    let have = signers.len() - 1;
    if (have as u64) < threshold {
        return gate(
            Verdict::ThresholdNotMet,
            format!("have={have} need={threshold}"),
        );
    }
    Ok((TrustLevel::L1, signers))
}

/// The quorum legs, entry by entry in array order (§9.3).
fn verify_legs(
    approver_entries: &[&Entry<'_>],
    records: &[&Value],
    roster: &[&str],
    operator_key: PublicKey,
    with_records: &dyn Fn(Vec<Value>) -> Vec<u8>,
) -> Gate<Signers> {
    let mut signers = vec![(Role::Operator, operator_key)];
    for entry in approver_entries.iter().copied() {
        let Some(record) = records
            .iter()
            .find(|r| str_member(r, "approver_identity") == entry.public_key)
        else {
            return gate(
                Verdict::Malformed,
                format!("no approval record for approver key `{}`", entry.public_key),
            );
        };
        let key = entry.key();
        if signers
            .iter()
            .any(|(role, k)| *role == Role::Approver && Some(*k) == key)
        {
            return gate(
                Verdict::Malformed,
                format!("approver key `{}` signed twice", entry.public_key),
            );
        }
        if key == Some(operator_key) {
            return gate(Verdict::SelfApproval, "an approver key is the operator key");
        }
        if !roster.contains(&entry.public_key) {
            return gate(
                Verdict::Malformed,
                format!("approver key `{}` is not on the roster", entry.public_key),
            );
        }
        if str_member(record, "decision") != "approved" {
            return gate(Verdict::Malformed, "a quorum record is not an approval");
        }
        let Some(key) = key
            .filter(|_| entry.verifies(domain::APPROVAL, &with_records(vec![(*record).clone()])))
        else {
            return gate(
                Verdict::InvalidSignature,
                format!("the leg of approver `{}` does not verify", entry.public_key),
            );
        };
        signers.push((Role::Approver, key));
    }
    Ok(signers)
}

/// The domain and role a lifecycle kind requires.
fn lifecycle_requirement(content: &Map<String, Value>, kind: &str) -> (&'static [u8], Role) {
    match kind {
        "suspended" => (domain::SUSPEND, Role::Operator),
        "completed" => (domain::ACTION, Role::Operator),
        "key_rotation" => {
            let role = content
                .get("key_rotation")
                .and_then(|r| r.get("role"))
                .and_then(Value::as_str);
            if role == Some("decision") {
                (domain::DECISION, Role::Approver)
            } else {
                (domain::ACTION, Role::Operator)
            }
        }
        // approved, denied, expired, escalated
        _ => (domain::DECISION, Role::Approver),
    }
}

/// L4 and L4b: lifecycle links are verified by the role their kind requires.
fn lifecycle_lane(
    content: &Map<String, Value>,
    kind: &str,
    entries: &[Entry<'_>],
    canonical: &[u8],
) -> Gate<(TrustLevel, Signers, Option<PublicKey>)> {
    let (required, role) = lifecycle_requirement(content, kind);
    let verifying = entries
        .iter()
        .find(|e| e.verifies(required, canonical))
        .and_then(Entry::key);
    let Some(key) = verifying else {
        if role == Role::Approver
            && entries
                .iter()
                .any(|e| e.verifies(domain::ACTION, canonical))
        {
            return gate(
                Verdict::RoleViolation,
                format!(
                    "`{kind}` is signed under the producer domain; a decision key must sign it"
                ),
            );
        }
        return gate(
            Verdict::Malformed,
            format!("no signature verifies under the domain of `{kind}`"),
        );
    };
    if role == Role::Approver
        && entries
            .iter()
            .any(|e| e.key() == Some(key) && e.verifies(domain::ACTION, canonical))
    {
        return gate(
            Verdict::RoleViolation,
            format!("the key that signed `{kind}` also signed it as producer"),
        );
    }
    let level = if role == Role::Approver {
        TrustLevel::L1
    } else {
        TrustLevel::L0
    };
    let decision_signer = (role == Role::Approver).then_some(key);
    Ok((level, vec![(role, key)], decision_signer))
}

/// G10: the identities inside the signed content name the keys that signed it.
fn check_identity(
    content: &Map<String, Value>,
    kind: &str,
    signers: &[(Role, PublicKey)],
    decision_signer: Option<&PublicKey>,
) -> Gate<()> {
    let agent_identity = content
        .get("agent_identity")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let approver_identity = content
        .get("approver_decision")
        .and_then(|record| record.get("approver_identity"))
        .and_then(Value::as_str);
    if let Some(decision_key) = decision_signer {
        return match approver_identity {
            Some(identity) if identity != decision_key.to_base64() => gate(
                Verdict::IdentityMismatch,
                "approver_decision.approver_identity is not the key that signed the decision",
            ),
            _ => Ok(()),
        };
    }
    for (role, key) in signers {
        match role {
            Role::Operator => {
                // heso 0.5.1 writes `completed` links with an empty agent_identity.
                let exempt = kind == "completed" && agent_identity.is_empty();
                if !exempt && agent_identity != key.to_base64() {
                    return gate(
                        Verdict::IdentityMismatch,
                        "agent_identity is not the operator key that signed",
                    );
                }
            }
            Role::Approver if !content.contains_key("multi_approval") => {
                if approver_identity != Some(key.to_base64().as_str()) {
                    return gate(
                        Verdict::IdentityMismatch,
                        "approver_decision.approver_identity is not the approver key that signed",
                    );
                }
            }
            Role::Approver => {}
        }
    }
    Ok(())
}
