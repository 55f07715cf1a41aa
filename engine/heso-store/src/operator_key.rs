//! Loading the operator identity from the data directory.

use std::io;
use std::path::{Path, PathBuf};

use heso_core::custody::Passphrase;
use heso_core::identity::{Identity, PublicKey, SecretSeed};

use crate::fs::{secure_mode, ModeRepair, PRIVATE_FILE_MODE};
use crate::keyfile::{key_format, open_key_file, KeyFileError, KeyFormat};

/// The operator key's file name inside the data directory.
pub const IDENTITY_FILE: &str = "identity.key";

/// The path of the operator key in a data directory.
pub fn identity_path(data_dir: &Path) -> PathBuf {
    data_dir.join(IDENTITY_FILE)
}

/// A loaded operator identity. The seed stays in Rust memory and is wiped on drop.
#[derive(Debug)]
pub struct OperatorKey {
    /// The secret seed.
    pub seed: SecretSeed,
    /// The public key derived from it.
    pub public_key: PublicKey,
    /// The file's format.
    pub format: KeyFormat,
    /// Mode repairs to tell the user about once.
    pub warnings: Vec<String>,
    /// Whether the file stays readable by other users (its mode could not be reset).
    pub exposed: bool,
}

/// Why the operator key did not load. Callers add the path, as the user should see it.
#[derive(Debug, thiserror::Error)]
pub enum OperatorKeyError {
    /// There is no key file.
    #[error("no operator key")]
    Missing,
    /// The file exists but cannot be read.
    #[error("{0}")]
    Io(io::Error),
    /// The bytes do not give a key.
    #[error("{0}")]
    Key(KeyFileError),
    /// A raw seed that other users can read, and whose mode could not be fixed.
    #[error(
        "a raw seed file readable by other users is refused; make it private with `chmod 600`"
    )]
    ExposedRawSeed,
}

/// Loads the operator key at `path` with the resolved passphrase (if any). A file that fails to
/// load is never rewritten or deleted.
pub fn load_operator_key(
    path: &Path,
    passphrase: Option<&Passphrase>,
) -> Result<OperatorKey, OperatorKeyError> {
    let bytes = zeroize::Zeroizing::new(match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(OperatorKeyError::Missing)
        }
        Err(error) => return Err(OperatorKeyError::Io(error)),
    });
    let format = key_format(&bytes).map_err(OperatorKeyError::Key)?;
    let repair = secure_mode(path, PRIVATE_FILE_MODE);
    let exposed = matches!(repair, ModeRepair::Unfixable(_));
    if format == KeyFormat::RawSeed && exposed {
        return Err(OperatorKeyError::ExposedRawSeed);
    }
    let warnings: Vec<String> = match repair {
        ModeRepair::Private => Vec::new(),
        ModeRepair::Repaired(warning) | ModeRepair::Unfixable(warning) => vec![warning],
    };
    let seed = open_key_file(&bytes, passphrase).map_err(OperatorKeyError::Key)?;
    let public_key = Identity::from_seed(&seed).public_key();
    Ok(OperatorKey {
        seed,
        public_key,
        format,
        warnings,
        exposed,
    })
}

/// An existing key file that did not load, with the path as the user should see it and the fix.
#[derive(Debug, thiserror::Error)]
#[error("cannot load {shown}: {reason}{hint}")]
pub struct KeyLoadError {
    /// The key file as shown.
    pub shown: String,
    /// Why it did not load.
    pub reason: OperatorKeyError,
    /// The fix, after `; `, or empty.
    pub hint: &'static str,
}

/// Loads the key at `key_path`, turning a failure into a message naming the file and the fix.
pub fn load_operator_key_shown(
    key_path: &Path,
    passphrase: Option<&Passphrase>,
    shown: &dyn Fn(&Path) -> String,
) -> Result<OperatorKey, KeyLoadError> {
    load_operator_key(key_path, passphrase).map_err(|reason| {
        let hint = match &reason {
            OperatorKeyError::Key(KeyFileError::PassphraseRequired) => {
                "; set HESO_KEY_PASSPHRASE or HESO_KEY_PASSPHRASE_FILE"
            }
            _ => "",
        };
        KeyLoadError {
            shown: shown(key_path),
            reason,
            hint,
        }
    })
}

/// Why a project's operator key cannot be opened for signing.
#[derive(Debug, thiserror::Error)]
pub enum OpenKeyError {
    /// A custody variable has a bad value.
    #[error(transparent)]
    Custody(#[from] heso_core::custody::CustodyError),
    /// Strict custody while a development passphrase file exists.
    #[error("strict custody: `{0}` exists; set HESO_KEY_PASSPHRASE to a real passphrase and delete that file")]
    StrictWithDevFile(String),
    /// A passphrase source is set but unusable.
    #[error(transparent)]
    Passphrase(#[from] crate::passphrase::PassphraseError),
    /// No key file.
    #[error("no operator key at {0}; run `heso init` (it keeps your heso.toml)")]
    Missing(String),
    /// Strict custody and a key file other users can read, whose mode cannot be reset.
    #[error("strict custody: {0} is readable by other users and its mode cannot be reset (not the owner); make it owned by this user with mode 600")]
    Exposed(String),
    /// The key file does not load.
    #[error(transparent)]
    Load(#[from] KeyLoadError),
}

/// The operator key of a project with where its passphrase came from.
#[derive(Debug)]
pub struct OpenedOperatorKey {
    /// The key.
    pub key: OperatorKey,
    /// The passphrase source (`None` for a raw seed).
    pub passphrase_source: Option<crate::passphrase::PassphraseSource>,
    /// The custody mode in force.
    pub custody: heso_core::custody::CustodyMode,
}

/// Opens the operator key of the data directory under the custody rules: the custody mode from
/// the environment, the passphrase from its sources in order, and refusal of the development
/// passphrase file under strict custody. `shown` renders paths for messages.
pub fn open_operator_key(
    data_dir: &Path,
    env: &crate::env::EngineEnv,
    shown: &dyn Fn(&Path) -> String,
) -> Result<OpenedOperatorKey, OpenKeyError> {
    use heso_core::custody::CustodyMode;
    let custody = CustodyMode::resolve(
        env.heso_env.as_deref(),
        env.require_passphrase.as_deref(),
        false,
    )?;
    let dev_path = crate::passphrase::dev_passphrase_path(data_dir);
    if custody == CustodyMode::Strict && dev_path.symlink_metadata().is_ok() {
        return Err(OpenKeyError::StrictWithDevFile(shown(&dev_path)));
    }
    let key_path = identity_path(data_dir);
    if key_path.symlink_metadata().is_err() {
        return Err(OpenKeyError::Missing(shown(&key_path)));
    }
    let resolved = crate::passphrase::resolve_passphrase(None, env, data_dir, custody)?;
    let key = load_operator_key_shown(&key_path, resolved.as_ref().map(|(p, _)| p), shown)?;
    // storage.md §1.2: an exposure that cannot be repaired is a warning in development only.
    if key.exposed && custody == CustodyMode::Strict {
        return Err(OpenKeyError::Exposed(shown(&key_path)));
    }
    let passphrase_source = match key.format {
        KeyFormat::Hsk1 => resolved.map(|(_, source)| source),
        KeyFormat::RawSeed => None,
    };
    Ok(OpenedOperatorKey {
        key,
        passphrase_source,
        custody,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use heso_core::custody::CustodyMode;
    use heso_core::hex::encode as hex;

    use crate::env::EngineEnv;
    use crate::keyfile::{seal_hsk1, KdfParams};

    const VECTOR_PASSPHRASE: &str = "correct horse battery staple";

    /// storage.md §2.1 derived vector.
    const VECTOR: &str = "48534b310100004c000000000200000001000102030405060708090a0b0c0d0e0f000102030405060708090a0b\
                          dfb5cf1d8a141175c4545351527ca9c90e50577aa43f8f583b7663a2da0b6f20c38591c05f09b981601ff4ed2fb61517";

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn passphrase(text: &str) -> Passphrase {
        Passphrase::new(text.into())
    }

    /// The bytes and modification time of a file, to prove a failed load did not touch it.
    fn snapshot(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
        let meta = std::fs::metadata(path).unwrap();
        (std::fs::read(path).unwrap(), meta.modified().unwrap())
    }

    fn write_private(path: &Path, bytes: &[u8]) {
        std::fs::write(path, bytes).unwrap();
        #[cfg(unix)]
        set_mode(path, 0o600);
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_spec_vector_seals_to_its_exact_bytes_and_loads_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let salt: [u8; 16] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let nonce: [u8; 12] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let sealed = seal_hsk1(
            &SecretSeed::from_bytes([0; 32]),
            &passphrase(VECTOR_PASSPHRASE),
            &salt,
            &nonce,
            KdfParams::DEFAULT,
        )
        .unwrap();
        assert_eq!(sealed.len(), 93);
        assert_eq!(hex(&sealed), VECTOR);
        let path = identity_path(dir.path());
        write_private(&path, &sealed);
        let key = load_operator_key(&path, Some(&passphrase(VECTOR_PASSPHRASE))).unwrap();
        assert_eq!(key.seed.expose(), &[0; 32]);
        assert_eq!(key.format, KeyFormat::Hsk1);
        assert_eq!(
            key.public_key,
            Identity::from_seed(&SecretSeed::from_bytes([0; 32])).public_key()
        );
        assert!(key.warnings.is_empty());
    }

    /// Each damaged variant of the vector: its name, its bytes, the passphrase tried and the
    /// reason the load must give.
    fn damaged_vector_cases() -> Vec<(&'static str, Vec<u8>, &'static str, String)> {
        let vector = unhex(VECTOR);
        let with = |index: usize, value: &[u8]| {
            let mut bytes = vector.clone();
            bytes[index..index + value.len()].copy_from_slice(value);
            bytes
        };
        let flipped = |index: usize| with(index, &[vector[index] ^ 0x01]);
        let wrong = "wrong passphrase or corrupted key file";
        vec![
            (
                "wrong passphrase",
                vector.clone(),
                "Tr0ub4dor&3",
                wrong.into(),
            ),
            (
                "flipped iterations byte",
                flipped(12),
                VECTOR_PASSPHRASE,
                wrong.into(),
            ),
            (
                "flipped salt byte",
                flipped(20),
                VECTOR_PASSPHRASE,
                wrong.into(),
            ),
            (
                "flipped nonce byte",
                flipped(40),
                VECTOR_PASSPHRASE,
                wrong.into(),
            ),
            (
                "flipped tag byte",
                flipped(92),
                VECTOR_PASSPHRASE,
                wrong.into(),
            ),
            (
                "flipped magic byte",
                flipped(0),
                VECTOR_PASSPHRASE,
                "wrong length: expected 32 or 93 bytes, got 93".into(),
            ),
            (
                "kind 0x02",
                with(4, &[0x02]),
                VECTOR_PASSPHRASE,
                "unsupported key kind 0x02 (only 0x01, Ed25519, is known)".into(),
            ),
            (
                "memory above 1 GiB",
                with(5, &1_048_577u32.to_be_bytes()),
                VECTOR_PASSPHRASE,
                "key derivation parameters out of bounds (m=1048577, t=2, p=1)".into(),
            ),
            (
                "memory below 8 KiB per lane",
                with(5, &7u32.to_be_bytes()),
                VECTOR_PASSPHRASE,
                "key derivation parameters out of bounds (m=7, t=2, p=1)".into(),
            ),
            (
                "65 iterations",
                with(9, &65u32.to_be_bytes()),
                VECTOR_PASSPHRASE,
                "key derivation parameters out of bounds (m=19456, t=65, p=1)".into(),
            ),
            (
                "no iterations",
                with(9, &0u32.to_be_bytes()),
                VECTOR_PASSPHRASE,
                "key derivation parameters out of bounds (m=19456, t=0, p=1)".into(),
            ),
            (
                "17 lanes",
                with(13, &17u32.to_be_bytes()),
                VECTOR_PASSPHRASE,
                "key derivation parameters out of bounds (m=19456, t=2, p=17)".into(),
            ),
            (
                "no lanes",
                with(13, &0u32.to_be_bytes()),
                VECTOR_PASSPHRASE,
                "key derivation parameters out of bounds (m=19456, t=2, p=0)".into(),
            ),
            (
                "40-byte file",
                vector[..40].to_vec(),
                VECTOR_PASSPHRASE,
                "wrong length: expected 32 or 93 bytes, got 40".into(),
            ),
        ]
    }

    /// storage.md §16 item 1: each damaged file fails with its one-line error and is left exactly
    /// as it was (bytes and modification time).
    #[test]
    fn damaged_vector_files_fail_with_one_line_and_stay_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = identity_path(dir.path());
        for (case, bytes, pass, reason) in damaged_vector_cases() {
            write_private(&path, &bytes);
            let before = snapshot(&path);
            let error = load_operator_key_shown(&path, Some(&passphrase(pass)), &|_| {
                ".heso/identity.key".to_owned()
            })
            .unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("cannot load .heso/identity.key: {reason}"),
                "{case}"
            );
            assert_eq!(snapshot(&path), before, "{case}: the file was touched");
            std::fs::remove_file(&path).unwrap();
        }
    }

    /// The 0.5.1 interop key (`shared/vectors/heso-0.5.1/keys/`): `identity.key` loads with the
    /// content of `passphrase.txt` to the key in `operator.pub`, and with nothing else.
    #[test]
    fn the_0_5_1_key_file_loads_to_its_operator_pub() {
        let vectors = std::env::var_os("HESO_TEST_VECTORS").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
            PathBuf::from,
        );
        let keys = vectors.join("heso-0.5.1").join("keys");
        if !keys.is_dir() {
            eprintln!(
                "skipping the heso 0.5.1 key file: {} not found (set HESO_TEST_VECTORS, or put \
                 shared/vectors beside the repository)",
                keys.display()
            );
            return;
        }
        // Load a private copy: loading repairs modes, and the shared corpus must never change.
        let dir = tempfile::tempdir().unwrap();
        let path = identity_path(dir.path());
        write_private(&path, &std::fs::read(keys.join("identity.key")).unwrap());
        let before = snapshot(&path);
        let secret = std::fs::read_to_string(keys.join("passphrase.txt")).unwrap();
        let expected = PublicKey::from_base64(
            std::fs::read_to_string(keys.join("operator.pub"))
                .unwrap()
                .trim_end(),
        )
        .unwrap();
        let key = load_operator_key(&path, Some(&passphrase(&secret))).unwrap();
        assert_eq!(key.format, KeyFormat::Hsk1);
        assert_eq!(key.public_key, expected);
        assert!(key.warnings.is_empty());
        assert!(matches!(
            load_operator_key(&path, Some(&passphrase(&format!("{secret}x")))),
            Err(OperatorKeyError::Key(KeyFileError::WrongPassphrase))
        ));
        assert_eq!(snapshot(&path), before);
    }

    #[cfg(unix)]
    #[test]
    fn a_widened_key_file_is_reset_on_load_with_one_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = identity_path(dir.path());
        write_private(&path, &unhex(VECTOR));
        set_mode(&path, 0o644);
        let pass = passphrase(VECTOR_PASSPHRASE);
        let key = load_operator_key(&path, Some(&pass)).unwrap();
        assert_eq!(key.warnings.len(), 1, "{:?}", key.warnings);
        assert!(key.warnings[0].contains("(mode 644); reset it to 600"));
        assert_eq!(mode_of(&path), 0o600);
        let again = load_operator_key(&path, Some(&pass)).unwrap();
        assert!(again.warnings.is_empty());
    }

    #[test]
    fn strict_custody_refuses_the_dev_passphrase_file_before_loading() {
        let dir = tempfile::tempdir().unwrap();
        let path = identity_path(dir.path());
        write_private(&path, &unhex(VECTOR));
        let dev_file = crate::passphrase::dev_passphrase_path(dir.path());
        write_private(&dev_file, format!("{VECTOR_PASSPHRASE}\n").as_bytes());
        let shown = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        let strict = EngineEnv {
            heso_env: Some("production".into()),
            ..EngineEnv::default()
        };
        let error = open_operator_key(dir.path(), &strict, &shown).unwrap_err();
        assert_eq!(
            error.to_string(),
            "strict custody: `DEV-ONLY.passphrase` exists; set HESO_KEY_PASSPHRASE to a real passphrase and delete that file"
        );
        let opened = open_operator_key(dir.path(), &EngineEnv::default(), &shown).unwrap();
        assert_eq!(opened.custody, CustodyMode::Development);
        assert_eq!(
            opened.passphrase_source,
            Some(crate::passphrase::PassphraseSource::DevFile(dev_file))
        );
        assert_eq!(opened.key.seed.expose(), &[0; 32]);
    }

    /// storage.md §2.5: the decrypted seed is wiped when dropped. Checked on the types (reading
    /// freed memory would be undefined behaviour): every holder of a seed keeps it in a
    /// `SecretSeed`, which implements `ZeroizeOnDrop`, as do passphrases.
    #[test]
    fn seeds_and_passphrases_are_zeroized_on_drop() {
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroized_on_drop::<SecretSeed>();
        zeroized_on_drop::<Passphrase>();
        // These only compile while the fields are `SecretSeed`s.
        let _: fn(&OperatorKey) -> &SecretSeed = |key| &key.seed;
        let _: fn(&crate::approver_key::ApproverKey) -> &SecretSeed = |key| &key.seed;
    }
}
