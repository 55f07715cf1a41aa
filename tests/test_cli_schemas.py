"""Every `--json` document of both programs against the JSON Schemas (cli.md §1.4, §4).

The schemas live in `engine/heso-compliance/schemas/`: one for the `heso-cli/1` envelope and one
per command `result`. Each document here comes from a real run of the installed programs.
"""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from jsonschema import Draft202012Validator

if TYPE_CHECKING:
    from conftest import Cli, Ran, StoreProject

SCHEMAS = Path(__file__).resolve().parents[1] / "engine" / "heso-compliance" / "schemas"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILES = (
    "envelope.schema.json",
    "init.schema.json",
    "keys-show.schema.json",
    "policy-check.schema.json",
    "policy-explain.schema.json",
    "policy-test.schema.json",
    "verify.schema.json",
    "version-heso.schema.json",
    "version-heso-compliance.schema.json",
)
PROGRAMS = ("heso", "heso-compliance")


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def schema_errors(name: str, instance: Any) -> list[str]:
    """Every way `instance` breaks the schema `name`, one line each (empty when it conforms)."""
    return sorted(
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator(name).iter_errors(instance)
    )


def checked_document(ran: Ran, program: str, command: str, result_schema: str) -> dict[str, Any]:
    """The one JSON document `ran` printed, after checking it against both of its schemas."""
    document: dict[str, Any] = json.loads(ran.stdout)
    assert schema_errors("envelope.schema.json", document) == [], ran.stdout
    assert (document["tool"], document["command"]) == (program, command)
    assert document["exit_code"] == ran.returncode, ran.stderr
    if document["result"] is not None:
        assert schema_errors(result_schema, document["result"]) == [], ran.stdout
    return document


def test_every_schema_file_is_a_draft_2020_12_schema() -> None:
    present = sorted(path.name for path in SCHEMAS.iterdir() if path.is_file())
    assert set(SCHEMA_FILES) <= set(present)
    for name in present:
        schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
        assert schema["$schema"] == DRAFT_2020_12, name
        Draft202012Validator.check_schema(schema)


# ---- init ----


@pytest.mark.parametrize("program", PROGRAMS)
def test_init_documents(cli: Cli, tmp_path: Path, program: str) -> None:
    first = cli.run(program, "init", "proj", "--json")
    assert first.returncode == 0, first.stderr
    result = checked_document(first, program, "init", "init.schema.json")["result"]
    expected_steps = ["gitignore", "passphrase", "key", "policy"]
    if program == "heso":
        expected_steps.append("bootstrap")
    assert [step["step"] for step in result["steps"]] == expected_steps
    assert {step["action"] for step in result["steps"]} == {"created"}
    assert result["created_dir"] is True
    assert result["operator"]["pinned"] is True
    assert Path(result["project_root"]) == (tmp_path / "proj").resolve()

    again = cli.run(program, "init", "proj", "--json")
    assert again.returncode == 0, again.stderr
    rerun = checked_document(again, program, "init", "init.schema.json")["result"]
    assert {step["action"] for step in rerun["steps"]} == {"kept"}
    assert rerun["created_dir"] is False
    assert rerun["operator"] == result["operator"]


@pytest.mark.parametrize("program", PROGRAMS)
def test_init_strict_refusal_document(cli: Cli, tmp_path: Path, program: str) -> None:
    ran = cli.run(program, "init", "strict", "--json", env={"HESO_ENV": "production"})
    assert ran.returncode == 2
    document = checked_document(ran, program, "init", "init.schema.json")
    assert document["result"] is None
    assert document["error"]["code"] == "refused"
    assert ran.stderr_lines == [f"{program}: error: {document['error']['message']}"]
    assert not (tmp_path / "strict").exists()


# ---- verify ----


@dataclass(frozen=True)
class VerifyCase:
    """A `verify --json` run over the heso 0.5.1 corpus and what it must report."""

    name: str
    args: tuple[str, ...]  # `{corpus}` stands for the corpus directory
    exit_code: int
    verdicts: frozenset[str]  # verdicts that must appear among the chains and receipts


VERIFY_CASES = (
    VerifyCase(
        "pinned-valid-chain",
        (
            "--pubkey",
            "@{corpus}/tool-chain/operator.pub",
            "{corpus}/tool-chain/session.jsonl",
        ),
        0,
        frozenset({"Valid"}),
    ),
    VerifyCase(
        "unpinned-l1-receipt", ("--no-pin", "{corpus}/l1/receipt.json"), 0, frozenset({"Valid"})
    ),
    VerifyCase(
        "lifecycle-all", ("--no-pin", "--all", "{corpus}/lifecycle"), 0, frozenset({"Valid"})
    ),
    VerifyCase(
        "tampered",
        ("--no-pin", "--all", "{corpus}/tampered"),
        1,
        frozenset(
            {
                "ContentTamper",
                "HashMismatch",
                "InvalidSignature",
                "Malformed",
                "MalformedRedaction",
                "TrustLevelMismatch",
                "Unsupported",
                "WrongAlgorithm",
            }
        ),
    ),
    VerifyCase(
        "reordered-chain",
        ("--no-pin", "{corpus}/tampered/chain-swapped-lines.jsonl"),
        1,
        frozenset({"LinkBroken"}),
    ),
    VerifyCase(
        "untrusted-signers",
        ("--all", "--pubkey", "@{corpus}/demo/operator.pub", "{corpus}"),
        1,
        frozenset({"Valid", "UntrustedSigner"}),
    ),
)


@pytest.mark.parametrize("case", VERIFY_CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("program", PROGRAMS)
def test_verify_documents(cli: Cli, vectors_dir: Path, program: str, case: VerifyCase) -> None:
    corpus = str(vectors_dir / "heso-0.5.1")
    ran = cli.run(program, "verify", "--json", *(arg.format(corpus=corpus) for arg in case.args))
    assert ran.returncode == case.exit_code, ran.stderr
    result = checked_document(ran, program, "verify", "verify.schema.json")["result"]
    seen = {chain["verdict"] for chain in result["chains"]}
    seen |= {receipt["verdict"] for receipt in result["receipts"]}
    assert case.verdicts <= seen, seen
    assert result["summary"]["receipts"] > 0


@pytest.mark.parametrize("program", PROGRAMS)
def test_verify_without_project_or_key_warns_in_the_document(
    cli: Cli, vectors_dir: Path, program: str
) -> None:
    ran = cli.run(program, "verify", "--json", str(vectors_dir / "heso-0.5.1" / "demo"))
    assert ran.returncode == 0, ran.stderr
    document = checked_document(ran, program, "verify", "verify.schema.json")
    assert document["warnings"] == [
        "no project and no --pubkey: signatures are checked, but not who made them"
    ]
    assert document["result"]["pinning"]["enabled"] is False
    assert document["result"]["pinning"]["reason"] == "no project and no --pubkey"


@pytest.mark.parametrize("program", PROGRAMS)
def test_verify_empty_input_document(cli: Cli, tmp_path: Path, program: str) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    ran = cli.run(program, "verify", "--json", "--no-pin", "empty.jsonl")
    assert ran.returncode == 1
    result = checked_document(ran, program, "verify", "verify.schema.json")["result"]
    assert result["summary"]["receipts"] == 0


@pytest.mark.parametrize("program", PROGRAMS)
def test_verify_missing_file_document(cli: Cli, program: str) -> None:
    ran = cli.run(program, "verify", "--json", "nope.json")
    assert ran.returncode == 2
    document = checked_document(ran, program, "verify", "verify.schema.json")
    assert document["result"] is None
    assert document["error"] == {
        "code": "not-found",
        "message": "no such file and not a receipt hash: `nope.json`",
    }


# ---- version ----


def test_heso_version_document(cli: Cli) -> None:
    ran = cli.heso("version", "--json")
    assert ran.returncode == 0, ran.stderr
    result = checked_document(ran, "heso", "version", "version-heso.schema.json")["result"]
    assert result["compliance"] is not None
    assert result["compliance"]["version"] == result["heso"] == result["core"]


def test_heso_compliance_version_document(cli: Cli) -> None:
    ran = cli.engine("version", "--json")
    assert ran.returncode == 0, ran.stderr
    document = checked_document(
        ran, "heso-compliance", "version", "version-heso-compliance.schema.json"
    )
    version = document["result"]["version"]
    assert cli.engine("--version").stdout == f"heso-compliance {version}\n"


# ---- policy check, test and explain ----

STARTER_TESTS = Path(__file__).resolve().parent / "policy" / "starter.tests.toml"
# Loads with two errors: an unsupported version, and `[[rules]]` for `[[rule]]`.
BROKEN_POLICY = "version = 2\n[[rules]]\n"
APPROVER_KEY = "bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E="
# A floor (no rule for payments without a host), an approval with a key and a redaction; the
# disabled rule is listed by explain as skipped.
EXPLAIN_POLICY = f"""\
version = 1
default_decision = "block"

[approvers]
finance = ["{APPROVER_KEY}"]

[[rule]]
id = "llm.allow"
order = 10
verb = "llm_call"
decision = "allow"
enabled = false

[[rule]]
id = "export.redact"
order = 20
verb = "data_export"
conditions = [{{ field = "table", op = "eq", value = "users" }}]
decision = "redact"
redact = ["email", "card.number"]

[[rule]]
id = "payment.large"
order = 30
verb = "payment"
scope = "api.stripe.com"
conditions = [{{ field = "amount", op = "gt", value = 1000 }}]
decision = "require_approval"
approvers = ["finance"]
sla_minutes = 60
"""


def new_project(cli: Cli) -> tuple[Path, dict[str, Any]]:
    """A project made by `heso-compliance init`: its directory and its operator key (the starter
    policy pins it)."""
    ran = cli.engine("init", "proj", "--json")
    assert ran.returncode == 0, ran.stderr
    return cli.cwd / "proj", json.loads(ran.stdout)["result"]["operator"]


def policy_documents(
    cli: Cli, cwd: Path, verb: str, *args: str, exit_code: int
) -> dict[str, dict[str, Any]]:
    """`policy <verb> --json ARGS` from both programs in `cwd`, each document checked against its
    schemas; both must exit `exit_code` and print the same `result`."""
    documents = {}
    for program in PROGRAMS:
        ran = cli.run(program, "policy", verb, "--json", *args, cwd=cwd)
        assert ran.returncode == exit_code, ran.stderr
        documents[program] = checked_document(
            ran, program, f"policy {verb}", f"policy-{verb}.schema.json"
        )
        if exit_code == 2:
            assert ran.stderr_lines == [
                f"{program}: error: {documents[program]['error']['message']}"
            ]
    assert documents["heso"]["result"] == documents["heso-compliance"]["result"]
    assert documents["heso"]["error"] == documents["heso-compliance"]["error"]
    return documents


def test_policy_check_document_of_a_new_project(cli: Cli) -> None:
    project, operator = new_project(cli)
    result = policy_documents(cli, project, "check", exit_code=0)["heso"]["result"]
    assert Path(result["path"]).resolve() == (project / "heso.toml").resolve()
    assert (result["rules"], result["enabled_rules"]) == (5, 5)
    assert result["approver_names"] == ["security-admin"]
    assert result["operator_keys"] == [
        {"public_key": operator["public_key"], "fingerprint": operator["fingerprint"]}
    ]
    assert result["errors"] == []
    assert [(w["code"], w["path"]) for w in result["warnings"]] == [
        ("approver-without-keys", "heso.toml")
    ]
    text = cli.heso("policy", "check", cwd=project).stdout
    assert f"policy_hash {result['policy_hash'][:12]}…" in text


def test_policy_check_document_of_a_broken_policy(cli: Cli) -> None:
    (cli.cwd / "heso.toml").write_text(BROKEN_POLICY)
    result = policy_documents(cli, cli.cwd, "check", exit_code=1)["heso"]["result"]
    assert [(e["code"], e["line"], e["column"]) for e in result["errors"]] == [
        ("bad-value", 1, 11),
        ("unknown-key", 2, 1),
    ]
    assert result["warnings"] == []
    assert result["rules"] is result["enabled_rules"] is None
    assert result["approver_names"] is result["operator_keys"] is None


def test_policy_check_documents_without_a_policy(cli: Cli) -> None:
    missing = policy_documents(cli, cli.cwd, "check", "nope.toml", exit_code=2)["heso"]
    assert missing["result"] is None
    assert missing["error"] == {
        "code": "not-found",
        "message": "nope.toml not found; run `heso init` to create a starter policy, "
        "or pass the policy's path",
    }
    nowhere = policy_documents(cli, cli.cwd, "check", exit_code=2)["heso"]
    assert nowhere["result"] is None
    assert nowhere["error"]["code"] == "no-project"


def test_policy_test_document_of_the_starter_tests(cli: Cli) -> None:
    project, _ = new_project(cli)
    shutil.copy(STARTER_TESTS, project / "heso.tests.toml")
    result = policy_documents(cli, project, "test", exit_code=0)["heso"]["result"]
    assert result["failed"] == 0
    assert result["passed"] == len(result["tests"]) > 0
    assert result["uncovered_rules"] == []
    assert "policy_errors" not in result
    assert {test["file"] for test in result["tests"]} == {"heso.tests.toml"}
    decisions = {test["actual"]["decision"] for test in result["tests"]}
    assert decisions == {"allow", "require_approval"}


def test_policy_test_document_of_failing_tests(cli: Cli) -> None:
    project, _ = new_project(cli)
    (project / "heso.tests.toml").write_text(
        '[[test]]\nname = "deletes are allowed"\naction = { verb = "delete" }\nexpect = "allow"\n'
        "\n"
        '[[test]]\nname = "large payments need finance"\n'
        'action = { verb = "payment", fields = { amount = 5000 } }\n'
        'expect = "require_approval"\napprovers = ["finance"]\n'
    )
    result = policy_documents(cli, project, "test", exit_code=1)["heso"]["result"]
    assert (result["passed"], result["failed"]) == (0, 2)
    assert [(test["name"], test["line"], test["passed"]) for test in result["tests"]] == [
        ("deletes are allowed", 1, False),
        ("large payments need finance", 6, False),
    ]
    assert [test["message"] for test in result["tests"]] == [
        "expected allow, got require_approval (rule `delete.requires_approval`)",
        "expected approvers `finance`, got `security-admin` "
        "(rule `payment.large.requires_approval`)",
    ]
    assert result["tests"][1]["expected"]["approvers"] == ["finance"]
    assert result["tests"][1]["actual"]["approvers"] == ["security-admin"]
    assert result["uncovered_rules"] == ["llm.allow", "tool.allow", "http.allow"]


def test_policy_test_document_when_the_policy_does_not_load(cli: Cli) -> None:
    (cli.cwd / "heso.toml").write_text(BROKEN_POLICY)
    shutil.copy(STARTER_TESTS, cli.cwd / "heso.tests.toml")
    result = policy_documents(cli, cli.cwd, "test", exit_code=1)["heso"]["result"]
    assert (result["tests"], result["passed"], result["failed"]) == ([], 0, 0)
    assert result["uncovered_rules"] == []
    assert [error["code"] for error in result["policy_errors"]] == ["bad-value", "unknown-key"]


@dataclass(frozen=True)
class ExplainCase:
    """A `heso policy explain --json` run over EXPLAIN_POLICY and the result it must give."""

    name: str
    args: tuple[str, ...]
    decision: str
    rule_id: str
    results: tuple[str, ...]  # each listed rule's `result`, in order


EXPLAIN_CASES = (
    ExplainCase(
        "floor",
        ("--verb", "payment", "--tool", "charge_card", "--field", "amount=500"),
        "block",
        "policy.floor.unmatched",
        ("skip", "skip", "skip"),
    ),
    ExplainCase(
        "approval",
        ("--verb", "payment", "--host", "API.Stripe.com", "--field", "amount=5000"),
        "require_approval",
        "payment.large",
        ("skip", "skip", "match"),
    ),
    ExplainCase(
        "redact",
        ("--verb", "data_export", "--field", "table=users", "--field", "email=a@b.c"),
        "redact",
        "export.redact",
        ("skip", "match"),
    ),
)


@pytest.mark.parametrize("case", EXPLAIN_CASES, ids=lambda case: case.name)
def test_policy_explain_documents(cli: Cli, case: ExplainCase) -> None:
    (cli.cwd / "heso.toml").write_text(EXPLAIN_POLICY)
    ran = cli.heso("policy", "explain", "--json", *case.args)
    assert ran.returncode == 0, ran.stderr
    result = checked_document(ran, "heso", "policy explain", "policy-explain.schema.json")["result"]
    assert (result["decision"], result["rule_id"]) == (case.decision, case.rule_id)
    assert tuple(rule["result"] for rule in result["rules"]) == case.results
    assert result["rules"][0] == {
        "id": "llm.allow",
        "order": 10,
        "result": "skip",
        "reason": "disabled",
        "note": None,
    }
    if case.decision == "require_approval":
        assert result["action"]["target_host"] == "api.stripe.com"
        assert result["approval"] == {
            "approvers": ["finance"],
            "roster": [APPROVER_KEY],
            "quorum": 1,
            "sla_minutes": 60,
            "on_timeout": "deny",
        }
    else:
        assert result["approval"] is None
    if case.decision == "redact":
        assert result["redact"] == ["email", "card.number"]
    else:
        assert result["redact"] is None


# ---- the schemas are strict where the contract is ----

DELETE = object()
# (the plausible bug, which real document it is made from, the schema that must reject it, the
# path of the member in that document, its new value or DELETE). `failed` is a verify run that
# found failures (exit 1); `error` is one that stopped on an error (exit 2).
BROKEN_DOCUMENTS: tuple[tuple[str, str, str, tuple[str | int, ...], object], ...] = (
    ("ok disagrees with exit_code", "failed", "envelope", ("ok",), True),
    ("exit 1 with an error", "failed", "envelope", ("error",), {"code": "usage", "message": "x"}),
    ("exit 1 without a result", "failed", "envelope", ("result",), None),
    ("exit 2 without an error", "error", "envelope", ("error",), None),
    ("unknown error code", "error", "envelope", ("error", "code"), "oops"),
    ("error of two lines", "error", "envelope", ("error", "message"), "one\ntwo"),
    ("warning keeps its prefix", "failed", "envelope", ("warnings",), ["heso: warning: x"]),
    ("other envelope version", "failed", "envelope", ("schema",), "heso-cli/2"),
    ("missing warnings", "failed", "envelope", ("warnings",), DELETE),
    ("pinning off without reason", "failed", "verify", ("pinning", "reason"), DELETE),
    (
        "pinning off, keys from flags",
        "failed",
        "verify",
        ("pinning", "operator", "source"),
        "flags",
    ),
    ("unknown receipt verdict", "failed", "verify", ("receipts", 0, "verdict"), "Bogus"),
    ("failed receipt without detail", "failed", "verify", ("receipts", 0, "detail"), None),
    ("failed receipt with a level", "failed", "verify", ("receipts", 0, "trust_level"), "L0"),
    ("pinned without pinning", "failed", "verify", ("receipts", 0, "pinned"), True),
    (
        "no operator_fingerprint",
        "failed",
        "verify",
        ("receipts", 0, "operator_fingerprint"),
        DELETE,
    ),
    ("short fingerprint", "failed", "verify", ("receipts", 0, "operator_fingerprint"), "heso:ab"),
    ("unpinned UntrustedSigner", "failed", "verify", ("chains", 0, "verdict"), "UntrustedSigner"),
    ("unknown chain type", "failed", "verify", ("chains", 0, "type"), "session"),
    ("failed chain without detail", "failed", "verify", ("chains", 0, "detail"), None),
    ("negative count", "failed", "verify", ("summary", "failed"), -1),
    ("missing chains", "failed", "verify", ("chains",), DELETE),
)


def broken(document: dict[str, Any], path: tuple[str | int, ...], value: object) -> Any:
    """A copy of `document` with the member at `path` replaced by `value` (or deleted)."""
    copied = copy.deepcopy(document)
    parent: Any = copied
    for part in path[:-1]:
        parent = parent[part]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copied


def test_schemas_reject_plausible_bugs(cli: Cli, vectors_dir: Path) -> None:
    tampered = str(vectors_dir / "heso-0.5.1" / "tampered" / "hash-mismatch.json")
    failed = checked_document(
        cli.engine("verify", "--json", "--no-pin", tampered, tampered),
        "heso-compliance",
        "verify",
        "verify.schema.json",
    )
    assert failed["result"]["receipts"][0]["verdict"] == "HashMismatch"
    assert failed["result"]["chains"][0]["verdict"] == "ContentTamper"
    error = checked_document(
        cli.engine("verify", "--json", "nope.json"),
        "heso-compliance",
        "verify",
        "verify.schema.json",
    )
    documents = {"failed": failed, "error": error}
    accepted = []
    for bug, base, schema, path, value in BROKEN_DOCUMENTS:
        document = documents[base]
        target = document if schema == "envelope" else document["result"]
        if not schema_errors(f"{schema}.schema.json", broken(target, path, value)):
            accepted.append(bug)
    assert accepted == []


# (the plausible bug, which real `result` it is made from, the path of the member in it, its new
# value or DELETE); the schema is the base's command's.
BROKEN_POLICY_RESULTS: tuple[tuple[str, str, tuple[str | int, ...], object], ...] = (
    ("counts of a policy that did not load", "check-broken", ("rules",), 3),
    ("names of a policy that did not load", "check-broken", ("approver_names",), []),
    ("no counts for a policy that loaded", "check-ok", ("enabled_rules",), None),
    ("unknown issue code", "check-broken", ("errors", 0, "code"), "oops"),
    ("warning code among errors", "check-broken", ("errors", 0, "code"), "shadowed"),
    ("error code among warnings", "check-ok", ("warnings", 0, "code"), "floor"),
    ("issue of two lines", "check-broken", ("errors", 0, "message"), "one\ntwo"),
    ("column without a line", "check-broken", ("errors", 0, "line"), 0),
    ("issue without a position", "check-broken", ("errors", 0, "column"), DELETE),
    ("short policy_hash", "check-ok", ("policy_hash",), "06e009a0bc34"),
    ("operator key not base64", "check-ok", ("operator_keys", 0, "public_key"), "not a key"),
    ("short fingerprint", "check-ok", ("operator_keys", 0, "fingerprint"), "heso:ab"),
    ("missing warnings", "check-ok", ("warnings",), DELETE),
    ("failed test without message", "test-failed", ("tests", 0, "message"), None),
    (
        "passed test with a message",
        "test-ok",
        ("tests", 0, "message"),
        "expected allow, got allow (rule `llm.allow`)",
    ),
    ("passed test, other decision", "test-ok", ("tests", 0, "actual", "decision"), "block"),
    ("expected approvers for allow", "test-failed", ("tests", 0, "expected", "approvers"), ["x"]),
    ("approval without approvers", "test-failed", ("tests", 0, "actual", "approvers"), None),
    ("redacted for an approval", "test-failed", ("tests", 0, "actual", "redacted"), ["email"]),
    ("unknown decision", "test-failed", ("tests", 0, "expected", "decision"), "deny"),
    ("test without a line", "test-failed", ("tests", 0, "line"), 0),
    ("reserved id uncovered", "test-failed", ("uncovered_rules",), ["policy.default"]),
    ("count as a string", "test-failed", ("failed",), "2"),
    ("tests ran on a broken policy", "test-broken", ("passed",), 1),
    ("policy error of unknown code", "test-broken", ("policy_errors", 0, "code"), "oops"),
    ("require_approval without terms", "explain-approval", ("approval",), None),
    ("redaction for a block", "explain-floor", ("redact",), ["email"]),
    ("match with a reason", "explain-approval", ("rules", 2, "reason"), "verb is payment"),
    ("skip without a reason", "explain-floor", ("rules", 0, "reason"), None),
    ("unknown skip reason", "explain-floor", ("rules", 0, "reason"), "because"),
    (
        "floor after a match",
        "explain-floor",
        ("rules", 2),
        {"id": "payment.large", "order": 30, "result": "match", "reason": None, "note": None},
    ),
    (
        "two matches",
        "explain-approval",
        ("rules", 1),
        {"id": "export.redact", "order": 20, "result": "match", "reason": None, "note": None},
    ),
    ("floor for a model call", "explain-floor", ("action", "verb"), "llm_call"),
    ("floor that allows", "explain-floor", ("decision",), "allow"),
    ("quorum 0", "explain-approval", ("approval", "quorum"), 0),
    ("reserved on_timeout", "explain-approval", ("approval", "on_timeout"), "escalate"),
    ("roster key not base64", "explain-approval", ("approval", "roster", 0), "not a key"),
    ("action without its host", "explain-floor", ("action", "target_host"), DELETE),
)


def test_policy_explain_receipt_document(cli: Cli, store_project: StoreProject) -> None:
    """`--receipt` adds `receipt`, `revealed` and `redacted_unrevealed`; the schema demands all
    three together and a full hash."""
    redacted = store_project.facts["redacted"]
    ran = cli.heso("policy", "explain", "--json", "--receipt", redacted, cwd=store_project.root)
    result = checked_document(ran, "heso", "policy explain", "policy-explain.schema.json")["result"]
    assert result["receipt"]["action_hash"] == redacted
    for path, value in (
        (("revealed",), DELETE),
        (("receipt", "action_hash"), redacted[:12]),
        (("receipt", "recorded_decision"), DELETE),
    ):
        assert schema_errors("policy-explain.schema.json", broken(result, path, value)), path


def test_policy_schemas_reject_plausible_bugs(cli: Cli) -> None:
    project, _ = new_project(cli)
    results = {"check-ok": policy_documents(cli, project, "check", exit_code=0)}
    shutil.copy(STARTER_TESTS, project / "heso.tests.toml")
    results["test-ok"] = policy_documents(cli, project, "test", exit_code=0)
    (project / "heso.tests.toml").write_text(
        '[[test]]\nname = "deletes are allowed"\naction = { verb = "delete" }\nexpect = "allow"\n'
    )
    results["test-failed"] = policy_documents(cli, project, "test", exit_code=1)
    (project / "heso.toml").write_text(BROKEN_POLICY)
    results["check-broken"] = policy_documents(cli, project, "check", exit_code=1)
    results["test-broken"] = policy_documents(cli, project, "test", exit_code=1)
    (project / "heso.toml").write_text(EXPLAIN_POLICY)
    for base, case in (("explain-floor", EXPLAIN_CASES[0]), ("explain-approval", EXPLAIN_CASES[1])):
        ran = cli.heso("policy", "explain", "--json", *case.args, cwd=project)
        results[base] = {
            "heso": checked_document(ran, "heso", "policy explain", "policy-explain.schema.json")
        }
    accepted = []
    for bug, base, path, value in BROKEN_POLICY_RESULTS:
        schema = f"policy-{base.split('-')[0]}.schema.json"
        if not schema_errors(schema, broken(results[base]["heso"]["result"], path, value)):
            accepted.append(bug)
    assert accepted == []


# ---- keys ----


def test_keys_show_document(cli: Cli) -> None:
    assert cli.engine("init", "p").returncode == 0
    ran = cli.engine("keys", "show", "--json", cwd=cli.cwd / "p")
    document = checked_document(ran, "heso-compliance", "keys show", "keys-show.schema.json")
    assert document["result"]["pinned"] is True
    missing = cli.engine("keys", "show", "--json")
    checked_document(missing, "heso-compliance", "keys show", "keys-show.schema.json")
    assert json.loads(missing.stdout)["error"]["code"] == "no-project"


# ---- the project store: verify, audit verify ----


@pytest.mark.parametrize("program", PROGRAMS)
def test_store_verify_documents(cli: Cli, store_project: StoreProject, program: str) -> None:
    root = store_project.root
    whole = checked_document(
        cli.run(program, "verify", "--json", cwd=root), program, "verify", "verify.schema.json"
    )
    summary = whole["result"]["summary"]
    assert (summary["receipts"], summary["chains"], summary["standalone"]) == (
        store_project.facts["receipts"],
        3,
        2,
    )
    assert "store_checks" not in whole["result"]
    prefix = store_project.facts["ambiguous_prefix"]
    ambiguous = checked_document(
        cli.run(program, "verify", "--json", prefix, cwd=root),
        program,
        "verify",
        "verify.schema.json",
    )
    assert ambiguous["error"]["code"] == "ambiguous"
    unknown = checked_document(
        cli.run(program, "verify", "--json", "abcdef0123", cwd=root),
        program,
        "verify",
        "verify.schema.json",
    )
    assert unknown["error"] == {
        "code": "not-found",
        "message": "no such file and not a receipt hash: `abcdef0123`",
    }


def audit_document(cli: Cli, root: Path, exit_code: int) -> dict[str, Any]:
    ran = cli.engine("audit", "verify", "--json", cwd=root)
    assert ran.returncode == exit_code, ran.stderr
    return checked_document(ran, "heso-compliance", "audit verify", "verify.schema.json")


def test_audit_verify_documents(cli: Cli, store_project: StoreProject) -> None:
    root = store_project.root
    clean = audit_document(cli, root, 0)["result"]
    names = [check["name"] for check in clean["store_checks"]]
    assert "integrity_check" in names
    assert "chain_heads" in names
    assert all(check["ok"] for check in clean["store_checks"])
    with contextlib.closing(sqlite3.connect(store_project.db)) as conn, conn:
        conn.execute("DELETE FROM outbox WHERE receipt_id = 2")
    failed = audit_document(cli, root, 1)["result"]
    assert [c["name"] for c in failed["store_checks"] if not c["ok"]] == ["outbox"]
    assert failed["summary"]["failed"] == 0
    store_project.db.unlink()
    missing = audit_document(cli, root, 2)
    assert missing["result"] is None
    assert missing["error"]["code"] == "not-found"
    nowhere = audit_document(cli, cli.cwd, 2)
    assert nowhere["error"]["code"] == "no-project"


# (the plausible bug, the path of the member in an `audit verify` result, its new value or
# DELETE).
BROKEN_AUDIT_RESULTS: tuple[tuple[str, tuple[str | int, ...], object], ...] = (
    ("failed check without detail", ("store_checks", 0, "detail"), None),
    ("check without ok", ("store_checks", 0, "ok"), DELETE),
    ("check named in prose", ("store_checks", 0, "name"), "Outbox rows"),
    ("detail of two lines", ("store_checks", 0, "detail"), "one\ntwo"),
    ("checks not a list", ("store_checks",), {"outbox": False}),
)


def test_audit_schema_rejects_plausible_bugs(cli: Cli, store_project: StoreProject) -> None:
    with contextlib.closing(sqlite3.connect(store_project.db)) as conn, conn:
        conn.execute("DELETE FROM outbox WHERE receipt_id = 2")
    result = audit_document(cli, store_project.root, 1)["result"]
    result["store_checks"].sort(key=lambda check: check["ok"])
    accepted = [
        bug
        for bug, path, value in BROKEN_AUDIT_RESULTS
        if not schema_errors("verify.schema.json", broken(result, path, value))
    ]
    assert accepted == []
