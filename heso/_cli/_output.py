"""How the ``heso`` command line talks: data on stdout, one-line diagnostics on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

__all__ = ["CommandFailed", "envelope", "error", "print_json", "status", "warning"]

EXIT_ERROR = 2


class CommandFailed(Exception):
    """Ends a command with a one-line error and an exit status (usually 2)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "usage",
        exit_code: int = EXIT_ERROR,
        reported: bool = False,
    ) -> None:
        """Record the message, JSON error code, exit status and whether it was printed already.

        ``reported`` is set when a delegate (the engine binary) has printed the line itself.
        """
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code
        self.reported = reported


def status(line: str, *, quiet: bool = False) -> None:
    """Print a status line on stderr unless ``--quiet``."""
    if not quiet:
        print(line, file=sys.stderr)


def warning(message: str) -> None:
    """Print a warning line on stderr."""
    print(f"heso: warning: {message}", file=sys.stderr)


def error(message: str) -> None:
    """Print an error line on stderr."""
    print(f"heso: error: {message}", file=sys.stderr)


def envelope(
    command: str,
    exit_code: int,
    result: Any,
    warnings: list[str] | None = None,
    failure: CommandFailed | None = None,
) -> dict[str, Any]:
    """Build the JSON envelope every ``--json`` document uses."""
    return {
        "schema": "heso-cli/1",
        "tool": "heso",
        "command": command,
        "ok": exit_code == 0,
        "exit_code": exit_code,
        "result": result,
        "warnings": warnings or [],
        "error": None if failure is None else {"code": failure.code, "message": failure.message},
    }


def print_json(document: dict[str, Any]) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def fail(message: str, *, code: str = "usage") -> NoReturn:
    """Stop the command with a one-line error (exit 2)."""
    raise CommandFailed(message, code=code)
