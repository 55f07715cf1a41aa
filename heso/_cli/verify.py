"""``heso verify``: the same verification, text and JSON as ``heso-compliance verify``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from heso import _core
from heso._cli._output import CommandFailed, envelope, print_json, warning

__all__ = ["verify_command"]


@click.command("verify")
@click.argument("inputs", nargs=-1)
@click.option(
    "--pubkey",
    "pubkeys",
    multiple=True,
    metavar="KEY",
    help="Pin an operator key (base64, or @FILE); repeatable.",
)
@click.option(
    "--approver-pubkey",
    "approver_pubkeys",
    multiple=True,
    metavar="KEY",
    help="Pin an approver key (base64, or @FILE); repeatable.",
)
@click.option("--no-pin", is_flag=True, help="Check signatures without pinning who made them.")
@click.option("--all", "show_all", is_flag=True, help="List every receipt.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option(
    "--color",
    "color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    help="When to colour verdicts.",
)
@click.option(
    "-C",
    "--project",
    "project",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Use the project in DIR.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def verify_command(
    *,
    inputs: tuple[str, ...],
    pubkeys: tuple[str, ...],
    approver_pubkeys: tuple[str, ...],
    no_pin: bool,
    show_all: bool,
    as_json: bool,
    color: str,
    project: Path | None,
    quiet: bool,
) -> int:
    """Verify receipts offline: files, JSON arrays, JSON Lines, directories or - (stdin)."""
    root = _project_root(project)
    use_color = _use_color(color)
    output = _core.verify(
        list(inputs),
        pubkeys=list(pubkeys),
        approver_pubkeys=list(approver_pubkeys),
        no_pin=no_pin,
        all=show_all,
        project_root=root,
        color=use_color,
        progress=not quiet,
    )
    error = output["error"]
    if error is not None:
        failure = CommandFailed(error["message"], code=error["code"])
        if as_json:
            print_json(envelope("verify", 2, None, failure=failure))
        raise failure
    for message in output["warnings"]:
        warning(message)
    status = output["exit_code"]
    if as_json:
        result = json.loads(output["result"] or "null")
        print_json(envelope("verify", status, result, output["warnings"]))
    else:
        # click strips ANSI codes on non-terminals unless told the colour is wanted.
        click.echo("\n".join(output["lines"]), color=use_color)
    return status


def _use_color(choice: str) -> bool:
    """Colour on a terminal unless NO_COLOR is set or TERM is dumb; `always`/`never` force it."""
    if choice != "auto":
        return choice == "always"
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


def _project_root(project: Path | None) -> str | None:
    """`-C DIR`, then HESO_PROJECT_ROOT, then discovery; a directory without heso.toml is none."""
    return _core.find_project_root(
        Path.cwd(), explicit=project, env_root=os.environ.get("HESO_PROJECT_ROOT") or None
    )
