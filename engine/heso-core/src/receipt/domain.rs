//! Signing domains: each signature covers `domain ‖ C`, with the domain's ASCII text followed by
//! one NUL byte. Canonical JSON never contains NUL, so a signature made for one use can never be
//! read as one for another.

/// Operator signature on plain receipts, `completed`, producer `key_rotation`, the quorum base.
pub const ACTION: &[u8] = b"heso-action/v1\0";
/// Approver co-signature (single L1) and each quorum leg.
pub const APPROVAL: &[u8] = b"heso-approval/v1\0";
/// Operator signature on `suspended` links.
pub const SUSPEND: &[u8] = b"heso-action-suspend/v1\0";
/// Decision-key signature on `approved`, `denied`, `expired`, `escalated`, decision rotation.
pub const DECISION: &[u8] = b"heso-action-decision/v1\0";
/// Link hash and lifecycle grouping key input (hashed, never signed).
pub const CHAIN: &[u8] = b"heso-rcpt-chain/v1\0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_bytes_of_receipts_spec_4() {
        let hex = |bytes: &[u8]| crate::hex::encode(bytes);
        assert_eq!(hex(ACTION), "6865736f2d616374696f6e2f763100");
        assert_eq!(hex(APPROVAL), "6865736f2d617070726f76616c2f763100");
        assert_eq!(
            hex(SUSPEND),
            "6865736f2d616374696f6e2d73757370656e642f763100"
        );
        assert_eq!(
            hex(DECISION),
            "6865736f2d616374696f6e2d6465636973696f6e2f763100"
        );
        assert_eq!(hex(CHAIN), "6865736f2d726370742d636861696e2f763100");
    }
}
