//! Writes a small project with a populated audit store, for the Python tests of the store
//! commands (`tests/test_store_cli.py`, through `HESO_TEST_STORE`).
//!
//! Usage: `cargo run -p heso-store --example fill_store -- OUT_DIR`. It writes
//! `OUT_DIR/project/heso.toml` (the starter policy pinning the operator key, with one approver
//! key on the roster) and `OUT_DIR/project/.heso/heso.db`, holding:
//!
//! * session `bulk`: plain receipts, as many as it takes for two action hashes to share their
//!   first 6 hex characters (an ambiguous prefix);
//! * session `demo`: five receipts of different verbs and decisions, one of them redacted with
//!   commit-and-reveal;
//! * session `nightly/run 1` (a name that needs escaping as a file name): two receipts;
//! * two standalone approval receipts (L1).
//!
//! and `OUT_DIR/fixture.json`, naming what the tests look for. Keys are fixed throwaway seeds and
//! the store clock starts at 2026-11-24T10:00:00Z and advances one second per reading, so every
//! run writes the same receipts.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use heso_core::identity::{Identity, SecretSeed};
use heso_core::receipt::mint::{approver_entry, Signer};
use heso_core::receipt::redaction::{redact, RedactMode};
use heso_store::store::{
    AppendRequest, Appended, Clock, SessionType, Signing, Store, StoreOptions,
};
use serde_json::{json, Map, Value};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Receipts the `bulk` session may hold before giving up on a shared 6-character prefix (the
/// first one is expected after about 5,000).
const BULK_LIMIT: u64 = 40_000;

fn identity(byte: u8) -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([byte; 32]))
}

fn content(
    verb: &str,
    tool: &str,
    decision: &str,
    workflow: &str,
    fields: &Value,
) -> Map<String, Value> {
    let mut content = Map::new();
    content.insert(
        "action".into(),
        json!({"verb": verb, "tool_name": tool, "workflow": workflow,
               "account": "acct-fixture", "fields": fields.clone()}),
    );
    let rule = if decision == "require_approval" {
        format!("{verb}.requires_approval")
    } else {
        format!("{verb}.{decision}")
    };
    content.insert(
        "policy".into(),
        json!({"rule_id": rule,
               "rule_display": format!("When any agent does {verb}, then {decision}."),
               "matched_conditions": [], "decision_path": decision}),
    );
    content
}

/// A standalone approval receipt signed by the approver and co-signed by the operator.
fn approval<'a>(
    operator: &'a Identity,
    approver: &Identity,
    captured_at: &str,
    amount: u64,
) -> Result<AppendRequest<'a>> {
    let mut body = content(
        "payment",
        "charge_card",
        "require_approval",
        "demo",
        &json!({"amount": amount}),
    );
    body.insert(
        "approver_decision".into(),
        json!({"decision": "approved", "approver_identity": approver.public_key().to_base64(),
               "reason": "within budget", "decided_at": captured_at}),
    );
    let mut stamped = body.clone();
    stamped.insert("captured_at".into(), captured_at.into());
    stamped.insert(
        "agent_identity".into(),
        operator.public_key().to_base64().into(),
    );
    stamped.insert("trust_level".into(), "L1".into());
    let signature = approver_entry(stamped, &Signer::new(approver)?)?;
    Ok(AppendRequest::standalone(
        body,
        Signing::SingleApproval {
            operator,
            approver_signature: signature,
        },
    )
    .with_captured_at(captured_at))
}

/// The store in `project/.heso`, on a clock that starts at 2026-11-24T10:00:00Z and advances
/// one second per reading.
fn open_store(project: &Path, operator: &Identity) -> Result<Store> {
    let start = UNIX_EPOCH + Duration::from_hours(498_754);
    let ticks = AtomicU64::new(0);
    let options = StoreOptions {
        clock: Clock::from_fn(move || {
            start + Duration::from_secs(ticks.fetch_add(1, Ordering::Relaxed))
        }),
        operator_public_key: Some(operator.public_key().to_base64()),
        ..StoreOptions::default()
    };
    Ok(Store::open(&project.join(".heso"), options)?)
}

/// The `bulk` session, in one transaction, until two hashes share a 6-character prefix: the
/// prefix, the session's length and the two hashes.
fn fill_bulk(store: &Store, operator: &Identity) -> Result<(String, u64, String, String)> {
    let ambiguous = store.transaction(|tx| {
        let mut seen: HashMap<String, String> = HashMap::new();
        for n in 0..BULK_LIMIT {
            let appended = tx.append(&AppendRequest::chained(
                "bulk",
                SessionType::Action,
                content("tool_call", "bulk", "allow", "bulk", &json!({"n": n})),
                Signing::Operator(operator),
            ))?;
            let prefix: String = appended.action_hash.chars().take(6).collect();
            if let Some(other) = seen.insert(prefix.clone(), appended.action_hash.clone()) {
                return Ok(Some((prefix, n + 1, other, appended.action_hash)));
            }
        }
        Ok(None)
    })?;
    ambiguous.ok_or_else(|| "no two bulk hashes share a 6-character prefix".into())
}

/// A redacted receipt: the key is committed to, and the salt and value stay in the store.
fn redacted_request(operator: &Identity) -> Result<AppendRequest<'_>> {
    let mut fields = Map::new();
    fields.insert("table".into(), "users".into());
    fields.insert("api_key".into(), "sk-live-FIXTURE".into());
    let mut salt = 0u8;
    let (record, reveals) = redact(
        &mut fields,
        &["api_key".to_owned()],
        RedactMode::CommitAndReveal,
        &mut || {
            salt = salt.wrapping_add(1);
            [salt; 32]
        },
    );
    let mut content = content(
        "data_export",
        "export_users",
        "redact",
        "demo",
        &Value::Object(fields),
    );
    content.insert("redaction".into(), record.ok_or("nothing was redacted")?);
    Ok(AppendRequest::chained(
        "demo",
        SessionType::Action,
        content,
        Signing::Operator(operator),
    )
    .with_reveals(reveals))
}

/// Sessions `demo` and `nightly/run 1` and the standalone receipts, interleaved; their facts for
/// `fixture.json`.
fn fill_the_rest(store: &Store, operator: &Identity, approver: &Identity) -> Result<Value> {
    let chained = |session: &str, content: Map<String, Value>| -> Result<Appended> {
        Ok(store.append(&AppendRequest::chained(
            session,
            SessionType::Action,
            content,
            Signing::Operator(operator),
        ))?)
    };
    let summarise = chained(
        "demo",
        content(
            "llm_call",
            "summarise",
            "allow",
            "demo",
            &json!({"model": "small"}),
        ),
    )?;
    let search = chained(
        "demo",
        content(
            "tool_call",
            "search",
            "allow",
            "demo",
            &json!({"q": "heso"}),
        ),
    )?;
    let nightly_first = chained(
        "nightly/run 1",
        content(
            "http_request",
            "fetch",
            "allow",
            "nightly",
            &json!({"url": "https://example.com"}),
        ),
    )?;
    let approval_first =
        store.append(&approval(operator, approver, "2026-11-24T10:30:00Z", 5000)?)?;
    let payment = chained(
        "demo",
        content(
            "payment",
            "charge_card",
            "require_approval",
            "demo",
            &json!({"amount": 5000}),
        ),
    )?;
    let redacted = store.append(&redacted_request(operator)?)?;
    let blocked = chained(
        "demo",
        content(
            "delete",
            "drop_table",
            "block",
            "demo",
            &json!({"table": "users"}),
        ),
    )?;
    let nightly_second = chained(
        "nightly/run 1",
        content(
            "http_request",
            "fetch",
            "block",
            "nightly",
            &json!({"url": "https://example.org"}),
        ),
    )?;
    let approval_second =
        store.append(&approval(operator, approver, "2026-11-24T10:45:00Z", 7000)?)?;
    let hashes = |list: &[&Appended]| -> Vec<String> {
        list.iter().map(|a| a.action_hash.clone()).collect()
    };
    Ok(json!({
        "demo": hashes(&[&summarise, &search, &payment, &redacted, &blocked]),
        "nightly": hashes(&[&nightly_first, &nightly_second]),
        "standalone": hashes(&[&approval_first, &approval_second]),
        "redacted": redacted.action_hash,
    }))
}

fn main() -> Result<()> {
    let out = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [out] => PathBuf::from(out),
        _ => return Err("usage: fill_store OUT_DIR".into()),
    };
    let project = out.join("project");
    std::fs::create_dir_all(&project)?;
    let operator = identity(0x51);
    let approver = identity(0x52);
    let policy = heso_core::starter::starter_policy(&operator.public_key()).replacen(
        "security-admin = []",
        &format!(
            "security-admin = [\"{}\"]",
            approver.public_key().to_base64()
        ),
        1,
    );
    std::fs::write(project.join("heso.toml"), policy)?;
    let store = open_store(&project, &operator)?;
    let (prefix, bulk, first, second) = fill_bulk(&store, &operator)?;
    let mut fixture = json!({
        "project": "project",
        "operator_public_key": operator.public_key().to_base64(),
        "approver_public_key": approver.public_key().to_base64(),
        "receipts": bulk + 9,
        "sessions": {"bulk": bulk, "demo": 5, "nightly/run 1": 2},
        "ambiguous_prefix": prefix,
        "ambiguous_hashes": [first, second],
    });
    let rest = fill_the_rest(&store, &operator, &approver)?;
    drop(store);
    if let (Some(fixture), Value::Object(rest)) = (fixture.as_object_mut(), rest) {
        fixture.extend(rest);
    }
    std::fs::write(
        out.join("fixture.json"),
        serde_json::to_string_pretty(&fixture)? + "\n",
    )?;
    println!(
        "fill_store: wrote {} receipts to {}",
        bulk + 9,
        project.display()
    );
    Ok(())
}
