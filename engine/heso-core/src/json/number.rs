//! Numbers in canonical JSON: ECMAScript `Number.prototype.toString` of the IEEE-754 double.
//!
//! RFC 8785 §3.2.2.3 defines a number's bytes as what JavaScript prints for it, so every number
//! first becomes the double JavaScript would hold (integers beyond 2^53 round to the nearest
//! double, ties to even) and is then printed in the shortest form that reads back to the same
//! double. `ryu-js` implements that printing; Rust's own shortest formatting is not a substitute,
//! because where two shortest digit strings are equally close it does not always pick the one
//! ECMAScript requires (`233115890514796.125` prints `…796.13`, JavaScript prints `…796.12`).

use serde_json::Number;

/// Appends the canonical form of `number` to `out`.
pub(crate) fn write_canonical_number(out: &mut Vec<u8>, number: &Number) {
    // `as_f64` converts `u64` and `i64` with round-to-nearest-even, the same double JavaScript's
    // `Number()` gives for those digits. It is total unless serde_json's `arbitrary_precision` is
    // enabled (heso does not enable it); should that ever happen, an out-of-range number is
    // written as it was given rather than silently changed, and `check_signable` refuses it.
    match number.as_f64() {
        Some(double) => {
            out.extend_from_slice(ryu_js::Buffer::new().format_finite(double).as_bytes());
        }
        None => out.extend_from_slice(number.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{canonicalize, parse_strict};

    fn canonical_text(number: &Number) -> String {
        let mut out = Vec::new();
        write_canonical_number(&mut out, number);
        String::from_utf8(out).unwrap()
    }

    /// JSON number text → what JavaScript's `String(Number(text))` prints (checked with node).
    const ES6_TABLE: &[(&str, &str)] = &[
        ("0", "0"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0.0", "0"),
        ("1", "1"),
        ("-1", "-1"),
        ("100", "100"),
        ("0.1", "0.1"),
        ("0.3", "0.3"),
        ("0.30000000000000004", "0.30000000000000004"),
        ("0.6666666666666666", "0.6666666666666666"),
        ("4.35", "4.35"),
        ("4.50", "4.5"),
        ("0.5", "0.5"),
        ("123.456", "123.456"),
        ("-123.456", "-123.456"),
        ("1.0000000000000002", "1.0000000000000002"),
        ("333333333.33333329", "333333333.3333333"),
        ("233115890514796.125", "233115890514796.12"),
        ("1e15", "1000000000000000"),
        ("1e20", "100000000000000000000"),
        ("1e21", "1e+21"),
        ("1.2e21", "1.2e+21"),
        ("123456789012345678901", "123456789012345680000"),
        ("999999999999999900000", "999999999999999900000"),
        ("295147905179352825856", "295147905179352830000"),
        ("1e23", "1e+23"),
        ("9.999999999999999e22", "1e+23"),
        ("100000000000000000000000", "1e+23"),
        ("1e30", "1e+30"),
        ("1e100", "1e+100"),
        ("1e300", "1e+300"),
        ("1.5e300", "1.5e+300"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("-1.7976931348623157e308", "-1.7976931348623157e+308"),
        ("1e-5", "0.00001"),
        ("1e-6", "0.000001"),
        ("0.000001234", "0.000001234"),
        ("12345e-10", "0.0000012345"),
        ("2e-3", "0.002"),
        ("1e-7", "1e-7"),
        ("-1e-7", "-1e-7"),
        ("1.5e-7", "1.5e-7"),
        ("1.23e-10", "1.23e-10"),
        ("0.000000000000000000000000001", "1e-27"),
        ("-1.5e-300", "-1.5e-300"),
        ("2.2250738585072014e-308", "2.2250738585072014e-308"),
        ("5e-324", "5e-324"),
        ("-5e-324", "-5e-324"),
        ("9007199254740991", "9007199254740991"),
        ("9007199254740992", "9007199254740992"),
        ("9007199254740993", "9007199254740992"),
        ("9007199254740994", "9007199254740994"),
        ("18446744073709551615", "18446744073709552000"),
        ("-9223372036854775808", "-9223372036854776000"),
        ("9223372036854775807", "9223372036854776000"),
    ];

    #[test]
    fn numbers_print_as_ecmascript_does() {
        assert!(ES6_TABLE.len() >= 40);
        for (text, expected) in ES6_TABLE {
            let value = parse_strict(text.as_bytes()).unwrap();
            assert_eq!(
                String::from_utf8(canonicalize(&value)).unwrap(),
                *expected,
                "{text}"
            );
        }
    }

    #[test]
    fn integers_and_doubles_of_the_same_value_print_the_same() {
        let pairs = [
            (Number::from(u64::MAX), 18_446_744_073_709_551_615_f64),
            (Number::from(i64::MIN), -9_223_372_036_854_775_808_f64),
            (
                Number::from(9_007_199_254_740_993_u64),
                9_007_199_254_740_992_f64,
            ),
            (Number::from(0_u64), -0.0),
        ];
        for (integer, double) in pairs {
            let double = Number::from_f64(double).unwrap();
            assert_eq!(canonical_text(&integer), canonical_text(&double));
        }
    }

    #[test]
    fn computed_doubles_print_as_ecmascript_does() {
        let cases = [
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (f64::from_bits(1), "5e-324"),
            (2f64.powi(53), "9007199254740992"),
            (-0.0, "0"),
        ];
        for (double, expected) in cases {
            assert_eq!(canonical_text(&Number::from_f64(double).unwrap()), expected);
        }
    }
}
