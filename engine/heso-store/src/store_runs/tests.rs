//! The store commands on real store files in temporary project directories, populated through
//! the store's own API.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use heso_core::identity::{Identity, SecretSeed};
use heso_core::receipt::redaction::{redact, RedactMode};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::*;
use crate::store::{AppendRequest, Appended, SessionType, Signing, Store};
use crate::verification::{run_verify, VerifyInput};

fn operator() -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([0x41; 32]))
}

fn approver() -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([0x42; 32]))
}

/// A clock that advances one second per reading from 2026-11-24T12:00:00Z.
fn options() -> StoreOptions {
    let start = UNIX_EPOCH + Duration::from_hours(498_756);
    let ticks = std::sync::atomic::AtomicU64::new(0);
    StoreOptions {
        clock: Clock::from_fn(move || {
            start + Duration::from_secs(ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        }),
        ..StoreOptions::default()
    }
}

fn content(
    verb: &str,
    tool: &str,
    decision: &str,
    workflow: &str,
    fields: &Value,
) -> Map<String, Value> {
    let mut content = Map::new();
    content.insert(
        "action".into(),
        json!({"verb": verb, "tool_name": tool, "workflow": workflow,
               "account": "acct-test", "fields": fields.clone()}),
    );
    content.insert(
        "policy".into(),
        json!({"rule_id": format!("{verb}.{decision}"),
               "rule_display": format!("When any agent does {verb}, then {decision}."),
               "matched_conditions": [], "decision_path": decision}),
    );
    content
}

/// A project directory: `heso.toml` pinning the operator and the approver, and a store in
/// `.heso` holding what the tests list.
struct Project {
    dir: tempfile::TempDir,
    store: Store,
    demo: Vec<Appended>,
    approval: Appended,
}

impl Project {
    fn location(&self) -> StoreLocation {
        StoreLocation {
            project_root: Some(self.dir.path().to_path_buf()),
            env_data_dir: None,
            cwd: self.dir.path().to_path_buf(),
        }
    }

    fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join(".heso")
    }

    fn verify_request(&self, inputs: &[&str]) -> VerifyRequest {
        VerifyRequest {
            inputs: inputs
                .iter()
                .map(|i| VerifyInput::Named((*i).to_owned()))
                .collect(),
            project_root: Some(self.dir.path().to_path_buf()),
            cwd: self.dir.path().to_path_buf(),
            ..VerifyRequest::default()
        }
    }

    fn append(&self, session: &str, content: Map<String, Value>) -> Appended {
        let op = operator();
        self.store
            .append(&AppendRequest::chained(
                session,
                SessionType::Action,
                content,
                Signing::Operator(&op),
            ))
            .unwrap()
    }
}

fn project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    let policy = heso_core::starter::starter_policy(&operator().public_key()).replace(
        "security-admin = []",
        &format!(
            "security-admin = [\"{}\"]",
            approver().public_key().to_base64()
        ),
    );
    std::fs::write(dir.path().join("heso.toml"), policy).unwrap();
    let store = Store::open(&dir.path().join(".heso"), options()).unwrap();
    let mut project = Project {
        dir,
        store,
        demo: Vec::new(),
        approval: Appended {
            id: 0,
            action_hash: String::new(),
            chain: None,
            link_hash: String::new(),
            body: Vec::new(),
            newly_stored: false,
        },
    };
    let demo = vec![
        project.append(
            "demo",
            content(
                "llm_call",
                "summarise",
                "allow",
                "demo",
                &json!({"model": "m"}),
            ),
        ),
        project.append(
            "demo",
            content("tool_call", "search", "allow", "demo", &json!({"q": "x"})),
        ),
        project.append(
            "nightly/run 1",
            content(
                "http_request",
                "fetch",
                "block",
                "nightly",
                &json!({"url": "u"}),
            ),
        ),
        project.append(
            "demo",
            content(
                "payment",
                "charge_card",
                "require_approval",
                "demo",
                &json!({"amount": 5000}),
            ),
        ),
    ];
    project.demo = demo;
    project.approval = project
        .store
        .append(&approval_request(&operator()))
        .unwrap();
    // A redacted receipt, with its reveal material.
    let mut fields = json!({"api_key": "sk-live-SECRET", "q": "y"})
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
    let mut redacted = content(
        "data_export",
        "export_users",
        "redact",
        "demo",
        &Value::Object(fields),
    );
    redacted.insert("redaction".into(), record.unwrap());
    let op = operator();
    project
        .store
        .append(
            &AppendRequest::chained(
                "demo",
                SessionType::Action,
                redacted,
                Signing::Operator(&op),
            )
            .with_reveals(reveals),
        )
        .unwrap();
    project
}

/// A standalone L1 approval receipt (receipts.md §7.3).
fn approval_request(op: &Identity) -> AppendRequest<'_> {
    let body = content(
        "payment",
        "pay",
        "require_approval",
        "demo",
        &json!({"amount": 5000}),
    );
    crate::store::testing::approval_request(op, &approver(), body, "2026-11-24T11:00:00Z")
}

fn raw(data_dir: &Path) -> Connection {
    Connection::open(data_dir.join(DB_FILE)).unwrap()
}

// ---------------------------------------------------------------- verify

#[test]
fn the_whole_store_verifies_as_audit_verify_reads_it() {
    let project = project();
    let outcome = run_verify(&project.verify_request(&[])).unwrap();
    let lines = outcome.report.text_lines(false);
    let fingerprint = operator().public_key().fingerprint().to_string();
    let approver_fp = approver().public_key().fingerprint().to_string();
    let hash12 = &project.approval.action_hash[..12];
    assert_eq!(
        lines,
        [
            format!("pinned: operator {fingerprint} (heso.toml [identity]); approver {approver_fp} (heso.toml [approvers])"),
            "chain demo          4 receipts  Valid".to_owned(),
            "chain nightly/run 1 1 receipts  Valid".to_owned(),
            format!("receipt {hash12}…  Valid (L1)  payment pay  signed by {}", operator().public_key().fingerprint().short()),
            "ok: 6 receipts verified in 2 chains and 1 standalone, 0 failed".to_owned(),
        ]
    );
    assert_eq!(outcome.report.exit_code(), 0);
    let audit = run_audit_verify(&project.verify_request(&[]), false, &mut |_, _| {});
    assert_eq!(audit.exit_code, 0, "{:?}", audit.lines);
    assert_eq!(audit.lines, lines);
    let mut result = audit.result.clone();
    let checks = result
        .as_object_mut()
        .unwrap()
        .remove("store_checks")
        .unwrap();
    assert_eq!(result, outcome.report.to_json(false));
    assert!(
        checks.as_array().unwrap().iter().all(|c| c["ok"] == true),
        "{checks}"
    );
    assert_eq!(
        result["receipts"][0]["source"],
        format!("heso.db#{}", project.approval.id)
    );
}

#[test]
fn a_hash_prefix_names_one_stored_receipt() {
    let project = project();
    let hash = &project.demo[1].action_hash;
    let outcome = run_verify(&project.verify_request(&[&hash[..8]])).unwrap();
    let lines = outcome.report.text_lines(false);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[1].starts_with(&format!(
            "receipt {}…  Valid (L0)  tool_call search",
            &hash[..12]
        )),
        "{lines:?}"
    );
    assert_eq!(lines[2], "ok: 1 receipt verified, 0 failed");
    // Upper case works too, and a prefix mixes with files.
    let file = project.dir.path().join("one.json");
    std::fs::write(&file, &project.demo[0].body).unwrap();
    let mixed = project.verify_request(&[&hash[..10].to_uppercase(), file.to_str().unwrap()]);
    let outcome = run_verify(&mixed).unwrap();
    assert_eq!(outcome.report.receipts.len(), 2);
    assert_eq!(
        outcome.report.receipts[0].source,
        format!("heso.db#{}", project.demo[1].id)
    );
}

#[test]
fn unknown_prefixes_missing_stores_and_projects_are_one_line_errors() {
    let project = project();
    let error = run_verify(&project.verify_request(&["abcdef0123"])).unwrap_err();
    assert_eq!(error.code(), "not-found");
    assert_eq!(
        error.to_string(),
        "no such file and not a receipt hash: `abcdef0123`"
    );
    let error = run_verify(&project.verify_request(&["nope.json"])).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no such file and not a receipt hash: `nope.json`"
    );
    let mut nowhere = project.verify_request(&["abcdef"]);
    nowhere.project_root = None;
    let error = run_verify(&nowhere).unwrap_err();
    assert_eq!(error.code(), "no-project");
    assert!(error.to_string().starts_with("no such file and not a receipt hash: `abcdef` (receipt hashes are looked up in the project store"), "{error}");
    nowhere.inputs.clear();
    let error = run_verify(&nowhere).unwrap_err();
    assert_eq!(error.code(), "no-project");
    let mut elsewhere = project.verify_request(&[]);
    elsewhere.env_data_dir = Some("empty".into());
    let error = run_verify(&elsewhere).unwrap_err();
    assert_eq!(error.code(), "not-found");
    assert_eq!(
        error.to_string(),
        "no audit store at `empty/heso.db`: this project has recorded no receipts yet; record some first, or point `HESO_DATA_DIR` or `[settings] data_dir` at the data directory that holds `heso.db`"
    );
    assert!(
        !project.dir.path().join("empty").exists(),
        "nothing is created"
    );
    let audit = run_audit_verify(&elsewhere, false, &mut |_, _| {});
    assert_eq!((audit.exit_code, audit.error.unwrap().0), (2, "not-found"));
}

#[test]
fn an_ambiguous_prefix_lists_its_candidates() {
    let project = project();
    let op = operator();
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut collision = None;
    for batch in 0..40 {
        project
            .store
            .transaction(|tx| {
                for i in 0..500 {
                    let fields = json!({"n": batch * 500 + i});
                    let appended = tx.append(&AppendRequest::chained(
                        "bulk",
                        SessionType::Action,
                        content("tool_call", "bulk", "allow", "bulk", &fields),
                        Signing::Operator(&op),
                    ))?;
                    let prefix = appended.action_hash[..6].to_owned();
                    if let Some(other) = seen.insert(prefix.clone(), appended.action_hash.clone()) {
                        collision.get_or_insert((prefix, other, appended.action_hash));
                    }
                }
                Ok(())
            })
            .unwrap();
        if collision.is_some() {
            break;
        }
    }
    let (prefix, first, second) = collision.expect("a 6-character collision in 20,000 hashes");
    let error = run_verify(&project.verify_request(&[&prefix])).unwrap_err();
    assert_eq!(error.code(), "ambiguous");
    let mut candidates = [first[..12].to_owned(), second[..12].to_owned()];
    candidates.sort();
    assert_eq!(
        error.to_string(),
        format!(
            "receipt hash `{prefix}` is ambiguous: it matches `{}…`, `{}…`; give more characters",
            candidates[0], candidates[1]
        )
    );
    let shown = run_show(&project.location(), &prefix, false);
    assert_eq!(shown.error.unwrap().0, "ambiguous");
}

// ---------------------------------------------------------------- audit verify

#[test]
fn audit_verify_adds_a_line_per_failed_store_check() {
    let project = project();
    let conn = raw(&project.data_dir());
    // A body byte changed: the chain breaks. An outbox row deleted: a store check fails.
    let id = project.demo[1].id;
    let body: Vec<u8> = conn
        .query_row("SELECT body FROM receipts WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    let tampered = String::from_utf8(body)
        .unwrap()
        .replace("\"q\":\"x\"", "\"q\":\"z\"");
    conn.execute(
        "UPDATE receipts SET body = ?1 WHERE id = ?2",
        rusqlite::params![tampered.as_bytes(), id],
    )
    .unwrap();
    conn.execute("DELETE FROM outbox WHERE receipt_id = ?1", [id])
        .unwrap();
    let audit = run_audit_verify(&project.verify_request(&[]), false, &mut |_, _| {});
    assert_eq!(audit.exit_code, 1);
    assert!(
        audit
            .lines
            .iter()
            .any(|l| l.starts_with("chain demo") && l.contains("ContentTamper at seq 1")),
        "{:?}",
        audit.lines
    );
    assert!(
        audit.lines.contains(&format!(
            "store: outbox failed: receipt {id} has no outbox row"
        )),
        "{:?}",
        audit.lines
    );
    let summary = audit.lines.last().unwrap();
    assert!(
        summary.starts_with("fail: 1 of 2 chains") && summary.ends_with("; 1 store check failed"),
        "{summary}"
    );
    let outbox = audit.result["store_checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "outbox")
        .unwrap();
    assert_eq!(outbox["ok"], false);
    // Receipts all valid, one check failing: the summary still says fail.
    let clean = self::project();
    raw(&clean.data_dir())
        .execute("DELETE FROM outbox WHERE receipt_id = 1", [])
        .unwrap();
    let audit = run_audit_verify(&clean.verify_request(&[]), false, &mut |_, _| {});
    assert_eq!(audit.exit_code, 1);
    assert_eq!(
        audit.lines.last().unwrap(),
        "fail: 1 store check failed; 6 receipts verified in 2 chains and 1 standalone, 0 failed"
    );
}

// ---------------------------------------------------------------- export

#[test]
fn exports_hold_the_exact_stored_bytes() {
    let project = project();
    let location = project.location();
    let mut out = Vec::new();
    let full = run_export(
        &ExportRequest {
            location: location.clone(),
            ..ExportRequest::default()
        },
        &mut out,
    );
    assert_eq!(full.exit_code, 0, "{:?}", full.error);
    assert_eq!(full.status, ["exported 6 receipts"]);
    let lines: Vec<&[u8]> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0], project.demo[0].body.as_slice());
    assert_eq!(lines[4], project.approval.body.as_slice(), "append order");
    // One session, to a file.
    let file = project.dir.path().join("demo.jsonl");
    let mut unused = Vec::new();
    let session = run_export(
        &ExportRequest {
            location: location.clone(),
            output: Some(file.clone()),
            sessions: vec!["demo".into()],
            ..ExportRequest::default()
        },
        &mut unused,
    );
    assert_eq!(session.status, ["exported 4 receipts to demo.jsonl"]);
    assert!(unused.is_empty());
    let written = std::fs::read(&file).unwrap();
    assert_eq!(written.split(|b| *b == b'\n').count() - 1, 4);
    let verified = run_verify(&project.verify_request(&[file.to_str().unwrap()])).unwrap();
    assert!(
        verified.report.ok(),
        "{:?}",
        verified.report.text_lines(false)
    );
    let entries: Vec<_> = std::fs::read_dir(project.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !entries
            .iter()
            .any(|n| n.to_string_lossy().ends_with(".partial")),
        "{entries:?}"
    );
    // An unknown session writes nothing.
    let unknown = run_export(
        &ExportRequest {
            location: location.clone(),
            output: Some(project.dir.path().join("x.jsonl")),
            sessions: vec!["nope".into()],
            ..ExportRequest::default()
        },
        &mut unused,
    );
    assert_eq!(
        unknown.error.unwrap().1,
        "no session `nope` in the store (nothing was written)"
    );
    assert!(!project.dir.path().join("x.jsonl").exists());
}

#[test]
fn a_per_session_export_escapes_names_and_adds_the_operator_key() {
    let project = project();
    let dir = project.dir.path().join("out");
    let outcome = run_export(
        &ExportRequest {
            location: project.location(),
            per_session: Some(dir.clone()),
            ..ExportRequest::default()
        },
        &mut Vec::new(),
    );
    assert_eq!(outcome.exit_code, 0, "{:?}", outcome.error);
    assert_eq!(
        outcome.status,
        ["exported 6 receipts to out: 2 session files, 1 standalone receipt file, operator.pub"]
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let standalone = format!("standalone-{}.json", project.approval.action_hash);
    let mut expected = vec![
        "demo.jsonl".to_owned(),
        "nightly%2Frun%201.jsonl".to_owned(),
        "operator.pub".to_owned(),
        standalone.clone(),
    ];
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(
        std::fs::read_to_string(dir.join("operator.pub")).unwrap(),
        format!("{}\n", operator().public_key().to_base64())
    );
    let mut approval = project.approval.body.clone();
    approval.push(b'\n');
    assert_eq!(std::fs::read(dir.join(standalone)).unwrap(), approval);
    assert_eq!(escape_file_name("../etc/passwd"), "..%2Fetc%2Fpasswd");
    assert_eq!(escape_file_name("é%"), "%C3%A9%25");
}

#[test]
fn export_flags_that_contradict_each_other_are_refused() {
    let project = project();
    let both = ExportRequest {
        location: project.location(),
        output: Some("a".into()),
        per_session: Some("b".into()),
        ..ExportRequest::default()
    };
    assert_eq!(run_export(&both, &mut Vec::new()).error.unwrap().0, "usage");
    let salvage_one = ExportRequest {
        location: project.location(),
        sessions: vec!["demo".into()],
        salvage: true,
        ..ExportRequest::default()
    };
    assert_eq!(run_export(&salvage_one, &mut Vec::new()).exit_code, 2);
}

#[test]
fn salvage_copies_what_is_readable_and_exits_1_on_losses() {
    let project = project();
    let request = ExportRequest {
        location: project.location(),
        salvage: true,
        ..ExportRequest::default()
    };
    let mut out = Vec::new();
    let outcome = run_export(&request, &mut out);
    assert_eq!(outcome.exit_code, 0);
    assert_eq!(outcome.status, ["salvaged 6 receipts; 0 lost"]);
    assert_eq!(out.split(|b| *b == b'\n').count() - 1, 6);
    // A row gone (as a damaged page loses it): reported, exit 1.
    let conn = raw(&project.data_dir());
    conn.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM outbox WHERE receipt_id = 2; DELETE FROM receipts WHERE id = 2;")
        .unwrap();
    let mut out = Vec::new();
    let outcome = run_export(&request, &mut out);
    assert_eq!(outcome.exit_code, 1);
    assert_eq!(outcome.status[0], "salvaged 5 receipts; 1 lost");
    assert!(
        outcome.status[1].starts_with("lost receipt 2: "),
        "{:?}",
        outcome.status
    );
}

// ---------------------------------------------------------------- show

#[test]
fn show_pretty_prints_in_stored_order_and_raw_gives_the_bytes() {
    let project = project();
    let location = project.location();
    let hash = &project.demo[0].action_hash;
    let pretty = run_show(&location, &hash[..7], false);
    assert_eq!(pretty.exit_code, 0, "{:?}", pretty.error);
    let text = String::from_utf8(pretty.data).unwrap();
    assert!(text.starts_with("{\n  \""), "{text}");
    assert!(text.ends_with("}\n"));
    let value: Value = serde_json::from_str(&text).unwrap();
    let stored: Value = serde_json::from_slice(&project.demo[0].body).unwrap();
    assert_eq!(value, stored);
    let order = |v: &Value| {
        v["content"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(order(&value), order(&stored));
    let raw = run_show(&location, hash, true);
    let mut expected = project.demo[0].body.clone();
    expected.push(b'\n');
    assert_eq!(raw.data, expected);
    // A file with one receipt; a file with several; nothing at all.
    let file = project.dir.path().join("r.json");
    std::fs::write(&file, &project.demo[0].body).unwrap();
    assert_eq!(
        run_show(&location, file.to_str().unwrap(), true).data,
        expected
    );
    let mut two = project.demo[0].body.clone();
    two.push(b'\n');
    two.extend_from_slice(&project.demo[1].body);
    std::fs::write(&file, two).unwrap();
    let several = run_show(&location, file.to_str().unwrap(), false);
    assert!(several.error.unwrap().1.contains("holds 2 receipts"));
    let missing = run_show(&location, "zzz", false);
    assert_eq!(
        missing.error.unwrap(),
        (
            "not-found",
            "no such file and not a receipt hash: `zzz`".to_owned()
        )
    );
}

// ---------------------------------------------------------------- log

fn log(project: &Project, request: LogRequest) -> (Vec<String>, Option<i64>) {
    let page = run_log(
        &LogRequest {
            location: project.location(),
            ..request
        },
        &mut Vec::new(),
    );
    assert_eq!(page.outcome.error, None);
    (page.outcome.lines, page.last_id)
}

#[test]
fn log_lists_the_last_receipts_oldest_first_in_columns() {
    let project = project();
    let redacted_hash: String = raw(&project.data_dir())
        .query_row("SELECT action_hash FROM receipts WHERE id = 6", [], |r| {
            r.get(0)
        })
        .unwrap();
    let (lines, last_id) = log(
        &project,
        LogRequest {
            limit: Some(3),
            ..LogRequest::default()
        },
    );
    let h = |a: &Appended| format!("{}…", &a.action_hash[..12]);
    assert_eq!(
        lines,
        [
            format!("2026-11-24T12:00:04Z  require_approval  payment      charge_card   demo#2      {}  payment.require_approval", h(&project.demo[3])),
            format!("2026-11-24T11:00:00Z  require_approval  payment      pay           standalone  {}  payment.require_approval", h(&project.approval)),
            format!("2026-11-24T12:00:06Z  redact            data_export  export_users  demo#3      {}…  data_export.redact", &redacted_hash[..12]),
        ]
    );
    assert_eq!(last_id, Some(6));
    let (nightly, _) = log(
        &project,
        LogRequest {
            workflow: Some("nightly".into()),
            ..LogRequest::default()
        },
    );
    assert_eq!(nightly.len(), 1);
    assert!(nightly[0].contains("nightly/run 1#0"));
    let (payments, _) = log(
        &project,
        LogRequest {
            verb: Some("payment".into()),
            ..LogRequest::default()
        },
    );
    assert_eq!(payments.len(), 2);
    let (blocked, _) = log(
        &project,
        LogRequest {
            decision: Some("block".into()),
            session: Some("nightly/run 1".into()),
            ..LogRequest::default()
        },
    );
    assert_eq!(blocked.len(), 1);
    let (since, _) = log(
        &project,
        LogRequest {
            since: Some("2026-11-24T12:00:04Z".into()),
            ..LogRequest::default()
        },
    );
    assert_eq!(since.len(), 3, "{since:?}");
    let (none, last) = log(
        &project,
        LogRequest {
            after_id: Some(6),
            ..LogRequest::default()
        },
    );
    assert!(none.is_empty());
    assert_eq!(last, Some(6));
    let page = run_log(
        &LogRequest {
            location: project.location(),
            json: true,
            limit: Some(1),
            ..LogRequest::default()
        },
        &mut Vec::new(),
    );
    let mut newest: Vec<u8> = raw(&project.data_dir())
        .query_row("SELECT body FROM receipts WHERE id = 6", [], |r| r.get(0))
        .unwrap();
    newest.push(b'\n');
    assert_eq!(page.outcome.data, newest);
    let bad = run_log(
        &LogRequest {
            location: project.location(),
            verb: Some("payments".into()),
            ..LogRequest::default()
        },
        &mut Vec::new(),
    );
    assert_eq!(
        bad.outcome.error.unwrap().1,
        "unknown verb `payments`; expected one of `llm_call`, `tool_call`, `http_request`, `payment`, `data_export`, `account_change`, `delete`"
    );
}

#[test]
fn since_accepts_times_dates_and_ages() {
    let now = UNIX_EPOCH + Duration::from_hours(494_460);
    let ok = |text: &str| parse_since(text, now).unwrap();
    assert_eq!(ok("2026-11-24"), "2026-11-24T00:00:00.000Z");
    assert_eq!(ok("2026-11-24T10:02:03Z"), "2026-11-24T10:02:03.000Z");
    assert_eq!(
        ok("2026-11-24T10:02:03.5+00:00"),
        "2026-11-24T10:02:03.500Z"
    );
    assert_eq!(ok("2026-11-24 10:02"), "2026-11-24T10:02:00.000Z");
    assert_eq!(ok("2h"), "2026-05-29T10:00:00.000Z");
    assert_eq!(ok("1d"), "2026-05-28T12:00:00.000Z");
    for bad in [
        "yesterday",
        "2026-13-01",
        "2026-11-24T25:00Z",
        "10m ago",
        "h",
        "2026-11-24T10:02:03+02:00",
    ] {
        assert_eq!(parse_since(bad, now).unwrap_err().0, "usage", "{bad}");
    }
}
