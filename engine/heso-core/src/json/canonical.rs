//! The two writers: RFC 8785 canonical bytes (what is hashed and signed) and the compact stored
//! form (what is written to disk and sent).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::json::number::write_canonical_number;

/// The RFC 8785 (JCS) bytes of `value`: the bytes heso hashes and signs (receipts.md §3).
///
/// Object members are sorted by the UTF-16 code units of their names; there is no whitespace;
/// strings carry only the escapes JSON requires (`\"`, `\\`, `\b \f \n \r \t`, other control
/// characters as lowercase `\u00xx`) and every other character as raw UTF-8; numbers are printed
/// as ECMAScript prints the IEEE-754 double they denote, so integers beyond 2^53 lose precision
/// here (see [`check_signable`](crate::json::check_signable)).
///
/// A `Value` holds no NaN or infinity and no duplicate member names, so every value has
/// canonical bytes.
pub fn canonicalize(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(&mut out, value);
    out
}

/// The RFC 8785 bytes of an object with the named top-level members left out, without copying
/// the object (receipts hash their content without its `action_hash`).
pub fn canonicalize_object_without(members: &Map<String, Value>, removed: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_object(
        &mut out,
        members
            .iter()
            .filter(|(name, _)| !removed.contains(&name.as_str())),
    );
    out
}

/// The compact stored form of `value` (receipts.md §1.3): no insignificant whitespace, members in
/// the value's own order, non-ASCII characters raw, only the escapes JSON requires.
///
/// This is `serde_json`'s compact writer (the bytes of `serde_json::to_vec`), reached through
/// `Display`, which cannot fail for a `Value`. It is not canonical; never hash it.
pub fn to_compact(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_canonical_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        Value::Object(members) => write_object(out, members.iter()),
    }
}

fn write_object<'a>(out: &mut Vec<u8>, members: impl Iterator<Item = (&'a String, &'a Value)>) {
    let mut sorted: Vec<(&String, &Value)> = members.collect();
    sorted.sort_unstable_by(|(a, _), (b, _)| utf16_order(a, b));
    out.push(b'{');
    for (index, (name, member)) in sorted.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_string(out, name);
        out.push(b':');
        write_canonical(out, member);
    }
    out.push(b'}');
}

/// RFC 8785 §3.2.3 orders names by UTF-16 code units. This differs from UTF-8 byte (and code
/// point) order when a character above U+FFFF meets one in U+E000..=U+FFFF: the first is a
/// surrogate pair starting at 0xD800..=0xDBFF, which sorts before 0xE000.
fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Writes `text` as a JSON string with only the mandatory escapes.
pub(crate) fn write_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let mut buffer = [0; 4];
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\0'..='\u{1f}' => {
                out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
            }
            _ => out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes()),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_strict;
    use serde_json::json;

    fn canonical(value: &Value) -> String {
        String::from_utf8(canonicalize(value)).unwrap()
    }

    /// receipts.md §14.2, the v2 golden content before `action_hash` is stamped, as printed there.
    const GOLDEN_CONTENT: &str = r#"{
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
}
"#;

    /// receipts.md §3, the canonical bytes C of that content.
    const GOLDEN_CANONICAL: &str = r#"{"action":{"account":"acct_acme","fields":{"model":"gpt-4o","prompt":"summarize the filing"},"result_hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","target_host":"api.openai.com","tool_name":"openai.chat.completions","verb":"llm_call","workflow":"research-run-7"},"action_version":"heso-action/2.0","agent_identity":"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=","captured_at":"2026-05-29T12:00:00Z","policy":{"decision_path":"allow","matched_conditions":[{"field":"verb","op":"eq","value":"llm_call"}],"rule_display":"allow llm_call to api.openai.com","rule_id":"allow-llm"},"trust_level":"L0"}"#;

    const GOLDEN_ACTION_HASH: &str =
        "988baa2e41ab2046d86cd90eb2115afc795ef15855332bd683e3d4d7e248dc8d";

    #[test]
    fn golden_content_canonicalizes_to_the_bytes_printed_in_the_spec() {
        let content = parse_strict(GOLDEN_CONTENT.as_bytes()).unwrap();
        let bytes = canonicalize(&content);
        assert_eq!(bytes.len(), 621);
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), GOLDEN_CANONICAL);
        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), GOLDEN_ACTION_HASH);
    }

    #[test]
    fn golden_content_with_its_action_hash_removed_gives_the_same_bytes() {
        let mut content = parse_strict(GOLDEN_CONTENT.as_bytes()).unwrap();
        let members = content.as_object_mut().unwrap();
        members.insert("action_hash".into(), GOLDEN_ACTION_HASH.into());
        assert_ne!(canonical(&content), GOLDEN_CANONICAL);
        content.as_object_mut().unwrap().shift_remove("action_hash");
        assert_eq!(canonical(&content), GOLDEN_CANONICAL);
        // Re-reading the canonical bytes changes nothing: canonicalization is idempotent.
        let reread = parse_strict(GOLDEN_CANONICAL.as_bytes()).unwrap();
        assert_eq!(canonical(&reread), GOLDEN_CANONICAL);
    }

    #[test]
    fn names_sort_by_utf16_code_units_not_utf8_bytes() {
        let value = json!({"\u{e000}": 1, "\u{1f600}": 2, "b": 3, "a": 4, "": 5, "\u{ff}": 6});
        assert_eq!(
            canonical(&value),
            "{\"\":5,\"a\":4,\"b\":3,\"\u{ff}\":6,\"\u{1f600}\":2,\"\u{e000}\":1}"
        );
        // UTF-8 byte order would put U+E000 (EE 80 80) before U+1F600 (F0 9F 98 80).
        assert!("\u{e000}".as_bytes() < "\u{1f600}".as_bytes());
        assert_eq!(utf16_order("\u{1f600}", "\u{e000}"), Ordering::Less);
        assert_eq!(utf16_order("\u{ffff}", "\u{10000}"), Ordering::Greater);
        assert_eq!(utf16_order("\u{d7ff}", "\u{10000}"), Ordering::Less);
        assert_eq!(utf16_order("a", "ab"), Ordering::Less);
    }

    #[test]
    fn nested_objects_are_sorted_and_arrays_keep_their_order() {
        let value = json!({"b": [{"z": 1, "y": 2}, 3, "x"], "a": {"d": null, "c": true}});
        assert_eq!(
            canonical(&value),
            r#"{"a":{"c":true,"d":null},"b":[{"y":2,"z":1},3,"x"]}"#
        );
    }

    #[test]
    fn strings_carry_only_the_mandatory_escapes() {
        let value = json!(concat!(
            "\"\\/\u{8}\u{c}\n\r\t\u{0}\u{1}\u{1f}",
            "\u{7f}\u{80}\u{2028}\u{2029}é😀</"
        ));
        assert_eq!(
            canonical(&value),
            "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\u{7f}\u{80}\u{2028}\u{2029}é😀</\""
        );
    }

    #[test]
    fn canonical_bytes_never_contain_a_nul_byte() {
        let value = json!({"\u{0}": "\u{0}", "a": ["\u{0}"]});
        assert!(!canonicalize(&value).contains(&0));
    }

    #[test]
    fn literals_and_empty_containers() {
        assert_eq!(
            canonical(&json!([null, true, false, {}, []])),
            "[null,true,false,{},[]]"
        );
    }

    #[test]
    fn compact_form_keeps_member_order_and_writes_non_ascii_raw() {
        let text = r#"{ "z": 1, "a": [ "é", "😀", "\u2028", "\u007f", "\u001f\n\"" ], "m": -0.0 }"#;
        let value = parse_strict(text.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8(to_compact(&value)).unwrap(),
            "{\"z\":1,\"a\":[\"é\",\"😀\",\"\u{2028}\",\"\u{7f}\",\"\\u001f\\n\\\"\"],\"m\":-0.0}"
        );
        assert_eq!(to_compact(&value), serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn compact_form_reads_back_to_the_same_value() {
        let value = json!({"b": [1, -2, 2.5, 1e300, u64::MAX, i64::MIN], "a": "x\u{0}y"});
        assert_eq!(parse_strict(&to_compact(&value)).unwrap(), value);
    }
}
