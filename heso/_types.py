"""The public value types of the SDK (sdk.md §3): verbs, decisions, actions and outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Literal

__all__ = [
    "Action",
    "ApprovalStatus",
    "Decision",
    "Outcome",
    "RedactMode",
    "Verb",
]


class Verb(str, Enum):
    """What kind of side effect an action is; the values are the receipt strings."""

    LLM_CALL = "llm_call"
    TOOL_CALL = "tool_call"
    HTTP_REQUEST = "http_request"
    PAYMENT = "payment"
    DATA_EXPORT = "data_export"
    ACCOUNT_CHANGE = "account_change"
    DELETE = "delete"

    def __str__(self) -> str:
        """Return the receipt string."""
        return self.value


class Decision(str, Enum):
    """What the policy decided for an action."""

    ALLOW = "allow"
    REDACT = "redact"
    BLOCK = "block"
    REQUIRE_APPROVAL = "require_approval"

    def __str__(self) -> str:
        """Return the receipt string."""
        return self.value


class RedactMode(str, Enum):
    """How redacted fields are hidden (receipts.md §8)."""

    COMMIT_AND_REVEAL = "commit_and_reveal"
    DESTRUCTIVE = "destructive"

    def __str__(self) -> str:
        """Return the receipt string."""
        return self.value


def verb_value(verb: Verb | str) -> str:
    """Return the receipt string of ``verb``; an unknown verb is a ``ValueError``."""
    try:
        return Verb(verb).value
    except ValueError:
        names = ", ".join(v.value for v in Verb)
        raise ValueError(f"unknown verb `{verb}`; use one of {names}") from None


def redact_mode_value(mode: RedactMode | str) -> str:
    """Return the receipt string of ``mode``; an unknown mode is a ``ValueError``."""
    try:
        return RedactMode(mode).value
    except ValueError:
        raise ValueError(
            f"unknown redact_mode `{mode}`; use commit_and_reveal or destructive"
        ) from None


@dataclass(frozen=True)
class Action:
    """An action to gate with :func:`heso.process`.

    ``fields`` are encoded as decorator arguments are (sdk.md §4.3). ``workflow`` and ``account``
    default to the current :func:`heso.step`, then the configuration.
    """

    verb: Verb | str
    tool_name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    target_host: str | None = None
    workflow: str | None = None
    account: str | None = None
    redact: Sequence[str] = ()
    redact_mode: RedactMode | str = RedactMode.COMMIT_AND_REVEAL


@dataclass(frozen=True)
class ApprovalStatus:
    """The state of an approval request (storage.md §10)."""

    request_id: str
    state: Literal["pending", "approved", "rejected", "expired", "consumed"]
    rule_id: str
    approvers: tuple[str, ...]
    roster: tuple[str, ...]
    quorum: int
    approvals: int
    expires_at: datetime
    how_to_approve: str

    @property
    def short_id(self) -> str:
        """The first 12 hex digits of the request id, as commands accept it."""
        return self.request_id[:12]


@dataclass(frozen=True)
class Outcome:
    """What happened to one gated action.

    ``action_hash`` is the receipt recorded for this attempt, ``""`` when nothing new was
    recorded (a retry of a pending request).
    """

    decision: Decision
    rule_id: str
    rule_display: str
    action_hash: str
    receipt: Mapping[str, Any] | None
    enforced: bool
    approval: ApprovalStatus | None = None
    # The right to record the result receipt (heso.record_result); set when the action may run.
    _ticket: Any = field(default=None, repr=False, compare=False)

    @property
    def allowed(self) -> bool:
        """Whether the action may run: allow, redact, or an approval consumed by this call."""
        if self.decision in (Decision.ALLOW, Decision.REDACT):
            return True
        return self.decision is Decision.REQUIRE_APPROVAL and self._ticket is not None
