"""Smoke-test one platform's two wheels in a fresh venv (packaging.md §10).

Hosted CI runs this on every platform it builds, with Python 3.10 and 3.13, before anything is
published. It creates a venv with the running interpreter, installs both wheels by exact file path
in one pip command (never by name: an unrelated `heso` exists on the public index), and then, in a
temporary directory with a clean `HESO_*` environment:

* `heso --version` and `heso-compliance version` report the wheels' version, and
  `import heso, heso._core` loads the installed copy;
* `heso init p` run twice: the second run says "left untouched" and changes no path, type, mode,
  size, mtime or sha256 under the temporary directory;
* `heso demo d` exits 0.

Standard library only, so that it runs on a bare interpreter of any supported version.

Usage: `python scripts/smoke_wheel.py HESO_WHEEL HESO_COMPLIANCE_WHEEL` (in either order)
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile
import venv
from collections.abc import Mapping, Sequence
from pathlib import Path

PROGRAM = "smoke_wheel"
IS_WINDOWS = sys.platform == "win32"
# Generous: pip may download click and platformdirs, and the demo signs a few receipts.
INSTALL_TIMEOUT = 900
COMMAND_TIMEOUT = 300

# (type, mode, size, mtime_ns, sha256 or link target) of one path.
Entry = tuple[str, int, int, int, str]
Snapshot = dict[str, Entry]


class SmokeError(Exception):
    """A check failed; the message is one line for people."""


def _distribution(wheel: Path) -> str:
    """The wheel's distribution name as its file name spells it (`heso`, `heso_compliance`)."""
    return wheel.name.split("-", 1)[0]


def _version_tokens(version: str) -> list[str]:
    """`version` as comparable tokens, so Cargo's `0.7.0-rc.1` equals PEP 440's `0.7.0rc1`."""
    spellings = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}
    tokens = re.findall(r"[0-9]+|[a-z]+", version.lower())
    return [str(int(token)) if token.isdigit() else spellings.get(token, token) for token in tokens]


def _pick_wheels(arguments: Sequence[str]) -> tuple[Path, Path]:
    """(heso wheel, heso-compliance wheel) from the two given paths, in either order."""
    if len(arguments) != 2:
        found = " ".join(f"`{argument}`" for argument in arguments) or "none"
        msg = f"expected exactly two wheel files, the heso and the heso-compliance one; got {found}"
        raise SmokeError(msg)
    wheels = {}
    for argument in arguments:
        wheel = Path(argument).resolve()
        if not wheel.is_file() or wheel.suffix != ".whl":
            msg = f"`{argument}` is not a wheel file"
            raise SmokeError(msg)
        wheels[_distribution(wheel)] = wheel
    if set(wheels) != {"heso", "heso_compliance"}:
        names = ", ".join(f"`{Path(argument).name}`" for argument in arguments)
        msg = f"expected one `heso-*.whl` and one `heso_compliance-*.whl`; got {names}"
        raise SmokeError(msg)
    heso, compliance = wheels["heso"], wheels["heso_compliance"]
    if _version_tokens(heso.name.split("-")[1]) != _version_tokens(compliance.name.split("-")[1]):
        msg = f"`{heso.name}` and `{compliance.name}` have different versions"
        raise SmokeError(msg)
    return heso, compliance


def _run(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: int = COMMAND_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run `command`; a non-zero exit is an error that shows what the command printed."""
    shown = shlex.join([Path(command[0]).name, *command[1:]])
    print(f"{PROGRAM}: $ {shown}", flush=True)
    try:
        result = subprocess.run(
            list(command),
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        msg = f"`{shown}` could not run: {error}"
        raise SmokeError(msg) from error
    if result.returncode != 0:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        msg = f"`{shown}` exited {result.returncode}"
        raise SmokeError(msg)
    return result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _snapshot(root: Path) -> Snapshot:
    """Every path under `root` (and `root` itself) with what a rewrite would change."""
    tree: Snapshot = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            kind, content = "file", _sha256(path)
        elif stat.S_ISDIR(info.st_mode):
            kind, content = "dir", ""
        elif stat.S_ISLNK(info.st_mode):
            kind, content = "symlink", os.readlink(path)
        else:
            kind, content = "other", ""
        entry = (kind, stat.S_IMODE(info.st_mode), info.st_size, info.st_mtime_ns, content)
        tree[path.relative_to(root).as_posix()] = entry
    return tree


def _changes(before: Snapshot, after: Snapshot) -> list[str]:
    fields = ("type", "mode", "size", "mtime", "sha256")
    changes = [f"created {path}" for path in sorted(after.keys() - before.keys())]
    changes += [f"removed {path}" for path in sorted(before.keys() - after.keys())]
    for path in sorted(before.keys() & after.keys()):
        changed = [
            name for name, a, b in zip(fields, before[path], after[path], strict=True) if a != b
        ]
        if changed:
            changes.append(f"changed {path} ({', '.join(changed)})")
    return changes


def _reported_version(output: str, program: str) -> str:
    """The version in `<program> <version> ...`, the first line of a version report."""
    words = output.strip().split()
    if len(words) < 2 or words[0] != program:
        msg = f"`{program}` printed `{output.strip()}`; expected `{program} <version>`"
        raise SmokeError(msg)
    return words[1]


def smoke(heso_wheel: Path, compliance_wheel: Path, scratch: Path) -> None:
    """Install both wheels into a venv under `scratch` and exercise the installed commands."""
    want = heso_wheel.name.split("-")[1]
    environment = scratch / "venv"
    print(f"{PROGRAM}: creating a venv with {sys.executable} ({sys.version.split()[0]})")
    venv.EnvBuilder(with_pip=True).create(environment)
    scripts = environment / ("Scripts" if IS_WINDOWS else "bin")
    suffix = ".exe" if IS_WINDOWS else ""
    python = scripts / f"python{suffix}"
    heso = str(scripts / f"heso{suffix}")
    compliance = str(scripts / f"heso-compliance{suffix}")

    work, home = scratch / "work", scratch / "home"
    work.mkdir()
    home.mkdir()
    # The caller's own HESO_ENV or passphrase must not change what this proves.
    env = {name: value for name, value in os.environ.items() if not name.startswith("HESO_")}
    env["HESO_HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(scripts), env.get("PATH", "")])

    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            str(heso_wheel),
            str(compliance_wheel),
        ],
        cwd=work,
        env=env,
        timeout=INSTALL_TIMEOUT,
    )

    for command, program in [
        ([heso, "--version"], "heso"),
        ([compliance, "version"], "heso-compliance"),
    ]:
        found = _reported_version(_run(command, cwd=work, env=env).stdout, program)
        if _version_tokens(found) != _version_tokens(want):
            msg = f"`{program}` reports version `{found}`; the wheels are `{want}`"
            raise SmokeError(msg)
    imported = _run(
        [str(python), "-c", "import heso, heso._core; print(heso.__file__)"], cwd=work, env=env
    ).stdout.strip()
    if not Path(imported).resolve().is_relative_to(environment.resolve()):
        msg = f"`import heso` loaded `{imported}`, not the copy installed in {environment}"
        raise SmokeError(msg)

    # Everything but the venv: the project, and HESO_HOME in case init writes there.
    _run([heso, "init", "p"], cwd=work, env=env)
    before = {"work": _snapshot(work), "home": _snapshot(home)}
    second = _run([heso, "init", "p"], cwd=work, env=env)
    after = {"work": _snapshot(work), "home": _snapshot(home)}
    changes = [
        f"{root}/{change}" for root in before for change in _changes(before[root], after[root])
    ]
    if changes:
        msg = f"a second `heso init p` changed the tree: {'; '.join(changes)}"
        raise SmokeError(msg)
    if "left untouched" not in second.stderr:
        msg = "a second `heso init p` did not report `left untouched` on stderr"
        raise SmokeError(msg)
    print(f"{PROGRAM}: a second `heso init p` left every file and directory untouched")

    _run([heso, "demo", "d"], cwd=work, env=env)


def main(arguments: Sequence[str]) -> int:
    try:
        heso_wheel, compliance_wheel = _pick_wheels(arguments)
    except SmokeError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        print(
            f"usage: python {Path(__file__).name} HESO_WHEEL HESO_COMPLIANCE_WHEEL", file=sys.stderr
        )
        return 2
    try:
        with tempfile.TemporaryDirectory(
            prefix="heso-smoke-", ignore_cleanup_errors=True
        ) as scratch:
            smoke(heso_wheel, compliance_wheel, Path(scratch).resolve())
    except (SmokeError, OSError) as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 1
    print(f"{PROGRAM}: {heso_wheel.name} and {compliance_wheel.name} passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
