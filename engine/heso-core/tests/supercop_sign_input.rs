//! SUPERCOP `sign.input` (receipts.md §12): 1,024 Ed25519 cases from the package
//! `cryptography-vectors` on `PyPI`. Our signer reproduces every signature and our verifier
//! accepts each.
//!
//! The file is not in `../shared/vectors`; `nox -s rust` downloads the pinned package with pip
//! and points `HESO_SIGN_INPUT` at the extracted file. Without it, the test is skipped.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "a panic is a failed test; reading the vector file is what this test is for"
)]

use heso_core::crypto::verify_strict;
use heso_core::identity::{Identity, SecretSeed};

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn sign_input_signatures_reproduced_and_verified() {
    let Some(path) = std::env::var_os("HESO_SIGN_INPUT") else {
        eprintln!("skipping SUPERCOP sign.input: HESO_SIGN_INPUT is not set (nox -s rust sets it)");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let mut count = 0;
    for (number, line) in text.lines().enumerate() {
        // secret key (seed ‖ public key) : public key : message : signature ‖ message :
        let fields: Vec<&str> = line.split(':').collect();
        let (secret, public, message, signed) = (
            unhex(fields[0]),
            unhex(fields[1]),
            unhex(fields[2]),
            unhex(fields[3]),
        );
        let seed: [u8; 32] = secret[..32].try_into().unwrap();
        let identity = Identity::from_seed(&SecretSeed::from_bytes(seed));
        assert_eq!(
            identity.public_key().as_bytes().as_slice(),
            public.as_slice(),
            "line {}",
            number + 1
        );
        let signature = identity.sign(b"", &message);
        assert_eq!(signature.as_slice(), &signed[..64], "line {}", number + 1);
        let key: [u8; 32] = public.try_into().unwrap();
        assert!(
            verify_strict(&key, b"", &message, &signature),
            "line {}",
            number + 1
        );
        count += 1;
    }
    assert_eq!(count, 1_024);
}
