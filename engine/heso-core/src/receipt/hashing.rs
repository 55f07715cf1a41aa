//! The hashes of the format: `action_hash`, the chain link hash, the lifecycle grouping key and
//! the pre-anchor hash.

use serde_json::{Map, Value};

use crate::crypto::blake3_hex;
use crate::json::canonicalize;
use crate::receipt::domain::CHAIN;

/// The canonical bytes C of a content object: RFC 8785 of the content without its top-level
/// `action_hash` (a nested member of that name is ordinary content).
pub fn canonical_content(content: &Map<String, Value>) -> Vec<u8> {
    canonical_without(content, &["action_hash"])
}

/// RFC 8785 bytes of `content` with the named top-level members removed.
pub(crate) fn canonical_without(content: &Map<String, Value>, removed: &[&str]) -> Vec<u8> {
    crate::json::canonicalize_object_without(content, removed)
}

/// `action_hash`: lowercase hex BLAKE3-256 of C, no domain prefix.
pub fn action_hash(content: &Map<String, Value>) -> String {
    blake3_hex(&canonical_content(content))
}

/// The pre-anchor hash: as `action_hash`, with `time_anchor` removed too.
pub fn pre_anchor_hash(content: &Map<String, Value>) -> String {
    blake3_hex(&canonical_without(content, &["action_hash", "time_anchor"]))
}

/// The link hash of a chained receipt:
/// `BLAKE3(CHAIN ‖ LP(session_id) ‖ LP(seq as u64 LE) ‖ LP(action_hash hex))`, where `LP(x)` is
/// the byte length of `x` as a little-endian u64 followed by `x`.
pub fn link_hash(session_id: &str, seq: u64, action_hash: &str) -> String {
    let mut input = Vec::with_capacity(CHAIN.len() + 24 + session_id.len() + 8 + 64);
    input.extend_from_slice(CHAIN);
    for field in [
        session_id.as_bytes(),
        &seq.to_le_bytes(),
        action_hash.as_bytes(),
    ] {
        input.extend_from_slice(&(field.len() as u64).to_le_bytes());
        input.extend_from_slice(field);
    }
    blake3_hex(&input)
}

/// The result binding of a result receipt: lowercase hex BLAKE3 of the RFC 8785 bytes of the
/// result as a JSON value (a string result `"abc"` hashes the 5 bytes with its quotes). Refuses
/// values canonical JSON cannot carry exactly rather than inventing a hash.
pub fn result_hash(result: &Value) -> Result<String, crate::json::SignableError> {
    crate::json::check_signable(result)?;
    Ok(blake3_hex(&canonicalize(result)))
}

/// The members of `action` that identify one durable action across its lifecycle links.
const GROUPING_MEMBERS: [&str; 8] = [
    "verb",
    "domain",
    "action",
    "tool_name",
    "target_host",
    "workflow",
    "account",
    "fields",
];

/// The lifecycle grouping key: hex BLAKE3 of `CHAIN ‖ JCS(D)`, D holding the grouping members of
/// `action` with absent ones as `null`.
pub fn grouping_key(action: &Map<String, Value>) -> String {
    let spec: Map<String, Value> = GROUPING_MEMBERS
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                action.get(*name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    let mut input = CHAIN.to_vec();
    input.extend_from_slice(&canonicalize(&Value::Object(spec)));
    blake3_hex(&input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_link_hash_of_receipts_spec_14_3() {
        assert_eq!(
            link_hash(
                "sess-golden",
                0,
                "e9eeb5251861fb70b7d694bc296a71c954ff320c21e0290948ad4f90c5738062"
            ),
            "8dfc58fd55076aeeffea330e3c8259e98d7cf8fa09e6e85150358edc2122eda9"
        );
        assert_eq!(
            link_hash(
                "sess-golden",
                1,
                "d8b2cdd4355eacee96370b0157f8ff856740cb554f15c1ec095b3026c9b68f55"
            ),
            "e2657a48a42d6e74902f3b0c4c26a6a5cf5ea7b37162cb74064b5011dbdc8861"
        );
    }

    #[test]
    fn result_hash_covers_the_quotes_of_a_string() {
        assert_eq!(
            result_hash(&Value::String("abc".into())).unwrap(),
            blake3_hex(br#""abc""#)
        );
        assert!(result_hash(&serde_json::json!({"n": 9_007_199_254_740_993_u64})).is_err());
    }

    #[test]
    fn nested_action_hash_is_content() {
        let with_nested: Map<String, Value> = serde_json::from_str(
            r#"{"action_hash":"x","action":{"fields":{"action_hash":"kept"}}}"#,
        )
        .unwrap();
        let text = String::from_utf8(canonical_content(&with_nested)).unwrap();
        assert_eq!(text, r#"{"action":{"fields":{"action_hash":"kept"}}}"#);
    }
}
