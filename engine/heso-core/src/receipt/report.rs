//! Verifying a set of inputs as `heso verify` and `heso-compliance verify` do, and reporting the
//! result: one implementation, so both programs print the same text and the same JSON.
//!
//! Inputs are concatenated in the order given and split by `session_id`, keeping that order;
//! each session is verified as a chain and standalone receipts one by one. A lone receipt (one
//! receipt in all the input) is verified by itself, whatever session it belongs to.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::identity::PublicKey;
use crate::json::parse_strict;
use crate::receipt::chain::{verify_chain_observed, ChainMode, ChainType, ChainVerdict};
use crate::receipt::verify::{verify_receipt, Pins, Role, TrustLevel, Verdict, Verification};

/// One receipt read from an input, with where it came from (`file`, `file:line`, `-:3`, …).
#[derive(Debug, Clone)]
pub struct InputReceipt {
    /// Where the receipt came from, for people.
    pub source: String,
    /// Its exact bytes.
    pub bytes: Vec<u8>,
}

/// Where a set of pinned keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinSource {
    /// The project's `heso.toml`.
    Project,
    /// Command-line flags or API arguments.
    Flags,
    /// Nowhere: the set is empty.
    None,
}

impl PinSource {
    fn name(self) -> &'static str {
        match self {
            Self::Project => "heso.toml",
            Self::Flags => "flags",
            Self::None => "none",
        }
    }
}

/// The pinning in force and how to describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pinning {
    /// Pinning is off, with the reason shown to people.
    Off(String),
    /// Pinning is on for both roles.
    On {
        /// Pinned operator keys and their source.
        operators: (Vec<PublicKey>, PinSource),
        /// Pinned approver keys and their source.
        approvers: (Vec<PublicKey>, PinSource),
    },
}

impl Pinning {
    fn pins(&self) -> Option<Pins> {
        match self {
            Self::Off(_) => None,
            Self::On {
                operators,
                approvers,
            } => Some(Pins {
                operators: operators.0.clone(),
                approvers: approvers.0.clone(),
            }),
        }
    }
}

/// The verdict of one chain in the report.
#[derive(Debug, Clone)]
pub struct ChainEntry {
    /// The session.
    pub session_id: String,
    /// Action or lifecycle.
    pub chain_type: ChainType,
    /// Receipts in it.
    pub length: usize,
    /// The verdict.
    pub verdict: ChainVerdict,
    /// The operator keys that signed it (shown when pinning is off).
    pub operators: Vec<PublicKey>,
}

/// One receipt in the report.
#[derive(Debug, Clone)]
pub struct ReceiptEntry {
    /// Where it came from.
    pub source: String,
    /// What verification said.
    pub verification: Verification,
    /// Selected content members (absent when the receipt did not parse).
    pub action_hash: Option<String>,
    /// `session_id`.
    pub session_id: Option<String>,
    /// `seq`.
    pub seq: Option<u64>,
    /// Lifecycle kind (`action` when absent).
    pub kind: Option<String>,
    /// `action.verb`.
    pub verb: Option<String>,
    /// `action.tool_name`.
    pub tool_name: Option<String>,
    /// Whether it belongs to a verified chain (rather than standalone or given singly).
    pub in_chain: bool,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// The pinning in force.
    pub pinning: Pinning,
    /// Chains, in order of first appearance.
    pub chains: Vec<ChainEntry>,
    /// Every receipt read, in input order.
    pub receipts: Vec<ReceiptEntry>,
    /// Files in directories that held no receipts.
    pub skipped_files: usize,
}

/// Verifies the inputs under `pinning`.
pub fn verify_inputs(inputs: &[InputReceipt], pinning: Pinning, skipped_files: usize) -> Report {
    verify_inputs_observed(inputs, pinning, skipped_files, 1, &mut |_, _| {})
}

/// As [`verify_inputs`], on up to `workers` threads, calling `progress(done, total)` as
/// receipts are verified.
pub fn verify_inputs_observed(
    inputs: &[InputReceipt],
    pinning: Pinning,
    skipped_files: usize,
    workers: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Report {
    let total = inputs.len();
    let mut done = 0;
    let pins = pinning.pins();
    let parsed: Vec<Option<Value>> = inputs.iter().map(|i| parse_strict(&i.bytes).ok()).collect();
    let session_of = |value: &Option<Value>| -> Option<String> {
        value
            .as_ref()?
            .get("content")?
            .get("session_id")?
            .as_str()
            .map(str::to_owned)
    };
    let lone = inputs.len() == 1;
    let mut order: Vec<String> = Vec::new();
    let mut sessions: HashMap<String, Vec<usize>> = HashMap::new();
    if !lone {
        for (index, value) in parsed.iter().enumerate() {
            if let Some(session) = session_of(value) {
                if !sessions.contains_key(&session) {
                    order.push(session.clone());
                }
                sessions.entry(session).or_default().push(index);
            }
        }
    }
    let mut verifications: Vec<Option<Verification>> = vec![None; inputs.len()];
    let mut chains = Vec::new();
    for session in order {
        let indexes = sessions.remove(&session).unwrap_or_default();
        let members: Vec<&Value> = indexes
            .iter()
            .filter_map(|i| parsed.get(*i)?.as_ref())
            .collect();
        let mut on_verified = |n: usize| {
            done += n;
            progress(done, total);
        };
        let pins = pins.as_ref();
        let report = verify_chain_observed(
            &members,
            ChainMode::Auto,
            pins,
            None,
            workers,
            &mut on_verified,
        );
        let mut operators: Vec<PublicKey> = Vec::new();
        for (index, verification) in indexes.iter().zip(report.receipts) {
            for (role, key) in &verification.signers {
                if *role == Role::Operator && !operators.contains(key) {
                    operators.push(*key);
                }
            }
            if let Some(slot) = verifications.get_mut(*index) {
                *slot = Some(verification);
            }
        }
        chains.push(ChainEntry {
            session_id: session,
            chain_type: report.chain_type,
            length: indexes.len(),
            verdict: report.verdict,
            operators,
        });
    }
    let receipts = inputs
        .iter()
        .zip(parsed)
        .zip(verifications)
        .map(|((input, value), chained)| {
            let in_chain = chained.is_some();
            if chained.is_none() {
                done += 1;
                progress(done, total);
            }
            let verification = match (chained, &value) {
                // A chain member was verified without pins (the chain verdict carries pinning);
                // its own entry still says whether its signers are trusted.
                (Some(verification), _) => apply_pins(verification, pins.as_ref()),
                (None, Some(value)) => verify_receipt(value, pins.as_ref()),
                (None, None) => verify_receipt_failure(&input.bytes),
            };
            entry(input, value.as_ref(), verification, in_chain)
        })
        .collect();
    Report {
        pinning,
        chains,
        receipts,
        skipped_files,
    }
}

/// Gate G11 on a verification made without pins: a `Valid` receipt whose signer is not pinned
/// becomes `UntrustedSigner`.
fn apply_pins(verification: Verification, pins: Option<&Pins>) -> Verification {
    let untrusted = pins.and_then(|p| p.first_untrusted(&verification.signers));
    match untrusted {
        Some((_, detail)) if verification.verdict == Verdict::Valid => Verification {
            verdict: Verdict::UntrustedSigner,
            trust_level: None,
            detail: Some(detail),
            ..verification
        },
        _ => verification,
    }
}

fn verify_receipt_failure(bytes: &[u8]) -> Verification {
    crate::receipt::verify::verify_receipt_bytes(bytes, None)
}

fn entry(
    input: &InputReceipt,
    value: Option<&Value>,
    verification: Verification,
    in_chain: bool,
) -> ReceiptEntry {
    let content = value.and_then(|v| v.get("content"));
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let action = content.and_then(|c| c.get("action"));
    ReceiptEntry {
        source: input.source.clone(),
        verification,
        action_hash: text(content.and_then(|c| c.get("action_hash"))),
        session_id: text(content.and_then(|c| c.get("session_id"))),
        seq: content.and_then(|c| c.get("seq")).and_then(Value::as_u64),
        // `kind` absent means a plain action; a `kind` that is not a string is not reported.
        kind: content.and_then(|c| match c.get("kind") {
            None => Some("action".to_owned()),
            Some(kind) => kind.as_str().map(str::to_owned),
        }),
        verb: text(action.and_then(|a| a.get("verb"))),
        tool_name: text(action.and_then(|a| a.get("tool_name"))),
        in_chain,
    }
}

impl Report {
    /// Whether every chain and receipt is `Valid` and at least one receipt was read.
    pub fn ok(&self) -> bool {
        !self.receipts.is_empty()
            && self
                .chains
                .iter()
                .all(|c| matches!(c.verdict, ChainVerdict::Valid { .. }))
            && self
                .receipts
                .iter()
                .filter(|r| !r.in_chain)
                .all(|r| r.verification.verdict == Verdict::Valid)
    }

    /// The exit status: 0 when everything is `Valid`, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.ok())
    }

    /// The text report, one line per element.
    pub fn text_lines(&self, all: bool) -> Vec<String> {
        let mut lines = vec![self.pinning_line()];
        let width = self
            .chains
            .iter()
            .map(|c| c.session_id.chars().count())
            .max()
            .unwrap_or(0);
        let count_width = self
            .chains
            .iter()
            .map(|c| group(c.length).len())
            .max()
            .unwrap_or(0);
        let pinned = matches!(self.pinning, Pinning::On { .. });
        for chain in &self.chains {
            let mut line = format!(
                "chain {:<width$} {:>count_width$} receipts  {}",
                chain.session_id,
                group(chain.length),
                chain.verdict.name()
            );
            if let (Some(seq), Some(detail)) = (chain.verdict.seq(), chain.verdict.detail()) {
                let _ = write!(line, " at seq {seq}: {detail}");
            }
            if !pinned && !chain.operators.is_empty() {
                let signers: Vec<String> = chain
                    .operators
                    .iter()
                    .map(|k| k.fingerprint().short())
                    .collect();
                let _ = write!(line, "  signed by {}", signers.join(", "));
            }
            lines.push(line);
        }
        for receipt in self.receipts.iter().filter(|r| all || !r.in_chain) {
            lines.push(receipt_line(receipt));
        }
        if self.skipped_files > 0 {
            lines.push(format!(
                "skipped {} non-receipt file{}",
                group(self.skipped_files),
                plural(self.skipped_files)
            ));
        }
        lines.push(self.summary_line());
        lines
    }

    fn pinning_line(&self) -> String {
        match &self.pinning {
            Pinning::Off(reason) => format!("not pinned ({reason})"),
            Pinning::On {
                operators,
                approvers,
            } => {
                let describe = |(keys, source): &(Vec<PublicKey>, PinSource),
                                role: &str,
                                project_table: &str| {
                    let source_text = match source {
                        PinSource::Project => format!("heso.toml {project_table}"),
                        PinSource::Flags => "--pubkey".to_owned(),
                        PinSource::None => String::new(),
                    };
                    if keys.is_empty() {
                        return match source {
                            PinSource::Project => {
                                format!("no {role} keys (heso.toml {project_table} is empty)")
                            }
                            _ => format!("no {role} keys"),
                        };
                    }
                    let fingerprints: Vec<String> =
                        keys.iter().map(|k| k.fingerprint().to_string()).collect();
                    let source_text = if *source == PinSource::Flags && role == "approver" {
                        "--approver-pubkey".to_owned()
                    } else {
                        source_text
                    };
                    format!("{role} {} ({source_text})", fingerprints.join(", "))
                };
                format!(
                    "pinned: {}; {}",
                    describe(operators, "operator", "[identity]"),
                    describe(approvers, "approver", "[approvers]")
                )
            }
        }
    }

    fn summary_line(&self) -> String {
        let read = self.receipts.len();
        if read == 0 {
            return "fail: no receipts read".to_owned();
        }
        let standalone: Vec<&ReceiptEntry> = self.receipts.iter().filter(|r| !r.in_chain).collect();
        let failed_chains = self
            .chains
            .iter()
            .filter(|c| !matches!(c.verdict, ChainVerdict::Valid { .. }))
            .count();
        let failed_standalone = standalone
            .iter()
            .filter(|r| r.verification.verdict != Verdict::Valid)
            .count();
        if self.ok() {
            let mut line = format!("ok: {} receipt{} verified", group(read), plural(read));
            match (self.chains.len(), standalone.len()) {
                (0, _) => {}
                (chains, 0) => {
                    let _ = write!(line, " in {chains} chain{}", plural(chains));
                }
                (chains, alone) => {
                    let _ = write!(
                        line,
                        " in {chains} chain{} and {alone} standalone",
                        plural(chains)
                    );
                }
            }
            return format!("{line}, 0 failed");
        }
        let mut parts = Vec::new();
        if !self.chains.is_empty() {
            parts.push(format!(
                "{failed_chains} of {} chain{}",
                self.chains.len(),
                plural(self.chains.len())
            ));
        }
        if !standalone.is_empty() {
            parts.push(format!(
                "{failed_standalone} of {} standalone receipt{}",
                standalone.len(),
                plural(standalone.len())
            ));
        }
        format!(
            "fail: {} failed ({} receipt{} read)",
            parts.join(" and "),
            group(read),
            plural(read)
        )
    }

    /// The JSON `result` object of the CLI contract.
    pub fn to_json(&self, all: bool) -> Value {
        let keys = |keys: &[PublicKey]| -> Vec<Value> {
            keys.iter()
                .map(|k| json!({"public_key": k.to_base64(), "fingerprint": k.fingerprint().to_string()}))
                .collect()
        };
        let pinning = match &self.pinning {
            Pinning::Off(reason) => json!({
                "enabled": false,
                "reason": reason,
                "operator": {"source": "none", "keys": []},
                "approvers": {"source": "none", "keys": []},
            }),
            Pinning::On {
                operators,
                approvers,
            } => json!({
                "enabled": true,
                "operator": {"source": operators.1.name(), "keys": keys(&operators.0)},
                "approvers": {"source": approvers.1.name(), "keys": keys(&approvers.0)},
            }),
        };
        let valid = self
            .receipts
            .iter()
            .filter(|r| r.verification.verdict == Verdict::Valid)
            .count();
        let chains: Vec<Value> = self
            .chains
            .iter()
            .map(|c| {
                json!({
                    "session_id": c.session_id,
                    "type": match c.chain_type { ChainType::Action => "action", ChainType::Lifecycle => "lifecycle" },
                    "length": c.length,
                    "verdict": c.verdict.name(),
                    "seq": c.verdict.seq(),
                    "detail": c.verdict.detail(),
                })
            })
            .collect();
        let pinned = matches!(self.pinning, Pinning::On { .. });
        let receipts: Vec<Value> = self
            .receipts
            .iter()
            .filter(|r| all || !r.in_chain || r.verification.verdict != Verdict::Valid)
            .map(|r| receipt_json(r, pinned))
            .collect();
        let mut result = Map::new();
        result.insert("pinning".to_owned(), pinning);
        result.insert(
            "summary".to_owned(),
            json!({
                "receipts": self.receipts.len(),
                "valid": valid,
                "failed": self.receipts.len() - valid,
                "chains": self.chains.len(),
                "standalone": self.receipts.iter().filter(|r| !r.in_chain).count(),
                "skipped_files": self.skipped_files,
            }),
        );
        result.insert("chains".to_owned(), Value::Array(chains));
        result.insert("receipts".to_owned(), Value::Array(receipts));
        Value::Object(result)
    }
}

fn receipt_json(receipt: &ReceiptEntry, pinned: bool) -> Value {
    let verification = &receipt.verification;
    json!({
        "action_hash": receipt.action_hash,
        "source": receipt.source,
        "session_id": receipt.session_id,
        "seq": receipt.seq,
        "kind": receipt.kind,
        "verb": receipt.verb,
        "tool_name": receipt.tool_name,
        "verdict": verification.verdict.name(),
        "trust_level": verification.trust_level.map(TrustLevel::name),
        "detail": verification.detail,
        "operator_fingerprint": verification.operator.map(|k| k.fingerprint().to_string()),
        "pinned": pinned && verification.verdict != Verdict::UntrustedSigner,
    })
}

fn receipt_line(receipt: &ReceiptEntry) -> String {
    let verification = &receipt.verification;
    let hash = receipt.action_hash.as_deref().map_or_else(
        || receipt.source.clone(),
        |h| format!("{}…", h.get(..12).unwrap_or(h)),
    );
    let mut line = format!("receipt {hash}  {}", verification.verdict.name());
    if let Some(level) = verification.trust_level {
        let _ = write!(line, " ({})", level.name());
    }
    if let (Some(verb), Some(tool)) = (&receipt.verb, &receipt.tool_name) {
        let _ = write!(line, "  {verb} {tool}");
    }
    if let Some(operator) = verification.operator {
        let _ = write!(line, "  signed by {}", operator.fingerprint().short());
    }
    if verification.verdict == Verdict::UntrustedSigner {
        if let Some(detail) = &verification.detail {
            let _ = write!(line, " ({detail})");
        }
    } else if verification.verdict != Verdict::Valid {
        if let Some(detail) = &verification.detail {
            let _ = write!(line, ": {detail}");
        }
    }
    line
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// A count with `,` as thousands separator.
pub fn group(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Failing verdict names, coloured red in text output.
const FAILURE_WORDS: [&str; 22] = [
    "Malformed",
    "WrongAlgorithm",
    "Unsupported",
    "HashMismatch",
    "InvalidSignature",
    "SelfApproval",
    "ThresholdNotMet",
    "MalformedRedaction",
    "TrustLevelMismatch",
    "TimeAnchorUnverifiable",
    "AnchorRequired",
    "MandateRejected",
    "IdentityMismatch",
    "UntrustedSigner",
    "RoleViolation",
    "Empty",
    "ContentTamper",
    "LinkBroken",
    "WrongChainKind",
    "IllegalTransition",
    "DoubleTerminal",
    "KeyNotValidAtPosition",
];

/// A report line with its verdict words in colour (ANSI): `Valid` and `ok:` green, failures
/// red. The text is complete without colour; colour only repeats it.
pub fn colorize(line: &str) -> String {
    let paint = |word: &str, code: &str| format!("\u{1b}[{code}m{word}\u{1b}[0m");
    if let Some(rest) = line.strip_prefix("ok:") {
        return format!("{}{rest}", paint("ok:", "32"));
    }
    if let Some(rest) = line.strip_prefix("fail:") {
        return format!("{}{rest}", paint("fail:", "31"));
    }
    for (word, code) in std::iter::once(("Valid", "32")).chain(FAILURE_WORDS.map(|w| (w, "31"))) {
        let needle = format!("  {word}");
        let Some(at) = line.find(&needle) else {
            continue;
        };
        let end = at + needle.len();
        let after = line.get(end..).unwrap_or_default();
        if after.is_empty() || after.starts_with([' ', '(', ':']) {
            let before = line.get(..at + 2).unwrap_or_default();
            return format!("{before}{}{after}", paint(word, code));
        }
    }
    line.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_repeats_the_verdict_words_only() {
        let green = "\u{1b}[32m";
        let red = "\u{1b}[31m";
        let reset = "\u{1b}[0m";
        assert_eq!(
            colorize("chain demo  10 receipts  Valid"),
            format!("chain demo  10 receipts  {green}Valid{reset}")
        );
        assert_eq!(
            colorize("receipt 0b77e1c94f20…  UntrustedSigner  payment x"),
            format!("receipt 0b77e1c94f20…  {red}UntrustedSigner{reset}  payment x")
        );
        assert_eq!(
            colorize("ok: 1 receipt verified"),
            format!("{green}ok:{reset} 1 receipt verified")
        );
        assert_eq!(
            colorize("fail: 1 of 1"),
            format!("{red}fail:{reset} 1 of 1")
        );
        assert_eq!(
            colorize("pinned: operator heso:x"),
            "pinned: operator heso:x"
        );
        assert_eq!(
            colorize("receipt x  Valid (L1)  a b"),
            format!("receipt x  {green}Valid{reset} (L1)  a b")
        );
    }

    #[test]
    fn counts_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_204), "1,204");
        assert_eq!(group(1_234_567), "1,234,567");
    }
}
