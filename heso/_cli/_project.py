"""What every project command resolves the same way: the project root and whether to colour."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from heso import _core

__all__ = ["project_root", "use_color"]


def project_root(project: Path | None) -> str | None:
    """`-C DIR`, then HESO_PROJECT_ROOT, then discovery; a directory without heso.toml is none."""
    return _core.find_project_root(
        Path.cwd(), explicit=project, env_root=os.environ.get("HESO_PROJECT_ROOT") or None
    )


def use_color(choice: str) -> bool:
    """Colour on a terminal unless NO_COLOR is set or TERM is dumb; `always`/`never` force it."""
    if choice != "auto":
        return choice == "always"
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )
