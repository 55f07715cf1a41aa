//! `rule_display`, the sentence that names the deciding rule in every receipt (policy.md §12).
//!
//! The sentence is signed into receipts, so its bytes are a contract: this module is the one place
//! that writes them. It works on a small view of a rule ([`SubjectView`], the verb, the rendered
//! scope and conditions, [`OutcomeView`]) rather than on the policy model, so the grammar can be
//! read, and tested byte for byte, on its own.
//!
//! ```text
//! When <subject> <verb-phrase><scope-part><cond-part>, then <outcome>.
//! ```
//!
//! The pieces rendered elsewhere are passed in already written: the scope part is
//! [`Scope::display`](crate::policy::scope::Scope::display) and each condition is its `display`
//! text or `path op-text`.
//!
//! The functions refuse, with `None`, any input that §12's grammar cannot write (an unknown verb,
//! an empty approver or redaction list, a quorum of 0, approvers named where the sentence names
//! none) instead of writing a sentence that would then be signed. The loader rejects all of these
//! first, so a `None` here means a bug in the caller, which should fail closed rather than sign
//! bytes no other implementation would produce.

use serde_json::Value;

use crate::json::canonicalize;

/// Who a rule applies to (policy.md §6.1), as the sentence names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectView<'a> {
    /// `kind = "any"`: "any agent".
    Any,
    /// `kind = "workflow"`: "an agent in workflow" and the workflow as a JSON string.
    Workflow(&'a str),
    /// `kind = "account"`: "an agent acting for account" and the account as a JSON string.
    Account(&'a str),
}

/// What a rule decides, with the terms the sentence names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeView<'a> {
    /// `decision = "allow"`.
    Allow,
    /// `decision = "block"`.
    Block,
    /// `decision = "redact"`: the rule's `redact` paths as written, or `None` for all fields.
    Redact(Option<&'a [String]>),
    /// `decision = "require_approval"` on a rule.
    RequireApproval {
        /// Distinct approving keys needed; at least 1.
        quorum: u32,
        /// The rule's `approvers` as written; at least one.
        approvers: &'a [String],
        /// The rule's `sla_minutes` (1440 when not written). A shorter `sla` given in code never
        /// reaches the sentence.
        sla_minutes: u32,
    },
    /// A `require_approval` result of `policy.default` or `policy.floor.unmatched`, which names
    /// no approvers: "require approval from any registered approver within 1440m".
    RequireApprovalAnyone {
        /// The approval deadline in minutes: 1440 for these ids (policy.md §7.4).
        sla_minutes: u32,
    },
}

/// The verb phrase of a verb (policy.md §12): `calls a model` for `llm_call`, …, `takes any
/// action` for `any`. `None` for anything else, spelling variants included.
///
/// ```
/// use heso_core::policy::display::verb_phrase;
///
/// assert_eq!(verb_phrase("delete"), Some("deletes a resource"));
/// assert_eq!(verb_phrase("payments"), None);
/// ```
pub fn verb_phrase(verb: &str) -> Option<&'static str> {
    Some(match verb {
        "llm_call" => "calls a model",
        "tool_call" => "calls a tool",
        "http_request" => "sends an HTTP request",
        "payment" => "makes a payment",
        "data_export" => "exports data",
        "account_change" => "changes an account",
        "delete" => "deletes a resource",
        "any" => "takes any action",
        _ => return None,
    })
}

/// The `rule_display` of a rule (policy.md §12):
/// `When <subject> <verb-phrase><scope-part><cond-part>, then <outcome>.`
///
/// `scope_part` is [`Scope::display`](crate::policy::scope::Scope::display) of the rule's scope
/// (empty for `*`). `conditions` are the rendered condition texts (each the condition's `display`,
/// or `path op-text`) in the order written; none gives no `where` clause.
///
/// Returns `None` when the grammar cannot write the rule: an unknown verb, a `redact` or
/// `approvers` list that is empty, a quorum of 0, or [`OutcomeView::RequireApprovalAnyone`],
/// which only the reserved ids use.
///
/// ```
/// use heso_core::policy::display::{rule_display, OutcomeView, SubjectView};
///
/// let approvers = ["security-admin".to_owned()];
/// let outcome = OutcomeView::RequireApproval { quorum: 1, approvers: &approvers, sla_minutes: 30 };
/// assert_eq!(
///     rule_display(&SubjectView::Any, "payment", "", &["amount > 1000".to_owned()], &outcome)
///         .as_deref(),
///     Some(
///         "When any agent makes a payment where amount > 1000, \
///          then require approval from security-admin within 30m."
///     ),
/// );
/// ```
pub fn rule_display(
    subject: &SubjectView<'_>,
    verb: &str,
    scope_part: &str,
    conditions: &[String],
    outcome: &OutcomeView<'_>,
) -> Option<String> {
    let mut out = String::from("When ");
    match subject {
        SubjectView::Any => out.push_str("any agent"),
        SubjectView::Workflow(workflow) => {
            out.push_str("an agent in workflow ");
            out.push_str(&qstr(workflow));
        }
        SubjectView::Account(account) => {
            out.push_str("an agent acting for account ");
            out.push_str(&qstr(account));
        }
    }
    out.push(' ');
    out.push_str(verb_phrase(verb)?);
    out.push_str(scope_part);
    for (index, condition) in conditions.iter().enumerate() {
        out.push_str(if index == 0 { " where " } else { " and " });
        out.push_str(condition);
    }
    out.push_str(", then ");
    push_outcome(&mut out, outcome, Approvers::Named)?;
    out.push('.');
    Some(out)
}

/// The `rule_display` of a reserved rule id (policy.md §12, §7.6), or `None` for any other id.
///
/// * `policy.default`: `When no rule matches, then <outcome>.`
/// * `policy.floor.unmatched`: `When no rule matches and the agent <verb-phrase>, then
///   <outcome>.`
/// * `policy.error`, `approval.rejected`, `approval.expired`: fixed sentences ending in `block`;
///   `verb` and `outcome` are not used.
///
/// `verb` is used by `policy.floor.unmatched` only, and written whatever it is (the floor applies
/// to dangerous verbs, but that is the evaluator's concern). For the first two ids a
/// `require_approval` outcome names no approvers, so it must be
/// [`OutcomeView::RequireApprovalAnyone`]; a named [`OutcomeView::RequireApproval`] or an unknown
/// verb gives `None`, as does an outcome [`rule_display`] would refuse.
///
/// ```
/// use heso_core::policy::display::{reserved_display, OutcomeView};
///
/// assert_eq!(
///     reserved_display("policy.error", "", &OutcomeView::Block).as_deref(),
///     Some("When the policy cannot be loaded, then block."),
/// );
/// assert_eq!(reserved_display("llm.allow", "llm_call", &OutcomeView::Allow), None);
/// ```
pub fn reserved_display(rule_id: &str, verb: &str, outcome: &OutcomeView<'_>) -> Option<String> {
    let mut out = String::from("When ");
    match rule_id {
        "policy.default" => out.push_str("no rule matches"),
        "policy.floor.unmatched" => {
            out.push_str("no rule matches and the agent ");
            out.push_str(verb_phrase(verb)?);
        }
        "policy.error" => return Some("When the policy cannot be loaded, then block.".to_owned()),
        "approval.rejected" => {
            return Some("When an approver rejected this exact action, then block.".to_owned())
        }
        "approval.expired" => {
            return Some(
                "When no approver decided this exact action in time, then block.".to_owned(),
            )
        }
        _ => return None,
    }
    out.push_str(", then ");
    push_outcome(&mut out, outcome, Approvers::Anyone)?;
    out.push('.');
    Some(out)
}

/// A JSON string literal as RFC 8785 writes it: in double quotes, with only the escapes JSON
/// requires (`\"`, `\\`, `\b \f \n \r \t`, other control characters as `\u00xx`) and every other
/// character raw. This is the `qstr` of policy.md §12, used for subject values and string
/// operands.
///
/// ```
/// use heso_core::policy::display::qstr;
///
/// assert_eq!(qstr("say \"hi\""), r#""say \"hi\"""#);
/// assert_eq!(qstr("é"), "\"é\"");
/// ```
pub fn qstr(text: &str) -> String {
    let bytes = canonicalize(&Value::String(text.to_owned()));
    // INVARIANT: the canonical form of a string is the string's own UTF-8 with ASCII quotes and
    // escapes added, so it is valid UTF-8 and the lossy conversion never replaces anything.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Which `require_approval` form a sentence may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approvers {
    /// A rule's: the approvers it names.
    Named,
    /// A reserved id's: any registered approver.
    Anyone,
}

/// Appends `outcome` as §12 writes it, or returns `None` when the grammar cannot write it (see
/// [`rule_display`] and [`reserved_display`]).
fn push_outcome(out: &mut String, outcome: &OutcomeView<'_>, form: Approvers) -> Option<()> {
    match outcome {
        OutcomeView::Allow => out.push_str("allow"),
        OutcomeView::Block => out.push_str("block"),
        OutcomeView::Redact(None) => out.push_str("allow with all fields redacted"),
        OutcomeView::Redact(Some(paths)) => {
            // An empty list would read "allow with  redacted": no path, yet the word "redacted".
            if paths.is_empty() {
                return None;
            }
            out.push_str("allow with ");
            out.push_str(&paths.join(", "));
            out.push_str(" redacted");
        }
        OutcomeView::RequireApproval {
            quorum,
            approvers,
            sla_minutes,
        } => {
            if form != Approvers::Named || approvers.is_empty() || *quorum == 0 {
                return None;
            }
            out.push_str("require ");
            if *quorum == 1 {
                out.push_str("approval ");
            } else {
                out.push_str(&quorum.to_string());
                out.push_str(" approvals ");
            }
            out.push_str("from ");
            out.push_str(&approvers.join(", "));
            push_within(out, *sla_minutes);
        }
        OutcomeView::RequireApprovalAnyone { sla_minutes } => {
            if form != Approvers::Anyone {
                return None;
            }
            out.push_str("require approval from any registered approver");
            push_within(out, *sla_minutes);
        }
    }
    Some(())
}

/// Appends ` within <minutes>m`.
fn push_within(out: &mut String, sla_minutes: u32) {
    out.push_str(" within ");
    out.push_str(&sla_minutes.to_string());
    out.push('m');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::scope::Scope;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    fn display(
        subject: SubjectView<'_>,
        verb: &str,
        scope_part: &str,
        conditions: &[&str],
        outcome: OutcomeView<'_>,
    ) -> String {
        rule_display(&subject, verb, scope_part, &strings(conditions), &outcome).unwrap()
    }

    // §12 examples table: every row, byte for byte.

    #[test]
    fn starter_llm_allow() {
        assert_eq!(
            display(SubjectView::Any, "llm_call", "", &[], OutcomeView::Allow),
            "When any agent calls a model, then allow."
        );
    }

    #[test]
    fn starter_http_allow() {
        let scope = Scope::parse_one("*").unwrap().display();
        assert_eq!(
            display(
                SubjectView::Any,
                "http_request",
                &scope,
                &[],
                OutcomeView::Allow
            ),
            "When any agent sends an HTTP request, then allow."
        );
    }

    #[test]
    fn starter_delete_requires_approval() {
        let approvers = strings(&["security-admin"]);
        let outcome = OutcomeView::RequireApproval {
            quorum: 1,
            approvers: &approvers,
            sla_minutes: 30,
        };
        assert_eq!(
            display(SubjectView::Any, "delete", "", &[], outcome),
            "When any agent deletes a resource, then require approval from security-admin within \
             30m."
        );
    }

    #[test]
    fn starter_payment_large_requires_approval() {
        let approvers = strings(&["security-admin"]);
        let outcome = OutcomeView::RequireApproval {
            quorum: 1,
            approvers: &approvers,
            sla_minutes: 30,
        };
        assert_eq!(
            display(SubjectView::Any, "payment", "", &["amount > 1000"], outcome),
            "When any agent makes a payment where amount > 1000, then require approval from \
             security-admin within 30m."
        );
    }

    #[test]
    fn section_6_example_with_workflow_and_two_conditions() {
        let conditions = ["amount is at most 50", r#"currency in ["usd", "eur"]"#];
        assert_eq!(
            display(
                SubjectView::Workflow("billing"),
                "payment",
                "",
                &conditions,
                OutcomeView::Allow
            ),
            r#"When an agent in workflow "billing" makes a payment where amount is at most 50 and currency in ["usd", "eur"], then allow."#
        );
    }

    #[test]
    fn scoped_block() {
        let scope = Scope::parse_list(&["pastebin.com", "*.ngrok.io"])
            .unwrap()
            .display();
        assert_eq!(
            display(
                SubjectView::Any,
                "http_request",
                &scope,
                &[],
                OutcomeView::Block
            ),
            "When any agent sends an HTTP request on host pastebin.com or a subdomain of \
             ngrok.io, then block."
        );
    }

    #[test]
    fn redact_with_list() {
        let paths = strings(&["email", "card.number"]);
        assert_eq!(
            display(
                SubjectView::Account("acme"),
                "data_export",
                "",
                &["rows <= 100"],
                OutcomeView::Redact(Some(&paths))
            ),
            r#"When an agent acting for account "acme" exports data where rows <= 100, then allow with email, card.number redacted."#
        );
    }

    #[test]
    fn quorum_2() {
        let approvers = strings(&["security-admin", "finance"]);
        let outcome = OutcomeView::RequireApproval {
            quorum: 2,
            approvers: &approvers,
            sla_minutes: 60,
        };
        assert_eq!(
            display(
                SubjectView::Any,
                "account_change",
                "",
                &[r#"$tool_name matches "iam_*""#],
                outcome
            ),
            r#"When any agent changes an account where $tool_name matches "iam_*", then require 2 approvals from security-admin, finance within 60m."#
        );
    }

    #[test]
    fn floor_unmatched_delete() {
        let outcome = OutcomeView::RequireApprovalAnyone { sla_minutes: 1440 };
        assert_eq!(
            reserved_display("policy.floor.unmatched", "delete", &outcome).as_deref(),
            Some(
                "When no rule matches and the agent deletes a resource, then require approval \
                 from any registered approver within 1440m."
            )
        );
    }

    // The rest of the grammar.

    #[test]
    fn redact_without_a_list_redacts_all_fields() {
        assert_eq!(
            display(
                SubjectView::Any,
                "tool_call",
                "",
                &[],
                OutcomeView::Redact(None)
            ),
            "When any agent calls a tool, then allow with all fields redacted."
        );
    }

    #[test]
    fn any_verb_with_scope_and_condition_puts_scope_before_where() {
        let scope = Scope::parse_one("10.0.0.7").unwrap().display();
        assert_eq!(
            display(
                SubjectView::Any,
                "any",
                &scope,
                &["env == \"prod\""],
                OutcomeView::Block
            ),
            "When any agent takes any action on host 10.0.0.7 where env == \"prod\", then block."
        );
    }

    #[test]
    fn subject_values_are_json_strings() {
        assert_eq!(
            display(
                SubjectView::Workflow("say \"hi\"\\"),
                "llm_call",
                "",
                &[],
                OutcomeView::Allow
            ),
            r#"When an agent in workflow "say \"hi\"\\" calls a model, then allow."#
        );
        assert_eq!(
            display(
                SubjectView::Account("Zürich\n"),
                "llm_call",
                "",
                &[],
                OutcomeView::Allow
            ),
            r#"When an agent acting for account "Zürich\n" calls a model, then allow."#
        );
    }

    #[test]
    fn quorum_above_2_is_written_in_decimal() {
        let approvers = strings(&["a", "b", "c"]);
        let outcome = OutcomeView::RequireApproval {
            quorum: 12,
            approvers: &approvers,
            sla_minutes: 525_600,
        };
        assert_eq!(
            display(SubjectView::Any, "delete", "", &[], outcome),
            "When any agent deletes a resource, then require 12 approvals from a, b, c within \
             525600m."
        );
    }

    #[test]
    fn rule_display_refuses_what_the_grammar_cannot_write() {
        let none: Vec<String> = Vec::new();
        let one = strings(&["security-admin"]);
        let refused = [
            ("payments", OutcomeView::Allow),
            ("Payment", OutcomeView::Allow),
            ("", OutcomeView::Allow),
            ("payment", OutcomeView::Redact(Some(&none))),
            (
                "payment",
                OutcomeView::RequireApproval {
                    quorum: 1,
                    approvers: &none,
                    sla_minutes: 30,
                },
            ),
            (
                "payment",
                OutcomeView::RequireApproval {
                    quorum: 0,
                    approvers: &one,
                    sla_minutes: 30,
                },
            ),
            (
                "payment",
                OutcomeView::RequireApprovalAnyone { sla_minutes: 1440 },
            ),
        ];
        for (verb, outcome) in refused {
            assert_eq!(
                rule_display(&SubjectView::Any, verb, "", &[], &outcome),
                None,
                "{verb} {outcome:?}"
            );
        }
    }

    // §12 reserved ids.

    #[test]
    fn policy_default_renders_its_outcome() {
        let cases = [
            (OutcomeView::Allow, "When no rule matches, then allow."),
            (OutcomeView::Block, "When no rule matches, then block."),
            (
                OutcomeView::RequireApprovalAnyone { sla_minutes: 1440 },
                "When no rule matches, then require approval from any registered approver \
                 within 1440m.",
            ),
        ];
        for (outcome, expected) in cases {
            // The verb is not part of this sentence, not even an unknown one.
            assert_eq!(
                reserved_display("policy.default", "payments", &outcome).as_deref(),
                Some(expected)
            );
        }
    }

    #[test]
    fn floor_unmatched_renders_the_verb_given() {
        assert_eq!(
            reserved_display("policy.floor.unmatched", "payment", &OutcomeView::Block).as_deref(),
            Some("When no rule matches and the agent makes a payment, then block.")
        );
        assert_eq!(
            reserved_display("policy.floor.unmatched", "any", &OutcomeView::Block).as_deref(),
            Some("When no rule matches and the agent takes any action, then block.")
        );
        assert_eq!(
            reserved_display("policy.floor.unmatched", "payments", &OutcomeView::Block),
            None
        );
    }

    #[test]
    fn fixed_reserved_sentences_ignore_verb_and_outcome() {
        let cases = [
            (
                "policy.error",
                "When the policy cannot be loaded, then block.",
            ),
            (
                "approval.rejected",
                "When an approver rejected this exact action, then block.",
            ),
            (
                "approval.expired",
                "When no approver decided this exact action in time, then block.",
            ),
        ];
        for (rule_id, expected) in cases {
            for (verb, outcome) in [("payment", OutcomeView::Allow), ("", OutcomeView::Block)] {
                assert_eq!(
                    reserved_display(rule_id, verb, &outcome).as_deref(),
                    Some(expected)
                );
            }
        }
    }

    #[test]
    fn reserved_ids_never_name_approvers() {
        let approvers = strings(&["security-admin"]);
        let named = OutcomeView::RequireApproval {
            quorum: 1,
            approvers: &approvers,
            sla_minutes: 1440,
        };
        assert_eq!(reserved_display("policy.default", "delete", &named), None);
        assert_eq!(
            reserved_display("policy.floor.unmatched", "delete", &named),
            None
        );
    }

    #[test]
    fn other_ids_are_not_reserved() {
        for rule_id in [
            "llm.allow",
            "policy",
            "policy.",
            "policy.defaults",
            "Policy.default",
            "approval.pending",
            "",
        ] {
            assert_eq!(
                reserved_display(rule_id, "delete", &OutcomeView::Block),
                None,
                "{rule_id}"
            );
        }
    }

    #[test]
    fn qstr_writes_minimal_json_escapes() {
        assert_eq!(qstr(""), r#""""#);
        assert_eq!(qstr("billing"), r#""billing""#);
        assert_eq!(qstr("a\"b"), r#""a\"b""#);
        assert_eq!(qstr("a\\b"), r#""a\\b""#);
        assert_eq!(qstr("\u{1f}"), r#""\u001f""#);
        assert_eq!(qstr("\u{0}\u{7f}"), "\"\\u0000\u{7f}\"");
        assert_eq!(qstr("\u{8}\u{c}\n\r\t"), r#""\b\f\n\r\t""#);
        // Non-ASCII is raw UTF-8, and `/` and `<` are not escaped.
        assert_eq!(qstr("Zürich/東京 <😀>"), "\"Zürich/東京 <😀>\"");
        assert_eq!(qstr("\u{2028}"), "\"\u{2028}\"");
    }

    #[test]
    fn verb_phrase_of_every_verb() {
        let table = [
            ("llm_call", "calls a model"),
            ("tool_call", "calls a tool"),
            ("http_request", "sends an HTTP request"),
            ("payment", "makes a payment"),
            ("data_export", "exports data"),
            ("account_change", "changes an account"),
            ("delete", "deletes a resource"),
            ("any", "takes any action"),
        ];
        for (verb, phrase) in table {
            assert_eq!(verb_phrase(verb), Some(phrase), "{verb}");
        }
        for verb in ["", "payments", "Payment", "DELETE", " delete", "*"] {
            assert_eq!(verb_phrase(verb), None, "{verb:?}");
        }
    }
}
