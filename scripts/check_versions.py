"""Check that every copy of the version agrees with the single source (packaging.md §4).

The source is `[workspace.package] version` in Cargo.toml. Copies checked: every crate's
`version.workspace = true`, the `=<v>` requirements on internal crates in
`[workspace.dependencies]`, both pyproject files' `dynamic = ["version"]`, the root
`heso-compliance==<v>` requirement, the conda recipes' `context.version` (once they exist) and the
file names of the given wheels (default: those in dist/). Cargo and Python spell pre-releases
differently (`0.7.0-rc.1` is `0.7.0rc1`), so versions are compared in PEP 440 normal form.

With `--installed`, also `heso.__version__`, `heso --version` and `heso-compliance version` of the
programs installed next to the running interpreter.

Usage: `python scripts/check_versions.py [--installed] [WHEEL ...]`
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
RECIPES = [REPO / "recipe" / "recipe.yaml", REPO / "recipe" / "local" / "recipe.yaml"]

# PEP 440, appendix B: the accepted (not only the normal) spellings of a version.
_PEP440 = re.compile(
    r"""
    v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?:[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?:-(?P<post_n1>[0-9]+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PRE_SPELLINGS = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}


def normalize(version: str) -> str:
    """The PEP 440 normal form of `version` (also accepts Cargo's `X.Y.Z-rc.N`).

    Raises ValueError for anything that is not a version.
    """
    match = _PEP440.fullmatch(version.strip())
    if match is None:
        msg = f"`{version}` is not a PEP 440 version"
        raise ValueError(msg)
    parts = []
    if match["epoch"] and int(match["epoch"]):
        parts.append(f"{int(match['epoch'])}!")
    parts.append(".".join(str(int(number)) for number in match["release"].split(".")))
    if match["pre_l"]:
        label = match["pre_l"].lower()
        parts.append(f"{_PRE_SPELLINGS.get(label, label)}{int(match['pre_n'] or 0)}")
    if match["post_n1"] or match["post_l"]:
        parts.append(f".post{int(match['post_n1'] or match['post_n2'] or 0)}")
    if match["dev_l"]:
        parts.append(f".dev{int(match['dev_n'] or 0)}")
    if match["local"]:
        parts.append("+" + re.sub(r"[-_]", ".", match["local"].lower()))
    return "".join(parts)


def load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        document: dict[str, Any] = tomllib.load(file)
    return document


def cargo_version() -> str:
    """`[workspace.package] version` from the root Cargo.toml, as Cargo spells it."""
    return str(load_toml(REPO / "Cargo.toml")["workspace"]["package"]["version"])


def _canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _recipe_version(path: Path) -> str | None:
    """`version` inside the top-level `context:` mapping of a rattler-build v1 recipe."""
    in_context = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"context:\s*(#.*)?$", line):
            in_context = True
        elif in_context and line and not line[0].isspace() and not line.startswith("#"):
            return None
        elif in_context and (match := re.match(r"\s+version:\s*[\"']?([^\"'\s#]+)", line)):
            return match[1]
    return None


def check_cargo(cargo: dict[str, Any], source: str) -> list[str]:
    """Crates inherit the workspace version; internal requirements pin it exactly."""
    errors = []
    for member in cargo["workspace"]["members"]:
        package = load_toml(REPO / member / "Cargo.toml")["package"]
        if package.get("version") != {"workspace": True}:
            errors.append(f"{member}/Cargo.toml: `version` must be `version.workspace = true`")
    for name, spec in cargo["workspace"].get("dependencies", {}).items():
        if isinstance(spec, dict) and "path" in spec and spec.get("version") != f"={source}":
            errors.append(
                f"Cargo.toml: [workspace.dependencies] `{name}` has version "
                f"`{spec.get('version')}`; expected `={source}`"
            )
    return errors


def check_pyprojects(want: str) -> list[str]:
    """Both distributions take their version from Cargo; heso pins heso-compliance to it."""
    errors = []
    for path in [REPO / "pyproject.toml", REPO / "engine" / "heso-compliance" / "pyproject.toml"]:
        project = load_toml(path)["project"]
        if "version" in project or "version" not in project.get("dynamic", []):
            errors.append(
                f"{path.relative_to(REPO)}: the version must come from Cargo; "
                'set `dynamic = ["version"]` and no `version`'
            )
    requirements = load_toml(REPO / "pyproject.toml")["project"].get("dependencies", [])
    pins = [
        requirement
        for requirement in requirements
        if _canonical_name(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])
        == "heso-compliance"
    ]
    pinned = [re.fullmatch(r"[\w.-]+\s*==\s*([^\s;,]+)", pin) for pin in pins]
    if len(pinned) != 1 or pinned[0] is None or normalize(pinned[0][1]) != want:
        found = ", ".join(f"`{pin}`" for pin in pins) or "no heso-compliance"
        errors.append(
            f"pyproject.toml: heso requires {found}; expected exactly `heso-compliance=={want}`"
        )
    return errors


def check_recipes(want: str) -> list[str]:
    errors = []
    for recipe in RECIPES:
        if recipe.is_file():
            found = _recipe_version(recipe)
            if found is None or normalize(found) != want:
                errors.append(
                    f"{recipe.relative_to(REPO)}: context.version is `{found}`; expected `{want}`"
                )
    return errors


def check_wheel_names(wheels: list[Path], want: str) -> list[str]:
    errors = []
    for wheel in wheels:
        # Wheel names are `{distribution}-{version}-...`, with `-` escaped as `_` in each part.
        parts = wheel.name.split("-")
        try:
            found = normalize(parts[1]) if len(parts) >= 5 else None
        except ValueError:
            found = None
        if found != want:
            errors.append(f"{wheel.name}: wheel version is not `{want}`")
    return errors


def check(wheels: list[Path]) -> list[str]:
    """Every disagreement with the single source, as one error line each."""
    cargo = load_toml(REPO / "Cargo.toml")
    source = str(cargo["workspace"]["package"]["version"])
    want = normalize(source)
    return [
        *check_cargo(cargo, source),
        *check_pyprojects(want),
        *check_recipes(want),
        *check_wheel_names(wheels, want),
    ]


def installed_versions() -> dict[str, str]:
    """What the installed programs report, when `heso` is installed next to this interpreter:
    `heso.__version__`, `heso --version` and `heso-compliance version`."""
    scripts = Path(sysconfig.get_path("scripts"))
    heso, engine = scripts / "heso", scripts / "heso-compliance"
    if not (heso.is_file() and engine.is_file()):
        return {}
    env = {name: value for name, value in os.environ.items() if not name.startswith("HESO_")}

    def output(*command: str) -> str:
        # From the file-system root, so a source checkout in the working directory cannot shadow
        # the installed package.
        ran = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=os.sep, check=False
        )
        return ran.stdout.strip() if ran.returncode == 0 else f"<exit {ran.returncode}>"

    module = output(sys.executable, "-c", "import heso; print(heso.__version__)")
    return {
        "heso.__version__": module,
        "heso --version": output(str(heso), "--version"),
        "heso-compliance version": output(str(engine), "version"),
    }


def check_installed(found: dict[str, str], want: str) -> list[str]:
    errors = []
    for name, text in found.items():
        # `heso --version` prints `heso 0.6.0`; the engine adds its build details after that.
        words = text.split()
        versions = [word for word in words if _PEP440.fullmatch(word)]
        if not versions or normalize(versions[0]) != want:
            errors.append(f"{name} reports `{text}`; expected version `{want}`")
    return errors


def main(argv: list[str]) -> int:
    # `--installed`: also ask the programs installed next to this interpreter (the lint session).
    ask_installed = "--installed" in argv
    argv = [arg for arg in argv if arg != "--installed"]
    wheels = [Path(arg) for arg in argv] or sorted((REPO / "dist").glob("*.whl"))
    installed: dict[str, str] = {}
    try:
        errors = check(wheels)
        if ask_installed:
            installed = installed_versions()
            if not installed:
                errors.append("--installed: no `heso` and `heso-compliance` next to this python")
        errors += check_installed(installed, normalize(cargo_version()))
    except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError) as error:
        errors = [f"cannot read the version copies: {error}"]
    for message in errors:
        print(f"check_versions: error: {message}", file=sys.stderr)
    if errors:
        return 1
    checked = ["Cargo", "pyproject"]
    checked += [recipe.relative_to(REPO).as_posix() for recipe in RECIPES if recipe.is_file()]
    if wheels:
        checked.append(f"{len(wheels)} wheel names")
    checked += list(installed)
    print(f"check_versions: {cargo_version()} everywhere ({', '.join(checked)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
