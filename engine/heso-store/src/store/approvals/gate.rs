//! The agent's side (storage.md §10.3, §10.4): what a call gated to `require_approval` does,
//! by the latest generation of its request id, inside one append transaction.

use std::collections::BTreeSet;

use heso_core::identity::{Identity, PublicKey};
use heso_core::json::canonicalize;
use heso_core::policy::eval::{APPROVAL_EXPIRED_RULE, APPROVAL_REJECTED_RULE};
use heso_core::receipt::approval::{
    approver_signature_entry, base_content, final_content, refusal_content, ApproverRecord,
    LegDecision,
};
use heso_core::receipt::verify::{verify_receipt_bytes, Pins, TrustLevel, Verdict};
use rusqlite::params;
use serde_json::{Map, Value};

use crate::store::append::{AppendRequest, Appended, Placement, SessionType, Signing, WriteTx};
use crate::store::approvals::{
    registered_set, rows, ApprovalRequest, ApprovalState, GateOutcome, GateRequest, RequestTerms,
};
use crate::store::error::StoreError;

/// Members of a body the store stamps itself at append; they are taken off the assembled content
/// and stamped back with the same values.
const STAMPED_BY_APPEND: [&str; 4] = [
    "action_version",
    "captured_at",
    "agent_identity",
    "trust_level",
];

/// Runs the gate for one call.
pub(super) fn gate(
    tx: &mut WriteTx<'_>,
    request: &GateRequest<'_>,
) -> Result<GateOutcome, StoreError> {
    let call = Call::check(request)?;
    let now = tx.now();
    let request_id = rows::request_id(tx.sql(), request.action)?;
    let Some(latest) = rows::latest(tx.sql(), &request_id, now)? else {
        return open(tx, request, &call, &request_id, 1);
    };
    let next = latest.generation + 1;
    match latest.stored_state {
        ApprovalState::Expired | ApprovalState::Consumed => {
            open(tx, request, &call, &request_id, next)
        }
        // A reopened rejection is treated like `consumed` (§10.3).
        ApprovalState::Rejected if latest.reopened_at.is_some() => {
            open(tx, request, &call, &request_id, next)
        }
        ApprovalState::Rejected => refuse_rejected(tx, &call, &latest),
        ApprovalState::Pending if latest.state == ApprovalState::Expired => {
            expire(tx, &call, &latest)
        }
        ApprovalState::Pending => Ok(GateOutcome::Pending { request: latest }),
        ApprovalState::Approved => consume(tx, request, &call, &latest),
    }
}

/// The checked parts of a gate request.
struct Call<'r> {
    operator: &'r Identity,
    session_id: &'r str,
    terms: RequestTerms,
}

impl<'r> Call<'r> {
    fn check(request: &'r GateRequest<'_>) -> Result<Self, StoreError> {
        let Signing::Operator(operator) = &request.pending.signing else {
            return Err(StoreError::request(
                "the pending receipt of an approval request is signed by the operator alone",
            ));
        };
        let Placement::Chained {
            session_id,
            session_type: SessionType::Action,
        } = &request.pending.placement
        else {
            return Err(StoreError::request(
                "the pending receipt of an approval request is chained in the workflow's action session",
            ));
        };
        let policy = request.pending.content.get("policy");
        let member = |name: &str| policy.and_then(|p| p.get(name)).and_then(Value::as_str);
        if member("decision_path") != Some("require_approval") {
            return Err(StoreError::request(
                "the pending receipt of an approval request has `decision_path` `require_approval`",
            ));
        }
        let terms = &request.terms;
        if member("rule_id") != Some(terms.rule_id.as_str()) {
            return Err(StoreError::request(format!(
                "the approval terms are for rule `{}`, the pending receipt names another rule",
                terms.rule_id
            )));
        }
        if terms.threshold == 0 {
            return Err(StoreError::request("an approval threshold is at least 1"));
        }
        let mut roster = BTreeSet::new();
        for key in &terms.roster {
            let parsed = PublicKey::from_base64(key).map_err(|e| {
                StoreError::request(format!("invalid approver key in the roster: {e}"))
            })?;
            roster.insert(parsed.to_base64());
        }
        Ok(Self {
            operator,
            session_id,
            terms: RequestTerms {
                roster: roster.into_iter().collect(),
                ..terms.clone()
            },
        })
    }

    /// A block receipt for this call in its action session.
    fn block(
        &self,
        tx: &mut WriteTx<'_>,
        base: &Map<String, Value>,
        rule_id: &str,
    ) -> Result<Appended, StoreError> {
        let content = refusal_content(base, rule_id).ok_or_else(|| {
            StoreError::integrity("the approval request's base content has no `action`")
        })?;
        // The action is copied verbatim from the pending receipt (receipts.md §15.3), so its
        // commit-and-reveal markers already have their reveal rows.
        tx.append(&AppendRequest::chained(
            self.session_id,
            SessionType::Action,
            content,
            Signing::Operator(self.operator),
        ))
    }
}

/// No live request: append the pending receipt and open generation `generation`.
fn open(
    tx: &mut WriteTx<'_>,
    request: &GateRequest<'_>,
    call: &Call<'_>,
    request_id: &str,
    generation: i64,
) -> Result<GateOutcome, StoreError> {
    let pending = tx.append(&request.pending)?;
    let Some(Value::Object(content)) = serde_json::from_slice::<Value>(&pending.body)
        .ok()
        .and_then(|mut v| v.get_mut("content").map(Value::take))
    else {
        return Err(StoreError::integrity(
            "the pending receipt just minted does not parse",
        ));
    };
    let base = canonicalize(&Value::Object(base_content(&content)));
    let now = tx.now();
    let roster = serde_json::to_string(&call.terms.roster)
        .map_err(|e| StoreError::request(format!("cannot encode the roster: {e}")))?;
    tx.sql()
        .prepare_cached(
            "INSERT INTO approvals (request_id, generation, state, session_id, pending_receipt_id,
                 base_content, rule_id, threshold, roster, created_at, expires_at)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            request_id,
            generation,
            call.session_id,
            pending.id,
            base,
            call.terms.rule_id,
            call.terms.threshold,
            roster,
            now.store_time(),
            now.after_minutes(call.terms.sla_minutes).store_time(),
        ])?;
    let id = tx.sql().last_insert_rowid();
    Ok(GateOutcome::Opened {
        request: rows::by_id(tx.sql(), id, now)?,
        pending_receipt: pending,
    })
}

/// A pending request past its deadline: write `expired` and record the refusal.
fn expire(
    tx: &mut WriteTx<'_>,
    call: &Call<'_>,
    request: &ApprovalRequest,
) -> Result<GateOutcome, StoreError> {
    set_state(
        tx,
        request.id,
        ApprovalState::Pending,
        ApprovalState::Expired,
    )?;
    let block_receipt = call.block(tx, &request.base_content, APPROVAL_EXPIRED_RULE)?;
    Ok(GateOutcome::Expired {
        request: rows::by_id(tx.sql(), request.id, tx.now())?,
        block_receipt,
    })
}

/// A rejected request: the first meeting assembles the rejected L1 receipt; every meeting
/// records an `approval.rejected` block receipt.
fn refuse_rejected(
    tx: &mut WriteTx<'_>,
    call: &Call<'_>,
    request: &ApprovalRequest,
) -> Result<GateOutcome, StoreError> {
    let rejection_receipt = if request.final_receipt_id.is_none() {
        let leg = request
            .legs
            .iter()
            .find(|l| l.decision == LegDecision::Rejected)
            .ok_or_else(|| {
                StoreError::integrity(format!(
                    "approval {} is rejected without a rejecting leg",
                    request.id
                ))
            })?;
        let signature = (leg.record.approver_identity, leg.signature.clone());
        let receipt = assemble(
            tx,
            call.operator,
            request,
            std::slice::from_ref(&leg.record),
            &[signature],
        )?;
        let changed = tx.sql().execute(
            "UPDATE approvals SET final_receipt_id = ?1
             WHERE id = ?2 AND state = 'rejected' AND final_receipt_id IS NULL",
            params![receipt.id, request.id],
        )?;
        if changed != 1 {
            return Err(StoreError::integrity(format!(
                "approval {} changed under the write lock",
                request.id
            )));
        }
        Some(receipt)
    } else {
        None
    };
    let block_receipt = call.block(tx, &request.base_content, APPROVAL_REJECTED_RULE)?;
    Ok(GateOutcome::Rejected {
        request: rows::by_id(tx.sql(), request.id, tx.now())?,
        block_receipt,
        rejection_receipt,
    })
}

/// Consumption exactly once (§10.4).
fn consume(
    tx: &mut WriteTx<'_>,
    request: &GateRequest<'_>,
    call: &Call<'_>,
    approval: &ApprovalRequest,
) -> Result<GateOutcome, StoreError> {
    if request.consumer.trim().is_empty() {
        return Err(StoreError::request(
            "the consumer is `<pid>@<hostname>` of the consuming process; pass it in",
        ));
    }
    // Removing a key from `[approvers]` revokes its approvals (policy.md §4).
    let registered = registered_set(&(request.registered)(&approval.rule_id));
    let (valid, revoked): (Vec<_>, Vec<_>) = approval
        .legs
        .iter()
        .filter(|l| l.decision == LegDecision::Approved)
        .partition(|l| {
            registered.contains(&l.approver_key)
                && approval.roster.contains(&l.approver_key)
                && l.approver_key != approval.operator_key()
        });
    if valid.len() < usize::try_from(approval.threshold).unwrap_or(usize::MAX) {
        // Same generation and deadline; this transaction writes only this change.
        let changed = tx.sql().execute(
            "UPDATE approvals SET state = 'pending', decided_at = NULL WHERE id = ?1 AND state = 'approved'",
            [approval.id],
        )?;
        if changed != 1 {
            return Err(StoreError::integrity(format!(
                "approval {} changed under the write lock",
                approval.id
            )));
        }
        return Ok(GateOutcome::Revoked {
            request: rows::by_id(tx.sql(), approval.id, tx.now())?,
            revoked_keys: revoked.iter().map(|l| l.approver_key.clone()).collect(),
        });
    }
    // A single-approver request takes one record: the most recent valid approval.
    let chosen: Vec<_> = if approval.threshold <= 1 {
        valid.last().into_iter().copied().collect()
    } else {
        valid
    };
    let records: Vec<ApproverRecord> = chosen.iter().map(|l| l.record.clone()).collect();
    let signatures: Vec<(PublicKey, String)> = chosen
        .iter()
        .map(|l| (l.record.approver_identity, l.signature.clone()))
        .collect();
    let receipt = assemble(tx, call.operator, approval, &records, &signatures)?;
    let now = tx.now().store_time();
    let changed = tx.sql().execute(
        "UPDATE approvals SET state = 'consumed', consumed_at = ?1, consumed_by = ?2,
             final_receipt_id = ?3
         WHERE id = ?4 AND state = 'approved'",
        params![now, request.consumer, receipt.id, approval.id],
    )?;
    if changed != 1 {
        return Err(StoreError::integrity(format!(
            "approval {} was consumed by another writer under the write lock",
            approval.id
        )));
    }
    Ok(GateOutcome::Approved {
        request: rows::by_id(tx.sql(), approval.id, tx.now())?,
        approval_receipt: receipt,
    })
}

/// Assembles, appends and checks the standalone L1 receipt of a request from its records and
/// their signatures (receipts.md §15.3 step 3 and the binding checks).
fn assemble(
    tx: &mut WriteTx<'_>,
    operator: &Identity,
    approval: &ApprovalRequest,
    records: &[ApproverRecord],
    signatures: &[(PublicKey, String)],
) -> Result<Appended, StoreError> {
    let operator_key = operator.public_key();
    if approval.operator_key() != operator_key.to_base64() {
        return Err(StoreError::request(format!(
            "request `{}` was made under another operator key; only that key can complete it (open a new request with the same call after the old one expires)",
            approval.short_id()
        )));
    }
    let base = &approval.base_content;
    let mut content = final_content(base, records, approval.threshold, &approval.roster)
        .map_err(|e| StoreError::integrity(format!("approval {}: {e}", approval.id)))?;
    for name in STAMPED_BY_APPEND {
        content.remove(name);
    }
    let captured_at = base
        .get("captured_at")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            StoreError::integrity(format!("approval {} has no `captured_at`", approval.id))
        })?;
    let entries: Vec<Value> = signatures
        .iter()
        .map(|(key, signature)| approver_signature_entry(key, signature))
        .collect();
    let signing = match entries.as_slice() {
        [entry] if !content.contains_key("multi_approval") => Signing::SingleApproval {
            operator,
            approver_signature: entry.clone(),
        },
        _ => Signing::Quorum {
            operator,
            legs: entries,
        },
    };
    let appended =
        tx.append(&AppendRequest::standalone(content, signing).with_captured_at(captured_at))?;
    // receipts.md §15.3 (iv): Valid L1, pinned to this operator and these approvers.
    let pins = Pins {
        operators: vec![operator_key],
        approvers: signatures.iter().map(|(key, _)| *key).collect(),
    };
    let verification = verify_receipt_bytes(&appended.body, Some(&pins));
    if verification.verdict != Verdict::Valid || verification.trust_level != Some(TrustLevel::L1) {
        return Err(StoreError::request(format!(
            "the approval receipt of request `{}` does not verify: {}: {}",
            approval.short_id(),
            verification.verdict,
            verification.detail.unwrap_or_default()
        )));
    }
    Ok(appended)
}

/// Moves a row from one state to another under the write lock; exactly one row must change.
fn set_state(
    tx: &WriteTx<'_>,
    id: i64,
    from: ApprovalState,
    to: ApprovalState,
) -> Result<(), StoreError> {
    let changed = tx.sql().execute(
        "UPDATE approvals SET state = ?1 WHERE id = ?2 AND state = ?3",
        params![to.name(), id, from.name()],
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::integrity(format!(
            "approval {id} changed under the write lock"
        )))
    }
}
