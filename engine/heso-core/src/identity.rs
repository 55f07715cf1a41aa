//! Ed25519 identities: secret seeds, public keys and their signer fingerprints.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::SigningKey;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length in bytes of an Ed25519 seed and of a public key.
pub const KEY_LEN: usize = 32;

/// A 32-byte Ed25519 secret seed.
///
/// The bytes are wiped when the value is dropped and are never formatted: `Debug` prints a
/// placeholder, and there is deliberately no `Display`, `Clone` or serialisation.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretSeed([u8; KEY_LEN]);

impl SecretSeed {
    /// Wraps seed bytes. The caller's copy should be zeroized by the caller.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The seed bytes, for sealing into a key file.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretSeed(<redacted>)")
    }
}

/// A raw Ed25519 public key (32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; KEY_LEN]);

/// Why a string is not a public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    /// Not standard, padded base64.
    #[error("`{0}` is not standard base64")]
    NotBase64(String),
    /// Base64, but not of exactly 32 bytes.
    #[error("`{text}` decodes to {len} bytes; an Ed25519 public key is 32")]
    WrongLength {
        /// The text as given.
        text: String,
        /// The decoded length.
        len: usize,
    },
}

impl PublicKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses standard, padded base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, PublicKeyError> {
        let bytes = STANDARD
            .decode(text)
            .map_err(|_| PublicKeyError::NotBase64(text.to_owned()))?;
        let len = bytes.len();
        let raw: [u8; KEY_LEN] = bytes.try_into().map_err(|_| PublicKeyError::WrongLength {
            text: text.to_owned(),
            len,
        })?;
        Ok(Self(raw))
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Standard, padded base64, the form used in receipts and in `heso.toml`.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The signer fingerprint: `heso:` and the lowercase hex of the first 16 bytes of
    /// BLAKE3-256 of the raw key.
    pub fn fingerprint(&self) -> Fingerprint {
        let digest: [u8; 32] = blake3::hash(&self.0).into();
        let mut head = [0u8; 16];
        for (slot, byte) in head.iter_mut().zip(digest) {
            *slot = byte;
        }
        Fingerprint(head)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

/// A signer fingerprint, the short name of a key shown to people.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Fingerprint([u8; 16]);

impl Fingerprint {
    /// The short form for dense text: `heso:3f9c…3e41` (first and last four hex characters).
    pub fn short(&self) -> String {
        let [a, b, .., y, z] = self.0;
        format!("heso:{a:02x}{b:02x}…{y:02x}{z:02x}")
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "heso:{}", crate::hex::encode(&self.0))
    }
}

/// A signing identity: an Ed25519 key pair derived from a seed. The only signer in heso.
pub struct Identity {
    signing: SigningKey,
}

impl Identity {
    /// Derives the key pair of a seed.
    pub fn from_seed(seed: &SecretSeed) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed.expose()),
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs `domain ‖ message`: deterministic, RFC 8032 pure Ed25519.
    pub fn sign(&self, domain: &[u8], message: &[u8]) -> [u8; crate::crypto::SIGNATURE_LEN] {
        use ed25519_dalek::Signer as _;
        let mut payload = Vec::with_capacity(domain.len() + message.len());
        payload.extend_from_slice(domain);
        payload.extend_from_slice(message);
        self.signing.sign(&payload).to_bytes()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public_of(seed_byte: u8) -> PublicKey {
        Identity::from_seed(&SecretSeed::from_bytes([seed_byte; KEY_LEN])).public_key()
    }

    #[test]
    fn golden_keys_of_receipts_spec_14_1() {
        assert_eq!(
            public_of(0).to_base64(),
            "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
        );
        assert_eq!(
            public_of(5).to_base64(),
            "bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E="
        );
        assert_eq!(
            public_of(7).to_base64(),
            "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw="
        );
    }

    #[test]
    fn zero_seed_fingerprint_of_receipts_spec_13() {
        let fingerprint = public_of(0).fingerprint();
        assert_eq!(
            fingerprint.to_string(),
            "heso:51f1365add907c3dcaead8fae90cfe55"
        );
        assert_eq!(fingerprint.short(), "heso:51f1…fe55");
    }

    #[test]
    fn base64_round_trip_and_errors() {
        let key = public_of(0);
        assert_eq!(PublicKey::from_base64(&key.to_base64()), Ok(key));
        assert_eq!(
            PublicKey::from_base64("not base64!"),
            Err(PublicKeyError::NotBase64("not base64!".into()))
        );
        // Unpadded base64 is refused: the format is standard, padded base64.
        assert!(PublicKey::from_base64("O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik").is_err());
        assert_eq!(
            PublicKey::from_base64("AAAA"),
            Err(PublicKeyError::WrongLength {
                text: "AAAA".into(),
                len: 3
            })
        );
    }

    #[test]
    fn secrets_are_not_formatted() {
        let seed = SecretSeed::from_bytes([9; KEY_LEN]);
        assert_eq!(format!("{seed:?}"), "SecretSeed(<redacted>)");
        let identity = Identity::from_seed(&seed);
        assert!(!format!("{identity:?}").contains("09"));
    }
}
