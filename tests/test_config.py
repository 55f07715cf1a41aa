"""`heso.init()`: discovery, layering, validation and the operator identity (issue 2)."""

from __future__ import annotations

import os
import pickle
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import heso
from heso import ConfigError, _config

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts uninitialised, with no HESO_* variables."""
    monkeypatch.setattr(_config, "_state", _config._State())
    for name in [n for n in os.environ if n.startswith("HESO_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def project(cli: Cli, tmp_path: Path) -> Path:
    ran = cli.heso("init", "proj")
    assert ran.returncode == 0, ran.stderr
    return (tmp_path / "proj").resolve()


def test_discovers_the_root_from_a_nested_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested = project / "src" / "agent"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    config = heso.init()
    assert config.project_root == project
    assert config.data_dir == project / ".heso"
    assert config.policy_path == project / "heso.toml"
    assert config.sources["project_root"] == "discovered"
    assert heso.current_config() is config
    assert config.durability == "full"
    assert config.blocking is True
    assert config.strict is False


def test_no_project_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        heso.init()
    assert str(caught.value) == (
        f"no heso.toml in {tmp_path} or any parent directory; run `heso init`, or set "
        "HESO_PROJECT_ROOT"
    )


def test_explicit_root_must_hold_the_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^project_root `.*` has no heso.toml; run `heso init"):
        heso.init(project_root=tmp_path)


def test_same_values_return_the_same_config(project: Path) -> None:
    first = heso.init(project_root=project)
    assert heso.init(project_root=project) is first
    other = heso.init(project_root=project, workflow="billing")
    assert other is not first
    assert other.workflow == "billing"
    assert heso.current_config() is other


def test_precedence_argument_environment_default(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HESO_WORKFLOW", "from-env")
    monkeypatch.setenv("HESO_DURABILITY", "normal")
    config = heso.init(project_root=project, workflow="from-arg")
    assert config.workflow == "from-arg"
    assert config.sources["workflow"] == "argument"
    assert config.durability == "normal"
    assert config.sources["durability"] == "env:HESO_DURABILITY"
    assert config.account == "default"
    assert config.sources["account"] == "default"


def test_relative_data_dir_resolves_against_the_root(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copytree(project / ".heso", project / "var" / "data")
    config = heso.init(project_root=project, data_dir="var/data")
    assert config.data_dir == project / "var" / "data"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "HESO_BLOCKING",
            "maybe",
            "HESO_BLOCKING=`maybe` is not a boolean; use 1, 0, true, false, yes, no, on or off",
        ),
        (
            "HESO_DURABILITY",
            "fast",
            "HESO_DURABILITY=`fast` is not a durability; use full or normal",
        ),
        ("HESO_ENV", "staging", "HESO_ENV=`staging` is not valid; use development or production"),
        ("HESO_WORKFLOW", "a\tb", "HESO_WORKFLOW contains a control character"),
        ("HESO_ACCOUNT", " acme", "HESO_ACCOUNT has leading or trailing spaces"),
        (
            "HESO_BIN",
            "/opt/nowhere/heso-compliance",
            "HESO_BIN=`/opt/nowhere/heso-compliance` does not exist",
        ),
        (
            "HESO_BUSY_TIMEOUT_MS",
            "soon",
            "HESO_BUSY_TIMEOUT_MS=`soon` is not an integer from 0 to 600000",
        ),
        (
            "HESO_REQUIRE_PASSPHRASE",
            "perhaps",
            "HESO_REQUIRE_PASSPHRASE=`perhaps` is not a boolean; use 1, 0, true, false, yes, no, "
            "on or off",
        ),
    ],
)
def test_bad_variables_are_named_even_when_an_argument_overrides(
    project: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        heso.init(project_root=project, workflow="w", account="a", blocking=True, durability="full")
    assert str(caught.value) == message
    assert caught.value.variable == variable


def test_project_root_variable(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HESO_PROJECT_ROOT", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^HESO_PROJECT_ROOT=`.*` has no heso.toml"):
        heso.init()
    monkeypatch.setenv("HESO_PROJECT_ROOT", str(project))
    monkeypatch.chdir(tmp_path)
    assert heso.init().sources["project_root"] == "env:HESO_PROJECT_ROOT"


def test_empty_data_dir_variable(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HESO_DATA_DIR", "")
    with pytest.raises(ConfigError, match=r"^HESO_DATA_DIR is set but empty$"):
        heso.init(project_root=project)


@pytest.mark.parametrize(
    ("endpoint", "api_key", "message"),
    [
        ("http://api.example.com", "k", "HESO_ENDPOINT=`http://api.example.com` must use https"),
        (
            "https://x.example/?a=1",
            "k",
            "HESO_ENDPOINT=`https://x.example/?a=1` must not have a query or fragment",
        ),
        ("https://x.example", "has space", "HESO_API_KEY contains whitespace"),
        (
            "https://x.example",
            None,
            "HESO_ENDPOINT and HESO_API_KEY go together; set both or "
            "neither (HESO_API_KEY is not set)",
        ),
    ],
)
def test_control_plane_settings(
    project: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str, api_key: str | None, message: str
) -> None:
    monkeypatch.setenv("HESO_ENDPOINT", endpoint)
    if api_key is not None:
        monkeypatch.setenv("HESO_API_KEY", api_key)
    with pytest.raises(ConfigError) as caught:
        heso.init(project_root=project)
    assert str(caught.value) == message


def test_loopback_http_endpoint_is_allowed_and_key_never_shown(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HESO_ENDPOINT", "http://127.0.0.1:8080")
    monkeypatch.setenv("HESO_API_KEY", "sk-secret-value")
    config = heso.init(project_root=project)
    assert config.cloud_enabled
    assert "sk-secret-value" not in repr(config)
    assert "sk-secret-value" not in repr(dict(config.sources))


def test_unknown_variable_warns_once_with_a_suggestion(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HESO_DURABILTY", "full")
    heso.init(project_root=project)
    heso.init(project_root=project, workflow="again")
    err = capsys.readouterr().err
    assert (
        err.count(
            "heso: warning: unknown variable HESO_DURABILTY is ignored; did you mean "
            "HESO_DURABILITY?"
        )
        == 1
    )


def test_missing_key_names_the_fix(project: Path) -> None:
    (project / ".heso" / "identity.key").unlink()
    with pytest.raises(ConfigError) as caught:
        heso.init(project_root=project)
    assert str(caught.value) == (
        "no operator key at .heso/identity.key; run `heso init` (it keeps your heso.toml)"
    )


def test_wrong_passphrase(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HESO_KEY_PASSPHRASE", "not the dev passphrase")
    with pytest.raises(ConfigError) as caught:
        heso.init(project_root=project)
    assert str(caught.value) == (
        "cannot load .heso/identity.key: wrong passphrase or corrupted key file"
    )


def test_strict_custody_refuses_the_dev_passphrase_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HESO_ENV", "production")
    with pytest.raises(ConfigError, match=r"^strict custody: `\.heso/DEV-ONLY\.passphrase` "):
        heso.init(project_root=project)


def test_unpinned_key_warns_in_development_and_fails_in_strict(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"HESO_KEY_PASSPHRASE": "pass phrase"}
    assert cli.heso("init", "p", env=env).returncode == 0
    root = (tmp_path / "p").resolve()
    policy = root / "heso.toml"
    other_key = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
    policy.write_text(
        re.sub(r'operator = \[".*"\]', f'operator = ["{other_key}"]', policy.read_text())
    )
    monkeypatch.setenv("HESO_KEY_PASSPHRASE", "pass phrase")
    heso.init(project_root=root)
    assert "is not pinned in heso.toml [identity]" in capsys.readouterr().err
    monkeypatch.setattr(_config, "_state", _config._State())
    monkeypatch.setenv("HESO_ENV", "production")
    with pytest.raises(ConfigError, match=r"^operator key heso:[0-9a-f]{32} is not pinned"):
        heso.init(project_root=root)


def test_key_file_from_heso_0_5_1_opens(
    vectors_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = vectors_dir / "heso-0.5.1" / "keys"
    public_key = (keys / "operator.pub").read_text().strip()
    root = tmp_path / "interop"
    (root / ".heso").mkdir(parents=True)
    (root / ".heso").chmod(0o700)
    shutil.copy(keys / "identity.key", root / ".heso" / "identity.key")
    (root / ".heso" / "identity.key").chmod(0o600)
    policy = f'default_decision = "block"\n[identity]\noperator = ["{public_key}"]\n'
    (root / "heso.toml").write_text(policy)
    monkeypatch.setenv("HESO_KEY_PASSPHRASE", (keys / "passphrase.txt").read_text())
    config = heso.init(project_root=root)
    assert config.project_root == root.resolve()
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(_config, "_state", _config._State())
    monkeypatch.setenv("HESO_KEY_PASSPHRASE", "correct horse battery stapler")
    with pytest.raises(ConfigError, match="wrong passphrase or corrupted key file"):
        heso.init(project_root=root)


def test_errors_pickle_with_their_attributes() -> None:
    error = ConfigError("HESO_ENV=`x` is not valid", variable="HESO_ENV", path=Path("/p"))
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.variable, copy.path) == (
        ConfigError,
        "HESO_ENV=`x` is not valid",
        "HESO_ENV",
        Path("/p"),
    )


SETTINGS = """
[settings]
workflow = "from-toml"
account = "acct-toml"
blocking = false
durability = "normal"
busy_timeout_ms = 250
"""


def test_settings_sit_between_the_environment_and_the_defaults(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sdk.md §2.3: argument > HESO_* > [settings] in heso.toml > default."""
    policy = project / "heso.toml"
    policy.write_text(policy.read_text() + SETTINGS)
    monkeypatch.setenv("HESO_ACCOUNT", "acct-env")
    config = heso.init(project_root=project, durability="full")
    assert (config.workflow, config.account) == ("from-toml", "acct-env")
    assert (config.blocking, config.durability, config.busy_timeout_ms) == (False, "full", 250)
    assert config.sources["workflow"] == "heso.toml"
    assert config.sources["account"] == "env:HESO_ACCOUNT"
    assert config.sources["durability"] == "argument"
    assert config.sources["busy_timeout_ms"] == "heso.toml"
    assert config.sources["endpoint"] == "default"


def test_settings_data_dir_is_where_init_put_the_key(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "heso.toml").write_text(
        'default_decision = "block"\n[settings]\ndata_dir = "var/heso"\n'
    )
    assert cli.heso("init", "proj").returncode == 0
    config = heso.init(project_root=root)
    assert config.data_dir == root.resolve() / "var" / "heso"
    assert config.sources["data_dir"] == "heso.toml"
    assert (config.data_dir / "identity.key").is_file()


def test_a_policy_that_does_not_load_stops_init(project: Path) -> None:
    policy = project / "heso.toml"
    policy.write_text(policy.read_text() + '\n[settings]\ndurability = "fast"\n')
    with pytest.raises(heso.PolicyParseError) as caught:
        heso.init(project_root=project)
    assert caught.value.code == "bad-value"
    assert "unknown durability `fast`" in str(caught.value)
