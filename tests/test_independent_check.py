"""scripts/independent_check.py: the verifier written only from receipts.md (§16 item 7).

The command-line tests run the script as a subprocess. The unit-level checks (Ed25519 vector
sets, canonical JSON, strict parsing, chains built here) load it as a module with importlib.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

rfc8785 = pytest.importorskip("rfc8785", reason="independent_check needs `rfc8785==0.1.4`")
blake3 = pytest.importorskip("blake3", reason="independent_check needs `blake3`")
ed25519 = pytest.importorskip(
    "cryptography.hazmat.primitives.asymmetric.ed25519",
    reason="independent_check needs `cryptography`",
)
exceptions = pytest.importorskip("cryptography.exceptions")

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "independent_check.py"

ZERO_SEED_KEY = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
SEED_5_KEY = "bnoc3Smwt4/ROvTFWY/v9O8qlxZuPKby5Pv8zYBQW/E="
SEED_7_KEY = "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw="

# receipts.md §14.2: the v2 golden content before `action_hash` is stamped.
GOLDEN_CONTENT: dict[str, Any] = {
    "action_version": "heso-action/2.0",
    "captured_at": "2026-05-29T12:00:00Z",
    "agent_identity": ZERO_SEED_KEY,
    "action": {
        "verb": "llm_call",
        "tool_name": "openai.chat.completions",
        "target_host": "api.openai.com",
        "workflow": "research-run-7",
        "account": "acct_acme",
        "fields": {"prompt": "summarize the filing", "model": "gpt-4o"},
        "result_hash": "a" * 64,
    },
    "policy": {
        "rule_id": "allow-llm",
        "rule_display": "allow llm_call to api.openai.com",
        "matched_conditions": [{"field": "verb", "op": "eq", "value": "llm_call"}],
        "decision_path": "allow",
    },
    "trust_level": "L0",
}
GOLDEN_HASH = "988baa2e41ab2046d86cd90eb2115afc795ef15855332bd683e3d4d7e248dc8d"
GOLDEN_SIGNATURE = (
    "ujGbJO2VR2PpaguiG3NegMWAyQLWJlgAVxuKnwaeV8KsMbtT4K/f8lGhLrNI3NSxbIXQnwZGCS1b4BtXnRMQAQ=="
)

# receipts.md §14.4: the single-approver L1 golden (approver seed 0x05).
L1_CONTENT: dict[str, Any] = {
    **GOLDEN_CONTENT,
    "policy": {**GOLDEN_CONTENT["policy"], "decision_path": "require_approval"},
    "approver_decision": {
        "decision": "approved",
        "approver_identity": SEED_5_KEY,
        "reason": "amount under desk limit",
        "decided_at": "2026-05-29T12:05:00Z",
        "sla_minutes": 30,
    },
    "trust_level": "L1",
}
L1_HASH = "920d1d38f12dd7ce4c64c1ceaede300cdb9786ed18ea1cd7f1661431c6e0bae8"
L1_OPERATOR_SIGNATURE = (
    "RSH4mI7TYQDsLY0Gk8uj6M6bRF53KbeuJLrSX9X+Z/PIAxjVaVXcMnBvtoXlf18QasX3UFJ4IhblRRsFmn5SBg=="
)
L1_APPROVER_SIGNATURE = (
    "BqLhYlwvHKmJt0AM3/a6NI2he8zZPVrU0zaqoic/8PfmyVS/F7YJWXnyXSQmkfQCURxNi4hk4l/4ehmGj1DvCw=="
)

VALID_FOLDERS = ["demo", "tool-chain", "destructive", "l1", "lifecycle"]


def entry(key_id: str, public_key: str, signature: str) -> dict[str, str]:
    return {
        "algorithm": "Ed25519",
        "key_id": key_id,
        "public_key": public_key,
        "signature": signature,
    }


def golden_receipt() -> dict[str, Any]:
    content = {**GOLDEN_CONTENT, "action_hash": GOLDEN_HASH}
    signatures = [entry("operator", ZERO_SEED_KEY, GOLDEN_SIGNATURE)]
    return {"alg": "heso-action/v2+ed25519", "content": content, "signatures": signatures}


def l1_receipt() -> dict[str, Any]:
    signatures = [
        entry("operator", ZERO_SEED_KEY, L1_OPERATOR_SIGNATURE),
        entry("approver", SEED_5_KEY, L1_APPROVER_SIGNATURE),
    ]
    content = {**L1_CONTENT, "action_hash": L1_HASH}
    return {"alg": "heso-action/v2+ed25519", "content": content, "signatures": signatures}


def write_receipt(path: Path, receipt: dict[str, Any]) -> Path:
    """Compact UTF-8 JSON, non-ASCII written raw, as receipts.md §1.3 stores receipts."""
    text = json.dumps(receipt, ensure_ascii=False, separators=(",", ":"))
    path.write_bytes(text.encode("utf-8"))
    return path


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    ran = run_check("--json", *args)
    assert ran.returncode in (0, 1), ran.stderr
    report: dict[str, Any] = json.loads(ran.stdout)
    assert report["ok"] is (ran.returncode == 0)
    return ran.returncode, report


@pytest.fixture(scope="module")
def checker() -> Iterator[ModuleType]:
    """The script loaded as a module (dataclasses need it registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location("independent_check", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


# --- The script stands alone -----------------------------------------------------------------


def test_the_script_never_imports_heso() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s+heso\b", source, re.MULTILINE)


# --- The heso 0.5.1 corpus (receipts.md §16 item 7) ------------------------------------------


def verdict_name(text: str) -> str:
    """`InvalidSignature(VerificationFailed)` -> `InvalidSignature`."""
    match = re.match(r"[A-Za-z]+", text)
    assert match is not None, text
    return match.group(0)


def expected_receipts(files: dict[str, Any]) -> dict[tuple[str, int], tuple[str, str | None]]:
    """(file, line) -> (verdict, trust level): the lifecycle verdict for links that have one."""
    wanted = {}
    for name, listed in files.items():
        for receipt in listed["receipts"]:
            plain = receipt["verify_action_receipt"]
            kind = receipt.get("verify_lifecycle_receipt", plain)["kind"]
            level = plain.get("trust_level") if kind == "Valid" else None
            wanted[name, receipt["line"]] = (kind, level)
    return wanted


def expected_chains(files: dict[str, Any]) -> dict[tuple[str, str], tuple[str, int, int, str]]:
    """(file, session) -> (verdict, receipts, seq or length, reason) as 0.5.1 reported them.

    0.5.1's chain function raised on `tampered/unknown-member.json` instead of returning a
    verdict. Our rules (receipts.md §10) make that a `ContentTamper` at seq 0 whose reason is the
    receipt's own verdict, `Malformed`.
    """
    wanted = {}
    for name, listed in files.items():
        for chain in listed["chains"]:
            verdict: dict[str, Any] = chain["verdict"]
            if "raised" in verdict:
                verdict = {"kind": "ContentTamper", "seq": 0, "reason": "Malformed"}
            kind = verdict["kind"]
            position = verdict["length"] if kind == "Valid" else verdict["seq"]
            reason = verdict_name(verdict["reason"]) if "reason" in verdict else ""
            wanted[name, chain["session_id"]] = (kind, chain["length"], position, reason)
    return wanted


def test_corpus_gets_the_verdicts_of_expected_json(vectors_dir: Path) -> None:
    root = vectors_dir / "heso-0.5.1"
    files = json.loads((root / "expected.json").read_text(encoding="utf-8"))["files"]
    code, report = run_json(*(str(root / name) for name in files))
    assert code == 1  # the tampered files

    def relative(source: str) -> str:
        return Path(source).relative_to(root).as_posix()

    receipts = {
        (relative(r["source"]), r["line"]): (r["verdict"], r.get("trust_level"))
        for r in report["receipts"]
    }
    assert receipts == expected_receipts(files)
    chains = {
        (relative(c["source"]), c["session_id"]): (
            c["verdict"],
            c["length"],
            c["length"] if c["verdict"] == "Valid" else c["seq"],
            c.get("reason", ""),
        )
        for c in report["chains"]
    }
    assert chains == expected_chains(files)


def test_untampered_corpus_folders_are_all_valid(vectors_dir: Path) -> None:
    root = vectors_dir / "heso-0.5.1"
    ran = run_check(*(str(root / folder) for folder in VALID_FOLDERS))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[-1] == "26 receipts, 6 chains, 2 standalone: all Valid"
    session = next(line for line in lines if "lifecycle/session.jsonl" in line)
    assert re.search(
        r": session chain `lifecycle-approved`: Valid, length 3; operator heso:", session
    )


def test_pinning_the_corpus_keys(vectors_dir: Path) -> None:
    """With the fixtures' own keys pinned the lifecycle stays Valid; without the decision key the
    decision link's signer is untrusted (pinning is on for both roles)."""
    folder = vectors_dir / "heso-0.5.1" / "lifecycle"
    operator = (folder / "operator.pub").read_text(encoding="ascii").strip()
    decision = (folder / "decision.pub").read_text(encoding="ascii").strip()
    code, _ = run_json("--pubkey", operator, "--approver-pubkey", decision, str(folder))
    assert code == 0
    code, report = run_json("--pubkey", operator, str(folder / "session.jsonl"))
    assert code == 1
    [chain] = report["chains"]
    assert (chain["verdict"], chain["seq"], chain["role"]) == ("UntrustedSigner", 1, "approver")


# --- Goldens of receipts.md §14 ---------------------------------------------------------------


def test_v2_golden_is_valid(tmp_path: Path) -> None:
    path = write_receipt(tmp_path / "golden.json", golden_receipt())
    ran = run_check(str(path))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[0] == (
        f"{path}:1: Valid (L0); operator heso:51f1365add907c3dcaead8fae90cfe55"
    )


def test_l1_golden_is_valid_l1(tmp_path: Path) -> None:
    path = write_receipt(tmp_path / "l1.json", l1_receipt())
    code, report = run_json(str(path))
    assert code == 0
    [receipt] = report["receipts"]
    assert (receipt["verdict"], receipt["trust_level"]) == ("Valid", "L1")
    assert report["chains"] == []


def test_pinned_l1_golden(tmp_path: Path) -> None:
    """§15.1: pinning only the operator leaves the approver set empty, so the approver fails."""
    path = str(write_receipt(tmp_path / "l1.json", l1_receipt()))
    code, _ = run_json("--pubkey", ZERO_SEED_KEY, "--approver-pubkey", SEED_5_KEY, path)
    assert code == 0
    code, report = run_json("--pubkey", ZERO_SEED_KEY, path)
    assert code == 1
    assert report["receipts"][0]["verdict"] == "UntrustedSigner"
    assert report["receipts"][0]["detail"].startswith("approver heso:")
    code, report = run_json("--pubkey", SEED_7_KEY, "--approver-pubkey", SEED_5_KEY, path)
    assert report["receipts"][0]["verdict"] == "UntrustedSigner"
    assert report["receipts"][0]["detail"].startswith("operator heso:")


def test_a_tampered_byte_is_a_hash_mismatch(tmp_path: Path) -> None:
    path = write_receipt(tmp_path / "golden.json", golden_receipt())
    data = path.read_bytes()
    assert data.count(b"summarize the filing") == 1
    path.write_bytes(data.replace(b"summarize the filing", b"summarize the filinG"))
    code, report = run_json(str(path))
    assert code == 1
    assert report["receipts"][0]["verdict"] == "HashMismatch"


def test_golden_hashes_and_link_hash(checker: ModuleType) -> None:
    canonical = checker.signed_bytes(GOLDEN_CONTENT)
    assert len(canonical) == 621
    assert checker.blake3_hex(canonical) == GOLDEN_HASH
    genesis = {
        **GOLDEN_CONTENT,
        "action": {**GOLDEN_CONTENT["action"], "workflow": "session-sess-golden-step-0"},
        "session_id": "sess-golden",
        "seq": 0,
    }
    genesis["action_hash"] = checker.blake3_hex(checker.signed_bytes(genesis))
    assert genesis["action_hash"] == (
        "e9eeb5251861fb70b7d694bc296a71c954ff320c21e0290948ad4f90c5738062"
    )
    assert checker.link_hash(genesis) == (
        "8dfc58fd55076aeeffea330e3c8259e98d7cf8fa09e6e85150358edc2122eda9"
    )


def test_merkle_root_of_the_redaction_example(checker: ModuleType) -> None:
    commitment = "a8d387d57afb06a1a0be4e171214ae91eafc127e0af6266787bf68bd7d3c7cd9"
    assert checker.merkle_root([commitment]) == (
        "14b692cc080e7976a1ebfb63155f30915fa514991786046376f840b80cd7caa0"
    )


# --- Ed25519 (receipts.md §12) ----------------------------------------------------------------


def speccheck_cases(vectors_dir: Path) -> list[tuple[bytes, bytes, bytes]]:
    cases = json.loads((vectors_dir / "ed25519-speccheck" / "cases.json").read_text())
    assert len(cases) == 12
    return [
        (bytes.fromhex(c["pub_key"]), bytes.fromhex(c["signature"]), bytes.fromhex(c["message"]))
        for c in cases
    ]


def test_speccheck_accepts_only_case_3(checker: ModuleType, vectors_dir: Path) -> None:
    cases = speccheck_cases(vectors_dir)
    accepted = [index for index, case in enumerate(cases) if checker.ed25519_verify(*case)]
    assert accepted == [3]


def test_cryptography_alone_is_not_strict(vectors_dir: Path) -> None:
    """Why the script adds its own checks: OpenSSL accepts speccheck 0, 1, 2, 3 and 11."""

    def lax(public_key: bytes, signature: bytes, message: bytes) -> bool:
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        except (exceptions.InvalidSignature, ValueError):
            return False
        return True

    cases = speccheck_cases(vectors_dir)
    assert [index for index, case in enumerate(cases) if lax(*case)] == [0, 1, 2, 3, 11]


def test_wycheproof_results_match(checker: ModuleType, vectors_dir: Path) -> None:
    suite = json.loads((vectors_dir / "wycheproof" / "ed25519_test.json").read_text())
    outcomes = []
    for group in suite["testGroups"]:
        public_key = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            signature, message = bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"])
            accepted = checker.ed25519_verify(public_key, signature, message)
            outcomes.append((test["tcId"], accepted, test["result"] == "valid"))
    assert len(outcomes) == suite["numberOfTests"] == 151
    assert [tc for tc, accepted, valid in outcomes if accepted != valid] == []


def test_small_order_encodings(checker: ModuleType) -> None:
    """8 canonical encodings plus 6 non-canonical spellings, from the curve math."""
    encodings = {encoding.hex() for encoding in checker.SMALL_ORDER_ENCODINGS}
    assert len(encodings) == 14
    assert {
        "0100000000000000000000000000000000000000000000000000000000000000",  # identity
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
        "0000000000000000000000000000000000000000000000000000000000000080",  # order 4
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # identity, y + p
    } <= encodings


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        ("AA==", b"\x00"),
        ("AB==", None),  # non-zero trailing bits
        ("AA", None),  # missing padding
        ("AA===", None),  # extra padding
        ("A A=", None),  # whitespace
        ("AA==\n", None),
        ("-_8=", None),  # URL-safe alphabet
    ],
)
def test_strict_base64(checker: ModuleType, text: str, decoded: bytes | None) -> None:
    assert checker.b64decode_strict(text) == decoded


# --- Canonical JSON and strict parsing --------------------------------------------------------


def test_integers_beyond_2_53_canonicalize_as_doubles(checker: ModuleType) -> None:
    with pytest.raises(rfc8785.IntegerDomainError):
        rfc8785.dumps(2**53)  # the package refuses them; the script converts them first
    value = {"a": 2**53 + 1, "b": 10**21, "c": -(2**60), "d": 2**53 - 1, "e": 1e-7, "f": -0.0}
    assert checker.canonical(value) == (
        b'{"a":9007199254740992,"b":1e+21,"c":-1152921504606847000,"d":9007199254740991,'
        b'"e":1e-7,"f":0}'
    )


@pytest.mark.parametrize(
    "text",
    [
        b'{"a":1,"a":2}',
        b'{"a":"\\ud800"}',
        b'{"a":"\\udc00x"}',
        b'{"\\ud800":1}',
        b'{"a":NaN}',
        b'{"a":1e400}',
        b'\xef\xbb\xbf{"a":1}',
        b'{"a":"\xed\xa0\x80"}',
    ],
)
def test_strict_json_refuses(checker: ModuleType, text: bytes) -> None:
    with pytest.raises(ValueError, match="not strict UTF-8 JSON"):
        checker.parse_json(text)


def test_surrogate_pairs_are_ordinary_text(checker: ModuleType) -> None:
    assert checker.parse_json(b'"\\ud83d\\ude00"') == "\U0001f600"


def with_member(path: str, value: Any) -> dict[str, Any]:
    """The golden receipt with the member at a dotted path set to `value`."""
    receipt: dict[str, Any] = json.loads(json.dumps(golden_receipt()))
    *parents, name = path.split(".")
    target: Any = receipt
    for parent in parents:
        target = target[int(parent)] if isinstance(target, list) else target[parent]
    target[name] = value
    return receipt


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("comment", "x"),
        ("content.note", "x"),
        ("content.action.note", "x"),
        ("content.policy.note", "x"),
        ("content.policy.matched_conditions.0.note", "x"),
        ("signatures.0.note", "x"),
        ("content.trust_level", "L2"),
        ("content.trust_level", "L3"),
        ("content.action.target_host", None),
        ("content.action.verb", "payments"),
        ("content.seq", -1),
        ("content.seq", 1.0),
        ("signatures", []),
        ("alg", 2),
    ],
)
def test_strict_parse_gives_malformed(checker: ModuleType, path: str, value: Any) -> None:
    assert checker.verify_receipt(with_member(path, value)).name == "Malformed"


def test_gate_order(checker: ModuleType) -> None:
    """Earlier gates win: a wrong alg on tampered content is WrongAlgorithm, and a tampered
    byte with a broken signature is HashMismatch."""
    receipt = with_member("alg", "heso-plat/v1+ed25519")
    receipt["content"]["captured_at"] = "tampered"
    assert checker.verify_receipt(receipt).name == "WrongAlgorithm"
    receipt = with_member("content.captured_at", "tampered")
    receipt["signatures"][0]["signature"] = L1_OPERATOR_SIGNATURE
    assert checker.verify_receipt(receipt).name == "HashMismatch"
    receipt = with_member("content.action_version", "heso-action/1.0")
    receipt["alg"] = "heso-action/v1+ed25519"
    assert checker.verify_receipt(receipt).name == "Unsupported"


# --- Receipts and chains built here with test keys --------------------------------------------


def private_key(seed: int) -> Any:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def public_b64(seed: int) -> str:
    raw = private_key(seed).public_key().public_bytes_raw()
    return base64.b64encode(raw).decode("ascii")


ACTION = b"heso-action/v1\x00"
APPROVAL = b"heso-approval/v1\x00"
SUSPEND = b"heso-action-suspend/v1\x00"
DECISION = b"heso-action-decision/v1\x00"
OPERATOR_SEED, DECISION_SEED = 0, 7


def signed_entry(key_id: str, seed: int, message: bytes) -> dict[str, str]:
    signature = base64.b64encode(private_key(seed).sign(message)).decode("ascii")
    return entry(key_id, public_b64(seed), signature)


def mint(
    checker: ModuleType, content: dict[str, Any], signers: list[tuple[str, int, bytes]]
) -> dict[str, Any]:
    """Stamp `action_hash` and sign C under each (key_id, seed, domain)."""
    content = {**content, "action_hash": checker.blake3_hex(checker.signed_bytes(content))}
    canonical = checker.signed_bytes(content)
    signatures = [
        signed_entry(key_id, seed, domain + canonical) for key_id, seed, domain in signers
    ]
    return {"alg": "heso-action/v2+ed25519", "content": content, "signatures": signatures}


def test_identity_and_self_approval(checker: ModuleType) -> None:
    swapped = {**GOLDEN_CONTENT, "agent_identity": SEED_5_KEY}
    receipt = mint(checker, swapped, [("operator", 0, ACTION)])
    assert checker.verify_receipt(receipt).name == "IdentityMismatch"
    record = {**L1_CONTENT["approver_decision"], "approver_identity": ZERO_SEED_KEY}
    self_approved = {**L1_CONTENT, "approver_decision": record}
    receipt = mint(checker, self_approved, [("operator", 0, ACTION), ("approver", 0, APPROVAL)])
    assert checker.verify_receipt(receipt).name == "SelfApproval"


def test_approver_identity_binding(checker: ModuleType) -> None:
    """§15.1: the single-lane record names the approver signer, and an approver needs a record."""
    signers = [("operator", 0, ACTION), ("approver", 5, APPROVAL)]
    record = {**L1_CONTENT["approver_decision"], "approver_identity": SEED_7_KEY}
    receipt = mint(checker, {**L1_CONTENT, "approver_decision": record}, signers)
    assert checker.verify_receipt(receipt).name == "IdentityMismatch"
    no_record = {k: v for k, v in L1_CONTENT.items() if k != "approver_decision"}
    assert checker.verify_receipt(mint(checker, no_record, signers)).name == "IdentityMismatch"
    assert checker.verify_receipt(mint(checker, L1_CONTENT, signers)).name == "Valid"


def test_decision_key_that_also_signs_as_operator_is_a_role_violation(checker: ModuleType) -> None:
    """L4b: the decision signer also has an entry that verifies under the action domain."""
    record = {**L1_CONTENT["approver_decision"], "approver_identity": SEED_7_KEY}
    content = {**L1_CONTENT, "approver_decision": record, "session_id": "s", "seq": 0}
    content["kind"] = "approved"
    decision_only = mint(checker, content, [("approver", 7, DECISION)])
    assert checker.verify_receipt(decision_only).name == "Valid"
    both = mint(checker, content, [("approver", 7, DECISION), ("operator", 7, ACTION)])
    assert checker.verify_receipt(both).name == "RoleViolation"


def redacted_content(checker: ModuleType, **changes: Any) -> dict[str, Any]:
    """Golden content with `api_token` and `auth.secret` committed (§8.3), then `changes`."""
    paths = ("api_token", "auth.secret")
    commitments = [
        checker.blake3_hex(bytes([9]) * 32 + path.encode() + b'"secret"') for path in paths
    ]
    fields = {"api_token": {"_sd": commitments[0]}, "auth": {"secret": {"_sd": commitments[1]}}}
    markers = [
        {"field_path": path, "algorithm": "salted-blake3/v1", "commitment": commitment}
        for path, commitment in zip(paths, commitments, strict=True)
    ]
    redaction = {
        "mode": "commit_and_reveal",
        "markers": markers,
        "merkle_root": checker.merkle_root(commitments),
        **changes,
    }
    action = {**GOLDEN_CONTENT["action"], "fields": fields}
    return {**GOLDEN_CONTENT, "action": action, "redaction": redaction}


def test_redaction_well_formedness(checker: ModuleType) -> None:
    def verdict(content: dict[str, Any]) -> str:
        return str(checker.verify_receipt(mint(checker, content, [("operator", 0, ACTION)])).name)

    content = redacted_content(checker)
    assert verdict(content) == "Valid"
    assert verdict(redacted_content(checker, merkle_root="0" * 64)) == "MalformedRedaction"
    twice = [content["redaction"]["markers"][0]] * 2
    root = checker.merkle_root(marker["commitment"] for marker in twice)
    assert verdict(redacted_content(checker, markers=twice, merkle_root=root)) == (
        "MalformedRedaction"
    )
    revealed = {**content["action"], "fields": {"api_token": "x", "auth": {}}}
    assert verdict({**content, "action": revealed}) == "MalformedRedaction"
    marker = {"field_path": "password", "algorithm": "drop/v1", "commitment": ""}
    destructive = {
        **GOLDEN_CONTENT,
        "action": {**GOLDEN_CONTENT["action"], "fields": {"password": "[redacted]"}},
        "redaction": {"mode": "destructive", "markers": [marker]},
    }
    assert verdict(destructive) == "Valid"
    destructive["action"] = {**destructive["action"], "fields": {"password": "hunter2"}}
    assert verdict(destructive) == "MalformedRedaction"


ANCHOR = {"kind": "rfc3161", "token_b64": "AA==", "tsa": "tsa", "anchored_hash": "0" * 64}


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({"time_anchor": ANCHOR}, "TimeAnchorUnverifiable"),
        ({"anchor_policy": "required"}, "AnchorRequired"),
        ({"nonce": "n", "attestation": {}, "metrics": 1, "guardrail": {}}, "Valid"),
    ],
)
def test_anchor_gates(checker: ModuleType, changes: dict[str, Any], verdict: str) -> None:
    receipt = mint(checker, GOLDEN_CONTENT | changes, [("operator", 0, ACTION)])
    assert checker.verify_receipt(receipt).name == verdict


@pytest.mark.parametrize(
    ("mandate", "verdict"), [("valid", "Valid"), ("absent", "MandateRejected")]
)
def test_payment_mandate(checker: ModuleType, mandate: str, verdict: str) -> None:
    action = {**GOLDEN_CONTENT["action"], "verb": "payment", "mandate": {"verdict": mandate}}
    receipt = mint(checker, {**GOLDEN_CONTENT, "action": action}, [("operator", 0, ACTION)])
    assert checker.verify_receipt(receipt).name == verdict


def quorum_receipt(threshold: int, seeds: list[int]) -> dict[str, Any]:
    """A k-of-n receipt (§5.3): the operator signs the base, each approver signs its own leg.

    Built with `rfc8785` and `blake3` directly, so the base and leg forms are not the script's.
    """
    records = sorted(
        (
            {
                "decision": "approved",
                "approver_identity": public_b64(seed),
                "reason": "ok",
                "decided_at": "2026-05-29T12:05:00Z",
            }
            for seed in seeds
        ),
        key=lambda record: record["approver_identity"],
    )
    roster = sorted(public_b64(seed) for seed in (5, 7))

    def canonical(approvers: list[dict[str, Any]]) -> bytes:
        quorum = {"threshold": threshold, "roster": roster, "approvers": approvers}
        content = {**GOLDEN_CONTENT, "multi_approval": quorum, "trust_level": "L1"}
        return bytes(rfc8785.dumps(content))

    content = json.loads(canonical(records))
    content["action_hash"] = blake3.blake3(canonical(records)).hexdigest()
    signatures = [signed_entry("operator", 0, ACTION + canonical([]))]
    seed_of = {public_b64(seed): seed for seed in seeds}
    for record in records:
        seed = seed_of[record["approver_identity"]]
        signatures.append(signed_entry("approver", seed, APPROVAL + canonical([record])))
    return {"alg": "heso-action/v2+ed25519", "content": content, "signatures": signatures}


@pytest.mark.parametrize(
    ("threshold", "seeds", "verdict"),
    [
        (2, [5, 7], "Valid"),
        (1, [7], "Valid"),
        (2, [7], "ThresholdNotMet"),
        (0, [7], "Malformed"),
        (1, [6], "Malformed"),  # not on the roster
        (1, [0], "SelfApproval"),
    ],
)
def test_quorum_lane(checker: ModuleType, threshold: int, seeds: list[int], verdict: str) -> None:
    result = checker.verify_receipt(quorum_receipt(threshold, seeds))
    assert result.name == verdict
    assert result.trust_level == ("L1" if verdict == "Valid" else "")


def lifecycle_chain(checker: ModuleType, links: list[tuple[str, str, int, bytes]]) -> list[Any]:
    """A lifecycle session of (kind, key_id, seed, domain) links over one gated action."""
    base = {
        **GOLDEN_CONTENT,
        "policy": {**GOLDEN_CONTENT["policy"], "decision_path": "require_approval"},
    }
    chain: list[Any] = []
    for seq, (kind, key_id, seed, domain) in enumerate(links):
        content = {**base, "session_id": "gated", "seq": seq, "kind": kind}
        if chain:
            content["prev_receipt_hash"] = checker.link_hash(chain[-1]["content"])
        if seed == DECISION_SEED:
            decision = "approved" if kind == "approved" else "rejected"
            content["approver_decision"] = {
                "decision": decision,
                "approver_identity": public_b64(seed),
                "reason": "",
                "decided_at": "2026-05-29T12:05:00Z",
            }
            content["trust_level"] = "L1"
        chain.append(mint(checker, content, [(key_id, seed, domain)]))
    return chain


SUSPENDED = ("suspended", "operator", OPERATOR_SEED, SUSPEND)
APPROVED = ("approved", "approver", DECISION_SEED, DECISION)
DENIED = ("denied", "approver", DECISION_SEED, DECISION)
COMPLETED = ("completed", "operator", OPERATOR_SEED, ACTION)


@pytest.mark.parametrize(
    ("links", "verdict"),
    [
        ([SUSPENDED, APPROVED, COMPLETED], "Valid"),
        ([SUSPENDED, DENIED], "Valid"),
        ([SUSPENDED, ("approved", "operator", OPERATOR_SEED, ACTION)], "RoleViolation"),
        ([SUSPENDED, APPROVED, DENIED], "IllegalTransition"),
        ([SUSPENDED, COMPLETED], "IllegalTransition"),
        ([SUSPENDED, SUSPENDED], "IllegalTransition"),
        ([SUSPENDED, APPROVED, COMPLETED, COMPLETED], "DoubleTerminal"),
    ],
)
def test_session_chains(
    checker: ModuleType, links: list[tuple[str, str, int, bytes]], verdict: str
) -> None:
    assert checker.verify_chain(lifecycle_chain(checker, links))["verdict"] == verdict


def test_action_chain_links(checker: ModuleType, tmp_path: Path) -> None:
    chain: list[Any] = []
    for seq in range(3):
        content = {**GOLDEN_CONTENT, "session_id": "run", "seq": seq}
        if chain:
            content["prev_receipt_hash"] = checker.link_hash(chain[-1]["content"])
        chain.append(mint(checker, content, [("operator", OPERATOR_SEED, ACTION)]))
    assert checker.verify_chain(chain) == {"verdict": "Valid", "length": 3}
    assert checker.verify_chain([chain[1], chain[2]])["detail"] == (
        "genesis receipt has seq 1, expected 0"
    )
    assert checker.verify_chain([chain[0], chain[2]])["seq"] == 2
    assert checker.verify_chain([])["verdict"] == "Empty"
    wrong_kind = checker.verify_chain(lifecycle_chain(checker, [SUSPENDED]), session=False)
    assert wrong_kind == {"verdict": "WrongChainKind", "seq": 0}
    # The same chain as a .jsonl file in a directory, then next to an empty file.
    lines = [json.dumps(receipt, ensure_ascii=False) for receipt in chain]
    (tmp_path / "run.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run_json(str(tmp_path))[0] == 0
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    code, report = run_json(str(tmp_path))
    assert code == 1
    assert [c["verdict"] for c in report["chains"]] == ["Empty", "Valid"]


# --- Usage errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--pubkey", "not-a-key", "x.json"],
        ["--approver-pubkey", "AA==", "x.json"],
        ["does-not-exist.json"],
        ["--frobnicate", "x.json"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str]) -> None:
    ran = run_check(*args)
    assert ran.returncode == 2
    assert ran.stdout == ""
    [line] = ran.stderr.splitlines()
    assert line.startswith("independent_check: error: ")
