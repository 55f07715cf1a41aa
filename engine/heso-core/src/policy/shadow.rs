//! `[[rule]]` tables that can never match (the `shadowed` warning of policy.md §10).
//!
//! A rule is shadowed when an enabled rule before it in evaluation order has no conditions and
//! matches every action the later rule could match: the same or a broader subject, the same verb
//! or `any`, and scope `*` or a scope that contains every host pattern of the later one. (The
//! spec says "the same scope"; containing it is the same argument and catches `["a", "b"]`
//! hiding `"a"`.) Such a rule is dead code, almost always an ordering mistake.

use crate::policy::model::{Policy, Rule, Subject};
use crate::policy::scope::Scope;

/// A rule that can never match, and the earlier rule that hides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shadowing {
    /// Index in `Policy::rules` (file order) of the rule that never matches.
    pub hidden: usize,
    /// Index in `Policy::rules` of the first earlier rule that hides it.
    pub by: usize,
}

/// Every enabled rule hidden by an earlier one, in file order of the hidden rule.
pub fn shadowed_rules(policy: &Policy) -> Vec<Shadowing> {
    let order: Vec<usize> = policy
        .evaluation_order()
        .map(|rule| rule.position)
        .collect();
    let mut found = Vec::new();
    for (place, &hidden) in order.iter().enumerate() {
        let Some(later) = policy.rules.get(hidden) else {
            continue;
        };
        let earlier = order.iter().take(place).copied();
        if let Some(by) = earlier
            .into_iter()
            .find(|&index| policy.rules.get(index).is_some_and(|e| hides(e, later)))
        {
            found.push(Shadowing { hidden, by });
        }
    }
    found.sort_by_key(|shadowing| shadowing.hidden);
    found
}

/// Whether `earlier` matches every action `later` could match.
fn hides(earlier: &Rule, later: &Rule) -> bool {
    let subject = match (&earlier.subject, &later.subject) {
        (Subject::Any, _) => true,
        (broad, narrow) => broad == narrow,
    };
    let verb = earlier.verb == "any" || earlier.verb == later.verb;
    let scope = match (&earlier.scope, &later.scope) {
        (Scope::Any, _) => true,
        (Scope::Hosts(_), Scope::Any) => false,
        (Scope::Hosts(broad), Scope::Hosts(narrow)) => narrow.iter().all(|p| broad.contains(p)),
    };
    earlier.conditions.is_empty() && subject && verb && scope
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::load::load_policy;

    fn shadowed(rules: &str) -> Vec<(String, String)> {
        let text = format!("default_decision = \"block\"\n{rules}");
        let loaded = load_policy("heso.toml", text.as_bytes()).unwrap();
        let policy = loaded.policy;
        shadowed_rules(&policy)
            .into_iter()
            .map(|s| {
                (
                    policy.rules[s.hidden].id.clone(),
                    policy.rules[s.by].id.clone(),
                )
            })
            .collect()
    }

    fn rule(id: &str, order: i64, extra: &str) -> String {
        format!("[[rule]]\nid = \"{id}\"\norder = {order}\ndecision = \"block\"\n{extra}\n")
    }

    #[test]
    fn an_unconditional_rule_hides_later_rules_of_its_verb() {
        let rules = [
            rule("all-tools", 1, "verb = \"tool_call\""),
            rule(
                "one-tool",
                2,
                "verb = \"tool_call\"\nconditions = [{ field = \"a\", op = \"exists\" }]",
            ),
            rule("llm", 3, "verb = \"llm_call\""),
        ]
        .concat();
        assert_eq!(shadowed(&rules), [("one-tool".into(), "all-tools".into())]);
    }

    #[test]
    fn evaluation_order_not_file_order_decides() {
        let rules = [
            rule(
                "late-in-file",
                5,
                "verb = \"tool_call\"\nscope = \"a.example\"",
            ),
            rule("first-by-order", 1, "verb = \"any\""),
        ]
        .concat();
        assert_eq!(
            shadowed(&rules),
            [("late-in-file".into(), "first-by-order".into())]
        );
    }

    #[test]
    fn conditions_narrower_subjects_and_scopes_do_not_hide() {
        let rules = [
            rule(
                "conditional",
                1,
                "verb = \"tool_call\"\nconditions = [{ field = \"a\", op = \"exists\" }]",
            ),
            rule(
                "workflow",
                2,
                "verb = \"tool_call\"\nsubject = { kind = \"workflow\", value = \"w\" }",
            ),
            rule(
                "scoped",
                3,
                "verb = \"tool_call\"\nscope = [\"a.example\", \"b.example\"]",
            ),
            rule("disabled", 4, "verb = \"tool_call\"\nenabled = false"),
            rule("everything", 5, "verb = \"tool_call\""),
        ]
        .concat();
        assert_eq!(shadowed(&rules), []);
    }

    #[test]
    fn a_broader_scope_or_subject_hides_a_narrower_one() {
        let rules = [
            rule(
                "two-hosts",
                1,
                "verb = \"http_request\"\nscope = [\"a.example\", \"b.example\"]",
            ),
            rule(
                "one-host",
                2,
                "verb = \"http_request\"\nscope = \"A.example.\"",
            ),
            rule("any-subject", 3, "verb = \"delete\""),
            rule(
                "account",
                4,
                "verb = \"delete\"\nsubject = { kind = \"account\", value = \"x\" }",
            ),
            rule(
                "same-account",
                5,
                "verb = \"delete\"\nsubject = { kind = \"account\", value = \"x\" }",
            ),
        ]
        .concat();
        assert_eq!(
            shadowed(&rules),
            [
                ("one-host".into(), "two-hosts".into()),
                ("account".into(), "any-subject".into()),
                ("same-account".into(), "any-subject".into()),
            ]
        );
    }

    #[test]
    fn the_loader_warns_at_the_hidden_rule() {
        let text = format!(
            "default_decision = \"block\"\n{}{}",
            rule("all", 1, "verb = \"any\""),
            rule("tool.allow", 2, "verb = \"tool_call\"")
        );
        let loaded = load_policy("heso.toml", text.as_bytes()).unwrap();
        let shown: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(shown[0], "heso.toml:7:1: rule `tool.allow` can never match: rule `all` (line 2) comes first and matches every action it could; give `tool.allow` a lower order or narrow `all`");
        assert_eq!(loaded.warnings[0].code, "shadowed");
    }
}
