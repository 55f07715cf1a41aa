//! The operator key file: the `HSK1` encrypted format and raw 32-byte seeds.
//!
//! `HSK1` (93 bytes) is byte-compatible with the key files heso 0.5.1 writes, so an identity can
//! move between the two products by copying one file:
//!
//! | offset | len | field |
//! |---|---|---|
//! | 0 | 4 | magic `HSK1` |
//! | 4 | 1 | kind, `0x01` = Ed25519 seed |
//! | 5 | 4 | Argon2id memory in KiB, u32 big-endian |
//! | 9 | 4 | Argon2id iterations, u32 big-endian |
//! | 13 | 4 | Argon2id lanes, u32 big-endian |
//! | 17 | 16 | salt |
//! | 33 | 12 | AES-256-GCM nonce |
//! | 45 | 48 | sealed seed: ciphertext (32) and tag (16) |
//!
//! The AES key is Argon2id(passphrase, salt) with the header's parameters; the first 45 bytes are
//! the associated data, so the header cannot be altered without failing decryption.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use heso_core::custody::Passphrase;
use heso_core::identity::{SecretSeed, KEY_LEN};
use zeroize::Zeroizing;

/// Length of an `HSK1` file.
pub const HSK1_LEN: usize = 93;
const MAGIC: &[u8; 4] = b"HSK1";
const KIND_ED25519_SEED: u8 = 0x01;
const HEADER_LEN: usize = 45;

/// Argon2id parameters stored in an `HSK1` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// The parameters heso writes: 19 MiB, 2 iterations, 1 lane (about 10 ms here).
    pub const DEFAULT: Self = Self {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// Refuses parameters outside the accepted bounds before any work is done, so a hostile file
    /// cannot make the reader allocate gigabytes or spin for minutes.
    fn check_bounds(self) -> Result<Self, KeyFileError> {
        let Self {
            memory_kib: m,
            iterations: t,
            parallelism: p,
        } = self;
        let ok = (1..=16).contains(&p) && (8 * p..=1_048_576).contains(&m) && (1..=64).contains(&t);
        if ok {
            Ok(self)
        } else {
            Err(KeyFileError::ParamsOutOfBounds(self))
        }
    }
}

/// The two key file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// Encrypted `HSK1`.
    Hsk1,
    /// A raw 32-byte seed (accepted, never written by heso).
    RawSeed,
}

impl KeyFormat {
    /// The name shown to people and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hsk1 => "HSK1",
            Self::RawSeed => "raw",
        }
    }
}

/// Why key file bytes do not give a seed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// Neither 32 nor 93 bytes, or 93 bytes without the magic.
    #[error("wrong length: expected 32 or 93 bytes, got {0}")]
    WrongLength(usize),
    /// `HSK1` with a key kind other than Ed25519.
    #[error("unsupported key kind {0:#04x} (only 0x01, Ed25519, is known)")]
    UnknownKind(u8),
    /// Argon2id parameters outside the accepted bounds.
    #[error(
        "key derivation parameters out of bounds (m={}, t={}, p={})",
        .0.memory_kib, .0.iterations, .0.parallelism
    )]
    ParamsOutOfBounds(KdfParams),
    /// `HSK1` needs a passphrase and none was given.
    #[error("a passphrase is required")]
    PassphraseRequired,
    /// Authentication failed.
    #[error("wrong passphrase or corrupted key file")]
    WrongPassphrase,
    /// The key derivation function refused its inputs.
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

/// Tells the format of key file bytes from their length and magic.
pub fn key_format(bytes: &[u8]) -> Result<KeyFormat, KeyFileError> {
    match bytes.len() {
        KEY_LEN => Ok(KeyFormat::RawSeed),
        HSK1_LEN if bytes.starts_with(MAGIC) => Ok(KeyFormat::Hsk1),
        len => Err(KeyFileError::WrongLength(len)),
    }
}

/// Reads a seed from key file bytes; `HSK1` needs the passphrase, a raw seed ignores it.
pub fn open_key_file(
    bytes: &[u8],
    passphrase: Option<&Passphrase>,
) -> Result<SecretSeed, KeyFileError> {
    match key_format(bytes)? {
        KeyFormat::RawSeed => {
            let mut raw = Zeroizing::new([0u8; KEY_LEN]);
            raw.copy_from_slice(bytes);
            Ok(SecretSeed::from_bytes(*raw))
        }
        KeyFormat::Hsk1 => open_hsk1(bytes, passphrase.ok_or(KeyFileError::PassphraseRequired)?),
    }
}

fn open_hsk1(bytes: &[u8], passphrase: &Passphrase) -> Result<SecretSeed, KeyFileError> {
    let (header, sealed) = bytes
        .split_at_checked(HEADER_LEN)
        .ok_or(KeyFileError::WrongLength(bytes.len()))?;
    let field = |start: usize, len: usize| header.get(start..start + len).unwrap_or_default();
    let kind = field(4, 1).first().copied().unwrap_or_default();
    if kind != KIND_ED25519_SEED {
        return Err(KeyFileError::UnknownKind(kind));
    }
    let params = KdfParams {
        memory_kib: be_u32(field(5, 4)),
        iterations: be_u32(field(9, 4)),
        parallelism: be_u32(field(13, 4)),
    }
    .check_bounds()?;
    let key = derive_key(passphrase, field(17, 16), params)?;
    let cipher =
        Aes256Gcm::new_from_slice(key.as_ref()).map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                Nonce::from_slice(field(33, 12)),
                Payload {
                    msg: sealed,
                    aad: header,
                },
            )
            .map_err(|_| KeyFileError::WrongPassphrase)?,
    );
    let raw: [u8; KEY_LEN] = plain
        .as_slice()
        .try_into()
        .map_err(|_| KeyFileError::WrongPassphrase)?;
    Ok(SecretSeed::from_bytes(raw))
}

/// Seals a seed as an `HSK1` file with the given salt, nonce and parameters. The caller supplies
/// fresh random salt and nonce; tests pass fixed ones to reproduce the published vector.
pub fn seal_hsk1(
    seed: &SecretSeed,
    passphrase: &Passphrase,
    salt: &[u8; 16],
    nonce: &[u8; 12],
    params: KdfParams,
) -> Result<[u8; HSK1_LEN], KeyFileError> {
    let params = params.check_bounds()?;
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(KIND_ED25519_SEED);
    for value in [params.memory_kib, params.iterations, params.parallelism] {
        header.extend_from_slice(&value.to_be_bytes());
    }
    header.extend_from_slice(salt);
    header.extend_from_slice(nonce);
    let key = derive_key(passphrase, salt, params)?;
    let cipher =
        Aes256Gcm::new_from_slice(key.as_ref()).map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: seed.expose(),
                aad: &header,
            },
        )
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    let mut file = [0u8; HSK1_LEN];
    for (slot, byte) in file.iter_mut().zip(header.iter().chain(sealed.iter())) {
        *slot = *byte;
    }
    Ok(file)
}

fn derive_key(
    passphrase: &Passphrase,
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let kdf_params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, kdf_params)
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
        .map_err(|e| KeyFileError::Kdf(e.to_string()))?;
    Ok(key)
}

fn be_u32(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0, |acc, byte| (acc << 8) | u32::from(*byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn salt() -> [u8; 16] {
        std::array::from_fn(|i| u8::try_from(i).unwrap())
    }

    fn nonce() -> [u8; 12] {
        std::array::from_fn(|i| u8::try_from(i).unwrap())
    }

    fn sealed(seed_byte: u8, pass: &Passphrase) -> [u8; HSK1_LEN] {
        let seed = SecretSeed::from_bytes([seed_byte; 32]);
        seal_hsk1(&seed, pass, &salt(), &nonce(), KdfParams::DEFAULT).unwrap()
    }

    fn passphrase(text: &str) -> Passphrase {
        Passphrase::new(text.into())
    }

    use heso_core::hex::encode as hex;

    /// storage.md §2.1 derived vector.
    const VECTOR: &str = "48534b310100004c000000000200000001000102030405060708090a0b0c0d0e0f000102030405060708090a0b\
                          dfb5cf1d8a141175c4545351527ca9c90e50577aa43f8f583b7663a2da0b6f20c38591c05f09b981601ff4ed2fb61517";

    #[test]
    fn derived_vector_of_storage_spec_2_1() {
        let pass = passphrase("correct horse battery staple");
        let key = derive_key(&pass, &salt(), KdfParams::DEFAULT).unwrap();
        assert_eq!(
            hex(key.as_ref()),
            "818259b6310026a8e0dbac5d2e6927abcfdb07b32258fac4f61b18b80f929085"
        );
        let file = seal_hsk1(
            &SecretSeed::from_bytes([0; 32]),
            &pass,
            &salt(),
            &nonce(),
            KdfParams::DEFAULT,
        )
        .unwrap();
        assert_eq!(hex(&file), VECTOR);
        let seed = open_key_file(&file, Some(&pass)).unwrap();
        assert_eq!(seed.expose(), &[0; 32]);
    }

    #[test]
    fn wrong_passphrase_and_tampering_fail_authentication() {
        let pass = passphrase("correct horse battery staple");
        let file = sealed(3, &pass);
        assert_eq!(
            open_key_file(&file, Some(&passphrase("nope"))).map(|_| ()),
            Err(KeyFileError::WrongPassphrase)
        );
        assert_eq!(
            open_key_file(&file, None).map(|_| ()),
            Err(KeyFileError::PassphraseRequired)
        );
        // Any changed byte after the kind and parameters (salt, nonce, ciphertext, tag) fails.
        for index in [17, 33, 45, 92] {
            let mut bad = file;
            bad[index] ^= 1;
            assert_eq!(
                open_key_file(&bad, Some(&pass)).map(|_| ()),
                Err(KeyFileError::WrongPassphrase),
                "{index}"
            );
        }
        // A changed parameter derives another key, and the header is authenticated anyway.
        let mut bad = file;
        bad[12] = 3;
        assert_eq!(
            open_key_file(&bad, Some(&pass)).map(|_| ()),
            Err(KeyFileError::WrongPassphrase)
        );
    }

    #[test]
    fn hostile_headers_are_refused_before_deriving() {
        let pass = passphrase("x");
        let file = sealed(3, &pass);
        let mut huge = file;
        huge[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            open_key_file(&huge, Some(&pass)),
            Err(KeyFileError::ParamsOutOfBounds(_))
        ));
        let mut lanes = file;
        lanes[13..17].copy_from_slice(&17u32.to_be_bytes());
        assert!(matches!(
            open_key_file(&lanes, Some(&pass)),
            Err(KeyFileError::ParamsOutOfBounds(_))
        ));
        let mut kind = file;
        kind[4] = 2;
        assert_eq!(
            open_key_file(&kind, Some(&pass)).map(|_| ()),
            Err(KeyFileError::UnknownKind(2))
        );
    }

    /// storage.md §2.1 bounds: `1 <= p <= 16`, `8p <= m <= 1 GiB`, `1 <= t <= 64`. Values on each
    /// bound are accepted; one past each is refused when sealing and when opening, before any key
    /// is derived (an out-of-bounds `m` of 4 TiB would otherwise be allocated).
    #[test]
    fn every_parameter_bound_is_enforced_on_both_sides() {
        let pass = passphrase("bounds");
        let seed = SecretSeed::from_bytes([5; 32]);
        let params = |memory_kib, iterations, parallelism| KdfParams {
            memory_kib,
            iterations,
            parallelism,
        };
        // The cheap corners of the accepted region (1 GiB of memory is too slow for a unit test).
        for inside in [params(8, 1, 1), params(128, 64, 16), params(136, 1, 16)] {
            let file = seal_hsk1(&seed, &pass, &salt(), &nonce(), inside).unwrap();
            assert_eq!(
                open_key_file(&file, Some(&pass)).unwrap().expose(),
                &[5; 32],
                "{inside:?}"
            );
        }
        let valid = seal_hsk1(&seed, &pass, &salt(), &nonce(), params(8, 1, 1)).unwrap();
        for outside in [
            params(8, 1, 0),
            params(136, 1, 17),
            params(7, 1, 1),
            params(127, 1, 16),
            params(1_048_577, 1, 1),
            params(u32::MAX, 1, 1),
            params(8, 0, 1),
            params(8, 65, 1),
        ] {
            assert_eq!(
                seal_hsk1(&seed, &pass, &salt(), &nonce(), outside).map(|_| ()),
                Err(KeyFileError::ParamsOutOfBounds(outside))
            );
            let mut file = valid;
            file[5..9].copy_from_slice(&outside.memory_kib.to_be_bytes());
            file[9..13].copy_from_slice(&outside.iterations.to_be_bytes());
            file[13..17].copy_from_slice(&outside.parallelism.to_be_bytes());
            let error = open_key_file(&file, Some(&pass)).map(|_| ()).unwrap_err();
            assert_eq!(error, KeyFileError::ParamsOutOfBounds(outside));
            assert_eq!(
                error.to_string(),
                format!(
                    "key derivation parameters out of bounds (m={}, t={}, p={})",
                    outside.memory_kib, outside.iterations, outside.parallelism
                )
            );
        }
    }

    #[test]
    fn a_wrong_passphrase_never_yields_a_seed_for_the_published_vector() {
        let file: Vec<u8> = (0..VECTOR.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&VECTOR[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(file.len(), HSK1_LEN);
        let right = passphrase("correct horse battery staple");
        assert_eq!(
            open_key_file(&file, Some(&right)).unwrap().expose(),
            &[0; 32]
        );
        for wrong in [
            "",
            "correct horse battery staple ",
            "Correct horse battery staple",
        ] {
            assert_eq!(
                open_key_file(&file, Some(&passphrase(wrong))).map(|_| ()),
                Err(KeyFileError::WrongPassphrase),
                "{wrong:?}"
            );
        }
        // Every single-bit change anywhere in the file is detected.
        for index in 0..HSK1_LEN {
            let mut bad = file.clone();
            bad[index] ^= 0x01;
            assert!(open_key_file(&bad, Some(&right)).is_err(), "byte {index}");
        }
        assert_eq!(
            open_key_file(&file[..40], Some(&right)).map(|_| ()),
            Err(KeyFileError::WrongLength(40))
        );
    }

    #[test]
    fn formats_by_length_and_magic() {
        assert_eq!(key_format(&[0; 32]), Ok(KeyFormat::RawSeed));
        assert_eq!(key_format(&[0; 93]), Err(KeyFileError::WrongLength(93)));
        assert_eq!(key_format(&[0; 94]), Err(KeyFileError::WrongLength(94)));
        assert_eq!(key_format(b""), Err(KeyFileError::WrongLength(0)));
        let seed = open_key_file(&[4; 32], None).unwrap();
        assert_eq!(seed.expose(), &[4; 32]);
        assert_eq!(
            KeyFileError::WrongLength(12).to_string(),
            "wrong length: expected 32 or 93 bytes, got 12"
        );
    }
}
