"""Finding the ``heso-compliance`` engine binary that ``heso init`` delegates to."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from heso._cli._output import CommandFailed
from heso._core import __version__

__all__ = ["find_engine_binary"]

BINARY = "heso-compliance"


def _candidates() -> list[tuple[str, Path | None]]:
    """Where to look, in order, each with how the error message names it."""
    name = BINARY + (".exe" if sys.platform == "win32" else "")
    env_bin = os.environ.get("HESO_BIN")
    scripts = sysconfig.get_path("scripts")
    places: list[tuple[str, Path | None]] = [
        ("$HESO_BIN", Path(env_bin) if env_bin else None),
        (f"next to {sys.executable}", Path(scripts) / name if scripts else None),
        (f"next to {sys.executable}", Path(sys.executable).parent / name),
    ]
    on_path = shutil.which(BINARY)
    places.append(("on PATH", Path(on_path) if on_path else None))
    return places


def find_engine_binary() -> Path:
    """Return the engine binary of exactly this version of heso.

    The first candidate that exists is the engine: a wrong one is never skipped in favour of the
    next, so what runs is always what the user would expect from the search order.

    Raises:
        CommandFailed: Not found, not runnable or another version; the message says how to
            install the right one.
    """
    for _, path in _candidates():
        if path is not None and path.is_file():
            found = _engine_version(path)
            if found != __version__:
                raise CommandFailed(
                    f"found {BINARY} {found} at {path}, but heso is {__version__}; "
                    f"install {BINARY}=={__version__}",
                    code="engine",
                )
            return path
    raise CommandFailed(
        f"cannot find {BINARY} {__version__} (looked at $HESO_BIN, next to {sys.executable}, "
        f"and on PATH); install it with `pip install {BINARY}=={__version__}` or "
        f"`conda install {BINARY}={__version__}`, or set HESO_BIN",
        code="engine",
    )


def _engine_version(path: Path) -> str:
    try:
        completed = subprocess.run(
            [str(path), "version", "--json"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        document = json.loads(completed.stdout)
        version = document["result"]["version"]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as error:
        raise CommandFailed(
            f"{path} does not answer like {BINARY} ({type(error).__name__}); "
            f"install {BINARY}=={__version__} or set HESO_BIN",
            code="engine",
        ) from None
    if not isinstance(version, str):
        raise CommandFailed(
            f"{path} reports no version; install {BINARY}=={__version__}", code="engine"
        )
    return version
