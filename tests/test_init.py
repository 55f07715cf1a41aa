"""`heso init` and `heso-compliance init` end to end, as real subprocesses (issue 2)."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import venv as venv_module
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import heso

if TYPE_CHECKING:
    from conftest import Cli, Snapshotter

KEY = r"[A-Za-z0-9+/]{43}="
FINGERPRINT = r"heso:[0-9a-f]{32}"

BOOTSTRAP = '''"""heso bootstrap: import this module once, first thing in your agent's entry point.

It finds heso.toml (from the current directory upwards, or HESO_PROJECT_ROOT),
loads the policy and opens the local heso store. See `heso doctor` if it fails.
"""

import heso

heso.init()
'''


def match_lines(lines: list[str], patterns: list[str]) -> None:
    assert len(lines) == len(patterns), "\n".join(lines)
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), f"{line!r} !~ {pattern!r}"


def test_first_run_prints_the_documented_lines(cli: Cli, tmp_path: Path) -> None:
    ran = cli.heso("init", "myagent")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == ""
    root = re.escape(str((tmp_path / "myagent").resolve()))
    match_lines(
        ran.stderr_lines,
        [
            r"created myagent/",
            r"added \.heso/ to \.gitignore",
            r"generated dev passphrase -> \.heso/DEV-ONLY\.passphrase \(development only: set "
            r"HESO_KEY_PASSPHRASE in production and delete this file\)",
            rf"minted operator key {FINGERPRINT} -> \.heso/identity\.key",
            rf"  public key {KEY}",
            r"wrote starter policy -> heso\.toml \(operator key pinned in \[identity\]\)",
            r"wrote bootstrap module -> heso_bootstrap\.py",
            rf"project ready at {root}",
            r"next: `heso demo myagent` to see it work, then `import heso_bootstrap` first thing "
            r"in your agent",
        ],
    )
    project = tmp_path / "myagent"
    assert (project / "heso_bootstrap.py").read_bytes() == BOOTSTRAP.encode("ascii")
    assert (project / ".gitignore").read_text() == (
        "# heso local data (signing key, audit store) - never commit\n.heso/\n"
    )
    public_key = ran.stderr_lines[4].split()[-1]
    policy = (project / "heso.toml").read_text()
    assert f'[identity]\noperator = ["{public_key}"]\n' in policy
    fingerprint = ran.stderr_lines[3].split()[3]
    assert heso._core.fingerprint(public_key) == fingerprint


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_data_dir_and_secrets_are_private(cli: Cli, tmp_path: Path) -> None:
    assert cli.heso("init", "p").returncode == 0
    data = tmp_path / "p" / ".heso"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("identity.key", "DEV-ONLY.passphrase"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    assert (data / "identity.key").read_bytes()[:4] == b"HSK1"
    assert len((data / "identity.key").read_bytes()) == 93
    passphrase_lines = [
        line
        for line in (data / "DEV-ONLY.passphrase").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert len(passphrase_lines) == 1
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", passphrase_lines[0])
    assert sorted(p.name for p in data.iterdir()) == ["DEV-ONLY.passphrase", "identity.key"]


def test_rerun_changes_nothing_and_says_so(
    cli: Cli, tmp_path: Path, tree_snapshot: Snapshotter
) -> None:
    assert cli.heso("init", "myagent").returncode == 0
    before = tree_snapshot(tmp_path / "myagent")
    ran = cli.heso("init", "myagent")
    assert ran.returncode == 0, ran.stderr
    assert tree_snapshot(tmp_path / "myagent") == before
    root = re.escape(str((tmp_path / "myagent").resolve()))
    match_lines(
        ran.stderr_lines,
        [
            r"\.gitignore already ignores \.heso/",
            rf"operator key {FINGERPRINT} already present \(left untouched\)",
            r"heso\.toml already present \(left untouched\)",
            r"heso_bootstrap\.py already present \(left untouched\)",
            rf"project ready at {root}",
        ],
    )


def test_engine_init_alone_is_idempotent_and_writes_no_bootstrap(
    cli: Cli, tmp_path: Path, tree_snapshot: Snapshotter
) -> None:
    first = cli.engine("init", "proj2")
    assert first.returncode == 0, first.stderr
    assert first.stderr_lines[-1] == f"project ready at {(tmp_path / 'proj2').resolve()}"
    assert not (tmp_path / "proj2" / "heso_bootstrap.py").exists()
    before = tree_snapshot(tmp_path / "proj2")
    again = cli.engine("init", "proj2")
    assert again.returncode == 0
    assert "heso.toml already present (left untouched)" in again.stderr_lines
    assert tree_snapshot(tmp_path / "proj2") == before


def test_heso_and_engine_init_interoperate(
    cli: Cli, tmp_path: Path, tree_snapshot: Snapshotter
) -> None:
    assert cli.engine("init", "p").returncode == 0
    ran = cli.heso("init", "p")
    assert ran.returncode == 0
    assert "wrote bootstrap module -> heso_bootstrap.py" in ran.stderr_lines
    assert any(line.endswith("already present (left untouched)") for line in ran.stderr_lines)


@pytest.mark.parametrize(
    "how",
    ["HESO_ENV=production", "HESO_ENV=Prod", "HESO_REQUIRE_PASSPHRASE=yes", "--require-passphrase"],
)
@pytest.mark.parametrize("program", ["heso", "heso-compliance"])
def test_strict_custody_without_passphrase_refuses_and_writes_nothing(
    cli: Cli, tmp_path: Path, how: str, program: str
) -> None:
    env, args = {}, ["init", "strict"]
    if how.startswith("--"):
        args.append(how)
    else:
        name, value = how.split("=")
        env[name] = value
    ran = cli.run(program, *args, env=env)
    assert ran.returncode == 2
    assert ran.stderr_lines == [
        f"{program}: error: strict custody: no passphrase for a new operator key; set "
        "HESO_KEY_PASSPHRASE or HESO_KEY_PASSPHRASE_FILE (nothing was written)"
    ]
    assert list(tmp_path.iterdir()) == []


def test_strict_custody_with_a_passphrase_needs_no_dev_file(cli: Cli, tmp_path: Path) -> None:
    env = {"HESO_ENV": "production", "HESO_KEY_PASSPHRASE": "a real passphrase"}
    ran = cli.heso("init", "prod", env=env)
    assert ran.returncode == 0, ran.stderr
    assert not (tmp_path / "prod" / ".heso" / "DEV-ONLY.passphrase").exists()
    # The key opens with that passphrase and with no other.
    assert cli.heso("init", "prod", env=env).returncode == 0
    wrong = cli.heso("init", "prod", env={**env, "HESO_KEY_PASSPHRASE": "wrong"})
    assert wrong.returncode == 2
    assert wrong.stderr_lines == [
        "heso: error: cannot load .heso/identity.key: wrong passphrase or corrupted key file"
    ]


def test_strict_custody_refuses_a_dev_passphrase_file(
    cli: Cli, tmp_path: Path, tree_snapshot: Snapshotter
) -> None:
    assert cli.heso("init", "p").returncode == 0
    before = tree_snapshot(tmp_path / "p")
    ran = cli.heso("init", "p", env={"HESO_ENV": "production", "HESO_KEY_PASSPHRASE": "x"})
    assert ran.returncode == 2
    assert ran.stderr_lines == [
        "heso: error: strict custody: `.heso/DEV-ONLY.passphrase` exists; set "
        "HESO_KEY_PASSPHRASE to a real passphrase and delete that file (nothing was written)"
    ]
    assert tree_snapshot(tmp_path / "p") == before


def test_passphrase_file_argument_and_variable(cli: Cli, tmp_path: Path) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text("# comment\nfrom a file\n")
    ran = cli.heso("init", "p", "--require-passphrase", "--passphrase-file", str(secret))
    assert ran.returncode == 0, ran.stderr
    assert not (tmp_path / "p" / ".heso" / "DEV-ONLY.passphrase").exists()
    # The same passphrase from the environment variable opens the key.
    ok = cli.heso("init", "p", env={"HESO_KEY_PASSPHRASE": "from a file"})
    assert ok.returncode == 0, ok.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n\n")
    bad = cli.heso("init", "p", env={"HESO_KEY_PASSPHRASE_FILE": str(empty)})
    assert bad.returncode == 2
    assert bad.stderr_lines == [
        f"heso: error: HESO_KEY_PASSPHRASE_FILE=`{empty}` has no passphrase line "
        "(nothing was written)"
    ]


def test_corrupted_key_is_reported_and_never_rewritten(cli: Cli, tmp_path: Path) -> None:
    assert cli.heso("init", "p").returncode == 0
    key = tmp_path / "p" / ".heso" / "identity.key"
    damaged = bytearray(key.read_bytes())
    damaged[60] ^= 0x01
    key.write_bytes(bytes(damaged))
    ran = cli.heso("init", "p")
    assert ran.returncode == 2
    assert ran.stderr_lines == [
        "heso: error: cannot load .heso/identity.key: wrong passphrase or corrupted key file"
    ]
    assert key.read_bytes() == bytes(damaged)
    key.write_bytes(b"short")
    truncated = cli.engine("init", "p")
    assert truncated.stderr_lines == [
        "heso-compliance: error: cannot load .heso/identity.key: wrong length: expected 32 or "
        "93 bytes, got 5"
    ]


@pytest.mark.parametrize(
    ("existing", "expected", "line"),
    [
        (
            None,
            "# heso local data (signing key, audit store) - never commit\n.heso/\n",
            "added .heso/ to .gitignore",
        ),
        (
            "dist/",
            "dist/\n# heso local data (signing key, audit store) - never commit\n.heso/\n",
            "added .heso/ to .gitignore",
        ),
        (
            "dist/\n",
            "dist/\n# heso local data (signing key, audit store) - never commit\n.heso/\n",
            "added .heso/ to .gitignore",
        ),
        ("/.heso  \n", "/.heso  \n", ".gitignore already ignores .heso/"),
        ("x\n.heso", "x\n.heso", ".gitignore already ignores .heso/"),
    ],
)
def test_gitignore_cases(
    cli: Cli, tmp_path: Path, existing: str | None, expected: str, line: str
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    if existing is not None:
        (project / ".gitignore").write_text(existing)
    ran = cli.heso("init", "p")
    assert ran.returncode == 0, ran.stderr
    assert line in ran.stderr_lines
    assert (project / ".gitignore").read_text() == expected


def test_existing_policy_is_kept_and_unpinned_key_is_warned(cli: Cli, tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    policy = 'version = 1\ndefault_decision = "block"\n\n[identity]\noperator = ["O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="]\n'  # noqa: E501
    (project / "heso.toml").write_text(policy)
    ran = cli.heso("init", "p")
    assert ran.returncode == 0, ran.stderr
    assert (project / "heso.toml").read_text() == policy
    warning = [line for line in ran.stderr_lines if line.startswith("heso: warning:")]
    assert len(warning) == 1
    assert re.fullmatch(
        rf'heso: warning: heso\.toml does not pin operator key {FINGERPRINT}; add "{KEY}" to '
        r"operator in \[identity\]",
        warning[0],
    )


def test_json_result(cli: Cli, tmp_path: Path) -> None:
    ran = cli.heso("init", "p", "--json")
    assert ran.returncode == 0
    document = json.loads(ran.stdout)
    assert document["schema"] == "heso-cli/1"
    assert document["tool"] == "heso"
    assert document["ok"] is True
    result = document["result"]
    assert result["project_root"] == str((tmp_path / "p").resolve())
    assert [(s["step"], s["action"]) for s in result["steps"]] == [
        ("gitignore", "created"),
        ("passphrase", "created"),
        ("key", "created"),
        ("policy", "created"),
        ("bootstrap", "created"),
    ]
    assert result["operator"]["pinned"] is True
    assert result["operator"]["fingerprint"] == heso._core.fingerprint(
        result["operator"]["public_key"]
    )
    engine = json.loads(cli.engine("init", "p", "--json").stdout)
    assert engine["tool"] == "heso-compliance"
    assert engine["result"]["operator"] == result["operator"]
    assert {s["action"] for s in engine["result"]["steps"]} == {"kept"}


def test_json_failure_is_still_one_document(cli: Cli, tmp_path: Path) -> None:
    ran = cli.heso("init", "p", "--json", env={"HESO_ENV": "production"})
    assert ran.returncode == 2
    document = json.loads(ran.stdout)
    assert document["ok"] is False
    assert document["error"]["code"] == "refused"
    assert document["error"]["message"].startswith("strict custody: no passphrase")


def test_bad_custody_variable_is_an_error(cli: Cli, tmp_path: Path) -> None:
    ran = cli.heso("init", "p", env={"HESO_ENV": "staging"})
    assert ran.returncode == 2
    assert ran.stderr_lines == [
        "heso: error: HESO_ENV=`staging` is not valid; use development or production"
    ]
    assert not (tmp_path / "p").exists()


def test_target_that_is_a_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    ran = cli.heso("init", "afile")
    assert ran.returncode == 2
    assert ran.stderr_lines == ["heso: error: `afile` exists and is not a directory"]


def test_project_flag_runs_as_if_started_there(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    ran = cli.heso("init", "-C", str(tmp_path / "work"), "agent")
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "work" / "agent" / "heso.toml").is_file()


def fake_engine(directory: Path, version: str) -> Path:
    script = directory / "heso-compliance"
    document = {"schema": "heso-cli/1", "result": {"version": version}}
    script.write_text(f"#!/bin/sh\necho '{json.dumps(document)}'\n")
    script.chmod(0o755)
    return script


@pytest.mark.skipif(sys.platform == "win32", reason="shell script stand-in")
def test_engine_of_another_version_is_refused(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    engine = fake_engine(tmp_path / "bin", "0.6.1")
    ran = cli.heso("init", "p", env={"HESO_BIN": str(engine)})
    assert ran.returncode == 2
    assert ran.stderr_lines == [
        f"heso: error: found heso-compliance 0.6.1 at {engine}, but heso is {heso.__version__}; "
        f"install heso-compliance=={heso.__version__}"
    ]
    assert not (tmp_path / "p").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_missing_engine_is_reported_with_the_install_command(cli: Cli, tmp_path: Path) -> None:
    # An interpreter whose scripts directory has no engine, seeing heso through PYTHONPATH,
    # with a PATH that holds no engine either.
    venv = tmp_path / "bare"
    venv_module.create(venv, with_pip=False)
    python = venv / "bin" / "python"
    site = Path(heso.__file__).parent.parent
    env = {**cli.env, "PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    completed = subprocess.run(
        [str(python), "-m", "heso", "init", "p"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    version = heso.__version__
    assert completed.stderr.splitlines() == [
        f"heso: error: cannot find heso-compliance {version} (looked at $HESO_BIN, next to "
        f"{python}, and on PATH); install it with `pip install heso-compliance=={version}` or "
        f"`conda install heso-compliance={version}`, or set HESO_BIN"
    ]
    assert not (tmp_path / "p").exists()


def test_versions(cli: Cli) -> None:
    assert cli.heso("--version").stdout == f"heso {heso.__version__}\n"
    assert cli.engine("--version").stdout == f"heso-compliance {heso.__version__}\n"
    engine = json.loads(cli.engine("version", "--json").stdout)
    assert engine["result"]["version"] == heso.__version__
    assert set(engine["result"]) == {"version", "target", "git_commit", "features"}
    ours = json.loads(cli.heso("version", "--json").stdout)
    assert ours["result"]["heso"] == heso.__version__
    assert ours["result"]["compliance"]["version"] == heso.__version__


@pytest.mark.parametrize(
    ("program", "args", "message"),
    [
        ("heso", ["nope"], r"heso: error: no such command `nope`; see `heso --help`"),
        ("heso", ["int"], r"heso: error: no such command `int`; did you mean `init`\?"),
        # click words this one differently across versions; the prefix and the name are ours.
        ("heso", ["init", "--frobnicate"], r"heso: error: no such option:? '?--frobnicate'?"),
        (
            "heso-compliance",
            ["nope"],
            r"heso-compliance: error: unrecognized subcommand 'nope'; see `heso-compliance --help`",
        ),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(
    cli: Cli, program: str, args: list[str], message: str
) -> None:
    ran = cli.run(program, *args)
    assert ran.returncode == 2
    assert len(ran.stderr_lines) == 1, ran.stderr
    assert re.fullmatch(message, ran.stderr_lines[0]), ran.stderr


def test_no_command_prints_help(cli: Cli) -> None:
    ran = cli.heso()
    assert ran.returncode == 0
    assert "init" in ran.stdout
    assert ran.stderr == ""


def test_python_dash_m_heso(cli: Cli) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "heso", "--version"],
        capture_output=True,
        text=True,
        check=False,
        env=cli.env,
    )
    assert completed.stdout == f"heso {heso.__version__}\n"
