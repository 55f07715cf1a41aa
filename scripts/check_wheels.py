"""Check what `nox -s build` put in dist/ before anything installs it (packaging.md §5, §7.1).

* the `heso` wheel holds the package with exactly one compiled module, `heso/_core.abi3.so`
  (`_core.pyd` on Windows), its stub `_core.pyi` and `py.typed`; every `[project.scripts]` entry
  point (among them `heso = heso._cli:main`); `Requires-Dist: heso-compliance==<v>`; and nothing
  else: no tests, no `__pycache__`, no other shared objects, no files outside `heso/`;
* the `heso-compliance` wheel holds only the binary, and its bytes equal the binary in the
  standalone tarball, whose `.sha256` file matches it;
* the sdists exist and carry no build output.

Usage: `python scripts/check_wheels.py [DIST]` (default: dist/)
"""

from __future__ import annotations

import hashlib
import re
import sys
import tarfile
import zipfile
from configparser import ConfigParser
from email.parser import HeaderParser
from pathlib import Path

from check_versions import REPO, cargo_version, load_toml, normalize

BUILD_OUTPUT = re.compile(
    r"(^|/)(__pycache__|\.pytest_cache|\.mypy_cache|\.ruff_cache|\.nox|\.nox-bootstrap|target"
    r"|dist|build|heso-demo)(/|$)|\.py[co]$|\.orig$|\.rej$|~$|(^|/)\.DS_Store$"
)
# The Python suite runs against installed wheels and ships in neither wheel nor sdist (Rust
# crates keep their own tests/, which cargo needs to build from the sdist).
TEST_DIR = re.compile(r"(^|/)tests?/")
SHARED_OBJECT = re.compile(r"\.(so|pyd|dylib|dll)(\.|$)")


def one(dist: Path, pattern: str) -> Path:
    matches = sorted(dist.glob(pattern))
    if len(matches) != 1:
        found = ", ".join(path.name for path in matches) or "none"
        msg = f"expected exactly one `{pattern}` in {dist}, found {found}"
        raise LookupError(msg)
    return matches[0]


def check_heso_wheel(wheel: Path, version: str) -> list[str]:
    errors = []
    info = f"heso-{version}.dist-info"
    extension = "heso/_core.pyd" if "-win" in wheel.name else "heso/_core.abi3.so"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = HeaderParser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = ConfigParser(interpolation=None)
        entry_points.read_string(archive.read(f"{info}/entry_points.txt").decode())

    for required in [extension, "heso/_core.pyi", "heso/py.typed", "heso/__init__.py"]:
        if required not in names:
            errors.append(f"{wheel.name}: `{required}` is missing")
    for name in names:
        if not (name.startswith(("heso/", f"{info}/"))):
            errors.append(f"{wheel.name}: `{name}` is outside `heso/` and `{info}/`")
        elif BUILD_OUTPUT.search(name) or TEST_DIR.search(name):
            errors.append(f"{wheel.name}: `{name}` is build output or a test")
        elif SHARED_OBJECT.search(name) and name != extension:
            errors.append(f"{wheel.name}: `{name}` is a second compiled module")

    scripts = load_toml(REPO / "pyproject.toml")["project"].get("scripts", {})
    shipped = dict(entry_points["console_scripts"]) if "console_scripts" in entry_points else {}
    if scripts.get("heso") != "heso._cli:main":
        errors.append("pyproject.toml: `[project.scripts] heso` must be `heso._cli:main`")
    for script, target in scripts.items():
        if shipped.get(script) != target:
            errors.append(f"{wheel.name}: entry point `{script} = {target}` is missing")

    requirement = f"heso-compliance=={version}"
    requires = [value.replace(" ", "") for value in metadata.get_all("Requires-Dist", [])]
    if requirement not in requires:
        errors.append(f"{wheel.name}: `Requires-Dist: {requirement}` is missing")
    return errors


def check_compliance(wheel: Path, tarball: Path, version: str) -> list[str]:
    errors = []
    data = f"heso_compliance-{version}.data/scripts/"
    info = f"heso_compliance-{version}.dist-info/"
    binary_name = "heso-compliance.exe" if "-win" in wheel.name else "heso-compliance"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for name in names:
            if not name.startswith(info) and name != data + binary_name:
                errors.append(f"{wheel.name}: `{name}` is not the binary or its metadata")
        if data + binary_name not in names:
            return [*errors, f"{wheel.name}: `{data}{binary_name}` is missing"]
        wheel_binary = archive.read(data + binary_name)

    checksum = tarball.with_name(tarball.name + ".sha256")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if not checksum.is_file():
        errors.append(f"`{checksum.name}` is missing")
    elif checksum.read_text(encoding="utf-8") != f"{digest}  {tarball.name}\n":
        errors.append(f"`{checksum.name}` does not match `{tarball.name}`")

    with tarfile.open(tarball) as archive:
        members = {member.name.split("/", 1)[-1]: member for member in archive.getmembers()}
        for required in [binary_name, "LICENSE-MIT", "LICENSE-APACHE"]:
            if required not in members:
                errors.append(f"{tarball.name}: `{required}` is missing")
        extracted = archive.extractfile(members[binary_name]) if binary_name in members else None
        tar_binary = extracted.read() if extracted else b""
    if tar_binary and tar_binary != wheel_binary:
        errors.append(
            f"the binary in `{wheel.name}` differs from the one in `{tarball.name}`; "
            "both must be the same build"
        )
    return errors


def check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[-1] for name in archive.getnames()]
    junk = [
        name
        for name in names
        if BUILD_OUTPUT.search(name) or SHARED_OBJECT.search(name) or name.startswith("tests/")
    ]
    return [f"{sdist.name}: `{name}` is build output or the test suite" for name in junk]


def main(argv: list[str]) -> int:
    dist = Path(argv[0]) if argv else REPO / "dist"
    cargo = cargo_version()
    version = normalize(cargo)
    try:
        heso_wheel = one(dist, f"heso-{version}-*.whl")
        compliance_wheel = one(dist, f"heso_compliance-{version}-*.whl")
        tarball = one(dist, f"heso-compliance-{cargo}-*.tar.gz")
        sdists = [
            one(dist, f"heso-{version}.tar.gz"),
            one(dist, f"heso_compliance-{version}.tar.gz"),
        ]
        errors = check_heso_wheel(heso_wheel, version)
        errors += check_compliance(compliance_wheel, tarball, version)
        for sdist in sdists:
            errors += check_sdist(sdist)
    except (LookupError, OSError, ValueError, zipfile.BadZipFile, tarfile.TarError) as error:
        errors = [str(error)]
    for message in errors:
        print(f"check_wheels: error: {message}", file=sys.stderr)
    if errors:
        return 1
    print(f"check_wheels: {heso_wheel.name}, {compliance_wheel.name}, {tarball.name} and sdists ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
