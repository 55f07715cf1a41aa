//! What producers may sign (receipts.md §3): numbers whose canonical bytes every implementation
//! agrees on.
//!
//! RFC 8785 prints a number as the IEEE-754 double it denotes. An integer of magnitude above
//! 2^53 − 1 may have no exact double, and implementations that keep big integers (Python's
//! `int`, for one) print its digits instead or refuse it, so the hash of such content depends on
//! who computes it. Only integer-typed numbers (`u64`, `i64`) are at risk: the stored form
//! ([`to_compact`](crate::json::to_compact)) writes a double with a fraction or an exponent
//! (`1e+20`, `3.0`), which every reader takes as a double again, and a `Value` never holds NaN or
//! an infinity.

use std::fmt::Write as _;

use serde_json::Value;

use crate::json::canonical::write_string;

/// The largest magnitude of an integer that a double holds exactly along with all its neighbours,
/// JavaScript's `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a value must not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignableError {
    /// An integer outside ±(2^53 − 1), which canonical JSON cannot carry exactly.
    #[error(
        "integer {value} at `{path}` is beyond ±(2^53 − 1), which canonical JSON cannot carry \
         exactly; send it as a string"
    )]
    UnsafeInteger {
        /// Where the number is, as a JSON path such as `$.action.fields.big`.
        path: String,
        /// The integer.
        value: i128,
    },
    /// A number that is not a finite double (reachable only if `serde_json`'s
    /// `arbitrary_precision` feature is ever enabled).
    #[error("number {value} at `{path}` is not a finite double; send it as a string")]
    NotFinite {
        /// Where the number is.
        path: String,
        /// The number as written.
        value: String,
    },
}

/// Checks that every number in `value` has canonical bytes all implementations agree on.
///
/// Reports the first offending number in member order, by its path: `$` for the value itself,
/// `.name` for members whose names are identifiers, `["name"]` for other members, `[index]` for
/// array items.
pub fn check_signable(value: &Value) -> Result<(), SignableError> {
    let mut path = Vec::new();
    check(value, &mut path)
}

/// One step from a value into one of its children.
enum Step<'a> {
    Member(&'a str),
    Item(usize),
}

fn check<'a>(value: &'a Value, path: &mut Vec<Step<'a>>) -> Result<(), SignableError> {
    match value {
        Value::Number(number) => {
            let integer = number
                .as_u64()
                .map(i128::from)
                .or_else(|| number.as_i64().map(i128::from));
            match integer {
                Some(integer) if integer.unsigned_abs() > u128::from(MAX_SAFE_INTEGER) => {
                    Err(SignableError::UnsafeInteger {
                        path: render(path),
                        value: integer,
                    })
                }
                Some(_) => Ok(()),
                None if number.as_f64().is_some_and(f64::is_finite) => Ok(()),
                None => Err(SignableError::NotFinite {
                    path: render(path),
                    value: number.to_string(),
                }),
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(Step::Item(index));
                check(item, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Object(members) => {
            for (name, member) in members {
                path.push(Step::Member(name));
                check(member, path)?;
                path.pop();
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

fn render(path: &[Step<'_>]) -> String {
    let mut text = String::from("$");
    for step in path {
        match step {
            Step::Member(name) if is_identifier(name) => {
                text.push('.');
                text.push_str(name);
            }
            Step::Member(name) => {
                let mut quoted = Vec::new();
                write_string(&mut quoted, name);
                text.push('[');
                text.push_str(&String::from_utf8_lossy(&quoted));
                text.push(']');
            }
            Step::Item(index) => {
                // Writing to a `String` cannot fail.
                let _ = write!(text, "[{index}]");
            }
        }
    }
    text
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_strict;
    use serde_json::json;

    const SAFE: i64 = (1 << 53) - 1;

    #[test]
    fn integers_up_to_the_safe_limit_are_signable() {
        let value = json!({"a": [SAFE, -SAFE, SAFE as u64, 0, -1], "b": {"c": 1}});
        assert_eq!(check_signable(&value), Ok(()));
    }

    #[test]
    fn doubles_of_any_size_are_signable() {
        let value = json!([
            1e300,
            -1.797_693_134_862_315_7e308,
            5e-324,
            9_007_199_254_740_993.0,
            -0.0
        ]);
        assert_eq!(check_signable(&value), Ok(()));
    }

    #[test]
    fn integers_beyond_the_safe_limit_are_refused_with_their_path() {
        let cases = [
            (
                json!({"action": {"fields": {"big": SAFE + 1}}}),
                "$.action.fields.big",
                i128::from(SAFE) + 1,
            ),
            (json!({"n": -SAFE - 1}), "$.n", -i128::from(SAFE) - 1),
            (json!([0, [1, u64::MAX]]), "$[1][1]", i128::from(u64::MAX)),
            (
                json!({"x": [{"min": i64::MIN}]}),
                "$.x[0].min",
                i128::from(i64::MIN),
            ),
            (json!(9_007_199_254_740_992_u64), "$", 9_007_199_254_740_992),
        ];
        for (value, path, integer) in cases {
            assert_eq!(
                check_signable(&value),
                Err(SignableError::UnsafeInteger {
                    path: path.to_owned(),
                    value: integer
                })
            );
        }
    }

    #[test]
    fn the_first_offender_in_member_order_is_named() {
        let value =
            parse_strict(br#"{"z": {"late": 1, "bad": 9007199254740993}, "a": 9007199254740994}"#)
                .unwrap();
        let error = check_signable(&value).unwrap_err();
        assert_eq!(
            error.to_string(),
            "integer 9007199254740993 at `$.z.bad` is beyond ±(2^53 − 1), which canonical JSON \
             cannot carry exactly; send it as a string"
        );
    }

    #[test]
    fn names_that_are_not_identifiers_are_quoted_in_the_path() {
        let value = json!({"fields": {"a b": {"\"q\"\n": [{"1x": {"_ok9": u64::MAX}}]}}});
        let Err(SignableError::UnsafeInteger { path, .. }) = check_signable(&value) else {
            panic!("expected an unsafe integer");
        };
        assert_eq!(path, r#"$.fields["a b"]["\"q\"\n"][0]["1x"]._ok9"#);
    }

    #[test]
    fn integers_that_overflow_u64_are_doubles_and_are_stored_as_doubles() {
        // `parse_strict` reads a 20-digit integer beyond u64 as a double; its stored form has an
        // exponent, so every reader takes it as that same double and agrees on its bytes.
        let value = parse_strict(b"18446744073709551616").unwrap();
        assert_eq!(check_signable(&value), Ok(()));
        assert_eq!(crate::json::to_compact(&value), b"1.8446744073709552e+19");
    }
}
