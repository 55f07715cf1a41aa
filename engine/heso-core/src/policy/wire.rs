//! The JSON forms of an action and of an evaluation, shared by policy tests, `policy explain`,
//! the test vectors and the Python binding, so every caller reads and writes them the same way.

use serde_json::{json, Map, Value};

use crate::identity::PublicKey;
use crate::policy::condition::Action;
use crate::policy::eval::Evaluation;
use crate::policy::scope::normalize_host;

/// The seven verbs an action can have (policy.md §6.2; `any` is for rules only).
pub const ACTION_VERBS: [&str; 7] = [
    "llm_call",
    "tool_call",
    "http_request",
    "payment",
    "data_export",
    "account_change",
    "delete",
];

/// The keys of an action object.
const ACTION_KEYS: [&str; 6] = [
    "verb",
    "tool_name",
    "target_host",
    "workflow",
    "account",
    "fields",
];

/// Builds an action from its JSON object: `verb` (required, one of the seven), `tool_name`
/// (default `test`), `target_host` (normalized as policy.md §6.4 says), `workflow` and `account`
/// (default `default`), `fields` (an object, default `{}`). These are the defaults of
/// policy.md §11.
///
/// The error is one line naming the key at fault.
pub fn action_from_json(value: &Value) -> Result<Action, String> {
    let Some(object) = value.as_object() else {
        return Err("an action must be an object".to_owned());
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !ACTION_KEYS.contains(&key.as_str()))
    {
        return Err(format!(
            "unknown action key `{}`; expected one of {}",
            unknown.escape_debug(),
            ACTION_KEYS.join(", ")
        ));
    }
    let text = |key: &str, default: Option<&str>| -> Result<Option<String>, String> {
        match object.get(key) {
            None => Ok(default.map(str::to_owned)),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("action `{key}` must be a string")),
        }
    };
    let verb = text("verb", None)?.ok_or_else(|| "an action needs a `verb`".to_owned())?;
    if !ACTION_VERBS.contains(&verb.as_str()) {
        return Err(format!(
            "unknown verb `{}`; expected one of {}",
            verb.escape_debug(),
            ACTION_VERBS.join(", ")
        ));
    }
    let target_host = match text("target_host", None)? {
        None => None,
        Some(host) => Some(normalize_host(&host).ok_or_else(|| {
            format!(
                "target_host `{}` is not a host; write a name such as `api.example.com` or an IP address",
                host.escape_debug()
            )
        })?),
    };
    let fields = match object.get("fields") {
        None => Map::new(),
        Some(Value::Object(fields)) => fields.clone(),
        Some(_) => return Err("action `fields` must be an object".to_owned()),
    };
    Ok(Action {
        verb,
        tool_name: text("tool_name", Some("test"))?.unwrap_or_default(),
        target_host,
        workflow: text("workflow", Some("default"))?.unwrap_or_default(),
        account: text("account", Some("default"))?.unwrap_or_default(),
        fields,
    })
}

/// The JSON object of an action, with every key present (`target_host` may be null).
pub fn action_to_json(action: &Action) -> Value {
    json!({
        "verb": action.verb,
        "tool_name": action.tool_name,
        "target_host": action.target_host,
        "workflow": action.workflow,
        "account": action.account,
        "fields": action.fields,
    })
}

/// The JSON object of an evaluation: `decision`, `rule_id`, `rule_display`,
/// `matched_conditions`, `approval` (`{approvers, roster, quorum, sla_minutes, on_timeout}` with
/// the roster as base64 keys, or null) and `redact` (a list, or null).
pub fn evaluation_to_json(evaluation: &Evaluation) -> Value {
    let approval = evaluation.approval.as_ref().map(|terms| {
        json!({
            "approvers": terms.approvers,
            "roster": terms.roster.iter().map(PublicKey::to_base64).collect::<Vec<_>>(),
            "quorum": terms.quorum,
            "sla_minutes": terms.sla_minutes,
            "on_timeout": terms.on_timeout,
        })
    });
    json!({
        "decision": evaluation.decision.name(),
        "rule_id": evaluation.rule_id,
        "rule_display": evaluation.rule_display,
        "matched_conditions": evaluation.matched_conditions,
        "approval": approval,
        "redact": evaluation.redact,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_of_policy_tests_apply() {
        let action = action_from_json(&json!({"verb": "payment"})).unwrap();
        assert_eq!(action.tool_name, "test");
        assert_eq!(action.workflow, "default");
        assert_eq!(action.account, "default");
        assert_eq!(action.target_host, None);
        assert!(action.fields.is_empty());
    }

    #[test]
    fn hosts_are_normalized() {
        let action =
            action_from_json(&json!({"verb": "http_request", "target_host": "API.Example.COM."}))
                .unwrap();
        assert_eq!(action.target_host.as_deref(), Some("api.example.com"));
        assert_eq!(action_to_json(&action)["target_host"], "api.example.com");
    }

    #[test]
    fn bad_actions_are_one_line_each() {
        for (value, message) in [
            (json!([]), "an action must be an object"),
            (json!({}), "an action needs a `verb`"),
            (json!({"verb": "any"}), "unknown verb `any`; expected one of llm_call, tool_call, http_request, payment, data_export, account_change, delete"),
            (json!({"verb": "delete", "fields": []}), "action `fields` must be an object"),
            (json!({"verb": "delete", "tool_name": 1}), "action `tool_name` must be a string"),
            (json!({"verb": "delete", "host": "x"}), "unknown action key `host`; expected one of verb, tool_name, target_host, workflow, account, fields"),
            (json!({"verb": "delete", "target_host": "https://x.com/"}), "target_host `https://x.com/` is not a host; write a name such as `api.example.com` or an IP address"),
        ] {
            assert_eq!(action_from_json(&value).unwrap_err(), message);
        }
    }
}
