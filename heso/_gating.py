"""The gate every capture goes through (sdk.md §5): one engine call before the body, then one after.

Decorators, ``heso.wrap`` and ``heso.process`` build a :class:`Capture`; this module adds the
workflow, account and redaction of the enclosing steps, hands the action to the engine (which
evaluates, redacts, signs and appends in one transaction), and turns what the engine did into the
body running or the exception of sdk.md §8.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NoReturn

from heso import _config, _context, _core
from heso._encode import encode
from heso._errors import (
    ApprovalExpired,
    ApprovalRejected,
    ApprovalRequired,
    BlockedError,
    HesoError,
)
from heso._types import ApprovalStatus, Decision, Outcome

if TYPE_CHECKING:
    from heso._core import _Approval

__all__ = ["Capture", "ResultStream", "Ticket", "begin", "evaluate"]


@dataclass(frozen=True, slots=True)
class Capture:
    """One action as captured, before the steps and the configuration fill in the rest."""

    verb: str
    tool_name: str
    fields: Mapping[str, Any]
    target_host: str | None
    redact: tuple[str, ...] = ()
    redact_mode: str = "commit_and_reveal"
    workflow: str | None = None
    account: str | None = None


def begin(capture: Capture) -> Ticket:
    """Record the decision for ``capture``; return the ticket for its result if the body may run.

    Raises:
        BlockedError, ApprovalRequired, ApprovalRejected, ApprovalExpired: enforce mode, the
            action may not run (its receipt is already committed).
        PolicyParseError, PolicyFloorError: enforce mode, ``heso.toml`` does not load.
        ConfigError: ``heso.init()`` was not called.
        EngineError: the decision could not be recorded, so the action must not run.
    """
    config, engine, verdict = _gate(capture)
    if config.blocking and not verdict.allows:
        _refuse(verdict, capture.tool_name, capture.verb, config)
    return Ticket(engine, verdict)


def evaluate(capture: Capture) -> Outcome:
    """Record the decision for ``capture`` and describe it, never raising for a decision.

    Only a ``heso.toml`` that does not load raises, in enforce mode. The outcome holds the result
    ticket when it allowed the action.
    """
    config, engine, verdict = _gate(capture)
    if config.blocking and verdict.kind == "policy_error":
        _raise_policy_error(verdict)
    receipt, approval = verdict.receipt, verdict.approval
    return Outcome(
        decision=Decision(verdict.decision),
        rule_id=verdict.rule_id,
        rule_display=verdict.rule_display,
        action_hash=verdict.action_hash,
        receipt=None if receipt is None else json.loads(receipt),
        enforced=config.blocking,
        approval=None if approval is None else _approval_status(approval, config),
        _ticket=Ticket(engine, verdict) if verdict.allows else None,
    )


def _gate(capture: Capture) -> tuple[_config.Config, _core.Engine, _core.Verdict]:
    config, engine = _config.active()
    step = _context.current()
    redact = list(capture.redact)
    redact.extend(path for path in step.redact if path not in capture.redact)
    action = {
        "verb": capture.verb,
        "tool_name": capture.tool_name,
        "target_host": capture.target_host,
        "workflow": capture.workflow or step.workflow or config.workflow,
        "account": capture.account or step.account or config.account,
        "fields": capture.fields,
    }
    if action["target_host"] is None:
        del action["target_host"]
    verdict = engine.gate(
        _json_bytes(action),
        redact,
        destructive=capture.redact_mode == "destructive",
        enforce=config.blocking,
    )
    warning = engine.take_policy_warning()
    if warning is not None:
        _config.warn_once(warning)
    return config, engine, verdict


def _json_bytes(value: object) -> bytes:
    # Plain serialisation of already-encoded values; the engine canonicalises.
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError as error:
        # JSON text is UTF-8, which cannot carry a lone surrogate: refuse rather than alter it.
        bad = text[error.start : error.end].encode("unicode_escape").decode()
        raise ValueError(
            f"heso cannot record a string holding the lone surrogate `{bad}`; "
            "pass valid text, or bytes"
        ) from None


class Ticket:
    """The right to record the result receipt of one call whose body runs; used once."""

    __slots__ = ("_engine", "_verdict")

    def __init__(self, engine: _core.Engine, verdict: _core.Verdict) -> None:
        """Hold the engine and the gate's verdict."""
        self._engine = engine
        self._verdict = verdict

    def succeed(self, result: object) -> str:
        """Record the returned value (converted as arguments are); return the receipt's hash."""
        return self._engine.record_result(self._verdict, result=_json_bytes(encode(result)))

    def fail(self, error: BaseException) -> str:
        """Record the exception the body raised (``action.error``); return the receipt's hash."""
        return self._engine.record_result(self._verdict, error=_error_parts(error))

    def fail_text(self, text: str) -> str:
        """Record an error given as text; return the receipt's hash."""
        return self._engine.record_result(self._verdict, error=(text, ""))

    def stream(self) -> ResultStream:
        """Start recording a result that arrives item by item."""
        return ResultStream(self._engine, self._verdict)


def _error_parts(error: BaseException) -> tuple[str, str]:
    """``(<module.QualName>, message)``; the engine joins, hides and bounds them (sdk.md §4.6)."""
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}", str(error)


class ResultStream:
    """The result of a generator or stream: the JSON array of its items, hashed as they pass."""

    __slots__ = ("_engine", "_hasher", "_verdict")

    def __init__(self, engine: _core.Engine, verdict: _core.Verdict) -> None:
        """Start with no items."""
        self._engine = engine
        self._verdict = verdict
        self._hasher = _core.ResultHasher()

    def add(self, item: object) -> None:
        """Add one item (converted as arguments are)."""
        self._hasher.add(_json_bytes(encode(item)))

    def finish(self) -> str:
        """Record the array of every item added; return the receipt's hash."""
        return self._engine.record_result(self._verdict, hasher=self._hasher)

    def close_early(self) -> str:
        """Record that the consumer stopped early, after the items added so far."""
        # A fixed text quotes no argument, so it is recorded even when fields were redacted.
        text = f"GeneratorExit: closed after {self._hasher.items} items"
        return self._engine.record_result(self._verdict, error=(text, ""))

    def fail(self, error: BaseException) -> str:
        """Record the exception the producer raised."""
        return self._engine.record_result(self._verdict, error=_error_parts(error))


def _refuse(verdict: _core.Verdict, tool_name: str, verb: str, config: _config.Config) -> NoReturn:
    """Raise the exception of sdk.md §8 for a verdict that does not let the body run."""
    kind = verdict.kind
    if kind == "policy_error":
        _raise_policy_error(verdict)
    action = {
        "tool_name": tool_name,
        "verb": verb,
        "rule_id": verdict.rule_id,
        "rule_display": verdict.rule_display,
        "action_hash": verdict.action_hash,
    }
    if kind == "decided" and verdict.decision == "block":
        raise BlockedError(
            f"heso blocked `{tool_name}` (rule `{verdict.rule_id}`): {verdict.rule_display}",
            **action,
        )
    approval = verdict.approval
    if approval is None:
        raise HesoError(f"heso refused `{tool_name}`: unexpected gate outcome `{kind}`")
    request_id = approval["request_id"]
    short = request_id[:12]
    if kind == "rejected":
        rejected_by = approval["rejected_by"] or ""
        reason = approval["reason"] or ""
        raise ApprovalRejected(
            f"heso refused `{tool_name}`: rejected by {_short_fingerprint(rejected_by)} "
            f'(request {short}): "{reason}"',
            request_id=request_id,
            rejected_by=rejected_by,
            reason=reason,
            **action,
        )
    status = _approval_status(approval, config)
    if kind == "expired":
        raise ApprovalExpired(
            f"heso refused `{tool_name}`: no approver decided before "
            f"{_format_time(status.expires_at)} (request {short})",
            request_id=request_id,
            expired_at=status.expires_at,
            **action,
        )
    raise ApprovalRequired(
        f"heso needs approval for `{tool_name}` (request {short}, rule "
        f"`{verdict.rule_id}`): {status.how_to_approve}",
        request_id=request_id,
        approvers=status.approvers,
        quorum=status.quorum,
        expires_at=status.expires_at,
        how_to_approve=status.how_to_approve,
        **action,
    )


def _raise_policy_error(verdict: _core.Verdict) -> NoReturn:
    error = verdict.policy_error
    if error is None:
        raise HesoError("heso.toml does not load")
    raise error


def _approval_status(approval: _Approval, config: _config.Config) -> ApprovalStatus:
    request_id = approval["request_id"]
    approvers = tuple(approval["approvers"])
    roster = tuple(approval["roster"])
    return ApprovalStatus(
        request_id=request_id,
        state=approval["state"],
        rule_id=approval["rule_id"],
        approvers=approvers,
        roster=roster,
        quorum=approval["quorum"],
        approvals=approval["approvals"],
        expires_at=_parse_time(approval["expires_at"]),
        how_to_approve=how_to_approve(request_id[:12], approvers, roster, config.endpoint),
    )


def how_to_approve(
    short_id: str, approvers: tuple[str, ...], roster: tuple[str, ...], endpoint: str | None
) -> str:
    """One line saying who can approve the request and how (sdk.md §8)."""
    names = " or ".join(approvers) if approvers else "[approvers]"
    if not roster:
        return (
            f"no approver keys are registered for {names}: run `heso approver init` and add "
            "the printed line to [approvers] in heso.toml"
        )
    command = f"`heso approvals approve {short_id}`"
    if endpoint is not None:
        from urllib.parse import urlsplit  # noqa: PLC0415 - `import heso` must not load urllib

        host = urlsplit(endpoint).hostname or endpoint
        return (
            f"approve it in the control plane at {host} or run {command}, then repeat the same call"
        )
    return f"an approver in {names} runs {command}, then repeat the same call"


def _parse_time(text: str) -> datetime:
    """A store time (RFC 3339 UTC, ``Z``) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def _format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short_fingerprint(fingerprint: str) -> str:
    """``heso:9a0f…e1c3`` from a full fingerprint."""
    digits = fingerprint.removeprefix("heso:")
    if len(digits) < 8:
        return fingerprint
    return f"heso:{digits[:4]}…{digits[-4:]}"
