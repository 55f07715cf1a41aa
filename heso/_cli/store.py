"""``heso show``, ``heso log`` and ``heso export``: the project store, read through the engine.

Python never opens the store's database: every read goes through ``heso._core``, which runs the
same functions as ``heso-compliance audit export``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from heso import _core
from heso._cli._output import CommandFailed, status
from heso._cli._project import command_flags, project_root

if TYPE_CHECKING:
    from heso._core import _StoreRunOutput

__all__ = ["export_command", "log_command", "show_command"]

# How often `heso log --follow` looks for new receipts (cli.md §2.5).
FOLLOW_INTERVAL_SECONDS = 0.5


def _write(data: bytes) -> None:
    """Bytes on stdout, exactly as the engine gave them."""
    if data:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


_Output = TypeVar("_Output", bound="_StoreRunOutput")


def _checked(output: _Output) -> _Output:
    """The outcome, or the command's one-line error (exit 2)."""
    error = output["error"]
    if error is not None:
        raise CommandFailed(error["message"], code=error["code"])
    return output


@click.command("show")
@click.argument("reference", metavar="REF")
@click.option("--raw", is_flag=True, help="Print the exact stored bytes.")
@command_flags(color=False)
def show_command(*, reference: str, raw: bool, project: Path | None, quiet: bool) -> int:
    """Print one receipt: a hash prefix in the store, or a file holding one receipt."""
    del quiet  # accepted everywhere; show prints no status lines
    output = _checked(
        _core.show(reference, raw=raw, project_root=project_root(project), cwd=str(Path.cwd()))
    )
    _write(output["data"])
    return 0


@click.command("log")
@click.option(
    "-n",
    "limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    metavar="N",
    help="Show the last N receipts (0 = all).",
)
@click.option("--follow", is_flag=True, help="Keep printing new receipts until interrupted.")
@click.option("--session", metavar="S", help="Only this session.")
@click.option("--workflow", metavar="W", help="Only this workflow.")
@click.option("--verb", metavar="V", help="Only this verb, such as payment.")
@click.option("--decision", metavar="D", help="Only this decision, such as block.")
@click.option("--kind", metavar="K", help="Only this kind, such as action or approved.")
@click.option(
    "--since",
    metavar="TIME",
    help="Only receipts since TIME: 2026-11-24T10:00:00Z, 2026-11-24, or an age such as 2h.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the exact stored bytes, one per line.")
@command_flags(color=False)
def log_command(
    *,
    limit: int,
    follow: bool,
    session: str | None,
    workflow: str | None,
    verb: str | None,
    decision: str | None,
    kind: str | None,
    since: str | None,
    as_json: bool,
    project: Path | None,
    quiet: bool,
) -> int:
    """List recent receipts from the store, oldest first."""
    del quiet
    root = project_root(project)
    cwd = str(Path.cwd())
    widths: list[int] = []
    after_id: int | None = None
    page_limit: int | None = limit or None
    while True:
        output = _checked(
            _core.log(
                limit=page_limit,
                session=session,
                workflow=workflow,
                verb=verb,
                decision=decision,
                kind=kind,
                since=since,
                json=as_json,
                after_id=after_id,
                widths=widths,
                project_root=root,
                cwd=cwd,
            )
        )
        if as_json:
            _write(output["data"])
        elif output["lines"]:
            click.echo("\n".join(output["lines"]))
            sys.stdout.flush()
        if not follow:
            return 0
        widths = output["widths"]
        after_id = output["last_id"] if output["last_id"] is not None else 0
        page_limit = None
        time.sleep(FOLLOW_INTERVAL_SECONDS)


@click.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Write to FILE instead of standard output.",
)
@click.option(
    "--session", "sessions", multiple=True, metavar="S", help="Only this session; repeatable."
)
@click.option(
    "--per-session",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="One <session_id>.jsonl per session, standalone receipts and operator.pub, into DIR.",
)
@command_flags(color=False)
def export_command(
    *,
    output: Path | None,
    sessions: tuple[str, ...],
    per_session: Path | None,
    project: Path | None,
    quiet: bool,
) -> int:
    """Export the store as JSON Lines: the exact stored bytes, one receipt per line."""
    ran = _checked(
        _core.export(
            output=None if output is None else str(output),
            sessions=list(sessions),
            per_session=None if per_session is None else str(per_session),
            project_root=project_root(project),
            cwd=str(Path.cwd()),
        )
    )
    _write(ran["data"])
    for line in ran["status"]:
        status(line, quiet=quiet)
    return ran["exit_code"]
