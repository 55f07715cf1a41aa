"""``heso.step``: the workflow, account and redaction paths of the code running now (sdk.md §9.1).

Values live in a ``contextvars`` variable, so they are local to a thread or an asyncio task;
tasks inherit the values of their creator and plain threads start empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from types import TracebackType
from typing import NamedTuple

from heso._config import _check_name
from heso._errors import ConfigError

__all__ = ["Step", "StepValues", "current", "redact_paths", "step"]


class StepValues(NamedTuple):
    """What the enclosing steps say, merged: the gate reads these for every action."""

    workflow: str | None
    account: str | None
    redact: tuple[str, ...]


class _Frame(NamedTuple):
    values: StepValues
    outer: _Frame | None


_EMPTY = StepValues(None, None, ())

# The innermost entered step of this context. Each frame links to the one it replaced, so leaving
# a step restores the values of this context without the `Step` keeping per-context state: one
# `Step` object may be entered by many tasks at once.
_innermost: ContextVar[_Frame | None] = ContextVar("heso_step", default=None)


def current() -> StepValues:
    """Return the merged values of the steps enclosing the caller (all empty outside any)."""
    frame = _innermost.get()
    return _EMPTY if frame is None else frame.values


class Step:
    """A scope that sets the workflow, account or redaction paths of the actions inside it.

    Use it with ``with`` or ``async with``. Nested steps merge: the innermost ``workflow`` and
    ``account`` that are not ``None`` win, and ``redact`` paths are unioned, outermost first.
    """

    __slots__ = ("_account", "_redact", "_workflow")

    def __init__(self, workflow: str | None, account: str | None, redact: tuple[str, ...]) -> None:
        """Hold already-validated values; use :func:`heso.step` to create one."""
        self._workflow = workflow
        self._account = account
        self._redact = redact

    @property
    def workflow(self) -> str | None:
        """The workflow this step sets, or ``None`` to keep the enclosing one."""
        return self._workflow

    @property
    def account(self) -> str | None:
        """The account this step sets, or ``None`` to keep the enclosing one."""
        return self._account

    @property
    def redact(self) -> tuple[str, ...]:
        """The field paths this step adds to the enclosing ones."""
        return self._redact

    def __repr__(self) -> str:
        """Show the values this step sets."""
        return (
            f"Step(workflow={self._workflow!r}, account={self._account!r}, redact={self._redact!r})"
        )

    def __enter__(self) -> Step:
        """Apply this step's values until the block exits."""
        outer = _innermost.get()
        values = _EMPTY if outer is None else outer.values
        redact = values.redact + tuple(p for p in self._redact if p not in values.redact)
        merged = StepValues(
            self._workflow if self._workflow is not None else values.workflow,
            self._account if self._account is not None else values.account,
            redact,
        )
        _innermost.set(_Frame(merged, outer))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Restore the values that applied before the block."""
        frame = _innermost.get()
        if frame is None:
            raise RuntimeError("heso.step exited more often than it was entered")
        _innermost.set(frame.outer)

    async def __aenter__(self) -> Step:
        """Apply this step's values until the block exits."""
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Restore the values that applied before the block."""
        self.__exit__(exc_type, exc, traceback)


def step(
    *,
    workflow: str | None = None,
    account: str | None = None,
    redact: Sequence[str] | None = None,
) -> Step:
    """Return a step that sets the workflow, account or redaction paths of actions inside it.

    A workflow is also the action session: actions in a new workflow start their own chain.

    Args:
        workflow: The workflow of the actions inside; ``None`` keeps the enclosing one.
        account: The account of the actions inside; ``None`` keeps the enclosing one.
        redact: Field paths to redact in every action inside (receipts.md §8.1), added to the
            paths of enclosing steps.

    Raises:
        ValueError: ``workflow`` or ``account`` is empty, longer than 128 characters, contains a
            control character or has leading or trailing spaces.
        TypeError: A value has the wrong type (``redact`` must be a sequence of strings).
    """
    return Step(_name("workflow", workflow), _name("account", account), redact_paths(redact))


def _name(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not `{type(value).__name__}`")
    # The same rule as HESO_WORKFLOW and HESO_ACCOUNT, kept in one place (heso._config).
    try:
        return _check_name(name, value)
    except ConfigError as error:
        raise ValueError(str(error)) from None


def redact_paths(redact: object) -> tuple[str, ...]:
    """Return ``redact`` as a tuple of paths without duplicates, or raise ``TypeError``."""
    if redact is None:
        return ()
    # A lone string is a sequence of characters; taking it as one path per character would
    # silently redact nothing the caller meant.
    if isinstance(redact, str) or not isinstance(redact, Sequence):
        raise TypeError('redact must be a list of field paths, such as ["card.number"]')
    paths: list[str] = []
    for path in redact:
        if not isinstance(path, str):
            raise TypeError(f"redact paths must be strings, not `{type(path).__name__}`")
        if path not in paths:
            paths.append(path)
    return tuple(paths)
