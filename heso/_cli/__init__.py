"""The ``heso`` command line (click). ``main`` turns every failure into one line and an exit code.

Exit codes: 0 success, 1 a check found a failure, 2 usage/input/environment errors and
refusals, 130 interrupted. A closed stdout pipe ends quietly with 0.
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from heso._cli._group import SuggestingGroup
from heso._cli._output import EXIT_ERROR, CommandFailed, error
from heso._cli._project import group_flags
from heso._cli.demo import demo_command
from heso._cli.doctor import doctor_command
from heso._cli.init import init_command
from heso._cli.policy import policy_group
from heso._cli.store import export_command, log_command, show_command
from heso._cli.verify import verify_command
from heso._cli.version import version_command
from heso._core import __version__

__all__ = ["cli", "main"]


@click.group(
    cls=SuggestingGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="heso", message="%(prog)s %(version)s")
@group_flags
@click.pass_context
def cli(ctx: click.Context) -> None:
    """heso: gate, sign and verify every action your AI agent takes."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


cli.add_command(init_command)
cli.add_command(demo_command)
cli.add_command(doctor_command)
cli.add_command(export_command)
cli.add_command(log_command)
cli.add_command(policy_group)
cli.add_command(show_command)
cli.add_command(verify_command)
cli.add_command(version_command)


def main() -> None:
    """Run the command line and exit with its status."""
    try:
        status = cli.main(prog_name="heso", standalone_mode=False)
    except CommandFailed as failure:
        if not failure.reported:
            error(failure.message)
        status = failure.exit_code
    except click.exceptions.Exit as done:
        status = done.exit_code
    except click.UsageError as usage:
        message = usage.format_message()
        error(message[:1].lower() + message[1:].rstrip("."))
        status = EXIT_ERROR
    except click.ClickException as failure:
        error(failure.format_message())
        status = EXIT_ERROR
    except (KeyboardInterrupt, click.exceptions.Abort):
        status = 130
    except BrokenPipeError:
        status = _quiet_broken_pipe()
    except Exception as unexpected:  # the last line of defence against tracebacks
        error(
            f"internal error: {type(unexpected).__name__}: {unexpected}; please report it with "
            "the output of `heso version --json`"
        )
        if os.environ.get("HESO_DEBUG") == "1":
            traceback.print_exc()
        status = EXIT_ERROR
    sys.exit(status if isinstance(status, int) else 0)


def _quiet_broken_pipe() -> int:
    # The reader went away (`heso log | head`): it has what it wanted. Point stdout at devnull
    # so the interpreter's final flush does not fail again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0
