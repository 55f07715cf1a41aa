//! Fixtures shared by the store's tests: keys, receipt content and stores on real files.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use heso_core::identity::{Identity, SecretSeed};
use heso_core::receipt::chain::{verify_chain, ChainMode, ChainReport};
use heso_core::receipt::verify::Pins;
use serde_json::{json, Map, Value};

use heso_core::receipt::mint::{approver_entry, Signer};

use crate::store::{AppendRequest, Clock, Signing, Store, StoreOptions, StoreReader};

/// The operator of every test store (not one of the published test keys).
pub(crate) fn operator() -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([0x31; 32]))
}

/// An approver.
pub(crate) fn approver() -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([0x32; 32]))
}

/// Options with a clock that advances one second per reading from 2026-11-24T12:00:00Z.
pub(crate) fn options() -> StoreOptions {
    let start = UNIX_EPOCH + Duration::from_hours(498_756);
    let ticks = std::sync::atomic::AtomicU64::new(0);
    StoreOptions {
        clock: Clock::from_fn(move || {
            start + Duration::from_secs(ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        }),
        ..StoreOptions::default()
    }
}

/// A store in `dir` with the test options.
pub(crate) fn open(dir: &Path) -> Store {
    Store::open(dir, options()).unwrap()
}

/// Content of a plain receipt.
pub(crate) fn content(tool: &str, decision: &str, fields: &Value) -> Map<String, Value> {
    let mut content = Map::new();
    content.insert(
        "action".into(),
        json!({"verb": "tool_call", "tool_name": tool, "workflow": "demo",
               "account": "acct-test", "fields": fields.clone()}),
    );
    content.insert(
        "policy".into(),
        json!({"rule_id": format!("tool.{decision}"), "rule_display": format!("When any agent calls a tool, then {decision}."),
               "matched_conditions": [], "decision_path": decision}),
    );
    content
}

/// The exported bodies of a session, parsed.
pub(crate) fn session_values(reader: &mut StoreReader, session: &str) -> Vec<Value> {
    let mut values = Vec::new();
    reader
        .snapshot(|s| {
            s.for_each_in_session(session, &mut |r| {
                values.push(serde_json::from_slice(&r.body).unwrap());
                Ok(())
            })
        })
        .unwrap();
    values
}

/// Verifies a session with the chain verifier, pinned to the test operator and approver.
pub(crate) fn verify_session(store: &Store, session: &str, mode: ChainMode) -> ChainReport {
    let mut reader = store.reader().unwrap();
    let receipts = session_values(&mut reader, session);
    let pins = Pins {
        operators: vec![operator().public_key()],
        approvers: vec![approver().public_key()],
    };
    verify_chain(&receipts, mode, Some(&pins))
}

/// A standalone single-approver L1 receipt as receipts.md §15.3 assembles it: `body` gets an
/// `approved` record by `appr`, who signs the body as the store will stamp it.
pub(crate) fn approval_request<'a>(
    op: &'a Identity,
    appr: &Identity,
    mut body: Map<String, Value>,
    captured_at: &str,
) -> AppendRequest<'a> {
    body.insert(
        "approver_decision".into(),
        json!({"decision": "approved", "approver_identity": appr.public_key().to_base64(),
               "reason": "within budget", "decided_at": "2026-11-24T12:05:00Z"}),
    );
    let mut stamped = body.clone();
    stamped.insert("captured_at".into(), captured_at.into());
    stamped.insert("agent_identity".into(), op.public_key().to_base64().into());
    stamped.insert("trust_level".into(), "L1".into());
    let signature = approver_entry(stamped, &Signer::new(appr).unwrap()).unwrap();
    AppendRequest::standalone(
        body,
        Signing::SingleApproval {
            operator: op,
            approver_signature: signature,
        },
    )
    .with_captured_at(captured_at)
}
