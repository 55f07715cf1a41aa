//! Any bytes: verification returns a verdict and never panics.
#![no_main]

use heso_core::receipt::verify::{verify_receipt_bytes, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let verification = verify_receipt_bytes(data, None);
    // Random bytes never carry a valid signature over their own hash.
    assert_ne!(verification.verdict, Verdict::Valid);
});
