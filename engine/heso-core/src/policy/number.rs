//! Exact decimal numbers for policy conditions (policy.md §6.3.3 and §6.3.4).
//!
//! A numeric field (a JSON number, or a string in the JSON number grammar) and a numeric policy
//! operand both become a [`Decimal`] and are compared as decimal values, never as binary doubles:
//! the string `"1000.10"` equals the operand `1000.1`, and `9007199254740993` is greater than
//! `9007199254740992`, which no `f64` comparison gets right.
//!
//! # Representation
//!
//! A finite value is a sign, its significant digits (no leading or trailing zeros) and the power
//! of ten of its first digit: `-1250.5` is `-`, `12505`, `3`, read as `-1.2505 × 10^3`. Zero has
//! no digits and no sign, so `-0`, `0.000` and `0e99` are all the same value. Every value has
//! exactly one such form, so equality is equality of the parts, and ordering compares signs, then
//! the power of ten of the first digit, then the digits.
//!
//! # Huge and tiny numbers
//!
//! Digits are kept exactly only within bounds, so that a hostile field cannot make a comparison
//! slow or costly in memory. Written as `±d.ddd… × 10^E` with `n` significant digits, a number is
//! kept exactly when `n ≤ 1,000` and `−1,000 ≤ E ≤ 1,000`; zero always is. Any other number is
//! first rounded to the nearest IEEE-754 double (ties to even), and its value is that double as
//! [`Decimal::from_f64`] gives it, except that a number beyond the largest double becomes
//! ±infinity (below or above every finite value, equal only to itself) and one too small for the
//! smallest double becomes zero. So a 2,000-digit integer is +infinity, greater than `1e1000`, and
//! `1e-2000` is 0: huge inputs still compare in the right direction.
//!
//! Precisely: `E > 1,000` gives ±infinity and `E < −1,000` gives zero, as the nearest double of
//! such a number always would; otherwise (`n > 1,000`) the first 1,000 significant digits followed
//! by a `1` are converted with Rust's correctly rounded `f64::from_str`. The appended `1` stands
//! for the dropped digits, which end in a non-zero digit: a value halfway between two doubles, or
//! a double itself, has at most 768 significant digits, so the shortened number rounds exactly as
//! the full one does. `f64::from_str` is not given the whole text because it misreads long digit
//! strings with a large written exponent: with Rust 1.95, `"7" × 1,000,000 + "e-1000000"`, which
//! is 0.777…, becomes infinity.
//!
//! Reading a number is one pass over its text, and rounding works on at most 1,001 digits, so a
//! 10 MB numeric string costs linear time, never quadratic.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Number, Value};

/// The most significant digits a number keeps exactly (policy.md §6.3.3).
const MAX_EXACT_DIGITS: usize = 1_000;

/// The largest power of ten, in absolute value, of the first digit of a number kept exactly.
const MAX_EXACT_EXPONENT: i32 = 1_000;

/// Where a written exponent stops growing while it is read. Any exponent this large is beyond
/// ±[`MAX_EXACT_EXPONENT`] however long the digits before it are (text lengths stay below 2^64),
/// so saturating changes no value and rules out overflow.
const EXPONENT_SATURATION: i128 = 1 << 100;

/// An exact decimal number, or ±infinity for inputs too large to keep exactly.
///
/// The order is total: −infinity < every finite value < +infinity, and `0 == -0`.
#[derive(Clone, PartialEq, Eq)]
pub struct Decimal(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    NegativeInfinity,
    Finite(Finite),
    PositiveInfinity,
}

/// A finite value: `±d.ddd… × 10^exponent`.
///
/// INVARIANT: `digits` holds only ASCII digits, at most [`MAX_EXACT_DIGITS`] of them, with no
/// leading or trailing `0`; `exponent` is within ±[`MAX_EXACT_EXPONENT`]. Zero has empty `digits`,
/// `negative` false and `exponent` 0. This makes the form of every value unique, which the derived
/// equality and the hand-written order rely on.
#[derive(Clone, PartialEq, Eq)]
struct Finite {
    negative: bool,
    digits: String,
    exponent: i32,
}

/// The parts of text that matched the JSON number grammar.
struct NumberText<'a> {
    negative: bool,
    integer: &'a [u8],
    fraction: &'a [u8],
    /// The written exponent, saturated at ±[`EXPONENT_SATURATION`].
    exponent: i128,
}

impl Decimal {
    const ZERO: Decimal = Decimal(Repr::Finite(Finite {
        negative: false,
        digits: String::new(),
        exponent: 0,
    }));

    /// A field value as a number: a JSON number, or a string matching the JSON number grammar
    /// exactly (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`: no spaces, no `+`, no `_`, no
    /// `NaN` or `Infinity`, no hex). Booleans, null, objects, arrays and other strings are not
    /// numeric: `None`.
    pub fn from_field(value: &Value) -> Option<Decimal> {
        match value {
            Value::Number(number) => Some(Self::from_json_number(number)),
            Value::String(text) => Self::parse(text),
            Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// A JSON number as `serde_json` (with `float_roundtrip`) parsed it: an `i64` or `u64` exactly,
    /// a float as the shortest decimal that reads back to the same double (what `ryu_js` and
    /// canonical JSON print), so `0.1` is exactly 0.1.
    ///
    /// A float therefore has at most 17 significant digits: the JSON number
    /// `233115890514796.125` has already become a double when it arrives here and compares as
    /// `233115890514796.12`, the text canonical JSON prints for it. Strings keep every digit.
    pub fn from_json_number(number: &Number) -> Decimal {
        if let Some(unsigned) = number.as_u64() {
            return Self::from_integer(false, unsigned);
        }
        if let Some(signed) = number.as_i64() {
            return Self::from_i64(signed);
        }
        // heso does not enable serde_json's `arbitrary_precision`, so every other number is a
        // finite double. Were it enabled, a number would keep its JSON text, which `parse` reads;
        // a text out of `f64` range is the only one `as_f64` would refuse.
        number.as_f64().and_then(Self::from_f64).unwrap_or_else(|| {
            let text = number.to_string();
            Self::parse(&text).unwrap_or_else(|| Self::infinity(text.starts_with('-')))
        })
    }

    /// Parses decimal text in the JSON number grammar; `None` when it does not match.
    ///
    /// A number outside the exact bounds (more than 1,000 significant digits, or a first digit
    /// beyond 10^±1,000) is rounded to the nearest double first, as the module documentation
    /// describes.
    pub fn parse(text: &str) -> Option<Decimal> {
        NumberText::scan(text.as_bytes())?.value()
    }

    /// A policy operand from TOML: an integer.
    pub fn from_i64(value: i64) -> Decimal {
        Self::from_integer(value < 0, value.unsigned_abs())
    }

    /// A policy operand from TOML: a finite float; `None` for NaN and ±infinity.
    ///
    /// The value is the shortest decimal that reads back to the same double (what JavaScript and
    /// canonical JSON print), so the TOML operand `1000.1` is exactly `1000.1`, not the binary
    /// double's `1000.1000000000000227…`.
    pub fn from_f64(value: f64) -> Option<Decimal> {
        if !value.is_finite() {
            return None;
        }
        // `ryu_js` prints a finite double in the JSON number grammar with at most 17 significant
        // digits and a first digit within 10^−324..=10^308, so the value is kept exactly.
        NumberText::scan(ryu_js::Buffer::new().format_finite(value).as_bytes())?.value()
    }

    fn from_integer(negative: bool, magnitude: u64) -> Decimal {
        if magnitude == 0 {
            return Self::ZERO;
        }
        let text = magnitude.to_string();
        // The power of ten of the first digit, one less than the number of digits.
        let mut exponent = 0;
        let mut rest = magnitude / 10;
        while rest > 0 {
            exponent += 1;
            rest /= 10;
        }
        Decimal(Repr::Finite(Finite {
            negative,
            digits: text.trim_end_matches('0').to_owned(),
            exponent,
        }))
    }

    fn infinity(negative: bool) -> Decimal {
        if negative {
            Decimal(Repr::NegativeInfinity)
        } else {
            Decimal(Repr::PositiveInfinity)
        }
    }
}

impl NumberText<'_> {
    /// Matches `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` against the whole of `bytes`.
    fn scan(bytes: &[u8]) -> Option<NumberText<'_>> {
        let (negative, rest) = match bytes.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, bytes),
        };
        let (integer, rest) = split_digits(rest);
        if integer.is_empty() || (integer.len() > 1 && integer.first() == Some(&b'0')) {
            return None;
        }
        let (fraction, rest) = match rest.split_first() {
            Some((b'.', rest)) => {
                let (fraction, rest) = split_digits(rest);
                if fraction.is_empty() {
                    return None;
                }
                (fraction, rest)
            }
            _ => (&[][..], rest),
        };
        let (exponent, rest) = match rest.split_first() {
            Some((b'e' | b'E', rest)) => {
                let (exponent_negative, rest) = match rest.split_first() {
                    Some((b'-', rest)) => (true, rest),
                    Some((b'+', rest)) => (false, rest),
                    _ => (false, rest),
                };
                let (digits, rest) = split_digits(rest);
                if digits.is_empty() {
                    return None;
                }
                let magnitude = digits.iter().fold(0_i128, |magnitude, digit| {
                    (magnitude * 10 + i128::from(digit - b'0')).min(EXPONENT_SATURATION)
                });
                (
                    if exponent_negative {
                        -magnitude
                    } else {
                        magnitude
                    },
                    rest,
                )
            }
            _ => (0, rest),
        };
        rest.is_empty().then_some(NumberText {
            negative,
            integer,
            fraction,
            exponent,
        })
    }

    /// The value of the number, exact or rounded as the module documentation describes. `None`
    /// only if `f64::from_str` refused text in its own grammar, which it does not.
    fn value(&self) -> Option<Decimal> {
        let total = self.integer.len() + self.fraction.len();
        let mut leading_zeros = count_zeros(self.integer.iter());
        if leading_zeros == self.integer.len() {
            leading_zeros += count_zeros(self.fraction.iter());
        }
        if leading_zeros == total {
            return Some(Decimal::ZERO);
        }
        let mut trailing_zeros = count_zeros(self.fraction.iter().rev());
        if trailing_zeros == self.fraction.len() {
            trailing_zeros += count_zeros(self.integer.iter().rev());
        }
        // At least one digit is not zero and neither count includes it.
        let significant = total - leading_zeros - trailing_zeros;
        // The first significant digit stands `integer.len() - 1 - leading_zeros` places left of
        // the decimal point (negative: right of it), then the written exponent moves it.
        let first_digit_exponent = self
            .exponent
            .saturating_add(length_as_i128(self.integer.len()))
            .saturating_sub(length_as_i128(leading_zeros))
            .saturating_sub(1);
        let Some(exponent) = i32::try_from(first_digit_exponent)
            .ok()
            .filter(|exponent| exponent.abs() <= MAX_EXACT_EXPONENT)
        else {
            // At least 10^1001, or below 10^−1000: far beyond the largest double, or far below
            // half the smallest, which is where the nearest double is ±infinity or zero.
            return Some(if first_digit_exponent > 0 {
                Decimal::infinity(self.negative)
            } else {
                Decimal::ZERO
            });
        };
        let mut digits = self
            .integer
            .iter()
            .chain(self.fraction)
            .skip(leading_zeros)
            .take(significant.min(MAX_EXACT_DIGITS))
            .map(|&digit| char::from(digit));
        if significant <= MAX_EXACT_DIGITS {
            return Some(Decimal(Repr::Finite(Finite {
                negative: self.negative,
                digits: digits.collect(),
                exponent,
            })));
        }
        // Too many digits: round the first 1,000 and a `1` for the rest (see the module
        // documentation for why that rounds as the whole number would).
        let mut shortened = String::with_capacity(MAX_EXACT_DIGITS + 16);
        if self.negative {
            shortened.push('-');
        }
        shortened.extend(digits.next());
        shortened.push('.');
        shortened.extend(digits);
        shortened.push('1');
        shortened.push('e');
        shortened.push_str(&exponent.to_string());
        let double = shortened.parse::<f64>().ok()?;
        if double.is_infinite() {
            Some(Decimal::infinity(self.negative))
        } else {
            // An underflow gives ±0.0, which is zero like any other.
            Decimal::from_f64(double)
        }
    }
}

/// Splits `bytes` after its leading run of ASCII digits.
fn split_digits(bytes: &[u8]) -> (&[u8], &[u8]) {
    let count = bytes
        .iter()
        .position(|byte| !byte.is_ascii_digit())
        .unwrap_or(bytes.len());
    bytes.split_at_checked(count).unwrap_or((bytes, &[]))
}

fn count_zeros<'a>(digits: impl Iterator<Item = &'a u8>) -> usize {
    digits.take_while(|&&digit| digit == b'0').count()
}

fn length_as_i128(length: usize) -> i128 {
    i128::try_from(length).unwrap_or(i128::MAX)
}

impl Finite {
    fn signum(&self) -> i8 {
        match (self.digits.is_empty(), self.negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        }
    }

    fn cmp_value(&self, other: &Finite) -> Ordering {
        self.signum().cmp(&other.signum()).then_with(|| {
            // Same sign. The first digit is never zero, so a higher power of ten is a larger
            // magnitude; at the same power the digits compare place by place, and a digit string
            // that is a prefix of the other is smaller because the other's extra digits end in a
            // non-zero digit.
            let magnitude = self
                .exponent
                .cmp(&other.exponent)
                .then_with(|| self.digits.as_bytes().cmp(other.digits.as_bytes()));
            if self.negative {
                magnitude.reverse()
            } else {
                magnitude
            }
        })
    }
}

impl Repr {
    fn rank(&self) -> u8 {
        match self {
            Repr::NegativeInfinity => 0,
            Repr::Finite(_) => 1,
            Repr::PositiveInfinity => 2,
        }
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (Repr::Finite(left), Repr::Finite(right)) => left.cmp_value(right),
            (left, right) => left.rank().cmp(&right.rank()),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Prints `Decimal(-1.2505e3)`, `Decimal(0)` or `Decimal(+inf)`.
impl fmt::Debug for Decimal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::NegativeInfinity => formatter.write_str("Decimal(-inf)"),
            Repr::PositiveInfinity => formatter.write_str("Decimal(+inf)"),
            Repr::Finite(finite) => {
                let Some((first, rest)) = finite.digits.split_at_checked(1) else {
                    return formatter.write_str("Decimal(0)");
                };
                let sign = if finite.negative { "-" } else { "" };
                let point = if rest.is_empty() { "" } else { "." };
                let exponent = finite.exponent;
                write!(formatter, "Decimal({sign}{first}{point}{rest}e{exponent})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const POSITIVE_INFINITY: Decimal = Decimal(Repr::PositiveInfinity);
    const NEGATIVE_INFINITY: Decimal = Decimal(Repr::NegativeInfinity);

    fn number(text: &str) -> Decimal {
        Decimal::parse(text).unwrap_or_else(|| panic!("`{text}` should parse"))
    }

    fn json_number(text: &str) -> Decimal {
        let value: Value = serde_json::from_str(text).unwrap();
        Decimal::from_field(&value).unwrap()
    }

    fn float(value: f64) -> Decimal {
        Decimal::from_f64(value).unwrap()
    }

    fn repeat(digit: char, count: usize) -> String {
        std::iter::repeat_n(digit, count).collect()
    }

    #[test]
    fn the_json_number_grammar_is_accepted_exactly() {
        let accepted = [
            "0",
            "-0",
            "1.5",
            "1e3",
            "1E-3",
            "-1.25e+10",
            "0.0",
            "-0.0e-0",
            "10",
            "1234567890",
            "0.000",
            "0e0",
            "1e007",
            "9.99E+99",
        ];
        for text in accepted {
            assert!(Decimal::parse(text).is_some(), "`{text}` should parse");
            assert!(Decimal::from_field(&json!(text)).is_some(), "`{text}`");
        }
        let rejected = [
            "01", "+1", "1.", ".5", " 1", "1 ", "1_000", "0x10", "NaN", "Infinity", "1e", "--1",
            "", "-", "00", "-01", "1.e3", "-.5", "1e+", "1e-", "1e3.5", "1.5.5", "1ee3", "e3",
            "-inf", "inf", "nan", "1\n", "\u{661}", "1,5", "1f", "0b1", "- 1", "1e 3", "1e++3",
        ];
        for text in rejected {
            assert_eq!(Decimal::parse(text), None, "`{text}` should not parse");
            assert_eq!(Decimal::from_field(&json!(text)), None, "`{text}`");
        }
    }

    #[test]
    fn comparison_is_exact_on_decimal_values() {
        // policy.md §6.3.3: `"1000.10" gt 1000.1` is false because they are equal.
        assert_eq!(number("1000.10"), float(1000.1));
        assert_eq!(json_number("1000.10"), float(1000.1));
        assert!(number("1000.1000000000001") > float(1000.1));
        // `9007199254740993 gt 9007199254740992` is true, as JSON integers and as strings.
        assert!(json_number("9007199254740993") > json_number("9007199254740992"));
        assert!(number("9007199254740993") > Decimal::from_i64(9_007_199_254_740_992));
        assert!(json_number("9007199254740993") > float(9_007_199_254_740_992.0));
        // §6.3.4: `1000 eq 1000.0`, and the string `"1000"` equals 1000.
        assert_eq!(Decimal::from_i64(1000), float(1000.0));
        assert_eq!(
            Decimal::from_field(&json!("1000")),
            Some(Decimal::from_i64(1000))
        );
        assert_eq!(json_number("1000.0"), Decimal::from_i64(1000));
        assert_eq!(number("1e3"), Decimal::from_i64(1000));
        assert_eq!(json_number("1e3"), Decimal::from_i64(1000));
        assert_eq!(number("-0"), number("0"));
        assert_eq!(number("-0"), Decimal::from_i64(0));
        assert_eq!(float(-0.0), float(0.0));
        assert_eq!(json_number("-0"), json_number("0.0"));
        assert_eq!(number("0.1"), float(0.1));
        assert_ne!(number("0.1"), float(0.1 + 0.2 - 0.2));
    }

    #[test]
    fn the_same_value_written_differently_is_equal() {
        let one = [
            "1", "1.0", "1.000", "10e-1", "0.1e1", "100E-2", "1E0", "1e+0", "0.001e3", "1e-0",
        ];
        for text in one {
            assert_eq!(number(text), Decimal::from_i64(1), "`{text}`");
            assert_eq!(number(text), float(1.0), "`{text}`");
        }
        let zero = [
            "0",
            "-0",
            "0.0",
            "-0.000",
            "0e5",
            "0e-5",
            "-0E+999999999999999999999",
        ];
        for text in zero {
            assert_eq!(number(text), Decimal::ZERO, "`{text}`");
        }
    }

    #[test]
    fn order_holds_across_scales_and_signs() {
        let ascending = [
            "-1e1000",
            "-1.7976931348623157e308",
            "-18446744073709551615",
            "-1000.1",
            "-1000.01",
            "-1000",
            "-999.9999",
            "-1.0001",
            "-1",
            "-0.999",
            "-0.1",
            "-5e-324",
            "-1e-1000",
            "0",
            "1e-1000",
            "5e-324",
            "0.001",
            "0.1",
            "0.999",
            "1",
            "1.0001",
            "1.001",
            "1.01",
            "9.99",
            "10",
            "99",
            "100",
            "1000.1",
            "9007199254740992",
            "9007199254740993",
            "18446744073709551614",
            "18446744073709551615",
            "1e308",
            "1.7976931348623157e308",
            "1e309",
            "9.99e999",
            "1e1000",
        ];
        let values: Vec<Decimal> = ascending.iter().map(|text| number(text)).collect();
        for (i, left) in values.iter().enumerate() {
            assert!(NEGATIVE_INFINITY < *left && *left < POSITIVE_INFINITY);
            for (j, right) in values.iter().enumerate() {
                assert_eq!(
                    left.cmp(right),
                    i.cmp(&j),
                    "`{}` vs `{}`",
                    ascending[i],
                    ascending[j]
                );
                assert_eq!(left == right, i == j);
            }
        }
        assert!(NEGATIVE_INFINITY < POSITIVE_INFINITY);
        assert_eq!(POSITIVE_INFINITY.cmp(&POSITIVE_INFINITY), Ordering::Equal);
    }

    #[test]
    fn big_integers_keep_every_digit() {
        let max = u64::MAX.to_string();
        let below = (u64::MAX - 1).to_string();
        assert!(number(&max) > number(&below));
        assert!(json_number(&max) > json_number(&below));
        assert_eq!(json_number(&max), number(&max));
        assert_eq!(
            Decimal::from_json_number(&Number::from(u64::MAX)),
            number("18446744073709551615")
        );
        assert!(
            Decimal::from_json_number(&Number::from(u64::MAX))
                > Decimal::from_json_number(&Number::from(u64::MAX - 1))
        );
        assert_eq!(Decimal::from_i64(i64::MIN), number("-9223372036854775808"));
        assert!(Decimal::from_i64(i64::MIN) < Decimal::from_i64(i64::MIN + 1));
        assert_eq!(
            json_number("-9223372036854775808"),
            Decimal::from_i64(i64::MIN)
        );
        // Strings are not limited to 64 bits.
        assert!(number("18446744073709551617") > number("18446744073709551616"));
        assert!(number("-18446744073709551617") < number("-18446744073709551616"));
    }

    #[test]
    fn json_floats_are_their_shortest_decimal() {
        assert_eq!(json_number("0.1"), number("0.1"));
        assert!(json_number("0.30000000000000004") > number("0.3"));
        assert_eq!(json_number("1e21"), number("1000000000000000000000"));
        assert_eq!(json_number("1e21"), float(1e21));
        assert_eq!(json_number("5e-324"), number("5e-324"));
        assert_eq!(json_number("5e-324"), float(f64::from_bits(1)));
        assert!(json_number("5e-324") > Decimal::ZERO);
        assert!(json_number("5e-324") < number("1e-323"));
        assert_eq!(json_number("-5e-324"), number("-5e-324"));
        assert_eq!(
            json_number("1.7976931348623157e308"),
            number("1.7976931348623157e308")
        );
        // The JSON text below is already the double 233115890514796.125 when it arrives; canonical
        // JSON prints that double as …796.12, and so it compares.
        assert_eq!(
            json_number("233115890514796.125"),
            number("233115890514796.12")
        );
        // A JSON integer beyond u64 is a double too; the same digits as a string stay exact.
        assert_eq!(
            json_number("18446744073709551616"),
            number("18446744073709552000")
        );
    }

    #[test]
    fn float_operands_are_finite_shortest_decimals() {
        assert_eq!(Decimal::from_f64(f64::NAN), None);
        assert_eq!(Decimal::from_f64(f64::INFINITY), None);
        assert_eq!(Decimal::from_f64(f64::NEG_INFINITY), None);
        assert_eq!(float(f64::MAX), number("1.7976931348623157e308"));
        assert_eq!(float(f64::MIN_POSITIVE), number("2.2250738585072014e-308"));
        assert_eq!(float(-1.5e-7), number("-0.00000015"));
        assert_eq!(float(1e300), number("1e300"));
    }

    #[test]
    fn numbers_beyond_the_exact_bounds_round_to_a_double() {
        let huge = repeat('9', 2000);
        assert!(number(&huge) > number("1e308"));
        assert!(number(&huge) > number("1e1000"));
        assert_eq!(number(&huge), POSITIVE_INFINITY);
        assert_eq!(number(&format!("-{huge}")), NEGATIVE_INFINITY);
        assert_eq!(
            Decimal::from_field(&json!(huge.clone())),
            Some(POSITIVE_INFINITY)
        );
        assert_eq!(number("1e-2000"), Decimal::ZERO);
        assert_eq!(number("-1e-2000"), Decimal::ZERO);
        // The exponent bound is on the first significant digit: 10^±1000 is kept, 10^±1001 is not.
        assert!(number("1e1000") < POSITIVE_INFINITY);
        assert!(number("1e1000") > number("9.99e999"));
        assert_eq!(number("1e1001"), POSITIVE_INFINITY);
        assert_eq!(number("-1e1001"), NEGATIVE_INFINITY);
        assert_eq!(number("1.5e1000"), number("15e999"));
        assert!(number("1e-1000") > Decimal::ZERO);
        assert!(number("1.5e-1000") > number("1e-1000"));
        assert_eq!(number("1e-1001"), Decimal::ZERO);
        assert_eq!(number("9.99e-1001"), Decimal::ZERO);
        // The digit bound counts significant digits: 1,000 are kept, 1,001 are rounded.
        let thousand_digits = format!("1.{}1", repeat('0', 998));
        assert!(number(&thousand_digits) > Decimal::from_i64(1));
        let thousand_and_one_digits = format!("1.{}1", repeat('0', 999));
        assert_eq!(number(&thousand_and_one_digits), Decimal::from_i64(1));
        let integer_thousand_and_one_digits = format!("1{}1", repeat('0', 999));
        assert_eq!(number(&integer_thousand_and_one_digits), POSITIVE_INFINITY);
        // A huge written exponent saturates instead of overflowing.
        assert_eq!(
            number("1e99999999999999999999999999999999999999999"),
            POSITIVE_INFINITY
        );
        assert_eq!(
            number("-1e99999999999999999999999999999999999999999"),
            NEGATIVE_INFINITY
        );
        assert_eq!(
            number("1e-99999999999999999999999999999999999999999"),
            Decimal::ZERO
        );
    }

    #[test]
    fn too_many_digits_round_as_the_whole_number_would() {
        // 1 + 2^-53 lies halfway between the doubles 1 and 1.0000000000000002.
        let halfway = "1.00000000000000011102230246251565404236316680908203125";
        let above = format!("{halfway}{}1", repeat('0', 2000));
        assert_eq!(number(&above), float(1.000_000_000_000_000_2));
        let below = format!(
            "1.00000000000000011102230246251565404236316680908203124{}",
            repeat('9', 2000)
        );
        assert_eq!(number(&below), float(1.0));
        assert_eq!(
            number(&format!("-{above}")),
            float(-1.000_000_000_000_000_2)
        );
        // Exactly halfway has few significant digits, so it is kept exactly.
        assert_eq!(
            number(&format!("{halfway}{}", repeat('0', 2000))),
            number(halfway)
        );
        assert!(number(halfway) > float(1.0) && number(halfway) < float(1.000_000_000_000_000_2));
        // Rounded values within the range of doubles, near its ends.
        assert_eq!(
            number(&format!("1.7976931348623157{}1e308", repeat('0', 1000))),
            float(f64::MAX)
        );
        assert_eq!(
            number(&format!("1.7976931348623159{}1e308", repeat('0', 1000))),
            POSITIVE_INFINITY
        );
        assert_eq!(
            number(&format!("5.{}1e-324", repeat('0', 1000))),
            float(f64::from_bits(1))
        );
        assert_eq!(
            number(&format!("2.{}1e-324", repeat('0', 1000))),
            Decimal::ZERO
        );
        assert_eq!(
            number(&format!("{}e-1000000", repeat('7', 1_000_000))),
            float(0.777_777_777_777_777_8)
        );
    }

    #[test]
    fn leading_and_trailing_zeros_are_not_significant() {
        assert_eq!(
            number(&format!("1{}e-1000000", repeat('0', 1_000_000))),
            Decimal::from_i64(1)
        );
        let zeros = repeat('0', 5000);
        assert_eq!(number(&format!("1{zeros}e-5000")), Decimal::from_i64(1));
        assert_eq!(number(&format!("1.23{zeros}")), number("1.23"));
        assert_eq!(number(&format!("0.{zeros}123e5001")), number("1.23"));
        // Kept exactly, not rounded: 9007199254740993 has no double of its own.
        assert!(number(&format!("9007199254740993{zeros}e-5000")) > number("9007199254740992"));
    }

    #[test]
    fn ten_megabyte_numeric_strings_are_read() {
        let length = 10 * 1024 * 1024;
        let zeros = repeat('0', length);
        assert_eq!(number(&format!("1{zeros}")), POSITIVE_INFINITY);
        assert_eq!(
            number(&format!("-{}", repeat('9', length))),
            NEGATIVE_INFINITY
        );
        assert_eq!(number(&format!("0.{zeros}1")), Decimal::ZERO);
        assert_eq!(number(&format!("1{zeros}e-{length}")), Decimal::from_i64(1));
        assert_eq!(number(&format!("2.5{zeros}")), number("2.5"));
        assert_eq!(
            number(&format!("{}e-{length}", repeat('7', length))),
            float(0.777_777_777_777_777_8)
        );
        assert_eq!(
            number(&format!("0.{}", repeat('3', length))),
            float(1.0 / 3.0)
        );
        assert_eq!(Decimal::parse(&format!("1{zeros}x")), None);
    }

    #[test]
    fn only_numbers_and_numeric_strings_are_numeric() {
        for value in [
            json!(null),
            json!(true),
            json!(false),
            json!({}),
            json!({"amount": 5}),
            json!([]),
            json!([5]),
            json!("five"),
            json!(""),
            json!(" 5"),
            json!("5 USD"),
            json!("$5"),
        ] {
            assert_eq!(Decimal::from_field(&value), None, "{value}");
        }
        assert_eq!(Decimal::from_field(&json!(5)), Some(Decimal::from_i64(5)));
        assert_eq!(Decimal::from_field(&json!(-5)), Some(Decimal::from_i64(-5)));
        assert_eq!(Decimal::from_field(&json!(5.5)), Some(number("5.5")));
        assert_eq!(Decimal::from_field(&json!("-5.5e0")), Some(number("-5.5")));
    }

    #[test]
    fn debug_output_reads_as_a_number() {
        assert_eq!(format!("{:?}", number("-1250.50")), "Decimal(-1.2505e3)");
        assert_eq!(format!("{:?}", number("0.007")), "Decimal(7e-3)");
        assert_eq!(format!("{:?}", number("-0")), "Decimal(0)");
        assert_eq!(format!("{POSITIVE_INFINITY:?}"), "Decimal(+inf)");
        assert_eq!(format!("{NEGATIVE_INFINITY:?}"), "Decimal(-inf)");
    }

    /// `mantissa × 10^exponent` written in one of several equivalent ways.
    fn written(mantissa: i64, exponent: i32, style: u8, padding: usize) -> String {
        let sign = if mantissa < 0 { "-" } else { "" };
        let digits = mantissa.unsigned_abs().to_string();
        let zeros = repeat('0', padding);
        match style % 3 {
            // `123e-2`, padded as `12300e-4`.
            0 => format!(
                "{sign}{digits}{zeros}e{}",
                i64::from(exponent) - length(padding)
            ),
            // `1.23e0`, padded as `1.2300e0`.
            1 => {
                let (first, rest) = digits.split_at(1);
                let shift = i64::from(exponent) + length(rest.len());
                if rest.is_empty() && zeros.is_empty() {
                    format!("{sign}{first}E{shift:+}")
                } else {
                    format!("{sign}{first}.{rest}{zeros}E{shift:+}")
                }
            }
            // `0.0123e2`.
            _ => {
                let shift = i64::from(exponent) + length(digits.len()) + length(padding);
                format!("{sign}0.{zeros}{digits}e{shift}")
            }
        }
    }

    fn length(count: usize) -> i64 {
        i64::try_from(count).unwrap()
    }

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
        fn order_matches_exact_integer_arithmetic(
            left in (-999_999_999_999_i64..=999_999_999_999, -12_i32..=12, any::<u8>(), 0_usize..4),
            right in (-999_999_999_999_i64..=999_999_999_999, -12_i32..=12, any::<u8>(), 0_usize..4),
        ) {
            // Both values times 10^12 are integers below 10^36, exact in i128.
            let scaled = |(mantissa, exponent, _, _): (i64, i32, u8, usize)| {
                i128::from(mantissa) * 10_i128.pow(u32::try_from(exponent + 12).unwrap())
            };
            let expected = scaled(left).cmp(&scaled(right));
            let left_decimal = number(&written(left.0, left.1, left.2, left.3));
            let right_decimal = number(&written(right.0, right.1, right.2, right.3));
            prop_assert_eq!(left_decimal.cmp(&right_decimal), expected);
            prop_assert_eq!(left_decimal == right_decimal, expected == Ordering::Equal);
        }

        #[test]
        fn every_writing_of_a_value_is_equal(
            mantissa in any::<i64>(), exponent in -900_i32..=900, styles in any::<(u8, u8)>(),
            padding in 0_usize..6,
        ) {
            let first = number(&written(mantissa, exponent, styles.0, 0));
            let second = number(&written(mantissa, exponent, styles.1, padding));
            prop_assert_eq!(&first, &second);
            prop_assert_eq!(first.cmp(&second), Ordering::Equal);
        }

        #[test]
        fn doubles_keep_their_order(left in any::<f64>(), right in any::<f64>()) {
            prop_assume!(left.is_finite() && right.is_finite());
            let expected = left.partial_cmp(&right).unwrap();
            prop_assert_eq!(float(left).cmp(&float(right)), expected);
            prop_assert_eq!(float(left) == float(right), expected == Ordering::Equal);
        }

        #[test]
        fn integers_keep_their_order(left in any::<i64>(), right in any::<i64>()) {
            prop_assert_eq!(Decimal::from_i64(left).cmp(&Decimal::from_i64(right)), left.cmp(&right));
            prop_assert_eq!(number(&left.to_string()), Decimal::from_i64(left));
        }
    }
}
