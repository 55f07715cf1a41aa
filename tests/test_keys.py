"""`heso-compliance keys show | fingerprint` (cli.md §3.5) as real subprocesses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from heso import _core

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture
def project(cli: Cli) -> Path:
    assert cli.engine("init", "p").returncode == 0
    return cli.cwd / "p"


def test_show_names_the_key_and_its_pinning(cli: Cli, project: Path) -> None:
    ran = cli.engine("keys", "show", cwd=project)
    assert (ran.returncode, ran.stderr) == (0, "")
    lines = ran.stdout.splitlines()
    assert lines[0] == "path         .heso/identity.key"
    assert lines[1] == "format       HSK1"
    public_key = lines[2].removeprefix("public key   ")
    assert lines[3] == f"fingerprint  {_core.fingerprint(public_key)}"
    assert lines[4] == "pinned       yes (heso.toml [identity])"
    document = json.loads(cli.engine("keys", "show", "--json", cwd=project).stdout)
    assert document["result"] == {
        "path": ".heso/identity.key",
        "format": "HSK1",
        "public_key": public_key,
        "fingerprint": _core.fingerprint(public_key),
        "pinned": True,
    }
    fingerprint = cli.engine("keys", "fingerprint", cwd=project)
    assert fingerprint.stdout == f"{_core.fingerprint(public_key)}\n"


def test_fingerprint_of_a_given_key_needs_no_project(cli: Cli) -> None:
    key = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
    ran = cli.engine("keys", "fingerprint", key)
    assert (ran.returncode, ran.stdout) == (0, f"{_core.fingerprint(key)}\n")
    bad = cli.engine("keys", "fingerprint", "AAAA")
    assert bad.returncode == 2
    assert bad.stderr_lines == [
        "heso-compliance: error: `AAAA` decodes to 3 bytes; an Ed25519 public key is 32; "
        "pass a base64 Ed25519 public key, as `keys show` prints it"
    ]


def test_errors_are_one_line(cli: Cli, project: Path) -> None:
    nowhere = cli.engine("keys", "show")
    assert nowhere.returncode == 2
    assert len(nowhere.stderr_lines) == 1
    assert "run `heso init` or pass -C DIR" in nowhere.stderr
    wrong = cli.engine("keys", "show", cwd=project, env={"HESO_KEY_PASSPHRASE": "not it"})
    assert wrong.returncode == 2
    assert len(wrong.stderr_lines) == 1
    assert "wrong passphrase or corrupted key file" in wrong.stderr
    strict = cli.engine("keys", "show", cwd=project, env={"HESO_ENV": "production"})
    assert strict.returncode == 2
    assert strict.stderr_lines[0].startswith("heso-compliance: error: strict custody: ")


def test_a_key_file_of_the_other_implementation_loads(
    cli: Cli, project: Path, vectors_dir: Path
) -> None:
    """storage.md §2.1: HSK1 files are portable from heso 0.5.1."""
    keys = vectors_dir / "heso-0.5.1" / "keys"
    shutil.copy(keys / "identity.key", project / ".heso" / "identity.key")
    passphrase = (keys / "passphrase.txt").read_text()
    ran = cli.engine("keys", "show", "--json", cwd=project, env={"HESO_KEY_PASSPHRASE": passphrase})
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)["result"]
    assert result["public_key"] == (keys / "operator.pub").read_text().strip()
    assert result["pinned"] is False
