#!/usr/bin/env python3
"""Run the project's noxfile with the pinned nox, installing it first if needed.

Usage: `python3 scripts/nox.py [nox arguments]`, from any directory. This is the only entry
point a fresh machine needs: it keeps `.nox-bootstrap/`, a venv holding the nox pinned in
`scripts/nox-requirements.txt`, and rebuilds it whenever that file changes. Standard library only,
because nothing else can be assumed to be installed yet.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO / "scripts" / "nox-requirements.txt"
BOOTSTRAP = REPO / ".nox-bootstrap"
# The requirements hash the venv was built from; a mismatch (or no file) means rebuild.
STAMP = BOOTSTRAP / "nox-requirements.sha256"


def fail(message: str) -> NoReturn:
    """Print one error line for people and exit 1."""
    print(f"scripts/nox.py: error: {message}", file=sys.stderr)
    raise SystemExit(1)


def venv_python() -> Path:
    if os.name == "nt":
        return BOOTSTRAP / "Scripts" / "python.exe"
    return BOOTSTRAP / "bin" / "python"


def wanted_stamp() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def is_current() -> bool:
    try:
        stamp = STAMP.read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return stamp == wanted_stamp() and venv_python().exists()


def rebuild() -> None:
    print("scripts/nox.py: installing the pinned nox into .nox-bootstrap/", file=sys.stderr)
    # A half-built venv from an interrupted run must not survive: start from nothing.
    shutil.rmtree(BOOTSTRAP, ignore_errors=True)
    try:
        venv.EnvBuilder(with_pip=True).create(BOOTSTRAP)
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(BOOTSTRAP, ignore_errors=True)
        fail(
            f"`{sys.executable} -m venv` cannot create .nox-bootstrap/ (venv or ensurepip is "
            "missing); install it (Debian/Ubuntu: `apt-get install python3-venv`) and run again"
        )
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    if subprocess.run([*pip, "install", "-r", str(REQUIREMENTS)], check=False).returncode:
        fail("cannot install the pinned nox; see the pip output above and run again")
    # Written last, so an interrupted install is retried on the next run.
    STAMP.write_text(wanted_stamp() + "\n", encoding="utf-8")


def main(argv: list[str]) -> None:
    # The project needs 3.10, but this script is what tells someone on an older python3 so.
    if sys.version_info < (3, 10):  # noqa: UP036
        fail(f"Python {sys.version.split()[0]} is too old; run this script with Python ≥ 3.10")
    if not is_current():
        rebuild()
    python = str(venv_python())
    # `-f` makes nox find the noxfile (and run it from the repository root) from any directory.
    command = [python, "-m", "nox", "-f", str(REPO / "noxfile.py"), *argv]
    if os.name == "nt":
        # Windows has no real exec; wait for the child and pass its status on.
        raise SystemExit(subprocess.run(command, check=False).returncode)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(python, command)


if __name__ == "__main__":
    main(sys.argv[1:])
