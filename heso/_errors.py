"""The exception hierarchy of heso.

Every class is defined here once; the Rust engine raises these same classes. Each has a one-line
``str()`` (lowercase start, no final period, user values in backticks) and survives pickling with
its attributes, so errors can cross process boundaries intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from heso._verify import VerifyReport

__all__ = ["ConfigError", "EngineError", "HesoError", "VerificationError"]


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
