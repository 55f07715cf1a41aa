//! The starter policy `heso init` writes when a project has no `heso.toml`.

use crate::identity::PublicKey;

const TEMPLATE: &str = include_str!("starter_policy.toml");
const PLACEHOLDER: &str = "{OPERATOR_PUBLIC_KEY}";

/// The starter `heso.toml` for an operator key, byte for byte: the template with the one
/// placeholder replaced. Nothing else varies, so the same key always gives the same bytes.
pub fn starter_policy(operator: &PublicKey) -> String {
    TEMPLATE.replacen(PLACEHOLDER, &operator.to_base64(), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_is_ascii_lf_with_one_final_newline_and_no_trailing_spaces() {
        let text = starter_policy(&PublicKey::from_bytes([1; 32]));
        assert!(text.is_ascii());
        assert!(!text.contains('\r'));
        assert!(text.ends_with("sla_minutes = 30\n") && !text.ends_with("\n\n"));
        assert!(text.lines().all(|line| line == line.trim_end()));
        assert_eq!(TEMPLATE.matches(PLACEHOLDER).count(), 1);
    }

    #[test]
    fn key_is_pinned_in_identity() {
        let key = PublicKey::from_base64("O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=").unwrap();
        let text = starter_policy(&key);
        assert!(text.contains(
            "[identity]\noperator = [\"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\"]\n"
        ));
        assert_eq!(text, starter_policy(&key));
    }
}
