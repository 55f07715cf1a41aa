//! Appending a receipt (storage.md §6): the request a caller builds, and the steps that run
//! inside the write transaction — head read and integrity probe, stamping, minting, inserts.

use std::collections::HashMap;

use heso_core::identity::{Identity, PublicKey};
use heso_core::json::to_compact;
use heso_core::receipt::hashing::link_hash;
use heso_core::receipt::mint::{
    mint_decision_link, mint_operator_receipt, mint_quorum, mint_single_l1, Signer,
};
use heso_core::receipt::redaction::{commitment, Reveal, SALTED_BLAKE3};
use heso_core::receipt::verify::{verify_receipt, Verdict};
use heso_core::receipt::{DECISIONS, KINDS, VERBS};
use rusqlite::{params, OptionalExtension as _, Transaction};
use serde_json::{Map, Value};

use crate::store::clock::Instant;
use crate::store::error::StoreError;
use crate::store::StoreOptions;

/// The two kinds of chained session (receipts.md §7.4), fixed by the genesis append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionType {
    /// Plain receipts only (no `kind`).
    Action,
    /// The links of one durable action (and optionally plain `action` links).
    Lifecycle,
}

impl SessionType {
    /// `action` or `lifecycle`, as stored in `chain_heads.session_type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::Lifecycle => "lifecycle",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "action" => Some(Self::Action),
            "lifecycle" => Some(Self::Lifecycle),
            _ => None,
        }
    }
}

/// Where a receipt goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The next link of a session; the store assigns `seq` and `prev_receipt_hash`.
    Chained {
        /// The session.
        session_id: String,
        /// The type the caller declares; it must match the type fixed at genesis.
        session_type: SessionType,
    },
    /// No chain block (approval receipts, receipts.md §7.3).
    Standalone,
}

/// Who signs the receipt, with the keys needed (already decrypted, held by the caller).
#[derive(Debug)]
pub enum Signing<'a> {
    /// The operator alone: plain receipts, `suspended` and `completed` links.
    Operator(&'a Identity),
    /// A single-approver L1 receipt: the operator co-signs the body the approver signed.
    SingleApproval {
        /// The operator.
        operator: &'a Identity,
        /// The approver's signature entry over the approval body.
        approver_signature: Value,
    },
    /// A quorum L1 receipt: the content carries `multi_approval` with every record.
    Quorum {
        /// The operator.
        operator: &'a Identity,
        /// The approvers' leg entries.
        legs: Vec<Value>,
    },
    /// A lifecycle decision link (`approved`, `denied`, `expired`, `escalated`) signed by an
    /// approver's key; `agent_identity` stays the operator's key.
    Decision {
        /// The approver.
        approver: &'a Identity,
        /// The project's operator key.
        operator: PublicKey,
    },
}

impl Signing<'_> {
    /// The operator key stamped as `agent_identity`.
    fn operator_key(&self) -> PublicKey {
        match self {
            Self::Operator(operator)
            | Self::SingleApproval { operator, .. }
            | Self::Quorum { operator, .. } => operator.public_key(),
            Self::Decision { operator, .. } => *operator,
        }
    }

    /// The embedded trust level: `L1` whenever an approver key signs.
    fn trust_level(&self) -> &'static str {
        match self {
            Self::Operator(_) => "L0",
            _ => "L1",
        }
    }
}

/// Content members the store stamps; a request carrying one is refused.
const STAMPED: [&str; 8] = [
    "action_version",
    "captured_at",
    "agent_identity",
    "trust_level",
    "action_hash",
    "session_id",
    "seq",
    "prev_receipt_hash",
];

/// Decision kinds, signed by an approver key.
const DECISION_KINDS: [&str; 4] = ["approved", "denied", "expired", "escalated"];

/// What a caller hands the store to append one receipt.
///
/// `content` holds the members the caller decides — `action`, `policy`, and when they apply
/// `kind`, `suspension`, `redaction`, `approver_decision`, `multi_approval`. The store stamps
/// `action_version`, `captured_at`, `agent_identity`, `trust_level`, the chain block and
/// `action_hash`; a request that sets any of them is refused.
#[derive(Debug)]
pub struct AppendRequest<'a> {
    /// Where the receipt goes.
    pub placement: Placement,
    /// The content members the caller decides.
    pub content: Map<String, Value>,
    /// A fixed `captured_at` (an approval receipt keeps the pending receipt's); `None` stamps
    /// the store clock.
    pub captured_at: Option<String>,
    /// Reveal material of the commit-and-reveal markers this receipt introduces. Markers whose
    /// commitment is already stored (a copied `action`) need none.
    pub reveals: Vec<Reveal>,
    /// Who signs.
    pub signing: Signing<'a>,
}

impl<'a> AppendRequest<'a> {
    /// A receipt for the next link of `session_id`.
    pub fn chained(
        session_id: impl Into<String>,
        session_type: SessionType,
        content: Map<String, Value>,
        signing: Signing<'a>,
    ) -> Self {
        Self {
            placement: Placement::Chained {
                session_id: session_id.into(),
                session_type,
            },
            content,
            captured_at: None,
            reveals: Vec::new(),
            signing,
        }
    }

    /// A standalone receipt.
    pub fn standalone(content: Map<String, Value>, signing: Signing<'a>) -> Self {
        Self {
            placement: Placement::Standalone,
            content,
            captured_at: None,
            reveals: Vec::new(),
            signing,
        }
    }

    /// With reveal material.
    #[must_use]
    pub fn with_reveals(mut self, reveals: Vec<Reveal>) -> Self {
        self.reveals = reveals;
        self
    }

    /// With a fixed `captured_at`.
    #[must_use]
    pub fn with_captured_at(mut self, captured_at: impl Into<String>) -> Self {
        self.captured_at = Some(captured_at.into());
        self
    }
}

/// A committed receipt, as the caller gets it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// `receipts.id`: append order across the store.
    pub id: i64,
    /// `content.action_hash`.
    pub action_hash: String,
    /// `session_id` and `seq`, for a chained receipt.
    pub chain: Option<(String, u64)>,
    /// The receipt's link hash (receipts.md §7.2).
    pub link_hash: String,
    /// The exact signed bytes that were stored.
    pub body: Vec<u8>,
    /// `false` when an identical standalone receipt was already stored (§6.4).
    pub newly_stored: bool,
}

/// One write transaction on the store. Dropping it without committing rolls back; the store
/// commits it when the closure given to [`Store::transaction`](crate::store::Store::transaction)
/// returns `Ok`.
#[derive(Debug)]
pub struct WriteTx<'c> {
    tx: Transaction<'c>,
    now: Instant,
    operator_recorded: &'c mut bool,
}

impl<'c> WriteTx<'c> {
    pub(crate) fn new(
        tx: Transaction<'c>,
        options: &StoreOptions,
        operator_recorded: &'c mut bool,
    ) -> Self {
        Self {
            tx,
            now: options.clock.now(),
            operator_recorded,
        }
    }

    pub(crate) fn into_inner(self) -> Transaction<'c> {
        self.tx
    }

    /// The connection inside the transaction, for the statements of callers that change state
    /// together with a receipt (approvals, durable sessions). Do not `COMMIT` or `ROLLBACK` here.
    pub fn sql(&self) -> &rusqlite::Connection {
        &self.tx
    }

    /// The time this transaction stamps, read once when it began.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Mints and inserts one receipt with its chain head, outbox row and reveal rows.
    pub fn append(&mut self, request: &AppendRequest<'_>) -> Result<Appended, StoreError> {
        let checked = check_request(request)?;
        let chain = match &request.placement {
            Placement::Chained {
                session_id,
                session_type,
            } => Some(self.next_link(session_id, *session_type, checked.kind)?),
            Placement::Standalone => None,
        };
        let mut content = request.content.clone();
        let captured_at = request
            .captured_at
            .clone()
            .unwrap_or_else(|| self.now.captured_at());
        content.insert("captured_at".to_owned(), captured_at.into());
        content.insert(
            "agent_identity".to_owned(),
            request.signing.operator_key().to_base64().into(),
        );
        content.insert(
            "trust_level".to_owned(),
            request.signing.trust_level().into(),
        );
        if let Some(link) = &chain {
            content.insert("session_id".to_owned(), link.session_id.clone().into());
            content.insert("seq".to_owned(), link.seq.into());
            if let Some(prev) = &link.prev_link_hash {
                content.insert("prev_receipt_hash".to_owned(), prev.clone().into());
            }
        }
        let receipt = mint(content, &request.signing)?;
        let action_hash = receipt
            .get("content")
            .and_then(|c| c.get("action_hash"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let body = to_compact(&receipt);
        if let Some(existing) = self.existing(&action_hash, &body)? {
            return Ok(existing);
        }
        let link = link_hash(
            chain.as_ref().map_or("", |c| c.session_id.as_str()),
            chain.as_ref().map_or(0, |c| c.seq),
            &action_hash,
        );
        let id = self.insert(
            request,
            &checked,
            chain.as_ref(),
            &action_hash,
            &link,
            &body,
        )?;
        Ok(Appended {
            id,
            action_hash,
            chain: chain.map(|c| (c.session_id, c.seq)),
            link_hash: link,
            body,
            newly_stored: true,
        })
    }

    /// Step 4 of §6.1: the receipt row, its reveal rows, its outbox row and the chain head.
    fn insert(
        &mut self,
        request: &AppendRequest<'_>,
        checked: &Checked<'_>,
        chain: Option<&NextLink>,
        action_hash: &str,
        link: &str,
        body: &[u8],
    ) -> Result<i64, StoreError> {
        let now = self.now.store_time();
        let seq = chain
            .map(|c| i64::try_from(c.seq))
            .transpose()
            .map_err(|_| {
                StoreError::integrity("the session is longer than the store can number")
            })?;
        self.tx
            .prepare_cached(
                "INSERT INTO receipts (action_hash, session_id, seq, link_hash, kind, decision,
                     trust_level, tool_name, workflow, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                action_hash,
                chain.map(|c| c.session_id.as_str()),
                seq,
                link,
                checked.kind.unwrap_or("action"),
                checked.decision,
                request.signing.trust_level(),
                checked.tool_name,
                checked.workflow,
                now,
                body,
            ])?;
        let id = self.tx.last_insert_rowid();
        self.insert_reveals(id, &request.content, &request.reveals)?;
        self.tx
            .prepare_cached(
                "INSERT INTO outbox (receipt_id, state, attempts, next_attempt_at, created_at)
                 VALUES (?1, 'pending', 0, ?2, ?2)",
            )?
            .execute(params![id, now])?;
        if let Some(chain) = chain {
            self.tx
                .prepare_cached(
                    "INSERT INTO chain_heads (session_id, session_type, last_seq, last_link_hash,
                         last_receipt_id, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (session_id) DO UPDATE SET last_seq = excluded.last_seq,
                         last_link_hash = excluded.last_link_hash,
                         last_receipt_id = excluded.last_receipt_id,
                         updated_at = excluded.updated_at",
                )?
                .execute(params![
                    chain.session_id,
                    chain.session_type.name(),
                    seq,
                    link,
                    id,
                    now
                ])?;
        }
        if !*self.operator_recorded {
            self.tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('operator_public_key', ?1)",
                [request.signing.operator_key().to_base64()],
            )?;
            // Set only once the transaction commits (the store copies it back on success).
            *self.operator_recorded = true;
        }
        Ok(id)
    }

    /// Step 2 of §6.1: the chain head, read under the write lock, and the O(1) integrity probe.
    fn next_link(
        &self,
        session_id: &str,
        declared: SessionType,
        kind: Option<&str>,
    ) -> Result<NextLink, StoreError> {
        if declared == SessionType::Action && kind.is_some() {
            return Err(StoreError::request(format!(
                "session `{session_id}` is an action session, which takes no receipt with `kind`; append lifecycle links to a lifecycle session"
            )));
        }
        let head = self
            .tx
            .prepare_cached(
                "SELECT session_type, last_seq, last_link_hash, last_receipt_id
                 FROM chain_heads WHERE session_id = ?1",
            )?
            .query_row([session_id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        let Some((stored_type, last_seq, last_link, last_id)) = head else {
            // A session with receipts but no head lost its head row: appending a second
            // genesis would fork the chain.
            let orphan = self
                .tx
                .prepare_cached("SELECT id FROM receipts WHERE session_id = ?1 LIMIT 1")?
                .query_row([session_id], |row| row.get::<_, i64>(0))
                .optional()?;
            if let Some(id) = orphan {
                return Err(StoreError::integrity(format!(
                    "session `{session_id}` has receipts (receipt {id}) but no chain head"
                )));
            }
            return Ok(NextLink {
                session_id: session_id.to_owned(),
                session_type: declared,
                seq: 0,
                prev_link_hash: None,
            });
        };
        let actual = SessionType::parse(&stored_type).ok_or_else(|| {
            StoreError::integrity(format!(
                "session `{session_id}` has unknown type `{stored_type}`"
            ))
        })?;
        if actual != declared {
            return Err(StoreError::SessionType {
                session_id: session_id.to_owned(),
                declared: declared.name(),
                actual: actual.name(),
            });
        }
        let probe = self
            .tx
            .prepare_cached("SELECT session_id, seq, link_hash FROM receipts WHERE id = ?1")?
            .query_row([last_id], |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, Option<i64>>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        let consistent = probe.as_ref().is_some_and(|(s, q, l)| {
            s.as_deref() == Some(session_id) && *q == Some(last_seq) && *l == last_link
        });
        if !consistent {
            let found = match probe {
                None => "missing".to_owned(),
                Some((s, q, _)) => format!(
                    "session `{}` seq {} with another link hash",
                    s.unwrap_or_default(),
                    q.map_or_else(|| "none".to_owned(), |q| q.to_string())
                ),
            };
            return Err(StoreError::integrity(format!(
                "the chain head of session `{session_id}` points at receipt {last_id} as seq {last_seq}, but that receipt is {found}"
            )));
        }
        let seq = u64::try_from(last_seq)
            .ok()
            .and_then(|s| s.checked_add(1))
            .ok_or_else(|| {
                StoreError::integrity(format!(
                    "the chain head of session `{session_id}` has seq {last_seq}"
                ))
            })?;
        Ok(NextLink {
            session_id: session_id.to_owned(),
            session_type: actual,
            seq,
            prev_link_hash: Some(last_link),
        })
    }

    /// The stored receipt with this hash, if any: returned as is when byte-identical (a retried
    /// standalone append, §6.4), a conflict otherwise.
    fn existing(&self, action_hash: &str, body: &[u8]) -> Result<Option<Appended>, StoreError> {
        let row = self
            .tx
            .prepare_cached(
                "SELECT id, session_id, seq, link_hash, body FROM receipts WHERE action_hash = ?1",
            )?
            .query_row([action_hash], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Vec<u8>>(4)?,
                ))
            })
            .optional()?;
        let Some((id, session_id, seq, link, stored)) = row else {
            return Ok(None);
        };
        // A chained append always has a fresh seq, so only a standalone retry can match.
        if stored != body || session_id.is_some() {
            return Err(StoreError::Conflict {
                action_hash: action_hash.to_owned(),
            });
        }
        let chain = session_id.zip(seq.and_then(|s| u64::try_from(s).ok()));
        Ok(Some(Appended {
            id,
            action_hash: action_hash.to_owned(),
            chain,
            link_hash: link,
            body: stored,
            newly_stored: false,
        }))
    }

    /// Reveal rows for the commit-and-reveal markers this receipt introduces (§11). Every
    /// salted marker needs its material, given now or already stored; material that matches no
    /// marker is refused, so nothing unbound is ever kept.
    fn insert_reveals(
        &self,
        receipt_id: i64,
        content: &Map<String, Value>,
        reveals: &[Reveal],
    ) -> Result<(), StoreError> {
        let markers = salted_markers(content);
        let mut given: HashMap<String, &Reveal> = HashMap::new();
        for reveal in reveals {
            let computed = commitment(
                &reveal.salt,
                &reveal.field_path,
                reveal.value_json.as_bytes(),
            );
            if markers.get(&computed).map(String::as_str) != Some(reveal.field_path.as_str()) {
                return Err(StoreError::request(format!(
                    "the reveal material for `{}` matches no commit-and-reveal marker of this receipt",
                    reveal.field_path
                )));
            }
            given.insert(computed, reveal);
        }
        let now = self.now.store_time();
        for (commitment, path) in &markers {
            let Some(reveal) = given.get(commitment) else {
                let stored = self
                    .tx
                    .prepare_cached("SELECT 1 FROM reveals WHERE commitment = ?1")?
                    .query_row([commitment], |_| Ok(()))
                    .optional()?;
                if stored.is_none() {
                    return Err(StoreError::request(format!(
                        "no reveal material for the commit-and-reveal field `{path}`; pass the reveals returned by redaction"
                    )));
                }
                continue;
            };
            self.tx
                .prepare_cached(
                    "INSERT INTO reveals (commitment, receipt_id, field_path, salt_hex,
                         value_json, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (commitment) DO NOTHING",
                )?
                .execute(params![
                    commitment,
                    receipt_id,
                    path,
                    heso_core::hex::encode(&reveal.salt),
                    reveal.value_json.as_bytes(),
                    now
                ])?;
        }
        Ok(())
    }
}

/// The chain block the store assigns.
#[derive(Debug)]
struct NextLink {
    session_id: String,
    session_type: SessionType,
    seq: u64,
    prev_link_hash: Option<String>,
}

/// The members of a request the store checks and copies into derived columns.
#[derive(Debug)]
struct Checked<'r> {
    kind: Option<&'r str>,
    decision: &'r str,
    tool_name: &'r str,
    workflow: &'r str,
}

/// Refuses requests the store must not sign; everything here is O(size of the request).
fn check_request<'r>(request: &'r AppendRequest<'_>) -> Result<Checked<'r>, StoreError> {
    let content = &request.content;
    if let Some(name) = STAMPED.iter().find(|name| content.contains_key(**name)) {
        return Err(StoreError::request(format!(
            "`{name}` is stamped by the store; remove it from the content"
        )));
    }
    let text = |value: Option<&'r Value>, what: &str| {
        value
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::request(format!("the content needs `{what}` as a string")))
    };
    let action = content.get("action");
    let verb = text(action.and_then(|a| a.get("verb")), "action.verb")?;
    if !VERBS.contains(&verb) {
        return Err(StoreError::request(format!(
            "unknown verb `{verb}`; expected one of {}",
            VERBS.join(", ")
        )));
    }
    let tool_name = text(action.and_then(|a| a.get("tool_name")), "action.tool_name")?;
    let workflow = text(action.and_then(|a| a.get("workflow")), "action.workflow")?;
    let decision = text(
        content.get("policy").and_then(|p| p.get("decision_path")),
        "policy.decision_path",
    )?;
    if !DECISIONS.contains(&decision) {
        return Err(StoreError::request(format!(
            "unknown decision `{decision}`; expected one of {}",
            DECISIONS.join(", ")
        )));
    }
    let kind = match content.get("kind") {
        None => None,
        Some(kind) => Some(text(Some(kind), "kind")?),
    };
    match kind {
        Some("action") => {
            return Err(StoreError::request(
                "omit `kind` for a plain action; writing `action` changes the signed bytes",
            ))
        }
        Some("key_rotation") => {
            return Err(StoreError::request(
                "heso does not produce `key_rotation` links",
            ))
        }
        Some(kind) if !KINDS.contains(&kind) => {
            return Err(StoreError::request(format!("unknown kind `{kind}`")))
        }
        _ => {}
    }
    let decision_kind = kind.is_some_and(|k| DECISION_KINDS.contains(&k));
    match (&request.signing, &request.placement) {
        (Signing::Decision { .. }, Placement::Chained { session_type, .. })
            if decision_kind && *session_type == SessionType::Lifecycle => {}
        (Signing::Decision { .. }, _) => {
            return Err(StoreError::request(
                "an approver signs only decision links (`approved`, `denied`, `expired`, `escalated`) of a lifecycle session",
            ))
        }
        (_, _) if decision_kind => {
            return Err(StoreError::request(format!(
                "`{}` links are signed by an approver key; use the decision signing",
                kind.unwrap_or_default()
            )))
        }
        (Signing::SingleApproval { .. } | Signing::Quorum { .. }, Placement::Chained { .. }) => {
            return Err(StoreError::request(
                "approval receipts are standalone (receipts.md §7.3); use a standalone append",
            ))
        }
        (_, Placement::Standalone) if kind.is_some() => {
            return Err(StoreError::request(
                "lifecycle links belong to a lifecycle session, not a standalone receipt",
            ))
        }
        _ => {}
    }
    Ok(Checked {
        kind,
        decision,
        tool_name,
        workflow,
    })
}

/// Signs the stamped content in the profile's domain and role.
fn mint(content: Map<String, Value>, signing: &Signing<'_>) -> Result<Value, StoreError> {
    let receipt = match signing {
        Signing::Operator(operator) => mint_operator_receipt(content, &Signer::new(operator)?)?,
        Signing::SingleApproval {
            operator,
            approver_signature,
        } => mint_single_l1(content, &Signer::new(operator)?, approver_signature.clone())?,
        Signing::Quorum { operator, legs } => {
            mint_quorum(content, &Signer::new(operator)?, legs.clone())?
        }
        Signing::Decision { approver, .. } => mint_decision_link(content, &Signer::new(approver)?)?,
    };
    // Approver signatures come from another process: the assembled receipt must verify before it
    // is stored (receipts.md §15.3 (iv)). Operator-only receipts were just signed here.
    if !matches!(signing, Signing::Operator(_)) {
        let verification = verify_receipt(&receipt, None);
        if verification.verdict != Verdict::Valid {
            return Err(StoreError::request(format!(
                "the assembled receipt does not verify: {}: {}",
                verification.verdict,
                verification.detail.unwrap_or_default()
            )));
        }
    }
    Ok(receipt)
}

/// Commitment → field path of each commit-and-reveal marker of `content.redaction`.
fn salted_markers(content: &Map<String, Value>) -> HashMap<String, String> {
    content
        .get("redaction")
        .and_then(|r| r.get("markers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m.get("algorithm").and_then(Value::as_str) == Some(SALTED_BLAKE3))
        .filter_map(|m| {
            let commitment = m.get("commitment")?.as_str()?;
            let path = m.get("field_path")?.as_str()?;
            Some((commitment.to_owned(), path.to_owned()))
        })
        .collect()
}
