"""The global flags, the project root and colour, resolved the same way by every command.

cli.md §1.3: `-C DIR`, `--color WHEN` and `-q` are accepted before the command (`heso -C d log`)
and after any subcommand (`heso log -C d`). The top-level group records the ones given before
the command in the context's shared `meta`; each command's own flags default to those.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from heso import _core

__all__ = ["command_flags", "group_flags", "project_root", "use_color"]

_F = TypeVar("_F", bound=Callable[..., Any])
_META = "heso.global."
_COLOR = click.Choice(["auto", "always", "never"])
_PROJECT_HELP = "Run as if started in DIR."
_COLOR_HELP = "When to colour output: auto, always or never."
_QUIET_HELP = "Suppress status lines and progress (never errors)."


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Record a flag given before the command, for the command to inherit."""
    if value is not None and param.name is not None:
        ctx.meta[_META + param.name] = value
    return value


def _inherited(name: str, fallback: Any) -> Callable[[], Any]:
    """A default that is the value given before the command, else `fallback`."""

    def default() -> Any:
        ctx = click.get_current_context(silent=True)
        return fallback if ctx is None else ctx.meta.get(_META + name, fallback)

    return default


def group_flags(function: _F) -> _F:
    """The global flags on the top-level group (before the command)."""
    options = [
        click.option(
            "-C",
            "--project",
            "project",
            type=click.Path(path_type=Path),
            metavar="DIR",
            expose_value=False,
            callback=_remember,
            help=_PROJECT_HELP,
        ),
        click.option(
            "--color",
            type=_COLOR,
            expose_value=False,
            callback=_remember,
            metavar="WHEN",
            help=_COLOR_HELP,
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            default=None,
            expose_value=False,
            callback=_remember,
            help=_QUIET_HELP,
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def command_flags(*, project: bool = True, color: bool = True) -> Callable[[_F], _F]:
    """The global flags on a command (after it), defaulting to those given before it."""

    def decorate(function: _F) -> _F:
        options = []
        if project:
            options.append(
                click.option(
                    "-C",
                    "--project",
                    "project",
                    type=click.Path(path_type=Path),
                    metavar="DIR",
                    default=_inherited("project", None),
                    help=_PROJECT_HELP,
                )
            )
        if color:
            options.append(
                click.option(
                    "--color",
                    type=_COLOR,
                    metavar="WHEN",
                    default=_inherited("color", "auto"),
                    help=_COLOR_HELP,
                )
            )
        options.append(
            click.option(
                "-q",
                "--quiet",
                is_flag=True,
                default=_inherited("quiet", False),
                help=_QUIET_HELP,
            )
        )
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def project_root(project: Path | None) -> str | None:
    """`-C DIR`, then HESO_PROJECT_ROOT, then discovery; a directory without heso.toml is none."""
    return _core.find_project_root(
        Path.cwd(), explicit=project, env_root=os.environ.get("HESO_PROJECT_ROOT") or None
    )


def use_color(choice: str) -> bool:
    """Colour on a terminal unless NO_COLOR is set or TERM is dumb; `always`/`never` force it."""
    if choice != "auto":
        return choice == "always"
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )
