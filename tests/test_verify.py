"""Receipt verification through `heso._core`, `heso.verify` and both CLIs (issue 3)."""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import heso
from heso import _core

SCRIPTS = Path(sysconfig.get_path("scripts"))

if TYPE_CHECKING:
    from conftest import Cli

GOLDEN: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "receipts" / "golden.json").read_text()
)
ZERO_KEY = GOLDEN["keys"][0]["public_key"]
APPROVER_KEY = GOLDEN["keys"][1]["public_key"]


def golden_content() -> dict[str, Any]:
    content: dict[str, Any] = json.loads(json.dumps(GOLDEN["v2"]["content"]))
    return content


def entry(key_id: str, public_key: str, signature: str) -> dict[str, str]:
    return {
        "algorithm": "Ed25519",
        "key_id": key_id,
        "public_key": public_key,
        "signature": signature,
    }


def golden_receipt() -> dict[str, Any]:
    content = golden_content()
    content["action_hash"] = GOLDEN["v2"]["action_hash"]
    return {
        "alg": "heso-action/v2+ed25519",
        "content": content,
        "signatures": [entry("operator", ZERO_KEY, GOLDEN["v2"]["signature"])],
    }


def l1_golden_receipt() -> dict[str, Any]:
    l1 = GOLDEN["l1"]
    content = golden_content()
    content["policy"]["decision_path"] = l1["decision_path"]
    content["trust_level"] = "L1"
    content["approver_decision"] = l1["approver_decision"]
    content["action_hash"] = l1["action_hash"]
    return {
        "alg": "heso-action/v2+ed25519",
        "content": content,
        "signatures": [
            entry("operator", ZERO_KEY, l1["operator_signature"]),
            entry("approver", APPROVER_KEY, l1["approver_signature"]),
        ],
    }


def dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def test_golden_canonical_bytes_hash_and_signature_through_core() -> None:
    assert _core.canonicalize(dump(golden_content())).decode() == GOLDEN["v2"]["canonical"]
    assert _core.action_hash(dump(golden_content())) == GOLDEN["v2"]["action_hash"]
    assert _core.verify_receipt(dump(golden_receipt())) == {
        "kind": "Valid",
        "trust_level": "L0",
        "time_status": "NoTrustedTime",
        "operator_fingerprint": GOLDEN["keys"][0]["fingerprint"],
    }
    assert _core.verify_receipt(dump(l1_golden_receipt()))["trust_level"] == "L1"
    chain = GOLDEN["chain"]
    genesis = _core.link_hash(chain["session_id"], 0, chain["genesis_action_hash"])
    assert genesis == chain["genesis_link_hash"]
    assert (
        _core.link_hash(chain["session_id"], 1, chain["next_action_hash"])
        == (chain["next_link_hash"])
    )


def test_every_golden_hash_through_core() -> None:
    variants: list[tuple[dict[str, Any], str]] = []
    catalog = golden_content()
    catalog["action"].update(GOLDEN["v2_catalog"]["action_members"])
    variants.append((catalog, GOLDEN["v2_catalog"]["action_hash"]))
    v1 = golden_content()
    v1["action_version"] = GOLDEN["v1"]["action_version"]
    variants.append((v1, GOLDEN["v1"]["action_hash"]))
    chain = GOLDEN["chain"]
    genesis = golden_content()
    genesis["action"]["workflow"] = chain["genesis_workflow"]
    genesis.update(session_id=chain["session_id"], seq=0)
    variants.append((genesis, chain["genesis_action_hash"]))
    following = golden_content()
    following["action"]["workflow"] = chain["next_workflow"]
    following.update(
        session_id=chain["session_id"], seq=1, prev_receipt_hash=chain["genesis_link_hash"]
    )
    variants.append((following, chain["next_action_hash"]))
    for content, expected in variants:
        assert _core.action_hash(dump(content)) == expected
    redaction = GOLDEN["redaction"]
    preimage = (
        bytes([redaction["salt_byte"]]) * 32
        + redaction["field_path"].encode()
        + redaction["value_json"].encode()
    )
    assert _core.blake3_hex(preimage) == redaction["commitment"]
    assert _core.blake3_hex(redaction["commitment"].encode() + b"\n") == redaction["merkle_root"]


def test_tampering_is_a_hash_mismatch_not_a_signature_failure() -> None:
    receipt = golden_receipt()
    receipt["content"]["action"]["fields"]["model"] = "gpt-5"
    assert _core.verify_receipt(dump(receipt))["kind"] == "HashMismatch"
    receipt = golden_receipt()
    raw = bytearray(base64.b64decode(receipt["signatures"][0]["signature"]))
    raw[3] ^= 1
    receipt["signatures"][0]["signature"] = base64.b64encode(bytes(raw)).decode()
    assert _core.verify_receipt(dump(receipt))["kind"] == "InvalidSignature"


def test_pinning_through_core() -> None:
    receipt = dump(l1_golden_receipt())
    pinned = _core.verify_receipt(receipt, pubkeys=[ZERO_KEY], approver_pubkeys=[APPROVER_KEY])
    assert pinned["kind"] == "Valid"
    assert _core.verify_receipt(receipt, pubkeys=[ZERO_KEY])["kind"] == "UntrustedSigner"


# ---- public vector suites through heso._core ----


def test_blake3_official_vectors(vectors_dir: Path) -> None:
    cases = json.loads((vectors_dir / "blake3" / "test_vectors.json").read_text())["cases"]
    assert len(cases) == 35
    for case in cases:
        data = bytes(i % 251 for i in range(case["input_len"]))
        assert _core.blake3_hex(data) == case["hash"][:64], case["input_len"]


def test_jcs_vectors(vectors_dir: Path) -> None:
    inputs = sorted((vectors_dir / "jcs" / "input").glob("*.json"))
    assert len(inputs) == 6
    for path in inputs:
        expected = (vectors_dir / "jcs" / "output" / path.name).read_bytes()
        assert _core.canonicalize(path.read_bytes()) == expected, path.name


def test_ed25519_speccheck_accepts_only_case_3(vectors_dir: Path) -> None:
    cases = json.loads((vectors_dir / "ed25519-speccheck" / "cases.json").read_text())
    accepted = [
        index
        for index, case in enumerate(cases)
        if _core.verify_strict(
            bytes.fromhex(case["pub_key"]),
            bytes.fromhex(case["message"]),
            bytes.fromhex(case["signature"]),
        )
    ]
    assert accepted == [3]


def test_wycheproof_eddsa(vectors_dir: Path) -> None:
    document = json.loads((vectors_dir / "wycheproof" / "ed25519_test.json").read_text())
    count = 0
    for group in document["testGroups"]:
        key = bytes.fromhex(group["publicKey"]["pk"])
        for test in group["tests"]:
            got = _core.verify_strict(key, bytes.fromhex(test["msg"]), bytes.fromhex(test["sig"]))
            assert got == (test["result"] == "valid"), test["tcId"]
            count += 1
    assert count == 151


# ---- the heso 0.5.1 corpus ----


def receipt_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        return [line for line in data.split(b"\n") if line]
    return [data]


def corpus(vectors_dir: Path) -> tuple[Path, dict[str, Any]]:
    root = vectors_dir / "heso-0.5.1"
    return root, json.loads((root / "expected.json").read_text())


def test_corpus_receipts_through_core(vectors_dir: Path) -> None:
    root, expected = corpus(vectors_dir)
    for name, spec in expected["files"].items():
        lines = receipt_lines(root / name)
        for entry in spec["receipts"]:
            got = _core.verify_receipt(lines[entry["line"] - 1])
            for checker in ("verify_action_receipt", "verify_lifecycle_receipt"):
                if checker in entry:
                    assert got["kind"] == entry[checker]["kind"], (name, entry["line"])
                    if "trust_level" in entry[checker]:
                        assert got["trust_level"] == entry[checker]["trust_level"]


def test_corpus_chains_through_core(vectors_dir: Path) -> None:
    root, expected = corpus(vectors_dir)
    for name, spec in expected["files"].items():
        lines = receipt_lines(root / name)
        for chain in spec["chains"]:
            got = _core.verify_chain(lines)
            if "raised" in chain["verdict"]:
                assert (got["kind"], got.get("reason")) == ("ContentTamper", "Malformed"), name
                continue
            assert got["kind"] == chain["verdict"]["kind"], (name, got)
            if "seq" in chain["verdict"]:
                assert got["seq"] == chain["verdict"]["seq"], name


@pytest.mark.parametrize("program", ["heso", "heso-compliance"])
def test_cli_on_every_corpus_file(cli: Cli, vectors_dir: Path, program: str) -> None:
    root, expected = corpus(vectors_dir)
    for name, spec in expected["files"].items():
        ran = cli.run(program, "verify", "--no-pin", "--json", str(root / name))
        document = json.loads(ran.stdout)
        verdicts = [c["verdict"] for c in document["result"]["chains"]]
        verdicts += [r["verdict"] for r in document["result"]["receipts"]]
        should_pass = all(c["verdict"].get("kind") == "Valid" for c in spec["chains"]) and all(
            r["verify_action_receipt"]["kind"] == "Valid" for r in spec["receipts"]
        )
        assert ran.returncode == (0 if should_pass else 1), (name, ran.stdout)
        assert document["ok"] is should_pass
        assert verdicts, name


def test_both_programs_give_the_same_result(cli: Cli, vectors_dir: Path) -> None:
    root, _ = corpus(vectors_dir)
    args = [
        "verify",
        "--json",
        "--all",
        "--pubkey",
        f"@{root / 'tool-chain' / 'operator.pub'}",
        str(root),
    ]
    ours = json.loads(cli.heso(*args).stdout)
    theirs = json.loads(cli.engine(*args).stdout)
    assert ours["result"] == theirs["result"]
    assert ours["exit_code"] == theirs["exit_code"] == 1
    assert ours["tool"] == "heso"
    assert theirs["tool"] == "heso-compliance"


def test_text_output_of_a_valid_pinned_chain(cli: Cli, vectors_dir: Path) -> None:
    root, _ = corpus(vectors_dir)
    key = root / "tool-chain" / "operator.pub"
    ran = cli.heso("verify", str(root / "tool-chain" / "session.jsonl"), "--pubkey", f"@{key}")
    assert ran.returncode == 0, ran.stderr
    fingerprint = _core.fingerprint(key.read_text().strip())
    assert ran.stdout.splitlines() == [
        f"pinned: operator {fingerprint} (--pubkey); no approver keys",
        "chain tool-chain 8 receipts  Valid",
        "ok: 8 receipts verified in 1 chain, 0 failed",
    ]


def test_text_output_of_failures(cli: Cli, vectors_dir: Path) -> None:
    root, _ = corpus(vectors_dir)
    ran = cli.engine(
        "verify",
        "--no-pin",
        str(root / "tampered" / "chain-dropped-line.jsonl"),
        str(root / "tampered" / "hash-mismatch.json"),
    )
    assert ran.returncode == 1
    lines = ran.stdout.splitlines()
    assert lines[0] == "not pinned (--no-pin)"
    assert lines[1].startswith("chain tool-chain 8 receipts  ")
    assert lines[-1].startswith("fail: 1 of 1 chain failed")


def test_single_receipt_line_names_level_and_signer(cli: Cli, vectors_dir: Path) -> None:
    root, _ = corpus(vectors_dir)
    ran = cli.heso("verify", "--no-pin", str(root / "l1" / "receipt.json"))
    assert ran.returncode == 0
    line = ran.stdout.splitlines()[1]
    assert line.startswith("receipt ")
    assert "  Valid (L1)  delete delete_bucket  signed by heso:" in line


def test_stdin_and_errors(cli: Cli, vectors_dir: Path, tmp_path: Path) -> None:
    root, _ = corpus(vectors_dir)
    demo = (root / "demo" / "receipts.jsonl").read_bytes()
    piped = cli.engine("verify", "--no-pin", "-", stdin=demo)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines()[1].startswith("chain demo 2 receipts  Valid")
    missing = cli.heso("verify", "nope.json")
    assert missing.returncode == 2
    assert missing.stderr_lines == ["heso: error: no such file and not a receipt hash: `nope.json`"]
    prefix = cli.engine("verify", "7d1c0e")
    assert prefix.returncode == 2
    assert len(prefix.stderr_lines) == 1
    (tmp_path / "empty.jsonl").write_text("")
    nothing = cli.engine("verify", "--no-pin", str(tmp_path / "empty.jsonl"))
    assert nothing.returncode == 1
    assert nothing.stdout.splitlines()[-1].startswith("fail:")


def test_no_project_and_no_key_warns(cli: Cli, vectors_dir: Path) -> None:
    root, _ = corpus(vectors_dir)
    ran = cli.engine("verify", str(root / "demo" / "receipts.jsonl"))
    assert ran.returncode == 0
    assert ran.stderr_lines == [
        "heso-compliance: warning: no project and no --pubkey: signatures are checked, but not "
        "who made them"
    ]
    assert ran.stdout.splitlines()[0] == "not pinned (no project and no --pubkey)"
    assert "  signed by heso:" in ran.stdout.splitlines()[1]


def test_project_pins_its_identity(cli: Cli, vectors_dir: Path, tmp_path: Path) -> None:
    root, _ = corpus(vectors_dir)
    assert cli.heso("init", "p").returncode == 0
    project = tmp_path / "p"
    ran = cli.heso("verify", str(root / "demo" / "receipts.jsonl"), cwd=project)
    assert ran.returncode == 1
    assert ran.stdout.splitlines()[0].startswith("pinned: operator heso:")
    assert "UntrustedSigner" in ran.stdout.splitlines()[1]
    assert "(heso.toml [approvers] is empty)" in ran.stdout.splitlines()[0]


def test_python_api(vectors_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    root, _ = corpus(vectors_dir)
    key = (root / "tool-chain" / "operator.pub").read_text().strip()
    report = heso.verify(root / "tool-chain" / "session.jsonl", pubkeys=[key])
    assert report.ok
    assert report.summary["receipts"] == 8
    assert heso.verify(golden_receipt(), pin=False).receipts[0]["trust_level"] == "L0"
    with pytest.raises(heso.VerificationError) as caught:
        heso.verify(root / "tampered" / "hash-mismatch.json", pin=False)
    assert caught.value.verdict == "HashMismatch"
    assert caught.value.report.ok is False


@pytest.mark.parametrize("program", ["heso", "heso-compliance"])
def test_colour_only_when_asked_or_on_a_terminal(cli: Cli, vectors_dir: Path, program: str) -> None:
    root, _ = corpus(vectors_dir)
    path = str(root / "demo" / "receipts.jsonl")
    piped = cli.run(program, "verify", "--no-pin", path)
    assert "\x1b[" not in piped.stdout
    no_color = cli.run(program, "verify", "--no-pin", path, env={"NO_COLOR": "1"})
    assert "\x1b[" not in no_color.stdout
    forced = cli.run(program, "verify", "--no-pin", "--color", "always", path)
    assert "\x1b[32mValid\x1b[0m" in forced.stdout
    assert forced.stdout.replace("\x1b[32m", "").replace("\x1b[0m", "") == piped.stdout


def test_pinned_chain_members_carry_untrusted_signer(cli: Cli, vectors_dir: Path) -> None:
    root, _ = corpus(vectors_dir)
    stranger = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
    path = str(root / "demo" / "receipts.jsonl")
    document = json.loads(cli.engine("verify", "--json", "--pubkey", stranger, path).stdout)
    assert document["result"]["chains"][0]["verdict"] == "UntrustedSigner"
    verdicts = {r["verdict"] for r in document["result"]["receipts"]}
    assert verdicts == {"UntrustedSigner"}
    assert all(r["pinned"] is False for r in document["result"]["receipts"])
    assert document["result"]["summary"]["failed"] == 2


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--pubkey", "not-a-key"], "usage"),
        (["--no-pin", "--pubkey", ZERO_KEY], "usage"),
    ],
)
def test_both_programs_fail_alike_with_a_json_document(
    cli: Cli, vectors_dir: Path, args: list[str], code: str
) -> None:
    root, _ = corpus(vectors_dir)
    path = str(root / "demo" / "receipts.jsonl")
    documents = []
    for program in ("heso", "heso-compliance"):
        ran = cli.run(program, "verify", "--json", *args, path)
        assert ran.returncode == 2
        assert len(ran.stderr_lines) == 1, ran.stderr
        documents.append(json.loads(ran.stdout))
    assert [d["error"]["code"] for d in documents] == [code, code]
    assert documents[0]["error"]["message"] == documents[1]["error"]["message"]


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize("program", ["heso", "heso-compliance"])
def test_progress_bar_only_on_a_terminal(
    cli: Cli, vectors_dir: Path, tmp_path: Path, program: str
) -> None:
    root, _ = corpus(vectors_dir)
    # 2,400 receipts: over the threshold at which the bar appears.
    big = tmp_path / "big.jsonl"
    big.write_bytes((root / "tool-chain" / "session.jsonl").read_bytes() * 300)
    piped = cli.run(program, "verify", "--no-pin", str(big))
    assert "verifying" not in piped.stderr
    leader, follower = pty.openpty()
    try:
        completed = subprocess.run(
            [str(SCRIPTS / program), "verify", "--no-pin", str(big)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            env=cli.env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert completed.returncode == 1
    text = seen.decode()
    assert re.search(r"verifying +\d+% \[[#.]{20}\] [\d,]+/2,400 receipts", text), text
    assert text.endswith("\r\x1b[K"), repr(text[-40:])
    assert b"verifying" not in completed.stdout
