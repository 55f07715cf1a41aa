"""``heso.process`` and ``heso.record_result``: the gate without a decorator (sdk.md §9.2).

The caller enforces: ``process`` records the decision and never raises for it;
``record_result`` records what the action did, once, for an outcome that allowed it.
"""

from __future__ import annotations

from heso._encode import encode
from heso._errors import SessionError
from heso._gating import Capture, Ticket, evaluate
from heso._types import Action, Outcome, redact_mode_value, verb_value

__all__ = ["MISSING", "process", "record_result"]


class _Missing:
    """The default of ``record_result(result=...)``: no value was given."""

    __slots__ = ()

    def __repr__(self) -> str:
        """Name the marker."""
        return "MISSING"


MISSING = _Missing()


def process(action: Action) -> Outcome:
    """Decide and record ``action`` as a decorated call would, and return what happened.

    Never raises for a decision, in either mode: run the action only if ``outcome.allowed``,
    then call :func:`record_result`.

    Raises:
        ConfigError: ``heso.init()`` was not called.
        EngineError: the decision could not be recorded.
        PolicyParseError, PolicyFloorError: enforce mode, ``heso.toml`` does not load.
        ValueError: an unknown verb or redact mode.
    """
    fields = encode(dict(action.fields))
    return evaluate(
        Capture(
            verb=verb_value(action.verb),
            tool_name=action.tool_name,
            fields=fields,
            target_host=action.target_host,
            redact=tuple(action.redact),
            redact_mode=redact_mode_value(action.redact_mode),
            workflow=action.workflow,
            account=action.account,
        )
    )


def record_result(
    outcome: Outcome, result: object = MISSING, *, error: BaseException | str | None = None
) -> str:
    """Record the result receipt of an action ``outcome`` allowed; return its ``action_hash``.

    ``result`` is converted as arguments are (a missing result records ``null``); ``error``
    records what the action raised instead.

    Raises:
        SessionError: the outcome did not allow the action, or its result is already recorded.
        EngineError: the receipt could not be recorded.
    """
    ticket = outcome._ticket
    if not isinstance(ticket, Ticket):
        raise SessionError(
            f"the outcome of `{outcome.rule_id}` did not allow the action, "
            "so it has no result to record"
        )
    if isinstance(error, BaseException):
        return ticket.fail(error)
    if isinstance(error, str):
        return ticket.fail_text(error)
    return ticket.succeed(None if isinstance(result, _Missing) else result)
