//! The strict reader of receipts.md §1.4.
//!
//! `serde_json` alone cannot be this reader: it keeps the last of two members with the same name,
//! so a receipt could show one value to a person and hash another. The grammar is RFC 8259's,
//! read by hand so that every refusal has its own error, and the values are exactly those
//! `serde_json::from_slice` would give for the same bytes (integers that fit `u64` or `i64` stay
//! integers, `-0` and everything else become correctly rounded `f64`), so callers can mix the two
//! without surprises.

use std::iter::Peekable;
use std::str::Chars;

use serde_json::{Map, Number, Value};

/// The deepest nesting of arrays and objects accepted. `serde_json` refuses the 128th level, and
/// the same limit here means every document this reader accepts, `serde_json`-based readers (the
/// reference verifier, heso 0.5.1) accept too.
const MAX_DEPTH: usize = 127;

/// Why bytes are not acceptable JSON for a receipt.
///
/// Positions are 1-based; columns count characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The bytes are not UTF-8.
    #[error("not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first byte that is not part of a valid UTF-8 sequence.
        offset: usize,
    },
    /// The bytes start with a UTF-8 byte-order mark.
    #[error("byte-order mark at the start of the input; JSON must be written without one")]
    ByteOrderMark,
    /// The text is not JSON.
    #[error("invalid JSON at line {line} column {column}: {reason}")]
    Syntax {
        /// Line of the offending character.
        line: usize,
        /// Column of the offending character.
        column: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// An object has two members with the same name (after escapes are decoded).
    #[error("duplicate member `{}` at line {line} column {column}", .name.escape_debug())]
    DuplicateMember {
        /// The repeated name.
        name: String,
        /// Line where the second occurrence starts.
        line: usize,
        /// Column where the second occurrence starts.
        column: usize,
    },
    /// A `\u` escape names half of a UTF-16 surrogate pair without the other half.
    #[error("lone UTF-16 surrogate in a string at line {line} column {column}")]
    LoneSurrogate {
        /// Line of the escape.
        line: usize,
        /// Column of the escape's backslash.
        column: usize,
    },
    /// Arrays and objects are nested more than 127 levels deep.
    #[error(
        "nesting deeper than {} levels at line {line} column {column}",
        MAX_DEPTH
    )]
    TooDeep {
        /// Line of the bracket that opens the level too many.
        line: usize,
        /// Column of that bracket.
        column: usize,
    },
    /// A number is too large for a double.
    #[error("number out of range at line {line} column {column}")]
    NumberOutOfRange {
        /// Line where the number starts.
        line: usize,
        /// Column where the number starts.
        column: usize,
    },
}

/// Parses one JSON value from `bytes`, refusing everything receipts.md §1.4 refuses.
///
/// Accepts optional JSON whitespace around the value and nothing else. Object members keep their
/// order in the input.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(JsonError::ByteOrderMark);
    }
    let text = std::str::from_utf8(bytes).map_err(|error| JsonError::NotUtf8 {
        offset: error.valid_up_to(),
    })?;
    let mut reader = Reader::new(text);
    reader.skip_whitespace();
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.peek().is_some() {
        return Err(reader.syntax("trailing characters after the JSON value"));
    }
    Ok(value)
}

/// Where the reader is, for error messages.
#[derive(Debug, Clone, Copy)]
struct Position {
    line: usize,
    column: usize,
}

/// A cursor over the text that knows its line and column.
struct Reader<'a> {
    chars: Peekable<Chars<'a>>,
    here: Position,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            chars: text.chars().peekable(),
            here: Position { line: 1, column: 1 },
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let next = self.chars.next();
        match next {
            Some('\n') => {
                self.here.line += 1;
                self.here.column = 1;
            }
            Some(_) => self.here.column += 1,
            None => {}
        }
        next
    }

    /// Consumes `expected` if it is next.
    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    fn syntax(&self, reason: &'static str) -> JsonError {
        syntax_at(self.here, reason)
    }

    /// Reads one value; `depth` is the number of arrays and objects around it.
    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.peek() {
            Some('{') => self.object(depth + 1),
            Some('[') => self.array(depth + 1),
            Some('"') => self.string().map(Value::String),
            Some('t') => self.literal("true", Value::Bool(true)),
            Some('f') => self.literal("false", Value::Bool(false)),
            Some('n') => self.literal("null", Value::Null),
            Some('-' | '0'..='9') => self.number().map(Value::Number),
            Some(_) => Err(self.syntax("expected a value")),
            None => Err(self.syntax("unexpected end of input; expected a value")),
        }
    }

    fn enter(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep {
                line: self.here.line,
                column: self.here.column,
            });
        }
        self.bump();
        self.skip_whitespace();
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.enter(depth)?;
        let mut members = Map::new();
        if self.eat('}') {
            return Ok(Value::Object(members));
        }
        loop {
            let at = self.here;
            if self.peek() != Some('"') {
                return Err(self.syntax("expected a member name in double quotes"));
            }
            let name = self.string()?;
            if members.contains_key(&name) {
                return Err(JsonError::DuplicateMember {
                    name,
                    line: at.line,
                    column: at.column,
                });
            }
            self.skip_whitespace();
            if !self.eat(':') {
                return Err(self.syntax("expected `:` after the member name"));
            }
            self.skip_whitespace();
            let value = self.value(depth)?;
            members.insert(name, value);
            self.skip_whitespace();
            let separator = self.here;
            match self.bump() {
                Some(',') => self.skip_whitespace(),
                Some('}') => return Ok(Value::Object(members)),
                _ => return Err(syntax_at(separator, "expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.enter(depth)?;
        let mut items = Vec::new();
        if self.eat(']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            let separator = self.here;
            match self.bump() {
                Some(',') => self.skip_whitespace(),
                Some(']') => return Ok(Value::Array(items)),
                _ => return Err(syntax_at(separator, "expected `,` or `]`")),
            }
        }
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, JsonError> {
        let at = self.here;
        for expected in word.chars() {
            if !self.eat(expected) {
                return Err(syntax_at(at, "expected a value"));
            }
        }
        Ok(value)
    }

    /// Reads a string; the next character is its opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.bump();
        let mut text = String::new();
        loop {
            let at = self.here;
            match self.bump() {
                Some('"') => return Ok(text),
                Some('\\') => text.push(self.escape(at)?),
                Some(c) if c < ' ' => {
                    return Err(syntax_at(at, "control character in a string; escape it"));
                }
                Some(c) => text.push(c),
                None => return Err(self.syntax("unexpected end of input inside a string")),
            }
        }
    }

    /// Reads an escape after its backslash, which was at `at`.
    fn escape(&mut self, at: Position) -> Result<char, JsonError> {
        let simple = match self.bump() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => return self.unicode_escape(at),
            _ => return Err(syntax_at(at, "invalid escape in a string")),
        };
        Ok(simple)
    }

    /// Reads the digits of a `\u` escape (and of its low half when it starts a surrogate pair).
    fn unicode_escape(&mut self, at: Position) -> Result<char, JsonError> {
        let lone = JsonError::LoneSurrogate {
            line: at.line,
            column: at.column,
        };
        let first = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !(self.eat('\\') && self.eat('u')) {
                return Err(lone);
            }
            let second = self.hex4(at)?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(lone);
            }
            0x1_0000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        // `from_u32` refuses exactly the surrogate range, so `None` here is a lone low half.
        char::from_u32(code).ok_or(lone)
    }

    fn hex4(&mut self, at: Position) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self.peek().and_then(|c| c.to_digit(16));
            let Some(digit) = digit else {
                return Err(syntax_at(at, "`\\u` must be followed by four hex digits"));
            };
            self.bump();
            code = code * 16 + digit;
        }
        Ok(code)
    }

    /// Reads a number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<Number, JsonError> {
        let at = self.here;
        let mut token = String::new();
        if self.eat('-') {
            token.push('-');
        }
        match self.peek() {
            Some('0') => {
                token.push('0');
                self.bump();
                if matches!(self.peek(), Some('0'..='9')) {
                    return Err(self.syntax("leading zero in a number"));
                }
            }
            Some('1'..='9') => self.digits(&mut token),
            _ => return Err(self.syntax("expected a digit")),
        }
        let mut integer = true;
        if self.eat('.') {
            integer = false;
            token.push('.');
            self.required_digits(&mut token)?;
        }
        if let Some(e @ ('e' | 'E')) = self.peek() {
            integer = false;
            token.push(e);
            self.bump();
            if let Some(sign @ ('+' | '-')) = self.peek() {
                token.push(sign);
                self.bump();
            }
            self.required_digits(&mut token)?;
        }
        if integer {
            if let Some(number) = integer_number(&token) {
                return Ok(number);
            }
        }
        // The grammar above is a subset of what `f64::from_str` reads, and that conversion is
        // correctly rounded, as serde_json's `float_roundtrip` is.
        let double: f64 = token.parse().map_err(|_| syntax_at(at, "invalid number"))?;
        Number::from_f64(double).ok_or(JsonError::NumberOutOfRange {
            line: at.line,
            column: at.column,
        })
    }

    fn digits(&mut self, token: &mut String) {
        while let Some(digit @ '0'..='9') = self.peek() {
            token.push(digit);
            self.bump();
        }
    }

    fn required_digits(&mut self, token: &mut String) -> Result<(), JsonError> {
        if !matches!(self.peek(), Some('0'..='9')) {
            return Err(self.syntax("expected a digit"));
        }
        self.digits(token);
        Ok(())
    }
}

/// An integer token as `serde_json` keeps it: `u64` when non-negative, `i64` when negative, and
/// `None` (read as a double instead) when out of range or `-0`, which only a double can hold.
fn integer_number(token: &str) -> Option<Number> {
    if token.starts_with('-') {
        match token.parse::<i64>() {
            Ok(0) | Err(_) => None,
            Ok(negative) => Some(Number::from(negative)),
        }
    } else {
        token.parse::<u64>().ok().map(Number::from)
    }
}

fn syntax_at(at: Position, reason: &'static str) -> JsonError {
    JsonError::Syntax {
        line: at.line,
        column: at.column,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<Value, JsonError> {
        parse_strict(text.as_bytes())
    }

    fn nested(depth: usize) -> String {
        "[".repeat(depth) + &"]".repeat(depth)
    }

    #[test]
    fn reads_every_kind_of_value_in_input_order() {
        let value = parse(r#" {"z": [1, -2, 3.5, true, false, null], "a": {"s": "x"}} "#).unwrap();
        assert_eq!(
            value,
            json!({"z": [1, -2, 3.5, true, false, null], "a": {"s": "x"}})
        );
        let names: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(names, ["z", "a"]);
    }

    #[test]
    fn duplicate_member_at_top_level_is_refused() {
        let error = parse(r#"{"x": 1, "x": 2}"#).unwrap_err();
        assert_eq!(
            error,
            JsonError::DuplicateMember {
                name: "x".into(),
                line: 1,
                column: 10
            }
        );
        assert_eq!(
            error.to_string(),
            "duplicate member `x` at line 1 column 10"
        );
    }

    #[test]
    fn duplicate_member_inside_an_array_of_objects_is_refused() {
        let text = "{\"list\": [{\"a\": 1}, {\"b\": 1,\n \"b\": {}}]}";
        let error = parse(text).unwrap_err();
        assert_eq!(
            error,
            JsonError::DuplicateMember {
                name: "b".into(),
                line: 2,
                column: 2
            }
        );
    }

    #[test]
    fn duplicate_is_found_after_escapes_are_decoded() {
        let error = parse(r#"{"a": 1, "\u0061": 2}"#).unwrap_err();
        assert!(matches!(error, JsonError::DuplicateMember { ref name, .. } if name == "a"));
    }

    #[test]
    fn same_name_in_different_objects_is_fine() {
        assert!(parse(r#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#).is_ok());
    }

    #[test]
    fn lone_high_surrogate_is_refused() {
        for text in [
            r#""\ud800""#,
            r#""\ud800x""#,
            r#""\uD83D\n""#,
            r#""\ud83d\u0041""#,
            r#""\ud83d\ud83d""#,
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(
                error,
                JsonError::LoneSurrogate { line: 1, column: 2 },
                "{text}"
            );
        }
        assert_eq!(
            parse(r#""\ud800""#).unwrap_err().to_string(),
            "lone UTF-16 surrogate in a string at line 1 column 2"
        );
    }

    #[test]
    fn lone_low_surrogate_is_refused() {
        assert_eq!(
            parse(r#"["ok", "ab\udc00"]"#).unwrap_err(),
            JsonError::LoneSurrogate {
                line: 1,
                column: 11
            }
        );
        assert!(matches!(
            parse(r#"{"\udfff": 1}"#),
            Err(JsonError::LoneSurrogate { .. })
        ));
    }

    #[test]
    fn escaped_surrogate_pair_is_one_character() {
        assert_eq!(parse(r#""\ud83d\ude00""#).unwrap(), json!("\u{1f600}"));
        assert_eq!(parse(r#""\uDBFF\uDFFF""#).unwrap(), json!("\u{10ffff}"));
    }

    #[test]
    fn serde_json_also_refuses_lone_surrogates_into_a_value() {
        // Recorded so that a change in serde_json shows up here; heso does not rely on it.
        assert!(serde_json::from_str::<Value>(r#""\ud800""#).is_err());
        assert!(serde_json::from_str::<Value>(r#""\udc00""#).is_err());
    }

    #[test]
    fn serde_json_keeps_the_last_duplicate_which_is_why_this_reader_exists() {
        let lenient: Value = serde_json::from_str(r#"{"x": 1, "x": 2}"#).unwrap();
        assert_eq!(lenient, json!({"x": 2}));
    }

    #[test]
    fn trailing_garbage_is_refused() {
        for text in ["{} x", "1 2", "[] ]", "\"a\"\"b\"", "nullnull", "{}\u{0}"] {
            let error = parse(text).unwrap_err();
            assert!(
                matches!(error, JsonError::Syntax { reason, .. } if reason.starts_with("trailing")),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn byte_order_mark_is_refused() {
        assert_eq!(
            parse_strict(b"\xEF\xBB\xBF{}").unwrap_err(),
            JsonError::ByteOrderMark
        );
        // Anywhere but the start it is just a character: fine inside a string, not outside.
        assert_eq!(parse("\"\u{feff}\"").unwrap(), json!("\u{feff}"));
        assert!(parse("{}\u{feff}").is_err());
    }

    #[test]
    fn invalid_utf8_is_refused() {
        for (bytes, offset) in [
            (&b"\"\xff\""[..], 1),
            (b"{\"a\": \"\xC0\x80\"}", 7),
            (b"\"\xED\xA0\x80\"", 1),
            (b"\"\xE2\x82\"", 1),
            (b"[1]\x80", 3),
        ] {
            assert_eq!(
                parse_strict(bytes).unwrap_err(),
                JsonError::NotUtf8 { offset },
                "{bytes:?}"
            );
        }
        assert_eq!(
            parse_strict(b"\xff").unwrap_err().to_string(),
            "not valid UTF-8 (first bad byte at offset 0)"
        );
    }

    #[test]
    fn nesting_is_limited_like_serde_json() {
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(MAX_DEPTH)).is_ok());
        assert!(serde_json::from_str::<Value>(&nested(MAX_DEPTH + 1)).is_err());
        assert_eq!(
            parse(&nested(MAX_DEPTH + 1)).unwrap_err(),
            JsonError::TooDeep {
                line: 1,
                column: 128
            }
        );
        let error = parse(&nested(200)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "nesting deeper than 127 levels at line 1 column 128"
        );
        let objects = "{\"a\":".repeat(200) + "1" + &"}".repeat(200);
        assert!(matches!(parse(&objects), Err(JsonError::TooDeep { .. })));
    }

    #[test]
    fn deep_but_wide_documents_are_fine() {
        let wide = format!("[{}]", vec![nested(100); 50].join(","));
        assert!(parse(&wide).is_ok());
    }

    #[test]
    fn numbers_keep_integers_as_integers() {
        assert!(parse("0").unwrap().is_u64());
        assert!(parse("18446744073709551615").unwrap().is_u64());
        assert!(parse("-9223372036854775808").unwrap().is_i64());
        assert!(parse("18446744073709551616").unwrap().is_f64());
        assert!(parse("-9223372036854775809").unwrap().is_f64());
        assert!(parse("1.0").unwrap().is_f64());
        assert!(parse("1e2").unwrap().is_f64());
        let minus_zero = parse("-0").unwrap().as_f64().unwrap();
        assert_eq!(minus_zero.to_bits(), (-0.0_f64).to_bits());
        assert_eq!(parse("1e-400").unwrap(), json!(0.0));
    }

    #[test]
    fn doubles_are_correctly_rounded() {
        let bits = |text: &str| parse(text).unwrap().as_f64().unwrap().to_bits();
        assert_eq!(bits("0.30000000000000004"), (0.1_f64 + 0.2).to_bits());
        // The largest subnormal, a classic hard case for naive decimal conversion.
        assert_eq!(bits("2.2250738585072011e-308"), 0x000F_FFFF_FFFF_FFFF);
        // Halfway between two doubles: ties go to the even one.
        assert_eq!(
            bits("9007199254740993.0"),
            (9_007_199_254_740_992_f64).to_bits()
        );
        assert_eq!(
            bits("9007199254740995.0"),
            (9_007_199_254_740_996_f64).to_bits()
        );
    }

    #[test]
    fn numbers_too_large_for_a_double_are_refused() {
        assert_eq!(
            parse("[1, -1e400]").unwrap_err(),
            JsonError::NumberOutOfRange { line: 1, column: 5 }
        );
        assert!(matches!(
            parse(&"9".repeat(400)),
            Err(JsonError::NumberOutOfRange { .. })
        ));
    }

    #[test]
    fn malformed_text_is_refused_with_a_position() {
        let cases = [
            ("", 1, 1, "unexpected end of input; expected a value"),
            ("   ", 1, 4, "unexpected end of input; expected a value"),
            ("[1,]", 1, 4, "expected a value"),
            (
                "{\"a\":1,}",
                1,
                8,
                "expected a member name in double quotes",
            ),
            ("{'a':1}", 1, 2, "expected a member name in double quotes"),
            ("{\"a\" 1}", 1, 6, "expected `:` after the member name"),
            ("[1 2]", 1, 4, "expected `,` or `]`"),
            ("{\"a\":1 \"b\":2}", 1, 8, "expected `,` or `}`"),
            ("[1", 1, 3, "expected `,` or `]`"),
            ("01", 1, 2, "leading zero in a number"),
            ("-", 1, 2, "expected a digit"),
            ("1.", 1, 3, "expected a digit"),
            (".5", 1, 1, "expected a value"),
            ("+1", 1, 1, "expected a value"),
            ("1e", 1, 3, "expected a digit"),
            ("NaN", 1, 1, "expected a value"),
            ("Infinity", 1, 1, "expected a value"),
            ("tru", 1, 1, "expected a value"),
            ("nul", 1, 1, "expected a value"),
            ("\"a\tb\"", 1, 3, "control character in a string; escape it"),
            ("\"abc", 1, 5, "unexpected end of input inside a string"),
            ("\"\\x\"", 1, 2, "invalid escape in a string"),
            (
                "\"\\u12g4\"",
                1,
                2,
                "`\\u` must be followed by four hex digits",
            ),
            ("[1] // c", 1, 5, "trailing characters after the JSON value"),
            ("\u{a0}1", 1, 1, "expected a value"),
            ("\u{c}1", 1, 1, "expected a value"),
            ("\n\n  x", 3, 3, "expected a value"),
        ];
        for (text, line, column, reason) in cases {
            assert_eq!(
                parse(text).unwrap_err(),
                JsonError::Syntax {
                    line,
                    column,
                    reason
                },
                "{text:?}"
            );
        }
    }

    #[test]
    fn syntax_error_reads_as_one_line() {
        let message = parse("[1 2]").unwrap_err().to_string();
        assert_eq!(
            message,
            "invalid JSON at line 1 column 4: expected `,` or `]`"
        );
    }

    #[test]
    fn duplicate_name_with_control_characters_stays_on_one_line() {
        let message = parse("{\"a\\nb\": 1, \"a\\nb\": 2}")
            .unwrap_err()
            .to_string();
        assert_eq!(message, "duplicate member `a\\nb` at line 1 column 13");
    }

    #[test]
    fn escapes_decode_to_their_characters() {
        assert_eq!(
            parse(r#""\" \\ \/ \b \f \n \r \t \u00e9 \u20AC""#).unwrap(),
            json!("\" \\ / \u{8} \u{c} \n \r \t é €")
        );
    }

    #[test]
    fn agrees_with_serde_json_on_what_both_accept() {
        let documents = [
            r#"{"a":[1,2.5,-3,1e300,-0,0.0,-0.0,18446744073709551615,18446744073709551616]}"#,
            "[-9223372036854775808,-9223372036854775809,123456789012345678901234567890]",
            r#"{"s":"\u00e9\ud83d\ude00\u2028","t":true,"f":false,"n":null,"o":{}}"#,
            "  [ 1 , { \"x\" : [ ] } ]\r\n",
        ];
        for text in documents {
            let ours = parse(text).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }
}
