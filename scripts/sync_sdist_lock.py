"""Make each sdist's Cargo.lock match the workspace members the sdist actually holds.

`maturin sdist` leaves out the workspace members a package does not need (the `heso` sdist has no
`heso-compliance`, and the reverse) but ships the repository's whole `Cargo.lock`. With
`locked = true` (packaging.md §5.2), building from such an sdist fails because cargo would have to
drop the missing members' entries from the lock file. This script lets cargo do exactly that, and
nothing else: `cargo metadata --offline` without `--locked` removes the entries of absent members
and keeps every pin, and a second run with `--locked` proves the result is consistent. Only
`Cargo.lock` is replaced in the archive.

Usage: `python scripts/sync_sdist_lock.py SDIST...` (rewrites each file in place)
"""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def lock_for_pruned_workspace(root: Path) -> bytes:
    """Return the Cargo.lock cargo writes for the workspace at `root`, pins unchanged."""
    manifest = str(root / "Cargo.toml")
    base = ["cargo", "metadata", "--offline", "--format-version", "1", "--manifest-path", manifest]
    subprocess.run(base, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*base, "--locked"], check=True, stdout=subprocess.DEVNULL)
    return (root / "Cargo.lock").read_bytes()


def sync(sdist: Path) -> bool:
    """Rewrite `sdist` with a consistent Cargo.lock; return whether the lock file changed."""
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(sdist) as archive:
        members = archive.getmembers()
        top = members[0].name.split("/")[0]
        lock_name = f"{top}/Cargo.lock"
        original = archive.extractfile(archive.getmember(lock_name))
        old_lock = original.read() if original is not None else b""
        archive.extractall(tmp, filter="data")
        new_lock = lock_for_pruned_workspace(Path(tmp) / top)
        if new_lock == old_lock:
            return False
        rewritten = io.BytesIO()
        with (
            gzip.GzipFile(filename="", mode="wb", fileobj=rewritten, mtime=0) as compressed,
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as out,
        ):
            for member in members:
                if member.name == lock_name:
                    member.size = len(new_lock)
                    out.addfile(member, io.BytesIO(new_lock))
                else:
                    out.addfile(member, archive.extractfile(member) if member.isfile() else None)
    sdist.write_bytes(rewritten.getvalue())
    return True


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: sync_sdist_lock.py SDIST...", file=sys.stderr)
        return 2
    for name in paths:
        changed = sync(Path(name))
        state = "Cargo.lock pruned to its members" if changed else "Cargo.lock already consistent"
        print(f"{Path(name).name}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
