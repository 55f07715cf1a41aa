"""Every `--json` document of both programs against the JSON Schemas (cli.md §1.4, §4).

The schemas live in `engine/heso-compliance/schemas/`: one for the `heso-cli/1` envelope and one
per command `result`. Each document here comes from a real run of the installed programs.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from jsonschema import Draft202012Validator

if TYPE_CHECKING:
    from conftest import Cli, Ran

SCHEMAS = Path(__file__).resolve().parents[1] / "engine" / "heso-compliance" / "schemas"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILES = (
    "envelope.schema.json",
    "init.schema.json",
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
