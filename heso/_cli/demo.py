"""``heso demo``: six decorated calls through the real engine, then the chain they made, verified.

Everything happens inside the demo project: the calls' bodies touch nothing (no network, no
files), and the engine writes only to the project's data directory. The table is built from the
receipts the calls left in the store, so it shows what was recorded, not what was expected.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

import heso
from heso import _config, _core
from heso._cli._output import CommandFailed, error, status
from heso._cli._project import command_flags
from heso._cli.init import _init as init_project

__all__ = ["demo_command"]

DEFAULT_DIRECTORY = Path("heso-demo")
WORKFLOW = "demo"
# A made-up credential: the receipt must hold its commitment, never these characters.
DEMO_API_KEY = "sk-demo-4c0ffee5e11ed"
POLICY_CHANGED = "demo expects the starter policy; heso.toml was changed"
_TRUE = ("1", "true", "yes", "on")


@heso.action("llm_call")
def summarise(text: str) -> str:
    """Stand in for a model call: return the first sentence."""
    return text.split(". ", maxsplit=1)[0]


@heso.tool
def search(query: str) -> list[str]:
    """Stand in for a search tool."""
    return [f"result for {query}"]


@heso.tool(redact=["api_key"])
def call_api(endpoint: str, api_key: str) -> dict[str, int]:
    """Stand in for an API call authenticated by a secret the receipt must not hold."""
    del endpoint, api_key
    return {"status": 200}


@heso.action("http_request")
def fetch(url: str) -> str:
    """Stand in for an HTTP GET; the gate takes the host from ``url``, the body sends nothing."""
    return f"<html>{url}</html>"


@heso.destructive
def delete_file(path: str) -> None:
    """Stand in for a delete; the starter policy stops it before the body runs."""
    del path


@heso.payment
def charge_card(amount: int, currency: str) -> str:
    """Stand in for a card charge; the starter policy stops it before the body runs."""
    del amount, currency
    return "charged"


@dataclass(frozen=True)
class _Step:
    """One demo call and what the starter policy does with it."""

    call: Callable[[], object]
    verb: str
    tool_name: str
    expected: str  # the decision column: allow / allow, redacted / needs approval


_STEPS = (
    _Step(lambda: summarise("Receipts make agents auditable. More later."), "llm_call",
          "summarise", "allow"),
    _Step(lambda: search("heso receipts"), "tool_call", "search", "allow"),
    _Step(lambda: call_api("https://api.example.com/v1/status", api_key=DEMO_API_KEY),
          "tool_call", "call_api", "allow, redacted"),
    _Step(lambda: fetch("https://example.com/"), "http_request", "fetch", "allow"),
    _Step(lambda: delete_file("reports/old.csv"), "delete", "delete_file", "needs approval"),
    _Step(lambda: charge_card(5000, "usd"), "payment", "charge_card", "needs approval"),
)  # fmt: skip


@dataclass
class _Row:
    """One table line: what the gate decided for a step, with its receipt's details."""

    step: _Step
    decision: str
    rest: str = ""
    as_expected: bool = True


@click.command("demo")
@click.argument("directory", default=DEFAULT_DIRECTORY, type=click.Path(path_type=Path))
@command_flags(color=False)
def demo_command(*, directory: Path, project: Path | None, quiet: bool) -> int:
    """Gate six demo calls in DIRECTORY (default: ./heso-demo) and verify their receipts."""
    _refuse_strict_custody()
    base = (project or Path.cwd()).absolute()
    target = base / directory
    created = not (target / _config.POLICY_FILE).is_file()
    if created:
        # The same flow as `heso init DIR`, quietly: the demo's own lines say what happened.
        init_project(
            directory=directory,
            require_passphrase=False,
            passphrase_file=None,
            as_json=False,
            workdir=project,
            quiet=True,
        )
    # On later runs the project is reused as it is, so the line says "existing project": it
    # may have been created by an earlier demo or by `heso init`, and its heso.toml may differ.
    where = "created with the starter policy" if created else "existing project"
    status(f"demo project: {directory} ({where})", quiet=quiet)

    root = target.resolve()
    with _quiet_dev_passphrase_warning():
        try:
            # blocking=True: HESO_BLOCKING=0 (observe mode) would let every step run.
            heso.init(project_root=root, workflow=WORKFLOW, blocking=True)
        except heso.HesoError as failure:
            raise CommandFailed(str(failure), code="config") from None
    _, engine = _config.active()

    after_id = _last_demo_receipt_id(root)
    approvals: dict[str, heso.ApprovalRequired] = {}
    refused: dict[str, heso.BlockedError] = {}
    for step in _STEPS:
        try:
            step.call()
        except heso.ApprovalRequired as needs:
            approvals[step.tool_name] = needs
        except heso.BlockedError as blocked:
            refused[step.tool_name] = blocked
        except heso.HesoError as failure:
            raise CommandFailed(str(failure), code="engine") from None
    gates = _gate_receipts(root, after_id)
    rows = [_row(step, gates, approvals, refused) for step in _STEPS]
    for row in rows:
        click.echo(f"  {row.decision:<18}{row.step.verb:<14}{row.step.tool_name:<13}{row.rest}")

    verified = _verify_demo_chain(root)
    if verified is None or not all(row.as_expected for row in rows):
        error(POLICY_CHANGED)
        return 1
    status(
        f"verified {verified:,} receipts in 1 chain ({WORKFLOW}) against pinned operator key "
        f"{engine.fingerprint}: all Valid",
        quiet=quiet,
    )
    dash_c = f"-C {directory}"
    status(
        f"next: heso log {dash_c} | heso approvals list {dash_c} | heso verify {dash_c}",
        quiet=quiet,
    )
    return 0


def _refuse_strict_custody() -> None:
    """The demo signs with whatever key the project has: never with a production one."""
    if os.environ.get("HESO_ENV", "").lower() in ("production", "prod"):
        variable = "HESO_ENV"
    elif os.environ.get("HESO_REQUIRE_PASSPHRASE", "").lower() in _TRUE:
        variable = "HESO_REQUIRE_PASSPHRASE"
    else:
        return
    raise CommandFailed(f"heso demo is for development; unset {variable}", code="refused")


@contextlib.contextmanager
def _quiet_dev_passphrase_warning() -> Iterator[None]:
    """Drop the development-passphrase warning (a demo is development) and keep the others."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            yield
    finally:
        for line in captured.getvalue().splitlines(keepends=True):
            if not line.startswith("heso: warning: the operator key is unlocked with "):
                sys.stderr.write(line)


def _log(root: Path, *, limit: int | None, after_id: int | None) -> _core._LogOutput:
    output = _core.log(
        limit=limit,
        session=WORKFLOW,
        workflow=None,
        verb=None,
        decision=None,
        kind=None,
        since=None,
        json=True,
        after_id=after_id,
        widths=[],
        project_root=str(root),
        cwd=str(root),
    )
    if output["error"] is not None:
        raise CommandFailed(output["error"]["message"], code=output["error"]["code"])
    return output


def _last_demo_receipt_id(root: Path) -> int:
    """The store id of the demo session's newest receipt (0 when it has none yet)."""
    return _log(root, limit=1, after_id=None)["last_id"] or 0


def _gate_receipts(root: Path, after_id: int) -> dict[str, dict[str, Any]]:
    """The gate receipt of each demo tool this run wrote, by tool name.

    The steps run one after the other in one session, so each tool's first new receipt is its
    gate receipt; a result receipt follows it. A pending request reused from an earlier run
    writes nothing, so its tool has no entry.
    """
    gates: dict[str, dict[str, Any]] = {}
    for line in _log(root, limit=None, after_id=after_id)["data"].splitlines():
        receipt = json.loads(line)
        content = receipt["content"]
        gates.setdefault(content["action"]["tool_name"], receipt)
    return gates


def _row(
    step: _Step,
    gates: dict[str, dict[str, Any]],
    approvals: dict[str, heso.ApprovalRequired],
    refused: dict[str, heso.BlockedError],
) -> _Row:
    needs = approvals.get(step.tool_name)
    if needs is not None:
        rest = f"request {needs.request_id[:12]}  rule {needs.rule_id}"
        return _Row(step, "needs approval", rest, step.expected == "needs approval")
    blocked = refused.get(step.tool_name)
    if blocked is not None:
        rest = f"{blocked.action_hash[:12]}…  rule {blocked.rule_id}"
        return _Row(step, "block", rest, as_expected=False)
    receipt = gates.get(step.tool_name)
    if receipt is None:
        # The body ran but left no receipt: never what any policy says.
        return _Row(step, "allow", "no receipt", as_expected=False)
    content = receipt["content"]
    rest = f"{content['action_hash'][:12]}…  {content['trust_level']}"
    redacted = [marker["field_path"] for marker in content.get("redaction", {}).get("markers", [])]
    decision = "allow, redacted" if redacted else "allow"
    as_expected = decision == step.expected
    if redacted:
        rest += f"  {', '.join(redacted)} committed, not in the receipt"
        as_expected = as_expected and DEMO_API_KEY not in json.dumps(receipt)
    host = content["action"].get("target_host")
    if host is not None:
        rest += f"  host {host}"
    return _Row(step, decision, rest, as_expected)


def _verify_demo_chain(root: Path) -> int | None:
    """Verify the demo session alone, pinned to heso.toml; its receipt count, or None on failure.

    Only the `demo` chain is verified: the line claims "1 chain (demo)", and a project used for
    the demo may hold other sessions whose verdicts are `heso verify`'s business, not the demo's.
    The session is exported as stored and verified with the project's pinning, as
    `heso verify` would verify those bytes.
    """
    exported = _core.export(
        output=None, sessions=[WORKFLOW], per_session=None, project_root=str(root), cwd=str(root)
    )
    if exported["error"] is not None:
        raise CommandFailed(exported["error"]["message"], code=exported["error"]["code"])
    output = _core.verify(
        [exported["data"]],
        pubkeys=[],
        approver_pubkeys=[],
        no_pin=False,
        all=False,
        project_root=str(root),
    )
    if output["error"] is not None:
        raise CommandFailed(output["error"]["message"], code=output["error"]["code"])
    result = json.loads(output["result"] or "null")
    chains = result["chains"]
    pinned = result["pinning"]["enabled"] and result["pinning"]["operator"]["source"] == "heso.toml"
    if (
        output["exit_code"] != 0
        or not pinned
        or len(chains) != 1
        or chains[0]["session_id"] != WORKFLOW
        or chains[0]["verdict"] != "Valid"
    ):
        return None
    return int(result["summary"]["receipts"])
