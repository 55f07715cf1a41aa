"""The store commands of both programs, run as real subprocesses (cli.md §2.3-§2.6, §3.3, §5).

Each test works on a fresh copy of the project `fill_store` wrote (the `store_project` fixture):
the starter heso.toml pinning the operator and one approver, and a store with sessions `bulk`
(long enough for an ambiguous 6-character prefix), `demo` (one receipt redacted), `nightly/run 1`
and two standalone approval receipts. Tests open the database directly only to damage it or to
read the exact stored bytes; the programs never let Python open it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from heso import _core

if TYPE_CHECKING:
    from conftest import Cli, Ran, StoreProject

PROGRAMS = ("heso", "heso-compliance")
SCRIPTS = Path(sysconfig.get_path("scripts"))


def bodies(db: Path, where: str = "1", order: str = "id") -> list[bytes]:
    """The exact stored bytes of the selected receipts (read-only)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn, conn:
        rows = conn.execute(f"SELECT body FROM receipts WHERE {where} ORDER BY {order}")
        return [bytes(row[0]) for row in rows]


def one_error(ran: Ran, program: str, message: str | None = None) -> str:
    """The single stderr line of an exit-2 run, without its prefix."""
    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    assert len(ran.stderr_lines) == 1, ran.stderr
    prefix = f"{program}: error: "
    line = ran.stderr_lines[0]
    assert line.startswith(prefix), line
    assert "Traceback" not in ran.stderr
    if message is not None:
        assert line == prefix + message
    return line.removeprefix(prefix)


def short(action_hash: str) -> str:
    return f"{action_hash[:12]}…"


def pinned_line(facts: dict[str, Any]) -> str:
    return (
        f"pinned: operator {fingerprint(facts['operator_public_key'])} (heso.toml [identity]); "
        f"approver {fingerprint(facts['approver_public_key'])} (heso.toml [approvers])"
    )


def fingerprint(key: str) -> str:
    return _core.fingerprint(key)


# ---- verify: hash prefixes and the whole store ----


@pytest.mark.parametrize("program", PROGRAMS)
def test_verify_a_unique_prefix(cli: Cli, store_project: StoreProject, program: str) -> None:
    facts = store_project.facts
    redacted = facts["redacted"]
    ran = cli.run(program, "verify", redacted[:8], cwd=store_project.root)
    assert ran.returncode == 0, ran.stderr
    signer = fingerprint(facts["operator_public_key"])
    assert ran.stdout.splitlines() == [
        pinned_line(facts),
        f"receipt {short(redacted)}  Valid (L0)  data_export export_users  "
        f"signed by {signer[:9]}…{signer[-4:]}",
        "ok: 1 receipt verified, 0 failed",
    ]


def test_verify_prefix_documents_agree(cli: Cli, store_project: StoreProject) -> None:
    prefix = store_project.facts["standalone"][0][:10]
    results = []
    for program in PROGRAMS:
        ran = cli.run(program, "verify", "--json", prefix, cwd=store_project.root)
        assert ran.returncode == 0, ran.stderr
        results.append(json.loads(ran.stdout)["result"])
    assert results[0] == results[1]
    (receipt,) = results[0]["receipts"]
    assert receipt["action_hash"] == store_project.facts["standalone"][0]
    assert receipt["source"].startswith("heso.db#")
    assert receipt["trust_level"] == "L1"


@pytest.mark.parametrize("program", PROGRAMS)
def test_verify_an_ambiguous_prefix(cli: Cli, store_project: StoreProject, program: str) -> None:
    facts = store_project.facts
    prefix = facts["ambiguous_prefix"]
    ran = cli.run(program, "verify", prefix, cwd=store_project.root)
    candidates = ", ".join(f"`{short(h)}`" for h in sorted(facts["ambiguous_hashes"]))
    one_error(
        ran,
        program,
        f"receipt hash `{prefix}` is ambiguous: it matches {candidates}; give more characters",
    )
    document = json.loads(
        cli.run(program, "verify", "--json", prefix, cwd=store_project.root).stdout
    )
    assert document["error"]["code"] == "ambiguous"


@pytest.mark.parametrize("program", PROGRAMS)
def test_verify_an_unknown_prefix(cli: Cli, store_project: StoreProject, program: str) -> None:
    ran = cli.run(program, "verify", "abcdef0123", cwd=store_project.root)
    one_error(ran, program, "no such file and not a receipt hash: `abcdef0123`")
    elsewhere = cli.run(program, "verify", "abcdef0123")
    message = one_error(elsewhere, program)
    assert message.startswith("no such file and not a receipt hash: `abcdef0123` (")


@pytest.mark.parametrize("program", PROGRAMS)
def test_verify_the_whole_store(cli: Cli, store_project: StoreProject, program: str) -> None:
    facts = store_project.facts
    ran = cli.run(program, "verify", "-C", str(store_project.root))
    assert ran.returncode == 0, ran.stderr
    signer = fingerprint(facts["operator_public_key"])
    by = f"{signer[:9]}…{signer[-4:]}"
    bulk = f"{facts['sessions']['bulk']:,}"
    width = len(bulk)
    assert ran.stdout.splitlines() == [
        pinned_line(facts),
        f"chain bulk          {bulk} receipts  Valid",
        f"chain demo          {'5':>{width}} receipts  Valid",
        f"chain nightly/run 1 {'2':>{width}} receipts  Valid",
        *(
            f"receipt {short(h)}  Valid (L1)  payment charge_card  signed by {by}"
            for h in facts["standalone"]
        ),
        f"ok: {facts['receipts']:,} receipts verified in 3 chains and 2 standalone, 0 failed",
    ]


def test_both_programs_give_the_same_store_result(cli: Cli, store_project: StoreProject) -> None:
    documents = [
        json.loads(cli.run(program, "verify", "--json", cwd=store_project.root).stdout)
        for program in PROGRAMS
    ]
    assert documents[0]["result"] == documents[1]["result"]
    assert documents[0]["exit_code"] == documents[1]["exit_code"] == 0
    audit = cli.engine("audit", "verify", "--json", cwd=store_project.root)
    result = json.loads(audit.stdout)["result"]
    checks = result.pop("store_checks")
    assert result == documents[0]["result"], "verify of the store is audit verify without checks"
    assert all(check["ok"] for check in checks), checks


def test_a_missing_store_is_one_line(cli: Cli, store_project: StoreProject) -> None:
    store_project.db.unlink()
    message = (
        "no audit store at `.heso/heso.db`: this project has recorded no receipts yet; record "
        "some first, or point `HESO_DATA_DIR` or `[settings] data_dir` at the data directory "
        "that holds `heso.db`"
    )
    for program, args in (
        ("heso", ("verify",)),
        ("heso-compliance", ("verify",)),
        ("heso-compliance", ("audit", "verify")),
        ("heso-compliance", ("audit", "export")),
        ("heso", ("export",)),
        ("heso", ("log",)),
        ("heso", ("show", "abcdef")),
    ):
        one_error(cli.run(program, *args, cwd=store_project.root), program, message)
    assert not store_project.db.exists(), "reading never creates the store"


def test_the_data_directory_follows_heso_data_dir(cli: Cli, store_project: StoreProject) -> None:
    moved = store_project.root / "elsewhere"
    (store_project.root / ".heso").rename(moved)
    ran = cli.heso("log", "-n", "1", cwd=store_project.root, env={"HESO_DATA_DIR": "elsewhere"})
    assert ran.returncode == 0, ran.stderr
    assert len(ran.stdout.splitlines()) == 1


# ---- audit verify ----


def test_audit_verify_of_a_sound_store(cli: Cli, store_project: StoreProject) -> None:
    audit = cli.engine("audit", "verify", cwd=store_project.root)
    verify = cli.engine("verify", cwd=store_project.root)
    assert audit.returncode == 0, audit.stderr
    assert audit.stdout == verify.stdout
    assert audit.stderr == ""


def tamper_body(db: Path, action_hash: str) -> None:
    """Change one byte of a stored body (a field value), leaving every column alone."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        (body,) = conn.execute(
            "SELECT body FROM receipts WHERE action_hash = ?", (action_hash,)
        ).fetchone()
        damaged = bytes(body).replace(b'"q":"heso"', b'"q":"hesO"')
        assert damaged != body
        conn.execute("UPDATE receipts SET body = ? WHERE action_hash = ?", (damaged, action_hash))


def test_audit_verify_after_a_body_byte_changed(cli: Cli, store_project: StoreProject) -> None:
    search = store_project.facts["demo"][1]
    tamper_body(store_project.db, search)
    with contextlib.closing(sqlite3.connect(store_project.db)) as conn, conn:
        conn.execute("DELETE FROM outbox WHERE receipt_id = 1")
    audit = cli.engine("audit", "verify", cwd=store_project.root)
    assert audit.returncode == 1, audit.stderr
    lines = audit.stdout.splitlines()
    (demo,) = [line for line in lines if line.startswith("chain demo ")]
    assert "ContentTamper at seq 1: " in demo
    assert "store: outbox failed: receipt 1 has no outbox row" in lines
    assert lines[-1].startswith("fail: 1 of 3 chains and 0 of 2 standalone receipts failed (")
    assert lines[-1].endswith("; 1 store check failed")
    verify = cli.heso("verify", cwd=store_project.root)
    assert verify.returncode == 1
    assert not any(line.startswith("store:") for line in verify.stdout.splitlines())
    document = json.loads(cli.engine("audit", "verify", "--json", cwd=store_project.root).stdout)
    checks = {check["name"]: check for check in document["result"]["store_checks"]}
    assert checks["outbox"] == {
        "name": "outbox",
        "ok": False,
        "detail": "receipt 1 has no outbox row",
    }
    assert document["exit_code"] == 1


def test_audit_verify_pin_flags(cli: Cli, store_project: StoreProject, tmp_path: Path) -> None:
    other = cli.engine("audit", "verify", "--pubkey", store_project.facts["approver_public_key"])
    assert other.returncode == 2  # no project here
    ran = cli.engine(
        "audit",
        "verify",
        "--pubkey",
        store_project.facts["approver_public_key"],
        cwd=store_project.root,
    )
    assert ran.returncode == 1
    assert "UntrustedSigner" in ran.stdout
    unpinned = cli.engine("audit", "verify", "--no-pin", cwd=store_project.root)
    assert unpinned.returncode == 0
    assert unpinned.stdout.startswith("not pinned (--no-pin)\n")


# ---- export ----


@pytest.mark.parametrize("program", PROGRAMS)
def test_full_export_is_the_stored_bytes_in_append_order(
    cli: Cli, store_project: StoreProject, program: str
) -> None:
    command = ("export",) if program == "heso" else ("audit", "export")
    to_stdout = subprocess.run(
        [str(SCRIPTS / program), *command],
        cwd=store_project.root,
        env=cli.env,
        capture_output=True,
        check=False,
    )
    assert to_stdout.returncode == 0, to_stdout.stderr
    expected = b"".join(body + b"\n" for body in bodies(store_project.db))
    assert to_stdout.stdout == expected
    count = store_project.facts["receipts"]
    assert to_stdout.stderr.decode() == f"exported {count:,} receipts\n"
    ran = cli.run(program, *command, "-o", "all.jsonl", cwd=store_project.root)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == f"exported {count:,} receipts to all.jsonl\n"
    assert (store_project.root / "all.jsonl").read_bytes() == expected
    quiet = cli.run(program, *command, "-q", "-o", "again.jsonl", cwd=store_project.root)
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_export_round_trips_through_verify(cli: Cli, store_project: StoreProject) -> None:
    assert cli.heso("export", "-o", "all.jsonl", cwd=store_project.root).returncode == 0
    exported = str(store_project.root / "all.jsonl")
    key = store_project.facts["operator_public_key"]
    approver = store_project.facts["approver_public_key"]
    for program in PROGRAMS:
        ran = cli.run(program, "verify", "--pubkey", key, "--approver-pubkey", approver, exported)
        assert ran.returncode == 0, ran.stdout
        assert ran.stdout.splitlines()[-1].startswith(f"ok: {store_project.facts['receipts']:,}")


def test_session_exports_are_in_seq_order(cli: Cli, store_project: StoreProject) -> None:
    ran = cli.heso(
        "export", "--session", "nightly/run 1", "--session", "demo", cwd=store_project.root
    )
    assert ran.returncode == 0, ran.stderr
    nightly = bodies(store_project.db, "session_id = 'nightly/run 1'", "seq")
    demo = bodies(store_project.db, "session_id = 'demo'", "seq")
    assert ran.stdout.encode() == b"".join(b + b"\n" for b in nightly + demo)
    one_error(
        cli.heso("export", "--session", "nope", cwd=store_project.root),
        "heso",
        "no session `nope` in the store (nothing was written)",
    )


@pytest.mark.parametrize("program", PROGRAMS)
def test_per_session_export(cli: Cli, store_project: StoreProject, program: str) -> None:
    command = ("export",) if program == "heso" else ("audit", "export")
    ran = cli.run(program, *command, "--per-session", "out", cwd=store_project.root)
    assert ran.returncode == 0, ran.stderr
    facts = store_project.facts
    assert ran.stderr == (
        f"exported {facts['receipts']:,} receipts to out: 3 session files, "
        "2 standalone receipt files, operator.pub\n"
    )
    out = store_project.root / "out"
    assert sorted(path.name for path in out.iterdir()) == sorted(
        [
            "bulk.jsonl",
            "demo.jsonl",
            "nightly%2Frun%201.jsonl",
            "operator.pub",
            *(f"standalone-{h}.json" for h in facts["standalone"]),
        ]
    )
    assert (out / "operator.pub").read_text() == facts["operator_public_key"] + "\n"
    nightly = bodies(store_project.db, "session_id = 'nightly/run 1'", "seq")
    assert (out / "nightly%2Frun%201.jsonl").read_bytes() == b"".join(b + b"\n" for b in nightly)
    (first,) = bodies(store_project.db, f"action_hash = '{facts['standalone'][0]}'")
    assert (out / f"standalone-{facts['standalone'][0]}.json").read_bytes() == first + b"\n"
    # The directory verifies as it is, pinned to the exported key file.
    verified = cli.heso(
        "verify",
        "--pubkey",
        f"@{out / 'operator.pub'}",
        "--approver-pubkey",
        facts["approver_public_key"],
        str(out),
    )
    assert verified.returncode == 0, verified.stdout


def test_per_session_export_passes_the_independent_checker(
    cli: Cli, store_project: StoreProject
) -> None:
    """storage.md §16 item 9: exports verify with a verifier written without heso's code."""
    pytest.importorskip("cryptography", reason="the independent checker needs `cryptography`")
    pytest.importorskip("rfc8785", reason="the independent checker needs `rfc8785`")
    pytest.importorskip("blake3", reason="the independent checker needs `blake3`")
    ran = cli.heso("export", "--per-session", "out", "-q", cwd=store_project.root)
    assert ran.returncode == 0, ran.stderr
    out = store_project.root / "out"
    checked = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve().parents[1] / "scripts" / "independent_check.py"),
            "--pubkey",
            (out / "operator.pub").read_text().strip(),
            "--approver-pubkey",
            store_project.facts["approver_public_key"],
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]


def test_contradicting_export_flags(cli: Cli, store_project: StoreProject) -> None:
    one_error(
        cli.engine("audit", "export", "-o", "a", "--per-session", "b", cwd=store_project.root),
        "heso-compliance",
        "`-o` and `--per-session` cannot be combined; `--per-session` writes one file per "
        "session into DIR",
    )
    one_error(
        cli.engine("audit", "export", "--salvage", "--session", "demo", cwd=store_project.root),
        "heso-compliance",
    )
    one_error(cli.heso("export", "--salvage", cwd=store_project.root), "heso")


def damage_page_of(db: Path, marker: bytes) -> None:
    """Zero the page of `db` that holds `marker` (a table leaf page of `receipts`)."""
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    offset = data.index(marker)
    start = offset - offset % page_size
    data[start : start + page_size] = bytes(page_size)
    db.write_bytes(bytes(data))


def test_salvage_of_a_damaged_store(cli: Cli, store_project: StoreProject) -> None:
    clean = cli.engine("audit", "export", "--salvage", "-o", "clean.jsonl", cwd=store_project.root)
    count = store_project.facts["receipts"]
    assert (clean.returncode, clean.stderr) == (
        0,
        f"salvaged {count:,} receipts to clean.jsonl; 0 lost\n",
    )
    damage_page_of(store_project.db, b'{"n":3000}')
    ran = cli.engine("audit", "export", "--salvage", "-o", "saved.jsonl", cwd=store_project.root)
    assert ran.returncode == 1, ran.stderr
    first = ran.stderr_lines[0]
    assert first.startswith("salvaged "), first
    assert first.endswith(" lost"), first
    lost = int(first.rsplit("; ", 1)[1].removesuffix(" lost").replace(",", ""))
    assert 0 < lost < 20
    assert all(line.startswith("lost receipt ") for line in ran.stderr_lines[1:])
    saved = (store_project.root / "saved.jsonl").read_bytes().splitlines()
    assert len(saved) == count - lost
    assert set(saved) <= set((store_project.root / "clean.jsonl").read_bytes().splitlines())
    # The damage is reported, never repaired: the file is left as it was.
    assert cli.engine("audit", "verify", cwd=store_project.root).returncode in (1, 2)


# ---- show ----


def test_show_pretty_and_raw(cli: Cli, store_project: StoreProject) -> None:
    redacted = store_project.facts["redacted"]
    (body,) = bodies(store_project.db, f"action_hash = '{redacted}'")
    pretty = cli.heso("show", redacted[:9], cwd=store_project.root)
    assert pretty.returncode == 0, pretty.stderr
    assert pretty.stdout == json.dumps(json.loads(body), indent=2, ensure_ascii=False) + "\n"
    assert list(json.loads(pretty.stdout)["content"]) == list(json.loads(body)["content"])
    raw = subprocess.run(
        [str(SCRIPTS / "heso"), "show", "--raw", redacted],
        cwd=store_project.root,
        env=cli.env,
        capture_output=True,
        check=False,
    )
    assert (raw.returncode, raw.stdout) == (0, body + b"\n")
    (cli.cwd / "one.json").write_bytes(body)
    from_file = cli.heso("show", "one.json")
    assert from_file.stdout == pretty.stdout


def test_show_errors(cli: Cli, store_project: StoreProject) -> None:
    root = store_project.root
    facts = store_project.facts
    one_error(
        cli.heso("show", "abcdef0123", cwd=root),
        "heso",
        "no such file and not a receipt hash: `abcdef0123`",
    )
    assert "is ambiguous" in one_error(
        cli.heso("show", facts["ambiguous_prefix"], cwd=root), "heso"
    )
    one_error(cli.heso("show", "nope.json", cwd=root), "heso")
    assert cli.heso("export", "--session", "demo", "-o", "demo.jsonl", cwd=root).returncode == 0
    assert "holds 5 receipts" in one_error(cli.heso("show", "demo.jsonl", cwd=root), "heso")


# ---- log ----


def log_lines(cli: Cli, store_project: StoreProject, *args: str) -> list[str]:
    ran = cli.heso("log", *args, cwd=store_project.root)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == ""
    return ran.stdout.splitlines()


def test_log_layout(cli: Cli, store_project: StoreProject) -> None:
    facts = store_project.facts
    demo, nightly, standalone = facts["demo"], facts["nightly"], facts["standalone"]
    assert log_lines(cli, store_project, "-n", "6") == [
        f"2026-11-24T10:30:00Z  require_approval  payment       charge_card   standalone       "
        f"{short(standalone[0])}  payment.requires_approval",
        f"2026-11-24T10:00:06Z  require_approval  payment       charge_card   demo#2           "
        f"{short(demo[2])}  payment.requires_approval",
        f"2026-11-24T10:00:07Z  redact            data_export   export_users  demo#3           "
        f"{short(demo[3])}  data_export.redact",
        f"2026-11-24T10:00:08Z  block             delete        drop_table    demo#4           "
        f"{short(demo[4])}  delete.block",
        f"2026-11-24T10:00:09Z  block             http_request  fetch         nightly/run 1#1  "
        f"{short(nightly[1])}  http_request.block",
        f"2026-11-24T10:45:00Z  require_approval  payment       charge_card   standalone       "
        f"{short(standalone[1])}  payment.requires_approval",
    ]
    default = log_lines(cli, store_project)
    assert len(default) == 20
    assert default[-6:] == log_lines(cli, store_project, "-n", "6")
    assert len(log_lines(cli, store_project, "-n", "0")) == facts["receipts"]


@pytest.mark.parametrize(
    ("args", "count"),
    [
        (("--session", "demo"), 5),
        (("--session", "nightly/run 1", "--decision", "block"), 1),
        (("--workflow", "nightly"), 2),
        (("--verb", "payment"), 3),
        (("--decision", "block"), 2),
        (("--kind", "action", "-n", "0"), -1),
        (("--kind", "approved"), 0),
        (("--since", "2026-11-24T10:00:08Z"), 3),
        (("--since", "2026-11-25"), 0),
        (("--since", "36500d", "-n", "0"), -1),
    ],
)
def test_log_filters(
    cli: Cli, store_project: StoreProject, args: tuple[str, ...], count: int
) -> None:
    expected = store_project.facts["receipts"] if count < 0 else count
    assert len(log_lines(cli, store_project, *args)) == expected


def test_log_json_is_the_stored_bytes(cli: Cli, store_project: StoreProject) -> None:
    ran = subprocess.run(
        [str(SCRIPTS / "heso"), "log", "--json", "--session", "demo"],
        cwd=store_project.root,
        env=cli.env,
        capture_output=True,
        check=False,
    )
    assert ran.returncode == 0
    demo = bodies(store_project.db, "session_id = 'demo'", "id")
    assert ran.stdout == b"".join(body + b"\n" for body in demo)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--verb", "payments"),
            "unknown verb `payments`; expected one of `llm_call`, `tool_call`, `http_request`, "
            "`payment`, `data_export`, `account_change`, `delete`",
        ),
        (
            ("--decision", "deny"),
            "unknown decision `deny`; expected one of `allow`, `block`, `redact`, "
            "`require_approval`",
        ),
        (("--since", "yesterday"), None),
        (("-n", "-1"), None),
    ],
)
def test_log_usage_errors(
    cli: Cli, store_project: StoreProject, args: tuple[str, ...], message: str | None
) -> None:
    one_error(cli.heso("log", *args, cwd=store_project.root), "heso", message)


def test_log_without_a_project(cli: Cli) -> None:
    message = one_error(cli.heso("log"), "heso")
    assert message.endswith("or any parent directory; run `heso init` or pass -C DIR")


def test_log_follow_prints_new_receipts_until_interrupted(
    cli: Cli, store_project: StoreProject
) -> None:
    with subprocess.Popen(
        [str(SCRIPTS / "heso"), "log", "-n", "1", "--follow"],
        cwd=store_project.root,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            first = process.stdout.readline()
            assert short(store_project.facts["standalone"][1]).encode() in first
            # A new row, as an agent's append would add it (a copy of a body under another
            # hash: log reads columns and bodies, it does not verify).
            with contextlib.closing(sqlite3.connect(store_project.db)) as conn, conn:
                conn.execute(
                    "INSERT INTO receipts (action_hash, session_id, seq, link_hash, kind, "
                    "decision, trust_level, tool_name, workflow, created_at, body) SELECT ?, "
                    "'demo', 5, link_hash, kind, decision, trust_level, tool_name, workflow, "
                    "created_at, body FROM receipts WHERE action_hash = ?",
                    ("f" * 64, store_project.facts["demo"][4]),
                )
            started = time.monotonic()
            second = process.stdout.readline()
            assert b"demo#5" in second, second
            assert b"ffffffffffff" in second, second
            assert time.monotonic() - started < 5
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 130
            stderr = process.stderr.read().decode()
            assert "Traceback" not in stderr
            assert stderr.strip() == ""
        finally:
            if process.poll() is None:
                process.kill()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE semantics")
def test_log_into_a_closed_pipe_ends_quietly(cli: Cli, store_project: StoreProject) -> None:
    ran = subprocess.run(
        f"'{SCRIPTS / 'heso'}' log -n 0 | head -n 1",
        shell=True,
        cwd=store_project.root,
        env=cli.env,
        capture_output=True,
        check=False,
    )
    assert ran.returncode == 0
    assert len(ran.stdout.splitlines()) == 1
    assert ran.stderr == b""
