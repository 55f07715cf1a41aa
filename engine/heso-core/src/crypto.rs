//! Ed25519 signing and strict verification, and BLAKE3 hashing: the only place either happens.
//!
//! # Verification rule
//!
//! Receipts are verified with ed25519-dalek's `verify_strict`, exactly what the public Action
//! Receipt specification mandates, one signature at a time (never batched: batch verification
//! accepts what single verification rejects). With A the public key, R the first and S the last
//! 32 signature bytes, it accepts iff:
//!
//! 1. S, little-endian, is below the group order L (no malleable signatures);
//! 2. A and R decode to curve points;
//! 3. neither A nor R has small order (mixed-order points are accepted);
//! 4. with k = SHA-512(R ‖ A ‖ message) mod L, the canonical encoding of \[S\]B − \[k\]A equals
//!    the received R bytes exactly (cofactorless; non-canonical R encodings therefore fail).
//!
//! The vector suites (Wycheproof, ed25519-speccheck, RFC 8032) pin this behaviour in tests.

use ed25519_dalek::{Signature, VerifyingKey};

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// BLAKE3-256 of `bytes`.
pub fn blake3(bytes: &[u8]) -> [u8; 32] {
    blake3::hash(bytes).into()
}

/// Lowercase hex BLAKE3-256 of `bytes`, the form every hash in a receipt takes.
pub fn blake3_hex(bytes: &[u8]) -> String {
    crate::hex::encode(&blake3(bytes))
}

/// How many decoded keys each thread keeps. Chains are signed by one operator and a few
/// approvers, so a handful covers real logs.
const KEY_CACHE_SIZE: usize = 16;

thread_local! {
    /// Decoded public keys, most recent first: decoding a point costs a field inversion, and a
    /// log of 100,000 receipts has one signer.
    static KEY_CACHE: std::cell::RefCell<Vec<([u8; 32], VerifyingKey)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn verifying_key(bytes: &[u8; 32]) -> Option<VerifyingKey> {
    KEY_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(position) = cache.iter().position(|(raw, _)| raw == bytes) {
            let entry = cache.remove(position);
            let key = entry.1;
            cache.insert(0, entry);
            return Some(key);
        }
        let key = VerifyingKey::from_bytes(bytes).ok()?;
        cache.insert(0, (*bytes, key));
        cache.truncate(KEY_CACHE_SIZE);
        Some(key)
    })
}

/// Verifies a signature over `domain ‖ message` under the strict rule above. Returns `false` for
/// a public key that is not a curve point, a small-order key, or any signature the rule rejects.
pub fn verify_strict(
    public_key: &[u8; 32],
    domain: &[u8],
    message: &[u8],
    signature: &[u8; SIGNATURE_LEN],
) -> bool {
    let Some(key) = verifying_key(public_key) else {
        return false;
    };
    let signature = Signature::from_bytes(signature);
    let mut payload = Vec::with_capacity(domain.len() + message.len());
    payload.extend_from_slice(domain);
    payload.extend_from_slice(message);
    key.verify_strict(&payload, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Identity, SecretSeed};

    #[test]
    fn sign_then_verify_and_domain_separation() {
        let signer = Identity::from_seed(&SecretSeed::from_bytes([0; 32]));
        let key = *signer.public_key().as_bytes();
        let signature = signer.sign(b"a\0", b"message");
        assert!(verify_strict(&key, b"a\0", b"message", &signature));
        assert!(!verify_strict(&key, b"b\0", b"message", &signature));
        assert!(!verify_strict(&key, b"a\0", b"messagf", &signature));
        // The split between domain and message does not matter to the signature itself; what
        // makes domains unambiguous is the NUL terminator and NUL-free canonical JSON.
        assert!(verify_strict(&key, b"", b"a\0message", &signature));
    }

    #[test]
    fn small_order_public_key_is_rejected() {
        // The identity point, encoded canonically, has order 1.
        let mut identity_point = [0u8; 32];
        identity_point[0] = 1;
        assert!(!verify_strict(&identity_point, b"", b"", &[0; 64]));
    }

    #[test]
    fn blake3_of_empty_input() {
        assert_eq!(
            blake3_hex(b""),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }
}
