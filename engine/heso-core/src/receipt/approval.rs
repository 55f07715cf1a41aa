//! The pure parts of the approval flow (receipts.md §15.3, storage.md §10.1): the request id of
//! an action, the approval body an approver signs, the content of the final L1 receipt, and the
//! block receipt of a refused request.
//!
//! Everything here is a function of its inputs. The store supplies the request key and the stored
//! `base_content`; approver tools supply records and signatures; nothing here reads a clock.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::crypto::{verify_strict, SIGNATURE_LEN};
use crate::identity::PublicKey;
use crate::json::{canonicalize, check_signable, SignableError};
use crate::policy::display::{reserved_display, OutcomeView};
use crate::receipt::domain;
use crate::receipt::mint::{seal_content, MintError};

/// The domain of request ids: `heso-approval-request/v1` and one NUL byte (25 bytes).
pub const REQUEST_DOMAIN: &[u8] = b"heso-approval-request/v1\0";

/// The members of `action` that identify a request (storage.md §10.1), absent ones as `null`.
pub const REQUEST_MEMBERS: [&str; 8] = [
    "verb",
    "domain",
    "action",
    "tool_name",
    "target_host",
    "workflow",
    "account",
    "fields",
];

/// The members removed from a pending receipt's content to get its base content: the chain block
/// and `action_hash`.
const CHAIN_BLOCK: [&str; 4] = ["session_id", "seq", "prev_receipt_hash", "action_hash"];

/// Why an approver record, signature or approval receipt is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalBodyError {
    /// The approver record is not shaped as receipts.md §2.4 says.
    #[error("invalid approver record: {0}")]
    Record(String),
    /// The signature entry is not an `approver` Ed25519 entry.
    #[error("invalid approver signature entry: {0}")]
    Entry(String),
    /// The signature does not verify over the approval body.
    #[error("the approver signature does not verify over the approval body")]
    Signature,
    /// The records cannot form an approval receipt with these terms.
    #[error("cannot assemble the approval receipt: {0}")]
    Assemble(String),
    /// The body holds a number canonical JSON cannot carry.
    #[error(transparent)]
    NotSignable(#[from] SignableError),
}

impl From<MintError> for ApprovalBodyError {
    fn from(error: MintError) -> Self {
        match error {
            MintError::NotSignable(error) => Self::NotSignable(error),
            other => Self::Assemble(other.to_string()),
        }
    }
}

/// The document D of storage.md §10.1: the identifying members of `action` as captured before
/// redaction, each absent member as `null`.
pub fn request_document(action: &Map<String, Value>) -> Value {
    Value::Object(
        REQUEST_MEMBERS
            .iter()
            .map(|name| {
                (
                    (*name).to_owned(),
                    action.get(*name).cloned().unwrap_or(Value::Null),
                )
            })
            .collect(),
    )
}

/// The request id of an action: lowercase hex of the BLAKE3 keyed hash (key = the store's
/// `approval_request_key`) of `REQUEST_DOMAIN ‖ JCS(D)`. `action` is the action as captured
/// **before** redaction, so retries with fresh commit-and-reveal salts map to the same id.
pub fn request_id(key: &[u8; 32], action: &Map<String, Value>) -> Result<String, SignableError> {
    let document = request_document(action);
    check_signable(&document)?;
    let mut input = REQUEST_DOMAIN.to_vec();
    input.extend_from_slice(&canonicalize(&document));
    Ok(crate::hex::encode(
        blake3::keyed_hash(key, &input).as_bytes(),
    ))
}

/// The base content of a pending receipt: its content without the chain block and
/// `action_hash`, from which every approval body is derived.
pub fn base_content(pending_content: &Map<String, Value>) -> Map<String, Value> {
    pending_content
        .iter()
        .filter(|(name, _)| !CHAIN_BLOCK.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// What one approver decided: `approved` or `rejected` (heso records no `escalated` leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegDecision {
    /// The approver approved.
    Approved,
    /// The approver rejected; one rejection vetoes the request.
    Rejected,
}

impl LegDecision {
    /// `approved` or `rejected`, as in `approver_decision.decision` and `approval_legs.decision`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses `approved` or `rejected`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// One approver record (receipts.md §2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverRecord {
    /// The decision.
    pub decision: LegDecision,
    /// The approver's public key (mirrors the signer).
    pub approver_identity: PublicKey,
    /// Free text, possibly empty.
    pub reason: String,
    /// The approver's clock, `YYYY-MM-DDTHH:MM:SSZ`; approver-claimed, not trusted time.
    pub decided_at: String,
    /// The rule's SLA, when it had one.
    pub sla_minutes: Option<u32>,
}

/// The members an approver record may carry.
const RECORD_MEMBERS: [&str; 5] = [
    "decision",
    "approver_identity",
    "reason",
    "decided_at",
    "sla_minutes",
];

impl ApproverRecord {
    /// The record as a JSON object, members in the order receipts.md lists them.
    pub fn to_value(&self) -> Value {
        let mut record = Map::new();
        record.insert("decision".to_owned(), self.decision.name().into());
        record.insert(
            "approver_identity".to_owned(),
            self.approver_identity.to_base64().into(),
        );
        record.insert("reason".to_owned(), self.reason.clone().into());
        record.insert("decided_at".to_owned(), self.decided_at.clone().into());
        if let Some(minutes) = self.sla_minutes {
            record.insert("sla_minutes".to_owned(), minutes.into());
        }
        Value::Object(record)
    }

    /// Reads a record strictly: exactly the members of receipts.md §2.4 with their types, a
    /// decision of `approved` or `rejected`, and a key that decodes.
    pub fn parse(value: &Value) -> Result<Self, ApprovalBodyError> {
        let bad = |detail: &str| ApprovalBodyError::Record(detail.to_owned());
        let record = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
        if let Some(name) = record
            .keys()
            .find(|name| !RECORD_MEMBERS.contains(&name.as_str()))
        {
            return Err(ApprovalBodyError::Record(format!(
                "unknown member `{name}`"
            )));
        }
        let text = |name: &str| {
            record
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| ApprovalBodyError::Record(format!("`{name}` must be a string")))
        };
        let decision = text("decision")?;
        let decision = LegDecision::parse(decision).ok_or_else(|| {
            ApprovalBodyError::Record(format!(
                "decision `{decision}`; expected `approved` or `rejected`"
            ))
        })?;
        let approver_identity = PublicKey::from_base64(text("approver_identity")?)
            .map_err(|e| ApprovalBodyError::Record(e.to_string()))?;
        let sla_minutes = match record.get("sla_minutes") {
            None => None,
            Some(minutes) => Some(
                minutes
                    .as_u64()
                    .and_then(|m| u32::try_from(m).ok())
                    .ok_or_else(|| bad("`sla_minutes` must be an integer from 0 to 4294967295"))?,
            ),
        };
        Ok(Self {
            decision,
            approver_identity,
            reason: text("reason")?.to_owned(),
            decided_at: text("decided_at")?.to_owned(),
            sla_minutes,
        })
    }
}

/// The approval body one approver signs (receipts.md §15.3 step 2), derived from `base`:
///
/// * threshold 1, or any rejection: `base` with `approver_decision` = the record and
///   `trust_level` `L1` (the approver signs `APPROVAL ‖ C` of it, §5.2);
/// * threshold ≥ 2 and an approval: `base` with `multi_approval` `{threshold, roster,
///   approvers: [record]}` and `trust_level` `L1` (that approver's leg, §5.3).
pub fn approval_body(
    base: &Map<String, Value>,
    record: &ApproverRecord,
    threshold: u32,
    roster: &[String],
) -> Map<String, Value> {
    if threshold <= 1 || record.decision == LegDecision::Rejected {
        single_content(base, record)
    } else {
        quorum_content(base, std::slice::from_ref(record), threshold, roster)
    }
}

/// The content of the final approval receipt (receipts.md §15.3 step 3), before the store stamps
/// and signs it: one record on the single lane (threshold 1, or a rejection), or every approving
/// record of a quorum, sorted by key.
pub fn final_content(
    base: &Map<String, Value>,
    records: &[ApproverRecord],
    threshold: u32,
    roster: &[String],
) -> Result<Map<String, Value>, ApprovalBodyError> {
    match records {
        [] => Err(ApprovalBodyError::Assemble("no approver record".to_owned())),
        [record] if threshold <= 1 || record.decision == LegDecision::Rejected => {
            Ok(single_content(base, record))
        }
        _ if threshold <= 1 => Err(ApprovalBodyError::Assemble(
            "a threshold-1 request takes exactly one record".to_owned(),
        )),
        _ if records.iter().any(|r| r.decision != LegDecision::Approved) => Err(
            ApprovalBodyError::Assemble("a quorum receipt holds approvals only".to_owned()),
        ),
        _ if records.len() < usize::try_from(threshold).unwrap_or(usize::MAX) => {
            Err(ApprovalBodyError::Assemble(format!(
                "{} approvals, the threshold is {threshold}",
                records.len()
            )))
        }
        _ => Ok(quorum_content(base, records, threshold, roster)),
    }
}

fn single_content(base: &Map<String, Value>, record: &ApproverRecord) -> Map<String, Value> {
    let mut body = base.clone();
    body.insert("approver_decision".to_owned(), record.to_value());
    body.insert("trust_level".to_owned(), "L1".into());
    body
}

fn quorum_content(
    base: &Map<String, Value>,
    records: &[ApproverRecord],
    threshold: u32,
    roster: &[String],
) -> Map<String, Value> {
    let mut sorted: Vec<&ApproverRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.approver_identity.to_base64());
    let mut roster: Vec<String> = roster.to_vec();
    roster.sort();
    let mut quorum = Map::new();
    quorum.insert("threshold".to_owned(), threshold.into());
    quorum.insert(
        "roster".to_owned(),
        Value::Array(roster.into_iter().map(Value::String).collect()),
    );
    quorum.insert(
        "approvers".to_owned(),
        Value::Array(sorted.into_iter().map(ApproverRecord::to_value).collect()),
    );
    let mut body = base.clone();
    body.insert("multi_approval".to_owned(), Value::Object(quorum));
    body.insert("trust_level".to_owned(), "L1".into());
    body
}

/// The `approver` signature entry of a stored leg: the key and the base64 signature.
pub fn approver_signature_entry(key: &PublicKey, signature: &str) -> Value {
    let mut entry = Map::new();
    entry.insert("algorithm".to_owned(), "Ed25519".into());
    entry.insert("key_id".to_owned(), "approver".into());
    entry.insert("public_key".to_owned(), key.to_base64().into());
    entry.insert("signature".to_owned(), signature.into());
    Value::Object(entry)
}

/// A checked approver signature: its key and its base64 signature text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverSignature {
    /// The signing key.
    pub key: PublicKey,
    /// The signature, standard base64 of 64 bytes.
    pub signature: String,
}

/// Checks an `approver` signature entry over `APPROVAL ‖ C` of `body` (C as the receipt's
/// canonical bytes, `action_hash` excluded) and returns its key and signature.
pub fn verify_approver_signature(
    body: &Map<String, Value>,
    entry: &Value,
) -> Result<ApproverSignature, ApprovalBodyError> {
    let entry_error = |detail: &str| ApprovalBodyError::Entry(detail.to_owned());
    let member = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| ApprovalBodyError::Entry(format!("`{name}` must be a string")))
    };
    if entry
        .as_object()
        .is_some_and(|e| e.keys().any(|k| !SIGNATURE_MEMBERS.contains(&k.as_str())))
    {
        return Err(entry_error("unknown member"));
    }
    if member("algorithm")? != "Ed25519" {
        return Err(entry_error("`algorithm` must be `Ed25519`"));
    }
    if member("key_id")? != "approver" {
        return Err(entry_error("`key_id` must be `approver`"));
    }
    let key = PublicKey::from_base64(member("public_key")?)
        .map_err(|e| ApprovalBodyError::Entry(e.to_string()))?;
    let signature = member("signature")?;
    let raw: [u8; SIGNATURE_LEN] = STANDARD
        .decode(signature)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| entry_error("`signature` must be base64 of 64 bytes"))?;
    let (_, canonical) = seal_content(body.clone())?;
    if !verify_strict(key.as_bytes(), domain::APPROVAL, &canonical, &raw) {
        return Err(ApprovalBodyError::Signature);
    }
    Ok(ApproverSignature {
        key,
        signature: signature.to_owned(),
    })
}

/// The members of a signature entry we produce and accept for a leg.
const SIGNATURE_MEMBERS: [&str; 4] = ["algorithm", "key_id", "public_key", "signature"];

/// The content of the block receipt recorded when a call meets its refused request
/// (receipts.md §15.2): the pending receipt's `action` and `redaction` copied verbatim from
/// `base`, and a `block` policy with the reserved `rule_id` (`approval.rejected` or
/// `approval.expired`, policy.md §7.6) and its `rule_display`. `None` for any other rule id.
pub fn refusal_content(base: &Map<String, Value>, rule_id: &str) -> Option<Map<String, Value>> {
    if rule_id != crate::policy::eval::APPROVAL_REJECTED_RULE
        && rule_id != crate::policy::eval::APPROVAL_EXPIRED_RULE
    {
        return None;
    }
    let display = reserved_display(rule_id, "", &OutcomeView::Block)?;
    let mut policy = Map::new();
    policy.insert("rule_id".to_owned(), rule_id.into());
    policy.insert("rule_display".to_owned(), display.into());
    policy.insert("matched_conditions".to_owned(), Value::Array(Vec::new()));
    policy.insert("decision_path".to_owned(), "block".into());
    let mut content = Map::new();
    content.insert("action".to_owned(), base.get("action")?.clone());
    content.insert("policy".to_owned(), Value::Object(policy));
    if let Some(redaction) = base.get("redaction") {
        content.insert("redaction".to_owned(), redaction.clone());
    }
    Some(content)
}

#[cfg(test)]
mod tests;
