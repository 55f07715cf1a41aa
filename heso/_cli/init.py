"""``heso init``: find the engine, let ``heso-compliance init`` do the project, add the bootstrap.

The Rust half owns the directory, data directory, ``.gitignore``, passphrase, key and
``heso.toml``; this half only adds ``heso_bootstrap.py``, the one Python-specific file.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from heso._cli._engine_binary import find_engine_binary
from heso._cli._output import CommandFailed, envelope, print_json, status
from heso._cli._project import command_flags

__all__ = ["BOOTSTRAP", "init_command"]

BOOTSTRAP_FILE = "heso_bootstrap.py"
BOOTSTRAP = '''"""heso bootstrap: import this module once, first thing in your agent's entry point.

It finds heso.toml (from the current directory upwards, or HESO_PROJECT_ROOT),
loads the policy and opens the local heso store. See `heso doctor` if it fails.
"""

import heso

heso.init()
'''


@click.command("init")
@click.argument("directory", default=".", type=click.Path(path_type=Path))
@click.option(
    "--require-passphrase",
    is_flag=True,
    help="Strict custody: never generate a development passphrase.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Read the operator key passphrase from PATH.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@command_flags(color=False)
def init_command(
    *,
    directory: Path,
    require_passphrase: bool,
    passphrase_file: Path | None,
    as_json: bool,
    project: Path | None,
    quiet: bool,
) -> None:
    """Scaffold a heso project in DIRECTORY (default: the current directory). Idempotent."""
    try:
        _init(
            directory=directory,
            require_passphrase=require_passphrase,
            passphrase_file=passphrase_file,
            as_json=as_json,
            workdir=project,
            quiet=quiet,
        )
    except CommandFailed as failure:
        if as_json:
            print_json(envelope("init", failure.exit_code, None, failure=failure))
        raise


def _init(
    *,
    directory: Path,
    require_passphrase: bool,
    passphrase_file: Path | None,
    as_json: bool,
    workdir: Path | None,
    quiet: bool,
) -> None:
    engine = find_engine_binary()
    cwd = (workdir or Path.cwd()).absolute()
    target = cwd / directory
    _preflight(target)

    command = [str(engine), "init", str(directory), "--no-summary", "--json"]
    if require_passphrase:
        command.append("--require-passphrase")
    if passphrase_file is not None:
        command += ["--passphrase-file", str(passphrase_file)]
    if quiet:
        command.append("--quiet")
    returncode, stdout = _run_engine(command, cwd)
    document = _engine_document(stdout)
    if returncode != 0:
        message = (document.get("error") or {}).get("message") or "heso-compliance init failed"
        # Exit with the engine's status and write nothing.
        raise CommandFailed(
            message, code=(document.get("error") or {}).get("code", "engine"), exit_code=returncode
        )
    result: dict[str, Any] = document["result"]
    root = Path(result["project_root"])

    created = _write_bootstrap(root / BOOTSTRAP_FILE)
    result["steps"].append(
        {"step": "bootstrap", "path": BOOTSTRAP_FILE, "action": "created" if created else "kept"}
    )
    if created:
        status(f"wrote bootstrap module -> {BOOTSTRAP_FILE}", quiet=quiet)
    else:
        status(f"{BOOTSTRAP_FILE} already present (left untouched)", quiet=quiet)
    status(f"project ready at {root}", quiet=quiet)
    if any(step["action"] != "kept" for step in result["steps"]):
        status(
            f"next: `heso demo {directory}` to see it work, then `import heso_bootstrap` "
            "first thing in your agent",
            quiet=quiet,
        )
    if as_json:
        print_json(envelope("init", 0, result, document.get("warnings", [])))


def _run_engine(command: list[str], cwd: Path) -> tuple[int, str]:
    """Run the engine, streaming its status lines to stderr as they come.

    Its warnings are re-labelled as ours and its error line is dropped (``heso`` prints the
    error from the JSON result), so the user sees one program speaking.
    """
    with subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        assert process.stdout is not None
        # Reading stderr to the end before stdout cannot block: the engine writes one small
        # JSON document to stdout, far below a pipe's buffer.
        for line in process.stderr:
            if line.startswith(_ENGINE_ERROR):
                continue
            if line.startswith(_ENGINE_WARNING):
                sys.stderr.write("heso: warning: " + line.removeprefix(_ENGINE_WARNING))
            else:
                sys.stderr.write(line)
        stdout = process.stdout.read()
    return process.returncode, stdout


_ENGINE_ERROR = "heso-compliance: error: "
_ENGINE_WARNING = "heso-compliance: warning: "


def _engine_document(stdout: str) -> dict[str, Any]:
    try:
        document = json.loads(stdout)
    except ValueError:
        raise CommandFailed(
            "heso-compliance init printed no JSON result; reinstall heso-compliance", code="engine"
        ) from None
    if not isinstance(document, dict):
        raise CommandFailed("heso-compliance init printed an unexpected result", code="engine")
    return document


def _preflight(target: Path) -> None:
    """Check what this half will write before the engine writes anything."""
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.is_dir() and not os.access(existing, os.W_OK | os.X_OK):
        raise CommandFailed(
            f"cannot write in `{existing}`; choose a directory you can write to", code="refused"
        )
    bootstrap = target / BOOTSTRAP_FILE
    if bootstrap.is_symlink() or (bootstrap.exists() and not bootstrap.is_file()):
        raise CommandFailed(
            f"`{bootstrap}` exists and is not a regular file; move it away", code="usage"
        )


def _write_bootstrap(path: Path) -> bool:
    """Create the bootstrap module atomically; never replace an existing one."""
    if path.exists() or path.is_symlink():
        return False
    fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(BOOTSTRAP.encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
