"""Enforce the crate dependency rules of packaging.md §2.1 on the resolved Cargo graph.

* pyo3 is reachable only through heso-py (the binding is the one place Python exists);
* rusqlite only through heso-store (all I/O lives there);
* heso-store never under heso-core or heso-ffi (the core stays pure);
* nothing that heso-compliance links (normal dependencies, so not build scripts or tests) does
  networking or looks up users and hosts: the binary is static and must never need NSS.

Reads `cargo metadata --locked`, so it also fails when Cargo.lock is stale.

Usage: `python scripts/check_deps.py`
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

NETWORK_OR_NSS = {
    "hyper",
    "reqwest",
    "ureq",
    "h2",
    "socket2",
    "mio",
    "tokio",
    "dirs",
    "home",
    "whoami",
    "hostname",
    "users",
}


@dataclass(frozen=True)
class Edge:
    target: str
    normal: bool  # a dependency linked into the crate, not only a build or dev dependency


@dataclass(frozen=True)
class Graph:
    names: dict[str, str]  # package id -> crate name
    edges: dict[str, list[Edge]]
    members: dict[str, str]  # workspace crate name -> package id


def load_graph() -> Graph:
    result = subprocess.run(
        ["cargo", "metadata", "--locked", "--format-version", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        msg = "`cargo metadata --locked` failed; see its output above"
        raise RuntimeError(msg)
    metadata = json.loads(result.stdout)
    names = {package["id"]: package["name"] for package in metadata["packages"]}
    edges = {
        node["id"]: [
            Edge(dep["pkg"], any(kind["kind"] is None for kind in dep["dep_kinds"]))
            for dep in node["deps"]
        ]
        for node in metadata["resolve"]["nodes"]
    }
    members = {names[member]: member for member in metadata["workspace_members"]}
    return Graph(names, edges, members)


def find_path(
    graph: Graph,
    start: str,
    is_banned: Callable[[str], bool],
    *,
    avoid: Iterable[str] = (),
    normal_only: bool = False,
) -> list[str] | None:
    """The shortest chain of crate names from `start` to a banned crate, or None.

    Crates named in `avoid` are not entered: paths through them are allowed.
    """
    avoided = set(avoid)
    parents: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        if current != start and is_banned(graph.names[current]):
            chain = []
            node: str | None = current
            while node is not None:
                chain.append(graph.names[node])
                node = parents[node]
            return chain[::-1]
        for edge in graph.edges.get(current, []):
            if edge.target in parents or graph.names[edge.target] in avoided:
                continue
            if normal_only and not edge.normal:
                continue
            parents[edge.target] = current
            queue.append(edge.target)
    return None


def check(graph: Graph) -> list[str]:
    errors = []

    def forbid(
        banned: Callable[[str], bool],
        what: str,
        *,
        starts: Iterable[str],
        allowed_through: str | None = None,
        normal_only: bool = False,
        rule: str,
    ) -> None:
        avoid = [allowed_through] if allowed_through else []
        for member in starts:
            if member not in graph.members or member == allowed_through:
                continue
            chain = find_path(
                graph, graph.members[member], banned, avoid=avoid, normal_only=normal_only
            )
            if chain:
                errors.append(f"{what} reached through `{' -> '.join(chain)}`; {rule}")

    others = sorted(graph.members)
    forbid(
        lambda name: name == "pyo3" or name.startswith("pyo3-"),
        "pyo3",
        starts=others,
        allowed_through="heso-py",
        rule="only heso-py may depend on pyo3",
    )
    forbid(
        lambda name: name in {"rusqlite", "libsqlite3-sys"},
        "rusqlite",
        starts=others,
        allowed_through="heso-store",
        rule="only heso-store may depend on rusqlite",
    )
    forbid(
        lambda name: name == "heso-store",
        "heso-store",
        starts=["heso-core", "heso-ffi"],
        rule="the core and the C ABI do no I/O",
    )
    forbid(
        lambda name: name in NETWORK_OR_NSS,
        "a networking or user/host lookup crate",
        starts=["heso-compliance"],
        normal_only=True,
        rule="the static heso-compliance binary must not use the network or NSS",
    )
    return errors


def main() -> int:
    try:
        graph = load_graph()
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        print(f"check_deps: error: {error}", file=sys.stderr)
        return 1
    errors = check(graph)
    for message in errors:
        print(f"check_deps: error: {message}", file=sys.stderr)
    if errors:
        return 1
    print(f"check_deps: {len(graph.names)} packages follow the dependency rules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
