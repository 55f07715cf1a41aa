//! The glob language of the `matches` operator (policy.md §6.3.5): compiled once when the policy
//! loads, then matched against many field values.
//!
//! A pattern matches the **entire** string, case-sensitively, one Unicode scalar value at a time.
//!
//! | Syntax | Matches |
//! |---|---|
//! | `*` | any run of characters, possibly empty, without `/` |
//! | `?` | exactly one character other than `/` |
//! | `**/` (a whole segment) | zero or more whole segments: nothing, or any run that ends in `/` |
//! | `/**` at the end | one or more characters of any kind, `/` included |
//! | `**` as the whole pattern | every string, the empty one included |
//! | `[abc]`, `[a-z]`, `[!a-z]` | one character from (with `!`, not from) the set; never `/` |
//! | `\c` | the character `c`, one of `*`, `?`, `[`, `]`, `{`, `}`, `\` |
//!
//! The specification leaves some points open; this module settles them as follows.
//!
//! * **`**` and the empty rest.** `x/**` matches everything *below* `x/` and so needs at least one
//!   character after the `/`: it matches neither `x` nor `x/`, which both name `x` itself. A
//!   pattern that is only `**` matches every string, the empty one included, so that a `block`
//!   rule written with it catches everything. `**/` matches zero segments too, so `**/*.csv`
//!   matches `a.csv` as well as `x/y/a.csv` and `/data/a.csv`.
//! * **Classes.** `]` always closes a class; write `\]` for a literal `]` inside one. `-` is a
//!   range between two characters and literal when first or last (`[-a]`, `[a-]`); `!` negates
//!   only in first place. `[]` and `[!]` name no character and are errors, as are a range whose
//!   start comes after its end (`[z-a]`) and a `/` written in a class (a class never matches `/`,
//!   so the `/` could only be a mistake). A range that spans `/`, such as `[+-0]`, is accepted and
//!   still never matches `/`.
//! * **Escapes.** Only the seven characters above may follow `\`, inside classes too. Any other
//!   escape is an error rather than the character itself, so that a Windows path such as
//!   `C:\temp\*` is refused instead of silently meaning `C:temp*`.
//! * **Reserved and stray characters.** An unescaped `{` or `}` anywhere, and a `]` that closes no
//!   class, are errors.
//!
//! Matching simulates a small automaton over the pattern, one step per character of the text,
//! without backtracking: it takes O(n·m) time for a text of n characters and a pattern of m
//! elements, whatever the pattern, so `*a*a*a*a*a*a*b` against a long run of `a` stays linear.

use std::str::Chars;

/// The characters that `\` may escape.
const ESCAPABLE: [char; 7] = ['*', '?', '[', ']', '{', '}', '\\'];

/// Patterns with fewer automaton states than this are matched without allocating.
const INLINE_STATES: usize = 32;

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern as written in the policy.
    pattern: String,
    /// The automaton; the state after the last one accepts.
    states: Vec<State>,
    /// Whether the pattern has a literal character other than `/` (policy.md §8).
    has_literal: bool,
}

/// One state of the automaton.
///
/// INVARIANT: every move that consumes no character goes forward (to the next state or to a later
/// `skip_to`), which lets [`Glob::close`] find all of them in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Consumes one character that passes the test, then moves to the next state.
    One(CharTest),
    /// Consumes any number of characters that pass the test; may move to the next state at any
    /// point without consuming.
    Many(CharTest),
    /// Moves, without consuming, to the next state or to the state at `skip_to`.
    Fork {
        /// The state reached by skipping the states in between.
        skip_to: usize,
    },
}

/// Which characters a state consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CharTest {
    /// Exactly this character.
    Is(char),
    /// Any character except `/`.
    NotSlash,
    /// Any character.
    Any,
    /// A bracket class.
    Class(Class),
}

/// A bracket class such as `[a-z]` or `[!abc]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    /// Written with a leading `!`.
    negated: bool,
    /// Inclusive ranges; a single character `c` is the range `(c, c)`. Never empty.
    ranges: Vec<(char, char)>,
}

impl CharTest {
    fn accepts(&self, c: char) -> bool {
        match self {
            CharTest::Is(expected) => c == *expected,
            CharTest::NotSlash => c != '/',
            CharTest::Any => true,
            CharTest::Class(class) => {
                c != '/'
                    && class
                        .ranges
                        .iter()
                        .any(|&(low, high)| (low..=high).contains(&c))
                        != class.negated
            }
        }
    }
}

/// Why a pattern is not a glob: a load error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// `**` shares its path segment with other characters, as in `a**` or `**a`.
    #[error(
        "`{}` is not a valid glob: `**` must be a whole path segment; use `*` to match within a segment",
        shown(.pattern)
    )]
    DoubleStarInSegment {
        /// The pattern as written.
        pattern: String,
    },
    /// An unescaped `{` or `}`, reserved for a later version of the language.
    #[error(
        "`{}` is not a valid glob: `{brace}` is reserved; write `\\{brace}` to match it literally",
        shown(.pattern)
    )]
    Reserved {
        /// The pattern as written.
        pattern: String,
        /// The brace found.
        brace: char,
    },
    /// A `[` whose class is never closed.
    #[error(
        "`{}` is not a valid glob: a class opened with `[` is never closed; add `]`, or write `\\[` to match `[` literally",
        shown(.pattern)
    )]
    UnclosedClass {
        /// The pattern as written.
        pattern: String,
    },
    /// A `]` that closes no class.
    #[error(
        "`{}` is not a valid glob: `]` closes no class; write `\\]` to match it literally",
        shown(.pattern)
    )]
    UnopenedClass {
        /// The pattern as written.
        pattern: String,
    },
    /// `[]` or `[!]`: a class that lists no character.
    #[error(
        "`{}` is not a valid glob: a class must list at least one character; write `\\[` and `\\]` to match brackets literally",
        shown(.pattern)
    )]
    EmptyClass {
        /// The pattern as written.
        pattern: String,
    },
    /// A `/` written in a class, which never matches `/`.
    #[error(
        "`{}` is not a valid glob: a class never matches `/`, so `/` cannot appear in one",
        shown(.pattern)
    )]
    SlashInClass {
        /// The pattern as written.
        pattern: String,
    },
    /// A range whose start comes after its end, such as `z-a`.
    #[error(
        "`{}` is not a valid glob: the range `{}-{}` is empty; write `{}-{}`",
        shown(.pattern),
        shown_char(*.start),
        shown_char(*.end),
        shown_char(*.end),
        shown_char(*.start)
    )]
    ReversedRange {
        /// The pattern as written.
        pattern: String,
        /// The first character of the range.
        start: char,
        /// The last character of the range.
        end: char,
    },
    /// `\` followed by a character that cannot be escaped.
    #[error(
        "`{}` is not a valid glob: `\\{}` is not an escape; only `*`, `?`, `[`, `]`, `{{`, `}}` and `\\` can follow `\\`",
        shown(.pattern),
        shown_char(*.escaped)
    )]
    UnknownEscape {
        /// The pattern as written.
        pattern: String,
        /// The character after the `\`.
        escaped: char,
    },
    /// The pattern ends with a `\` that escapes nothing.
    #[error(
        "`{}` is not a valid glob: it ends with a lone `\\`; write `\\\\` to match `\\` literally",
        shown(.pattern)
    )]
    TrailingBackslash {
        /// The pattern as written.
        pattern: String,
    },
}

/// `text` with control characters and line separators escaped, so that an error message stays on
/// one line whatever the pattern holds.
fn shown(text: &str) -> String {
    text.chars().map(shown_char).collect()
}

/// One character as [`shown`] writes it.
fn shown_char(c: char) -> String {
    if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
        c.escape_default().collect()
    } else {
        c.to_string()
    }
}

impl Glob {
    /// Compiles `pattern`, or says why it is not a glob.
    pub fn compile(pattern: &str) -> Result<Glob, GlobError> {
        let mut rest = pattern.chars();
        let mut states = Vec::new();
        let mut has_literal = false;
        // Whether the next character starts a path segment: at the start or right after a `/`.
        let mut at_segment_start = true;
        while let Some(c) = rest.next() {
            let state = match c {
                '*' if rest.clone().next() == Some('*') => {
                    rest.next();
                    let after = rest.clone().next();
                    if !at_segment_start || after.is_some_and(|next| next != '/') {
                        return Err(GlobError::DoubleStarInSegment {
                            pattern: pattern.to_owned(),
                        });
                    }
                    if after.is_some() {
                        // `**/` is nothing, or any run of characters that ends in `/`.
                        rest.next();
                        let skip_to = states.len() + 3;
                        states.extend([
                            State::Fork { skip_to },
                            State::Many(CharTest::Any),
                            State::One(CharTest::Is('/')),
                        ]);
                        at_segment_start = true;
                    } else if states.is_empty() {
                        // The pattern is exactly `**`: every string.
                        states.push(State::Many(CharTest::Any));
                    } else {
                        // A final `/**` needs something below the `/`.
                        states.extend([State::One(CharTest::Any), State::Many(CharTest::Any)]);
                    }
                    continue;
                }
                '*' => State::Many(CharTest::NotSlash),
                '?' => State::One(CharTest::NotSlash),
                '[' => State::One(CharTest::Class(compile_class(pattern, &mut rest)?)),
                ']' => {
                    return Err(GlobError::UnopenedClass {
                        pattern: pattern.to_owned(),
                    })
                }
                '{' | '}' => {
                    return Err(GlobError::Reserved {
                        pattern: pattern.to_owned(),
                        brace: c,
                    })
                }
                '\\' => {
                    has_literal = true;
                    State::One(CharTest::Is(compile_escape(pattern, &mut rest)?))
                }
                literal => {
                    has_literal |= literal != '/';
                    State::One(CharTest::Is(literal))
                }
            };
            states.push(state);
            at_segment_start = c == '/';
        }
        Ok(Glob {
            pattern: pattern.to_owned(),
            states,
            has_literal,
        })
    }

    /// Whether `text`, as a whole, matches the pattern.
    pub fn matches(&self, text: &str) -> bool {
        let size = self.states.len() + 1;
        let mut inline = [false; 2 * INLINE_STATES];
        let mut heap = Vec::new();
        let buffer = if let Some(buffer) = inline.get_mut(..2 * size) {
            buffer
        } else {
            heap.resize(2 * size, false);
            heap.as_mut_slice()
        };
        let (mut current, mut next) = buffer.split_at_mut(size);
        if let Some(start) = current.first_mut() {
            *start = true;
        }
        self.close(current);
        for c in text.chars() {
            if !self.step(current, next, c) {
                return false;
            }
            self.close(next);
            std::mem::swap(&mut current, &mut next);
        }
        current.last() == Some(&true)
    }

    /// Whether the pattern has at least one literal character other than `/`, escaped ones
    /// included. A pattern without one (only `*`, `**`, `?`, `/` and classes) does not narrow a
    /// rule (policy.md §8). A class is not a literal: it admits a set of characters, and a
    /// negated one nearly any, so `[a-z]*` does not narrow either.
    pub fn has_literal(&self) -> bool {
        self.has_literal
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Marks in `next` the states reached from the `current` ones by consuming `c`; false when
    /// there are none.
    fn step(&self, current: &[bool], next: &mut [bool], c: char) -> bool {
        next.fill(false);
        let mut alive = false;
        for (index, (state, &active)) in self.states.iter().zip(current).enumerate() {
            if !active {
                continue;
            }
            let target = match state {
                State::One(test) if test.accepts(c) => index + 1,
                State::Many(test) if test.accepts(c) => index,
                _ => continue,
            };
            if let Some(slot) = next.get_mut(target) {
                *slot = true;
                alive = true;
            }
        }
        alive
    }

    /// Adds to `active` every state reachable from it without consuming a character.
    fn close(&self, active: &mut [bool]) {
        // One pass in index order suffices because all such moves go forward (see `State`).
        for (index, state) in self.states.iter().enumerate() {
            if active.get(index) != Some(&true) {
                continue;
            }
            let skip_to = match state {
                State::One(_) => continue,
                State::Many(_) => None,
                State::Fork { skip_to } => Some(*skip_to),
            };
            for target in std::iter::once(index + 1).chain(skip_to) {
                if let Some(slot) = active.get_mut(target) {
                    *slot = true;
                }
            }
        }
    }
}

/// Compiles a class whose `[` has just been read, consuming up to and including its `]`.
fn compile_class(pattern: &str, rest: &mut Chars<'_>) -> Result<Class, GlobError> {
    let negated = rest.clone().next() == Some('!');
    if negated {
        rest.next();
    }
    let mut ranges = Vec::new();
    loop {
        let start = match rest.next() {
            None => {
                return Err(GlobError::UnclosedClass {
                    pattern: pattern.to_owned(),
                })
            }
            Some(']') => break,
            Some(c) => class_member(pattern, c, rest)?,
        };
        // `-` makes a range only between two members: before `]` or at the end it is literal.
        let mut ahead = rest.clone();
        let end = match (ahead.next(), ahead.next()) {
            (Some('-'), Some(c)) if c != ']' => {
                *rest = ahead;
                class_member(pattern, c, rest)?
            }
            _ => start,
        };
        if end < start {
            return Err(GlobError::ReversedRange {
                pattern: pattern.to_owned(),
                start,
                end,
            });
        }
        ranges.push((start, end));
    }
    if ranges.is_empty() {
        return Err(GlobError::EmptyClass {
            pattern: pattern.to_owned(),
        });
    }
    Ok(Class { negated, ranges })
}

/// The character a class member `c` stands for, reading its escape from `rest` when `c` is `\`.
fn class_member(pattern: &str, c: char, rest: &mut Chars<'_>) -> Result<char, GlobError> {
    match c {
        '\\' => compile_escape(pattern, rest),
        '/' => Err(GlobError::SlashInClass {
            pattern: pattern.to_owned(),
        }),
        '{' | '}' => Err(GlobError::Reserved {
            pattern: pattern.to_owned(),
            brace: c,
        }),
        member => Ok(member),
    }
}

/// The character escaped by a `\` that has just been read.
fn compile_escape(pattern: &str, rest: &mut Chars<'_>) -> Result<char, GlobError> {
    match rest.next() {
        None => Err(GlobError::TrailingBackslash {
            pattern: pattern.to_owned(),
        }),
        Some(c) if ESCAPABLE.contains(&c) => Ok(c),
        Some(escaped) => Err(GlobError::UnknownEscape {
            pattern: pattern.to_owned(),
            escaped,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn glob(pattern: &str) -> Glob {
        Glob::compile(pattern).unwrap_or_else(|error| panic!("{pattern:?}: {error}"))
    }

    /// Asserts that `pattern` matches every string of `yes` and none of `no`.
    fn check(pattern: &str, yes: &[&str], no: &[&str]) {
        let glob = glob(pattern);
        for text in yes {
            assert!(glob.matches(text), "{pattern:?} should match {text:?}");
        }
        for text in no {
            assert!(!glob.matches(text), "{pattern:?} should not match {text:?}");
        }
    }

    fn error(pattern: &str) -> GlobError {
        match Glob::compile(pattern) {
            Ok(glob) => panic!("{pattern:?} compiled to {glob:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn spec_examples_table() {
        // policy.md §6.3.5, every row verbatim.
        check(
            "/tmp/*",
            &["/tmp/a.txt"],
            &["/tmp/a/b.txt", "/tmp", "/tmpx/a"],
        );
        check("/tmp/**", &["/tmp/a", "/tmp/a/b"], &["/tmp"]);
        check("**/*.csv", &["a.csv", "x/y/a.csv"], &["a.csv.gz"]);
        check("report-????.pdf", &["report-2026.pdf"], &["report-26.pdf"]);
        check(
            "*@example.com",
            &["ana@example.com"],
            &["ana@example.com.evil.net"],
        );
        check("tmp", &["tmp"], &["a/tmp/b", "tmpfile"]);
    }

    #[test]
    fn spec_prose_examples() {
        // policy.md §6.3.5: "`a/**/b` matches `a/b` and `a/x/y/b`; `x/**` matches everything
        // below `x/` but not `x` itself"; "`matches "tmp"` matches only the string `tmp`".
        check("a/**/b", &["a/b", "a/x/y/b"], &[]);
        check("x/**", &["x/a", "x/a/b", "x/a/"], &["x"]);
        check("tmp", &["tmp"], &["", "tm", "tmpp", "/tmp", "tmp/", "TMP"]);
    }

    #[test]
    fn star_is_any_run_within_one_segment() {
        check("*", &["", "a", "abc", "a.b", "*"], &["/", "a/b", "/a"]);
        check(
            "a*b",
            &["ab", "axb", "axyzb", "abab"],
            &["a/b", "ax/yb", "axb/", "ba"],
        );
        check("*.*", &["a.b", ".", "a.b.c"], &["ab", "a/.b"]);
        check("a/*/c", &["a//c", "a/b/c"], &["a/c", "a/b/b/c"]);
    }

    #[test]
    fn question_mark_is_exactly_one_character_other_than_slash() {
        check("?", &["a", ".", "*"], &["", "ab", "/"]);
        check("a?c", &["abc", "a?c"], &["ac", "abbc", "a/c"]);
    }

    #[test]
    fn lone_double_star_matches_every_string() {
        check("**", &["", "a", "/", "a/b/c", "/a/", "//"], &[]);
    }

    #[test]
    fn leading_double_star_matches_zero_or_more_segments() {
        check(
            "**/x",
            &["x", "a/x", "a/b/x", "/x", "//x"],
            &["ax", "a/ax", "x/a", "x/", ""],
        );
    }

    #[test]
    fn trailing_double_star_needs_something_below_the_slash() {
        check(
            "x/**",
            &["x/a", "x/a/b", "x//", "x/.hidden"],
            &["x", "x/", "xa", "xa/b", "y/x/a"],
        );
        check("/**", &["/a", "/a/b"], &["/", "", "a"]);
    }

    #[test]
    fn inner_double_star_matches_whole_segments_only() {
        check(
            "x/**/y",
            &["x/y", "x/a/y", "x/a/b/y", "x//y"],
            &["xy", "x/ay", "x/a/by", "x/y/", "x/a/y/b"],
        );
        check("a/**/b", &[], &["ab", "a/xb", "ax/b", "a/b/c"]);
    }

    #[test]
    fn double_star_segments_combine() {
        check("**/**", &["a", "a/b", "/"], &[""]);
        check("a/**/**/b", &["a/b", "a/x/b", "a/x/y/b"], &["ab", "a/xb"]);
        check("**/", &["", "a/", "a/b/"], &["a", "a/b"]);
        check(
            "a/**/*.csv",
            &["a/x.csv", "a/b/c/x.csv"],
            &["x.csv", "a/b/x.csv.gz"],
        );
    }

    #[test]
    fn classes_match_one_character_from_the_set() {
        check("[abc]", &["a", "b", "c"], &["", "d", "ab", "A", "/"]);
        check("[a-z]", &["a", "m", "z"], &["A", "0", "/", "é"]);
        check("[!a-z]", &["A", "0", "é", "-"], &["a", "m", "z", "/", ""]);
        check("[a-cx-z]", &["b", "y"], &["m"]);
        check("file[0-9].txt", &["file7.txt"], &["file.txt", "file10.txt"]);
    }

    #[test]
    fn classes_never_match_slash() {
        // `+` (U+002B) to `0` (U+0030) spans `/` (U+002F).
        check("[+-0]", &["+", ",", "-", ".", "0"], &["/"]);
        check("[!a]", &["b"], &["a", "/"]);
    }

    #[test]
    fn class_edge_characters() {
        check("[-a]", &["-", "a"], &["b"]);
        check("[a-]", &["-", "a"], &["b"]);
        check("[!-]", &["a"], &["-"]);
        check("[!!]", &["a"], &["!"]);
        check("[a!]", &["!", "a"], &["b"]);
        check("[\\]]", &["]"], &["\\", "["]);
        check("[[]", &["["], &["]"]);
        check("[\\\\]", &["\\"], &["]"]);
        check("[*?]", &["*", "?"], &["a"]);
        check("[\\{\\}]", &["{", "}"], &["a"]);
        check("[a-a]", &["a"], &["b"]);
    }

    #[test]
    fn escapes_match_the_character_itself() {
        check("\\*", &["*"], &["", "a", "**", "\\*"]);
        check("\\?", &["?"], &["a"]);
        check("\\[a\\]", &["[a]"], &["a"]);
        check("\\]", &["]"], &[]);
        check("\\{a,b\\}", &["{a,b}"], &["a", "b"]);
        check("\\\\", &["\\"], &["\\\\", ""]);
        check("a\\*b*", &["a*b", "a*bc"], &["ab", "axb"]);
        check("\\*\\*", &["**"], &["a"]);
    }

    #[test]
    fn unicode_scalar_values_not_bytes() {
        check("?", &["é", "😀", "ß"], &["e\u{301}"]);
        check("??", &["e\u{301}"], &["😀"]);
        check("caf?", &["café", "cafe"], &["caf"]);
        check("[à-å]", &["à", "ä", "å"], &["a", "æ"]);
        check("*😀*", &["a😀b", "😀"], &["a"]);
        check("Ünïcödé", &["Ünïcödé"], &["ünïcödé", "Unicode"]);
    }

    #[test]
    fn matching_is_case_sensitive() {
        check("*.CSV", &["a.CSV"], &["a.csv"]);
        check("[A-Z]", &["Q"], &["q"]);
    }

    #[test]
    fn empty_pattern_matches_only_the_empty_string() {
        check("", &[""], &["a", "/"]);
    }

    #[test]
    fn double_star_inside_a_segment_is_an_error() {
        for pattern in [
            "a**", "**a", "***", "a/**b", "a**/b", "x/a**", "\\***", "**\\*",
        ] {
            assert_eq!(
                error(pattern),
                GlobError::DoubleStarInSegment {
                    pattern: pattern.into()
                },
                "{pattern:?}"
            );
        }
        assert_eq!(
            error("a**").to_string(),
            "`a**` is not a valid glob: `**` must be a whole path segment; use `*` to match \
             within a segment"
        );
    }

    #[test]
    fn braces_are_reserved() {
        assert_eq!(
            error("{a,b}"),
            GlobError::Reserved {
                pattern: "{a,b}".into(),
                brace: '{'
            }
        );
        assert_eq!(
            error("a}").to_string(),
            "`a}` is not a valid glob: `}` is reserved; write `\\}` to match it literally"
        );
        assert_eq!(
            error("[{]"),
            GlobError::Reserved {
                pattern: "[{]".into(),
                brace: '{'
            }
        );
        assert_eq!(
            error("{a,b}").to_string(),
            "`{a,b}` is not a valid glob: `{` is reserved; write `\\{` to match it literally"
        );
    }

    #[test]
    fn unclosed_class_is_an_error() {
        for pattern in ["[abc", "[", "[!", "[a-", "a[\\]", "[a-z"] {
            assert_eq!(
                error(pattern),
                GlobError::UnclosedClass {
                    pattern: pattern.into()
                },
                "{pattern:?}"
            );
        }
        assert_eq!(
            error("[abc").to_string(),
            "`[abc` is not a valid glob: a class opened with `[` is never closed; add `]`, or \
             write `\\[` to match `[` literally"
        );
    }

    #[test]
    fn stray_closing_bracket_is_an_error() {
        assert_eq!(
            error("a]"),
            GlobError::UnopenedClass {
                pattern: "a]".into()
            }
        );
        // A POSIX named class is not supported: its second `]` closes nothing.
        assert_eq!(
            error("[[:digit:]]"),
            GlobError::UnopenedClass {
                pattern: "[[:digit:]]".into()
            }
        );
        assert_eq!(
            error("a]").to_string(),
            "`a]` is not a valid glob: `]` closes no class; write `\\]` to match it literally"
        );
    }

    #[test]
    fn empty_class_is_an_error() {
        for pattern in ["[]", "[!]", "a[]b", "[]a]"] {
            assert_eq!(
                error(pattern),
                GlobError::EmptyClass {
                    pattern: pattern.into()
                },
                "{pattern:?}"
            );
        }
        assert_eq!(
            error("[]").to_string(),
            "`[]` is not a valid glob: a class must list at least one character; write `\\[` \
             and `\\]` to match brackets literally"
        );
    }

    #[test]
    fn slash_in_class_is_an_error() {
        for pattern in ["[/]", "[a/b]", "[!/]", "[/-9]", "[+-/]"] {
            assert_eq!(
                error(pattern),
                GlobError::SlashInClass {
                    pattern: pattern.into()
                },
                "{pattern:?}"
            );
        }
        assert_eq!(
            error("[a/b]").to_string(),
            "`[a/b]` is not a valid glob: a class never matches `/`, so `/` cannot appear in one"
        );
    }

    #[test]
    fn reversed_range_is_an_error() {
        assert_eq!(
            error("[z-a]"),
            GlobError::ReversedRange {
                pattern: "[z-a]".into(),
                start: 'z',
                end: 'a'
            }
        );
        assert_eq!(
            error("[z-a]").to_string(),
            "`[z-a]` is not a valid glob: the range `z-a` is empty; write `a-z`"
        );
    }

    #[test]
    fn trailing_backslash_is_an_error() {
        for pattern in ["\\", "a\\", "a\\\\\\"] {
            assert_eq!(
                error(pattern),
                GlobError::TrailingBackslash {
                    pattern: pattern.into()
                },
                "{pattern:?}"
            );
        }
        assert_eq!(
            error("a\\").to_string(),
            "`a\\` is not a valid glob: it ends with a lone `\\`; write `\\\\` to match `\\` \
             literally"
        );
        // A trailing `\` inside an unclosed class is reported as the backslash it is.
        assert_eq!(
            error("[a\\"),
            GlobError::TrailingBackslash {
                pattern: "[a\\".into()
            }
        );
    }

    #[test]
    fn unknown_escape_is_an_error() {
        for (pattern, escaped) in [
            ("C:\\temp\\*", 't'),
            ("\\a", 'a'),
            ("a\\/b", '/'),
            ("[\\-]", '-'),
        ] {
            assert_eq!(
                error(pattern),
                GlobError::UnknownEscape {
                    pattern: pattern.into(),
                    escaped
                },
                "{pattern:?}"
            );
        }
        assert_eq!(
            error("C:\\temp\\*").to_string(),
            "`C:\\temp\\*` is not a valid glob: `\\t` is not an escape; only `*`, `?`, `[`, `]`, \
             `{`, `}` and `\\` can follow `\\`"
        );
    }

    #[test]
    fn error_messages_stay_on_one_line() {
        let message = error("a\n{\u{2028}").to_string();
        assert_eq!(
            message,
            "`a\\n{\\u{2028}` is not a valid glob: `{` is reserved; write `\\{` to match it \
             literally"
        );
        let message = error("\\\n").to_string();
        assert!(message.starts_with("`\\\\n` is not a valid glob: `\\\\n` is not an escape"));
        assert!(!error("[\u{7f}-\u{1}]")
            .to_string()
            .contains(['\u{7f}', '\u{1}']));
        for message in [
            error("a**").to_string(),
            error("[").to_string(),
            error("]").to_string(),
            error("[]").to_string(),
            error("[/]").to_string(),
            error("[b-a]").to_string(),
            error("\\x").to_string(),
            error("\\").to_string(),
            error("}").to_string(),
        ] {
            assert!(!message.contains('\n'), "{message}");
            assert!(!message.ends_with('.'), "{message}");
            assert!(message.starts_with('`'), "{message}");
        }
    }

    #[test]
    fn has_literal_means_a_character_other_than_slash() {
        for (pattern, expected) in [
            ("*", false),
            ("**", false),
            ("?/*", false),
            ("**/*", false),
            ("/", false),
            ("/**/?", false),
            ("", false),
            ("[a-z]*", false),
            ("[!x]", false),
            ("**/*.csv", true),
            ("/tmp/*", true),
            ("tmp", true),
            ("\\*", true),
            ("\\\\", true),
            ("?a", true),
        ] {
            assert_eq!(glob(pattern).has_literal(), expected, "{pattern:?}");
        }
    }

    #[test]
    fn pattern_is_kept_as_written() {
        for pattern in ["**/*.csv", "\\*[!a-c]?", "", "a/**/b"] {
            assert_eq!(glob(pattern).pattern(), pattern);
        }
        assert_eq!(glob("a*"), glob("a*"));
        assert_ne!(glob("a*"), glob("a?"));
    }

    #[test]
    fn pathological_patterns_finish_in_linear_time() {
        // A backtracking matcher takes time exponential in the number of stars here.
        let text = "a".repeat(10_000);
        let stars = glob("*a*a*a*a*a*a*b");
        assert!(!stars.matches(&text));
        assert!(stars.matches(&format!("{text}b")));

        let path = "a/".repeat(5_000);
        let segments = glob(&format!("{}b", "**/".repeat(20)));
        assert!(!segments.matches(&path));
        assert!(segments.matches(&format!("{path}b")));

        let mixed = glob("**/*a*a*a*/**/*a*a*b/**");
        assert!(!mixed.matches(&path));
        assert!(mixed.matches(&format!("{path}xaaa/yaab/c")));
    }

    #[test]
    fn long_patterns_match_like_short_ones() {
        // More states than fit inline, so the matcher allocates its state sets.
        let long = format!("{}*", "?".repeat(INLINE_STATES * 2));
        let glob = glob(&long);
        assert!(glob.states.len() >= INLINE_STATES);
        assert!(glob.matches(&"é".repeat(INLINE_STATES * 2)));
        assert!(glob.matches(&"x".repeat(INLINE_STATES * 3)));
        assert!(!glob.matches(&"x".repeat(INLINE_STATES * 2 - 1)));
        assert!(!glob.matches(&format!("{}/", "x".repeat(INLINE_STATES * 2))));
    }

    /// A direct, backtracking reading of §6.3.5 for the pieces the property test generates:
    /// exponential, but independent of the automaton.
    fn reference(pattern: &[char], text: &[char]) -> bool {
        let suffixes = |k: usize| &text[k..];
        match pattern {
            [] => text.is_empty(),
            ['*', '*', '/', rest @ ..] => (0..=text.len())
                .filter(|&k| k == 0 || text[k - 1] == '/')
                .any(|k| reference(rest, suffixes(k))),
            ['*', '*'] => !text.is_empty(),
            ['*', rest @ ..] => (0..=text.len())
                .take_while(|&k| !text[..k].contains(&'/'))
                .any(|k| reference(rest, suffixes(k))),
            ['?', rest @ ..] => {
                matches!(text.first(), Some(&c) if c != '/') && reference(rest, &text[1..])
            }
            ['[', '!', 'a', ']', rest @ ..] => {
                matches!(text.first(), Some(&c) if c != '/' && c != 'a')
                    && reference(rest, &text[1..])
            }
            ['\\', c, rest @ ..] | [c, rest @ ..] => {
                text.first() == Some(c) && reference(rest, &text[1..])
            }
        }
    }

    fn pattern_strategy() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec!["a", "b", "/", "*", "?", "**", "[!a]", "\\*"]);
        prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!['a', 'b', '/', '*']), 0..10)
            .prop_map(|chars| chars.into_iter().collect())
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 2048,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// The automaton agrees with the backtracking reading on every valid pattern.
        #[test]
        fn automaton_agrees_with_backtracking_reference(
            pattern in pattern_strategy(),
            text in text_strategy(),
        ) {
            let Ok(compiled) = Glob::compile(&pattern) else {
                return Ok(());
            };
            let pattern_chars: Vec<char> = pattern.chars().collect();
            let text_chars: Vec<char> = text.chars().collect();
            let expected = pattern == "**" || reference(&pattern_chars, &text_chars);
            prop_assert_eq!(compiled.matches(&text), expected, "{:?} on {:?}", pattern, text);
        }

        /// Every pattern built from a literal string with its special characters escaped
        /// matches that string and nothing else tried.
        #[test]
        fn escaped_literals_match_only_themselves(literal in "[a-c/*?\\[\\]{}\\\\é]{0,8}", other in "[a-c/*]{0,8}") {
            let mut pattern = String::new();
            for c in literal.chars() {
                if ESCAPABLE.contains(&c) {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            let compiled = Glob::compile(&pattern).unwrap();
            prop_assert!(compiled.matches(&literal));
            prop_assert_eq!(compiled.matches(&other), other == literal);
        }
    }
}
