//! Tests of the store on real SQLite files: open, append, the failure rules, reads, export,
//! salvage and the audit.

use std::path::Path;
use std::sync::Arc;

use heso_core::receipt::chain::{ChainMode, ChainVerdict};
use heso_core::receipt::redaction::{redact, RedactMode};
use heso_core::receipt::report::{PinSource, Pinning};
use heso_core::receipt::verify::Verdict;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::testing::{approver, content, open, operator, options, session_values, verify_session};
use super::*;

fn plain(session: &str, tool: &str) -> Map<String, Value> {
    let _ = session;
    content(tool, "allow", &json!({"q": tool}))
}

fn append_plain(store: &Store, session: &str, tool: &str) -> Appended {
    let op = operator();
    store
        .append(&AppendRequest::chained(
            session,
            SessionType::Action,
            plain(session, tool),
            Signing::Operator(&op),
        ))
        .unwrap()
}

fn raw(dir: &Path) -> Connection {
    Connection::open(dir.join(DB_FILE)).unwrap()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn pinning() -> Pinning {
    Pinning::On {
        operators: (vec![operator().public_key()], PinSource::Flags),
        approvers: (vec![approver().public_key()], PinSource::Flags),
    }
}

fn audit(dir: &Path) -> StoreAudit {
    audit_store(dir, pinning(), 2, &mut |_, _| {}).unwrap()
}

fn failed<'a>(audit: &'a StoreAudit, name: &str) -> &'a StoreCheck {
    let check = audit.store_checks.iter().find(|c| c.name == name).unwrap();
    assert!(!check.ok, "{name} should fail: {:?}", audit.store_checks);
    check
}

// ---------------------------------------------------------------- open, schema, pragmas, modes

#[test]
fn open_creates_the_schema_and_sets_every_pragma() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join(".heso");
    let store = open(&data);
    store.with_writer(|writer| {
        let conn = writer.conn.current().unwrap();
        let pragma =
            |name: &str| -> i64 { conn.pragma_query_value(None, name, |r| r.get(0)).unwrap() };
        assert_eq!(pragma("synchronous"), 2);
        assert_eq!(pragma("foreign_keys"), 1);
        assert_eq!(pragma("trusted_schema"), 0);
        assert_eq!(pragma("busy_timeout"), 10_000);
        assert_eq!(pragma("application_id"), 0x4845_534F);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    });
    let conn = raw(&data);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        [
            "approval_legs",
            "approvals",
            "chain_heads",
            "durable_sessions",
            "meta",
            "outbox",
            "receipts",
            "reveals",
            "schema_migrations"
        ]
    );
    let indexes = count(
        &conn,
        "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN
         ('receipts_created_at', 'receipts_decision', 'receipts_kind', 'approvals_live', 'outbox_due')",
    );
    assert_eq!(indexes, 5);
    let keys: Vec<String> = conn
        .prepare("SELECT key FROM meta ORDER BY key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys, ["approval_request_key", "created_at", "store_id"]);
    let key: Vec<u8> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'approval_request_key'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(
        count(&conn, "SELECT max(version) FROM schema_migrations"),
        1
    );
    // The first append records the operator key.
    append_plain(&store, "demo", "search");
    let recorded: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'operator_public_key'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recorded, operator().public_key().to_base64());
    // The CHECK of §5.2: seq is NULL iff session_id is.
    assert!(conn
        .execute(
            "INSERT INTO receipts (action_hash, session_id, seq, link_hash, kind, decision,
             trust_level, tool_name, workflow, created_at, body)
             VALUES ('x', 's', NULL, 'l', 'action', 'allow', 'L0', 't', 'w', 'c', x'00')",
            [],
        )
        .is_err());
}

#[test]
fn normal_durability_sets_synchronous_normal_and_bad_values_fail() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            durability: Durability::parse("normal").unwrap(),
            busy_timeout_ms: 2_500,
            ..options()
        },
    )
    .unwrap();
    store.with_writer(|writer| {
        let conn = writer.conn.current().unwrap();
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        let busy: i64 = conn
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        assert_eq!((sync, busy), (1, 2_500));
    });
    // A full-sync transaction commits with FULL and puts NORMAL back.
    store
        .transaction_full_sync(|tx| {
            let sync: i64 = tx
                .sql()
                .pragma_query_value(None, "synchronous", |r| r.get(0))?;
            assert_eq!(sync, 2);
            Ok(())
        })
        .unwrap();
    store.with_writer(|writer| {
        let conn = writer.conn.current().unwrap();
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1);
    });
    assert_eq!(
        Durability::parse("fast").unwrap_err(),
        "unknown durability `fast`; expected `full` or `normal`"
    );
}

#[cfg(unix)]
#[test]
fn files_are_private_and_widened_modes_are_repaired_on_open() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join(".heso");
    let store = open(&data);
    append_plain(&store, "demo", "search");
    assert_eq!(mode(&data), 0o700);
    for name in [DB_FILE, "heso.db-wal", "heso.db-shm"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    assert!(store.warnings().is_empty());
    drop(store);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join(DB_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = open(&data);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join(DB_FILE)), 0o600);
    assert_eq!(store.warnings().len(), 2, "{:?}", store.warnings());
    assert!(store.warnings().iter().all(|w| w.contains("reset it to")));
}

#[test]
fn a_foreign_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let conn = raw(dir.path());
    conn.pragma_update(None, "application_id", 1234).unwrap();
    conn.execute_batch("CREATE TABLE notes (x TEXT)").unwrap();
    drop(conn);
    let before = std::fs::read(dir.path().join(DB_FILE)).unwrap();
    let error = Store::open(dir.path(), options()).unwrap_err();
    assert!(
        matches!(error, StoreError::NotAHesoStore { found: 1234, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("is not a heso store"));
    assert_eq!(std::fs::read(dir.path().join(DB_FILE)).unwrap(), before);
}

#[test]
fn a_reader_never_creates_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let error = StoreReader::open(dir.path(), &options()).unwrap_err();
    assert!(matches!(error, StoreError::Missing { .. }));
    assert!(!dir.path().join(DB_FILE).exists());
}

// ---------------------------------------------------------------- appends and chains

#[test]
fn genesis_and_chained_appends_verify_with_the_chain_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = append_plain(&store, "demo", "search");
    let second = append_plain(&store, "demo", "fetch");
    assert_eq!(first.chain, Some(("demo".to_owned(), 0)));
    assert_eq!(second.chain, Some(("demo".to_owned(), 1)));
    let parsed: Value = serde_json::from_slice(&second.body).unwrap();
    assert_eq!(
        parsed["content"]["prev_receipt_hash"],
        first.link_hash.as_str()
    );
    let parsed_first: Value = serde_json::from_slice(&first.body).unwrap();
    assert!(parsed_first["content"].get("prev_receipt_hash").is_none());
    assert_eq!(
        parsed_first["content"]["captured_at"],
        "2026-11-24T12:00:01Z"
    );
    for tool in ["a", "b", "c"] {
        append_plain(&store, "demo", tool);
    }
    let report = verify_session(&store, "demo", ChainMode::Action);
    assert_eq!(report.verdict, ChainVerdict::Valid { length: 5 });
    // The stored body is exactly what the caller got back.
    let mut reader = store.reader().unwrap();
    assert_eq!(
        reader.receipt(&second.action_hash).unwrap().body,
        second.body
    );
    let conn = raw(dir.path());
    assert_eq!(
        count(&conn, "SELECT count(*) FROM outbox WHERE state = 'pending'"),
        5
    );
    assert_eq!(
        count(
            &conn,
            "SELECT last_seq FROM chain_heads WHERE session_id = 'demo'"
        ),
        4
    );
}

#[test]
#[expect(clippy::too_many_lines, reason = "one lifecycle told start to end")]
fn session_types_are_fixed_at_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let op = operator();
    append_plain(&store, "actions", "search");
    // An action session refuses lifecycle links.
    let mut suspended = content("pay", "require_approval", &json!({"n": 1}));
    suspended.insert("kind".into(), "suspended".into());
    suspended.insert("suspension".into(), json!({"resume_token_hash": "00"}));
    let error = store
        .append(&AppendRequest::chained(
            "actions",
            SessionType::Action,
            suspended.clone(),
            Signing::Operator(&op),
        ))
        .unwrap_err();
    assert!(
        error.to_string().contains("takes no receipt with `kind`"),
        "{error}"
    );
    // Declaring the other type fails.
    let error = store
        .append(&AppendRequest::chained(
            "actions",
            SessionType::Lifecycle,
            plain("actions", "x"),
            Signing::Operator(&op),
        ))
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SessionType {
                actual: "action",
                ..
            }
        ),
        "{error}"
    );
    // A lifecycle session: suspended (operator), approved (approver), completed (operator).
    let lifecycle = |kind: Option<&str>| {
        let mut c = content("pay", "require_approval", &json!({"n": 1}));
        if let Some(kind) = kind {
            c.insert("kind".into(), kind.into());
        }
        c
    };
    let mut genesis = lifecycle(Some("suspended"));
    genesis.insert(
        "suspension".into(),
        json!({"resume_token_hash": heso_core::crypto::blake3_hex(b"t"),
               "context_ref": {"scheme": "customer", "key": "dur-1", "hash": heso_core::crypto::blake3_hex(b"{}")},
               "policy": {"policy_id": "local", "policy_hash": heso_core::crypto::blake3_hex(b"p"), "rule": "tool.require_approval"},
               "approval": {"sla": "30m", "expires_at": "2026-11-24T12:30:00Z", "on_timeout": "deny",
                            "approver_pubkeys": [approver().public_key().to_base64()]}}),
    );
    store
        .append(&AppendRequest::chained(
            "dur-1",
            SessionType::Lifecycle,
            genesis,
            Signing::Operator(&op),
        ))
        .unwrap();
    let appr = approver();
    let mut decision = lifecycle(Some("approved"));
    decision.insert(
        "approver_decision".into(),
        json!({"decision": "approved", "approver_identity": appr.public_key().to_base64(),
               "reason": "ok", "decided_at": "2026-11-24T12:05:00Z"}),
    );
    // The operator may not sign a decision link.
    assert!(store
        .append(&AppendRequest::chained(
            "dur-1",
            SessionType::Lifecycle,
            decision.clone(),
            Signing::Operator(&op)
        ))
        .is_err());
    store
        .append(&AppendRequest::chained(
            "dur-1",
            SessionType::Lifecycle,
            decision,
            Signing::Decision {
                approver: &appr,
                operator: op.public_key(),
            },
        ))
        .unwrap();
    store
        .append(&AppendRequest::chained(
            "dur-1",
            SessionType::Lifecycle,
            lifecycle(Some("completed")),
            Signing::Operator(&op),
        ))
        .unwrap();
    let report = verify_session(&store, "dur-1", ChainMode::Session);
    assert_eq!(report.verdict, ChainVerdict::Valid { length: 3 });
    let mut reader = store.reader().unwrap();
    let kinds: Vec<String> = reader
        .list(&ListFilter {
            session_id: Some("dur-1".into()),
            ..ListFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds, ["completed", "approved", "suspended"]);
    // The store stamps the chain block; a caller cannot.
    let mut forged = plain("actions", "x");
    forged.insert("seq".into(), 7.into());
    let error = store
        .append(&AppendRequest::chained(
            "actions",
            SessionType::Action,
            forged,
            Signing::Operator(&op),
        ))
        .unwrap_err();
    assert!(
        error.to_string().contains("`seq` is stamped by the store"),
        "{error}"
    );
}

/// A single-approver L1 receipt as §15.3 assembles it: the approver signs the stamped body.
fn approval_request<'a>(
    op: &'a heso_core::identity::Identity,
    captured_at: &str,
) -> AppendRequest<'a> {
    let body = content("pay", "require_approval", &json!({"amount": 5000}));
    testing::approval_request(op, &approver(), body, captured_at)
}

#[test]
fn a_retried_standalone_append_returns_the_stored_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let op = operator();
    let request = approval_request(&op, "2026-11-24T11:00:00Z");
    let first = store.append(&request).unwrap();
    assert!(first.newly_stored && first.chain.is_none());
    let again = store.append(&request).unwrap();
    assert!(!again.newly_stored);
    assert_eq!((again.id, &again.body), (first.id, &first.body));
    let conn = raw(dir.path());
    assert_eq!(count(&conn, "SELECT count(*) FROM receipts"), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM outbox"), 1);
    let value: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(
        heso_core::receipt::verify::verify_receipt(&value, None).verdict,
        Verdict::Valid
    );
    assert_eq!(value["content"]["trust_level"], "L1");
    // A tampered approver signature is refused before anything is written.
    let mut bad = approval_request(&op, "2026-11-24T11:30:00Z");
    if let Signing::SingleApproval {
        approver_signature, ..
    } = &mut bad.signing
    {
        approver_signature["signature"] = approver_signature["public_key"].clone();
    }
    assert!(store.append(&bad).is_err());
    assert_eq!(count(&conn, "SELECT count(*) FROM receipts"), 1);
}

// ---------------------------------------------------------------- reveals and export

#[test]
fn reveals_are_stored_once_and_never_exported() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let op = operator();
    let mut fields = json!({"api_key": "sk-live-SECRET", "q": "x"})
        .as_object()
        .cloned()
        .unwrap();
    let mut salt = 7u8;
    let (record, reveals) = redact(
        &mut fields,
        &["api_key".to_owned()],
        RedactMode::CommitAndReveal,
        &mut || {
            salt += 1;
            [salt; 32]
        },
    );
    let mut redacted = content("call_api", "redact", &Value::Object(fields));
    redacted.insert("redaction".into(), record.unwrap());
    // Without its reveal material the receipt is refused.
    let missing = AppendRequest::chained(
        "demo",
        SessionType::Action,
        redacted.clone(),
        Signing::Operator(&op),
    );
    assert!(store
        .append(&missing)
        .unwrap_err()
        .to_string()
        .contains("no reveal material for"));
    let gate = store
        .append(&missing_with(redacted.clone(), &op).with_reveals(reveals))
        .unwrap();
    // The result receipt copies the action: its commitment is already stored.
    let mut result = redacted;
    result["action"]["result_hash"] = heso_core::crypto::blake3_hex(b"\"ok\"").into();
    store
        .append(&AppendRequest::chained(
            "demo",
            SessionType::Action,
            result,
            Signing::Operator(&op),
        ))
        .unwrap();
    let conn = raw(dir.path());
    assert_eq!(count(&conn, "SELECT count(*) FROM reveals"), 1);
    assert_eq!(count(&conn, "SELECT receipt_id FROM reveals"), gate.id);
    let mut out = Vec::new();
    let summary = store
        .reader()
        .unwrap()
        .export(&ExportScope::Full, &mut out)
        .unwrap();
    assert_eq!(summary.receipts, 2);
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("sk-live-SECRET"));
    assert!(!text.contains(&heso_core::hex::encode(&[8u8; 32])));
    assert!(text.ends_with('\n') && !text.contains("\n\n"));
}

fn missing_with(
    content: Map<String, Value>,
    op: &heso_core::identity::Identity,
) -> AppendRequest<'_> {
    AppendRequest::chained("demo", SessionType::Action, content, Signing::Operator(op))
}

#[test]
fn exports_verify_with_the_verification_front_end() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for tool in ["a", "b", "c"] {
        append_plain(&store, "demo", tool);
        append_plain(&store, "other", tool);
    }
    let op = operator();
    store
        .append(&approval_request(&op, "2026-11-24T11:00:00Z"))
        .unwrap();
    let mut reader = store.reader().unwrap();
    for scope in [
        ExportScope::Full,
        ExportScope::Sessions(vec!["demo".into()]),
    ] {
        let mut out = Vec::new();
        reader.export(&scope, &mut out).unwrap();
        let request = crate::verification::VerifyRequest {
            inputs: vec![crate::verification::VerifyInput::Bytes {
                source: "export".into(),
                bytes: out,
            }],
            pubkeys: vec![op.public_key().to_base64()],
            approver_pubkeys: vec![approver().public_key().to_base64()],
            ..Default::default()
        };
        let outcome = crate::verification::run_verify(&request).unwrap();
        assert!(outcome.report.ok(), "{:?}", outcome.report.text_lines(true));
    }
    // The session export is in seq order; the full export in append order.
    let values = session_values(&mut reader, "demo");
    let seqs: Vec<u64> = values
        .iter()
        .map(|v| v["content"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [0, 1, 2]);
}

// ---------------------------------------------------------------- reads

#[test]
fn lookups_by_hash_prefix_and_listings() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = append_plain(&store, "demo", "search");
    append_plain(&store, "demo", "fetch");
    let mut reader = store.reader().unwrap();
    assert_eq!(reader.receipt(&first.action_hash).unwrap().id, first.id);
    assert_eq!(
        reader
            .receipt(&first.action_hash[..6].to_uppercase())
            .unwrap()
            .id,
        first.id
    );
    assert!(matches!(
        reader.receipt("abc"),
        Err(StoreError::BadPrefix(_))
    ));
    assert!(matches!(
        reader.receipt("xyzxyz"),
        Err(StoreError::BadPrefix(_))
    ));
    // Two crafted rows sharing a prefix make it ambiguous; unknown prefixes are not found.
    let conn = raw(dir.path());
    for hash in ["abcdef01", "abcdef02"] {
        conn.execute(
            "INSERT INTO receipts (action_hash, link_hash, kind, decision, trust_level, tool_name,
             workflow, created_at, body) VALUES (?1, 'l', 'action', 'allow', 'L0', 't', 'w', 'c', x'7b7d')",
            [format!("{hash}{}", "0".repeat(56))],
        )
        .unwrap();
    }
    let error = reader.receipt("abcdef").unwrap_err();
    assert_eq!(
        error.to_string(),
        "`abcdef` is ambiguous: it matches abcdef010000, abcdef020000; give more characters"
    );
    let unknown = if first.action_hash.starts_with("000000") {
        "ffffff"
    } else {
        "000000"
    };
    assert!(matches!(
        reader.receipt(unknown),
        Err(StoreError::NotFound(_))
    ));
    let listed = reader
        .list(&ListFilter {
            session_id: Some("demo".into()),
            limit: Some(1),
            ..ListFilter::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].tool_name, "fetch");
    let verbs = reader
        .list(&ListFilter {
            verb: Some("payment".into()),
            ..ListFilter::default()
        })
        .unwrap();
    assert!(verbs.is_empty());
    let after = reader
        .list(&ListFilter {
            after_id: Some(first.id),
            workflow: Some("demo".into()),
            ..ListFilter::default()
        })
        .unwrap();
    assert_eq!(after.len(), 1);
    let sessions = reader.sessions().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        (sessions[0].length, sessions[0].session_type),
        (2, SessionType::Action)
    );
}

// ---------------------------------------------------------------- concurrency

#[test]
fn threads_appending_to_shared_and_private_sessions_stay_gap_free() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    // A second store in the same process has its own connection: SQLite's lock serializes it.
    let second = Arc::new(open(dir.path()));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = if t % 2 == 0 {
                store.clone()
            } else {
                second.clone()
            };
            std::thread::spawn(move || {
                for i in 0..20 {
                    append_plain(&store, "shared", &format!("t{t}-{i}"));
                    append_plain(&store, &format!("private-{t}"), &format!("{i}"));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = verify_session(&store, "shared", ChainMode::Action);
    assert_eq!(report.verdict, ChainVerdict::Valid { length: 160 });
    for t in 0..8 {
        let report = verify_session(&store, &format!("private-{t}"), ChainMode::Action);
        assert_eq!(report.verdict, ChainVerdict::Valid { length: 20 });
    }
    let audit = audit(dir.path());
    assert!(
        audit.ok(),
        "{:?} {:?}",
        audit.store_checks,
        audit.report.text_lines(false)
    );
}

// ---------------------------------------------------------------- failure rules (§6.5, §7)

#[test]
fn disk_failures_reopen_the_connection_and_three_in_a_row_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ioerr_fsync = 0x0a | (0x04 << 8); // SQLITE_IOERR_FSYNC
    store.with_writer(|w| w.fail_next_commit = Some(ioerr_fsync));
    let error = store
        .append(&AppendRequest::chained(
            "demo",
            SessionType::Action,
            plain("demo", "a"),
            Signing::Operator(&operator()),
        ))
        .unwrap_err();
    assert!(matches!(error, StoreError::DiskFailure { .. }), "{error}");
    assert!(store.with_writer(|w| w.conn.current().is_none()));
    // The next append reopens and succeeds; nothing of the failed one was kept.
    let ok = append_plain(&store, "demo", "b");
    assert_eq!(ok.chain, Some(("demo".to_owned(), 0)));
    assert_eq!(store.with_writer(|w| w.reopened), 1);
    for _ in 0..3 {
        store.with_writer(|w| w.fail_next_commit = Some(13)); // SQLITE_FULL
        let op = operator();
        let _ = store.append(&AppendRequest::chained(
            "demo",
            SessionType::Action,
            plain("demo", "c"),
            Signing::Operator(&op),
        ));
    }
    let op = operator();
    let error = store
        .append(&AppendRequest::chained(
            "demo",
            SessionType::Action,
            plain("demo", "d"),
            Signing::Operator(&op),
        ))
        .unwrap_err();
    assert!(
        matches!(error, StoreError::TooManyDiskFailures { count: 3 }),
        "{error}"
    );
    assert!(error.to_string().contains("restart the process"));
}

#[test]
fn corruption_refuses_every_append_and_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    append_plain(&store, "demo", "a");
    store.with_writer(|w| w.fail_next_commit = Some(11)); // SQLITE_CORRUPT
    let op = operator();
    let request = AppendRequest::chained(
        "demo",
        SessionType::Action,
        plain("demo", "b"),
        Signing::Operator(&op),
    );
    let error = store.append(&request).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }));
    assert!(error.to_string().contains(SALVAGE_COMMAND), "{error}");
    assert!(matches!(
        store.append(&request),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(dir.path().join(DB_FILE).exists());
}

#[test]
fn a_store_with_a_broken_header_is_refused_not_recreated() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let path = dir.path().join(DB_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[..16].copy_from_slice(b"garbage garbage!");
    std::fs::write(&path, &bytes).unwrap();
    let error = Store::open(dir.path(), options()).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains(SALVAGE_COMMAND));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_forked_child_abandons_the_inherited_connection() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    append_plain(&store, "demo", "a");
    store.with_writer(|w| w.conn.pretend_inherited());
    append_plain(&store, "demo", "b");
    assert_eq!(store.with_writer(|w| w.reopened), 1);
    let report = verify_session(&store, "demo", ChainMode::Action);
    assert_eq!(report.verdict, ChainVerdict::Valid { length: 2 });
}

// ---------------------------------------------------------------- audit and salvage

#[test]
fn a_flipped_byte_in_a_body_is_reported_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for tool in ["alpha", "search", "gamma"] {
        append_plain(&store, "demo", tool);
    }
    assert!(audit(dir.path()).ok());
    raw(dir.path())
        .execute(
            "UPDATE receipts SET body = CAST(replace(CAST(body AS TEXT), 'search', 'seArch') AS BLOB)
             WHERE seq = 1",
            [],
        )
        .unwrap();
    let audit = audit(dir.path());
    assert!(!audit.ok());
    let chain = &audit.report.chains[0];
    assert!(
        matches!(
            &chain.verdict,
            ChainVerdict::ContentTamper {
                seq: 1,
                reason: Verdict::HashMismatch,
                ..
            }
        ),
        "{:?}",
        chain.verdict
    );
    let derived = failed(&audit, "derived_columns");
    assert!(
        derived
            .detail
            .as_deref()
            .unwrap()
            .contains("column `tool_name`"),
        "{derived:?}"
    );
    // Nothing was repaired.
    let body: String = raw(dir.path())
        .query_row(
            "SELECT CAST(body AS TEXT) FROM receipts WHERE seq = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(body.contains("seArch"));
}

#[test]
fn a_deleted_chain_head_fails_appends_and_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    append_plain(&store, "demo", "a");
    append_plain(&store, "demo", "b");
    raw(dir.path())
        .execute("DELETE FROM chain_heads", [])
        .unwrap();
    let op = operator();
    let error = store
        .append(&AppendRequest::chained(
            "demo",
            SessionType::Action,
            plain("demo", "c"),
            Signing::Operator(&op),
        ))
        .unwrap_err();
    assert!(matches!(error, StoreError::Integrity { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("has receipts (receipt 1) but no chain head"),
        "{error}"
    );
    let audit = audit(dir.path());
    let heads = failed(&audit, "chain_heads");
    assert_eq!(
        heads.detail.as_deref(),
        Some("session `demo` has receipts but no chain head (deleted?)")
    );
    // A head pointing at a vanished receipt is caught by the probe too.
    raw(dir.path())
        .execute(
            "INSERT INTO chain_heads VALUES ('demo', 'action', 5, 'x', 99, 'now')",
            [],
        )
        .ok();
}

#[test]
fn a_truncated_wal_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for tool in ["a", "b", "c", "d"] {
        append_plain(&store, "demo", tool);
    }
    // Copy the files while the writer is open, as a crash would leave them.
    let copy = tempfile::tempdir().unwrap();
    for name in [DB_FILE, "heso.db-wal"] {
        std::fs::copy(dir.path().join(name), copy.path().join(name)).unwrap();
    }
    let intact = audit(copy.path());
    assert!(intact.ok(), "{:?}", intact.store_checks);
    let wal = copy.path().join("heso.db-wal");
    let length = std::fs::metadata(&wal).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(length - 100)
        .unwrap();
    let audit = audit(copy.path());
    let check = failed(&audit, "wal");
    // The first audit left a wal-index behind, so the loss is measured against it.
    assert!(
        check
            .detail
            .as_deref()
            .unwrap()
            .contains("committed transactions were lost"),
        "{check:?}"
    );
    // The audit did not touch the WAL.
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), length - 100);
}

/// Copies the store's files while its writer is open, as a crash (kill -9) would leave them.
fn crash_copy(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for name in [DB_FILE, "heso.db-wal", "heso.db-shm"] {
        std::fs::copy(dir.join(name), copy.path().join(name)).unwrap();
    }
    copy
}

/// Issue 5, kill -9: a writer killed mid-transaction leaves a partial frame after the last
/// commit; the wal-index shows nothing committed is missing, so the audit passes.
#[test]
fn a_torn_tail_after_the_last_commit_is_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for tool in ["a", "b", "c"] {
        append_plain(&store, "demo", tool);
    }
    let copy = crash_copy(dir.path());
    let wal = copy.path().join("heso.db-wal");
    let mut file = std::fs::OpenOptions::new().append(true).open(&wal).unwrap();
    std::io::Write::write_all(&mut file, &[0x5a; 700]).unwrap();
    drop(file);
    let audit = audit(copy.path());
    assert!(audit.ok(), "{:?}", audit.store_checks);
}

/// With the wal-index present, a WAL that lost committed frames is damage even when it ends on
/// a frame boundary.
#[test]
fn lost_committed_frames_are_reported_with_the_wal_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for tool in ["a", "b", "c", "d"] {
        append_plain(&store, "demo", tool);
    }
    let copy = crash_copy(dir.path());
    let wal = copy.path().join("heso.db-wal");
    let bytes = std::fs::read(&wal).unwrap();
    let page = u32::from_be_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let frame = 24 + page;
    let whole = (bytes.len() - 32) / frame;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len((32 + (whole - 1) * frame) as u64)
        .unwrap();
    let audit = audit(copy.path());
    let check = failed(&audit, "wal");
    assert!(
        check
            .detail
            .as_deref()
            .unwrap()
            .contains("the wal-index recorded"),
        "{check:?}"
    );
}

#[test]
fn salvage_copies_every_readable_row_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let big = "x".repeat(900);
    let op = operator();
    for i in 0..200 {
        store
            .append(&AppendRequest::chained(
                "demo",
                SessionType::Action,
                content(&format!("t{i}"), "allow", &json!({"pad": big})),
                Signing::Operator(&op),
            ))
            .unwrap();
    }
    drop(store);
    let path = dir.path().join(DB_FILE);
    // Healthy: everything is copied.
    let mut out = Vec::new();
    let report = salvage(dir.path(), &mut out).unwrap();
    assert_eq!(
        (report.copied, report.lost, report.highest_id),
        (200, 0, 200)
    );
    // Damage a run of pages in the middle of the file.
    let mut bytes = std::fs::read(&path).unwrap();
    let pages = bytes.len() / 4096;
    for page in pages * 2 / 5..pages / 2 {
        bytes[page * 4096..(page + 1) * 4096].fill(0xA5);
    }
    std::fs::write(&path, &bytes).unwrap();
    let mut out = Vec::new();
    let report = salvage(dir.path(), &mut out).unwrap();
    assert!(report.lost > 0 && report.copied > 0, "{report:?}");
    assert_eq!(report.copied + report.lost, 200);
    assert_eq!(
        String::from_utf8(out).unwrap().lines().count() as u64,
        report.copied
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "salvage wrote to the store"
    );
    let audit = audit_store(dir.path(), pinning(), 1, &mut |_, _| {});
    match audit {
        Ok(audit) => {
            failed(&audit, "integrity_check");
        }
        Err(error) => assert!(matches!(error, StoreError::Corrupt { .. }), "{error}"),
    }
}

// ---------------------------------------------------------------- O(1) open and append (§9)

#[test]
fn open_and_append_never_scan_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for i in 0..300 {
        append_plain(
            &store,
            if i % 2 == 0 { "demo" } else { "other" },
            &format!("t{i}"),
        );
    }
    drop(store);
    let sink = connection::trace::start();
    let store = open(dir.path());
    append_plain(&store, "demo", "traced");
    append_plain(&store, "fresh-session", "traced");
    let op = operator();
    store
        .append(&approval_request(&op, "2026-11-24T11:00:00Z"))
        .unwrap();
    // A commit-and-reveal receipt, then one reusing its commitment.
    let mut fields = json!({"api_key": "sk-live-1"})
        .as_object()
        .cloned()
        .unwrap();
    let (record, reveals) = redact(
        &mut fields,
        &["api_key".to_owned()],
        RedactMode::CommitAndReveal,
        &mut || [9; 32],
    );
    let mut redacted = content("call_api", "redact", &Value::Object(fields));
    redacted.insert("redaction".into(), record.unwrap());
    store
        .append(&missing_with(redacted.clone(), &op).with_reveals(reveals))
        .unwrap();
    store.append(&missing_with(redacted, &op)).unwrap();
    connection::trace::stop();
    let statements = sink.lock().unwrap().clone();
    assert!(
        statements
            .iter()
            .any(|s| s.contains("INSERT INTO receipts")),
        "{statements:?}"
    );
    for needle in [
        "FROM chain_heads",
        "INSERT INTO reveals",
        "FROM reveals WHERE commitment",
    ] {
        assert!(statements.iter().any(|s| s.contains(needle)), "{needle}");
    }
    let conn = raw(dir.path());
    for sql in &statements {
        let Ok(mut plan) = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")) else {
            continue;
        };
        let details: Vec<String> = plan
            .query_map(
                rusqlite::params_from_iter(std::iter::repeat_n(
                    rusqlite::types::Null,
                    plan.parameter_count(),
                )),
                |r| r.get(3),
            )
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for detail in details {
            for table in ["receipts", "outbox", "reveals", "chain_heads", "approvals"] {
                assert!(
                    !detail.starts_with(&format!("SCAN {table}")),
                    "`{sql}` scans {table}: {detail}"
                );
            }
        }
    }
}

#[test]
fn store_and_options_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    fn sendable<T: Send>() {}
    shared::<Store>();
    shared::<StoreOptions>();
    sendable::<StoreReader>();
}
