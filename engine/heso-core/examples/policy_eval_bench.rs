//! Evaluation cost of a 100-rule policy (policy.md §7.7: under 5 µs per action), for
//! `nox -s bench`. Writes a results fragment that `tests/bench/report.py` merges.
//!
//!     cargo run --release -p heso-core --example policy_eval_bench -- OUTPUT.json
//!
//! The policy mixes every operator, subjects, scopes and verbs. Three actions are timed: one that
//! no rule matches (every rule is tried, then the floor decides), one decided halfway, and one
//! decided by the last rule. Each value is the mean of a batch of evaluations; the batches are
//! repeated and summarized by median, min and max.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "a benchmark program that reads the clock, not the pure library"
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use heso_core::policy::eval::evaluate;
use heso_core::policy::load::load_policy;
use heso_core::policy::wire::action_from_json;
use serde_json::{json, Value};

const RULES: usize = 100;
const BATCH: u32 = 20_000;
const BATCHES: usize = 30;
const TARGET_US: f64 = 5.0;

/// A 100-rule policy: rule `i` has order `i`, and every rule carries conditions the timed
/// actions fail late, so evaluation does real work on each.
fn policy_text() -> String {
    let verbs = [
        "tool_call",
        "http_request",
        "llm_call",
        "data_export",
        "payment",
    ];
    let mut text = String::from("default_decision = \"block\"\n");
    for i in 0..RULES {
        let verb = verbs[i % verbs.len()];
        let conditions = match i % 5 {
            0 => format!("{{ field = \"amount\", op = \"lte\", value = {i} }}, {{ field = \"currency\", op = \"in\", value = [\"usd\", \"eur\", \"gbp\"] }}"),
            1 => format!("{{ field = \"path\", op = \"matches\", value = \"/srv/{i}/**/*.csv\" }}"),
            2 => format!("{{ field = \"query\", op = \"regex\", value = \"^select .* from t{i}$\" }}"),
            3 => format!("{{ field = \"user.role\", op = \"eq\", value = \"role-{i}\" }}, {{ field = \"user.id\", op = \"gt\", value = {i} }}"),
            _ => format!("{{ field = \"$tool_name\", op = \"matches\", value = \"tool_{i}_*\" }}"),
        };
        let scope = if i % 7 == 0 {
            "scope = [\"api.example.com\", \"*.internal.example\"]\n"
        } else {
            ""
        };
        let subject = if i % 11 == 0 {
            "subject = { kind = \"workflow\", value = \"billing\" }\n"
        } else {
            ""
        };
        let decision = if i % 3 == 0 { "block" } else { "allow" };
        write!(
            text,
            "[[rule]]\nid = \"rule-{i}\"\norder = {i}\nverb = \"{verb}\"\n{subject}{scope}conditions = [{conditions}]\ndecision = \"{decision}\"\n"
        )
        .unwrap();
    }
    text
}

fn action(value: &Value) -> heso_core::policy::condition::Action {
    action_from_json(value).expect("a valid action")
}

fn main() {
    let output = std::env::args()
        .nth(1)
        .expect("usage: policy_eval_bench OUTPUT.json");
    let text = policy_text();
    let loaded = load_policy("heso.toml", text.as_bytes()).expect("the bench policy loads");
    let policy = &loaded.policy;
    let fields = json!({"amount": 5000, "currency": "jpy", "path": "/srv/x/a.csv", "query": "select 1", "user": {"role": "viewer", "id": 7}});
    let cases = [
        (
            "no rule matches (all 100 tried)",
            action(
                &json!({"verb": "payment", "tool_name": "charge", "target_host": "api.example.com", "fields": fields}),
            ),
            "policy.floor.unmatched",
        ),
        (
            "decided by rule 51",
            action(
                &json!({"verb": "http_request", "tool_name": "get", "fields": {"path": "/srv/51/a/b.csv"}}),
            ),
            "rule-51",
        ),
        (
            "decided by rule 99",
            action(
                &json!({"verb": "payment", "tool_name": "tool_99_refund", "workflow": "billing", "fields": fields}),
            ),
            "rule-99",
        ),
    ];
    let mut metrics = Vec::new();
    for (name, action, expected) in &cases {
        assert_eq!(evaluate(policy, action).rule_id, *expected, "{name}");
        let mut values = Vec::with_capacity(BATCHES);
        for _ in 0..BATCHES {
            let start = Instant::now();
            for _ in 0..BATCH {
                black_box(evaluate(black_box(policy), black_box(action)));
            }
            values.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH));
        }
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        metrics.push(json!({
            "name": format!("policy evaluation, 100 rules, {name}"),
            "unit": "µs/action",
            "target": {"op": "<=", "value": TARGET_US, "statistic": "median"},
            "median": sorted[sorted.len() / 2],
            "min": sorted[0],
            "max": sorted[sorted.len() - 1],
            "values": values,
            "details": {"batch": BATCH, "batches": BATCHES, "decided_by": expected},
        }));
    }
    let fragment = json!({
        "benchmark": "policy",
        "method": [format!(
            "policy evaluation: `heso_core::policy::eval::evaluate` on a generated {RULES}-rule policy (every operator, subjects, scopes, five verbs), built in release mode and called in-process from Rust (`engine/heso-core/examples/policy_eval_bench.rs`); each value is the mean of a batch of {BATCH} evaluations of one action, {BATCHES} batches per action, the first included. The result includes building `matched_conditions` and `rule_display`."
        )],
        "metrics": metrics,
    });
    std::fs::write(&output, format!("{fragment:#}\n")).expect("write the results");
}
