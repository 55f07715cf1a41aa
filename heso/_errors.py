"""The exception hierarchy of heso.

Every class is defined here once; the Rust engine raises these same classes. Each has a one-line
``str()`` (lowercase start, no final period, user values in backticks) and survives pickling with
its attributes, so errors can cross process boundaries intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from heso._verify import VerifyReport

__all__ = [
    "ConfigError",
    "EngineError",
    "HesoError",
    "PolicyError",
    "PolicyFloorError",
    "PolicyIssue",
    "PolicyParseError",
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
