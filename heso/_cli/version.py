"""``heso version``."""

from __future__ import annotations

import platform
import sys

import click

from heso._cli._engine_binary import find_engine_binary
from heso._cli._output import CommandFailed, envelope, print_json
from heso._core import __version__

__all__ = ["version_command"]


@click.command("version")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def version_command(as_json: bool) -> None:
    """Print the versions of heso, its engine and the Python it runs on."""
    try:
        engine = find_engine_binary()
        compliance: dict[str, str] | None = {"version": __version__, "path": str(engine)}
    except CommandFailed:
        compliance = None
    python = platform.python_version()
    machine = f"{sys.platform}-{platform.machine().lower()}"
    if as_json:
        result = {
            "heso": __version__,
            "core": __version__,
            "compliance": compliance,
            "python": python,
            "platform": machine,
        }
        print_json(envelope("version", 0, result))
        return
    engine_text = (
        f"heso-compliance {compliance['version']} at {compliance['path']}"
        if compliance
        else "heso-compliance not found"
    )
    click.echo(
        f"heso {__version__} (heso._core {__version__}; {engine_text}; Python {python}; {machine})"
    )
