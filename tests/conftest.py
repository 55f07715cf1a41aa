"""Fixtures shared by the whole suite.

The suite tests the installed wheels, never the source tree: nox installs both wheels into a fresh
venv and runs pytest from a temporary directory with `--import-mode=importlib`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import heso
from heso import _config


@pytest.fixture(scope="session", autouse=True)
def _heso_is_installed() -> None:
    """Fail every test when `heso` was imported from anywhere but site-packages."""
    location = Path(heso.__file__).resolve()
    site_dirs = {Path(sysconfig.get_path(name)).resolve() for name in ("purelib", "platlib")}
    assert any(location.is_relative_to(site) for site in site_dirs), (
        f"heso was imported from `{location}`, not from site-packages; "
        "run the tests through `python3 scripts/nox.py -s tests-3.11`"
    )


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The shared test vectors (`../shared/vectors`), which nox passes in HESO_TEST_VECTORS."""
    value = os.environ.get("HESO_TEST_VECTORS")
    if not value:
        pytest.skip("HESO_TEST_VECTORS not set; run through nox to use ../shared/vectors")
    return Path(value)


@dataclass(frozen=True)
class StoreProject:
    """A copy of the project `fill_store` wrote: heso.toml and a populated .heso/heso.db.

    `facts` is its `fixture.json`: keys, session sizes, hashes and an ambiguous prefix.
    """

    root: Path
    facts: dict[str, Any]

    @property
    def db(self) -> Path:
        return self.root / ".heso" / "heso.db"


@pytest.fixture(scope="session")
def store_source() -> Path:
    """The directory `fill_store` wrote (nox passes it in HESO_TEST_STORE)."""
    value = os.environ.get("HESO_TEST_STORE")
    if not value:
        pytest.skip(
            "HESO_TEST_STORE not set; run through nox, or point it at the output of "
            "`cargo run -p heso-store --example fill_store -- DIR`"
        )
    return Path(value)


@pytest.fixture
def store_project(store_source: Path, tmp_path: Path) -> StoreProject:
    """A fresh copy of the populated project, free to damage."""
    facts: dict[str, Any] = json.loads((store_source / "fixture.json").read_text())
    root = tmp_path / "project"
    shutil.copytree(store_source / facts["project"], root)
    return StoreProject(root, facts)


SCRIPTS = Path(sysconfig.get_path("scripts"))


@dataclass(frozen=True)
class Ran:
    """A finished command: exit status and both streams."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


class Cli:
    """Runs the installed `heso` and `heso-compliance` programs as real subprocesses, with an
    environment free of the caller's `HESO_*` variables."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HESO_")}
        self.env["HESO_HOME"] = str(cwd / "home")
        self.env.pop("NO_COLOR", None)

    def run(
        self,
        program: str,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdin: bytes | None = None,
    ) -> Ran:
        completed = subprocess.run(
            [str(SCRIPTS / program), *args],
            cwd=cwd or self.cwd,
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )
        return Ran(completed.returncode, _decode(completed.stdout), _decode(completed.stderr))

    def heso(self, *args: str, **kwargs: Any) -> Ran:
        return self.run("heso", *args, **kwargs)

    def engine(self, *args: str, **kwargs: Any) -> Ran:
        return self.run("heso-compliance", *args, **kwargs)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The two command-line programs, run in a fresh temporary directory."""
    return Cli(tmp_path)


Snapshot = dict[str, tuple[str, int, int, int, str]]
Snapshotter = Callable[[Path], Snapshot]


def snapshot(root: Path) -> Snapshot:
    """Every entry under `root`: (type, mode, size, mtime_ns, sha256) by relative path."""
    entries: dict[str, tuple[str, int, int, int, str]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        kind = "dir" if path.is_dir() else "file"
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if kind == "file" else ""
        size = info.st_size if kind == "file" else 0
        entries[str(path.relative_to(root))] = (kind, info.st_mode, size, info.st_mtime_ns, digest)
    return entries


@pytest.fixture
def tree_snapshot() -> Snapshotter:
    """A function that snapshots a directory tree (paths, types, modes, sizes, mtimes, bytes)."""
    return snapshot


# --- a project gated calls write to -----------------------------------------------------------

# Rules every gated test project has before the starter's, so each decision has a tool to reach it.
EXTRA_RULES = """
[[rule]]
id = "secrets.redact"
order = 1
verb = "tool_call"
conditions = [{ field = "$tool_name", op = "eq", value = "call_api" }]
decision = "redact"
redact = ["api_key"]

[[rule]]
id = "shell.block"
order = 2
verb = "tool_call"
conditions = [{ field = "$tool_name", op = "eq", value = "shell" }]
decision = "block"

[[rule]]
id = "evil.block"
order = 3
verb = "any"
scope = "evil.example"
decision = "block"
"""


@dataclass
class GatedProject:
    """A project made by `heso init` plus EXTRA_RULES, with `heso.init()` done in this process.

    The starter's rules decide the rest: llm_call, tool_call and http_request are allowed,
    deletes and large payments need approval, and unmatched dangerous verbs fall to the floor.
    """

    root: Path
    config: heso.Config

    @property
    def db(self) -> Path:
        return self.root / ".heso" / "heso.db"

    def receipts(self, session: str = "test") -> list[dict[str, Any]]:
        """The receipts of an action session, in chain order, parsed."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            rows = conn.execute(
                "SELECT body FROM receipts WHERE session_id = ? ORDER BY seq", (session,)
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def all_receipts(self) -> list[dict[str, Any]]:
        """Every stored receipt in append order, standalone ones included."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT body FROM receipts ORDER BY id").fetchall()
        return [json.loads(body) for (body,) in rows]

    @property
    def engine_public_key(self) -> str:
        """The operator public key the engine signs with."""
        return _config.active()[1].public_key

    def count(self, sql: str) -> int:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            (value,) = conn.execute(sql).fetchone()
        return int(value)


@pytest.fixture(scope="session")
def gated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `heso init` per test session (minting a key takes a while); tests copy it."""
    root = tmp_path_factory.mktemp("gated") / "project"
    ran = Cli(root.parent).heso("init", "-q", str(root))
    assert ran.returncode == 0, ran.stderr
    with (root / "heso.toml").open("a", encoding="utf-8") as policy:
        policy.write(EXTRA_RULES)
    return root


@pytest.fixture
def gated_project(
    gated_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> GatedProject:
    """A fresh copy of the template, initialised in this process with workflow `test`."""
    root = tmp_path / "project"
    shutil.copytree(gated_template, root)
    monkeypatch.setattr(_config, "_state", _config._State())
    for name in [n for n in os.environ if n.startswith("HESO_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HESO_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(root)
    # `normal` keeps the suite fast; durability does not change what is recorded.
    config = heso.init(project_root=root, workflow="test", durability="normal")
    return GatedProject(root, config)
