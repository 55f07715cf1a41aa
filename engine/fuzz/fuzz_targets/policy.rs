//! The policy loader and evaluator never panic or hang, and loaded policies keep their floors.
//!
//! Input: `heso.toml` bytes, optionally followed by a NUL byte and an action as JSON. Every
//! policy that loads is evaluated against that action and one action of each verb; a dangerous
//! verb may only be allowed (or redacted) by a rule with a narrowing condition.
#![no_main]

use heso_core::policy::eval::evaluate;
use heso_core::policy::load::load_policy;
use heso_core::policy::model::{is_dangerous, Decision};
use heso_core::policy::wire::{action_from_json, ACTION_VERBS};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let (policy_bytes, action_bytes) = match data.iter().position(|b| *b == 0) {
        Some(nul) => (&data[..nul], Some(&data[nul + 1..])),
        None => (data, None),
    };
    let Ok(loaded) = load_policy("heso.toml", policy_bytes) else {
        return;
    };
    let policy = &loaded.policy;
    let mut actions: Vec<_> = ACTION_VERBS
        .iter()
        .filter_map(|verb| action_from_json(&json!({"verb": verb, "fields": {"amount": 5}})).ok())
        .collect();
    if let Some(value) = action_bytes.and_then(|b| serde_json::from_slice(b).ok()) {
        if let Ok(action) = action_from_json(&value) {
            actions.push(action);
        }
    }
    for action in &actions {
        let evaluation = evaluate(policy, action);
        assert_eq!(evaluation, evaluate(policy, action), "evaluation is a pure function");
        if is_dangerous(&action.verb) && matches!(evaluation.decision, Decision::Allow | Decision::Redact) {
            let rule = policy
                .rules
                .iter()
                .find(|rule| rule.id == evaluation.rule_id)
                .expect("a rule decided");
            assert!(rule.is_narrowed(), "floor bypassed by `{}`", rule.id);
        }
        assert!(!evaluation.rule_display.is_empty());
    }
});
