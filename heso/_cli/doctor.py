"""``heso doctor``: every check of the installation and the project, one line each.

Each check ends as ``ok``, ``warn`` or ``fail``; a warning or failure carries its fix. The checks
run in the order of cli.md §2.11 and never stop at the first problem: when the project cannot
be opened, only the checks that need it are left out.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import click

import heso
from heso import _config, _core
from heso._cli._engine_binary import find_engine_binary
from heso._cli._output import CommandFailed, envelope, print_json
from heso._cli._project import command_flags, project_root, use_color

__all__ = ["doctor_command"]

Status = Literal["ok", "warn", "fail"]
_STYLE = {"ok": "green", "warn": "yellow", "fail": "red"}
_APPROVER_WITHOUT_KEYS = "approver-without-keys"


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ``hint`` is the fix, empty for ``ok``."""

    name: str
    status: Status
    message: str
    hint: str = ""

    def line(self, *, color: bool) -> str:
        word = f"{self.status:<4}"
        if color:
            word = click.style(word, fg=_STYLE[self.status])
        return f"{word} {self.message}" + (f"; {self.hint}" if self.hint else "")


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON on stdout.")
@command_flags()
def doctor_command(*, as_json: bool, project: Path | None, color: str, quiet: bool) -> int:
    """Check the installation, the project, its key, policy and store; exit 1 if one fails."""
    del quiet  # doctor's lines are its data; there are no status lines to suppress
    checks = list(_run_checks(project))
    failed = sum(check.status == "fail" for check in checks)
    warned = sum(check.status == "warn" for check in checks)
    exit_code = 1 if failed else 0
    if as_json:
        print_json(envelope("doctor", exit_code, {"checks": [asdict(check) for check in checks]}))
        return exit_code
    colored = use_color(color)
    for check in checks:
        click.echo(check.line(color=colored), color=colored)
    click.echo(f"{_count(warned, 'warning')}, {_count(failed, 'failure')}")
    return exit_code


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _run_checks(project: Path | None) -> Iterator[Check]:
    yield _versions()
    root, found_from = _project(project)
    if root is None:
        yield Check(
            "project",
            "fail",
            f"no heso.toml in {Path.cwd()} or any parent directory",
            "run `heso init` or pass -C DIR",
        )
        yield from _unknown_variables()
        return
    opened = _open(root)
    if isinstance(opened, heso.HesoError) and not isinstance(opened, heso.PolicyError):
        yield Check("project", "fail", f"project {root} ({found_from}): {opened}")
    else:
        yield Check("project", "ok", f"project {root} ({found_from}){_settings(opened)}")
    yield from _unknown_variables()
    checked, policy_checks = _policy(root)
    yield from policy_checks
    if isinstance(opened, heso.HesoError):
        return  # the key, pinning and store need an opened project
    config, engine = opened
    yield _operator_key(engine, root)
    yield _pinning(config, engine, checked)
    yield _approvers(checked)
    yield _data_dir(config, root)
    yield _store(config, root)
    yield _outbox(config)


def _versions() -> Check:
    try:
        package = metadata.version("heso")
    except metadata.PackageNotFoundError:
        package = heso.__version__
    core = _core.__version__
    try:
        binary = find_engine_binary()
    except CommandFailed as missing:
        message, _, hint = missing.message.partition("; ")
        return Check("versions", "fail", f"heso {package}, heso._core {core}: {message}", hint)
    text = f"heso {package}, heso._core {core}, heso-compliance {core} ({binary})"
    if package != core:
        return Check(
            "versions",
            "fail",
            text,
            f"reinstall heso: the package is {package} but its engine is {core}",
        )
    return Check("versions", "ok", text)


def _project(project: Path | None) -> tuple[Path | None, str]:
    """The project root and how it was found (cli.md §1.3)."""
    root = project_root(project)
    if project is not None:
        how = "from -C"
    elif os.environ.get("HESO_PROJECT_ROOT"):
        how = "from HESO_PROJECT_ROOT"
    else:
        how = "found from the current directory"
    return (None if root is None else Path(root).resolve()), how


def _open(root: Path) -> tuple[heso.Config, _core.Engine] | heso.HesoError:
    """``heso.init()`` on the project, its warnings held back: the checks below report them."""
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            heso.init(project_root=root)
        except heso.HesoError as failure:
            return failure
    return _config.active()


def _settings(opened: tuple[heso.Config, _core.Engine] | heso.HesoError) -> str:
    """Where each setting that is not a default came from (sdk.md §2.2 `sources`)."""
    if isinstance(opened, heso.HesoError):
        return ""
    config = opened[0]
    chosen = [
        f"{name} from {source.removeprefix('env:')}"
        for name, source in config.sources.items()
        if name != "project_root" and source not in ("default", "argument")
    ]
    return (", " + ", ".join(chosen)) if chosen else ", every other setting is its default"


def _unknown_names() -> list[tuple[str, str]]:
    """Each ``HESO_*`` variable heso does not read, with a suggestion when one is close."""
    known = (*_config._INIT_VARIABLES, *_config._OTHER_VARIABLES)
    unknown = []
    for name in sorted(os.environ):
        if not name.startswith("HESO_") or not os.environ[name] or name in known:
            continue
        close = [k for k in known if _config._edit_distance(name, k) <= 2]
        unknown.append((name, f"did you mean {close[0]}?" if close else "unset it"))
    return unknown


def _unknown_variables() -> Iterator[Check]:
    unknown = _unknown_names()
    for name, hint in unknown:
        yield Check("environment", "warn", f"unknown variable {name} is ignored", hint)
    if not unknown:
        yield _no_unknown()


def _no_unknown() -> Check:
    return Check("environment", "ok", "no unknown HESO_* variables")


def _policy(root: Path) -> tuple[dict[str, Any] | None, list[Check]]:
    """``heso policy check`` on the project: its result and the lines for it."""
    output = _core.policy_check(None, project_root=str(root), cwd=str(root), deny_warnings=False)
    error = output["error"]
    if error is not None:
        return None, [Check("policy", "fail", f"heso.toml: {error['message']}")]
    result: dict[str, Any] = json.loads(output["result"] or "null")
    if result["errors"]:
        first = result["errors"][0]
        more = len(result["errors"]) - 1
        where = f"{first['path']}:{first['line']}:{first['column']}: " if first["line"] else ""
        extra = f" (and {more} more)" if more else ""
        message = f"heso.toml does not load: {where}{first['message']}{extra}"
        return None, [Check("policy", "fail", message, "run `heso policy check`")]
    checks = [
        Check(
            "policy",
            "ok",
            f"heso.toml loads: {_count(result['rules'], 'rule')}, "
            f"policy_hash {result['policy_hash'][:12]}…",
        )
    ]
    for issue in result["warnings"]:
        if issue["code"] != _APPROVER_WITHOUT_KEYS:
            message, _, hint = issue["message"].partition("; ")
            checks.append(Check("policy", "warn", f"heso.toml:{issue['line']}: {message}", hint))
    return result, checks


def _operator_key(engine: _core.Engine, root: Path) -> Check:
    source = engine.passphrase_source
    if source is None:
        unlocked = "not encrypted"
    else:
        # Paths inside the project are shown relative to it, as `heso init` shows them.
        source = source.replace(f"{root}{os.sep}", "").replace(" (development only)", "")
        unlocked = f"passphrase from {source}"
        if engine.uses_dev_passphrase:
            unlocked += ", development only"
    return Check(
        "operator_key", "ok", f"operator key {_short(engine.fingerprint)} loads ({unlocked})"
    )


def _pinning(config: heso.Config, engine: _core.Engine, checked: dict[str, Any] | None) -> Check:
    try:
        policy = config.policy_path.read_bytes()
    except OSError as error:
        return Check("pinning", "fail", f"cannot read {config.policy_path}: {error.strerror}")
    state, reason = _core.operator_pinning(policy, engine.public_key)
    key = engine.public_key
    if state == "pinned":
        return Check("pinning", "ok", "operator key pinned in [identity]")
    if state == "no_identity":
        return Check(
            "pinning",
            "warn",
            "heso.toml has no [identity], so receipts are not pinned to the operator key",
            f'add [identity] with `operator = ["{key}"]`',
        )
    if state == "not_pinned":
        pinned = [entry["public_key"] for entry in (checked or {}).get("operator_keys") or []]
        keys = ", ".join(f'"{k}"' for k in [*pinned, key])
        return Check(
            "pinning",
            "fail",
            f"operator key {_short(engine.fingerprint)} is not pinned in [identity], so its "
            "receipts fail `heso verify`",
            f"set `operator = [{keys}]` in [identity]",
        )
    return Check("pinning", "fail", f"cannot read [identity]: {reason}", "run `heso policy check`")


def _approvers(checked: dict[str, Any] | None) -> Check:
    if checked is None:
        return Check("approvers", "fail", "cannot list approver names: heso.toml does not load")
    missing = [w for w in checked["warnings"] if w["code"] == _APPROVER_WITHOUT_KEYS]
    if not missing:
        return Check("approvers", "ok", "every approver name used by rules has keys")
    # The engine's message names the approver and the rules it cannot approve, then the fix.
    message, _, hint = missing[0]["message"].partition("; ")
    more = f" (and {len(missing) - 1} more names)" if len(missing) > 1 else ""
    return Check("approvers", "warn", f"approver {message}{more}", hint)


def _data_dir(config: heso.Config, root: Path) -> Check:
    """The data directory and key file must be private (storage.md §1: 0700 and 0600)."""
    shown = _relative(config.data_dir, root)
    loose = []
    for path, wanted in ((config.data_dir, 0o700), (config.data_dir / "identity.key", 0o600)):
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            continue
        if mode & 0o077:
            loose.append(f"chmod {wanted:o} {_relative(path, root)}")
    if loose:
        return Check(
            "data_dir",
            "warn",
            f"data dir {shown} is readable by others",
            "run " + " and ".join(f"`{fix}`" for fix in loose),
        )
    return Check("data_dir", "ok", f"data dir {shown} is private")


def _store(config: heso.Config, root: Path) -> Check:
    """Open the store and verify every receipt in it (signatures and chains, not pinning).

    Pinning has its own check above, so an unpinned key is not reported twice. This reads the
    whole store: the engine has no cheaper call for the receipt and chain counts yet.
    """
    store = _relative(config.data_dir / "heso.db", root)
    output = _core.verify(
        [], pubkeys=[], approver_pubkeys=[], no_pin=True, all=False, project_root=str(root)
    )
    error = output["error"]
    if error is not None:
        return Check("store", "fail", f"store {store}: {error['message']}")
    summary = json.loads(output["result"] or "null")["summary"]
    receipts, chains, failed = summary["receipts"], summary["chains"], summary["failed"]
    if receipts == 0:
        return Check("store", "ok", f"store {store}: no receipts yet")
    counts = f"{_count(receipts, 'receipt')}, {_count(chains, 'chain')}"
    if failed:
        return Check(
            "store",
            "fail",
            f"store {store}: {counts}, {failed:,} failed verification",
            "run `heso verify` for details",
        )
    return Check("store", "ok", f"store {store}: {counts}, all Valid")


def _outbox(config: heso.Config) -> Check:
    # The pending count is left out: no engine call reads it cheaply yet (`heso outbox` will).
    if not config.cloud_enabled:
        return Check("outbox", "ok", "outbox: no control plane configured")
    return Check("outbox", "ok", f"outbox: control plane {config.endpoint} configured")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _short(fingerprint: str) -> str:
    """``heso:3f9c…3e41`` from a full fingerprint."""
    digits = fingerprint.removeprefix("heso:")
    return f"heso:{digits[:4]}…{digits[-4:]}" if len(digits) > 8 else fingerprint
