//! Canonicalization is a fixed point: canonical bytes parse, and canonicalize to themselves.
#![no_main]

use heso_core::json::{canonicalize, parse_strict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = parse_strict(data) {
        let canonical = canonicalize(&value);
        let reparsed = parse_strict(&canonical).expect("canonical bytes must parse");
        assert_eq!(canonicalize(&reparsed), canonical);
    }
});
