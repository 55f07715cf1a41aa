//! RFC 8785 test data from cyberphone/json-canonicalization (`shared/vectors/jcs/`): every input
//! canonicalizes to its expected output byte for byte.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "a panic is a failed test (clippy.toml covers #[test] fns, not helpers); tests read \
              the vector files, the library stays pure"
)]

mod common;

use std::fs;
use std::path::Path;

use heso_core::json::{canonicalize, parse_strict};

/// The six upstream cases; listing them makes a missing file a failure, not a smaller loop.
const CASES: [&str; 6] = [
    "arrays",
    "french",
    "structures",
    "unicode",
    "values",
    "weird",
];

fn decode_hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|pair| u8::from_str_radix(pair, 16).unwrap())
        .collect()
}

fn read(dir: &Path, relative: &str) -> Vec<u8> {
    let path = dir.join(relative);
    fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

#[test]
fn every_input_canonicalizes_to_its_output() {
    let Some(vectors) = common::vectors_dir() else {
        common::skip("cyberphone JCS");
        return;
    };
    let jcs = vectors.join("jcs");
    for case in CASES {
        let input = read(&jcs, &format!("input/{case}.json"));
        let expected = read(&jcs, &format!("output/{case}.json"));
        let expected_hex =
            decode_hex(&String::from_utf8(read(&jcs, &format!("outhex/{case}.txt"))).unwrap());
        assert_eq!(expected, expected_hex, "{case}: output and outhex disagree");

        let value = parse_strict(&input).unwrap_or_else(|error| panic!("{case}: {error}"));
        let canonical = canonicalize(&value);
        assert_eq!(
            String::from_utf8_lossy(&canonical),
            String::from_utf8_lossy(&expected),
            "{case}"
        );
        assert_eq!(canonical, expected, "{case}");

        // The expected output is itself canonical.
        assert_eq!(
            canonicalize(&parse_strict(&expected).unwrap()),
            expected,
            "{case}"
        );
    }
}

#[test]
fn the_directory_holds_no_case_this_test_does_not_know() {
    let Some(vectors) = common::vectors_dir() else {
        common::skip("cyberphone JCS");
        return;
    };
    let mut found: Vec<String> = fs::read_dir(vectors.join("jcs/input"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let known: Vec<String> = CASES.iter().map(|case| format!("{case}.json")).collect();
    assert_eq!(found, known);
}
