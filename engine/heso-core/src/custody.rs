//! Passphrases, the passphrase file format and the custody mode (strict or development).
//!
//! Everything here is a pure function of the values the caller read; reading files and the
//! environment happens in `heso-store`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A key passphrase. Wiped on drop, never formatted.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Passphrase(String);

impl Passphrase {
    /// Wraps a passphrase. An empty string is allowed here; sources decide whether empty means
    /// "unset".
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// The passphrase's UTF-8 bytes, the Argon2id password.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Why a passphrase file has no passphrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseFileError {
    /// The bytes are not UTF-8.
    #[error("is not UTF-8 text")]
    NotUtf8,
    /// Only comments and empty lines.
    #[error("has no passphrase line")]
    NoPassphraseLine,
}

/// Reads a passphrase file: UTF-8 text; lines starting with `#` and empty lines are skipped; the
/// passphrase is the first remaining line without its `\n` or `\r\n` terminator, otherwise
/// untrimmed.
pub fn parse_passphrase_file(bytes: &[u8]) -> Result<Passphrase, PassphraseFileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| PassphraseFileError::NotUtf8)?;
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| Passphrase::new(line.to_owned()))
        .ok_or(PassphraseFileError::NoPassphraseLine)
}

/// The file name of the development passphrase inside the data directory.
pub const DEV_PASSPHRASE_FILE: &str = "DEV-ONLY.passphrase";

/// The content of a new development passphrase file for 32 random bytes, and the passphrase it
/// holds (43 characters of URL-safe base64 without padding).
pub fn dev_passphrase_file(random: &[u8; 32]) -> (String, Passphrase) {
    let passphrase = URL_SAFE_NO_PAD.encode(random);
    let content = format!(
        "# heso development passphrase: for development only.\n\
         # It unlocks identity.key in this directory. Kept next to the key, it adds no\n\
         # protection: anyone who can read the key can read this file too.\n\
         # In production, set HESO_KEY_PASSPHRASE (or HESO_KEY_PASSPHRASE_FILE) to a real\n\
         # passphrase and delete this file; heso refuses to start in production while it exists.\n\
         {passphrase}\n"
    );
    (content, Passphrase::new(passphrase))
}

/// How strictly keys are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustodyMode {
    /// Development: a generated passphrase file next to the key is allowed.
    Development,
    /// Production: a real passphrase is required and development files are refused.
    Strict,
}

/// A custody-related environment value that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustodyError {
    /// `HESO_ENV` has an unknown value.
    #[error("HESO_ENV=`{0}` is not valid; use development or production")]
    BadEnv(String),
    /// `HESO_REQUIRE_PASSPHRASE` is not a boolean.
    #[error(
        "HESO_REQUIRE_PASSPHRASE=`{0}` is not a boolean; use 1, 0, true, false, yes, no, on or off"
    )]
    BadRequirePassphrase(String),
}

/// Parses the boolean forms heso accepts in environment variables (any case).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

impl CustodyMode {
    /// Decides the custody mode from `HESO_ENV`, `HESO_REQUIRE_PASSPHRASE` (unset or empty means
    /// not given) and a `--require-passphrase` flag. Invalid values are errors rather than
    /// silently meaning "development".
    pub fn resolve(
        heso_env: Option<&str>,
        require_passphrase: Option<&str>,
        flag: bool,
    ) -> Result<Self, CustodyError> {
        let production = match heso_env.filter(|v| !v.is_empty()) {
            None => false,
            Some(value) => match value.to_ascii_lowercase().as_str() {
                "production" | "prod" => true,
                "development" | "dev" => false,
                _ => return Err(CustodyError::BadEnv(value.to_owned())),
            },
        };
        let required = match require_passphrase.filter(|v| !v.is_empty()) {
            None => false,
            Some(value) => parse_bool(value)
                .ok_or_else(|| CustodyError::BadRequirePassphrase(value.to_owned()))?,
        };
        Ok(if production || required || flag {
            Self::Strict
        } else {
            Self::Development
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Vec<u8>, PassphraseFileError> {
        parse_passphrase_file(text.as_bytes()).map(|p| p.as_bytes().to_vec())
    }

    #[test]
    fn passphrase_file_skips_comments_and_blank_lines() {
        assert_eq!(
            parsed("# note\n\n  spaced pass  \nsecond\n"),
            Ok(b"  spaced pass  ".to_vec())
        );
        assert_eq!(parsed("\r\n#x\r\npass word\r\n"), Ok(b"pass word".to_vec()));
        assert_eq!(parsed("no newline"), Ok(b"no newline".to_vec()));
        // Only the line terminator is removed; other whitespace belongs to the passphrase.
        assert_eq!(parsed("tab\t\n"), Ok(b"tab\t".to_vec()));
    }

    #[test]
    fn passphrase_file_without_a_line_is_an_error() {
        assert_eq!(
            parsed("# only\n\n# comments\n"),
            Err(PassphraseFileError::NoPassphraseLine)
        );
        assert_eq!(parsed(""), Err(PassphraseFileError::NoPassphraseLine));
        assert_eq!(
            parse_passphrase_file(&[0xff, 0xfe]).map(|_| ()),
            Err(PassphraseFileError::NotUtf8)
        );
    }

    #[test]
    fn dev_file_round_trips() {
        let (content, passphrase) = dev_passphrase_file(&[7; 32]);
        assert_eq!(passphrase.as_bytes().len(), 43);
        assert_eq!(parse_passphrase_file(content.as_bytes()), Ok(passphrase));
        assert!(content.lines().filter(|l| !l.starts_with('#')).count() == 1);
        assert!(content.contains("HESO_KEY_PASSPHRASE") && content.contains("delete this file"));
    }

    #[test]
    fn custody_mode_resolution() {
        use CustodyMode::{Development, Strict};
        assert_eq!(CustodyMode::resolve(None, None, false), Ok(Development));
        assert_eq!(
            CustodyMode::resolve(Some(""), Some(""), false),
            Ok(Development)
        );
        assert_eq!(CustodyMode::resolve(Some("PROD"), None, false), Ok(Strict));
        assert_eq!(
            CustodyMode::resolve(Some("Production"), None, false),
            Ok(Strict)
        );
        assert_eq!(
            CustodyMode::resolve(Some("dev"), Some("off"), false),
            Ok(Development)
        );
        assert_eq!(CustodyMode::resolve(None, Some("Yes"), false), Ok(Strict));
        assert_eq!(CustodyMode::resolve(None, None, true), Ok(Strict));
        assert_eq!(
            CustodyMode::resolve(Some("staging"), None, false),
            Err(CustodyError::BadEnv("staging".into()))
        );
        assert_eq!(
            CustodyMode::resolve(None, Some("maybe"), false),
            Err(CustodyError::BadRequirePassphrase("maybe".into()))
        );
    }

    #[test]
    fn passphrases_are_not_formatted() {
        assert_eq!(
            format!("{:?}", Passphrase::new("hunter2".into())),
            "Passphrase(<redacted>)"
        );
    }
}
