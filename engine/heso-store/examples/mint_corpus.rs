//! Writes a corpus of receipts of every kind the engine mints, for the independent checker
//! (`scripts/independent_check.py`) to re-verify with third-party libraries only.
//!
//! Usage: `cargo run -p heso-store --example mint_corpus -- OUT_DIR [--chain-length N]`. With
//! `--chain-length`, it also writes `long-chain.jsonl`, one action session of N plain receipts
//! for `nox -s bench` (packaging.md §7.1). The keys are fixed throwaway seeds and every varied
//! field comes from a seeded generator, so the corpus is the same on every run.
#![expect(
    clippy::indexing_slicing,
    reason = "a tool that edits JSON it built itself; indexing a missing member is a bug here"
)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use heso_core::identity::{Identity, SecretSeed};
use heso_core::receipt::hashing::link_hash;
use heso_core::receipt::mint::{
    approver_entry, mint_decision_link, mint_operator_receipt, mint_quorum, mint_single_l1, Signer,
};
use heso_core::receipt::redaction::{redact, RedactMode};
use serde_json::{json, Map, Value};

fn identity(byte: u8) -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([byte; 32]))
}

fn content(
    operator: &Identity,
    verb: &str,
    tool: &str,
    fields: &Value,
    decision: &str,
) -> Map<String, Value> {
    let mut content = Map::new();
    content.insert("captured_at".into(), "2026-11-24T12:00:00Z".into());
    content.insert(
        "agent_identity".into(),
        operator.public_key().to_base64().into(),
    );
    content.insert(
        "action".into(),
        json!({"verb": verb, "tool_name": tool, "workflow": "corpus", "account": "acct-corpus", "fields": fields.clone()}),
    );
    content.insert(
        "policy".into(),
        json!({"rule_id": format!("{verb}.{decision}"), "rule_display": format!("When any agent does {verb}, then {decision}."),
               "matched_conditions": [], "decision_path": decision}),
    );
    content.insert("trust_level".into(), "L0".into());
    content
}

/// Appends receipts to one session, linking each to the one before, and writes each receipt to
/// a JSON Lines file as it is minted: a long chain never has to fit in memory.
struct Session {
    id: String,
    next_seq: u64,
    last_action_hash: Option<String>,
    file: BufWriter<File>,
}

impl Session {
    /// A session written to `<dir>/<id>.jsonl`.
    fn create(dir: &Path, id: &str) -> std::io::Result<Self> {
        Self::create_at(&dir.join(format!("{id}.jsonl")), id)
    }

    fn create_at(path: &Path, id: &str) -> std::io::Result<Self> {
        Ok(Self {
            id: id.to_owned(),
            next_seq: 0,
            last_action_hash: None,
            file: BufWriter::new(File::create(path)?),
        })
    }

    fn chain(&self, mut content: Map<String, Value>) -> Map<String, Value> {
        let seq = self.next_seq;
        content.insert("session_id".into(), self.id.clone().into());
        content.insert("seq".into(), seq.into());
        if let Some(hash) = &self.last_action_hash {
            content.insert(
                "prev_receipt_hash".into(),
                link_hash(&self.id, seq - 1, hash).into(),
            );
        }
        content
    }

    fn push(&mut self, receipt: &Value) -> Result<()> {
        serde_json::to_writer(&mut self.file, receipt)?;
        self.file.write_all(b"\n")?;
        let hash = receipt["content"]["action_hash"]
            .as_str()
            .unwrap_or_default();
        self.last_action_hash = Some(hash.to_owned());
        self.next_seq += 1;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn record(approver: &Identity, decision: &str) -> Value {
    json!({"decision": decision, "approver_identity": approver.public_key().to_base64(),
           "reason": "checked against the budget", "decided_at": "2026-11-24T12:05:00Z", "sla_minutes": 30})
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: mint_corpus OUT_DIR [--chain-length N]";

/// The output directory and the optional length of the long chain.
fn parse_args() -> Result<(PathBuf, Option<u64>)> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [out] => Ok((PathBuf::from(out), None)),
        [out, flag, length] if flag == "--chain-length" => {
            let length = length
                .parse()
                .map_err(|_| format!("`--chain-length` takes a whole number, not `{length}`"))?;
            Ok((PathBuf::from(out), Some(length)))
        }
        _ => Err(USAGE.into()),
    }
}

fn main() -> Result<()> {
    let (out, chain_length) = parse_args()?;
    std::fs::create_dir_all(&out)?;
    let operator = identity(0x21);
    let approvers = [identity(0x22), identity(0x23), identity(0x24)];
    let op = Signer::new(&operator)?;
    let pending = content(
        &operator,
        "payment",
        "charge_card",
        &json!({"amount": 5000, "currency": "usd"}),
        "require_approval",
    );
    write_action_session(&out, &operator, &op, &pending)?;
    write_single_l1(&out, &op, &approvers[0], &pending)?;
    let mut roster: Vec<String> = approvers
        .iter()
        .map(|a| a.public_key().to_base64())
        .collect();
    roster.sort();
    write_quorum(&out, &op, &approvers, &roster, &pending)?;
    write_lifecycles(&out, &op, &approvers[1], &roster, &pending)?;
    if let Some(length) = chain_length {
        write_long_chain(&out.join("long-chain.jsonl"), &operator, &op, length)?;
    }
    std::fs::write(
        out.join("operator.pub"),
        format!("{}\n", operator.public_key().to_base64()),
    )?;
    let approver_keys: Vec<String> = approvers
        .iter()
        .map(|a| a.public_key().to_base64())
        .collect();
    std::fs::write(out.join("approvers.pub"), approver_keys.join("\n") + "\n")?;
    println!("wrote the corpus to {}", out.display());
    Ok(())
}

/// An action session: allowed, blocked, redacted both ways, pending, a result and an error.
fn write_action_session(
    out: &Path,
    operator: &Identity,
    op: &Signer<'_>,
    pending: &Map<String, Value>,
) -> Result<()> {
    let mut actions = Session::create(out, "corpus-actions")?;
    let fields = json!({"prompt": "naïve 日本語 \u{2028} \"q\"", "n": 1e21, "x": -0.0});
    let plain = [
        content(operator, "llm_call", "summarise", &fields, "allow"),
        content(
            operator,
            "http_request",
            "fetch",
            &json!({"url": "https://pastebin.com/x"}),
            "block",
        ),
    ];
    for content in plain {
        let chained = actions.chain(content);
        actions.push(&mint_operator_receipt(chained, op)?)?;
    }
    let mut salt = 0u8;
    for mode in [RedactMode::CommitAndReveal, RedactMode::Destructive] {
        let secret =
            json!({"api_key": "sk-live-123", "auth": {"secret": "s3cret", "scheme": "bearer"}});
        let mut fields = secret.as_object().cloned().unwrap_or_default();
        let paths = ["api_key".to_owned(), "auth.secret".to_owned()];
        let (record, _) = redact(&mut fields, &paths, mode, &mut || {
            salt += 1;
            [salt; 32]
        });
        let mut redacted = content(
            operator,
            "tool_call",
            "call_api",
            &Value::Object(fields),
            "redact",
        );
        if let Some(record) = record {
            redacted.insert("redaction".into(), record);
        }
        let chained = actions.chain(redacted);
        actions.push(&mint_operator_receipt(chained, op)?)?;
    }
    let chained = actions.chain(pending.clone());
    actions.push(&mint_operator_receipt(chained, op)?)?;
    let mut result = content(operator, "tool_call", "search", &json!({"q": "x"}), "allow");
    result["action"]["result_hash"] = heso_core::crypto::blake3_hex(b"\"abc\"").into();
    let chained = actions.chain(result);
    actions.push(&mint_operator_receipt(chained, op)?)?;
    let mut failed = content(operator, "tool_call", "search", &json!({"q": "y"}), "allow");
    failed["action"]["error"] = "TimeoutError: no answer in 30s".into();
    let chained = actions.chain(failed);
    actions.push(&mint_operator_receipt(chained, op)?)?;
    actions.finish()?;
    Ok(())
}

/// Standalone single-approver L1 receipts, approved and rejected.
fn write_single_l1(
    out: &Path,
    op: &Signer<'_>,
    approver: &Identity,
    pending: &Map<String, Value>,
) -> Result<()> {
    for (name, decision) in [("l1-approved", "approved"), ("l1-rejected", "rejected")] {
        let mut body = pending.clone();
        body.insert("trust_level".into(), "L1".into());
        body.insert("approver_decision".into(), record(approver, decision));
        let signature = approver_entry(body.clone(), &Signer::new(approver)?)?;
        let receipt = mint_single_l1(body, op, signature)?;
        std::fs::write(
            out.join(format!("{name}.json")),
            serde_json::to_vec(&receipt)?,
        )?;
    }
    Ok(())
}

/// A 2-of-3 quorum, signed by the first two approvers.
fn write_quorum(
    out: &Path,
    op: &Signer<'_>,
    approvers: &[Identity],
    roster: &[String],
    pending: &Map<String, Value>,
) -> Result<()> {
    let quorum_body = |records: Vec<Value>| {
        let mut body = pending.clone();
        body.insert("trust_level".into(), "L1".into());
        body.insert(
            "multi_approval".into(),
            json!({"threshold": 2, "roster": roster, "approvers": records}),
        );
        body
    };
    let mut legs = Vec::new();
    let mut records = Vec::new();
    for approver in approvers.iter().take(2) {
        let mut leg_record = record(approver, "approved");
        if let Some(map) = leg_record.as_object_mut() {
            map.remove("sla_minutes");
        }
        legs.push(approver_entry(
            quorum_body(vec![leg_record.clone()]),
            &Signer::new(approver)?,
        )?);
        records.push(leg_record);
    }
    let quorum = mint_quorum(quorum_body(records), op, legs)?;
    std::fs::write(out.join("quorum.json"), serde_json::to_vec(&quorum)?)?;
    Ok(())
}

/// Lifecycle sessions: approved then completed, denied, and expired.
fn write_lifecycles(
    out: &Path,
    op: &Signer<'_>,
    approver: &Identity,
    roster: &[String],
    pending: &Map<String, Value>,
) -> Result<()> {
    let sessions = [
        ("lifecycle-approved", "approved", "approved"),
        ("lifecycle-denied", "denied", "rejected"),
        ("lifecycle-expired", "expired", "rejected"),
    ];
    for (name, decision_kind, decision) in sessions {
        let mut session = Session::create(out, name)?;
        let mut suspended = pending.clone();
        suspended.insert("kind".into(), "suspended".into());
        let hash = heso_core::crypto::blake3_hex;
        suspended.insert(
            "suspension".into(),
            json!({
                "resume_token_hash": hash(b"token"),
                "context_ref": {"scheme": "customer", "key": name, "hash": hash(b"{}")},
                "policy": {"policy_id": "local", "policy_hash": hash(b"policy"), "rule": "payment.require_approval"},
                "approval": {"sla": "30m", "expires_at": "2026-11-24T12:30:00Z", "on_timeout": "deny", "approver_pubkeys": roster}
            }),
        );
        let chained = session.chain(suspended);
        session.push(&mint_operator_receipt(chained, op)?)?;
        let mut link = pending.clone();
        link.insert("kind".into(), decision_kind.into());
        link.insert("trust_level".into(), "L1".into());
        link.insert("approver_decision".into(), record(approver, decision));
        let chained = session.chain(link);
        session.push(&mint_decision_link(chained, &Signer::new(approver)?)?)?;
        if decision_kind == "approved" {
            let mut completed = pending.clone();
            completed.insert("kind".into(), "completed".into());
            completed["action"]["result_hash"] = hash(b"{\"ok\":true}").into();
            let chained = session.chain(completed);
            session.push(&mint_operator_receipt(chained, op)?)?;
        }
        session.finish()?;
    }
    Ok(())
}

/// splitmix64: a fixed-seed generator, so the long chain is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        let index = usize::try_from(self.below(items.len() as u64)).unwrap_or_default();
        items[index]
    }

    /// A phrase of `min..=max` words, to vary the receipts' sizes as real prompts do.
    fn phrase(&mut self, min: u64, max: u64) -> String {
        const WORDS: [&str; 16] = [
            "quarterly",
            "revenue",
            "summarise",
            "the",
            "filing",
            "customer",
            "refund",
            "policy",
            "draft",
            "reply",
            "invoice",
            "overdue",
            "compare",
            "risk",
            "contract",
            "renewal",
        ];
        let count = min + self.below(max - min + 1);
        (0..count)
            .map(|_| self.pick(&WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// RFC 3339 UTC to the second (`captured_at`'s format) of a Unix time, formatted by the store's
/// own clock so the corpus and the store cannot disagree on the format.
fn utc_timestamp(unix_seconds: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds);
    heso_store::store::Clock::from_fn(move || at)
        .now()
        .captured_at()
}

/// 2026-11-24T09:00:00Z, when the long chain's first action is captured.
const LONG_CHAIN_START: u64 = 1_795_510_800;

/// The verb, tool, target host and fields of one action of an agent's working day.
fn varied_action(rng: &mut Rng, index: u64) -> (&'static str, &'static str, &'static str, Value) {
    match rng.below(8) {
        0 | 1 => (
            "llm_call",
            "openai.chat.completions",
            "api.openai.com",
            json!({"model": rng.pick(&["gpt-4o", "gpt-4o-mini", "o3-mini"]),
                   "prompt": rng.phrase(4, 60),
                   "max_tokens": 64 + rng.below(4_033),
                   "temperature": 0.2}),
        ),
        2 => (
            "http_request",
            "fetch",
            "api.example.com",
            json!({"method": rng.pick(&["GET", "GET", "POST"]),
                   "url": format!("https://api.example.com/v1/orders/{}", 10_000 + rng.below(90_000))}),
        ),
        3 => (
            "tool_call",
            "search_docs",
            "",
            json!({"q": rng.phrase(2, 8), "top_k": 5}),
        ),
        4 => (
            "tool_call",
            "postgres.query",
            "db.internal",
            json!({"sql": "SELECT id, status, total FROM orders WHERE customer_id = $1 LIMIT 50",
                   "params": [rng.below(1_000_000)]}),
        ),
        5 => (
            "tool_call",
            "smtp.send",
            "smtp.example.com",
            json!({"to": format!("customer{}@example.com", rng.below(5_000)),
                   "subject": rng.phrase(3, 9)}),
        ),
        6 => (
            "data_export",
            "export_csv",
            "",
            json!({"path": format!("/srv/reports/report-{index}.csv"), "rows": rng.below(100_000)}),
        ),
        _ => (
            "payment",
            "charge_card",
            "api.stripe.com",
            json!({"amount": 100 + rng.below(50_000), "currency": rng.pick(&["usd", "eur", "gbp"])}),
        ),
    }
}

/// `long-chain.jsonl`: the action session `bench-chain` of `length` plain receipts, mostly
/// allowed (half with a result hash, a few failed), some blocked, and about one in fifty carrying
/// an API key redacted with commit-and-reveal.
fn write_long_chain(path: &Path, operator: &Identity, op: &Signer<'_>, length: u64) -> Result<()> {
    let mut rng = Rng(0x6865_736f_6265_6e63);
    let mut chain = Session::create_at(path, "bench-chain")?;
    let mut captured = LONG_CHAIN_START;
    for index in 0..length {
        captured += 1 + rng.below(4);
        let roll = rng.below(100);
        let (verb, tool, host, mut fields, decision) = if roll < 2 {
            let fields = json!({"endpoint": "https://api.stripe.com/v1/charges",
                                "api_key": format!("sk-live-{:016x}", rng.next()),
                                "auth": {"scheme": "bearer", "secret": format!("{:032x}", rng.next())}});
            ("tool_call", "call_api", "api.stripe.com", fields, "redact")
        } else {
            let (verb, tool, host, fields) = varied_action(&mut rng, index);
            let decision = if roll < 7 { "block" } else { "allow" };
            (verb, tool, host, fields, decision)
        };
        let mut action = json!({"verb": verb, "tool_name": tool, "workflow": "bench-chain",
                                "account": "acct-bench"});
        if !host.is_empty() {
            action["target_host"] = host.into();
        }
        let mut redaction = None;
        if decision == "redact" {
            let paths = ["api_key".to_owned(), "auth.secret".to_owned()];
            if let Some(map) = fields.as_object_mut() {
                // Salts derived from the position keep the file reproducible; real receipts draw
                // each salt from the OS CSPRNG (receipts.md §8.3).
                let mut salt = 0u8;
                let (record, _) = redact(map, &paths, RedactMode::CommitAndReveal, &mut || {
                    salt = salt.wrapping_add(1);
                    let mut bytes = [salt; 32];
                    bytes[..8].copy_from_slice(&index.to_le_bytes());
                    bytes
                });
                redaction = record;
            }
        }
        action["fields"] = fields;
        if decision == "allow" {
            if rng.below(50) == 0 {
                action["error"] = "TimeoutError: no answer in 30s".into();
            } else if rng.below(2) == 0 {
                let result = format!("{{\"ok\":true,\"n\":{index}}}");
                action["result_hash"] = heso_core::crypto::blake3_hex(result.as_bytes()).into();
            }
        }
        let rule_id = format!("{verb}.{decision}");
        let conditions = if decision == "allow" {
            json!([])
        } else {
            json!([{"field": "verb", "op": "eq", "value": verb}])
        };
        let mut content = Map::new();
        content.insert("captured_at".into(), utc_timestamp(captured).into());
        content.insert(
            "agent_identity".into(),
            operator.public_key().to_base64().into(),
        );
        content.insert("action".into(), action);
        content.insert(
            "policy".into(),
            json!({"rule_id": rule_id, "rule_display": format!("When any agent does {verb}, then {decision}."),
                   "matched_conditions": conditions, "decision_path": decision}),
        );
        if let Some(record) = redaction {
            content.insert("redaction".into(), record);
        }
        content.insert("trust_level".into(), "L0".into());
        let chained = chain.chain(content);
        chain.push(&mint_operator_receipt(chained, op)?)?;
    }
    chain.finish()?;
    Ok(())
}
