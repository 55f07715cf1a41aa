//! Approval requests (storage.md §10.1–§10.4): the persistent state of a call gated to
//! `require_approval`, and the three writers that move it.
//!
//! * **The gate** ([`Store::gate_approval`], in the agent process): one append transaction that
//!   looks at the latest generation of the request id and opens a new `pending` generation,
//!   reports "pending", expires an overdue request, refuses a rejected one, or consumes an
//!   approved one exactly once — each with the receipts that go with it (§10.3, §10.4).
//! * **Legs** ([`Store::add_approval_leg`], in an approver tool): one transaction that records an
//!   approver's signed decision after every check of §10.3, or writes nothing.
//! * **Reopen** ([`Store::reopen_approval`], an operator action): lifts a sticky rejection.
//!
//! Reads ([`StoreReader::approval`], [`StoreReader::approvals`]) treat a `pending` row past its
//! deadline as `expired` before any writer has written it (lazy expiry). The pure parts — the
//! request id, approval bodies and refusal content — live in `heso_core::receipt::approval`.

mod error;
mod gate;
mod legs;
mod rows;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;

use heso_core::receipt::approval::{approval_body, ApproverRecord, LegDecision};
use serde_json::{Map, Value};

use crate::store::append::{AppendRequest, Appended, WriteTx};
use crate::store::error::StoreError;
use crate::store::read::{Snapshot, StoreReader};
use crate::store::Store;

pub use error::ApprovalError;

/// The state of an approval request (storage.md §10.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalState {
    /// Waiting for approver decisions.
    Pending,
    /// Enough approvals; the next identical call consumes it.
    Approved,
    /// An approver rejected it (sticky until reopened).
    Rejected,
    /// The deadline passed with no decision.
    Expired,
    /// Consumed by one call; the next identical call needs a new approval.
    Consumed,
}

impl ApprovalState {
    /// The stored name: `pending`, `approved`, `rejected`, `expired` or `consumed`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Consumed => "consumed",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            "expired" => Some(Self::Expired),
            "consumed" => Some(Self::Consumed),
            _ => None,
        }
    }
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One recorded approver decision (a row of `approval_legs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalLeg {
    /// The approver's base64 public key.
    pub approver_key: String,
    /// What the approver decided.
    pub decision: LegDecision,
    /// The approver record the signature covers.
    pub record: ApproverRecord,
    /// The base64 signature over the approval body (receipts.md §15.3 step 2).
    pub signature: String,
    /// Store time of recording.
    pub created_at: String,
}

/// One generation of an approval request (a row of `approvals`) with its legs.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRequest {
    /// `approvals.id`.
    pub id: i64,
    /// The 64-hex request id (storage.md §10.1).
    pub request_id: String,
    /// 1 for the first request of this id, +1 for each new one after a terminal state.
    pub generation: i64,
    /// The state as read now: a `pending` row past `expires_at` reads `expired`.
    pub state: ApprovalState,
    /// The state as written.
    pub stored_state: ApprovalState,
    /// The action session of the pending receipt.
    pub session_id: String,
    /// The pending receipt's `receipts.id`.
    pub pending_receipt_id: i64,
    /// The pending receipt's content without chain block and `action_hash`.
    pub base_content: Map<String, Value>,
    /// The rule that required approval.
    pub rule_id: String,
    /// Distinct approving keys needed (the rule's quorum).
    pub threshold: u32,
    /// Admissible approver keys (base64), sorted, fixed when the request opened.
    pub roster: Vec<String>,
    /// Store time the request opened.
    pub created_at: String,
    /// Deadline for a decision.
    pub expires_at: String,
    /// When it was approved or rejected.
    pub decided_at: Option<String>,
    /// When it was consumed.
    pub consumed_at: Option<String>,
    /// `<pid>@<hostname>` of the consuming process.
    pub consumed_by: Option<String>,
    /// The standalone L1 receipt assembled at consumption or after a rejection.
    pub final_receipt_id: Option<i64>,
    /// When an operator reopened a rejected request.
    pub reopened_at: Option<String>,
    /// The recorded decisions, in the order they were recorded.
    pub legs: Vec<ApprovalLeg>,
}

impl ApprovalRequest {
    /// The first 12 hex characters of the request id, as people see it.
    pub fn short_id(&self) -> &str {
        self.request_id.get(..12).unwrap_or(&self.request_id)
    }

    /// The approval body an approver signs for `record` (receipts.md §15.3 step 2).
    pub fn approval_body(&self, record: &ApproverRecord) -> Map<String, Value> {
        approval_body(&self.base_content, record, self.threshold, &self.roster)
    }

    /// Approved legs recorded so far (revoked keys included; consumption re-checks them).
    pub fn approvals(&self) -> usize {
        self.legs
            .iter()
            .filter(|l| l.decision == LegDecision::Approved)
            .count()
    }

    /// The operator key the request was made under (`agent_identity` of the base content).
    pub fn operator_key(&self) -> &str {
        self.base_content
            .get("agent_identity")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// The approval terms of the rule that required approval (policy.md §7.4), fixed when a request
/// opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTerms {
    /// The rule id.
    pub rule_id: String,
    /// Admissible approver keys, base64 (sorted and deduplicated by the store).
    pub roster: Vec<String>,
    /// Distinct approving keys needed, at least 1.
    pub threshold: u32,
    /// Minutes from opening to the deadline.
    pub sla_minutes: u32,
}

/// The approver keys registered for a rule id in the current `heso.toml` (policy.md §4), as
/// base64. An unknown rule has none.
pub type RegisteredKeys<'a> = &'a dyn Fn(&str) -> Vec<String>;

/// What the agent's gate hands the store for a call that policy sent to `require_approval`.
pub struct GateRequest<'a> {
    /// The action as captured **before** redaction; its request id is derived from it.
    pub action: &'a Map<String, Value>,
    /// The pending receipt to append if a new generation opens: chained in the workflow's action
    /// session, operator-signed, `decision_path` `require_approval`. Refusal block receipts go to
    /// the same session.
    pub pending: AppendRequest<'a>,
    /// The approval terms of the deciding rule.
    pub terms: RequestTerms,
    /// The keys currently registered per rule, for the re-check at consumption (§10.4).
    pub registered: RegisteredKeys<'a>,
    /// `<pid>@<hostname>` of this process, recorded as `consumed_by`.
    pub consumer: String,
}

impl fmt::Debug for GateRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The un-redacted action may hold secrets: never print it.
        f.debug_struct("GateRequest")
            .field("pending", &self.pending)
            .field("terms", &self.terms)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// What the gate did. The SDK maps each to its exception or to running the body.
#[derive(Debug, Clone, PartialEq)]
pub enum GateOutcome {
    /// No live request: a new generation opened with its pending receipt (`ApprovalRequired`).
    Opened {
        /// The new request.
        request: ApprovalRequest,
        /// The pending receipt.
        pending_receipt: Appended,
    },
    /// A live request within its deadline; nothing was recorded (`ApprovalRequired`).
    Pending {
        /// The request.
        request: ApprovalRequest,
    },
    /// An approved request whose approving keys are no longer registered enough to meet the
    /// threshold: it went back to `pending`, same generation and deadline (`ApprovalRequired`).
    Revoked {
        /// The request, `pending` again.
        request: ApprovalRequest,
        /// The approving keys that no longer count.
        revoked_keys: Vec<String>,
    },
    /// The request passed its deadline undecided: it is now `expired` and the refusal is
    /// recorded (`ApprovalExpired`). The next attempt opens a new generation.
    Expired {
        /// The request.
        request: ApprovalRequest,
        /// The `approval.expired` block receipt.
        block_receipt: Appended,
    },
    /// The request was rejected: the refusal is recorded (`ApprovalRejected`).
    Rejected {
        /// The request.
        request: ApprovalRequest,
        /// The `approval.rejected` block receipt of this attempt.
        block_receipt: Appended,
        /// The standalone rejected L1 receipt, when this attempt assembled it (the first one
        /// after the rejection).
        rejection_receipt: Option<Appended>,
    },
    /// The approval was consumed by this call: run the body, then record its result.
    Approved {
        /// The request, now `consumed`.
        request: ApprovalRequest,
        /// The standalone L1 (single approver) or quorum receipt.
        approval_receipt: Appended,
    },
}

impl GateOutcome {
    /// The request the outcome is about.
    pub fn request(&self) -> &ApprovalRequest {
        match self {
            Self::Opened { request, .. }
            | Self::Pending { request }
            | Self::Revoked { request, .. }
            | Self::Expired { request, .. }
            | Self::Rejected { request, .. }
            | Self::Approved { request, .. } => request,
        }
    }
}

/// An approver's signed decision, as an approver tool submits it.
pub struct LegSubmission<'a> {
    /// The full 64-hex request id.
    pub request_id: &'a str,
    /// The generation the approver saw and signed.
    pub generation: i64,
    /// The approver record (receipts.md §2.4).
    pub record: &'a Value,
    /// The approver's signature entry over the approval body
    /// ([`ApprovalRequest::approval_body`]).
    pub signature: &'a Value,
    /// The keys currently registered per rule in `heso.toml`.
    pub registered: RegisteredKeys<'a>,
}

impl fmt::Debug for LegSubmission<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegSubmission")
            .field("request_id", &self.request_id)
            .field("generation", &self.generation)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// A recorded leg and where the request stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct LegOutcome {
    /// The request after the leg: `pending`, `approved` or `rejected`.
    pub request: ApprovalRequest,
    /// Approved legs from keys still registered, this one included.
    pub approvals: usize,
}

/// The result of reopening a rejected request.
#[derive(Debug, Clone, PartialEq)]
pub struct ReopenOutcome {
    /// The request, with `reopened_at` set.
    pub request: ApprovalRequest,
    /// `true` when it had been reopened before (nothing was written).
    pub already_reopened: bool,
}

/// What an approvals listing selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApprovalFilter {
    /// Only requests in this state, as read now (`None`: every state).
    pub state: Option<ApprovalState>,
    /// Only the latest generation of each request id.
    pub latest_only: bool,
}

/// The keys registered for a rule, in canonical base64; texts that are not keys match nothing.
fn registered_set(keys: &[String]) -> BTreeSet<String> {
    keys.iter()
        .filter_map(|key| legs::canonical_key(key))
        .collect()
}

impl Store {
    /// The agent's gate for a `require_approval` decision (storage.md §10.3, §10.4), in one
    /// append transaction. See [`GateOutcome`] for what it may do.
    pub fn gate_approval(&self, request: &GateRequest<'_>) -> Result<GateOutcome, StoreError> {
        self.transaction(|tx| tx.gate_approval(request))
    }

    /// Records an approver's leg after every check of §10.3, in its own transaction; any failing
    /// check writes nothing and returns an [`ApprovalError`].
    pub fn add_approval_leg(&self, leg: &LegSubmission<'_>) -> Result<LegOutcome, StoreError> {
        self.transaction(|tx| tx.add_approval_leg(leg))
    }

    /// Reopens the rejected latest generation of a request id or unique prefix (≥ 6 hex), so the
    /// next identical call opens a new request (§10.3). Reopening twice is not an error.
    pub fn reopen_approval(&self, id_or_prefix: &str) -> Result<ReopenOutcome, StoreError> {
        self.transaction(|tx| tx.reopen_approval(id_or_prefix))
    }
}

impl WriteTx<'_> {
    /// [`Store::gate_approval`] inside this transaction.
    pub fn gate_approval(&mut self, request: &GateRequest<'_>) -> Result<GateOutcome, StoreError> {
        gate::gate(self, request)
    }

    /// [`Store::add_approval_leg`] inside this transaction.
    pub fn add_approval_leg(&mut self, leg: &LegSubmission<'_>) -> Result<LegOutcome, StoreError> {
        legs::add_leg(self, leg)
    }

    /// [`Store::reopen_approval`] inside this transaction.
    pub fn reopen_approval(&mut self, id_or_prefix: &str) -> Result<ReopenOutcome, StoreError> {
        legs::reopen(self, id_or_prefix)
    }

    /// The request id of an action captured before redaction (storage.md §10.1), keyed with this
    /// store's request key.
    pub fn approval_request_id(&self, action: &Map<String, Value>) -> Result<String, StoreError> {
        rows::request_id(self.sql(), action)
    }
}

impl Snapshot<'_> {
    /// The latest generation of a request id or unique prefix (6–64 hex), with its state as read
    /// at `now`.
    pub fn approval(
        &self,
        id_or_prefix: &str,
        now: crate::store::Instant,
    ) -> Result<ApprovalRequest, StoreError> {
        let request_id = rows::resolve_prefix(self.sql(), id_or_prefix)?;
        rows::latest(self.sql(), &request_id, now)?
            .ok_or_else(|| ApprovalError::NotFound(id_or_prefix.to_owned()).into())
    }

    /// Approval requests in `approvals.id` order, filtered, with states as read at `now`.
    pub fn approvals(
        &self,
        filter: &ApprovalFilter,
        now: crate::store::Instant,
    ) -> Result<Vec<ApprovalRequest>, StoreError> {
        rows::list(self.sql(), filter, now)
    }

    /// The request id of an action captured before redaction (storage.md §10.1).
    pub fn approval_request_id(&self, action: &Map<String, Value>) -> Result<String, StoreError> {
        rows::request_id(self.sql(), action)
    }
}

impl StoreReader {
    /// The latest generation of a request id or unique prefix (6–64 hex), as read now.
    pub fn approval(&mut self, id_or_prefix: &str) -> Result<ApprovalRequest, StoreError> {
        let now = self.now();
        self.snapshot(|s| s.approval(id_or_prefix, now))
    }

    /// Approval requests, filtered, as read now (`heso approvals list`).
    pub fn approvals(
        &mut self,
        filter: &ApprovalFilter,
    ) -> Result<Vec<ApprovalRequest>, StoreError> {
        let now = self.now();
        self.snapshot(|s| s.approvals(filter, now))
    }
}
