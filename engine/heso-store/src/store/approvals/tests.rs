//! Approvals on real SQLite files (storage.md §16 item 8): request ids, every transition of the
//! §10.3 state table, consumption exactly once, refused legs, races and the store audit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, UNIX_EPOCH};

use heso_core::identity::{Identity, SecretSeed};
use heso_core::receipt::approval::{ApproverRecord, LegDecision};
use heso_core::receipt::mint::{approver_entry, Signer};
use heso_core::receipt::redaction::{redact, RedactMode};
use heso_core::receipt::report::{PinSource, Pinning};
use heso_core::receipt::verify::{verify_receipt_bytes, Pins, TrustLevel, Verdict};
use rusqlite::Connection;
use serde_json::{json, Map, Value};
use tempfile::TempDir;

use crate::store::testing::{approver, operator};
use crate::store::{
    audit_store, AppendRequest, Appended, ApprovalError, ApprovalFilter, ApprovalRequest,
    ApprovalState, Clock, GateOutcome, GateRequest, LegOutcome, LegSubmission, RequestTerms,
    SessionType, Signing, Store, StoreError, StoreOptions, DB_FILE,
};

const RULE: &str = "payment.large.requires_approval";
const SLA_MINUTES: u32 = 30;
const CONSUMER: &str = "4242@agent-host";

fn approver_b() -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([0x33; 32]))
}

fn approver_c() -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([0x34; 32]))
}

fn key(identity: &Identity) -> String {
    identity.public_key().to_base64()
}

/// A clock the test moves by hand, shared by every store opened with it.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn options(&self) -> StoreOptions {
        // 2026-11-24T12:00:00Z plus the offset.
        let start = UNIX_EPOCH + Duration::from_hours(498_756);
        let offset = self.0.clone();
        StoreOptions {
            clock: Clock::from_fn(move || {
                start + Duration::from_secs(offset.load(Ordering::SeqCst))
            }),
            ..StoreOptions::default()
        }
    }

    fn advance_minutes(&self, minutes: u64) {
        self.0.fetch_add(minutes * 60, Ordering::SeqCst);
    }
}

struct Fixture {
    dir: TempDir,
    clock: TestClock,
    store: Store,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = TestClock::default();
        let store = Store::open(dir.path(), clock.options()).unwrap();
        Self { dir, clock, store }
    }

    /// Another store on the same file, with its own clock.
    fn second_store(&self, clock: &TestClock) -> Store {
        Store::open(self.dir.path(), clock.options()).unwrap()
    }

    fn raw(&self) -> Connection {
        Connection::open(self.dir.path().join(DB_FILE)).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.raw().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Every approvals and legs row, as text, to prove a refusal wrote nothing.
    fn approval_tables(&self) -> String {
        let conn = self.raw();
        let mut out = String::new();
        for sql in [
            "SELECT id, state, decided_at, final_receipt_id, reopened_at FROM approvals ORDER BY id",
            "SELECT approval_id, approver_key, decision FROM approval_legs ORDER BY rowid",
            "SELECT count(*) FROM receipts",
        ] {
            let mut statement = conn.prepare(sql).unwrap();
            let columns = statement.column_count();
            let rows = statement
                .query_map([], |row| {
                    (0..columns)
                        .map(|i| row.get::<_, rusqlite::types::Value>(i).map(|v| format!("{v:?}")))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap();
            for row in rows {
                out.push_str(&row.unwrap().join("|"));
                out.push('\n');
            }
        }
        out
    }

    fn request(&self, id: &str) -> ApprovalRequest {
        self.store.reader().unwrap().approval(id).unwrap()
    }
}

/// The action as captured before redaction.
fn action(amount: i64) -> Map<String, Value> {
    json!({"verb": "payment", "tool_name": "charge_card", "workflow": "billing",
           "account": "acme", "fields": {"amount": amount, "card": "4111-1111-1111-1111"}})
    .as_object()
    .cloned()
    .unwrap()
}

/// A fresh salt per capture, as commit-and-reveal draws them.
fn salt() -> [u8; 32] {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut salt = [0u8; 32];
    salt[..8].copy_from_slice(&NEXT.fetch_add(1, Ordering::SeqCst).to_le_bytes());
    salt
}

/// The pending receipt of one capture: `card` redacted with commit-and-reveal.
fn pending<'a>(action: &Map<String, Value>, operator: &'a Identity) -> AppendRequest<'a> {
    let mut redacted = action.clone();
    let mut fields = redacted["fields"].as_object().cloned().unwrap();
    let (record, reveals) = redact(
        &mut fields,
        &["card".to_owned()],
        RedactMode::CommitAndReveal,
        &mut salt,
    );
    redacted.insert("fields".to_owned(), Value::Object(fields));
    let mut content = Map::new();
    content.insert("action".to_owned(), Value::Object(redacted));
    content.insert(
        "policy".to_owned(),
        json!({"rule_id": RULE,
               "rule_display": "When any agent makes a payment where amount > 1000, then require approval from finance within 30m.",
               "matched_conditions": [{"field": "amount", "op": "gt", "value": 1000}],
               "decision_path": "require_approval"}),
    );
    content.insert("redaction".to_owned(), record.unwrap());
    AppendRequest::chained(
        "billing",
        SessionType::Action,
        content,
        Signing::Operator(operator),
    )
    .with_reveals(reveals)
}

fn terms(roster: &[&Identity], threshold: u32) -> RequestTerms {
    RequestTerms {
        rule_id: RULE.to_owned(),
        // Unsorted on purpose: the store sorts.
        roster: roster.iter().rev().map(|i| key(i)).collect(),
        threshold,
        sla_minutes: SLA_MINUTES,
    }
}

/// One attempt of the gated call, with `registered` the keys now in `heso.toml`.
fn gate(
    store: &Store,
    amount: i64,
    roster: &[&Identity],
    threshold: u32,
    registered: &[&Identity],
) -> Result<GateOutcome, StoreError> {
    let op = operator();
    let action = action(amount);
    let registered: Vec<String> = registered.iter().map(|i| key(i)).collect();
    let lookup = move |rule: &str| {
        if rule == RULE {
            registered.clone()
        } else {
            Vec::new()
        }
    };
    store.gate_approval(&GateRequest {
        action: &action,
        pending: pending(&action, &op),
        terms: terms(roster, threshold),
        registered: &lookup,
        consumer: CONSUMER.to_owned(),
    })
}

fn record(approver: &Identity, decision: LegDecision) -> ApproverRecord {
    ApproverRecord {
        decision,
        approver_identity: approver.public_key(),
        reason: format!("{} by test", decision.name()),
        decided_at: "2026-11-24T12:05:00Z".to_owned(),
        sla_minutes: Some(SLA_MINUTES),
    }
}

/// An approver tool: signs the body of `request` and submits the leg.
fn decide_on(
    store: &Store,
    request: &ApprovalRequest,
    approver: &Identity,
    decision: LegDecision,
    registered: &[&Identity],
) -> Result<LegOutcome, StoreError> {
    let record = record(approver, decision);
    let entry = approver_entry(
        request.approval_body(&record),
        &Signer::new(approver).unwrap(),
    )
    .unwrap();
    submit(store, request, &record.to_value(), &entry, registered)
}

fn submit(
    store: &Store,
    request: &ApprovalRequest,
    record: &Value,
    entry: &Value,
    registered: &[&Identity],
) -> Result<LegOutcome, StoreError> {
    let registered: Vec<String> = registered.iter().map(|i| key(i)).collect();
    store.add_approval_leg(&LegSubmission {
        request_id: &request.request_id,
        generation: request.generation,
        record,
        signature: entry,
        registered: &|_| registered.clone(),
    })
}

fn opened(outcome: GateOutcome) -> (ApprovalRequest, Appended) {
    match outcome {
        GateOutcome::Opened {
            request,
            pending_receipt,
        } => (request, pending_receipt),
        other => panic!("expected Opened, got {other:?}"),
    }
}

fn approval_error(result: Result<LegOutcome, StoreError>) -> ApprovalError {
    match result {
        Err(StoreError::Approval(error)) => error,
        other => panic!("expected an approval error, got {other:?}"),
    }
}

fn body(appended: &Appended) -> Value {
    serde_json::from_slice(&appended.body).unwrap()
}

fn pinned(approvers: &[&Identity]) -> Pins {
    Pins {
        operators: vec![operator().public_key()],
        approvers: approvers.iter().map(|a| a.public_key()).collect(),
    }
}

fn assert_audit_passes(fixture: &Fixture) {
    let pinning = Pinning::On {
        operators: (vec![operator().public_key()], PinSource::Flags),
        approvers: (
            vec![
                approver().public_key(),
                approver_b().public_key(),
                approver_c().public_key(),
            ],
            PinSource::Flags,
        ),
    };
    let audit = audit_store(fixture.dir.path(), pinning, 2, &mut |_, _| {}).unwrap();
    let check = audit
        .store_checks
        .iter()
        .find(|c| c.name == "approval_receipts")
        .unwrap();
    assert!(check.ok, "{check:?}");
    assert!(
        audit.ok(),
        "{:?} {:?}",
        audit.store_lines(),
        audit.report.text_lines(false)
    );
}

fn block_receipts(fixture: &Fixture, rule_id: &str) -> i64 {
    let conn = fixture.raw();
    let mut statement = conn
        .prepare("SELECT body FROM receipts WHERE decision = 'block'")
        .unwrap();
    let bodies: Vec<Vec<u8>> = statement
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let matching = bodies
        .iter()
        .map(|b| serde_json::from_slice::<Value>(b).unwrap())
        .filter(|v| v["content"]["policy"]["rule_id"] == rule_id)
        .count();
    i64::try_from(matching).unwrap()
}

// ------------------------------------------------------------------------------------ request ids

#[test]
fn retries_with_fresh_salts_find_the_same_request_and_other_actions_do_not() {
    let fixture = Fixture::new();
    let a = approver();
    let (first, pending_receipt) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    assert_eq!(first.request_id.len(), 64);
    assert_eq!(first.generation, 1);
    assert_eq!(first.state, ApprovalState::Pending);
    assert_eq!(first.roster, [key(&a)]);
    assert_eq!(first.expires_at, "2026-11-24T12:30:00.000Z");
    // A retry captures the card again with a fresh salt: another signed form, the same request.
    let GateOutcome::Pending { request } = gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap()
    else {
        panic!("a retry of a pending request reports pending");
    };
    assert_eq!(request.request_id, first.request_id);
    assert_eq!(request.id, first.id);
    // The retry recorded nothing: only the first pending receipt exists.
    assert_eq!(fixture.count("SELECT count(*) FROM receipts"), 1);
    assert_eq!(request.pending_receipt_id, pending_receipt.id);
    // The reader derives the same id from the un-redacted action.
    let mut reader = fixture.store.reader().unwrap();
    let id = reader
        .snapshot(|s| s.approval_request_id(&action(5000)))
        .unwrap();
    assert_eq!(id, first.request_id);
    // Another amount is another request.
    let (other, _) = opened(gate(&fixture.store, 5001, &[&a], 1, &[&a]).unwrap());
    assert_ne!(other.request_id, first.request_id);
    assert_eq!(other.generation, 1);
    // The base content is the pending receipt's content without chain block and hash.
    let pending_content = &body(&pending_receipt)["content"];
    assert_eq!(first.base_content["action"], pending_content["action"]);
    assert!(!first.base_content.contains_key("seq"));
    assert!(!first.base_content.contains_key("action_hash"));
    assert_eq!(first.operator_key(), key(&operator()));
}

#[test]
fn requests_are_found_by_unique_prefix_and_listed_by_state() {
    let fixture = Fixture::new();
    let a = approver();
    let (first, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    let (second, _) = opened(gate(&fixture.store, 6000, &[&a], 1, &[&a]).unwrap());
    let mut reader = fixture.store.reader().unwrap();
    let found = reader
        .approval(&first.request_id[..6].to_uppercase())
        .unwrap();
    assert_eq!(found.id, first.id);
    assert!(matches!(
        reader.approval("abcde"),
        Err(StoreError::Approval(ApprovalError::BadPrefix(_)))
    ));
    assert!(matches!(
        reader.approval("zzzzzz"),
        Err(StoreError::Approval(ApprovalError::BadPrefix(_)))
    ));
    // Two ids sharing a prefix (written by hand) make the prefix ambiguous.
    let conn = fixture.raw();
    for suffix in ["1", "2"] {
        conn.execute(
            "INSERT INTO approvals (request_id, generation, state, session_id, pending_receipt_id,
                 base_content, rule_id, threshold, roster, created_at, expires_at)
             SELECT ?1, 1, 'expired', session_id, pending_receipt_id, base_content, rule_id,
                 threshold, roster, created_at, expires_at FROM approvals WHERE id = ?2",
            rusqlite::params![format!("abcdef{}", suffix.repeat(58)), first.id],
        )
        .unwrap();
    }
    let Err(StoreError::Approval(ApprovalError::Ambiguous { candidates, .. })) =
        reader.approval("abcdef")
    else {
        panic!("an ambiguous prefix is refused");
    };
    assert_eq!(candidates, ["abcdef111111", "abcdef222222"]);
    assert!(matches!(
        reader.approval("abcdef3"),
        Err(StoreError::Approval(ApprovalError::NotFound(_)))
    ));
    let pending = reader
        .approvals(&ApprovalFilter {
            state: Some(ApprovalState::Pending),
            latest_only: true,
        })
        .unwrap();
    let ids: Vec<i64> = pending.iter().map(|r| r.id).collect();
    assert_eq!(ids, [first.id, second.id]);
    assert_eq!(
        reader.approvals(&ApprovalFilter::default()).unwrap().len(),
        4
    );
}

// ---------------------------------------------------------------------------- single approver

#[test]
fn a_single_approval_is_consumed_once_into_a_pinned_valid_l1_receipt() {
    let fixture = Fixture::new();
    let a = approver();
    let (request, pending_receipt) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    let leg = decide_on(&fixture.store, &request, &a, LegDecision::Approved, &[&a]).unwrap();
    assert_eq!(leg.approvals, 1);
    assert_eq!(leg.request.state, ApprovalState::Approved);
    assert!(leg.request.decided_at.is_some());
    assert_eq!(leg.request.legs.len(), 1);

    let GateOutcome::Approved {
        request: consumed,
        approval_receipt,
    } = gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap()
    else {
        panic!("an approved request is consumed");
    };
    assert_eq!(consumed.state, ApprovalState::Consumed);
    assert_eq!(consumed.consumed_by.as_deref(), Some(CONSUMER));
    assert!(consumed.consumed_at.is_some());
    assert_eq!(consumed.final_receipt_id, Some(approval_receipt.id));
    assert!(
        approval_receipt.chain.is_none(),
        "approval receipts are standalone"
    );
    let verification = verify_receipt_bytes(&approval_receipt.body, Some(&pinned(&[&a])));
    assert_eq!(verification.verdict, Verdict::Valid, "{verification:?}");
    assert_eq!(verification.trust_level, Some(TrustLevel::L1));
    // Bound to the exact pending action and capture time.
    let receipt = body(&approval_receipt);
    let pending = body(&pending_receipt);
    assert_eq!(receipt["content"]["action"], pending["content"]["action"]);
    assert_eq!(
        receipt["content"]["captured_at"],
        pending["content"]["captured_at"]
    );
    assert_eq!(
        receipt["content"]["approver_decision"]["decision"],
        "approved"
    );
    // Pinned to another approver, the same receipt is not trusted.
    let other = verify_receipt_bytes(&approval_receipt.body, Some(&pinned(&[&approver_b()])));
    assert_eq!(other.verdict, Verdict::UntrustedSigner);
    // The outbox carries it.
    assert_eq!(
        fixture.count(&format!(
            "SELECT count(*) FROM outbox WHERE receipt_id = {}",
            approval_receipt.id
        )),
        1
    );

    // The next identical call needs a new approval: generation 2.
    let (next, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    assert_eq!(next.request_id, request.request_id);
    assert_eq!(next.generation, 2);
    assert_eq!(
        fixture.count("SELECT count(*) FROM approvals WHERE state = 'consumed'"),
        1
    );
    assert_audit_passes(&fixture);
}

// ---------------------------------------------------------------------------------- quorum

#[test]
fn two_of_three_approvals_assemble_a_pinned_valid_quorum_receipt() {
    let fixture = Fixture::new();
    let (a, b, c) = (approver(), approver_b(), approver_c());
    let roster = [&a, &b, &c];
    let (request, _) = opened(gate(&fixture.store, 9000, &roster, 2, &roster).unwrap());
    let first = decide_on(&fixture.store, &request, &b, LegDecision::Approved, &roster).unwrap();
    assert_eq!(first.approvals, 1);
    assert_eq!(first.request.state, ApprovalState::Pending);
    assert!(matches!(
        gate(&fixture.store, 9000, &roster, 2, &roster).unwrap(),
        GateOutcome::Pending { .. }
    ));
    let second = decide_on(&fixture.store, &request, &c, LegDecision::Approved, &roster).unwrap();
    assert_eq!(second.approvals, 2);
    assert_eq!(second.request.state, ApprovalState::Approved);
    // A third approver is too late: the request is no longer pending.
    assert!(matches!(
        approval_error(decide_on(
            &fixture.store,
            &request,
            &a,
            LegDecision::Approved,
            &roster
        )),
        ApprovalError::NotPending {
            state: "approved",
            ..
        }
    ));
    let GateOutcome::Approved {
        approval_receipt, ..
    } = gate(&fixture.store, 9000, &roster, 2, &roster).unwrap()
    else {
        panic!("a 2-of-3 approved request is consumed");
    };
    let verification = verify_receipt_bytes(&approval_receipt.body, Some(&pinned(&[&b, &c])));
    assert_eq!(verification.verdict, Verdict::Valid, "{verification:?}");
    let receipt = body(&approval_receipt);
    let quorum = &receipt["content"]["multi_approval"];
    assert_eq!(quorum["threshold"], 2);
    assert_eq!(quorum["roster"].as_array().unwrap().len(), 3);
    assert_eq!(quorum["approvers"].as_array().unwrap().len(), 2);
    assert_eq!(receipt["signatures"].as_array().unwrap().len(), 3);
    assert_audit_passes(&fixture);
}

#[test]
fn any_rejection_vetoes_and_is_refused_on_every_attempt_until_reopened() {
    let fixture = Fixture::new();
    let (a, b, c) = (approver(), approver_b(), approver_c());
    let roster = [&a, &b, &c];
    let (request, _) = opened(gate(&fixture.store, 7000, &roster, 2, &roster).unwrap());
    decide_on(&fixture.store, &request, &a, LegDecision::Approved, &roster).unwrap();
    let rejected = decide_on(&fixture.store, &request, &b, LegDecision::Rejected, &roster).unwrap();
    assert_eq!(rejected.request.state, ApprovalState::Rejected);
    // Even a second approval (the threshold) cannot undo the veto.
    assert!(matches!(
        approval_error(decide_on(
            &fixture.store,
            &request,
            &c,
            LegDecision::Approved,
            &roster
        )),
        ApprovalError::NotPending {
            state: "rejected",
            ..
        }
    ));

    let GateOutcome::Rejected {
        request: refused,
        block_receipt,
        rejection_receipt: Some(rejection_receipt),
    } = gate(&fixture.store, 7000, &roster, 2, &roster).unwrap()
    else {
        panic!("the first meeting assembles the rejected L1 receipt");
    };
    assert_eq!(refused.final_receipt_id, Some(rejection_receipt.id));
    let verification = verify_receipt_bytes(&rejection_receipt.body, Some(&pinned(&[&b])));
    assert_eq!(verification.verdict, Verdict::Valid, "{verification:?}");
    let rejection = body(&rejection_receipt);
    assert_eq!(
        rejection["content"]["approver_decision"]["decision"],
        "rejected"
    );
    assert_eq!(rejection["content"]["trust_level"], "L1");
    let block = body(&block_receipt);
    assert_eq!(block["content"]["policy"]["rule_id"], "approval.rejected");
    assert_eq!(block["content"]["policy"]["decision_path"], "block");
    assert_eq!(
        block["content"]["policy"]["rule_display"],
        "When an approver rejected this exact action, then block."
    );
    assert_eq!(block["content"]["trust_level"], "L0");
    assert_eq!(
        block_receipt.chain.as_ref().map(|c| c.0.as_str()),
        Some("billing")
    );
    assert_eq!(
        block["content"]["action"],
        Value::Object(request.base_content["action"].as_object().cloned().unwrap())
    );

    // Every later attempt records another block receipt, never another L1 receipt.
    let GateOutcome::Rejected {
        rejection_receipt: None,
        ..
    } = gate(&fixture.store, 7000, &roster, 2, &roster).unwrap()
    else {
        panic!("later meetings only block");
    };
    assert_eq!(block_receipts(&fixture, "approval.rejected"), 2);
    assert_eq!(
        fixture.count("SELECT count(*) FROM receipts WHERE session_id IS NULL"),
        1
    );
    assert_audit_passes(&fixture);
}

#[test]
fn reopening_lifts_a_sticky_rejection_once() {
    let fixture = Fixture::new();
    let a = approver();
    let (request, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    // Only a rejected request can be reopened.
    assert!(matches!(
        fixture.store.reopen_approval(&request.request_id),
        Err(StoreError::Approval(ApprovalError::NotRejected {
            state: "pending",
            ..
        }))
    ));
    decide_on(&fixture.store, &request, &a, LegDecision::Rejected, &[&a]).unwrap();
    let reopened = fixture
        .store
        .reopen_approval(&request.request_id[..8])
        .unwrap();
    assert!(!reopened.already_reopened);
    assert!(reopened.request.reopened_at.is_some());
    assert_eq!(reopened.request.state, ApprovalState::Rejected);
    let again = fixture.store.reopen_approval(&request.request_id).unwrap();
    assert!(again.already_reopened);
    assert_eq!(again.request.reopened_at, reopened.request.reopened_at);
    // A reopened rejection counts as consumed: the next call opens generation 2, and records no
    // refusal (the rejected L1 receipt was never assembled, since no call met the rejection).
    let (next, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    assert_eq!(next.generation, 2);
    assert_eq!(block_receipts(&fixture, "approval.rejected"), 0);
    assert_audit_passes(&fixture);
}

// -------------------------------------------------------------------------------- refused legs

/// A 2-of-3 request with one approval from `a`, and the refusals that follow.
fn half_approved(fixture: &Fixture) -> ApprovalRequest {
    let (a, b, op) = (approver(), approver_b(), operator());
    // The operator key on the roster can only come from a broken policy; the store still refuses.
    let roster = [&a, &b, &op];
    let (request, _) = opened(gate(&fixture.store, 5000, &roster, 2, &roster).unwrap());
    decide_on(&fixture.store, &request, &a, LegDecision::Approved, &roster).unwrap();
    request
}

fn assert_one_line(error: &ApprovalError) {
    let text = error.to_string();
    assert!(!text.contains('\n') && !text.ends_with('.'), "{text}");
    assert!(text.contains("nothing was recorded"), "{text}");
}

#[test]
fn legs_from_keys_that_may_not_decide_write_nothing() {
    let fixture = Fixture::new();
    let (a, b, c, op) = (approver(), approver_b(), approver_c(), operator());
    let request = half_approved(&fixture);
    let before = fixture.approval_tables();

    let not_on_roster = approval_error(decide_on(
        &fixture.store,
        &request,
        &c,
        LegDecision::Approved,
        &[&a, &b, &c],
    ));
    assert!(matches!(not_on_roster, ApprovalError::NotOnRoster { .. }));
    assert!(
        not_on_roster.to_string().contains("heso approver show"),
        "{not_on_roster}"
    );
    let not_registered = approval_error(decide_on(
        &fixture.store,
        &request,
        &b,
        LegDecision::Approved,
        &[&a],
    ));
    assert!(
        matches!(not_registered, ApprovalError::NotRegistered { .. }),
        "{not_registered}"
    );
    let own = approval_error(decide_on(
        &fixture.store,
        &request,
        &op,
        LegDecision::Approved,
        &[&a, &b, &op],
    ));
    assert!(matches!(own, ApprovalError::SelfApproval { .. }), "{own}");
    let duplicate = approval_error(decide_on(
        &fixture.store,
        &request,
        &a,
        LegDecision::Rejected,
        &[&a, &b],
    ));
    assert!(
        matches!(duplicate, ApprovalError::DuplicateLeg { .. }),
        "{duplicate}"
    );
    for error in [&not_on_roster, &not_registered, &own, &duplicate] {
        assert_one_line(error);
    }
    assert_eq!(fixture.approval_tables(), before);
}

#[test]
fn legs_whose_signature_does_not_bind_this_body_write_nothing() {
    let fixture = Fixture::new();
    let (a, b, c) = (approver(), approver_b(), approver_c());
    let request = half_approved(&fixture);
    let before = fixture.approval_tables();
    let mut errors = Vec::new();

    // b signs a record, then submits another (a different reason): the body differs.
    let signed = record(&b, LegDecision::Approved);
    let entry = approver_entry(request.approval_body(&signed), &Signer::new(&b).unwrap()).unwrap();
    let mut altered = signed.clone();
    altered.reason = "something else".to_owned();
    errors.push(approval_error(submit(
        &fixture.store,
        &request,
        &altered.to_value(),
        &entry,
        &[&a, &b],
    )));
    // c signs b's body: the entry's key is not the record's.
    let stolen = approver_entry(request.approval_body(&signed), &Signer::new(&c).unwrap()).unwrap();
    errors.push(approval_error(submit(
        &fixture.store,
        &request,
        &signed.to_value(),
        &stolen,
        &[&a, &b],
    )));
    // A signature over another generation's body (another pending receipt) does not verify.
    let mut other_body = request.approval_body(&signed);
    other_body.insert("captured_at".to_owned(), "2026-11-24T11:00:00Z".into());
    let other = approver_entry(other_body, &Signer::new(&b).unwrap()).unwrap();
    errors.push(approval_error(submit(
        &fixture.store,
        &request,
        &signed.to_value(),
        &other,
        &[&a, &b],
    )));
    for error in &errors {
        assert!(
            matches!(error, ApprovalError::BadSignature { .. }),
            "{error}"
        );
    }
    let mut escalated = signed.to_value();
    escalated["decision"] = "escalated".into();
    let bad_record = approval_error(submit(
        &fixture.store,
        &request,
        &escalated,
        &entry,
        &[&a, &b],
    ));
    assert!(
        matches!(bad_record, ApprovalError::BadRecord { .. }),
        "{bad_record}"
    );
    let mut wrong_generation = request.clone();
    wrong_generation.generation = 2;
    let bad_generation = approval_error(submit(
        &fixture.store,
        &wrong_generation,
        &signed.to_value(),
        &entry,
        &[&a, &b],
    ));
    assert!(
        matches!(
            bad_generation,
            ApprovalError::NoSuchGeneration { generation: 2, .. }
        ),
        "{bad_generation}"
    );
    errors.extend([bad_record, bad_generation]);
    for error in &errors {
        assert_one_line(error);
    }
    assert_eq!(fixture.approval_tables(), before);
    // The honest leg still goes through afterwards.
    let leg = submit(
        &fixture.store,
        &request,
        &signed.to_value(),
        &entry,
        &[&a, &b],
    )
    .unwrap();
    assert_eq!(leg.request.state, ApprovalState::Approved);
}

// ---------------------------------------------------------------------------------- revocation

#[test]
fn a_key_removed_after_approving_sends_the_request_back_to_pending() {
    let fixture = Fixture::new();
    let (a, b) = (approver(), approver_b());
    let (request, _) = opened(gate(&fixture.store, 5000, &[&a, &b], 1, &[&a, &b]).unwrap());
    decide_on(
        &fixture.store,
        &request,
        &a,
        LegDecision::Approved,
        &[&a, &b],
    )
    .unwrap();
    let receipts_before = fixture.count("SELECT count(*) FROM receipts");

    // The project owner removes a's key from heso.toml.
    let GateOutcome::Revoked {
        request: reverted,
        revoked_keys,
    } = gate(&fixture.store, 5000, &[&a, &b], 1, &[&b]).unwrap()
    else {
        panic!("a revoked approval is not consumed");
    };
    assert_eq!(revoked_keys, [key(&a)]);
    assert_eq!(reverted.state, ApprovalState::Pending);
    assert_eq!(reverted.generation, request.generation);
    assert_eq!(reverted.expires_at, request.expires_at);
    assert!(reverted.decided_at.is_none());
    assert_eq!(reverted.legs.len(), 1, "revoked legs stay recorded");
    assert_eq!(
        fixture.count("SELECT count(*) FROM receipts"),
        receipts_before
    );

    // Still pending on the next attempt; a's old leg never counts again.
    assert!(matches!(
        gate(&fixture.store, 5000, &[&a, &b], 1, &[&b]).unwrap(),
        GateOutcome::Pending { .. }
    ));
    let leg = decide_on(&fixture.store, &reverted, &b, LegDecision::Approved, &[&b]).unwrap();
    assert_eq!(leg.approvals, 1);
    assert_eq!(leg.request.state, ApprovalState::Approved);
    let GateOutcome::Approved {
        approval_receipt, ..
    } = gate(&fixture.store, 5000, &[&a, &b], 1, &[&b]).unwrap()
    else {
        panic!("b's approval is consumed");
    };
    let receipt = body(&approval_receipt);
    assert_eq!(
        receipt["content"]["approver_decision"]["approver_identity"],
        key(&b)
    );
    assert_audit_passes(&fixture);
}

// --------------------------------------------------------------------------------------- expiry

#[test]
fn an_overdue_request_reads_expired_and_is_expired_once_by_the_next_call() {
    let fixture = Fixture::new();
    let a = approver();
    let (request, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    fixture.clock.advance_minutes(u64::from(SLA_MINUTES) + 1);
    // Readers see it expired before anyone writes it.
    let read = fixture.request(&request.request_id);
    assert_eq!(read.state, ApprovalState::Expired);
    assert_eq!(read.stored_state, ApprovalState::Pending);
    // The approver is too late, and writes nothing.
    let before = fixture.approval_tables();
    let late = approval_error(decide_on(
        &fixture.store,
        &request,
        &a,
        LegDecision::Approved,
        &[&a],
    ));
    assert!(matches!(late, ApprovalError::Overdue { .. }), "{late}");
    assert_eq!(fixture.approval_tables(), before);

    let GateOutcome::Expired {
        request: expired,
        block_receipt,
    } = gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap()
    else {
        panic!("the call meeting an overdue request expires it");
    };
    assert_eq!(expired.stored_state, ApprovalState::Expired);
    let block = body(&block_receipt);
    assert_eq!(block["content"]["policy"]["rule_id"], "approval.expired");
    assert_eq!(
        block["content"]["policy"]["rule_display"],
        "When no approver decided this exact action in time, then block."
    );
    // The next attempt opens generation 2 and records no second refusal.
    let (next, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    assert_eq!(next.generation, 2);
    assert_eq!(next.expires_at, "2026-11-24T13:01:00.000Z");
    assert_eq!(block_receipts(&fixture, "approval.expired"), 1);
    assert_audit_passes(&fixture);
}

#[test]
fn an_approved_request_does_not_expire() {
    let fixture = Fixture::new();
    let a = approver();
    let (request, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    decide_on(&fixture.store, &request, &a, LegDecision::Approved, &[&a]).unwrap();
    fixture.clock.advance_minutes(24 * 60);
    assert_eq!(
        fixture.request(&request.request_id).state,
        ApprovalState::Approved
    );
    assert!(matches!(
        gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap(),
        GateOutcome::Approved { .. }
    ));
}

// ---------------------------------------------------------------------------------------- races

#[test]
fn two_racing_consumers_consume_exactly_once() {
    for _ in 0..4 {
        let fixture = Fixture::new();
        let a = approver();
        let (request, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
        decide_on(&fixture.store, &request, &a, LegDecision::Approved, &[&a]).unwrap();
        let stores = [
            fixture.second_store(&fixture.clock),
            fixture.second_store(&fixture.clock),
        ];
        let barrier = Barrier::new(2);
        let outcomes: Vec<GateOutcome> = std::thread::scope(|scope| {
            let handles: Vec<_> = stores
                .iter()
                .map(|store| {
                    let (a, barrier) = (&a, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        gate(store, 5000, &[a], 1, &[a]).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let consumed = outcomes
            .iter()
            .filter(|o| matches!(o, GateOutcome::Approved { .. }))
            .count();
        assert_eq!(consumed, 1, "{outcomes:?}");
        // The loser met `consumed` and opened a new request for the same call.
        let loser = outcomes
            .iter()
            .find(|o| !matches!(o, GateOutcome::Approved { .. }))
            .unwrap();
        let GateOutcome::Opened { request: next, .. } = loser else {
            panic!("the loser opens generation 2, got {loser:?}");
        };
        assert_eq!(next.generation, 2);
        assert_eq!(
            fixture.count("SELECT count(*) FROM approvals WHERE state = 'consumed'"),
            1
        );
        assert_eq!(
            fixture.count("SELECT count(*) FROM receipts WHERE session_id IS NULL"),
            1
        );
        assert_audit_passes(&fixture);
    }
}

#[test]
fn an_expiry_racing_an_approval_ends_in_one_consistent_state() {
    for round in 0..6 {
        let fixture = Fixture::new();
        let a = approver();
        let amount = 5000 + round;
        let (request, _) = opened(gate(&fixture.store, amount, &[&a], 1, &[&a]).unwrap());
        // The approver's clock is one minute before the deadline, the agent's one minute after.
        let approver_clock = TestClock::default();
        approver_clock.advance_minutes(u64::from(SLA_MINUTES) - 1);
        let agent_clock = TestClock::default();
        agent_clock.advance_minutes(u64::from(SLA_MINUTES) + 1);
        let approver_store = fixture.second_store(&approver_clock);
        let agent_store = fixture.second_store(&agent_clock);
        let barrier = Barrier::new(2);
        let (leg, outcome) = std::thread::scope(|scope| {
            let leg = scope.spawn(|| {
                barrier.wait();
                decide_on(&approver_store, &request, &a, LegDecision::Approved, &[&a])
            });
            let outcome = scope.spawn(|| {
                barrier.wait();
                gate(&agent_store, amount, &[&a], 1, &[&a]).unwrap()
            });
            (leg.join().unwrap(), outcome.join().unwrap())
        });
        let stored = fixture.request(&request.request_id);
        match (&leg, &outcome) {
            // The approval committed first: an approved request does not expire.
            (Ok(_), GateOutcome::Approved { .. }) => {
                assert_eq!(stored.stored_state, ApprovalState::Consumed);
            }
            // The expiry committed first: the late leg was refused and wrote nothing.
            (
                Err(StoreError::Approval(ApprovalError::NotPending {
                    state: "expired", ..
                })),
                GateOutcome::Expired { .. },
            ) => {
                assert_eq!(stored.stored_state, ApprovalState::Expired);
                assert!(stored.legs.is_empty());
            }
            other => panic!("inconsistent race outcome: {other:?}"),
        }
        assert_audit_passes(&fixture);
    }
}

// ----------------------------------------------------------------------------------- requests

#[test]
fn the_gate_refuses_requests_that_are_not_pending_receipts() {
    let fixture = Fixture::new();
    let a = approver();
    let op = operator();
    let action = action(5000);
    let mut wrong = pending(&action, &op);
    wrong.content["policy"]["decision_path"] = "block".into();
    let registered = |_: &str| vec![key(&a)];
    let result = fixture.store.gate_approval(&GateRequest {
        action: &action,
        pending: wrong,
        terms: terms(&[&a], 1),
        registered: &registered,
        consumer: CONSUMER.to_owned(),
    });
    assert!(matches!(result, Err(StoreError::Request(_))), "{result:?}");
    let mut bad_terms = terms(&[&a], 1);
    bad_terms.roster.push("not a key".to_owned());
    let result = fixture.store.gate_approval(&GateRequest {
        action: &action,
        pending: pending(&action, &op),
        terms: bad_terms,
        registered: &registered,
        consumer: CONSUMER.to_owned(),
    });
    assert!(matches!(result, Err(StoreError::Request(_))), "{result:?}");
    assert_eq!(fixture.count("SELECT count(*) FROM receipts"), 0);
    assert_eq!(fixture.count("SELECT count(*) FROM approvals"), 0);
}

#[test]
fn an_expiry_and_an_approval_in_either_order() {
    let a = approver();
    let late = TestClock::default();
    late.advance_minutes(u64::from(SLA_MINUTES) + 1);
    let early = TestClock::default();
    early.advance_minutes(u64::from(SLA_MINUTES) - 1);

    // The approval lands first, inside the deadline; the call after the deadline consumes it.
    let fixture = Fixture::new();
    let (request, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    decide_on(
        &fixture.second_store(&early),
        &request,
        &a,
        LegDecision::Approved,
        &[&a],
    )
    .unwrap();
    assert!(matches!(
        gate(&fixture.second_store(&late), 5000, &[&a], 1, &[&a]).unwrap(),
        GateOutcome::Approved { .. }
    ));

    // The call lands first, after the deadline; the approver's leg then meets `expired`.
    let fixture = Fixture::new();
    let (request, _) = opened(gate(&fixture.store, 5000, &[&a], 1, &[&a]).unwrap());
    assert!(matches!(
        gate(&fixture.second_store(&late), 5000, &[&a], 1, &[&a]).unwrap(),
        GateOutcome::Expired { .. }
    ));
    let refused = approval_error(decide_on(
        &fixture.second_store(&early),
        &request,
        &a,
        LegDecision::Approved,
        &[&a],
    ));
    assert!(
        matches!(
            refused,
            ApprovalError::NotPending {
                state: "expired",
                ..
            }
        ),
        "{refused}"
    );
    assert!(fixture.request(&request.request_id).legs.is_empty());
}
