//! Why an approval operation was refused: one line each, naming the fix. Every refusal leaves the
//! store as it was.

/// A refused approval operation (storage.md §10.3). Keys appear as short fingerprints, requests
/// as 12-character ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// No request has this id or prefix.
    #[error("no approval request `{0}`; list them with `heso approvals list`")]
    NotFound(String),
    /// Not 6 to 64 hex characters.
    #[error("`{0}` is not a request id prefix; give 6 to 64 hex characters")]
    BadPrefix(String),
    /// The prefix matches several request ids.
    #[error("`{prefix}` is ambiguous: it matches {}; give more characters", candidates.join(", "))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// Up to 10 matches, as 12-character ids.
        candidates: Vec<String>,
    },
    /// The generation the approver signed is not the one stored.
    #[error("request `{request}` has no generation {generation}; run `heso approvals show {request}` again (nothing was recorded)")]
    NoSuchGeneration {
        /// The short request id.
        request: String,
        /// The generation given.
        generation: i64,
    },
    /// The request is not pending.
    #[error("request `{request}` is {state}, not pending; nothing was recorded")]
    NotPending {
        /// The short request id.
        request: String,
        /// Its state.
        state: &'static str,
    },
    /// The request passed its deadline undecided.
    #[error("request `{request}` expired at {expires_at}; nothing was approved (the next identical call opens a new request)")]
    Overdue {
        /// The short request id.
        request: String,
        /// Its deadline.
        expires_at: String,
    },
    /// The approver key is not on the request's roster.
    #[error("your approver key {key} is not on the roster of request `{request}` (rule `{rule_id}`); ask the project owner to add the line printed by `heso approver show`, then approve the next request (nothing was recorded)")]
    NotOnRoster {
        /// The key's short fingerprint.
        key: String,
        /// The short request id.
        request: String,
        /// The rule.
        rule_id: String,
    },
    /// The approver key is no longer registered for the rule in `heso.toml`.
    #[error("your approver key {key} is no longer registered for rule `{rule_id}` in heso.toml; ask the project owner to add the line printed by `heso approver show` (nothing was recorded)")]
    NotRegistered {
        /// The key's short fingerprint.
        key: String,
        /// The rule.
        rule_id: String,
    },
    /// The approver key is the operator key that made the request.
    #[error("the key {key} is this project's operator key, which cannot approve its own actions; sign with a personal approver key from `heso approver init` (nothing was recorded)")]
    SelfApproval {
        /// The key's short fingerprint.
        key: String,
    },
    /// The approver already decided this request.
    #[error(
        "your approver key {key} has already decided request `{request}`; nothing was recorded"
    )]
    DuplicateLeg {
        /// The key's short fingerprint.
        key: String,
        /// The short request id.
        request: String,
    },
    /// The record or signature is malformed, or the signature does not verify over the body.
    #[error("the signature of {key} does not verify over the approval body of request `{request}` ({detail}); sign this exact request again with `heso approvals approve {request}` (nothing was recorded)")]
    BadSignature {
        /// The key's short fingerprint (or `an unknown key`).
        key: String,
        /// The short request id.
        request: String,
        /// What is wrong.
        detail: String,
    },
    /// The approver record is malformed.
    #[error("invalid approver record for request `{request}`: {detail}; nothing was recorded")]
    BadRecord {
        /// The short request id.
        request: String,
        /// What is wrong.
        detail: String,
    },
    /// Only a rejected request can be reopened.
    #[error("request `{request}` is {state}, not rejected; only a rejected request can be reopened (nothing was written)")]
    NotRejected {
        /// The short request id.
        request: String,
        /// Its state.
        state: &'static str,
    },
}
