//! Lines of any bytes verified as a chain: a verdict, never a panic.
#![no_main]

use heso_core::json::parse_strict;
use heso_core::receipt::chain::{verify_chain, ChainMode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let receipts: Vec<serde_json::Value> = data
        .split(|b| *b == b'\n')
        .map(|line| parse_strict(line).unwrap_or(serde_json::Value::Null))
        .collect();
    for mode in [ChainMode::Auto, ChainMode::Action, ChainMode::Session] {
        let _ = verify_chain(&receipts, mode, None);
    }
});
