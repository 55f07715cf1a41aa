//! JSON as receipts need it: one strict reader and the two writers of signed and stored bytes.
//!
//! * [`parse_strict`] reads bytes the way every verifier must (receipts.md §1.4): UTF-8 without a
//!   byte-order mark, exactly one value, no duplicate member names at any depth, no lone UTF-16
//!   surrogate escapes, bounded nesting.
//! * [`canonicalize`] writes RFC 8785 (JCS) bytes, the only bytes heso hashes and signs
//!   (receipts.md §3).
//! * [`check_signable`] refuses values whose canonical bytes other implementations would not
//!   reproduce: integers beyond ±(2^53 − 1).
//! * [`to_compact`] writes the stored and transmitted form (receipts.md §1.3): compact, in the
//!   value's member order, non-ASCII raw.
//!
//! These are the one implementation of these byte contracts in heso; the Python SDK and both
//! command-line tools call them rather than serializing JSON for hashing themselves.

mod canonical;
mod number;
mod signable;
mod strict;

pub use canonical::{canonicalize, canonicalize_object_without, to_compact};
pub use signable::{check_signable, SignableError};
pub use strict::{parse_strict, JsonError};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Number, Value};

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |d| Number::from_f64(d).map(Value::Number)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// Bytes that steer a mutation towards the interesting parts of the grammar.
    const MUTATIONS: &[u8] = b"\"\\,:[]{}0-+e.u d8 \x00\x1f\x7f\xff\xc3";

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 512,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn canonical_bytes_read_back_to_the_same_canonical_bytes(value in any_value()) {
            let canonical = canonicalize(&value);
            let reread = parse_strict(&canonical).unwrap();
            prop_assert_eq!(canonicalize(&reread), canonical);
        }

        #[test]
        fn compact_bytes_read_back_to_the_same_value(value in any_value()) {
            let compact = to_compact(&value);
            let reread = parse_strict(&compact).unwrap();
            prop_assert_eq!(reread.to_string(), value.to_string());
            prop_assert_eq!(&reread, &value);
            prop_assert_eq!(canonicalize(&reread), canonicalize(&value));
        }

        /// Differential check against `serde_json` on mutated documents: both accept the same
        /// documents with the same values, except that only the strict reader refuses duplicates.
        #[test]
        fn accepts_what_serde_json_accepts_except_duplicates(
            value in any_value(),
            position in any::<prop::sample::Index>(),
            replacement in prop::sample::select(MUTATIONS),
            insert in any::<bool>(),
        ) {
            let mut bytes = to_compact(&value);
            let at = position.index(bytes.len() + 1);
            if insert || at == bytes.len() {
                bytes.insert(at, replacement);
            } else {
                bytes[at] = replacement;
            }
            let ours = parse_strict(&bytes);
            let theirs = serde_json::from_slice::<Value>(&bytes);
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => {
                    prop_assert_eq!(ours.to_string(), theirs.to_string());
                    prop_assert_eq!(ours, theirs);
                }
                (Err(_), Err(_)) | (Err(JsonError::DuplicateMember { .. }), Ok(_)) => {}
                (ours, theirs) => {
                    prop_assert!(false, "strict: {:?}, serde_json: {:?}", ours, theirs);
                }
            }
        }
    }

    #[test]
    fn public_errors_read_as_one_lowercase_line() {
        let errors = [
            parse_strict(b"\xff").unwrap_err().to_string(),
            parse_strict(b"\xEF\xBB\xBF1").unwrap_err().to_string(),
            parse_strict(b"[1,,]").unwrap_err().to_string(),
            parse_strict(br#"{"x":1,"x":1}"#).unwrap_err().to_string(),
            parse_strict(br#""\udead""#).unwrap_err().to_string(),
            parse_strict(&[b'['; 300]).unwrap_err().to_string(),
            parse_strict(b"1e999").unwrap_err().to_string(),
            check_signable(&serde_json::json!(u64::MAX))
                .unwrap_err()
                .to_string(),
        ];
        for message in errors {
            assert!(
                !message.contains('\n') && !message.ends_with('.'),
                "{message}"
            );
            assert!(
                message.starts_with(|c: char| !c.is_uppercase()),
                "{message}"
            );
        }
    }
}
