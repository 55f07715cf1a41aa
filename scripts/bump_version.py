"""Set a new version everywhere heso writes it down (packaging.md §4, §12 step 1).

Rewrites, keeping every other byte of each file:

* `[workspace.package] version` in Cargo.toml, the single source, and the exact `=<version>`
  requirements on the internal crates in `[workspace.dependencies]`;
* the `heso-compliance==<version>` requirement in pyproject.toml;
* `context.version` in recipe/recipe.yaml and recipe/local/recipe.yaml, where they exist;

then refreshes Cargo.lock (and engine/fuzz/Cargo.lock, which records heso-core's version) without
the network, and runs scripts/check_versions.py's check, without wheels, to prove that every copy
agrees.

Cargo and Python spell pre-releases differently: `0.7.0-rc.1` (also accepted as `0.7.0rc1`) is
written as `0.7.0-rc.1` for Cargo and as `0.7.0rc1` for pip and conda.

Usage: `python scripts/bump_version.py X.Y.Z` (or `X.Y.Z-alpha.N`, `X.Y.Z-beta.N`, `X.Y.Z-rc.N`)
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from check_versions import RECIPES, REPO, check, load_toml, normalize

CARGO_TOML = REPO / "Cargo.toml"
PYPROJECT = REPO / "pyproject.toml"
FUZZ_MANIFEST = REPO / "engine" / "fuzz" / "Cargo.toml"

_NUMBER = r"(?:0|[1-9][0-9]*)"
_CARGO = re.compile(
    rf"(?P<release>{_NUMBER}\.{_NUMBER}\.{_NUMBER})(?:-(?P<label>alpha|beta|rc)\.(?P<n>{_NUMBER}))?"
)
_PEP440 = re.compile(
    rf"(?P<release>{_NUMBER}\.{_NUMBER}\.{_NUMBER})(?:(?P<label>a|b|rc)(?P<n>{_NUMBER}))?"
)
_CARGO_LABEL = {"a": "alpha", "b": "beta", "rc": "rc"}
_PEP440_LABEL = {"alpha": "a", "beta": "b", "rc": "rc"}


class BumpError(Exception):
    """The bump cannot go on; the message is one line for people."""


@dataclass(frozen=True)
class Version:
    """One version in both spellings."""

    cargo: str
    python: str


def parse_version(text: str) -> Version:
    """Accept `X.Y.Z`, a Cargo pre-release (`X.Y.Z-rc.N`) or its PEP 440 form (`X.Y.ZrcN`)."""
    if match := _CARGO.fullmatch(text):
        label = match["label"]
        python = match["release"] + (f"{_PEP440_LABEL[label]}{match['n']}" if label else "")
        return Version(cargo=text, python=python)
    if match := _PEP440.fullmatch(text):
        label = match["label"]
        cargo = match["release"] + (f"-{_CARGO_LABEL[label]}.{match['n']}" if label else "")
        return Version(cargo=cargo, python=text)
    msg = (
        f"`{text}` is not a version heso releases; expected `X.Y.Z` or a pre-release "
        "such as `X.Y.Z-rc.1`"
    )
    raise BumpError(msg)


def _section(text: str, header: str) -> tuple[int, int]:
    """Start and end offsets of the body of the TOML table `[header]` in `text`."""
    start = re.search(rf"^\[{re.escape(header)}\][ \t]*(?:#.*)?$", text, re.MULTILINE)
    if start is None:
        msg = f"Cargo.toml has no `[{header}]` table"
        raise BumpError(msg)
    end = re.compile(r"^\[", re.MULTILINE).search(text, start.end())
    return start.end(), end.start() if end else len(text)


def bump_cargo(text: str, version: Version, internal: int) -> str:
    """The root Cargo.toml with the workspace version and the `internal` exact requirements set."""
    start, end = _section(text, "workspace.package")
    body, count = re.subn(
        r'^(version[ \t]*=[ \t]*")[^"]*(")',
        rf"\g<1>{version.cargo}\g<2>",
        text[start:end],
        flags=re.MULTILINE,
    )
    if count != 1:
        msg = f"Cargo.toml: expected one `version` in [workspace.package], found {count}"
        raise BumpError(msg)
    text = text[:start] + body + text[end:]

    # Internal crates are the ones with a `path`; each pins the workspace version exactly.
    start, end = _section(text, "workspace.dependencies")
    lines = text[start:end].split("\n")
    replaced = 0
    for index, line in enumerate(lines):
        if re.search(r"\bpath[ \t]*=", line):
            lines[index], count = re.subn(
                r'(\bversion[ \t]*=[ \t]*")=[^"]*(")', rf"\g<1>={version.cargo}\g<2>", line
            )
            replaced += count
    if replaced != internal:
        msg = (
            f'Cargo.toml: rewrote {replaced} internal `version = "=..."` requirements in '
            f"[workspace.dependencies]; expected {internal}, one on each path dependency's line"
        )
        raise BumpError(msg)
    return text[:start] + "\n".join(lines) + text[end:]


def bump_pyproject(text: str, version: Version) -> str:
    """pyproject.toml with heso's exact requirement on heso-compliance set."""
    text, count = re.subn(
        r"""(["']heso[-_.]compliance[ \t]*==[ \t]*)[^"';,\s]+""", rf"\g<1>{version.python}", text
    )
    if count != 1:
        msg = f"pyproject.toml: expected one `heso-compliance==` requirement, found {count}"
        raise BumpError(msg)
    return text


def bump_recipe(text: str, version: Version, name: str) -> str:
    """A rattler-build v1 recipe with `version` in its top-level `context:` mapping set."""
    lines = text.split("\n")
    in_context = False
    for index, line in enumerate(lines):
        if re.match(r"context:[ \t]*(#.*)?$", line):
            in_context = True
        elif in_context and line and not line[0].isspace() and not line.startswith("#"):
            break
        elif in_context and (
            match := re.match(r"""([ \t]+version:[ \t]*)(["']?)[^"'\s#]+(["']?)(.*)$""", line)
        ):
            # Conda versions cannot contain `-`, so the recipes take the PEP 440 spelling.
            lines[index] = f"{match[1]}{match[2]}{version.python}{match[3]}{match[4]}"
            return "\n".join(lines)
    msg = f"{name}: no `version` in the top-level `context:` mapping"
    raise BumpError(msg)


def _rewrite(path: Path, new_text: str) -> None:
    old_text = path.read_text(encoding="utf-8")
    if new_text != old_text:
        path.write_text(new_text, encoding="utf-8")
        print(f"bump_version: rewrote {path.relative_to(REPO)}")


def _cargo(*arguments: str) -> None:
    command = ["cargo", *arguments]
    print(f"bump_version: $ {' '.join(command)}", flush=True)
    try:
        result = subprocess.run(command, cwd=REPO, check=False)
    except OSError as error:
        msg = f"`cargo` could not run: {error}"
        raise BumpError(msg) from error
    if result.returncode != 0:
        msg = f"`{' '.join(command)}` exited {result.returncode}"
        raise BumpError(msg)


def bump(version: Version) -> None:
    """Rewrite every copy, refresh the lockfiles and check that the copies agree."""
    cargo = load_toml(CARGO_TOML)
    internal = sum(
        1
        for spec in cargo["workspace"].get("dependencies", {}).values()
        if isinstance(spec, dict) and "path" in spec
    )
    # Compute every new text first, so that a file we cannot rewrite leaves all of them as they
    # were.
    rewrites = {
        CARGO_TOML: bump_cargo(CARGO_TOML.read_text(encoding="utf-8"), version, internal),
        PYPROJECT: bump_pyproject(PYPROJECT.read_text(encoding="utf-8"), version),
    }
    for recipe in RECIPES:
        if recipe.is_file():
            name = str(recipe.relative_to(REPO))
            rewrites[recipe] = bump_recipe(recipe.read_text(encoding="utf-8"), version, name)
    for path, text in rewrites.items():
        _rewrite(path, text)

    # Only path dependencies change version, so neither lockfile needs the network.
    _cargo("update", "--workspace", "--offline")
    if FUZZ_MANIFEST.is_file():
        # heso-core is a path dependency of the fuzz workspace, not a member: update it by name.
        _cargo("update", "--offline", "--manifest-path", str(FUZZ_MANIFEST), "-p", "heso-core")

    errors = check([])
    for message in errors:
        print(f"bump_version: error: {message}", file=sys.stderr)
    if errors:
        msg = "the version copies still disagree after the rewrite (see above)"
        raise BumpError(msg)
    print(f"bump_version: {version.cargo} everywhere (PEP 440: {normalize(version.python)})")


def main(arguments: list[str]) -> int:
    if len(arguments) != 1 or arguments[0].startswith("-"):
        print("usage: python scripts/bump_version.py X.Y.Z", file=sys.stderr)
        return 2
    try:
        version = parse_version(arguments[0])
    except BumpError as error:
        print(f"bump_version: error: {error}", file=sys.stderr)
        return 2
    try:
        bump(version)
    except (BumpError, OSError, KeyError) as error:
        print(f"bump_version: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
