//! Evaluation and floor tests on policies built in code (the loader has its own tests).

use serde_json::{json, Map, Value};

use crate::identity::PublicKey;
use crate::policy::condition::{Action, Condition};
use crate::policy::eval::{evaluate, FLOOR_RULE};
use crate::policy::floors::floor_violations;
use crate::policy::model::{ApprovalRule, Decision, Policy, Rule, Subject};
use crate::policy::scope::Scope;

fn rule(id: &str, order: i64, verb: &str, decision: Decision) -> Rule {
    Rule {
        id: id.to_owned(),
        order,
        position: 0,
        line: 1,
        enabled: true,
        subject: Subject::Any,
        verb: verb.to_owned(),
        scope: Scope::Any,
        conditions: Vec::new(),
        decision,
        approval: None,
        redact: None,
    }
}

fn approval(names: &[&str], quorum: u32, sla_minutes: u32) -> ApprovalRule {
    ApprovalRule {
        approvers: names.iter().map(|n| (*n).to_owned()).collect(),
        quorum,
        sla_minutes,
    }
}

fn condition(field: &str, op: &str, value: Value) -> Condition {
    Condition::new(field, op, Some(value), None).unwrap()
}

/// The starter policy of policy.md §13, built in code.
fn starter() -> Policy {
    let mut delete = rule(
        "delete.requires_approval",
        40,
        "delete",
        Decision::RequireApproval,
    );
    delete.approval = Some(approval(&["security-admin"], 1, 30));
    let mut payment = rule(
        "payment.large.requires_approval",
        50,
        "payment",
        Decision::RequireApproval,
    );
    payment.approval = Some(approval(&["security-admin"], 1, 30));
    payment.conditions = vec![condition("amount", "gt", json!(1000))];
    let rules = vec![
        rule("llm.allow", 10, "llm_call", Decision::Allow),
        rule("tool.allow", 20, "tool_call", Decision::Allow),
        rule("http.allow", 30, "http_request", Decision::Allow),
        delete,
        payment,
    ];
    let rules = rules.into_iter().enumerate().map(|(i, mut r)| {
        r.position = i;
        r
    });
    Policy::new(
        String::new(),
        Decision::RequireApproval,
        None,
        vec![("security-admin".into(), Vec::new())],
        rules.collect(),
    )
}

fn action(verb: &str, fields: &Value) -> Action {
    Action {
        verb: verb.to_owned(),
        tool_name: "test".to_owned(),
        target_host: None,
        workflow: "default".to_owned(),
        account: "default".to_owned(),
        fields: fields.as_object().cloned().unwrap_or_else(Map::new),
    }
}

fn decide(policy: &Policy, verb: &str, fields: &Value) -> (Decision, String) {
    let evaluation = evaluate(policy, &action(verb, fields));
    (evaluation.decision, evaluation.rule_id)
}

#[test]
fn starter_behaviour_of_policy_spec_13() {
    let policy = starter();
    for verb in ["llm_call", "tool_call", "http_request"] {
        assert_eq!(
            decide(&policy, verb, &json!({})).0,
            Decision::Allow,
            "{verb}"
        );
    }
    assert_eq!(
        decide(&policy, "delete", &json!({})),
        (Decision::RequireApproval, "delete.requires_approval".into())
    );
    for amount in [json!(5000), json!("1000.01")] {
        assert_eq!(
            decide(&policy, "payment", &json!({ "amount": amount })),
            (
                Decision::RequireApproval,
                "payment.large.requires_approval".into()
            )
        );
    }
    for fields in [json!({"amount": 1000}), json!({"amount": 20}), json!({})] {
        assert_eq!(
            decide(&policy, "payment", &fields),
            (Decision::RequireApproval, FLOOR_RULE.into())
        );
    }
    for verb in ["data_export", "account_change"] {
        assert_eq!(
            decide(&policy, verb, &json!({})),
            (Decision::RequireApproval, FLOOR_RULE.into())
        );
    }
}

#[test]
fn starter_displays_and_terms() {
    let policy = starter();
    let payment = evaluate(&policy, &action("payment", &json!({"amount": 5000})));
    assert_eq!(
        payment.rule_display,
        "When any agent makes a payment where amount > 1000, then require approval from security-admin within 30m."
    );
    assert_eq!(
        payment.matched_conditions,
        vec![json!({"field": "amount", "op": "gt", "value": 1000})]
    );
    let terms = payment.approval.unwrap();
    assert_eq!(
        (
            terms.approvers,
            terms.quorum,
            terms.sla_minutes,
            terms.on_timeout
        ),
        (vec!["security-admin".to_owned()], 1, 30, "deny")
    );
    assert!(terms.roster.is_empty());
    let floor = evaluate(&policy, &action("delete", &json!({})));
    assert_eq!(
        floor.rule_display,
        "When any agent deletes a resource, then require approval from security-admin within 30m."
    );
    let unmatched = evaluate(&policy, &action("data_export", &json!({})));
    assert_eq!(
        unmatched.rule_display,
        "When no rule matches and the agent exports data, then require approval from any registered approver within 1440m."
    );
    assert_eq!(unmatched.approval.unwrap().sla_minutes, 1440);
    assert_eq!(
        evaluate(&policy, &action("llm_call", &json!({}))).rule_display,
        "When any agent calls a model, then allow."
    );
}

#[test]
fn ties_are_broken_by_file_position_and_disabled_rules_are_skipped() {
    let mut first = rule("first", 5, "tool_call", Decision::Block);
    first.position = 0;
    let mut second = rule("second", 5, "tool_call", Decision::Allow);
    second.position = 1;
    let policy = Policy::new(
        String::new(),
        Decision::Allow,
        None,
        Vec::new(),
        vec![second.clone(), first.clone()],
    );
    assert_eq!(decide(&policy, "tool_call", &json!({})).1, "first");
    first.enabled = false;
    let policy = Policy::new(
        String::new(),
        Decision::Allow,
        None,
        Vec::new(),
        vec![first, second],
    );
    assert_eq!(decide(&policy, "tool_call", &json!({})).1, "second");
}

#[test]
fn unmatched_actions_and_the_runtime_floor() {
    for (default, safe, dangerous) in [
        (Decision::Allow, Decision::Allow, Decision::RequireApproval),
        (
            Decision::RequireApproval,
            Decision::RequireApproval,
            Decision::RequireApproval,
        ),
        (Decision::Block, Decision::Block, Decision::Block),
    ] {
        let policy = Policy::new(String::new(), default, None, Vec::new(), Vec::new());
        assert_eq!(
            decide(&policy, "tool_call", &json!({})),
            (safe, "policy.default".into())
        );
        assert_eq!(
            decide(&policy, "delete", &json!({})),
            (dangerous, FLOOR_RULE.into())
        );
    }
}

#[test]
fn redaction_terms_and_roster() {
    let key = |byte: u8| PublicKey::from_bytes([byte; 32]);
    let mut redact_all = rule("redact.all", 1, "tool_call", Decision::Redact);
    redact_all.subject = Subject::Workflow("w".into());
    let mut redact_some = rule("redact.some", 2, "tool_call", Decision::Redact);
    redact_some.redact = Some(vec!["card.number".into()]);
    let mut approve = rule("two", 3, "payment", Decision::RequireApproval);
    approve.approval = Some(approval(&["finance", "security"], 2, 60));
    approve.conditions = vec![condition("amount", "gt", json!(0))];
    let approvers = vec![
        ("security".into(), vec![key(2), key(1)]),
        ("finance".into(), vec![key(1), key(3)]),
    ];
    let policy = Policy::new(
        String::new(),
        Decision::Block,
        None,
        approvers,
        vec![redact_all, redact_some, approve],
    );
    let mut in_w = action("tool_call", &json!({"b": 1, "a": 2}));
    in_w.workflow = "w".into();
    assert_eq!(
        evaluate(&policy, &in_w).redact,
        Some(vec!["b".to_owned(), "a".to_owned()])
    );
    assert_eq!(
        evaluate(&policy, &action("tool_call", &json!({}))).redact,
        Some(vec!["card.number".to_owned()])
    );
    let terms = evaluate(&policy, &action("payment", &json!({"amount": 5})))
        .approval
        .unwrap();
    let mut expected = vec![key(1), key(2), key(3)];
    expected.sort_by_key(PublicKey::to_base64);
    assert_eq!(terms.roster, expected);
    assert_eq!(terms.quorum, 2);
}

#[test]
fn floors_reject_every_unnarrowed_allow_and_redact() {
    let not_narrowing = [
        None,
        Some(condition("path", "exists", json!(true))),
        Some(condition("path", "matches", json!("**"))),
        Some(condition("path", "regex", json!(".*"))),
    ];
    for verb in ["payment", "delete", "account_change", "data_export", "any"] {
        for decision in [Decision::Allow, Decision::Redact] {
            for extra in &not_narrowing {
                let mut bad = rule("bad", 1, verb, decision);
                bad.conditions = extra.iter().cloned().collect();
                bad.subject = Subject::Workflow("billing".into());
                bad.scope = Scope::parse_one("api.example.com").unwrap();
                let policy =
                    Policy::new(String::new(), Decision::Block, None, Vec::new(), vec![bad]);
                let violations = floor_violations(&policy);
                assert_eq!(violations.len(), 1, "{verb} {decision:?} {extra:?}");
            }
            let mut narrowed = rule("ok", 1, verb, decision);
            narrowed.conditions = vec![condition("amount", "lte", json!(50))];
            let policy = Policy::new(
                String::new(),
                Decision::Block,
                None,
                Vec::new(),
                vec![narrowed],
            );
            assert!(floor_violations(&policy).is_empty(), "{verb} {decision:?}");
        }
    }
    let message = |verb: &str| {
        let policy = Policy::new(
            String::new(),
            Decision::Block,
            None,
            Vec::new(),
            vec![rule("r", 1, verb, Decision::Allow)],
        );
        floor_violations(&policy).remove(0).message
    };
    assert_eq!(
        message("delete"),
        "rule `r` allows `delete` with no narrowing condition; add a condition (for example on `path`) or use decision = \"require_approval\""
    );
    assert_eq!(
        message("any"),
        "rule `r` allows every verb, including payment, delete, account_change and data_export, with no narrowing condition; name a verb or add a condition"
    );
    let mut disabled = rule("off", 1, "delete", Decision::Allow);
    disabled.enabled = false;
    let blocked = rule("b", 1, "delete", Decision::Block);
    let safe = rule("s", 1, "tool_call", Decision::Allow);
    let policy = Policy::new(
        String::new(),
        Decision::Block,
        None,
        Vec::new(),
        vec![disabled, blocked, safe],
    );
    assert!(floor_violations(&policy).is_empty());
}
