//! The keys a project's `heso.toml` trusts: `[identity].operator` and every key in `[approvers]`.
//!
//! This reads only those two tables. Full validation of the policy file (every key, type and
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

/// The keys a project trusts, as `heso verify` pins them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectTrust {
    /// `[identity].operator`, or `None` when the table (or its `operator` array) is absent.
    pub operators: Option<Vec<PublicKey>>,
    /// Every key under every name of `[approvers]`, without duplicates, in file order.
    pub approvers: Vec<PublicKey>,
}

/// Reads the trusted keys from the policy file's bytes. The error is one line for people.
pub fn project_trust(policy: &[u8]) -> Result<ProjectTrust, String> {
    let text = std::str::from_utf8(policy).map_err(|_| "it is not UTF-8".to_owned())?;
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().trim().to_owned())?;
    let keys = |value: &toml::Value, place: &str| -> Result<Vec<PublicKey>, String> {
        let items = value
            .as_array()
            .ok_or_else(|| format!("{place} must be an array of keys"))?;
        items
            .iter()
            .map(|item| {
                let text = item
                    .as_str()
                    .ok_or_else(|| format!("{place} must hold strings"))?;
                PublicKey::from_base64(text).map_err(|e| format!("{place}: {e}"))
            })
            .collect()
    };
    let operators = match table.get("identity").and_then(toml::Value::as_table) {
        Some(identity) => match identity.get("operator") {
            Some(value) => Some(keys(value, "[identity] operator")?),
            None => None,
        },
        None => None,
    };
    let mut approvers: Vec<PublicKey> = Vec::new();
    if let Some(roster) = table.get("approvers").and_then(toml::Value::as_table) {
        for (name, value) in roster {
            for key in keys(value, &format!("[approvers] {name}"))? {
                if !approvers.contains(&key) {
                    approvers.push(key);
                }
            }
        }
    }
    Ok(ProjectTrust {
        operators,
        approvers,
    })
}

/// Checks whether the policy file's bytes pin `operator`.
pub fn operator_pinning(policy: &[u8], operator: &PublicKey) -> OperatorPinning {
    match project_trust(policy) {
        Err(reason) => OperatorPinning::Unreadable(reason),
        Ok(ProjectTrust {
            operators: None, ..
        }) => OperatorPinning::NoIdentity,
        Ok(ProjectTrust {
            operators: Some(keys),
            ..
        }) if keys.contains(operator) => OperatorPinning::Pinned,
        Ok(_) => OperatorPinning::NotPinned,
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

    #[test]
    fn approvers_are_collected_once_in_file_order() {
        let a = PublicKey::from_bytes([1; 32]).to_base64();
        let b = PublicKey::from_bytes([2; 32]).to_base64();
        let text = format!("[approvers]\nx = [\"{a}\", \"{b}\"]\ny = [\"{a}\"]\nz = []\n");
        let trust = project_trust(text.as_bytes()).unwrap();
        assert_eq!(trust.operators, None);
        assert_eq!(
            trust.approvers,
            vec![
                PublicKey::from_bytes([1; 32]),
                PublicKey::from_bytes([2; 32])
            ]
        );
        let error = project_trust(b"[approvers]\nx = [\"nope\"]\n").unwrap_err();
        assert!(error.starts_with("[approvers] x: "), "{error}");
    }
}
