"""``heso policy check | test | explain``: the engine's policy runs, printed.

``check`` and ``test`` call the same engine functions as ``heso-compliance policy check | test``,
so text, JSON and exit codes are identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from heso import _core
from heso._cli._group import SuggestingGroup
from heso._cli._output import CommandFailed, envelope, print_json
from heso._cli._project import command_flags, project_root

if TYPE_CHECKING:
    from heso._core import _PolicyRunOutput

__all__ = ["policy_group"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _common_options(function: _F) -> _F:
    """The flags every policy command takes: ``--json`` and the global ``-C``/``-q``/``--color``."""
    function = command_flags()(function)
    return click.option(
        "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."
    )(function)


@click.group("policy", cls=SuggestingGroup)
def policy_group() -> None:
    """Check heso.toml, run its tests, or explain a decision."""


@policy_group.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--deny-warnings", is_flag=True, help="Fail (exit 1) on warnings too.")
@_common_options
def check_command(
    *,
    path: Path | None,
    deny_warnings: bool,
    as_json: bool,
    project: Path | None,
    quiet: bool,
    color: str,
) -> int:
    """Load and validate heso.toml; print its errors and warnings."""
    del quiet, color  # accepted everywhere; check has no status lines and no colour
    output = _core.policy_check(
        None if path is None else str(path),
        project_root=project_root(project),
        cwd=str(Path.cwd()),
        deny_warnings=deny_warnings,
    )
    return _report("policy check", output, as_json=as_json)


@policy_group.command("test")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--policy",
    "policy",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="The policy under test (default: the project's heso.toml).",
)
@click.option("--require-coverage", is_flag=True, help="Fail when an enabled rule decides no test.")
@_common_options
def test_command(
    *,
    files: tuple[Path, ...],
    policy: Path | None,
    require_coverage: bool,
    as_json: bool,
    project: Path | None,
    quiet: bool,
    color: str,
) -> int:
    """Run the policy tests of heso.tests.toml and heso.toml (or of FILE...)."""
    del quiet, color
    output = _core.policy_test(
        [str(file) for file in files],
        policy=None if policy is None else str(policy),
        project_root=project_root(project),
        cwd=str(Path.cwd()),
        require_coverage=require_coverage,
    )
    return _report("policy test", output, as_json=as_json)


_ACTION_OPTIONS = ("verb", "tool_name", "host", "workflow", "account", "fields", "fields_json")


@policy_group.command("explain")
@click.option("--verb", help="The action's verb, such as payment (required without --receipt).")
@click.option("--tool", "tool_name", default="test", show_default=True, help="The tool name.")
@click.option("--host", help="The target host.")
@click.option("--workflow", default="default", show_default=True, help="The workflow.")
@click.option("--account", default="default", show_default=True, help="The account.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="PATH=VALUE",
    help="A field; VALUE is JSON when it parses, else a string; dotted paths nest. Repeatable.",
)
@click.option("--fields-json", metavar="JSON", help="All fields as one JSON object.")
@click.option(
    "--receipt",
    "receipt",
    metavar="REF",
    help="Explain a stored receipt's action (an action_hash prefix) under the current policy.",
)
@click.option(
    "--policy",
    "policy",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="The policy to explain with (default: the project's heso.toml).",
)
@_common_options
@click.pass_context
def explain_command(
    ctx: click.Context,
    *,
    verb: str | None,
    tool_name: str,
    host: str | None,
    workflow: str,
    account: str,
    fields: tuple[str, ...],
    fields_json: str | None,
    receipt: str | None,
    policy: Path | None,
    as_json: bool,
    project: Path | None,
    quiet: bool,
    color: str,
) -> int:
    """Show why an action (or a stored receipt's) gets its decision, rule by rule."""
    del quiet, color
    if receipt is not None:
        given = [
            name
            for name in _ACTION_OPTIONS
            if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
        ]
        if given:
            raise CommandFailed(
                "--receipt explains the stored receipt's own action; drop the action options "
                f"({', '.join(_option_name(name) for name in given)}) or --receipt"
            )
        output = _core.policy_explain_receipt(
            receipt,
            policy=None if policy is None else str(policy),
            project_root=project_root(project),
            cwd=str(Path.cwd()),
        )
        return _report("policy explain", output, as_json=as_json)
    if verb is None:
        raise CommandFailed(
            "policy explain needs --verb V (and the other action options) or --receipt REF"
        )
    action: dict[str, Any] = {
        "verb": verb,
        "tool_name": tool_name,
        "workflow": workflow,
        "account": account,
        "fields": _fields(fields, fields_json),
    }
    if host is not None:
        action["target_host"] = host
    output = _core.policy_explain(
        json.dumps(action),
        policy=None if policy is None else str(policy),
        project_root=project_root(project),
        cwd=str(Path.cwd()),
    )
    return _report("policy explain", output, as_json=as_json)


def _option_name(parameter: str) -> str:
    """The command-line spelling of an explain action option."""
    spelled = {"tool_name": "tool", "fields": "field"}.get(parameter, parameter)
    return "--" + spelled.replace("_", "-")


def _fields(assignments: tuple[str, ...], fields_json: str | None) -> dict[str, Any]:
    """The action's fields from `--fields-json` and then each `--field PATH=VALUE` on top."""
    fields: dict[str, Any] = {}
    if fields_json is not None:
        try:
            parsed = json.loads(fields_json)
        except ValueError as bad:
            raise CommandFailed(f"--fields-json is not JSON: {bad}") from None
        if not isinstance(parsed, dict):
            raise CommandFailed("--fields-json must be a JSON object, such as '{\"amount\": 5}'")
        fields = parsed
    for assignment in assignments:
        path, equals, text = assignment.partition("=")
        segments = path.split(".")
        if not equals or not all(segments):
            raise CommandFailed(
                f"--field `{assignment}` is not PATH=VALUE; write for example --field amount=500"
            )
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        target = fields
        for segment in segments[:-1]:
            nested = target.setdefault(segment, {})
            if not isinstance(nested, dict):
                raise CommandFailed(f"--field `{assignment}`: `{segment}` is already a value")
            target = nested
        target[segments[-1]] = value
    return fields


def _report(command: str, output: _PolicyRunOutput, *, as_json: bool) -> int:
    """Print an engine outcome as ``heso-compliance`` prints it and return its exit status."""
    error = output["error"]
    if error is not None:
        failure = CommandFailed(error["message"], code=error["code"])
        if as_json:
            print_json(envelope(command, 2, None, failure=failure))
        elif output["lines"]:
            click.echo("\n".join(output["lines"]))
        raise failure
    status: int = output["exit_code"]
    if as_json:
        result = json.loads(output["result"] or "null")
        print_json(envelope(command, status, result, output["warnings"]))
    elif output["lines"]:
        click.echo("\n".join(output["lines"]))
    return status
