"""`heso doctor` end to end, as real subprocesses (cli.md §2.11)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

import heso

if TYPE_CHECKING:
    from conftest import Cli

SCHEMAS = Path(__file__).resolve().parents[1] / "engine" / "heso-compliance" / "schemas"
FINGERPRINT_SHORT = r"heso:[0-9a-f]{4}…[0-9a-f]{4}"
LINE = re.compile(r"(ok  |warn|fail) \S.*")


def test_fresh_project_is_healthy_but_for_the_approver_without_keys(
    cli: Cli, tmp_path: Path
) -> None:
    assert cli.heso("init", "proj").returncode == 0
    ran = cli.heso("doctor", cwd=tmp_path / "proj")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stderr == ""
    lines = ran.stdout.splitlines()
    for line in lines[:-1]:
        assert LINE.fullmatch(line), line
    root = re.escape(str((tmp_path / "proj").resolve()))
    version = re.escape(heso.__version__)
    patterns = [
        rf"ok   heso {version}, heso\._core {version}, heso-compliance {version} \(/.+\)",
        rf"ok   project {root} \(found from the current directory\), every other setting is "
        r"its default",
        r"ok   no unknown HESO_\* variables",
        r"ok   heso\.toml loads: 5 rules, policy_hash [0-9a-f]{12}…",
        rf"ok   operator key {FINGERPRINT_SHORT} loads \(passphrase from "
        r"\.heso/DEV-ONLY\.passphrase, development only\)",
        r"ok   operator key pinned in \[identity\]",
        r"warn approver `security-admin` has no keys yet, so nobody can approve rules "
        r"`delete\.requires_approval` and `payment\.large\.requires_approval`; .*"
        r"`heso approver init`.*",
        r"ok   data dir \.heso is private",
        r"ok   store \.heso/heso\.db: no receipts yet",
        r"ok   outbox: no control plane configured",
        r"1 warning, 0 failures",
    ]
    assert len(lines) == len(patterns), ran.stdout
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), f"{line!r} !~ {pattern!r}"


def test_store_counts_after_the_demo(cli: Cli) -> None:
    assert cli.heso("demo", "proj").returncode == 0
    ran = cli.heso("doctor", "-C", "proj")
    assert ran.returncode == 0, ran.stdout
    assert "ok   store .heso/heso.db: 10 receipts, 1 chain, all Valid" in ran.stdout.splitlines()


def test_broken_policy_fails_with_exit_1(cli: Cli, tmp_path: Path) -> None:
    assert cli.heso("init", "proj").returncode == 0
    (tmp_path / "proj" / "heso.toml").write_text("version = [\n")
    ran = cli.heso("doctor", "-C", "proj")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert any(
        re.fullmatch(
            r"fail heso\.toml does not load: heso\.toml:1:\d+: .+; run `heso policy check`", line
        )
        for line in lines
    ), ran.stdout
    # The key, pinning and store checks need the project opened, so they do not run.
    assert not any("operator key" in line for line in lines)
    assert lines[-1] == "0 warnings, 1 failure"
    assert "Traceback" not in ran.stderr


def test_unpinned_key_gives_the_line_to_add(cli: Cli, tmp_path: Path) -> None:
    # heso.toml pins another project's key, not this project's.
    assert cli.heso("init", "proj").returncode == 0
    assert cli.heso("init", "other").returncode == 0
    mine = json.loads(cli.engine("keys", "show", "--json", "-C", "proj").stdout)["result"]
    other = json.loads(cli.engine("keys", "show", "--json", "-C", "other").stdout)["result"]
    policy = tmp_path / "proj" / "heso.toml"
    policy.write_text(policy.read_text().replace(mine["public_key"], other["public_key"]))
    ran = cli.heso("doctor", "-C", "proj")
    assert ran.returncode == 1, ran.stdout
    line = (
        f"fail operator key heso:{mine['fingerprint'][5:9]}…{mine['fingerprint'][-4:]} is not "
        "pinned in [identity], so its receipts fail `heso verify`; set "
        f'`operator = ["{other["public_key"]}", "{mine["public_key"]}"]` in [identity]'
    )
    assert line in ran.stdout.splitlines(), ran.stdout


def test_no_project_and_unknown_variable(cli: Cli) -> None:
    ran = cli.heso("doctor", env={"HESO_WORKFLW": "nightly"})
    assert ran.returncode == 1
    lines = ran.stdout.splitlines()
    assert lines[1] == (
        f"fail no heso.toml in {cli.cwd} or any parent directory; run `heso init` or pass -C DIR"
    )
    assert lines[2] == (
        "warn unknown variable HESO_WORKFLW is ignored; did you mean HESO_WORKFLOW?"
    )
    assert lines[-1] == "1 warning, 1 failure"


def test_missing_engine_binary_fails_the_versions_check(cli: Cli, tmp_path: Path) -> None:
    assert cli.heso("init", "proj").returncode == 0
    fake = tmp_path / "heso-compliance"
    fake.write_text('#!/bin/sh\necho \'{"result": {"version": "0.0.1"}}\'\n')
    fake.chmod(0o755)
    ran = cli.heso("doctor", "-C", "proj", env={"HESO_BIN": str(fake)})
    assert ran.returncode == 1, ran.stdout
    first = ran.stdout.splitlines()[0]
    assert first.startswith("fail heso "), first
    assert f"found heso-compliance 0.0.1 at {fake}" in first


def doctor_json(cli: Cli, *args: str) -> dict[str, Any]:
    ran = cli.heso("doctor", "--json", *args)
    document: dict[str, Any] = json.loads(ran.stdout)
    envelope = json.loads((SCHEMAS / "envelope.schema.json").read_text())
    result = json.loads((SCHEMAS / "doctor.schema.json").read_text())
    assert list(Draft202012Validator(envelope).iter_errors(document)) == []
    assert list(Draft202012Validator(result).iter_errors(document["result"])) == []
    assert (document["tool"], document["command"]) == ("heso", "doctor")
    assert document["exit_code"] == ran.returncode
    return document


def test_json_shape(cli: Cli, tmp_path: Path) -> None:
    assert cli.heso("init", "proj").returncode == 0
    healthy = doctor_json(cli, "-C", "proj")
    assert healthy["ok"] is True
    checks = healthy["result"]["checks"]
    assert [check["name"] for check in checks] == [
        "versions",
        "project",
        "environment",
        "policy",
        "operator_key",
        "pinning",
        "approvers",
        "data_dir",
        "store",
        "outbox",
    ]
    approvers = checks[6]
    assert approvers["status"] == "warn"
    assert "heso approver init" in approvers["hint"]
    assert "; " not in approvers["message"]

    (tmp_path / "proj" / "heso.toml").write_text("version = [\n")
    broken = doctor_json(cli, "-C", "proj")
    assert (broken["ok"], broken["exit_code"]) == (False, 1)
    failed = [check for check in broken["result"]["checks"] if check["status"] == "fail"]
    assert [check["name"] for check in failed] == ["policy"]
    assert failed[0]["hint"] == "run `heso policy check`"
