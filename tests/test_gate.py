"""The rows of sdk.md §5.1 in enforce and observe-only mode, asserting the stored receipts
(issue 6). Approval rows that need an approver's signed decision (approved, rejected, revoked,
expired) are covered by the engine's tests (`engine/heso-store/src/engine/tests.rs`), which can
sign legs and move the clock.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import heso
from heso import _config

if TYPE_CHECKING:
    from conftest import GatedProject


ran: list[str] = []


@pytest.fixture(autouse=True)
def _reset_side_effects() -> None:
    ran.clear()


@heso.tool
def search(q: str, limit: int = 3) -> list[str]:
    ran.append("search")
    return [q] * limit


@heso.tool
def shell(cmd: str) -> str:
    ran.append("shell")
    return "done"


@heso.tool(redact=["user"])
def call_api(api_key: str, user: str, n: int) -> dict[str, int]:
    ran.append("call_api")
    return {"n": n}


@heso.destructive
def delete_file(path: str) -> None:
    ran.append("delete_file")


@heso.payment
def charge_card(amount: int, to: str) -> str:
    ran.append("charge_card")
    return "charged"


def content(receipt: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = receipt["content"]
    return value


def decisions(project: GatedProject) -> list[tuple[str, str]]:
    return [
        (content(r)["policy"]["decision_path"], content(r)["policy"]["rule_id"])
        for r in project.receipts()
    ]


def observe(project: GatedProject) -> None:
    heso.init(project_root=project.root, workflow="test", durability="normal", blocking=False)


# --- allow ----------------------------------------------------------------------------------


def test_allow_records_the_gate_then_the_result(gated_project: GatedProject) -> None:
    assert search("rust", limit=2) == ["rust", "rust"]
    assert ran == ["search"]
    gate, result = gated_project.receipts()
    assert content(gate)["action"] == {
        "verb": "tool_call",
        "tool_name": "search",
        "workflow": "test",
        "account": "default",
        "fields": {"q": "rust", "limit": 2},
    }
    assert content(gate)["policy"]["decision_path"] == "allow"
    assert content(gate)["trust_level"] == "L0"
    expected = heso._core.blake3_hex(heso._core.canonicalize(json.dumps(["rust", "rust"]).encode()))
    assert content(result)["action"]["result_hash"] == expected
    assert content(result)["seq"] == content(gate)["seq"] + 1
    assert content(result)["policy"] == content(gate)["policy"]


def test_a_raising_body_records_the_error_and_reraises(gated_project: GatedProject) -> None:
    @heso.tool
    def explode(x: int) -> None:
        raise ValueError(f"bad value {x}")

    with pytest.raises(ValueError, match="bad value 3"):
        explode(3)
    _, result = gated_project.receipts()
    assert content(result)["action"]["error"] == "builtins.ValueError: bad value 3"
    assert "result_hash" not in content(result)["action"]


# --- redact ---------------------------------------------------------------------------------


def test_redact_commits_the_fields_and_runs_the_body_with_the_originals(
    gated_project: GatedProject,
) -> None:
    assert call_api("sk-secret-1", "ada", 2) == {"n": 2}
    gate, result = gated_project.receipts()
    fields = content(gate)["action"]["fields"]
    # The rule redacts api_key, the decorator redacts user: both are committed.
    assert set(fields["api_key"]) == {"_sd"}
    assert set(fields["user"]) == {"_sd"}
    assert fields["n"] == 2
    assert content(gate)["policy"]["decision_path"] == "redact"
    assert content(gate)["redaction"]["mode"] == "commit_and_reveal"
    # The secret is in no receipt; its reveal material is kept in the store only.
    assert b"sk-secret-1" not in json.dumps(gated_project.all_receipts()).encode()
    assert gated_project.count("SELECT count(*) FROM reveals") == 2
    assert content(result)["redaction"] == content(gate)["redaction"]


def test_an_error_of_a_redacted_call_records_only_the_type(gated_project: GatedProject) -> None:
    @heso.tool(redact=["token"])
    def leaky(token: str) -> None:
        raise RuntimeError(f"token {token} refused")

    with pytest.raises(RuntimeError):
        leaky("tok-123")
    _, result = gated_project.receipts()
    assert content(result)["action"]["error"] == "builtins.RuntimeError"


def test_step_redaction_and_destructive_mode(gated_project: GatedProject) -> None:
    @heso.tool(redact=["a"], redact_mode="destructive")
    def both(a: str, b: str) -> None:
        pass

    with heso.step(redact=["b"]):
        both("x", "y")
    gate, _ = gated_project.receipts()
    assert content(gate)["action"]["fields"] == {"a": "[redacted]", "b": "[redacted]"}
    assert content(gate)["redaction"]["mode"] == "destructive"
    assert gated_project.count("SELECT count(*) FROM reveals") == 0


# --- block ----------------------------------------------------------------------------------


def test_block_records_and_raises_before_the_body(gated_project: GatedProject) -> None:
    with pytest.raises(heso.BlockedError) as caught:
        shell("rm -rf /")
    assert ran == []
    assert str(caught.value) == (
        "heso blocked `shell` (rule `shell.block`): When any agent calls a tool where "
        '$tool_name == "shell", then block.'
    )
    (gate,) = gated_project.receipts()
    assert content(gate)["policy"]["decision_path"] == "block"
    assert caught.value.action_hash == content(gate)["action_hash"]
    assert caught.value.rule_id == "shell.block"
    assert caught.value.verb == "tool_call"
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.action_hash, str(copy)) == (caught.value.action_hash, str(caught.value))


def test_observe_only_records_the_block_and_runs_the_body(gated_project: GatedProject) -> None:
    observe(gated_project)
    assert shell("ls") == "done"
    assert ran == ["shell"]
    assert decisions(gated_project) == [("block", "shell.block"), ("block", "shell.block")]
    assert "result_hash" in content(gated_project.receipts()[1])["action"]


def test_a_blocked_host_is_recorded_with_its_host(gated_project: GatedProject) -> None:
    @heso.tool
    def fetch(url: str) -> None:
        ran.append("fetch")

    with pytest.raises(heso.BlockedError):
        fetch("https://user:pw@EVIL.example:8443/x?token=1")
    (gate,) = gated_project.receipts()
    assert content(gate)["action"]["target_host"] == "evil.example"
    assert ran == []


# --- require_approval -----------------------------------------------------------------------


def test_require_approval_opens_a_request_then_reports_it_pending(
    gated_project: GatedProject,
) -> None:
    with pytest.raises(heso.ApprovalRequired) as first:
        delete_file("/srv/data")
    assert ran == []
    error = first.value
    assert len(error.request_id) == 64
    assert error.approvers == ("security-admin",)
    assert error.quorum == 1
    assert error.expires_at.tzinfo is not None
    assert str(error) == (
        f"heso needs approval for `delete_file` (request {error.request_id[:12]}, rule "
        "`delete.requires_approval`): no approver keys are registered for security-admin: run "
        "`heso approver init` and add the printed line to [approvers] in heso.toml"
    )
    (pending,) = gated_project.receipts()
    assert content(pending)["policy"]["decision_path"] == "require_approval"
    assert error.action_hash == content(pending)["action_hash"]
    # The same call again: the same request, nothing new recorded.
    with pytest.raises(heso.ApprovalRequired) as second:
        delete_file("/srv/data")
    assert second.value.request_id == error.request_id
    assert second.value.action_hash == ""
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.request_id, copy.expires_at, copy.approvers, str(copy)) == (
        error.request_id,
        error.expires_at,
        error.approvers,
        str(error),
    )
    assert len(gated_project.receipts()) == 1
    # Different arguments are a different request.
    with pytest.raises(heso.ApprovalRequired) as other:
        delete_file("/srv/other")
    assert other.value.request_id != error.request_id
    assert gated_project.count("SELECT count(*) FROM approvals") == 2
    assert ran == []


def test_observe_only_records_the_pending_shape_without_a_request(
    gated_project: GatedProject,
) -> None:
    observe(gated_project)
    assert charge_card(5000, "acme") == "charged"
    assert charge_card(5000, "acme") == "charged"
    assert ran == ["charge_card", "charge_card"]
    assert [d for d, _ in decisions(gated_project)] == ["require_approval"] * 4
    assert gated_project.count("SELECT count(*) FROM approvals") == 0


def test_a_small_payment_falls_to_the_floor(gated_project: GatedProject) -> None:
    # The starter has no rule allowing small payments: unmatched dangerous verbs need approval.
    with pytest.raises(heso.ApprovalRequired) as caught:
        charge_card(5, "acme")
    assert caught.value.rule_id == "policy.floor.unmatched"


# --- broken policy --------------------------------------------------------------------------


def test_a_broken_policy_blocks_with_policy_error_until_fixed(
    gated_project: GatedProject, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = gated_project.root / "heso.toml"
    good = policy.read_bytes()
    policy.write_text("[[rule]]\nid = \n", encoding="utf-8")
    with pytest.raises(heso.PolicyParseError) as caught:
        search("x")
    with pytest.raises(heso.PolicyParseError):
        search("y")
    assert ran == []
    assert caught.value.line == 2
    assert decisions(gated_project) == [("block", "policy.error")] * 2
    warnings = [line for line in capsys.readouterr().err.splitlines() if "heso.toml" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("heso: warning: heso.toml:2:")
    assert warnings[0].endswith("every gated call is blocked until the file loads")
    policy.write_bytes(good + b"\n")
    assert search("z") == ["z", "z", "z"]


def test_observe_only_runs_the_body_under_a_broken_policy(gated_project: GatedProject) -> None:
    observe(gated_project)
    (gated_project.root / "heso.toml").write_text("nonsense", encoding="utf-8")
    assert search("x", limit=1) == ["x"]
    assert decisions(gated_project) == [("block", "policy.error")] * 2


# --- process / record_result -----------------------------------------------------------------


def test_process_never_raises_for_a_decision(gated_project: GatedProject) -> None:
    blocked = heso.process(heso.Action(verb="tool_call", tool_name="shell", fields={"cmd": "x"}))
    assert blocked.decision is heso.Decision.BLOCK
    assert not blocked.allowed
    assert blocked.enforced
    assert blocked.receipt is not None
    assert blocked.receipt["content"]["action_hash"] == blocked.action_hash
    with pytest.raises(heso.SessionError):
        heso.record_result(blocked, "nope")
    pending = heso.process(heso.Action(verb="delete", tool_name="rm", fields={"path": "/x"}))
    assert pending.decision is heso.Decision.REQUIRE_APPROVAL
    assert pending.approval is not None
    assert pending.approval.state == "pending"
    assert not pending.allowed
    allowed = heso.process(
        heso.Action(verb=heso.Verb.TOOL_CALL, tool_name="lookup", fields={"id": 7})
    )
    assert allowed.allowed
    result_hash = heso.record_result(allowed, {"found": True})
    assert len(result_hash) == 64
    with pytest.raises(heso.SessionError, match="already recorded"):
        heso.record_result(allowed, {"found": True})
    stored = gated_project.receipts()
    assert content(stored[-1])["action_hash"] == result_hash


def test_process_records_errors_given_as_text_or_exception(gated_project: GatedProject) -> None:
    first = heso.process(heso.Action(verb="tool_call", tool_name="a"))
    heso.record_result(first, error="remote said no")
    second = heso.process(heso.Action(verb="tool_call", tool_name="b"))
    heso.record_result(second, error=KeyError("k"))
    results = [content(r)["action"] for r in gated_project.receipts()[1::2]]
    assert [r["error"] for r in results] == ["remote said no", "builtins.KeyError: 'k'"]


def test_process_takes_workflow_and_account_from_the_action_then_the_step(
    gated_project: GatedProject,
) -> None:
    with heso.step(workflow="billing", account="acme"):
        heso.process(heso.Action(verb="tool_call", tool_name="a"))
        heso.process(heso.Action(verb="tool_call", tool_name="b", account="other"))
    (first, second) = gated_project.receipts("billing")
    assert (content(first)["action"]["account"], content(second)["action"]["account"]) == (
        "acme",
        "other",
    )
    assert content(first)["session_id"] == "billing"


def test_unknown_verbs_are_value_errors(gated_project: GatedProject) -> None:
    with pytest.raises(ValueError, match="unknown verb `payments`"):
        heso.process(heso.Action(verb="payments", tool_name="x"))


# --- lifecycle ------------------------------------------------------------------------------


def test_a_gated_call_before_init_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_config, "_state", _config._State())
    with pytest.raises(heso.ConfigError) as caught:
        search("x")
    assert str(caught.value) == (
        "heso is not initialised; call heso.init() or import heso_bootstrap first"
    )
    assert ran == []


def test_shutdown_closes_the_engine(gated_project: GatedProject) -> None:
    heso.shutdown()
    assert heso.current_config() is None
    with pytest.raises(heso.ConfigError):
        search("x")


def test_every_minted_receipt_verifies_pinned_and_independently(
    gated_project: GatedProject, tmp_path: Path
) -> None:
    search("a")
    call_api("k", "u", 1)
    with pytest.raises(heso.BlockedError):
        shell("x")
    with pytest.raises(heso.ApprovalRequired):
        delete_file("/x")
    report = heso.verify()
    assert report.ok
    assert report.pinning["enabled"] is True
    assert report.pinning["operator"]["keys"][0]["public_key"] == gated_project.engine_public_key
    assert report.summary["receipts"] == 6
    receipts = tmp_path / "receipts.json"
    receipts.write_text(json.dumps(gated_project.all_receipts()), encoding="utf-8")
    checker = Path(__file__).resolve().parents[1] / "scripts" / "independent_check.py"
    if not checker.is_file():
        pytest.skip("scripts/independent_check.py is not next to the tests")
    operator = gated_project.engine_public_key
    completed = subprocess.run(
        [sys.executable, str(checker), "--pubkey", operator, str(receipts)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_a_lone_surrogate_is_refused_before_anything_runs(gated_project: GatedProject) -> None:
    with pytest.raises(ValueError, match=r"lone surrogate `\\udc80`"):
        search("bad \udc80")
    assert ran == []
    assert gated_project.receipts() == []
