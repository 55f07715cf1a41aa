//! Strict parsing (gate G0): the shape every receipt must have before anything else is checked.
//!
//! Unknown members in any enumerated object, `null` in a named member, wrong JSON types,
//! out-of-range integers and values outside their enumeration are all `Malformed`: a receipt
//! decorated with unsigned members must never open `Valid`. Objects the format treats as opaque
//! (`fields`, `ert`, `guardrail`, `suspension`, …) are checked only for their outer type and are
//! hashed verbatim.
//!
//! Two enumerations are deliberately *not* checked here because later gates own them, so that an
//! earlier gate wins: a signature entry's `key_id` (gate G4a) and its `algorithm` (gate G4), and
//! `time_anchor.kind` (gate G7).

use serde_json::{Map, Value};

/// The JSON type a member must have.
#[derive(Debug)]
enum Ty {
    /// Any string.
    Str,
    /// A string from a fixed set.
    Enum(&'static [&'static str]),
    /// A non-negative integer up to `u64::MAX`.
    U64,
    /// A non-negative integer up to `u32::MAX`.
    U32,
    /// An object with exactly these members.
    Object(&'static [Member]),
    /// Any object, hashed verbatim.
    OpaqueObject,
    /// An array whose items all have this type.
    Array(&'static Ty),
    /// Any JSON value except `null`.
    Any,
    /// Any JSON value, `null` included: the opaque slots whose inner shape is not read.
    Opaque,
}

#[derive(Debug)]
struct Member {
    name: &'static str,
    ty: Ty,
    required: bool,
}

const fn req(name: &'static str, ty: Ty) -> Member {
    Member {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: Ty) -> Member {
    Member {
        name,
        ty,
        required: false,
    }
}

/// The seven verbs.
pub const VERBS: &[&str] = &[
    "llm_call",
    "tool_call",
    "http_request",
    "payment",
    "data_export",
    "account_change",
    "delete",
];
/// Policy decisions.
pub const DECISIONS: &[&str] = &["allow", "block", "redact", "require_approval"];
/// Lifecycle kinds.
pub const KINDS: &[&str] = &[
    "action",
    "suspended",
    "approved",
    "denied",
    "expired",
    "escalated",
    "completed",
    "key_rotation",
];

const SIGNATURE_ENTRY: &[Member] = &[
    req("algorithm", Ty::Str),
    req("key_id", Ty::Str),
    req("public_key", Ty::Str),
    req("signature", Ty::Str),
    opt("valid_from", Ty::Str),
    opt("valid_until", Ty::Str),
];

const APPROVER_RECORD: &[Member] = &[
    req("decision", Ty::Enum(&["approved", "rejected", "escalated"])),
    req("approver_identity", Ty::Str),
    req("reason", Ty::Str),
    req("decided_at", Ty::Str),
    opt("sla_minutes", Ty::U32),
];

const MATCHED_CONDITION: &[Member] = &[
    req("field", Ty::Str),
    req("op", Ty::Str),
    req("value", Ty::Opaque),
];

const MANDATE: &[Member] = &[
    opt("mandate_id", Ty::Any),
    opt("mandate_hash", Ty::Any),
    req("verdict", Ty::Enum(&["valid", "invalid", "absent"])),
    opt("payee", Ty::Any),
    opt("amount_minor", Ty::Any),
    opt("currency", Ty::Any),
];

const ACTION: &[Member] = &[
    req("verb", Ty::Enum(VERBS)),
    opt("domain", Ty::Str),
    opt("action", Ty::Str),
    opt("ert", Ty::OpaqueObject),
    req("tool_name", Ty::Str),
    opt("target_host", Ty::Str),
    req("workflow", Ty::Str),
    req("account", Ty::Str),
    req("fields", Ty::OpaqueObject),
    opt("result_hash", Ty::Str),
    opt("error", Ty::Str),
    opt("mandate", Ty::Object(MANDATE)),
    opt("metrics", Ty::Any),
];

const POLICY: &[Member] = &[
    req("rule_id", Ty::Str),
    req("rule_display", Ty::Str),
    req(
        "matched_conditions",
        Ty::Array(&Ty::Object(MATCHED_CONDITION)),
    ),
    req("decision_path", Ty::Enum(DECISIONS)),
];

const MULTI_APPROVAL: &[Member] = &[
    req("threshold", Ty::U32),
    req("roster", Ty::Array(&Ty::Str)),
    req("approvers", Ty::Array(&Ty::Object(APPROVER_RECORD))),
];

const MARKER: &[Member] = &[
    req("field_path", Ty::Str),
    req("algorithm", Ty::Str),
    req("commitment", Ty::Str),
];

const REDACTION: &[Member] = &[
    req("mode", Ty::Enum(&["destructive", "commit_and_reveal"])),
    req("markers", Ty::Array(&Ty::Object(MARKER))),
    opt("merkle_root", Ty::Str),
];

const KEY_ROTATION: &[Member] = &[
    req("role", Ty::Enum(&["producer", "decision"])),
    req("outgoing_public_key", Ty::Str),
    req("incoming_public_key", Ty::Str),
];

const TIME_ANCHOR: &[Member] = &[
    req("kind", Ty::Str),
    req("token_b64", Ty::Str),
    req("tsa", Ty::Str),
    req("anchored_hash", Ty::Str),
];

const CONTENT: &[Member] = &[
    req("action_version", Ty::Str),
    req("captured_at", Ty::Str),
    req("agent_identity", Ty::Str),
    req("action", Ty::Object(ACTION)),
    req("policy", Ty::Object(POLICY)),
    opt("approver_decision", Ty::Object(APPROVER_RECORD)),
    opt("multi_approval", Ty::Object(MULTI_APPROVAL)),
    opt("redaction", Ty::Object(REDACTION)),
    opt("guardrail", Ty::OpaqueObject),
    req("trust_level", Ty::Enum(&["L0", "L1"])),
    req("action_hash", Ty::Str),
    opt("session_id", Ty::Str),
    opt("seq", Ty::U64),
    opt("prev_receipt_hash", Ty::Str),
    opt("kind", Ty::Enum(KINDS)),
    opt("suspension", Ty::OpaqueObject),
    opt("key_rotation", Ty::Object(KEY_ROTATION)),
    opt("nonce", Ty::Str),
    opt("time_anchor", Ty::Object(TIME_ANCHOR)),
    opt("anchor_policy", Ty::Enum(&["required"])),
    opt("attestation", Ty::OpaqueObject),
    opt("metrics", Ty::Any),
];

const ENVELOPE: &[Member] = &[
    req("alg", Ty::Str),
    req("content", Ty::Object(CONTENT)),
    req("signatures", Ty::Array(&Ty::Object(SIGNATURE_ENTRY))),
    opt("transparency", Ty::Array(&Ty::Opaque)),
];

/// Checks the whole receipt's shape; the error is a one-line detail for `Malformed`.
pub(crate) fn check_envelope(value: &Value) -> Result<(), String> {
    check(value, &Ty::Object(ENVELOPE), "receipt")
}

fn check(value: &Value, ty: &Ty, path: &str) -> Result<(), String> {
    let wrong = |expected: &str| Err(format!("`{path}` must be {expected}"));
    match ty {
        Ty::Str => match value {
            Value::String(_) => Ok(()),
            _ => wrong("a string"),
        },
        Ty::Enum(allowed) => match value {
            Value::String(text) if allowed.contains(&text.as_str()) => Ok(()),
            Value::String(text) => Err(format!(
                "`{path}` is `{text}`; expected one of {}",
                allowed.join(", ")
            )),
            _ => wrong("a string"),
        },
        Ty::U64 => match value.as_u64() {
            Some(_) => Ok(()),
            None => wrong("a non-negative integer"),
        },
        Ty::U32 => match value.as_u64() {
            Some(number) if u32::try_from(number).is_ok() => Ok(()),
            _ => wrong("a non-negative integer below 2^32"),
        },
        Ty::OpaqueObject => match value {
            Value::Object(_) => Ok(()),
            _ => wrong("an object"),
        },
        Ty::Any | Ty::Opaque => Ok(()),
        Ty::Array(item) => match value {
            Value::Array(items) => items.iter().enumerate().try_for_each(|(index, entry)| {
                check_item(entry, item, &format!("{path}[{index}]"))
            }),
            _ => wrong("an array"),
        },
        Ty::Object(members) => match value {
            Value::Object(object) => check_object(object, members, path),
            _ => wrong("an object"),
        },
    }
}

fn check_item(value: &Value, ty: &Ty, path: &str) -> Result<(), String> {
    if value.is_null() && !matches!(ty, Ty::Opaque) {
        return Err(format!("`{path}` is null"));
    }
    check(value, ty, path)
}

fn check_object(object: &Map<String, Value>, members: &[Member], path: &str) -> Result<(), String> {
    if let Some(unknown) = object
        .keys()
        .find(|name| !members.iter().any(|m| m.name == *name))
    {
        return Err(format!("unknown member `{unknown}` in `{path}`"));
    }
    for member in members {
        let member_path = format!("{path}.{}", member.name);
        match object.get(member.name) {
            None if member.required => return Err(format!("missing `{member_path}`")),
            None => {}
            // A null in a named member is never "absent": the bytes were signed with it. Only the
            // opaque slots (condition values) hold arbitrary JSON, null included.
            Some(Value::Null) if !matches!(member.ty, Ty::Opaque) => {
                return Err(format!("`{member_path}` is null"));
            }
            Some(value) => check(value, &member.ty, &member_path)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden() -> Value {
        serde_json::json!({
            "alg": "heso-action/v2+ed25519",
            "content": {
                "action_version": "heso-action/2.0",
                "captured_at": "2026-05-29T12:00:00Z",
                "agent_identity": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
                "action": {
                    "verb": "llm_call", "tool_name": "t", "workflow": "w", "account": "a",
                    "fields": {"x": null}
                },
                "policy": {
                    "rule_id": "r", "rule_display": "d", "matched_conditions": [],
                    "decision_path": "allow"
                },
                "trust_level": "L0",
                "action_hash": "00"
            },
            "signatures": [{"algorithm": "Ed25519", "key_id": "anything", "public_key": "", "signature": ""}]
        })
    }

    fn malformed(edit: impl FnOnce(&mut Value)) -> String {
        let mut value = golden();
        edit(&mut value);
        check_envelope(&value).unwrap_err()
    }

    #[test]
    fn golden_shape_passes_and_opaque_nulls_are_content() {
        assert_eq!(check_envelope(&golden()), Ok(()));
    }

    #[test]
    fn unknown_members_at_every_level() {
        assert_eq!(
            malformed(|v| v["extra"] = 1.into()),
            "unknown member `extra` in `receipt`"
        );
        assert_eq!(
            malformed(|v| v["content"]["action"]["x"] = 1.into()),
            "unknown member `x` in `receipt.content.action`"
        );
        assert_eq!(
            malformed(|v| v["signatures"][0]["note"] = "".into()),
            "unknown member `note` in `receipt.signatures[0]`"
        );
    }

    #[test]
    fn nulls_types_enums_and_ranges() {
        assert_eq!(
            malformed(|v| v["content"]["session_id"] = Value::Null),
            "`receipt.content.session_id` is null"
        );
        assert_eq!(
            malformed(|v| v["content"]["trust_level"] = "L2".into()),
            "`receipt.content.trust_level` is `L2`; expected one of L0, L1"
        );
        assert_eq!(
            malformed(|v| v["content"]["seq"] = (-1).into()),
            "`receipt.content.seq` must be a non-negative integer"
        );
        assert_eq!(
            malformed(|v| v["content"]["seq"] = 1.5.into()),
            "`receipt.content.seq` must be a non-negative integer"
        );
        assert!(malformed(|v| {
            v["content"]["multi_approval"] =
                serde_json::json!({"threshold": 4_294_967_296_u64, "roster": [], "approvers": []});
        })
        .contains("below 2^32"));
        assert_eq!(
            malformed(|v| v["content"]["action"]["fields"] = "x".into()),
            "`receipt.content.action.fields` must be an object"
        );
        assert_eq!(
            malformed(|v| v["content"]
                .as_object_mut()
                .unwrap()
                .remove("policy")
                .map(drop)
                .unwrap()),
            "missing `receipt.content.policy`"
        );
    }
}
