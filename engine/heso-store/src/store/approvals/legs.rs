//! The approver's and the operator's sides (storage.md §10.3): recording a signed leg after every
//! check, and reopening a rejected request. A failed check returns before anything is written.

use std::collections::BTreeSet;

use heso_core::identity::PublicKey;
use heso_core::json::canonicalize;
use heso_core::receipt::approval::{verify_approver_signature, ApproverRecord, LegDecision};
use rusqlite::params;

use crate::store::append::WriteTx;
use crate::store::approvals::{
    registered_set, rows, ApprovalError, ApprovalRequest, ApprovalState, LegOutcome, LegSubmission,
    ReopenOutcome,
};
use crate::store::error::StoreError;

/// Adds one leg: the request is pending and not overdue; the key is on the roster, still
/// registered for the rule, not the operator key, and has no leg yet; the signature verifies over
/// the exact approval body. Then the state follows: any rejection → `rejected`; approvals from
/// registered keys reaching the threshold → `approved`.
pub(super) fn add_leg(
    tx: &mut WriteTx<'_>,
    leg: &LegSubmission<'_>,
) -> Result<LegOutcome, StoreError> {
    let now = tx.now();
    let request = find_generation(tx, leg)?;
    let registered = registered_set(&(leg.registered)(&request.rule_id));
    let checked = check_leg(&request, leg, &registered)?;
    let stamp = now.store_time();
    tx.sql()
        .prepare_cached(
            "INSERT INTO approval_legs (approval_id, approver_key, decision, record, signature,
                 created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            request.id,
            checked.key,
            checked.record.decision.name(),
            canonicalize(&checked.record.to_value()),
            checked.signature,
            stamp
        ])?;
    // Approvals count only from keys still registered; revoked legs stay recorded (§10.3).
    let decision = checked.record.decision;
    let approvals = request
        .legs
        .iter()
        .filter(|l| l.decision == LegDecision::Approved && registered.contains(&l.approver_key))
        .count()
        + usize::from(decision == LegDecision::Approved);
    let next = match decision {
        LegDecision::Rejected => Some(ApprovalState::Rejected),
        LegDecision::Approved
            if approvals >= usize::try_from(request.threshold).unwrap_or(usize::MAX) =>
        {
            Some(ApprovalState::Approved)
        }
        LegDecision::Approved => None,
    };
    if let Some(next) = next {
        let changed = tx.sql().execute(
            "UPDATE approvals SET state = ?1, decided_at = ?2 WHERE id = ?3 AND state = 'pending'",
            params![next.name(), stamp, request.id],
        )?;
        if changed != 1 {
            return Err(StoreError::integrity(format!(
                "approval {} changed under the write lock",
                request.id
            )));
        }
    }
    Ok(LegOutcome {
        request: rows::by_id(tx.sql(), request.id, now)?,
        approvals,
    })
}

/// The generation the approver signed; a request whose generation moved on is named as such.
fn find_generation(
    tx: &WriteTx<'_>,
    leg: &LegSubmission<'_>,
) -> Result<ApprovalRequest, StoreError> {
    let now = tx.now();
    if let Some(request) = rows::generation(tx.sql(), leg.request_id, leg.generation, now)? {
        return Ok(request);
    }
    if rows::latest(tx.sql(), leg.request_id, now)?.is_some() {
        return Err(ApprovalError::NoSuchGeneration {
            request: short(leg.request_id).to_owned(),
            generation: leg.generation,
        }
        .into());
    }
    Err(ApprovalError::NotFound(leg.request_id.to_owned()).into())
}

/// A leg that passed every check.
struct CheckedLeg {
    key: String,
    record: ApproverRecord,
    signature: String,
}

/// The checks of §10.3, in its order, before anything is written.
fn check_leg(
    request: &ApprovalRequest,
    leg: &LegSubmission<'_>,
    registered: &BTreeSet<String>,
) -> Result<CheckedLeg, ApprovalError> {
    let short_id = request.short_id().to_owned();
    match (request.stored_state, request.state) {
        (ApprovalState::Pending, ApprovalState::Pending) => {}
        // Overdue: refused without writing `expired`, so the agent's next attempt still meets the
        // overdue request and records its `approval.expired` refusal (§10.3).
        (ApprovalState::Pending, _) => {
            return Err(ApprovalError::Overdue {
                request: short_id,
                expires_at: request.expires_at.clone(),
            })
        }
        (state, _) => {
            return Err(ApprovalError::NotPending {
                request: short_id,
                state: state.name(),
            })
        }
    }
    let record = ApproverRecord::parse(leg.record).map_err(|e| ApprovalError::BadRecord {
        request: short_id.clone(),
        detail: e.to_string(),
    })?;
    let key = record.approver_identity.to_base64();
    let fingerprint = record.approver_identity.fingerprint().short();
    if !request.roster.contains(&key) {
        return Err(ApprovalError::NotOnRoster {
            key: fingerprint,
            request: short_id,
            rule_id: request.rule_id.clone(),
        });
    }
    if !registered.contains(&key) {
        return Err(ApprovalError::NotRegistered {
            key: fingerprint,
            rule_id: request.rule_id.clone(),
        });
    }
    if key == request.operator_key() {
        return Err(ApprovalError::SelfApproval { key: fingerprint });
    }
    if request.legs.iter().any(|l| l.approver_key == key) {
        return Err(ApprovalError::DuplicateLeg {
            key: fingerprint,
            request: short_id,
        });
    }
    let body = request.approval_body(&record);
    let checked = verify_approver_signature(&body, leg.signature).map_err(|e| {
        ApprovalError::BadSignature {
            key: fingerprint.clone(),
            request: short_id.clone(),
            detail: e.to_string(),
        }
    })?;
    if checked.key != record.approver_identity {
        return Err(ApprovalError::BadSignature {
            key: checked.key.fingerprint().short(),
            request: short_id,
            detail: format!("the record names {fingerprint}, another key signed"),
        });
    }
    Ok(CheckedLeg {
        key,
        record,
        signature: checked.signature,
    })
}

/// Sets `reopened_at` on the rejected latest generation of a request id or prefix.
pub(super) fn reopen(
    tx: &mut WriteTx<'_>,
    id_or_prefix: &str,
) -> Result<ReopenOutcome, StoreError> {
    let now = tx.now();
    let request_id = rows::resolve_prefix(tx.sql(), id_or_prefix)?;
    let request = rows::latest(tx.sql(), &request_id, now)?
        .ok_or_else(|| ApprovalError::NotFound(id_or_prefix.to_owned()))?;
    if request.stored_state != ApprovalState::Rejected {
        return Err(ApprovalError::NotRejected {
            request: request.short_id().to_owned(),
            state: request.state.name(),
        }
        .into());
    }
    if request.reopened_at.is_some() {
        return Ok(ReopenOutcome {
            request,
            already_reopened: true,
        });
    }
    tx.sql().execute(
        "UPDATE approvals SET reopened_at = ?1 WHERE id = ?2 AND state = 'rejected' AND reopened_at IS NULL",
        params![now.store_time(), request.id],
    )?;
    Ok(ReopenOutcome {
        request: rows::by_id(tx.sql(), request.id, now)?,
        already_reopened: false,
    })
}

/// The 12-character form of a request id.
fn short(request_id: &str) -> &str {
    request_id.get(..12).unwrap_or(request_id)
}

/// Parses a base64 key into its canonical text, `None` when it is not a key.
pub(super) fn canonical_key(text: &str) -> Option<String> {
    PublicKey::from_base64(text).ok().map(|k| k.to_base64())
}
