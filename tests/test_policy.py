"""Policy (issue 4): the shared vector corpus through ``heso._core``, the ``Policy`` binding and its
errors, and ``policy check | test | explain`` from both programs as real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import heso
from heso import _core

if TYPE_CHECKING:
    from conftest import Cli, StoreProject

POLICY_VECTORS = Path(__file__).parent / "vectors" / "policy"
STARTER_TESTS = Path(__file__).parent / "policy" / "starter.tests.toml"
# Keys of a vector's `expect` that live inside the evaluation's `approval` object.
APPROVAL_TERMS = ("approvers", "roster", "quorum", "sla_minutes", "on_timeout")
UNORDERED = ("approvers", "redact")
TINY = (
    'default_decision = "block"\n[[rule]]\nid = "a"\norder = 1\nverb = "tool_call"\n'
    'decision = "allow"\n'
)


def _vector_cases() -> list[Any]:
    cases = []
    for path in sorted(POLICY_VECTORS.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            cases.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return cases


def _policy_text(policy: str | list[str]) -> str:
    return policy if isinstance(policy, str) else "".join(line + "\n" for line in policy)


def _issue_dict(issue: heso.PolicyIssue, keys: dict[str, Any]) -> dict[str, Any]:
    return {key: getattr(issue, key) for key in keys}


def _comparable(key: str, value: Any) -> Any:
    return sorted(value) if key in UNORDERED and isinstance(value, list) else value


def test_the_corpus_is_there() -> None:
    assert len(_vector_cases()) > 100


@pytest.mark.parametrize("case", _vector_cases())
def test_policy_vector(case: dict[str, Any]) -> None:
    """Each case of tests/vectors/policy (the same files `cargo test` runs) through `_core`."""
    if "known_failure" in case:
        pytest.skip(f"known failure: {case['known_failure']}")
    text = _policy_text(case["policy"]).encode()
    path = case.get("path", "heso.toml")
    if "errors" in case:
        with pytest.raises(heso.PolicyError) as raised:
            _core.Policy.load(text, path)
        issues = raised.value.issues
        assert len(issues) == len(case["errors"]), [str(issue) for issue in issues]
        found = [_issue_dict(i, e) for i, e in zip(issues, case["errors"], strict=True)]
        assert found == case["errors"]
        return
    policy = _core.Policy.load(text, path)
    if "warnings" in case:
        warnings = policy.warnings
        assert len(warnings) == len(case["warnings"]), [str(warning) for warning in warnings]
        found = [_issue_dict(w, e) for w, e in zip(warnings, case["warnings"], strict=True)]
        assert found == case["warnings"]
    for step in case.get("actions", []):
        evaluation = json.loads(policy.evaluate(json.dumps(step["action"])))
        for key, expected in step["expect"].items():
            actual = (
                (evaluation["approval"] or {}).get(key)
                if key in APPROVAL_TERMS
                else evaluation[key]
            )
            assert _comparable(key, actual) == _comparable(key, expected), (step.get("note"), key)


def test_parse_errors_carry_every_issue_and_pickle() -> None:
    text = b"version = 2\n[[rules]]\n"
    with pytest.raises(heso.PolicyParseError) as raised:
        _core.Policy.load(text)
    error = raised.value
    assert (
        str(error)
        == "heso.toml:1:11: unsupported version 2; this heso reads version 1 (and 1 more)"
    )
    assert (error.line, error.column, error.code) == (1, 11, "bad-value")
    assert error.path == Path("heso.toml")
    assert [issue.code for issue in error.issues] == ["bad-value", "unknown-key"]
    assert (
        str(error.issues[1]) == "heso.toml:2:1: unknown table `rules`; rules are written [[rule]]"
    )
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), str(again), again.issues, again.code) == (
        heso.PolicyParseError,
        str(error),
        error.issues,
        "bad-value",
    )


def test_floor_errors_name_the_rule_and_verb() -> None:
    text = b'[[rule]]\nid = "cleanup"\norder = 1\nverb = "delete"\ndecision = "allow"\n'
    with pytest.raises(heso.PolicyFloorError) as raised:
        _core.Policy.load(text)
    assert (raised.value.rule_id, raised.value.verb) == ("cleanup", "delete")
    assert str(raised.value).startswith(
        "heso.toml:1:1: rule `cleanup` allows `delete` with no narrowing"
    )
    assert isinstance(raised.value, heso.PolicyError)


def test_evaluate_rejects_bad_actions_in_one_line() -> None:
    policy = _core.Policy.load(TINY.encode())
    assert policy.policy_hash == _core.blake3_hex(TINY.encode())
    with pytest.raises(ValueError, match=r"^unknown verb `any`; expected one of llm_call"):
        policy.evaluate('{"verb": "any"}')
    with pytest.raises(ValueError, match=r"^action is not JSON"):
        policy.evaluate("{")


# --- the command-line programs ----------------------------------------------------------------


@pytest.fixture
def project(cli: Cli) -> Path:
    """A fresh project made by `heso-compliance init`: the starter policy and an operator key."""
    assert cli.engine("init", "p").returncode == 0
    return cli.cwd / "p"


def _json(ran: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ran.stdout)
    return document


@pytest.mark.parametrize("program", ["heso", "heso-compliance"])
def test_check_on_the_starter_prints_its_one_warning(cli: Cli, project: Path, program: str) -> None:
    ran = cli.run(program, "policy", "check", cwd=project)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("warning: heso.toml:28:1: `security-admin` has no keys yet")
    assert len(lines) == 2
    policy_hash = _core.blake3_hex((project / "heso.toml").read_bytes())
    assert lines[1] == (
        "ok: heso.toml (5 rules, 1 approver name, 1 operator key pinned) "
        f"policy_hash {policy_hash[:12]}…"
    )
    assert ran.stderr == ""
    denied = cli.run(program, "policy", "check", "--deny-warnings", cwd=project)
    assert denied.returncode == 1
    assert (
        denied.stdout.splitlines()[-1] == "fail: heso.toml has 1 warning and --deny-warnings is set"
    )


def test_both_programs_give_the_same_check_and_test_json(cli: Cli, project: Path) -> None:
    shutil.copy(STARTER_TESTS, project / "heso.tests.toml")
    for command in (["policy", "check"], ["policy", "test", "--require-coverage"]):
        ours = cli.heso(*command, "--json", cwd=project)
        theirs = cli.engine(*command, "--json", cwd=project)
        assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
        mine, engine = _json(ours), _json(theirs)
        assert mine["result"] == engine["result"]
        assert (mine["tool"], engine["tool"]) == ("heso", "heso-compliance")
        assert mine["command"] == engine["command"] == " ".join(command[:2])
    result = _json(cli.engine("policy", "check", "--json", cwd=project))["result"]
    assert result["rules"] == result["enabled_rules"] == 5
    assert result["approver_names"] == ["security-admin"]
    assert [w["code"] for w in result["warnings"]] == ["approver-without-keys"]
    tested = _json(cli.heso("policy", "test", "--json", cwd=project))["result"]
    assert (tested["passed"], tested["failed"], tested["uncovered_rules"]) == (14, 0, [])


@pytest.mark.parametrize("program", ["heso", "heso-compliance"])
def test_policy_test_on_the_starter_passes_with_coverage(
    cli: Cli, project: Path, program: str
) -> None:
    """policy.md §13: the starter's behaviour, as shipped test cases."""
    shutil.copy(STARTER_TESTS, project / "heso.tests.toml")
    ran = cli.run(program, "policy", "test", "--require-coverage", cwd=project)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "PASS model calls are allowed"
    assert lines[-1] == "14 passed, 0 failed"


@pytest.mark.parametrize("program", ["heso", "heso-compliance"])
def test_exit_codes_of_policy_commands(cli: Cli, project: Path, program: str) -> None:
    """cli.md §1.1 for `policy check` and `policy test`: 0, 1 and 2, one error line on stderr."""
    failing = '[[test]]\nname = "deletes run"\naction = { verb = "delete" }\nexpect = "allow"\n'
    (project / "heso.tests.toml").write_text(failing)
    ran = cli.run(program, "policy", "test", cwd=project)
    assert ran.returncode == 1
    assert ran.stdout.splitlines()[0] == (
        "FAIL deletes run: expected allow, got require_approval (rule `delete.requires_approval`)"
    )
    assert cli.run(program, "policy", "test", "--require-coverage", cwd=project).returncode == 1

    (project / "heso.tests.toml").write_text("[[tests]]\n")
    malformed = cli.run(program, "policy", "test", cwd=project)
    assert malformed.returncode == 2
    assert malformed.stdout.startswith("heso.tests.toml:1:1: unknown table `tests`")
    assert len(malformed.stderr_lines) == 1
    assert malformed.stderr_lines[0].startswith(f"{program}: error: the policy tests have 1 error")

    (project / "heso.tests.toml").unlink()
    none = cli.run(program, "policy", "test", cwd=project)
    assert none.returncode == 2
    assert none.stderr_lines == [
        f"{program}: error: no policy tests found; add [[test]] tables to heso.tests.toml "
        "beside heso.toml (policy.md §11)"
    ]

    (project / "heso.toml").write_text("version = 2\n[[rule]]\n")
    broken = cli.run(program, "policy", "check", cwd=project)
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[0] == (
        "heso.toml:1:11: unsupported version 2; this heso reads version 1"
    )
    assert broken.stdout.splitlines()[-1].startswith("fail: heso.toml has ")
    assert cli.run(program, "policy", "test", cwd=project).returncode == 1

    missing = cli.run(program, "policy", "check", "nope.toml", cwd=project)
    assert missing.returncode == 2
    assert missing.stderr_lines == [
        f"{program}: error: nope.toml not found; run `heso init` to create a starter policy, "
        "or pass the policy's path"
    ]
    nowhere = cli.run(program, "policy", "check", "--json", cwd=cli.cwd)
    assert nowhere.returncode == 2
    assert len(nowhere.stderr_lines) == 1
    assert _json(nowhere)["error"]["code"] == "no-project"


EXPLAIN_EXAMPLE = """\
action: payment charge_card (workflow default, account default, no host)
  10  llm.allow                        skip: verb is llm_call
  20  tool.allow                       skip: verb is tool_call
  30  http.allow                       skip: verb is http_request
  40  delete.requires_approval         skip: verb is delete
  50  payment.large.requires_approval  skip: condition amount > 1000 is false (amount = 500)
no rule matched; payments are a floored verb
decision: require_approval by policy.floor.unmatched
  When no rule matches and the agent makes a payment, then require approval from any registered \
approver within 1440m.
  approvers: security-admin (no keys registered yet); quorum 1; deadline 1440m; on timeout deny
"""


def test_explain_reproduces_the_cli_example(cli: Cli, project: Path) -> None:
    """cli.md §2.10, byte for byte, on the starter policy."""
    ran = cli.heso(
        "policy",
        "explain",
        "--verb",
        "payment",
        "--tool",
        "charge_card",
        "--field",
        "amount=500",
        cwd=project,
    )
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout == EXPLAIN_EXAMPLE


def test_explain_json_agrees_with_evaluation(cli: Cli, project: Path) -> None:
    fields = {"amount": "1000.01", "card": {"last4": "4242"}}
    ran = cli.heso(
        "policy",
        "explain",
        "--verb",
        "payment",
        "--fields-json",
        json.dumps(fields),
        "--field",
        "card.brand=visa",
        "--host",
        "API.Stripe.com.",
        "--json",
        cwd=project,
    )
    assert ran.returncode == 0, ran.stderr
    result = _json(ran)["result"]
    action = result["action"]
    assert action["fields"] == {"amount": "1000.01", "card": {"last4": "4242", "brand": "visa"}}
    assert action["target_host"] == "api.stripe.com"
    policy = _core.Policy.load((project / "heso.toml").read_bytes())
    evaluation = json.loads(policy.evaluate(json.dumps(action)))
    assert result["rule_id"] == evaluation["rule_id"] == "payment.large.requires_approval"
    assert result["decision"] == "require_approval"
    assert result["rule_display"] == evaluation["rule_display"]
    assert result["approval"]["approvers"] == ["security-admin"]
    assert [(rule["id"], rule["result"]) for rule in result["rules"]][-1] == (
        "payment.large.requires_approval",
        "match",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--verb", "pay"], "unknown verb `pay`; expected one of llm_call, tool_call"),
        (["--verb", "delete", "--field", "amount"], "--field `amount` is not PATH=VALUE"),
        (["--verb", "delete", "--fields-json", "[1]"], "--fields-json must be a JSON object"),
        (["--verb", "delete", "--host", "https://x.com/a"], "target_host `https://x.com/a` is"),
    ],
)
def test_explain_input_errors_are_one_line(
    cli: Cli, project: Path, args: list[str], message: str
) -> None:
    ran = cli.heso("policy", "explain", *args, cwd=project)
    assert ran.returncode == 2
    assert len(ran.stderr_lines) == 1
    assert ran.stderr_lines[0].startswith(f"heso: error: {message}"), ran.stderr


# --- explain --receipt (cli.md §2.10) ------------------------------------------------------

FIXTURE_SECRET = "sk-live-FIXTURE"  # the committed `api_key` of fill_store's redacted receipt


def test_explain_receipt_uses_local_reveal_material_and_never_prints_it(
    cli: Cli, store_project: StoreProject
) -> None:
    redacted: str = store_project.facts["redacted"]
    ran = cli.heso("policy", "explain", "--receipt", redacted[:10], cwd=store_project.root)
    assert (ran.returncode, ran.stderr) == (0, "")
    lines = ran.stdout.splitlines()
    assert (
        lines[0]
        == "action: data_export export_users (workflow demo, account acct-fixture, no host)"
    )
    assert lines[1] == (
        f"receipt: {redacted[:12]}… (decided redact by data_export.redact when it was recorded)"
    )
    assert (
        "note: `api_key` is redacted in the receipt; its value was taken from the reveal material "
        "stored here and is not shown"
    ) in lines
    assert FIXTURE_SECRET not in ran.stdout
    ran = cli.heso("policy", "explain", "--receipt", redacted, "--json", cwd=store_project.root)
    assert ran.returncode == 0, ran.stderr
    assert FIXTURE_SECRET not in ran.stdout
    result = _json(ran)["result"]
    assert result["receipt"] == {
        "action_hash": redacted,
        "recorded_decision": "redact",
        "recorded_rule_id": "data_export.redact",
    }
    assert (result["revealed"], result["redacted_unrevealed"]) == (["api_key"], [])
    assert result["action"]["fields"]["table"] == "users"
    assert set(result["action"]["fields"]["api_key"]) == {"_sd"}


def test_explain_receipt_without_reveal_material_explains_the_field_as_missing(
    cli: Cli, store_project: StoreProject
) -> None:
    with contextlib.closing(sqlite3.connect(store_project.db)) as conn, conn:
        conn.execute("DELETE FROM reveals")
    redacted: str = store_project.facts["redacted"]
    ran = cli.heso("policy", "explain", "--receipt", redacted[:8], "--json", cwd=store_project.root)
    assert ran.returncode == 0, ran.stderr
    result = _json(ran)["result"]
    assert (result["revealed"], result["redacted_unrevealed"]) == ([], ["api_key"])
    assert result["action"]["fields"] == {"table": "users"}
    ran = cli.heso("policy", "explain", "--receipt", redacted[:8], cwd=store_project.root)
    assert (
        "note: `api_key` is redacted in the receipt and no reveal material is stored here, so it "
        "was explained as missing"
    ) in ran.stdout.splitlines()


def test_explain_receipt_plain_receipt_matches_the_action_given_by_options(
    cli: Cli, store_project: StoreProject
) -> None:
    stored = json.loads(
        cli.heso("show", store_project.facts["demo"][0], cwd=store_project.root).stdout
    )
    action = stored["content"]["action"]
    by_receipt = cli.heso(
        "policy",
        "explain",
        "--receipt",
        stored["content"]["action_hash"],
        "--json",
        cwd=store_project.root,
    )
    by_hand = cli.heso(
        "policy",
        "explain",
        "--verb",
        action["verb"],
        "--tool",
        action["tool_name"],
        "--workflow",
        action["workflow"],
        "--account",
        action["account"],
        "--fields-json",
        json.dumps(action["fields"]),
        "--json",
        cwd=store_project.root,
    )
    with_receipt = _json(by_receipt)["result"]
    for key in ("receipt", "redacted_unrevealed", "revealed"):
        del with_receipt[key]
    assert with_receipt == _json(by_hand)["result"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--receipt", "abcdef", "--verb", "payment"], "--receipt explains the stored receipt's"),
        (["--receipt", "abcdef", "--field", "a=1"], "--receipt explains the stored receipt's"),
        ([], "policy explain needs --verb V"),
        (["--receipt", "0" * 64], f"no receipt `{'0' * 64}` in the store; list the receipts"),
        (["--receipt", "xyz"], "`xyz` is not a receipt hash prefix"),
    ],
)
def test_explain_receipt_input_errors_are_one_line(
    cli: Cli, store_project: StoreProject, args: list[str], message: str
) -> None:
    ran = cli.heso("policy", "explain", *args, cwd=store_project.root)
    assert ran.returncode == 2
    assert len(ran.stderr_lines) == 1
    assert ran.stderr_lines[0].startswith(f"heso: error: {message}"), ran.stderr


def test_explain_receipt_ambiguous_and_storeless(
    cli: Cli, store_project: StoreProject, project: Path
) -> None:
    prefix: str = store_project.facts["ambiguous_prefix"]
    ran = cli.heso("policy", "explain", "--receipt", prefix, cwd=store_project.root)
    assert ran.returncode == 2
    assert ran.stderr_lines == [
        f"heso: error: receipt hash `{prefix}` is ambiguous: it matches "
        + ", ".join(f"`{h[:12]}…`" for h in sorted(store_project.facts["ambiguous_hashes"]))
        + "; give more characters"
    ]
    ran = cli.heso("policy", "explain", "--receipt", prefix, "--json", cwd=project)
    assert ran.returncode == 2
    assert _json(ran)["error"]["code"] == "not-found"
    assert ran.stderr_lines[0].startswith("heso: error: no audit store at ")


# --- reload (policy.md §9, §14 item 4) -------------------------------------------------------

ALLOW_TOOLS = TINY
BLOCK_TOOLS = TINY.replace('decision = "allow"', 'decision = "block"')
TOOL_CALL = json.dumps({"verb": "tool_call"})


def _decision(watched: _core.PolicyFile) -> str:
    decision: str = json.loads(watched.evaluate(TOOL_CALL))["decision"]
    return decision


def test_reload_sees_edits_fails_closed_and_recovers(tmp_path: Path) -> None:
    policy = tmp_path / "heso.toml"
    policy.write_text(ALLOW_TOOLS)
    watched = _core.PolicyFile(policy)
    assert _decision(watched) == "allow"
    assert _decision(watched) == "allow"
    assert watched.parse_count == 1, "an unchanged file is never parsed again"

    policy.write_text(ALLOW_TOOLS + "scoep = 1\n")
    with pytest.raises(heso.PolicyParseError) as broken:
        _decision(watched)
    assert broken.value.code == "unknown-key"
    assert str(broken.value) == (
        "heso.toml:7:1: unknown key `scoep` in rule `a` (did you mean `scope`?)"
    )
    assert broken.value.path == policy
    warning = watched.take_warning()
    assert warning is not None
    assert warning.endswith("; every gated call is blocked until the file loads")
    with pytest.raises(heso.PolicyParseError):
        _decision(watched)
    assert watched.take_warning() is None, "each distinct error is reported once"

    policy.write_text(BLOCK_TOOLS)
    assert _decision(watched) == "block"

    policy.write_text('[[rule]]\nid = "x"\norder = 1\nverb = "delete"\ndecision = "allow"\n')
    with pytest.raises(heso.PolicyFloorError) as floor:
        _decision(watched)
    assert (floor.value.rule_id, floor.value.verb) == ("x", "delete")

    policy.unlink()
    with pytest.raises(heso.PolicyParseError, match="was removed"):
        _decision(watched)
    policy.write_text(ALLOW_TOOLS)
    assert _decision(watched) == "allow"


def test_two_quick_edits_of_equal_size_are_both_seen(tmp_path: Path) -> None:
    """The racily-clean case: same size and the very same mtime, as within one clock tick."""
    policy = tmp_path / "heso.toml"
    policy.write_text(ALLOW_TOOLS)
    assert len(ALLOW_TOOLS) == len(BLOCK_TOOLS)
    tick = policy.stat().st_mtime_ns
    watched = _core.PolicyFile(policy)
    assert _decision(watched) == "allow"
    for text, expected in ((BLOCK_TOOLS, "block"), (ALLOW_TOOLS, "allow")):
        policy.write_text(text)
        os.utime(policy, ns=(tick, tick))
        assert _decision(watched) == expected


@pytest.mark.parametrize("program", ["heso", "heso-compliance"])
def test_global_flags_work_before_and_after_the_command(
    cli: Cli, project: Path, program: str
) -> None:
    """cli.md §1.3: `-C`, `-q` and `--color` before the command or after the subcommand."""
    before = cli.run(program, "-C", "p", "-q", "--color", "never", "policy", "check", "--json")
    after = cli.run(program, "policy", "check", "--json", "-C", "p", "-q", "--color", "never")
    assert before.returncode == after.returncode == 0, (before.stderr, after.stderr)
    assert _json(before)["result"] == _json(after)["result"]
    envelope = _json(before)
    assert envelope["warnings"] == [
        f"heso.toml:28:1: {warning['message']}" for warning in envelope["result"]["warnings"]
    ]
