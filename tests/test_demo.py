"""`heso demo` end to end, as real subprocesses (cli.md §2.2)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli, Ran

HASH = r"[0-9a-f]{12}…"
REQUEST = r"[0-9a-f]{12}"
FINGERPRINT = r"heso:[0-9a-f]{32}"
NEXT = "next: heso log -C proj | heso approvals list -C proj | heso verify -C proj"


def table_patterns() -> list[str]:
    return [
        rf"  allow             llm_call      summarise    {HASH}  L0",
        rf"  allow             tool_call     search       {HASH}  L0",
        rf"  allow, redacted   tool_call     call_api     {HASH}  L0  "
        r"api_key committed, not in the receipt",
        rf"  allow             http_request  fetch        {HASH}  L0  host example\.com",
        rf"  needs approval    delete        delete_file  request ({REQUEST})  "
        r"rule delete\.requires_approval",
        rf"  needs approval    payment       charge_card  request ({REQUEST})  "
        r"rule payment\.large\.requires_approval",
    ]


def request_ids(ran: Ran) -> list[str]:
    """Match the table line by line; return the two request ids it shows."""
    lines = ran.stdout.splitlines()
    patterns = table_patterns()
    assert len(lines) == len(patterns), ran.stdout
    ids: list[str] = []
    for line, pattern in zip(lines, patterns, strict=True):
        match = re.fullmatch(pattern, line)
        assert match, f"{line!r} !~ {pattern!r}"
        ids.extend(match.groups())
    return ids


def test_first_run_creates_the_project_and_prints_the_documented_lines(
    cli: Cli, tmp_path: Path
) -> None:
    ran = cli.heso("demo", "proj")
    assert ran.returncode == 0, ran.stderr
    assert len(request_ids(ran)) == 2
    assert ran.stderr_lines[0] == "demo project: proj (created with the starter policy)"
    assert re.fullmatch(
        rf"verified 10 receipts in 1 chain \(demo\) against pinned operator key {FINGERPRINT}: "
        "all Valid",
        ran.stderr_lines[1],
    ), ran.stderr
    assert ran.stderr_lines[2:] == [NEXT]
    root = tmp_path / "proj"
    assert (root / "heso.toml").is_file()
    assert (root / "heso_bootstrap.py").is_file()
    # Nothing is written next to the project: no side effects outside DIR.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_the_pinned_key_is_the_projects_operator_key(cli: Cli) -> None:
    ran = cli.heso("demo", "proj")
    assert ran.returncode == 0, ran.stderr
    keys = cli.engine("keys", "show", "--json", "-C", "proj")
    fingerprint = json.loads(keys.stdout)["result"]["fingerprint"]
    assert f"against pinned operator key {fingerprint}: all Valid" in ran.stderr


def test_the_api_key_never_reaches_the_store(cli: Cli) -> None:
    assert cli.heso("demo", "proj").returncode == 0
    exported = cli.heso("export", "-C", "proj")
    assert exported.returncode == 0, exported.stderr
    assert "sk-demo" not in exported.stdout
    assert '"api_key":{"_sd":' in exported.stdout


def test_second_run_reuses_the_pending_requests(cli: Cli) -> None:
    first = cli.heso("demo", "proj")
    second = cli.heso("demo", "proj")
    assert second.returncode == 0, second.stderr
    assert request_ids(second) == request_ids(first)
    assert second.stderr_lines[0] == "demo project: proj (existing project)"
    # 4 gate + 4 result receipts more; the reused pending requests add none.
    assert re.fullmatch(
        rf"verified 18 receipts in 1 chain \(demo\) against pinned operator key {FINGERPRINT}: "
        "all Valid",
        second.stderr_lines[1],
    ), second.stderr
    # Each run's allowed steps got new receipts.
    assert first.stdout.splitlines()[0] != second.stdout.splitlines()[0]


def test_heso_verify_passes_afterwards(cli: Cli) -> None:
    assert cli.heso("demo", "proj").returncode == 0
    ran = cli.heso("verify", "-C", "proj")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "ok: 10 receipts verified in 1 chain, 0 failed" in ran.stdout


def test_quiet_keeps_the_table_only(cli: Cli) -> None:
    ran = cli.heso("demo", "proj", "-q")
    assert ran.returncode == 0, ran.stderr
    assert len(request_ids(ran)) == 2
    assert ran.stderr == ""


def test_default_directory_is_heso_demo(cli: Cli, tmp_path: Path) -> None:
    ran = cli.heso("demo")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr_lines[0] == "demo project: heso-demo (created with the starter policy)"
    assert ran.stderr_lines[-1] == (
        "next: heso log -C heso-demo | heso approvals list -C heso-demo | heso verify -C heso-demo"
    )
    assert (tmp_path / "heso-demo" / "heso.toml").is_file()


def test_observe_mode_in_the_environment_does_not_change_the_demo(cli: Cli) -> None:
    ran = cli.heso("demo", "proj", env={"HESO_BLOCKING": "0"})
    assert ran.returncode == 0, ran.stderr
    assert len(request_ids(ran)) == 2


def test_a_changed_policy_fails_with_exit_1(cli: Cli, tmp_path: Path) -> None:
    assert cli.heso("init", "proj").returncode == 0
    policy = tmp_path / "proj" / "heso.toml"
    starter = policy.read_text()
    allow_tools = 'id = "tool.allow"\norder = 20\nverb = "tool_call"\ndecision = "allow"'
    assert allow_tools in starter
    policy.write_text(starter.replace(allow_tools, allow_tools.replace('"allow"', '"block"')))
    ran = cli.heso("demo", "proj")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.stderr_lines[0] == "demo project: proj (existing project)"
    assert ran.stderr_lines[-1] == (
        "heso: error: demo expects the starter policy; heso.toml was changed"
    )
    assert re.search(
        rf"^  block             tool_call     search       {HASH}  rule tool\.allow$",
        ran.stdout,
        re.MULTILINE,
    ), ran.stdout
    assert "verified" not in ran.stderr


def test_an_unpinned_key_fails_with_exit_1(cli: Cli, tmp_path: Path) -> None:
    # Pin another project's key instead of this one's: receipts are then signed by a key
    # heso.toml does not trust.
    assert cli.heso("init", "proj").returncode == 0
    assert cli.heso("init", "other").returncode == 0
    other = json.loads(cli.engine("keys", "show", "--json", "-C", "other").stdout)["result"]
    policy = tmp_path / "proj" / "heso.toml"
    text = policy.read_text()
    policy.write_text(
        re.sub(r'operator = \["[^"]+"\]', f'operator = ["{other["public_key"]}"]', text)
    )
    ran = cli.heso("demo", "proj")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.stderr_lines[-1] == (
        "heso: error: demo expects the starter policy; heso.toml was changed"
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("HESO_ENV", "production"), ("HESO_ENV", "prod"), ("HESO_REQUIRE_PASSPHRASE", "1")],
)
def test_strict_custody_refuses_and_writes_nothing(
    cli: Cli, tmp_path: Path, variable: str, value: str
) -> None:
    ran = cli.heso("demo", "proj", env={variable: value, "HESO_KEY_PASSPHRASE": "s3cret-pass"})
    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr_lines == [f"heso: error: heso demo is for development; unset {variable}"]
    assert not (tmp_path / "proj").exists()


def test_a_policy_that_does_not_load_is_an_error(cli: Cli, tmp_path: Path) -> None:
    assert cli.heso("init", "proj").returncode == 0
    (tmp_path / "proj" / "heso.toml").write_text("version = [\n")
    ran = cli.heso("demo", "proj")
    assert ran.returncode == 2
    assert ran.stdout == ""
    assert len(ran.stderr_lines) == 2, ran.stderr
    assert ran.stderr_lines[1].startswith("heso: error: ")
    assert "Traceback" not in ran.stderr
