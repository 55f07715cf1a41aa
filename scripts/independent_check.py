"""Re-verify heso Action Receipts v2 independently of heso (receipts.md §16 item 7).

This checker is independent on purpose. It was written only from `receipts.md`, and it is built
only on three third-party packages (`rfc8785` for canonical JSON, `blake3`, and `cryptography` for
Ed25519) and the standard library. It exists so that a bug shared by heso's minting and heso's
verifying code cannot hide: the same bytes must pass a second, separately written verifier. For
that reason it MUST NEVER import heso, share code with heso, or be imported by heso.

Usage (each flag may be repeated):

    python scripts/independent_check.py [--json] [--pubkey B64] [--approver-pubkey B64] PATH...

PATH is a `.json` file (one receipt, or an array of receipts), a `.jsonl` file (one receipt per
line, split on LF only) or a directory (walked recursively in sorted order for `*.json` and
`*.jsonl`). Every receipt gets its own verdict (receipts.md §9). Within each file, the receipts
are split by `content.session_id` in input order, and each session is verified as one chain
(§10): as an action chain (§10.1) when no receipt carries `kind`, and as a session chain (§10.2)
otherwise. A chain never spans two files. Receipts without a `session_id` stand alone. With
`--pubkey` or `--approver-pubkey`, signers are pinned (§15.1). If either set is given, pinning is
on for both roles, and a set that was not given is empty.

Exit status: 0 when every receipt and every chain is `Valid`, 1 when any is not, 2 on usage
errors.

Where the packages and the spec meet, these choices were made:

* `rfc8785` raises `IntegerDomainError` for integers beyond +-(2**53 - 1). RFC 8785 (and
  receipts.md §3) define numbers as IEEE-754 doubles printed in ES6 form, so such integers are
  converted to the nearest double before canonicalization: `2**53 + 1` canonicalizes as
  `9007199254740992`, and `10**21` as `1e+21`. Floats are handed to the package unchanged, and it
  prints them in ES6 form (`1e-7`, `1e+21`, `-0.0` as `0`).
* `json.loads` accepts `NaN`, `Infinity` and duplicate member names, and it turns the escape
  `"\\ud800"` into a lone surrogate in a `str`. Each of these, and numbers beyond the double range,
  is `Malformed` here (§1.4).
* `cryptography`'s Ed25519 verifier (OpenSSL) is not strict: it accepts speccheck cases 0, 1, 2,
  3 and 11 (§12). The checks that it lacks are done here first: S < L, canonical and decodable
  encodings of A and R, and no small-order A or R.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, NoReturn

PROGRAM = "independent_check"

try:
    import blake3
    import rfc8785
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError as missing:  # pragma: no cover - depends on the environment
    sys.stderr.write(
        f"{PROGRAM}: error: the package `{missing.name}` is not installed; run "
        "`pip install rfc8785==0.1.4 blake3==1.0.10 cryptography==50.0.2`\n"
    )
    raise SystemExit(2) from None

ALG_V2 = "heso-action/v2+ed25519"
ALG_V1 = "heso-action/v1+ed25519"
ACTION_VERSION = "heso-action/2.0"

# Signing domains (§4): the ASCII text followed by one NUL byte.
DOMAIN_ACTION = b"heso-action/v1\x00"
DOMAIN_APPROVAL = b"heso-approval/v1\x00"
DOMAIN_SUSPEND = b"heso-action-suspend/v1\x00"
DOMAIN_DECISION = b"heso-action-decision/v1\x00"
DOMAIN_CHAIN = b"heso-rcpt-chain/v1\x00"

OPERATOR = "operator"
APPROVER = "approver"
MAX_SAFE_INTEGER = 2**53 - 1
REDACTED = "[redacted]"
COMMIT_ALGORITHM = "salted-blake3/v1"
HEX_DIGITS = frozenset("0123456789abcdef")

Json = Any
Obj = dict[str, Any]
Signer = tuple[str, bytes]
ChainVerdict = dict[str, Any]


class Rejected(Exception):
    """A gate failed: the verdict name (§9, §10.5) and a detail for people."""

    def __init__(self, verdict: str, detail: str) -> None:
        super().__init__(f"{verdict}: {detail}")
        self.verdict = verdict
        self.detail = detail


@dataclass(frozen=True)
class Verdict:
    """The outcome for one receipt; `signers` are (role, raw key) of the signatures that counted."""

    name: str
    detail: str = ""
    trust_level: str = ""
    signers: tuple[Signer, ...] = ()


@dataclass(frozen=True)
class Pins:
    """Pinned operator and approver keys (§15.1), as raw 32-byte keys."""

    operators: frozenset[bytes]
    approvers: frozenset[bytes]


@dataclass(frozen=True)
class Item:
    """One receipt as read from a file: the parsed value, or why it could not be parsed."""

    source: str
    line: int
    value: Json
    error: str = ""


# --- Ed25519 (§12) ----------------------------------------------------------------------------

FIELD_PRIME = 2**255 - 19
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
CURVE_D = -121665 * pow(121666, -1, FIELD_PRIME) % FIELD_PRIME
SQRT_MINUS_ONE = pow(2, (FIELD_PRIME - 1) // 4, FIELD_PRIME)
Y_MASK = (1 << 255) - 1
SIGN_BIT = 1 << 255


def field_sqrt(value: int) -> int | None:
    """A square root mod p (p = 5 mod 8, RFC 8032 §5.1.3), or None when there is none."""
    value %= FIELD_PRIME
    root = pow(value, (FIELD_PRIME + 3) // 8, FIELD_PRIME)
    if root * root % FIELD_PRIME != value:
        root = root * SQRT_MINUS_ONE % FIELD_PRIME
    return root if root * root % FIELD_PRIME == value else None


def small_order_y() -> list[int]:
    """The y coordinates of the 8 points whose order divides 8, derived from the curve equation.

    The identity is (0, 1), the point of order 2 is (0, -1) and the two points of order 4 are
    (+-sqrt(-1), 0). Doubling (x, y) on -x^2 + y^2 = 1 + d x^2 y^2 gives y' = (x^2 + y^2) /
    (2 + x^2 - y^2), so the double is of order 4 (y' = 0) exactly when x^2 = -y^2. On the curve
    that means d y^4 + 2 y^2 - 1 = 0, so y^2 = (-1 +- sqrt(1 + d)) / d. The root that is a square
    gives the four points of order 8, (+-x, +-y).
    """
    ys = [1, FIELD_PRIME - 1, 0]
    root = field_sqrt(1 + CURVE_D)
    if root is None:  # pragma: no cover - 1 + d is a square on edwards25519
        return ys
    inverse_d = pow(CURVE_D, -1, FIELD_PRIME)
    for y_squared in ((-1 + root) * inverse_d, (-1 - root) * inverse_d):
        y = field_sqrt(y_squared)
        if y is not None:
            ys += [y, FIELD_PRIME - y]
    return ys


def small_order_encodings() -> frozenset[bytes]:
    """Every 32-byte string that decodes to a small-order point.

    For each small-order y: both values of the x sign bit (for x = 0 the set bit is a
    non-canonical spelling that lax decoders accept) and, where y + p < 2**255, the
    non-canonical y + p. That gives 14 strings: 8 canonical and 6 non-canonical.
    """
    encodings = set()
    for y in small_order_y():
        for spelled in (y, y + FIELD_PRIME):
            if spelled <= Y_MASK:
                for sign in (0, SIGN_BIT):
                    encodings.add((spelled | sign).to_bytes(32, "little"))
    return frozenset(encodings)


SMALL_ORDER_ENCODINGS = small_order_encodings()


def decodes_canonically(encoding: bytes) -> bool:
    """True when `encoding` is a canonical (y < p) encoding of a point on the curve.

    ed25519-dalek's `verify_strict` rejects a non-canonical R through its final byte comparison.
    It would accept a non-canonical A that is not of small order, but nobody can sign for such a
    key: its discrete logarithm is unknown. So rejecting it here never changes a result.
    """
    y = int.from_bytes(encoding, "little") & Y_MASK
    if y >= FIELD_PRIME:
        return False
    y_squared = y * y % FIELD_PRIME
    x_squared = (y_squared - 1) * pow(CURVE_D * y_squared + 1, -1, FIELD_PRIME)
    return field_sqrt(x_squared) is not None


def ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Strict Ed25519 verification with the acceptance set of dalek's `verify_strict` (§12)."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    point_r, scalar_s = signature[:32], signature[32:]
    if int.from_bytes(scalar_s, "little") >= GROUP_ORDER:
        return False
    for point in (public_key, point_r):
        if not decodes_canonically(point) or point in SMALL_ORDER_ENCODINGS:
            return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def b64decode_strict(text: str) -> bytes | None:
    """Standard-alphabet base64 with padding and zero trailing bits, or None (§1.2)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def fingerprint(public_key: bytes) -> str:
    """The signer fingerprint of §13."""
    return "heso:" + blake3.blake3(public_key).hexdigest()[:32]


# --- Canonical JSON and hashes (§3, §7.2, §8.3, §6.5) -----------------------------------------


def as_ieee_numbers(value: Json) -> Json:
    """`value` with every integer beyond +-(2**53 - 1) replaced by the nearest double."""
    if isinstance(value, bool) or not isinstance(value, (int, list, dict)):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else float(value)
    if isinstance(value, list):
        return [as_ieee_numbers(item) for item in value]
    return {key: as_ieee_numbers(item) for key, item in value.items()}


def canonical(value: Json) -> bytes:
    """RFC 8785 bytes of `value`; a value that has none is `Malformed`."""
    try:
        return rfc8785.dumps(as_ieee_numbers(value))
    except (rfc8785.CanonicalizationError, RecursionError, OverflowError) as error:
        raise Rejected("Malformed", f"content cannot be canonicalized: {error}") from None


def blake3_hex(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def signed_bytes(content: Obj, *also_without: str) -> bytes:
    """C of §3: the content without its top-level `action_hash` (and `also_without`)."""
    dropped = {"action_hash", *also_without}
    return canonical({name: value for name, value in content.items() if name not in dropped})


def length_prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(8, "little") + data


def link_hash(content: Obj) -> str:
    """The link hash of §7.2 (a receipt without a chain block hashes as session "" and seq 0)."""
    link_input = (
        DOMAIN_CHAIN
        + length_prefixed(content.get("session_id", "").encode("utf-8"))
        + length_prefixed(content.get("seq", 0).to_bytes(8, "little"))
        + length_prefixed(content["action_hash"].encode("ascii"))
    )
    return blake3_hex(link_input)


def merkle_root(commitments: Iterable[str]) -> str:
    """§8.3: BLAKE3 of each commitment's hex text followed by one LF, in marker order."""
    return blake3_hex(b"".join(commitment.encode("ascii") + b"\n" for commitment in commitments))


GROUPING_MEMBERS = (
    "verb",
    "domain",
    "action",
    "tool_name",
    "target_host",
    "workflow",
    "account",
    "fields",
)


def grouping_key(action: Obj) -> str:
    """The action spec hash of §6.5 (absent members written as null)."""
    described = {name: action.get(name) for name in GROUPING_MEMBERS}
    return blake3_hex(DOMAIN_CHAIN + canonical(described))


def is_hex64(text: str) -> bool:
    return len(text) == 64 and set(text) <= HEX_DIGITS


# --- Strict JSON (§1.4 items 1, 6, 7 and non-finite numbers) ----------------------------------


def object_without_duplicates(pairs: list[tuple[str, Json]]) -> Obj:
    members: Obj = {}
    for name, value in pairs:
        if name in members:
            msg = f"duplicate member `{name}`"
            raise ValueError(msg)
        members[name] = value
    return members


def reject_constant(name: str) -> NoReturn:
    msg = f"`{name}` is not a JSON number"
    raise ValueError(msg)


def check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        msg = "a string holds a lone UTF-16 surrogate"
        raise ValueError(msg) from None


def check_scalars(value: Json) -> None:
    """Reject lone surrogates and numbers that are not finite doubles, anywhere in `value`."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            msg = "a number is not a finite double"
            raise ValueError(msg)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_SAFE_INTEGER:
            float(item)  # OverflowError beyond the double range
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            for name, member in item.items():
                check_text(name)
                pending.append(member)


def parse_json(data: bytes) -> Json:
    """Strictly parsed JSON; ValueError (with a message for people) when `data` is not."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=object_without_duplicates,
            parse_constant=reject_constant,
        )
        check_scalars(value)
    except (ValueError, RecursionError, OverflowError) as error:
        msg = f"not strict UTF-8 JSON: {error}"
        raise ValueError(msg) from None
    return value


# --- Gate G0: the shape of a receipt (§1, §2, §2.8) -------------------------------------------

Checker = Callable[[Json, str], None]
Schema = dict[str, tuple[bool, Checker]]


def malformed(detail: str) -> NoReturn:
    raise Rejected("Malformed", detail)


def any_json(value: Json, where: str) -> None:
    """Any JSON value, null included (opaque values)."""


def not_null(value: Json, where: str) -> None:
    """Any JSON value; null is refused by `shaped` for every named member but `any_json` ones."""


def string(value: Json, where: str) -> None:
    if not isinstance(value, str):
        malformed(f"`{where}` must be a string")


def json_object(value: Json, where: str) -> None:
    if not isinstance(value, dict):
        malformed(f"`{where}` must be an object")


def one_of(*allowed: str) -> Checker:
    def check(value: Json, where: str) -> None:
        string(value, where)
        if value not in allowed:
            expected = ", ".join(f"`{name}`" for name in allowed)
            malformed(f"`{where}` is `{value}`; expected one of {expected}")

    return check


def unsigned(bits: int) -> Checker:
    def check(value: Json, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
            malformed(f"`{where}` must be an integer from 0 to 2^{bits} - 1")

    return check


def array_of(item: Checker) -> Checker:
    def check(value: Json, where: str) -> None:
        if not isinstance(value, list):
            malformed(f"`{where}` must be an array")
        for index, element in enumerate(value):
            item(element, f"{where}[{index}]")

    return check


def shaped(schema: Schema) -> Checker:
    """An object with exactly the members of `schema`, none of them null (§1.4 items 2, 3, 5)."""

    def check(value: Json, where: str) -> None:
        json_object(value, where)
        for name in value:
            if name not in schema:
                malformed(f"unknown member `{name}` in `{where}`")
        for name, (required, checker) in schema.items():
            path = f"{where}.{name}"
            if name not in value:
                if required:
                    malformed(f"missing member `{path}`")
                continue
            if value[name] is None and checker is not any_json:
                malformed(f"`{path}` is null")
            checker(value[name], path)

    return check


def mandate(value: Json, where: str) -> None:
    """Opaque, except that `verdict`, when present, is read (G9) and must be in its enum."""
    json_object(value, where)
    if "verdict" in value:
        one_of("valid", "invalid", "absent")(value["verdict"], f"{where}.verdict")


def req(checker: Checker) -> tuple[bool, Checker]:
    return (True, checker)


def opt(checker: Checker) -> tuple[bool, Checker]:
    return (False, checker)


RECORD = shaped(
    {
        "decision": req(one_of("approved", "rejected", "escalated")),
        "approver_identity": req(string),
        "reason": req(string),
        "decided_at": req(string),
        "sla_minutes": opt(unsigned(32)),
    }
)
ACTION = shaped(
    {
        "verb": req(
            one_of(
                "llm_call",
                "tool_call",
                "http_request",
                "payment",
                "data_export",
                "account_change",
                "delete",
            )
        ),
        "domain": opt(string),
        "action": opt(string),
        "ert": opt(json_object),
        "tool_name": req(string),
        "target_host": opt(string),
        "workflow": req(string),
        "account": req(string),
        "fields": req(json_object),
        "result_hash": opt(string),
        "error": opt(string),
        "mandate": opt(mandate),
        "metrics": opt(not_null),
    }
)
POLICY = shaped(
    {
        "rule_id": req(string),
        "rule_display": req(string),
        "matched_conditions": req(
            array_of(shaped({"field": req(string), "op": req(string), "value": req(any_json)}))
        ),
        "decision_path": req(one_of("allow", "block", "redact", "require_approval")),
    }
)
MULTI_APPROVAL = shaped(
    {
        "threshold": req(unsigned(32)),
        "roster": req(array_of(string)),
        "approvers": req(array_of(RECORD)),
    }
)
REDACTION = shaped(
    {
        "mode": req(one_of("destructive", "commit_and_reveal")),
        "markers": req(
            array_of(
                shaped(
                    {
                        "field_path": req(string),
                        "algorithm": req(string),
                        "commitment": req(string),
                    }
                )
            )
        ),
        "merkle_root": opt(string),
    }
)
KEY_ROTATION = shaped(
    {
        "role": req(one_of("producer", "decision")),
        "outgoing_public_key": req(string),
        "incoming_public_key": req(string),
    }
)
TIME_ANCHOR = shaped(
    {
        "kind": req(string),
        "token_b64": req(string),
        "tsa": req(string),
        "anchored_hash": req(string),
    }
)
LIFECYCLE_KINDS = (
    "action",
    "suspended",
    "approved",
    "denied",
    "expired",
    "escalated",
    "completed",
    "key_rotation",
)
CONTENT = shaped(
    {
        "action_version": req(string),
        "captured_at": req(string),
        "agent_identity": req(string),
        "action": req(ACTION),
        "policy": req(POLICY),
        "approver_decision": opt(RECORD),
        "multi_approval": opt(MULTI_APPROVAL),
        "redaction": opt(REDACTION),
        "guardrail": opt(json_object),
        "trust_level": req(one_of("L0", "L1")),
        "action_hash": req(string),
        "session_id": opt(string),
        "seq": opt(unsigned(64)),
        "prev_receipt_hash": opt(string),
        "kind": opt(one_of(*LIFECYCLE_KINDS)),
        "suspension": opt(json_object),
        "key_rotation": opt(KEY_ROTATION),
        "nonce": opt(string),
        "time_anchor": opt(TIME_ANCHOR),
        "anchor_policy": opt(one_of("required")),
        "attestation": opt(json_object),
        "metrics": opt(not_null),
    }
)
SIGNATURE_ENTRY = shaped(
    {
        "algorithm": req(string),
        "key_id": req(string),
        "public_key": req(string),
        "signature": req(string),
        "valid_from": opt(string),
        "valid_until": opt(string),
    }
)


def transparency(value: Json, where: str) -> None:
    if not isinstance(value, list):
        malformed(f"`{where}` must be an array")


ENVELOPE = shaped(
    {
        "alg": req(string),
        "content": req(CONTENT),
        "signatures": req(array_of(SIGNATURE_ENTRY)),
        "transparency": opt(transparency),
    }
)


# --- Gates G1-G11 (§9.1-§9.4) -----------------------------------------------------------------


def check_algorithm(receipt: Obj) -> None:
    """G1 and G2.

    The v1 tag passes G1 so that a v1 receipt (v1 tag, `heso-action/1.0`) is `Unsupported` at G2
    as §9.1 says. A v1 tag on `heso-action/2.0` content is `WrongAlgorithm`: that is what 0.5.1
    reports for `tampered/wrong-alg-v1-envelope.json`, and the corpus verdicts win.
    """
    alg, version = receipt["alg"], receipt["content"]["action_version"]
    if alg not in (ALG_V2, ALG_V1):
        raise Rejected("WrongAlgorithm", alg)
    if version != ACTION_VERSION:
        raise Rejected(
            "Unsupported", f"action_version `{version}` (this checker supports `{ACTION_VERSION}`)"
        )
    if alg != ALG_V2:
        raise Rejected("WrongAlgorithm", alg)


def check_hash(content: Obj) -> bytes:
    """G3: returns C, the canonical bytes every signature covers."""
    signed = signed_bytes(content)
    if blake3_hex(signed) != content["action_hash"]:
        raise Rejected("HashMismatch", "action_hash does not match the content")
    return signed


def check_key_ids(entries: list[Obj]) -> None:
    """G4a."""
    for entry in entries:
        if entry["key_id"] not in (OPERATOR, APPROVER):
            malformed(f"signature key_id `{entry['key_id']}`; expected `operator` or `approver`")


def verified_key(entry: Obj, message: bytes) -> bytes | None:
    """The raw public key of `entry` when its signature verifies over `message`, else None."""
    if entry["algorithm"] != "Ed25519":
        return None
    public_key = b64decode_strict(entry["public_key"])
    signature = b64decode_strict(entry["signature"])
    if public_key is None or signature is None:
        return None
    return public_key if ed25519_verify(public_key, signature, message) else None


def entries_with_role(entries: list[Obj], role: str) -> list[Obj]:
    return [entry for entry in entries if entry["key_id"] == role]


def single_operator(entries: list[Obj]) -> Obj:
    operators = entries_with_role(entries, OPERATOR)
    if not operators:
        malformed("no `operator` signature entry")
    if len(operators) > 1:
        malformed("more than one `operator` signature entry")
    return operators[0]


def check_single_lane(entries: list[Obj], signed: bytes) -> tuple[tuple[Signer, ...], str]:
    """G4 without `multi_approval` (§9.2)."""
    operator = single_operator(entries)
    approvers = entries_with_role(entries, APPROVER)
    if len(approvers) > 1:
        malformed("more than one `approver` signature entry without `multi_approval`")
    operator_key = verified_key(operator, DOMAIN_ACTION + signed)
    if operator_key is None:
        raise Rejected("InvalidSignature", "the operator signature does not verify")
    if not approvers:
        return ((OPERATOR, operator_key),), "L0"
    approver_key = verified_key(approvers[0], DOMAIN_APPROVAL + signed)
    if approver_key is None:
        raise Rejected("InvalidSignature", "the approver signature does not verify")
    if approver_key == operator_key:
        raise Rejected("SelfApproval", "the approver key is the operator key")
    return ((OPERATOR, operator_key), (APPROVER, approver_key)), "L1"


def with_approvers(content: Obj, records: list[Obj]) -> Obj:
    return {**content, "multi_approval": {**content["multi_approval"], "approvers": records}}


def check_leg(content: Obj, entry: Obj, operator: Obj, seen: set[str]) -> bytes:
    """One approver entry of the quorum lane (§9.3), in the order the spec lists the checks."""
    quorum, identity = content["multi_approval"], entry["public_key"]
    record = next((r for r in quorum["approvers"] if r["approver_identity"] == identity), None)
    if record is None:
        malformed(f"no quorum record for approver `{identity}`")
    if identity in seen:
        malformed(f"approver `{identity}` signed twice")
    seen.add(identity)
    if identity == operator["public_key"]:
        raise Rejected("SelfApproval", "a quorum approver key is the operator key")
    if identity not in quorum["roster"]:
        malformed(f"approver `{identity}` is not on the roster")
    if record["decision"] != "approved":
        malformed(f"the quorum record of `{identity}` is not `approved`")
    key = verified_key(entry, DOMAIN_APPROVAL + signed_bytes(with_approvers(content, [record])))
    if key is None:
        raise Rejected("InvalidSignature", f"the leg of approver `{identity}` does not verify")
    return key


def check_quorum_lane(content: Obj, entries: list[Obj]) -> tuple[tuple[Signer, ...], str]:
    """G4 with `multi_approval` (§9.3)."""
    quorum = content["multi_approval"]
    if "approver_decision" in content:
        malformed("`approver_decision` and `multi_approval` are both present")
    if quorum["threshold"] == 0 or not quorum["roster"]:
        malformed("a quorum needs a threshold of at least 1 and a non-empty roster")
    operator = single_operator(entries)
    operator_key = verified_key(operator, DOMAIN_ACTION + signed_bytes(with_approvers(content, [])))
    if operator_key is None:
        raise Rejected("InvalidSignature", "the operator signature over the quorum base fails")
    approvers = entries_with_role(entries, APPROVER)
    if len(approvers) != len(quorum["approvers"]):
        malformed("the number of approver signatures differs from the number of quorum records")
    seen: set[str] = set()
    legs = [check_leg(content, entry, operator, seen) for entry in approvers]
    if len(legs) < quorum["threshold"]:
        raise Rejected("ThresholdNotMet", f"have={len(legs)} need={quorum['threshold']}")
    return ((OPERATOR, operator_key), *((APPROVER, key) for key in legs)), "L1"


def lifecycle_signing(content: Obj) -> tuple[bytes, str]:
    """The required domain and role (`producer` or `decision`) of a lifecycle link (§5.4)."""
    kind = content["kind"]
    if kind == "key_rotation":
        if "key_rotation" not in content:
            malformed("a `key_rotation` link without a `key_rotation` member")
        role = content["key_rotation"]["role"]
        return (DOMAIN_ACTION if role == "producer" else DOMAIN_DECISION), role
    if kind == "suspended":
        return DOMAIN_SUSPEND, "producer"
    if kind == "completed":
        return DOMAIN_ACTION, "producer"
    return DOMAIN_DECISION, "decision"


def check_lifecycle_lane(
    content: Obj, entries: list[Obj], signed: bytes
) -> tuple[tuple[Signer, ...], str]:
    """L4 and L4b of §9.4."""
    domain, role = lifecycle_signing(content)
    kind = content["kind"]
    signer = next((k for e in entries if (k := verified_key(e, domain + signed)) is not None), None)
    if signer is None:
        if role == "decision" and any(verified_key(e, DOMAIN_ACTION + signed) for e in entries):
            raise Rejected("RoleViolation", f"`{kind}` is signed as an action, not as a decision")
        malformed(f"no signature verifies under the domain of `{kind}`")
    if role == "decision" and any(
        verified_key(entry, DOMAIN_ACTION + signed) == signer for entry in entries
    ):
        raise Rejected("RoleViolation", f"the `{kind}` signer also signed as the operator")
    if role == "producer":
        return ((OPERATOR, signer),), "L0"
    return ((APPROVER, signer),), "L1"


def field_at(fields: Obj, path: str) -> Json:
    """The value at a dotted path (§8.1), or a fresh sentinel object when it does not resolve."""
    value: Json = fields
    for name in path.split("."):
        if not isinstance(value, dict) or name not in value:
            return object()
        value = value[name]
    return value


def check_marker(marker: Obj, commit: bool, fields: Obj) -> None:
    path, commitment = marker["field_path"], marker["commitment"]
    if commit and marker["algorithm"] != COMMIT_ALGORITHM:
        bad_redaction(f"marker `{path}` uses `{marker['algorithm']}` in commit_and_reveal mode")
    if commit and not is_hex64(commitment):
        bad_redaction(f"marker `{path}` commitment is not 64 lowercase hex")
    if not commit and marker["algorithm"] == COMMIT_ALGORITHM:
        bad_redaction(f"destructive marker `{path}` uses `{COMMIT_ALGORITHM}`")
    if not commit and commitment != "":
        bad_redaction(f"destructive marker `{path}` must carry no commitment")
    expected: Json = {"_sd": commitment} if commit else REDACTED
    if field_at(fields, path) != expected:
        bad_redaction(f"the value at `{path}` is not the placeholder of its marker")


def bad_redaction(detail: str) -> NoReturn:
    raise Rejected("MalformedRedaction", detail)


def check_redaction(content: Obj) -> None:
    """G5 (§8.4), with the [stricter] placeholder, duplicate-path and merkle_root rules."""
    redaction = content.get("redaction")
    if redaction is None:
        return
    commit = redaction["mode"] == "commit_and_reveal"
    paths: set[str] = set()
    for marker in redaction["markers"]:
        check_marker(marker, commit, content["action"]["fields"])
        if marker["field_path"] in paths:
            bad_redaction(f"two markers share the field_path `{marker['field_path']}`")
        paths.add(marker["field_path"])
    if commit and "merkle_root" in redaction:
        recomputed = merkle_root(marker["commitment"] for marker in redaction["markers"])
        if redaction["merkle_root"] != recomputed:
            bad_redaction("merkle_root does not match the markers")


def check_trust_level(content: Obj, derived: str) -> None:
    """G6."""
    if content["trust_level"] != derived:
        embedded = content["trust_level"]
        raise Rejected("TrustLevelMismatch", f"embedded={embedded} derived={derived}")


def check_time_anchor(content: Obj) -> None:
    """G7: every present anchor fails, because RFC 3161 verification is not implemented."""
    anchor = content.get("time_anchor")
    if anchor is None:
        return
    if anchor["kind"] != "rfc3161":
        detail = f"time_anchor kind `{anchor['kind']}` is not `rfc3161`"
    elif anchor["anchored_hash"] != blake3_hex(signed_bytes(content, "time_anchor")):
        detail = "anchored_hash is not the pre-anchor hash"
    elif not b64decode_strict(anchor["token_b64"]):
        detail = "token_b64 is empty or not strict base64"
    else:
        detail = "RFC 3161 token verification is not implemented (fails closed)"
    raise Rejected("TimeAnchorUnverifiable", detail)


def check_anchor_policy(content: Obj) -> None:
    """G8 (a present anchor has already failed G7)."""
    if content.get("anchor_policy") == "required" and "time_anchor" not in content:
        raise Rejected("AnchorRequired", "anchor_policy is `required` but there is no time_anchor")


def check_mandate(content: Obj) -> None:
    """G9."""
    action = content["action"]
    if action["verb"] == "payment" and "mandate" in action:
        verdict = action["mandate"].get("verdict")
        if verdict != "valid":
            raise Rejected("MandateRejected", f"payment mandate verdict is `{verdict}`")


def check_identity(content: Obj, signers: tuple[Signer, ...]) -> None:
    """G10 (§15.1), with the empty-`agent_identity` exception for 0.5.1's `completed` links."""
    kind = content.get("kind", "action")
    lifecycle = kind != "action"
    for role, key in signers:
        if role == OPERATOR:
            empty_completed = kind == "completed" and content["agent_identity"] == ""
            if content["agent_identity"] != b64encode(key) and not empty_completed:
                raise Rejected("IdentityMismatch", "agent_identity is not the operator key")
    approver_keys = [key for role, key in signers if role == APPROVER]
    if len(approver_keys) != 1 or "multi_approval" in content:
        return
    record = content.get("approver_decision")
    if record is None and not lifecycle:
        raise Rejected("IdentityMismatch", "an approver signed, but there is no approver_decision")
    if record is not None and record["approver_identity"] != b64encode(approver_keys[0]):
        raise Rejected("IdentityMismatch", "approver_identity is not the approver signer's key")


def unpinned_signer(signers: Iterable[Signer], pins: Pins) -> Signer | None:
    for role, key in signers:
        if key not in (pins.operators if role == OPERATOR else pins.approvers):
            return role, key
    return None


def check_pins(signers: tuple[Signer, ...], pins: Pins | None) -> None:
    """G11 (only when pinning was requested)."""
    if pins is None:
        return
    unpinned = unpinned_signer(signers, pins)
    if unpinned is not None:
        role, key = unpinned
        raise Rejected("UntrustedSigner", f"{role} {fingerprint(key)} is not pinned")


def check_signatures(receipt: Obj, signed: bytes) -> tuple[tuple[Signer, ...], str]:
    """G4a, then G4 (plain) or L4/L4b (lifecycle)."""
    content, entries = receipt["content"], receipt["signatures"]
    check_key_ids(entries)
    if content.get("kind", "action") != "action":
        return check_lifecycle_lane(content, entries, signed)
    if "multi_approval" in content:
        return check_quorum_lane(content, entries)
    return check_single_lane(entries, signed)


def run_gates(value: Json, pins: Pins | None) -> Verdict:
    """Gates G0-G11 in the order of §9.1 (or §9.4 for lifecycle links); raises `Rejected`."""
    if not isinstance(value, dict):
        malformed("a receipt must be a JSON object")
    ENVELOPE(value, "receipt")
    check_algorithm(value)
    content = value["content"]
    signed = check_hash(content)
    signers, level = check_signatures(value, signed)
    check_redaction(content)
    check_trust_level(content, level)
    check_time_anchor(content)
    check_anchor_policy(content)
    check_mandate(content)
    check_identity(content, signers)
    check_pins(signers, pins)
    return Verdict("Valid", trust_level=level, signers=signers)


def verify_receipt(value: Json, pins: Pins | None = None) -> Verdict:
    """The verdict of one parsed receipt (§9); `pins=None` skips G11."""
    try:
        return run_gates(value, pins)
    except Rejected as rejected:
        return Verdict(rejected.verdict, rejected.detail)


# --- Chains (§10) -----------------------------------------------------------------------------


def content_of(value: Json) -> Obj:
    """`content` of a value that may be malformed, or {} (for grouping and reporting only)."""
    content = value.get("content") if isinstance(value, dict) else None
    return content if isinstance(content, dict) else {}


def lenient_seq(value: Json) -> int:
    seq = content_of(value).get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def session_of(value: Json) -> str | None:
    session = content_of(value).get("session_id")
    return session if isinstance(session, str) else None


def has_kind(value: Json) -> bool:
    return "kind" in content_of(value)


def link_broken(content: Obj, detail: str) -> ChainVerdict:
    return {"verdict": "LinkBroken", "seq": content.get("seq", 0), "detail": detail}


def check_genesis(genesis: Obj) -> ChainVerdict | None:
    """Step 2 of §10.1."""
    if "session_id" not in genesis or "seq" not in genesis:
        return link_broken(genesis, "the genesis receipt has no chain block")
    if genesis["seq"] != 0:
        return link_broken(genesis, f"genesis receipt has seq {genesis['seq']}, expected 0")
    if genesis.get("prev_receipt_hash", "") != "":
        return link_broken(genesis, "the genesis receipt has a prev_receipt_hash")
    return None


def check_successor(previous: Obj, current: Obj, session: str) -> ChainVerdict | None:
    """Step 3 of §10.1 for one link and its actual predecessor."""
    if current.get("session_id") != session:
        return link_broken(current, "session_id changed mid-chain")
    if "seq" not in current:
        return link_broken(current, "a chained receipt has no seq")
    expected = previous["seq"] + 1
    if current["seq"] != expected:
        return link_broken(
            current,
            f"seq {current['seq']} out of order (expected {expected}); "
            "a drop, reorder or insert breaks the chain",
        )
    if current.get("prev_receipt_hash") != link_hash(previous):
        return link_broken(
            current, f"prev_receipt_hash is not the link hash of seq {previous['seq']}"
        )
    return None


def check_links(contents: list[Obj]) -> ChainVerdict | None:
    """Steps 2 and 3 of §10.1 on receipts that passed every per-receipt gate."""
    broken = check_genesis(contents[0])
    for previous, current in pairwise(contents):
        broken = broken or check_successor(previous, current, contents[0]["session_id"])
    return broken


TERMINAL_KINDS = frozenset({"denied", "expired", "completed"})
TRANSITIONS: dict[str, dict[str, str]] = {
    "": {"suspended": "Suspended", "action": "Fast", "completed": "Terminal"},
    "Suspended": {
        "approved": "Approved",
        "escalated": "Escalated",
        "denied": "Terminal",
        "expired": "Terminal",
    },
    "Escalated": {
        "escalated": "Escalated",
        "approved": "Approved",
        "denied": "Terminal",
        "expired": "Terminal",
    },
    "Approved": {"completed": "Terminal"},
    "Fast": {"completed": "Terminal"},
    "Terminal": {},
}


def check_transitions(contents: list[Obj]) -> ChainVerdict | None:
    """The transition graph of §6.6, per grouping key (§6.5), in chain order."""
    states: dict[str, tuple[str, str]] = {}  # grouping key -> (state, the kind that set it)
    for content in contents:
        kind = content.get("kind", "action")
        if kind == "key_rotation":
            continue
        group = grouping_key(content["action"])
        state, last_kind = states.get(group, ("", ""))
        if state == "Terminal" and kind in TERMINAL_KINDS:
            return {
                "verdict": "DoubleTerminal",
                "seq": content["seq"],
                "first": last_kind,
                "second": kind,
            }
        following = TRANSITIONS[state].get(kind)
        if following is None:
            after = f"after `{last_kind}`" if last_kind else "as the first link of its action"
            detail = f"`{kind}` cannot come {after}"
            return {"verdict": "IllegalTransition", "seq": content["seq"], "detail": detail}
        states[group] = (following, kind)
    return None


def check_chain_pins(
    values: list[Json], verdicts: list[Verdict], pins: Pins
) -> ChainVerdict | None:
    """The pinning step of §10.1 (step 4) and §10.2 (step 5)."""
    for value, verdict in zip(values, verdicts, strict=True):
        unpinned = unpinned_signer(verdict.signers, pins)
        if unpinned is not None:
            role, key = unpinned
            detail = f"{role} {fingerprint(key)} is not pinned"
            return {
                "verdict": "UntrustedSigner",
                "seq": lenient_seq(value),
                "role": role,
                "detail": detail,
            }
    return None


def per_receipt_failure(value: Json, verdict: Verdict) -> ChainVerdict:
    """ContentTamper with the inner verdict, or RoleViolation reported directly (§10)."""
    seq = lenient_seq(value)
    if verdict.name == "RoleViolation":
        content = content_of(value)
        return {
            "verdict": "RoleViolation",
            "seq": seq,
            "kind": content.get("kind"),
            "required": "decision",
            "detail": verdict.detail,
        }
    return {
        "verdict": "ContentTamper",
        "seq": seq,
        "reason": verdict.name,
        "detail": verdict.detail,
    }


def verify_chain(
    values: list[Json], pins: Pins | None = None, *, session: bool | None = None
) -> ChainVerdict:
    """A chain verdict (§10): the session rules when `session` (default: any link has `kind`)."""
    if not values:
        return {"verdict": "Empty"}
    if session is None:
        session = any(has_kind(value) for value in values)
    if not session:
        for value in values:
            if has_kind(value):
                return {"verdict": "WrongChainKind", "seq": lenient_seq(value)}
    verdicts = [verify_receipt(value) for value in values]  # G0-G10; pins come last
    for value, verdict in zip(values, verdicts, strict=True):
        if verdict.name != "Valid":
            return per_receipt_failure(value, verdict)
    contents = [value["content"] for value in values]
    failure = check_links(contents) or (check_transitions(contents) if session else None)
    if failure is None and pins is not None:
        failure = check_chain_pins(values, verdicts, pins)
    return failure or {"verdict": "Valid", "length": len(values)}


# --- Input ------------------------------------------------------------------------------------


class UsageError(Exception):
    """Bad arguments or unreadable input: one line on stderr, exit status 2."""


def read_items(path: Path) -> list[Item]:
    """The receipts of one .json or .jsonl file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        msg = f"cannot read `{path}`: {error.strerror}"
        raise UsageError(msg) from None
    if path.suffix == ".jsonl":
        lines = enumerate(data.split(b"\n"), start=1)
        return [parse_item(path, number, line) for number, line in lines if line.strip()]
    item = parse_item(path, 1, data)
    if item.error or not isinstance(item.value, list):
        return [item]
    return [Item(str(path), index, value) for index, value in enumerate(item.value, start=1)]


def parse_item(path: Path, line: int, data: bytes) -> Item:
    try:
        return Item(str(path), line, parse_json(data))
    except ValueError as error:
        return Item(str(path), line, None, str(error))


def receipt_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = [
                p
                for p in sorted(path.rglob("*"))
                if p.suffix in (".json", ".jsonl") and p.is_file()
            ]
            if not found:
                msg = f"no .json or .jsonl files under `{name}`"
                raise UsageError(msg)
            files += found
        elif path.is_file() and path.suffix in (".json", ".jsonl"):
            files.append(path)
        elif path.exists():
            msg = f"`{name}` is not a .json or .jsonl file or a directory"
            raise UsageError(msg)
        else:
            msg = f"no such file or directory `{name}`"
            raise UsageError(msg)
    return files


def parse_pins(operators: list[str], approvers: list[str]) -> Pins | None:
    if not operators and not approvers:
        return None
    return Pins(decode_pins(operators, "--pubkey"), decode_pins(approvers, "--approver-pubkey"))


def decode_pins(texts: list[str], flag: str) -> frozenset[bytes]:
    keys = set()
    for text in texts:
        key = b64decode_strict(text)
        if key is None or len(key) != 32:
            msg = f"`{flag} {text}` is not standard base64 of a 32-byte key"
            raise UsageError(msg)
        keys.add(key)
    return frozenset(keys)


# --- Report -----------------------------------------------------------------------------------


def operator_fingerprint(value: Json) -> str | None:
    """The fingerprint of the first `operator` entry whose key parses, for people to compare."""
    entries = value.get("signatures") if isinstance(value, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("key_id") == OPERATOR:
            text = entry.get("public_key")
            key = b64decode_strict(text) if isinstance(text, str) else None
            if key is not None and len(key) == 32:
                return fingerprint(key)
    return None


def receipt_report(item: Item, pins: Pins | None) -> dict[str, Any]:
    verdict = Verdict("Malformed", item.error) if item.error else verify_receipt(item.value, pins)
    content = content_of(item.value)
    report: dict[str, Any] = {
        "source": item.source,
        "line": item.line,
        "session_id": session_of(item.value),
        "seq": content.get("seq"),
        "lifecycle_kind": content.get("kind"),
        "verdict": verdict.name,
    }
    if verdict.name == "Valid":
        report["trust_level"] = verdict.trust_level
    else:
        report["detail"] = verdict.detail
    report["operator_fingerprint"] = operator_fingerprint(item.value)
    return report


def chain_reports(items: list[Item], source: str, pins: Pins | None) -> list[dict[str, Any]]:
    """One chain per session_id of one file, in order of first appearance."""
    if not items:
        empty = {"source": source, "session_id": None, "verdict": "Empty", "length": 0}
        return [empty | {"operator_fingerprints": []}]
    sessions: dict[str, list[Item]] = {}
    for item in items:
        session = None if item.error else session_of(item.value)
        if session is not None:
            sessions.setdefault(session, []).append(item)
    reports = []
    for session, members in sessions.items():
        values = [member.value for member in members]
        mode = "session" if any(has_kind(value) for value in values) else "action"
        fingerprints = dict.fromkeys(filter(None, map(operator_fingerprint, values)))
        reports.append(
            {"source": source, "session_id": session, "mode": mode, "length": len(values)}
            | verify_chain(values, pins)
            | {"operator_fingerprints": list(fingerprints)}
        )
    return reports


def build_report(paths: Sequence[str], pins: Pins | None) -> dict[str, Any]:
    receipts: list[dict[str, Any]] = []
    chains: list[dict[str, Any]] = []
    for path in receipt_files(paths):
        items = read_items(path)
        receipts += [receipt_report(item, pins) for item in items]
        chains += chain_reports(items, str(path), pins)
    everything = receipts + chains
    return {
        "receipts": receipts,
        "chains": chains,
        "ok": all(entry["verdict"] == "Valid" for entry in everything),
    }


def describe_receipt(report: dict[str, Any]) -> str:
    line = f"{report['source']}:{report['line']}: {report['verdict']}"
    if report["verdict"] == "Valid":
        line += f" ({report['trust_level']})"
    else:
        line += f": {report['detail']}"
    if report["operator_fingerprint"]:
        line += f"; operator {report['operator_fingerprint']}"
    return line


def describe_chain(report: dict[str, Any]) -> str:
    if report["session_id"] is None:
        return f"{report['source']}: Empty (no receipts)"
    line = f"{report['source']}: {report['mode']} chain `{report['session_id']}`: "
    line += str(report["verdict"])
    if report["verdict"] == "Valid":
        line += f", length {report['length']}"
    shown = ("seq", "reason", "role", "kind", "required", "first", "second")
    described = ", ".join(f"{name} {report[name]}" for name in shown if name in report)
    line += f" at {described}" if described else ""
    line += f": {report['detail']}" if "detail" in report else ""
    return line + "".join(f"; operator {key}" for key in report["operator_fingerprints"])


def describe(report: dict[str, Any]) -> list[str]:
    """Lines for people: every chain, every standalone receipt, then a summary."""
    standalone = [entry for entry in report["receipts"] if entry["session_id"] is None]
    lines = [describe_chain(chain) for chain in report["chains"]]
    lines += [describe_receipt(entry) for entry in standalone]
    failed = sum(entry["verdict"] != "Valid" for entry in report["receipts"] + report["chains"])
    lines.append(
        f"{len(report['receipts'])} receipts, {len(report['chains'])} chains, "
        f"{len(standalone)} standalone: "
        + ("all Valid" if report["ok"] else f"{failed} verdicts not Valid")
    )
    return lines


# --- Command line -----------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = Parser(prog=PROGRAM, description="Re-verify heso Action Receipts v2 independently.")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument(
        "--pubkey", action="append", default=[], metavar="B64", help="pin an operator key"
    )
    parser.add_argument(
        "--approver-pubkey", action="append", default=[], metavar="B64", help="pin an approver key"
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".json, .jsonl or directory")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
        report = build_report(
            arguments.paths, parse_pins(arguments.pubkey, arguments.approver_pubkey)
        )
    except UsageError as error:
        sys.stderr.write(f"{PROGRAM}: error: {error}\n")
        return 2
    text = json.dumps(report, indent=2) if arguments.json else ""
    if isinstance(sys.stdout, io.TextIOWrapper):
        # Details quote receipt text; a terminal that cannot show a character gets an escape.
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        print(text if arguments.json else "\n".join(describe(report)))
        sys.stdout.flush()
    except BrokenPipeError:
        # A reader that stopped early (`| head`) is not an error (STYLE.md). Point stdout at
        # /dev/null so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
