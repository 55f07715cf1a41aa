//! Cost of an append to the audit store (storage.md §9), for `nox -s bench`. Writes a results
//! fragment that `tests/bench/report.py` merges.
//!
//!     cargo run --release -p heso-store --example append_bench -- OUTPUT.json \
//!         [--dir DIR] [--sizes 0,10000,100000,1000000] [--normal N] [--full N]
//!
//! One store, in a temporary directory under `DIR` (default: the directory of `OUTPUT.json`; it
//! is deleted at the end), grows through the sizes. At each size the append latency is timed in
//! both durability modes, each on a freshly opened `Store` (a new writer connection), and the
//! time of an `fsync` of a small write to a file in the same directory is measured, so that the
//! `full` target (1.5 × fsync) is judged against this disk.
//!
//! Pre-population goes through the public store API only: [`Store::transaction`] with
//! [`WriteTx::append`] called for 5,000 receipts per transaction, in `normal` mode, into action
//! sessions of 1,000 receipts each. Every stored receipt is a real signed receipt with its
//! chain head and outbox row, exactly as an agent's append leaves it; batching only saves the
//! per-commit cost. After filling, the WAL is checkpointed and the database file synced, so that
//! the timed appends do not pay for the bulk load.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a benchmark program: any failure ends the run with its message"
)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

use heso_core::identity::{Identity, SecretSeed};
use heso_store::store::{
    AppendRequest, Durability, SessionType, Signing, Store, StoreOptions, DB_FILE,
};
use serde_json::{json, Map, Value};

const DEFAULT_SIZES: [u64; 4] = [0, 10_000, 100_000, 1_000_000];
/// Timed appends per size in `normal` mode.
const NORMAL_APPENDS: usize = 2_000;
/// Timed appends per size in `full` mode (each waits for an `fsync`).
const FULL_APPENDS: usize = 500;
/// Untimed appends on each freshly opened store before timing.
const WARM_UP: usize = 50;
/// Receipts per transaction while filling.
const FILL_BATCH: u64 = 5_000;
/// Receipts per session while filling.
const FILL_SESSION: u64 = 1_000;
/// `fsync` samples per size.
const FSYNC_SAMPLES: usize = 300;
/// Targets (storage.md §9, issue 5).
const NORMAL_TARGET_US: f64 = 25.0;
const FULL_TARGET_FSYNCS: f64 = 1.5;
const FLAT_TARGET_PERCENT: f64 = 125.0;

const USAGE: &str =
    "usage: append_bench OUTPUT.json [--dir DIR] [--sizes N,N,...] [--normal N] [--full N]";

struct Args {
    output: PathBuf,
    dir: PathBuf,
    sizes: Vec<u64>,
    normal: usize,
    full: usize,
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let output = PathBuf::from(args.next().expect(USAGE));
    let mut parsed = Args {
        dir: output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_owned),
        output,
        sizes: DEFAULT_SIZES.to_vec(),
        normal: NORMAL_APPENDS,
        full: FULL_APPENDS,
    };
    while let Some(flag) = args.next() {
        let value = args.next().expect(USAGE);
        match flag.as_str() {
            "--dir" => parsed.dir = PathBuf::from(value),
            "--sizes" => {
                parsed.sizes = value
                    .split(',')
                    .map(|n| n.trim().parse().expect(USAGE))
                    .collect();
            }
            "--normal" => parsed.normal = value.parse().expect(USAGE),
            "--full" => parsed.full = value.parse().expect(USAGE),
            _ => panic!("{USAGE}"),
        }
    }
    assert!(
        parsed.sizes.windows(2).all(|w| w[0] < w[1]),
        "sizes must grow"
    );
    parsed
}

/// The bench's operator: a fixed throwaway seed.
fn operator() -> Identity {
    Identity::from_seed(&SecretSeed::from_bytes([0x62; 32]))
}

/// Plain receipt content as an agent's tool call produces it, varied by `i`.
fn content(i: u64) -> Map<String, Value> {
    let tools = ["search", "read_file", "send_email", "http_get", "run_query"];
    let tool = tools[usize::try_from(i % 5).unwrap()];
    let decision = if i.is_multiple_of(17) {
        "block"
    } else {
        "allow"
    };
    let mut content = Map::new();
    content.insert(
        "action".into(),
        json!({"verb": "tool_call", "tool_name": tool, "workflow": "bench", "account": "acct-bench",
               "fields": {"query": format!("request {i}"), "limit": i % 100, "note": "x".repeat(usize::try_from(i % 200).unwrap())}}),
    );
    content.insert(
        "policy".into(),
        json!({"rule_id": format!("tool.{decision}"), "rule_display": format!("When any agent calls a tool, then {decision}."),
               "matched_conditions": [], "decision_path": decision}),
    );
    content
}

fn options(durability: Durability) -> StoreOptions {
    StoreOptions {
        durability,
        ..StoreOptions::default()
    }
}

/// Receipts stored now.
fn stored(path: &Path) -> u64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))
        .unwrap();
    u64::try_from(count).unwrap()
}

/// Appends receipts in large transactions until the store holds `target`.
fn fill(dir: &Path, target: u64, operator: &Identity, next: &mut u64) {
    let path = dir.join(DB_FILE);
    let have = stored(&path);
    if have >= target {
        return;
    }
    let started = Instant::now();
    let store = Store::open(dir, options(Durability::Normal)).unwrap();
    let mut remaining = target - have;
    while remaining > 0 {
        let batch = remaining.min(FILL_BATCH);
        store
            .transaction(|tx| {
                for _ in 0..batch {
                    let i = *next;
                    *next += 1;
                    let session = format!("fill-{:06}", i / FILL_SESSION);
                    tx.append(&AppendRequest::chained(
                        session,
                        SessionType::Action,
                        content(i),
                        Signing::Operator(operator),
                    ))?;
                }
                Ok(())
            })
            .unwrap();
        remaining -= batch;
    }
    drop(store);
    // Start the timed appends from an empty WAL and a database file on disk.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    File::open(&path).unwrap().sync_all().unwrap();
    eprintln!(
        "append_bench: filled to {target} receipts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Latency of each of `count` appends to one new session, in µs, on a freshly opened store.
fn time_appends(
    dir: &Path,
    durability: Durability,
    session: &str,
    count: usize,
    operator: &Identity,
) -> Vec<f64> {
    let store = Store::open(dir, options(durability)).unwrap();
    let request = |i: u64| {
        AppendRequest::chained(
            session,
            SessionType::Action,
            content(i),
            Signing::Operator(operator),
        )
    };
    for i in 0..WARM_UP as u64 {
        store.append(&request(i)).unwrap();
    }
    let mut values = Vec::with_capacity(count);
    for i in 0..count as u64 {
        // Policy evaluation and content building happen before the store is called.
        let request = request(WARM_UP as u64 + i);
        let start = Instant::now();
        let appended = store.append(&request).unwrap();
        values.push(start.elapsed().as_secs_f64() * 1e6);
        assert!(appended.newly_stored);
    }
    values
}

/// Latency of `fsync` after a 4 KiB write into a preallocated 1 MiB file in `dir`, in µs.
fn time_fsync(dir: &Path, samples: usize) -> Vec<f64> {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("fsync-probe");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    file.write_all(&vec![0_u8; 1 << 20]).unwrap();
    file.sync_all().unwrap();
    let page = [0x5a_u8; 4096];
    let mut values = Vec::with_capacity(samples);
    for i in 0..samples as u64 {
        file.seek(SeekFrom::Start((i % 256) * 4096)).unwrap();
        file.write_all(&page).unwrap();
        let start = Instant::now();
        file.sync_all().unwrap();
        values.push(start.elapsed().as_secs_f64() * 1e6);
    }
    drop(file);
    std::fs::remove_file(&path).unwrap();
    values
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

fn median(values: &[f64]) -> f64 {
    quantile(&sorted(values), 0.5)
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a rank within a vector's length"
    )]
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[rank]
}

/// Rounded to 0.01 µs, so the merged report stays readable.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `2000` as `2,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn label(size: u64) -> String {
    match size {
        0 => "empty store".to_owned(),
        10_000 => "10^4 receipts stored".to_owned(),
        100_000 => "10^5 receipts stored".to_owned(),
        1_000_000 => "10^6 receipts stored".to_owned(),
        n => format!("{} receipts stored", thousands(n)),
    }
}

/// One size's measurement in one mode.
struct Run {
    size: u64,
    stored_before: u64,
    values: Vec<f64>,
}

/// The metrics of every run: one per mode and size, and each size against the empty store.
fn metrics(runs: &[(Durability, Run)], fsync_median: f64) -> Vec<Value> {
    let mut metrics = Vec::new();
    for durability in [Durability::Normal, Durability::Full] {
        let mode_runs: Vec<&Run> = runs
            .iter()
            .filter(|(d, _)| *d == durability)
            .map(|(_, r)| r)
            .collect();
        let (target, target_note) = match durability {
            Durability::Normal => (NORMAL_TARGET_US, "25 µs".to_owned()),
            Durability::Full => (
                round(FULL_TARGET_FSYNCS * fsync_median),
                format!("1.5 × the fsync median of {fsync_median:.1} µs"),
            ),
        };
        for run in &mode_runs {
            let s = sorted(&run.values);
            let quarter = run.values.len() / 4;
            metrics.push(json!({
                "name": format!("store append, {} durability, {}", durability.name(), label(run.size)),
                "unit": "µs/append",
                "target": {"op": "<=", "value": target, "statistic": "median"},
                "median": round(quantile(&s, 0.5)),
                "min": round(s[0]),
                "max": round(s[s.len() - 1]),
                "values": run.values.iter().copied().map(round).collect::<Vec<_>>(),
                "details": {
                    "target": target_note,
                    "appends": run.values.len(),
                    "warm_up_appends": WARM_UP,
                    "receipts_stored_before": run.stored_before,
                    "p10": round(quantile(&s, 0.1)),
                    "p90": round(quantile(&s, 0.9)),
                    "p99": round(quantile(&s, 0.99)),
                    "median_first_quarter": round(median(&run.values[..quarter])),
                    "median_last_quarter": round(median(&run.values[run.values.len() - quarter..])),
                    "fsync_median_us": round(fsync_median),
                },
            }));
        }
        let Some(empty) = mode_runs.iter().find(|r| r.size == 0) else {
            continue;
        };
        let base = median(&empty.values);
        for run in mode_runs.iter().filter(|r| r.size > 0) {
            let percent = round(100.0 * median(&run.values) / base);
            metrics.push(json!({
                "name": format!("store append, {} durability, {} vs empty store", durability.name(), label(run.size)),
                "unit": "%",
                "target": {"op": "<=", "value": FLAT_TARGET_PERCENT, "statistic": "median"},
                "median": percent,
                "min": percent,
                "max": percent,
                "values": [percent],
                "details": {"median_us": round(median(&run.values)), "empty_store_median_us": round(base)},
            }));
        }
    }
    metrics
}

fn main() {
    let args = parse_args();
    std::fs::create_dir_all(&args.dir).unwrap();
    let temp = tempfile::tempdir_in(&args.dir).unwrap();
    let dir = temp.path().join("data");
    let operator = operator();
    let mut next = 0;
    let mut runs: Vec<(Durability, Run)> = Vec::new();
    let mut fsync = Vec::new();
    let started = Instant::now();
    for &size in &args.sizes {
        if size > 0 {
            fill(&dir, size, &operator, &mut next);
        }
        fsync.extend(time_fsync(temp.path(), FSYNC_SAMPLES));
        for (durability, count) in [
            (Durability::Normal, args.normal),
            (Durability::Full, args.full),
        ] {
            let stored_before = if dir.join(DB_FILE).exists() {
                stored(&dir.join(DB_FILE))
            } else {
                0
            };
            let session = format!("bench-{}-{size}", durability.name());
            let values = time_appends(&dir, durability, &session, count, &operator);
            eprintln!(
                "append_bench: {}, {}: median {:.1} µs over {count} appends",
                durability.name(),
                label(size),
                median(&values)
            );
            runs.push((
                durability,
                Run {
                    size,
                    stored_before,
                    values,
                },
            ));
        }
    }
    let fsync_median = median(&fsync);
    eprintln!(
        "append_bench: fsync median {fsync_median:.1} µs; total {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let metrics = metrics(&runs, fsync_median);
    let fsync_sorted = sorted(&fsync);
    let fragment = json!({
        "benchmark": "store",
        "method": [
            format!(
                "store append: `heso_store::store::Store::append` of one plain L0 receipt to an action session (head read, canonicalization, BLAKE3, Ed25519 signature, inserts, COMMIT), built in release mode and called in-process from Rust (`engine/heso-store/examples/append_bench.rs`); each value is one append's wall time; {} timed appends in `normal` and {} in `full` per store size, each on a freshly opened store after {WARM_UP} untimed appends; the request is built before the clock starts.",
                thousands(args.normal as u64),
                thousands(args.full as u64)
            ),
            format!(
                "The store grows through the sizes; it is filled through the store API, {} appends per transaction into sessions of {} receipts (real signed receipts with chain heads and outbox rows), then the WAL is checkpointed (TRUNCATE) and the file synced. The `full` target is 1.5 × the median time of `fsync` after a 4 KiB write to a file in the store's directory ({} samples, median {fsync_median:.1} µs, min {:.1} µs, max {:.1} µs); the \"vs empty store\" rows give each size's median as a percentage of the empty store's (target ≤ 125 %).",
                thousands(FILL_BATCH),
                thousands(FILL_SESSION),
                thousands(fsync.len() as u64),
                fsync_sorted[0],
                fsync_sorted[fsync_sorted.len() - 1]
            ),
        ],
        "metrics": metrics,
    });
    std::fs::write(&args.output, format!("{fragment:#}\n")).unwrap();
    eprintln!("append_bench: wrote {}", args.output.display());
}
