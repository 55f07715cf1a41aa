//! BLAKE3 pinned to the official test vectors (`blake3/test_vectors.json`, hash mode, receipts
//! spec §16 item 3).

#![allow(
    clippy::panic,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a panic is a failed test; clippy.toml allow-*-in-tests covers #[test] fns, not helpers"
)]

mod common;

use std::path::Path;

use heso_core::crypto::{blake3, blake3_hex};
use serde_json::Value;

#[allow(
    clippy::disallowed_methods,
    reason = "the purity fence is for library code; a test reads its vector files"
)]
fn load_json(dir: &Path, relative: &str) -> Value {
    let path = dir.join(relative);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|error| panic!("cannot read `{}`: {error}", path.display()));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("`{}` is not JSON: {error}", path.display()))
}

/// The input rule of the official vectors: byte `i` is `i % 251`.
fn official_input(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i % 251).expect("i % 251 fits in a byte"))
        .collect()
}

#[test]
fn blake3_official_hash_vectors() {
    let Some(dir) = common::vectors_dir() else {
        common::skip("BLAKE3 official vectors");
        return;
    };
    let vectors = load_json(&dir, "blake3/test_vectors.json");
    let cases = vectors["cases"].as_array().expect("`cases` is an array");
    assert_eq!(cases.len(), 35, "the official file has 35 input lengths");

    let mut failures = Vec::new();
    for case in cases {
        let len = case["input_len"].as_u64().expect("`input_len` is a number");
        let extended = case["hash"].as_str().expect("`hash` is a string");
        // The file gives 131 bytes of extended output; the default hash is its first 32 bytes.
        assert_eq!(
            extended.len(),
            262,
            "input_len {len}: hash is 131 bytes of hex"
        );
        let expected = &extended[..64];
        let input = official_input(usize::try_from(len).expect("input_len fits in usize"));

        let hex = blake3_hex(&input);
        let raw = heso_core::hex::encode(&blake3(&input));
        if hex != expected || raw != expected {
            failures.push(format!(
                "input_len {len}: expected {expected}, blake3_hex gave {hex}, blake3 gave {raw}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 35 BLAKE3 cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
