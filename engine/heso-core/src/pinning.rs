//! Whether a project's `heso.toml` pins an operator key in `[identity]`.
//!
//! This reads only `[identity].operator`. Full validation of the policy file (every key, type and
//! value, with positions) belongs to the policy loader; callers that need a verdict on the whole
//! file use that instead.

use crate::identity::PublicKey;

/// How `heso.toml` relates to an operator key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorPinning {
    /// `[identity].operator` lists the key.
    Pinned,
    /// `[identity].operator` exists but does not list the key.
    NotPinned,
    /// The file has no `[identity]` table, or it has no `operator` array.
    NoIdentity,
    /// The file cannot be read as TOML; the reason, for a warning.
    Unreadable(String),
}

/// Checks whether the policy file's bytes pin `operator`.
pub fn operator_pinning(policy: &[u8], operator: &PublicKey) -> OperatorPinning {
    let Ok(text) = std::str::from_utf8(policy) else {
        return OperatorPinning::Unreadable("it is not UTF-8".to_owned());
    };
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(error) => return OperatorPinning::Unreadable(error.message().to_owned()),
    };
    let Some(operators) = table
        .get("identity")
        .and_then(toml::Value::as_table)
        .and_then(|identity| identity.get("operator"))
        .and_then(toml::Value::as_array)
    else {
        return OperatorPinning::NoIdentity;
    };
    let wanted = operator.to_base64();
    if operators
        .iter()
        .any(|key| key.as_str() == Some(wanted.as_str()))
    {
        OperatorPinning::Pinned
    } else {
        OperatorPinning::NotPinned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::starter::starter_policy;

    #[test]
    fn starter_pins_its_key_and_no_other() {
        let key = PublicKey::from_bytes([0; 32]);
        let other = PublicKey::from_bytes([1; 32]);
        let policy = starter_policy(&key);
        assert_eq!(
            operator_pinning(policy.as_bytes(), &key),
            OperatorPinning::Pinned
        );
        assert_eq!(
            operator_pinning(policy.as_bytes(), &other),
            OperatorPinning::NotPinned
        );
    }

    #[test]
    fn missing_identity_and_broken_files() {
        let key = PublicKey::from_bytes([0; 32]);
        assert_eq!(
            operator_pinning(b"version = 1\n", &key),
            OperatorPinning::NoIdentity
        );
        assert_eq!(
            operator_pinning(b"[identity]\n", &key),
            OperatorPinning::NoIdentity
        );
        assert!(matches!(
            operator_pinning(b"[identity\n", &key),
            OperatorPinning::Unreadable(_)
        ));
        assert!(matches!(
            operator_pinning(&[0xff], &key),
            OperatorPinning::Unreadable(_)
        ));
    }
}
