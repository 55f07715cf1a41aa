//! Redaction: hiding argument values before they are signed, and checking that a receipt's
//! redaction record is well-formed (gate G5). Two modes:
//!
//! * destructive: the value becomes `"[redacted]"`, marker algorithm `drop/v1`, no commitment;
//! * commit-and-reveal: the value becomes `{"_sd": commitment}` with
//!   `commitment = BLAKE3(salt ‖ field_path ‖ JCS(value))`, so the value can be revealed later.

use serde_json::{Map, Value};

use crate::crypto::blake3_hex;
use crate::json::canonicalize;

/// The marker algorithm of commit-and-reveal.
pub const SALTED_BLAKE3: &str = "salted-blake3/v1";
/// The marker algorithm we write for destructive redaction.
pub const DROP: &str = "drop/v1";
/// What a destructively redacted value becomes.
pub const REDACTED: &str = "[redacted]";

/// The two redaction modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactMode {
    /// Irrecoverable.
    Destructive,
    /// Recoverable with the reveal material kept in the local store.
    CommitAndReveal,
}

impl RedactMode {
    /// The receipt string.
    pub fn name(self) -> &'static str {
        match self {
            Self::Destructive => "destructive",
            Self::CommitAndReveal => "commit_and_reveal",
        }
    }
}

/// What is needed to reveal one committed value later.
#[derive(Clone, PartialEq, Eq)]
pub struct Reveal {
    /// The dotted path into `action.fields`.
    pub field_path: String,
    /// The 32-byte salt.
    pub salt: [u8; 32],
    /// The RFC 8785 text of the original value.
    pub value_json: String,
}

impl std::fmt::Debug for Reveal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value is the secret being protected; never print it.
        f.debug_struct("Reveal")
            .field("field_path", &self.field_path)
            .finish_non_exhaustive()
    }
}

/// The commitment to a value at a path: lowercase hex BLAKE3(salt ‖ path ‖ value JSON bytes).
pub fn commitment(salt: &[u8; 32], field_path: &str, value_json: &[u8]) -> String {
    let mut input = Vec::with_capacity(32 + field_path.len() + value_json.len());
    input.extend_from_slice(salt);
    input.extend_from_slice(field_path.as_bytes());
    input.extend_from_slice(value_json);
    blake3_hex(&input)
}

/// The Merkle root of commit-and-reveal markers: BLAKE3 of each commitment's hex followed by `\n`.
pub fn merkle_root<'a>(commitments: impl IntoIterator<Item = &'a str>) -> String {
    let mut input = Vec::new();
    for commitment in commitments {
        input.extend_from_slice(commitment.as_bytes());
        input.push(b'\n');
    }
    blake3_hex(&input)
}

/// Redacts `fields` in place at `paths` (dotted; missing paths skipped, duplicates once) and
/// returns the `redaction` record, or `None` when nothing was redacted, plus the reveal material
/// for commit-and-reveal. `salt_for` supplies a fresh 32-byte salt per redacted path.
pub fn redact(
    fields: &mut Map<String, Value>,
    paths: &[String],
    mode: RedactMode,
    salt_for: &mut dyn FnMut() -> [u8; 32],
) -> (Option<Value>, Vec<Reveal>) {
    let mut markers = Vec::new();
    let mut reveals = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for path in paths {
        if seen.contains(&path.as_str()) {
            continue;
        }
        seen.push(path);
        let Some(slot) = resolve_mut(fields, path) else {
            continue;
        };
        match mode {
            RedactMode::Destructive => {
                *slot = Value::String(REDACTED.to_owned());
                markers.push(marker(path, DROP, ""));
            }
            RedactMode::CommitAndReveal => {
                let value_json = canonicalize(slot);
                let salt = salt_for();
                let commitment = commitment(&salt, path, &value_json);
                let mut sealed = Map::new();
                sealed.insert("_sd".to_owned(), Value::String(commitment.clone()));
                *slot = Value::Object(sealed);
                markers.push(marker(path, SALTED_BLAKE3, &commitment));
                reveals.push(Reveal {
                    field_path: path.clone(),
                    salt,
                    value_json: String::from_utf8_lossy(&value_json).into_owned(),
                });
            }
        }
    }
    if markers.is_empty() {
        return (None, reveals);
    }
    let mut record = Map::new();
    record.insert("mode".to_owned(), Value::String(mode.name().to_owned()));
    if mode == RedactMode::CommitAndReveal {
        let commitments: Vec<String> = markers
            .iter()
            .filter_map(|m| {
                m.get("commitment")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        record.insert("markers".to_owned(), Value::Array(markers));
        record.insert(
            "merkle_root".to_owned(),
            Value::String(merkle_root(commitments.iter().map(String::as_str))),
        );
    } else {
        record.insert("markers".to_owned(), Value::Array(markers));
    }
    (Some(Value::Object(record)), reveals)
}

fn marker(path: &str, algorithm: &str, commitment: &str) -> Value {
    let mut marker = Map::new();
    marker.insert("field_path".to_owned(), Value::String(path.to_owned()));
    marker.insert("algorithm".to_owned(), Value::String(algorithm.to_owned()));
    marker.insert(
        "commitment".to_owned(),
        Value::String(commitment.to_owned()),
    );
    Value::Object(marker)
}

fn resolve_mut<'a>(fields: &'a mut Map<String, Value>, path: &str) -> Option<&'a mut Value> {
    let mut parts = path.split('.');
    let mut slot = fields.get_mut(parts.next()?)?;
    for part in parts {
        slot = slot.as_object_mut()?.get_mut(part)?;
    }
    Some(slot)
}

fn resolve<'a>(fields: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut slot = fields.get(parts.next()?)?;
    for part in parts {
        slot = slot.as_object()?.get(part)?;
    }
    Some(slot)
}

/// Why a reveal is rejected. The receipt's own verdict is unaffected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevealError {
    /// The receipt itself does not verify.
    #[error("the receipt does not verify: {0}")]
    Receipt(String),
    /// The document names another receipt.
    #[error("the reveal document is for receipt {document}, not {receipt}")]
    OtherReceipt {
        /// The document's `action_hash`.
        document: String,
        /// The receipt's.
        receipt: String,
    },
    /// The document is not shaped as a reveal document.
    #[error("not a reveal document: {0}")]
    Shape(String),
    /// The receipt has no commit-and-reveal marker for the path.
    #[error("the receipt has no commit-and-reveal marker for `{0}`")]
    NoMarker(String),
    /// The salt is not 32 bytes of hex.
    #[error("the salt for `{0}` is not 64 hex characters")]
    BadSalt(String),
    /// `value_json` is not JSON.
    #[error("the revealed value of `{0}` is not JSON")]
    BadValue(String),
    /// The commitment does not match.
    #[error("the revealed value of `{0}` does not match its commitment")]
    Mismatch(String),
}

/// A reveal document for an auditor: `{"action_hash", "reveals": [{field_path, salt_hex,
/// value_json}]}`.
pub fn reveal_document(action_hash: &str, reveals: &[Reveal]) -> Value {
    let reveals: Vec<Value> = reveals
        .iter()
        .map(|r| {
            serde_json::json!({
                "field_path": r.field_path,
                "salt_hex": crate::hex::encode(&r.salt),
                "value_json": r.value_json,
            })
        })
        .collect();
    serde_json::json!({ "action_hash": action_hash, "reveals": reveals })
}

/// Verifies a reveal document against a receipt (which must itself verify `Valid`, under `pins`
/// when given) and returns the revealed values by path. The commitment is recomputed from the
/// exact bytes of `value_json` as given, never from a re-serialisation.
pub fn verify_reveal(
    receipt: &Value,
    document: &Value,
    pins: Option<&crate::receipt::verify::Pins>,
) -> Result<Vec<(String, Value)>, RevealError> {
    use crate::receipt::verify::{verify_receipt, Verdict};
    let verification = verify_receipt(receipt, pins);
    if verification.verdict != Verdict::Valid {
        let detail = verification.detail.unwrap_or_default();
        return Err(RevealError::Receipt(format!(
            "{}: {detail}",
            verification.verdict
        )));
    }
    let content = receipt
        .get("content")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let own_hash = content
        .get("action_hash")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let shape = |what: &str| RevealError::Shape(what.to_owned());
    let claimed = document
        .get("action_hash")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("no `action_hash`"))?;
    if claimed != own_hash {
        return Err(RevealError::OtherReceipt {
            document: claimed.to_owned(),
            receipt: own_hash.to_owned(),
        });
    }
    let record = content.get("redaction");
    let commit =
        record.and_then(|r| r.get("mode")).and_then(Value::as_str) == Some("commit_and_reveal");
    let markers = record
        .and_then(|r| r.get("markers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let reveals = document
        .get("reveals")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("no `reveals` array"))?;
    let mut revealed = Vec::new();
    for reveal in reveals {
        let text = |name: &str| {
            reveal
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| shape(&format!("a reveal without `{name}`")))
        };
        let (path, salt_hex, value_json) =
            (text("field_path")?, text("salt_hex")?, text("value_json")?);
        let marker = markers
            .iter()
            .find(|m| m.get("field_path").and_then(Value::as_str) == Some(path))
            .filter(|_| commit)
            .ok_or_else(|| RevealError::NoMarker(path.to_owned()))?;
        let salt: [u8; 32] = decode_hex(salt_hex)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| RevealError::BadSalt(path.to_owned()))?;
        let value = crate::json::parse_strict(value_json.as_bytes())
            .map_err(|_| RevealError::BadValue(path.to_owned()))?;
        let expected = marker
            .get("commitment")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if commitment(&salt, path, value_json.as_bytes()) != expected {
            return Err(RevealError::Mismatch(path.to_owned()));
        }
        revealed.push((path.to_owned(), value));
    }
    Ok(revealed)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// Gate G5: the redaction record, if any, is well-formed and matches the redacted values.
pub(crate) fn check_redaction(content: &Map<String, Value>) -> Result<(), String> {
    let Some(record) = content.get("redaction") else {
        return Ok(());
    };
    let mode = record
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let markers = record
        .get("markers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let fields = content
        .get("action")
        .and_then(|a| a.get("fields"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut paths: Vec<&str> = Vec::new();
    let mut commitments: Vec<&str> = Vec::new();
    for marker in markers {
        let text = |name: &str| marker.get(name).and_then(Value::as_str).unwrap_or_default();
        let (path, algorithm, commitment) =
            (text("field_path"), text("algorithm"), text("commitment"));
        if paths.contains(&path) {
            return Err(format!("two markers for `{path}`"));
        }
        paths.push(path);
        let value = resolve(&fields, path);
        if mode == "commit_and_reveal" {
            if algorithm != SALTED_BLAKE3 {
                return Err(format!("marker `{path}` has algorithm `{algorithm}`; commit_and_reveal uses {SALTED_BLAKE3}"));
            }
            if !is_hex64(commitment) {
                return Err(format!(
                    "marker `{path}` has a commitment that is not 64 lowercase hex"
                ));
            }
            let expected = serde_json::json!({ "_sd": commitment });
            if value != Some(&expected) {
                return Err(format!(
                    "the value at `{path}` is not the sealed commitment"
                ));
            }
            commitments.push(commitment);
        } else {
            if algorithm == SALTED_BLAKE3 || !commitment.is_empty() {
                return Err(format!("destructive marker `{path}` carries a commitment"));
            }
            if value != Some(&Value::String(REDACTED.to_owned())) {
                return Err(format!("the value at `{path}` is not `{REDACTED}`"));
            }
        }
    }
    if mode == "commit_and_reveal" {
        if let Some(root) = record.get("merkle_root").and_then(Value::as_str) {
            if root != merkle_root(commitments.iter().copied()) {
                return Err("merkle_root does not match the markers".to_owned());
            }
        }
    }
    Ok(())
}

/// Whether `text` is 64 lowercase hex characters.
pub(crate) fn is_hex64(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_and_root_of_receipts_spec_8_5() {
        let commitment = commitment(&[9; 32], "card_number", br#""4242424242424242""#);
        assert_eq!(
            commitment,
            "a8d387d57afb06a1a0be4e171214ae91eafc127e0af6266787bf68bd7d3c7cd9"
        );
        assert_eq!(
            merkle_root([commitment.as_str()]),
            "14b692cc080e7976a1ebfb63155f30915fa514991786046376f840b80cd7caa0"
        );
    }

    #[test]
    fn redact_both_modes_and_check_them() {
        let original: Map<String, Value> =
            serde_json::from_str(r#"{"card":{"number":"4242"},"amount":5,"list":[1]}"#).unwrap();
        let paths: Vec<String> = [
            "card.number",
            "missing",
            "amount.x",
            "card.number",
            "amount",
        ]
        .map(String::from)
        .to_vec();
        let mut fields = original.clone();
        let (record, reveals) = redact(
            &mut fields,
            &paths,
            RedactMode::CommitAndReveal,
            &mut || [1; 32],
        );
        let record = record.unwrap();
        assert_eq!(reveals.len(), 2);
        assert_eq!(reveals[0].value_json, r#""4242""#);
        assert_eq!(record["markers"].as_array().unwrap().len(), 2);
        let mut content = Map::new();
        content.insert("action".into(), serde_json::json!({ "fields": fields }));
        content.insert("redaction".into(), record);
        assert_eq!(check_redaction(&content), Ok(()));
        content["action"]["fields"]["amount"] = 5.into();
        assert!(check_redaction(&content).unwrap_err().contains("`amount`"));

        let mut fields = original;
        let (record, reveals) = redact(&mut fields, &paths, RedactMode::Destructive, &mut || {
            [1; 32]
        });
        assert!(reveals.is_empty());
        assert_eq!(fields["card"]["number"], REDACTED);
        let mut content = Map::new();
        content.insert("action".into(), serde_json::json!({ "fields": fields }));
        content.insert("redaction".into(), record.unwrap());
        assert_eq!(check_redaction(&content), Ok(()));
    }
}
