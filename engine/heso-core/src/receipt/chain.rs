//! Verifying chains: the receipts of one session, in the order given (never sorted: sorting
//! would hide a reorder).

use std::collections::HashMap;

use serde_json::Value;

use crate::identity::PublicKey;
use crate::receipt::hashing::{grouping_key, link_hash};
use crate::receipt::verify::{verify_receipt, Pins, Role, Verdict, Verification};

/// The outcome names of chain verification, with what each reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Every check passed.
    Valid {
        /// Number of receipts.
        length: usize,
    },
    /// No receipts at all (never `Valid`).
    Empty,
    /// A receipt failed its own verification.
    ContentTamper {
        /// That receipt's `seq` (0 when it has none).
        seq: u64,
        /// Its single-receipt verdict.
        reason: Verdict,
        /// Why.
        detail: String,
    },
    /// The links do not join up: a drop, reorder, insert or re-pointed link.
    LinkBroken {
        /// The receipt's `seq`.
        seq: u64,
        /// Which check failed.
        detail: String,
    },
    /// A lifecycle link in an action chain.
    WrongChainKind {
        /// The link's `seq`.
        seq: u64,
    },
    /// A lifecycle link signed by the wrong role.
    RoleViolation {
        /// The link's `seq`.
        seq: u64,
        /// Its kind.
        kind: String,
        /// The role its kind requires.
        required: String,
        /// Why.
        detail: String,
    },
    /// A lifecycle step that does not follow from the previous one.
    IllegalTransition {
        /// The link's `seq`.
        seq: u64,
        /// Which transition.
        detail: String,
    },
    /// A second terminal link for one action (the first wins).
    DoubleTerminal {
        /// The second terminal's `seq`.
        seq: u64,
        /// The first terminal kind.
        first: String,
        /// The second terminal kind.
        second: String,
    },
    /// A link's signer is not the key valid for its role at its position (rotation-aware mode).
    KeyNotValidAtPosition {
        /// The link's `seq`.
        seq: u64,
        /// The role.
        role: Role,
        /// Which key was expected.
        detail: String,
    },
    /// A signer is not among the pinned keys.
    UntrustedSigner {
        /// The receipt's `seq`.
        seq: u64,
        /// The signer's role.
        role: Role,
        /// Which key.
        detail: String,
    },
}

impl ChainVerdict {
    /// The normative verdict name, such as `HashMismatch`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Valid { .. } => "Valid",
            Self::Empty => "Empty",
            Self::ContentTamper { .. } => "ContentTamper",
            Self::LinkBroken { .. } => "LinkBroken",
            Self::WrongChainKind { .. } => "WrongChainKind",
            Self::RoleViolation { .. } => "RoleViolation",
            Self::IllegalTransition { .. } => "IllegalTransition",
            Self::DoubleTerminal { .. } => "DoubleTerminal",
            Self::KeyNotValidAtPosition { .. } => "KeyNotValidAtPosition",
            Self::UntrustedSigner { .. } => "UntrustedSigner",
        }
    }

    /// The `seq` of the failing receipt, when there is one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::Valid { .. } | Self::Empty => None,
            Self::ContentTamper { seq, .. }
            | Self::LinkBroken { seq, .. }
            | Self::WrongChainKind { seq }
            | Self::RoleViolation { seq, .. }
            | Self::IllegalTransition { seq, .. }
            | Self::DoubleTerminal { seq, .. }
            | Self::KeyNotValidAtPosition { seq, .. }
            | Self::UntrustedSigner { seq, .. } => Some(*seq),
        }
    }

    /// A one-line explanation, or `None` when `Valid`.
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::Valid { .. } => None,
            Self::Empty => Some("no receipts".to_owned()),
            Self::ContentTamper { reason, detail, .. } => Some(format!("{reason}: {detail}")),
            Self::LinkBroken { detail, .. }
            | Self::RoleViolation { detail, .. }
            | Self::IllegalTransition { detail, .. }
            | Self::KeyNotValidAtPosition { detail, .. }
            | Self::UntrustedSigner { detail, .. } => Some(detail.clone()),
            Self::WrongChainKind { .. } => Some("a lifecycle link in an action session".to_owned()),
            Self::DoubleTerminal { first, second, .. } => {
                Some(format!("`{second}` after terminal `{first}`"))
            }
        }
    }
}

/// Which rules a chain is verified by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainMode {
    /// Session rules if any receipt has `kind`, else action rules.
    Auto,
    /// Action session: receipts without `kind` only.
    Action,
    /// Lifecycle session.
    Session,
}

/// Which kind of session a chain was verified as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainType {
    /// Receipts without `kind`.
    Action,
    /// Lifecycle links.
    Lifecycle,
}

/// The outcome of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The verdict.
    pub verdict: ChainVerdict,
    /// How it was verified.
    pub chain_type: ChainType,
    /// Each receipt's own verification, in input order.
    pub receipts: Vec<Verification>,
}

/// Receipts verified per block: between blocks, progress is reported.
const BLOCK: usize = 1_024;
/// Below this many receipts in a block, threads cost more than they save.
const PARALLEL_FROM: usize = 64;

/// Each receipt's own verification (gates G0–G10), in order, on up to `workers` threads.
fn verify_each(
    receipts: &[&Value],
    workers: usize,
    on_verified: &mut dyn FnMut(usize),
) -> Vec<Verification> {
    let mut verifications = Vec::with_capacity(receipts.len());
    for block in receipts.chunks(BLOCK) {
        if workers <= 1 || block.len() < PARALLEL_FROM {
            verifications.extend(block.iter().map(|r| verify_receipt(r, None)));
        } else {
            let per_worker = block.len().div_ceil(workers);
            std::thread::scope(|scope| {
                let handles: Vec<_> = block
                    .chunks(per_worker)
                    .map(|part| {
                        scope.spawn(move || {
                            part.iter()
                                .map(|r| verify_receipt(r, None))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                for handle in handles {
                    match handle.join() {
                        Ok(part) => verifications.extend(part),
                        // A panic in a worker is a bug; surface it where it would have happened.
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
            });
        }
        on_verified(block.len());
    }
    verifications
}

fn seq_of(receipt: &Value) -> u64 {
    receipt
        .get("content")
        .and_then(|c| c.get("seq"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn content_str<'a>(receipt: &'a Value, name: &str) -> Option<&'a str> {
    receipt.get("content")?.get(name)?.as_str()
}

fn kind_of(receipt: &Value) -> Option<&str> {
    content_str(receipt, "kind")
}

/// The keys a lifecycle session starts from, for rotation-aware verification: the producer key
/// and, when decisions are expected, the decision key (trust on first use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationRoots {
    /// The producer (operator) key at `seq` 0.
    pub producer: PublicKey,
    /// The decision key at `seq` 0, if any.
    pub decision: Option<PublicKey>,
}

/// Verifies the receipts of one session, in the given order.
pub fn verify_chain(receipts: &[Value], mode: ChainMode, pins: Option<&Pins>) -> ChainReport {
    verify_chain_with_roots(receipts, mode, pins, None)
}

/// As [`verify_chain`], and, when `roots` are given, checks that every link is signed by the key
/// valid for its role at its position, following `key_rotation` links (receipts.md §10.3).
pub fn verify_chain_with_roots(
    receipts: &[Value],
    mode: ChainMode,
    pins: Option<&Pins>,
    roots: Option<&RotationRoots>,
) -> ChainReport {
    let receipts: Vec<&Value> = receipts.iter().collect();
    verify_chain_observed(&receipts, mode, pins, roots, 1, &mut |_| {})
}

/// As [`verify_chain_with_roots`], verifying the receipts' signatures on up to `workers` threads
/// and calling `on_verified(n)` as each block of `n` receipts is done (for progress reports).
pub fn verify_chain_observed(
    receipts: &[&Value],
    mode: ChainMode,
    pins: Option<&Pins>,
    roots: Option<&RotationRoots>,
    workers: usize,
    on_verified: &mut dyn FnMut(usize),
) -> ChainReport {
    let lifecycle = match mode {
        ChainMode::Action => false,
        ChainMode::Session => true,
        ChainMode::Auto => receipts.iter().any(|r| kind_of(r).is_some()),
    };
    let chain_type = if lifecycle {
        ChainType::Lifecycle
    } else {
        ChainType::Action
    };
    let verifications = verify_each(receipts, workers, on_verified);
    let verdict = chain_verdict(receipts, &verifications, lifecycle, pins, roots);
    ChainReport {
        verdict,
        chain_type,
        receipts: verifications,
    }
}

fn chain_verdict(
    receipts: &[&Value],
    verifications: &[Verification],
    lifecycle: bool,
    pins: Option<&Pins>,
    roots: Option<&RotationRoots>,
) -> ChainVerdict {
    if receipts.is_empty() {
        return ChainVerdict::Empty;
    }
    if !lifecycle {
        if let Some(receipt) = receipts.iter().find(|r| kind_of(r).is_some()) {
            return ChainVerdict::WrongChainKind {
                seq: seq_of(receipt),
            };
        }
    }
    for (receipt, verification) in receipts.iter().zip(verifications) {
        if verification.verdict == Verdict::Valid {
            continue;
        }
        let seq = seq_of(receipt);
        let detail = verification.detail.clone().unwrap_or_default();
        if verification.verdict == Verdict::RoleViolation {
            let kind = kind_of(receipt).unwrap_or("action").to_owned();
            return ChainVerdict::RoleViolation {
                seq,
                kind,
                required: "decision".to_owned(),
                detail,
            };
        }
        return ChainVerdict::ContentTamper {
            seq,
            reason: verification.verdict,
            detail,
        };
    }
    if let Some(broken) = check_links(receipts) {
        return broken;
    }
    if lifecycle {
        if let Some(illegal) = check_transitions(receipts) {
            return illegal;
        }
    }
    if let Some(roots) = roots {
        if let Some(wrong) = check_rotation(receipts, verifications, roots) {
            return wrong;
        }
    }
    if let Some(pins) = pins {
        for (receipt, verification) in receipts.iter().zip(verifications) {
            if let Some((role, detail)) = pins.first_untrusted(&verification.signers) {
                return ChainVerdict::UntrustedSigner {
                    seq: seq_of(receipt),
                    role,
                    detail,
                };
            }
        }
    }
    ChainVerdict::Valid {
        length: receipts.len(),
    }
}

/// The structural checks: genesis, one session, consecutive `seq`, and each link pointing at the
/// link hash of the receipt actually before it.
fn check_links(receipts: &[&Value]) -> Option<ChainVerdict> {
    let mut previous: Option<(&str, u64, &str)> = None;
    for receipt in receipts {
        let seq = seq_of(receipt);
        let broken = |detail: String| Some(ChainVerdict::LinkBroken { seq, detail });
        let content = receipt.get("content")?;
        let session = content.get("session_id").and_then(Value::as_str);
        let own_seq = content.get("seq").and_then(Value::as_u64);
        let prev_hash = content.get("prev_receipt_hash").and_then(Value::as_str);
        let hash = content
            .get("action_hash")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (Some(session), Some(own_seq)) = (session, own_seq) else {
            return broken("receipt has no chain block (session_id and seq)".to_owned());
        };
        match previous {
            None => {
                if own_seq != 0 {
                    return broken(format!("genesis receipt has seq {own_seq}, expected 0"));
                }
                if prev_hash.is_some_and(|h| !h.is_empty()) {
                    return broken("genesis receipt has a prev_receipt_hash".to_owned());
                }
            }
            Some((genesis_session, previous_seq, previous_hash)) => {
                if session != genesis_session {
                    return broken("session_id changed mid-chain".to_owned());
                }
                let expected = previous_seq.checked_add(1);
                if Some(own_seq) != expected {
                    let expected = expected.map_or_else(|| "none".to_owned(), |e| e.to_string());
                    return broken(format!("seq {own_seq} out of order (expected {expected})"));
                }
                let link = link_hash(session, previous_seq, previous_hash);
                if prev_hash != Some(link.as_str()) {
                    return broken(format!(
                        "prev_receipt_hash does not match the link hash of seq {previous_seq}"
                    ));
                }
            }
        }
        let genesis_session = previous.map_or(session, |(s, _, _)| s);
        previous = Some((genesis_session, own_seq, hash));
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Suspended,
    Escalated,
    Approved,
    Fast,
    Terminal(&'static str),
}

fn terminal_name(kind: &str) -> Option<&'static str> {
    match kind {
        "completed" => Some("completed"),
        "denied" => Some("denied"),
        "expired" => Some("expired"),
        _ => None,
    }
}

/// The lifecycle transition graph, per action (grouping key), in chain order.
fn check_transitions(receipts: &[&Value]) -> Option<ChainVerdict> {
    let mut states: HashMap<String, State> = HashMap::new();
    for receipt in receipts {
        let kind = kind_of(receipt).unwrap_or("action");
        if kind == "key_rotation" {
            continue;
        }
        let seq = seq_of(receipt);
        let action = receipt.get("content")?.get("action")?.as_object()?;
        let key = grouping_key(action);
        let current = states.get(&key).copied();
        let next = match (current, kind) {
            (None, "suspended") => State::Suspended,
            (None, "action") => State::Fast,
            (Some(State::Suspended | State::Escalated), "approved") => State::Approved,
            (Some(State::Suspended | State::Escalated), "escalated") => State::Escalated,
            (Some(State::Terminal(first)), second) if terminal_name(second).is_some() => {
                return Some(ChainVerdict::DoubleTerminal {
                    seq,
                    first: first.to_owned(),
                    second: second.to_owned(),
                });
            }
            (None | Some(State::Approved | State::Fast), "completed")
            | (Some(State::Suspended | State::Escalated), "denied" | "expired") => {
                State::Terminal(terminal_name(kind).unwrap_or("completed"))
            }
            (state, kind) => {
                let after = match state {
                    None => "nothing".to_owned(),
                    Some(state) => format!("{state:?}").to_lowercase(),
                };
                return Some(ChainVerdict::IllegalTransition {
                    seq,
                    detail: format!("`{kind}` after {after}"),
                });
            }
        };
        states.insert(key, next);
    }
    None
}

/// Rotation-aware signer check: each link's signer must be the key valid for its role at its
/// `seq`; a `key_rotation` link, signed by the outgoing key it names, hands the role to the
/// incoming key from the next link on.
fn check_rotation(
    receipts: &[&Value],
    verifications: &[Verification],
    roots: &RotationRoots,
) -> Option<ChainVerdict> {
    let mut producer = roots.producer;
    let mut decision = roots.decision;
    for (receipt, verification) in receipts.iter().zip(verifications) {
        let seq = seq_of(receipt);
        for (role, key) in &verification.signers {
            let current = match role {
                Role::Operator => Some(producer),
                Role::Approver => decision,
            };
            if current != Some(*key) {
                let detail = match current {
                    Some(valid) => format!(
                        "{} signed by {}, but {} is the valid key at seq {seq}",
                        role.name(),
                        key.fingerprint(),
                        valid.fingerprint()
                    ),
                    None => format!(
                        "a {} signed at seq {seq}, and no decision key is trusted",
                        role.name()
                    ),
                };
                return Some(ChainVerdict::KeyNotValidAtPosition {
                    seq,
                    role: *role,
                    detail,
                });
            }
        }
        if kind_of(receipt) == Some("key_rotation") {
            let rotation = receipt.get("content")?.get("key_rotation")?;
            let key = |name: &str| {
                rotation
                    .get(name)?
                    .as_str()
                    .and_then(|t| PublicKey::from_base64(t).ok())
            };
            let (outgoing, incoming) = (key("outgoing_public_key"), key("incoming_public_key"));
            let role_is_decision = rotation.get("role").and_then(Value::as_str) == Some("decision");
            let holder = if role_is_decision {
                decision
            } else {
                Some(producer)
            };
            let role = if role_is_decision {
                Role::Approver
            } else {
                Role::Operator
            };
            let (Some(outgoing), Some(incoming)) = (outgoing, incoming) else {
                let detail = "key_rotation names keys that do not decode".to_owned();
                return Some(ChainVerdict::KeyNotValidAtPosition { seq, role, detail });
            };
            if holder != Some(outgoing) {
                let detail = format!(
                    "key_rotation retires {}, which is not the valid key",
                    outgoing.fingerprint()
                );
                return Some(ChainVerdict::KeyNotValidAtPosition { seq, role, detail });
            }
            if role_is_decision {
                decision = Some(incoming);
            } else {
                producer = incoming;
            }
        }
    }
    None
}
