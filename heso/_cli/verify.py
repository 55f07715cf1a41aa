"""``heso verify``: the same verification, text and JSON as ``heso-compliance verify``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from heso import _core
from heso._cli._output import CommandFailed, envelope, print_json, warning
from heso._cli._project import command_flags, project_root, use_color

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
@command_flags()
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
    root = project_root(project)
    colored = use_color(color)
    output = _core.verify(
        list(inputs),
        pubkeys=list(pubkeys),
        approver_pubkeys=list(approver_pubkeys),
        no_pin=no_pin,
        all=show_all,
        project_root=root,
        color=colored,
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
        click.echo("\n".join(output["lines"]), color=colored)
    return status
