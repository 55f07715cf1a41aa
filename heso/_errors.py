"""The exception hierarchy of heso.

Every class is defined here once; the Rust engine raises these same classes. Each has a one-line
``str()`` (lowercase start, no final period, user values in backticks) and survives pickling with
its attributes, so errors can cross process boundaries intact.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from heso._verify import VerifyReport

__all__ = [
    "ActionNotAllowed",
    "ApprovalExpired",
    "ApprovalRejected",
    "ApprovalRequired",
    "BlockedError",
    "ConfigError",
    "EngineError",
    "HesoError",
    "OutcomeUncertain",
    "PolicyError",
    "PolicyFloorError",
    "PolicyIssue",
    "PolicyParseError",
    "SessionError",
    "VerificationError",
]


class HesoError(Exception):
    """Base class of every error heso raises."""

    def __init__(self, message: str) -> None:
        """Create the error with its one-line message."""
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        """Return the one-line message."""
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the keyword attributes, which ``Exception`` would drop."""
        return (_rebuild, (type(self), self.message, self._attributes()))

    def _attributes(self) -> dict[str, Any]:
        return {}


def _rebuild(cls: type[HesoError], message: str, attributes: dict[str, Any]) -> HesoError:
    return cls(message, **attributes)


class ConfigError(HesoError):
    """A setting, environment variable, key or project file is missing or invalid.

    Attributes:
        variable: The environment variable at fault, if one is.
        path: The file or directory at fault, if one is.
    """

    def __init__(
        self, message: str, *, variable: str | None = None, path: Path | None = None
    ) -> None:
        """Create the error; ``variable`` and ``path`` name the source when known."""
        super().__init__(message)
        self.variable = variable
        self.path = path

    def _attributes(self) -> dict[str, Any]:
        return {"variable": self.variable, "path": self.path}


class PolicyIssue(NamedTuple):
    """One error or warning of a policy file (policy.md §10), with its 1-based position.

    ``line`` and ``column`` are 0 for issues about the whole file (an empty file, no rules).
    """

    code: str
    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        """Return the issue as ``path:line:column: message``."""
        if self.line == 0:
            return self.message
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class PolicyError(HesoError):
    """``heso.toml`` cannot be used: it does not load, or it breaks a floor.

    Attributes:
        path: The policy file.
        issues: Every error found, in file order.
    """

    def __init__(self, message: str, *, path: Path, issues: tuple[PolicyIssue, ...]) -> None:
        """Create the error from the issues the engine found."""
        super().__init__(message)
        self.path = path
        self.issues = issues

    def _attributes(self) -> dict[str, Any]:
        return {"path": self.path, "issues": self.issues}


class PolicyParseError(PolicyError):
    """``heso.toml`` has syntax or validation errors; ``str()`` is the first one.

    Attributes:
        line: Line of the first issue.
        column: Column of the first issue.
        code: Code of the first issue (policy.md §10).
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path,
        issues: tuple[PolicyIssue, ...],
        line: int,
        column: int,
        code: str,
    ) -> None:
        """Create the error; position and code are those of the first issue."""
        super().__init__(message, path=path, issues=issues)
        self.line = line
        self.column = column
        self.code = code

    def _attributes(self) -> dict[str, Any]:
        return {
            **super()._attributes(),
            "line": self.line,
            "column": self.column,
            "code": self.code,
        }


class PolicyFloorError(PolicyError):
    """A rule would let a payment, delete, account change or data export run unattended.

    Attributes:
        rule_id: The first offending rule.
        verb: Its verb.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path,
        issues: tuple[PolicyIssue, ...],
        rule_id: str,
        verb: str,
    ) -> None:
        """Create the error; ``rule_id`` and ``verb`` name the first offending rule."""
        super().__init__(message, path=path, issues=issues)
        self.rule_id = rule_id
        self.verb = verb

    def _attributes(self) -> dict[str, Any]:
        return {**super()._attributes(), "rule_id": self.rule_id, "verb": self.verb}


class EngineError(HesoError):
    """The engine failed: store, I/O or signing.

    Attributes:
        code: A short machine-readable name of the failure.
    """

    def __init__(self, message: str, *, code: str = "engine") -> None:
        """Create the error with its code."""
        super().__init__(message)
        self.code = code

    def _attributes(self) -> dict[str, Any]:
        return {"code": self.code}


class VerificationError(HesoError):
    """Receipts did not all verify ``Valid``.

    Attributes:
        report: The full report.
        verdict: The first failing verdict name.
        detail: Why it failed.
    """

    def __init__(self, message: str, *, report: VerifyReport, verdict: str, detail: str) -> None:
        """Create the error from the report and its first failure."""
        super().__init__(message)
        self.report = report
        self.verdict = verdict
        self.detail = detail

    def _attributes(self) -> dict[str, Any]:
        return {"report": self.report, "verdict": self.verdict, "detail": self.detail}


class ActionNotAllowed(HesoError):
    """The policy did not let the action run; its body did not run.

    Attributes:
        tool_name: The action's tool name.
        verb: Its verb.
        rule_id: The deciding rule (or a reserved id such as ``approval.rejected``).
        rule_display: That rule's sentence.
        action_hash: The receipt recorded for this attempt, ``""`` when none was.
    """

    def __init__(
        self,
        message: str,
        *,
        tool_name: str,
        verb: str,
        rule_id: str,
        rule_display: str,
        action_hash: str,
    ) -> None:
        """Create the error with the action and the rule that refused it."""
        super().__init__(message)
        self.tool_name = tool_name
        self.verb = verb
        self.rule_id = rule_id
        self.rule_display = rule_display
        self.action_hash = action_hash

    def _attributes(self) -> dict[str, Any]:
        return {
            "tool_name": self.tool_name,
            "verb": self.verb,
            "rule_id": self.rule_id,
            "rule_display": self.rule_display,
            "action_hash": self.action_hash,
        }


class BlockedError(ActionNotAllowed):
    """A rule blocks the action."""


class ApprovalRequired(ActionNotAllowed):
    """The action needs a signed approval first; repeat the same call once it is approved.

    Attributes:
        request_id: The 64-hex approval request id (commands accept its first 12).
        approvers: The approver names of the rule.
        quorum: Distinct approvals needed.
        expires_at: The deadline (UTC).
        how_to_approve: One line saying who runs what.
        session: The durable session, for ``@heso.gated`` calls.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        approvers: tuple[str, ...],
        quorum: int,
        expires_at: datetime,
        how_to_approve: str,
        session: str | None = None,
        **action: str,
    ) -> None:
        """Create the error with the request and how to approve it."""
        super().__init__(message, **action)
        self.request_id = request_id
        self.approvers = approvers
        self.quorum = quorum
        self.expires_at = expires_at
        self.how_to_approve = how_to_approve
        self.session = session

    def _attributes(self) -> dict[str, Any]:
        return {
            **super()._attributes(),
            "request_id": self.request_id,
            "approvers": self.approvers,
            "quorum": self.quorum,
            "expires_at": self.expires_at,
            "how_to_approve": self.how_to_approve,
            "session": self.session,
        }


class ApprovalRejected(ActionNotAllowed):
    """An approver rejected this exact action; it stays refused until the request is reopened.

    Attributes:
        request_id: The approval request id.
        rejected_by: The rejecting approver's fingerprint.
        reason: The reason they gave.
        session: The durable session, for ``@heso.gated`` calls.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        rejected_by: str,
        reason: str,
        session: str | None = None,
        **action: str,
    ) -> None:
        """Create the error with the rejection."""
        super().__init__(message, **action)
        self.request_id = request_id
        self.rejected_by = rejected_by
        self.reason = reason
        self.session = session

    def _attributes(self) -> dict[str, Any]:
        return {
            **super()._attributes(),
            "request_id": self.request_id,
            "rejected_by": self.rejected_by,
            "reason": self.reason,
            "session": self.session,
        }


class ApprovalExpired(ActionNotAllowed):
    """No approver decided before the deadline; the next identical call opens a new request.

    Attributes:
        request_id: The approval request id.
        expired_at: The deadline that passed (UTC).
        session: The durable session, for ``@heso.gated`` calls.
    """

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        expired_at: datetime,
        session: str | None = None,
        **action: str,
    ) -> None:
        """Create the error with the deadline that passed."""
        super().__init__(message, **action)
        self.request_id = request_id
        self.expired_at = expired_at
        self.session = session

    def _attributes(self) -> dict[str, Any]:
        return {
            **super()._attributes(),
            "request_id": self.request_id,
            "expired_at": self.expired_at,
            "session": self.session,
        }


class SessionError(HesoError):
    """A call or session was used in a way its state does not allow.

    Attributes:
        session: The session concerned, if any.
    """

    def __init__(self, message: str, *, session: str | None = None) -> None:
        """Create the error naming the session."""
        super().__init__(message)
        self.session = session

    def _attributes(self) -> dict[str, Any]:
        return {"session": self.session}


class OutcomeUncertain(SessionError):
    """A durable call started and recorded no completion: heso cannot tell whether it ran.

    Attributes:
        started_at: When its body started (UTC).
    """

    def __init__(self, message: str, *, session: str, started_at: datetime) -> None:
        """Create the error with the session and when it started."""
        super().__init__(message, session=session)
        self.started_at = started_at

    def _attributes(self) -> dict[str, Any]:
        return {**super()._attributes(), "started_at": self.started_at}
