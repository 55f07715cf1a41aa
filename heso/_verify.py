"""``heso.verify()``: verify receipts offline from Python, exactly as ``heso verify`` does.

The engine does all of it (parsing, canonical bytes, hashes, signatures, chains, pinning); this
module only passes the sources in and turns the engine's JSON result into frozen dataclasses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heso import _core
from heso._config import find_project_root
from heso._errors import ConfigError, VerificationError

__all__ = ["VerifyReport", "verify"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of a verification (the ``verify`` result of the CLI JSON contract)."""

    ok: bool
    pinning: Mapping[str, Any]
    summary: Mapping[str, Any]
    chains: tuple[Mapping[str, Any], ...]
    receipts: tuple[Mapping[str, Any], ...]
    lines: tuple[str, ...]


def verify(
    *sources: str | os.PathLike[str] | bytes | Mapping[str, Any],
    pubkeys: Sequence[str] | None = None,
    approver_pubkeys: Sequence[str] | None = None,
    pin: bool = True,
) -> VerifyReport:
    """Verify receipts: receipt objects, bytes, files, directories or store hash prefixes.

    Pinning follows ``heso verify``: explicit keys, else the project's ``[identity]`` and
    ``[approvers]`` when a project is found from the current directory, else off;
    ``pin=False`` turns it off.

    Raises:
        VerificationError: Something did not verify ``Valid``; ``error.report`` has it all.
        ConfigError: A source cannot be read or a key is not a key.
    """
    items: list[str | bytes] = []
    for source in sources:
        if isinstance(source, bytes):
            items.append(source)
        elif isinstance(source, Mapping):
            # Plain serialisation only; the engine re-parses and canonicalises.
            items.append(json.dumps(source, ensure_ascii=False).encode())
        else:
            items.append(os.fspath(source))
    root = find_project_root(Path.cwd())
    output = _core.verify(
        items,
        pubkeys=list(pubkeys or ()),
        approver_pubkeys=list(approver_pubkeys or ()),
        no_pin=not pin,
        all=True,
        project_root=None if root is None else str(root),
    )
    error = output["error"]
    if error is not None:
        raise ConfigError(error["message"])
    result = json.loads(output["result"] or "null")
    report = VerifyReport(
        ok=output["exit_code"] == 0,
        pinning=result["pinning"],
        summary=result["summary"],
        chains=tuple(result["chains"]),
        receipts=tuple(result["receipts"]),
        lines=tuple(output["lines"]),
    )
    if not report.ok:
        verdict, detail = _first_failure(report)
        raise VerificationError(
            f"verification failed: {verdict}" + (f" ({detail})" if detail else ""),
            report=report,
            verdict=verdict,
            detail=detail,
        )
    return report


def _first_failure(report: VerifyReport) -> tuple[str, str]:
    for chain in report.chains:
        if chain["verdict"] != "Valid":
            return chain["verdict"], chain.get("detail") or ""
    for receipt in report.receipts:
        if receipt["verdict"] != "Valid":
            return receipt["verdict"], receipt.get("detail") or ""
    return "Empty", "no receipts"
