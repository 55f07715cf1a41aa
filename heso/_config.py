"""``heso.init()``: settings, project-root discovery and the process-wide configuration.

Each setting is layered: explicit argument, then its ``HESO_*`` environment variable, then the
default. (``[settings]`` in ``heso.toml`` joins between environment and default once the policy
engine reads it.) Every ``HESO_*`` variable that is set is validated, even when an argument
overrides it, so a typo never lies dormant until the day the argument is removed.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, cast

from heso import _core
from heso._errors import ConfigError

__all__ = ["Config", "current_config", "find_project_root", "init"]

POLICY_FILE = "heso.toml"
DEFAULT_DATA_DIR = ".heso"

Durability = Literal["normal", "full"]
Environment = Literal["development", "production"]

# Variables `init()` reads, and those other parts of heso read (not warned about as unknown).
_INIT_VARIABLES = (
    "HESO_PROJECT_ROOT",
    "HESO_DATA_DIR",
    "HESO_WORKFLOW",
    "HESO_ACCOUNT",
    "HESO_BLOCKING",
    "HESO_DURABILITY",
    "HESO_BIN",
    "HESO_KEY_PASSPHRASE",
    "HESO_KEY_PASSPHRASE_FILE",
    "HESO_REQUIRE_PASSPHRASE",
    "HESO_ENV",
    "HESO_ENDPOINT",
    "HESO_API_KEY",
    "HESO_BUSY_TIMEOUT_MS",
    "HESO_HOME",
)
_OTHER_VARIABLES = ("HESO_APPROVER_PASSPHRASE", "HESO_DEBUG", "HESO_TEST_VECTORS")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_MAX_NAME = 128
_MAX_BUSY_TIMEOUT_MS = 600_000
_MAX_API_KEY = 4096


@dataclass(frozen=True, slots=True)
class Config:
    """The resolved configuration of this process, returned by :func:`heso.init`.

    ``sources`` maps each setting to where its value came from: ``"argument"``,
    ``"env:HESO_X"``, ``"heso.toml"`` or ``"default"``. Neither ``repr()`` nor ``sources``
    ever contains the API key or a passphrase.
    """

    project_root: Path
    data_dir: Path
    workflow: str = "default"
    account: str = "default"
    blocking: bool = True
    durability: Durability = "full"
    binary: Path | None = None
    env: Environment = "development"
    endpoint: str | None = None
    api_key: str | None = field(default=None, repr=False)
    busy_timeout_ms: int = 10_000
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    _strict: bool = field(default=False, repr=False, compare=False)

    @property
    def policy_path(self) -> Path:
        """The policy file, ``project_root / "heso.toml"``."""
        return self.project_root / POLICY_FILE

    @property
    def strict(self) -> bool:
        """Whether strict key custody is in force."""
        return self._strict

    @property
    def cloud_enabled(self) -> bool:
        """Whether receipts are delivered to a control plane (endpoint and key both set)."""
        return self.endpoint is not None and self.api_key is not None


class _State:
    """The process-wide configuration and the engine handle behind it.

    ``active`` is replaced as one tuple, so a gated call reads a configuration and the engine it
    belongs to together, without a lock; a call in flight keeps its engine alive until it ends.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: tuple[Config, _core.Engine] | None = None
        self.warned: set[str] = set()


_state = _State()


def current_config() -> Config | None:
    """Return the configuration of the last successful :func:`init`, or ``None``."""
    active = _state.active
    return None if active is None else active[0]


def active() -> tuple[Config, _core.Engine]:
    """Return the configuration and engine of gated calls; ``ConfigError`` before ``init()``."""
    current = _state.active
    if current is None:
        raise ConfigError(
            "heso is not initialised; call heso.init() or import heso_bootstrap first"
        )
    return current


def shutdown(timeout: float = 2.0) -> None:
    """Close the engine; later gated calls raise ``ConfigError`` until ``init()`` runs again.

    ``timeout`` bounds the outbox flush, which has nothing to send while no control plane is
    configured.
    """
    del timeout
    with _state.lock:
        _state.active = None


# Close the engine at exit (sdk.md §2.1); later issues flush the outbox here first.
atexit.register(shutdown)


def warn_once(message: str) -> None:
    """Write ``heso: warning: <message>`` to stderr, once per process."""
    _warn_once(message)


def init(
    *,
    project_root: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    workflow: str | None = None,
    account: str | None = None,
    blocking: bool | None = None,
    durability: Durability | None = None,
    binary: str | os.PathLike[str] | None = None,
) -> Config:
    """Resolve the settings, open the operator key and make the result process-wide.

    Calling it again with the same resolved values returns the current configuration without
    reopening anything. It is thread-safe and fails at the first error, leaving the previous
    configuration in place.

    Raises:
        ConfigError: A setting, variable, key or project file is invalid; the message names its
            source and the fix.
    """
    environ = dict(os.environ)
    with _state.lock:
        config = _resolve(
            environ,
            project_root=project_root,
            data_dir=data_dir,
            workflow=workflow,
            account=account,
            blocking=blocking,
            durability=durability,
            binary=binary,
        )
        current = _state.active
        if current is not None and current[0] == config:
            return current[0]
        engine = _core.Engine.open(
            config.project_root,
            config.data_dir,
            durability=config.durability,
            busy_timeout_ms=config.busy_timeout_ms,
        )
        config = _with_identity(config, engine)
        _state.active = (config, engine)
    return config


def _with_identity(config: Config, operator_key: _core.Engine) -> Config:
    """Check the key against ``[identity]`` and attach what the handle knows."""
    for message in operator_key.warnings:
        _warn_once(message)
    if operator_key.uses_dev_passphrase:
        _warn_once(
            f"the operator key is unlocked with {operator_key.passphrase_source}; "
            "set HESO_KEY_PASSPHRASE in production and delete that file"
        )
    try:
        policy = config.policy_path.read_bytes()
    except OSError as error:
        raise ConfigError(
            f"cannot read {config.policy_path}: {error.strerror}", path=config.policy_path
        ) from None
    state, reason = _core.operator_pinning(policy, operator_key.public_key)
    problem = {
        "not_pinned": (
            f"operator key {operator_key.fingerprint} is not pinned in heso.toml [identity]; "
            "receipts it signs fail pinned verification (run `heso doctor` for the line to add)"
        ),
        "no_identity": (
            "heso.toml has no [identity] table, so receipts are not pinned to operator key "
            f"{operator_key.fingerprint}; add [identity] with "
            f'operator = ["{operator_key.public_key}"]'
        ),
        "unreadable": f"cannot read [identity] from heso.toml: {reason}; run `heso policy check`",
    }.get(state)
    if problem is not None:
        if operator_key.strict:
            raise ConfigError(problem, path=config.policy_path)
        _warn_once(problem)
    return dataclasses.replace(config, _strict=operator_key.strict)


def _warn_once(message: str) -> None:
    if message in _state.warned:
        return
    _state.warned.add(message)
    sys.stderr.write(f"heso: warning: {message}\n")


T = TypeVar("T")


@dataclass(frozen=True)
class _Environment:
    """The validated ``HESO_*`` variables (``None`` when unset)."""

    project_root: Path | None = None
    data_dir: Path | None = None
    workflow: str | None = None
    account: str | None = None
    blocking: bool | None = None
    durability: Durability | None = None
    binary: Path | None = None
    env: Environment | None = None
    endpoint: str | None = None
    api_key: str | None = None
    busy_timeout_ms: int | None = None


class _Sources:
    """Picks each setting's value by precedence and remembers where it came from.

    Precedence (sdk.md §2.3): argument > environment variable > `[settings]` in heso.toml >
    default.
    """

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}
        self.settings: Mapping[str, object] = {}

    def pick(
        self, name: str, argument: T | None, env_value: T | None, variable: str, default: T
    ) -> T:
        if argument is not None:
            self.sources[name] = "argument"
            return argument
        if env_value is not None:
            self.sources[name] = f"env:{variable}"
            return env_value
        if name in self.settings:
            self.sources[name] = "heso.toml"
            # The engine validated every [settings] value when it loaded the file.
            return cast("T", self.settings[name])
        self.sources[name] = "default"
        return default


def _resolve(
    environ: Mapping[str, str],
    *,
    project_root: str | os.PathLike[str] | None,
    data_dir: str | os.PathLike[str] | None,
    workflow: str | None,
    account: str | None,
    blocking: bool | None,
    durability: Durability | None,
    binary: str | os.PathLike[str] | None,
) -> Config:
    env = _validated_environment(environ)
    if workflow is not None:
        _check_name("workflow", workflow)
    if account is not None:
        _check_name("account", account)
    if durability is not None and durability not in ("normal", "full"):
        raise ConfigError(f"durability `{durability}` is not valid; use full or normal")
    picked = _Sources()
    root = _project_root(project_root, env, picked.sources)
    picked.settings = _project_settings(root)
    raw_data_dir = Path(
        picked.pick(
            "data_dir",
            _optional_path(data_dir),
            env.data_dir,
            "HESO_DATA_DIR",
            Path(DEFAULT_DATA_DIR),
        )
    )
    raw_binary = picked.pick("binary", _optional_path(binary), env.binary, "HESO_BIN", None)
    return Config(
        project_root=root,
        data_dir=Path(os.path.normpath(root / raw_data_dir)),
        workflow=picked.pick("workflow", workflow, env.workflow, "HESO_WORKFLOW", "default"),
        account=picked.pick("account", account, env.account, "HESO_ACCOUNT", "default"),
        blocking=picked.pick("blocking", blocking, env.blocking, "HESO_BLOCKING", True),
        durability=picked.pick("durability", durability, env.durability, "HESO_DURABILITY", "full"),
        binary=None if raw_binary is None else raw_binary.absolute(),
        env=picked.pick("env", None, env.env, "HESO_ENV", "development"),
        endpoint=picked.pick("endpoint", None, env.endpoint, "HESO_ENDPOINT", None),
        api_key=env.api_key,
        busy_timeout_ms=picked.pick(
            "busy_timeout_ms", None, env.busy_timeout_ms, "HESO_BUSY_TIMEOUT_MS", 10_000
        ),
        sources=picked.sources,
    )


def _project_settings(root: Path) -> Mapping[str, object]:
    """`[settings]` of the project's heso.toml, read and validated by the engine.

    A policy that does not load raises its `PolicyParseError` / `PolicyFloorError` here: its
    settings cannot be trusted, and every gated call would fail closed anyway.
    """
    policy = root / POLICY_FILE
    try:
        data = policy.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {policy}: {error.strerror}", path=policy) from None
    return _core.policy_settings(data, POLICY_FILE)


def _optional_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(os.fspath(value))


def find_project_root(start: Path) -> Path | None:
    """Return the nearest directory from ``start`` upwards holding a regular ``heso.toml``."""
    found = _core.find_project_root(str(start))
    return None if found is None else Path(found)


def _project_root(
    argument: str | os.PathLike[str] | None, env: _Environment, sources: dict[str, str]
) -> Path:
    if argument is not None:
        sources["project_root"] = "argument"
        root = Path(os.fspath(argument)).resolve()
        if not (root / POLICY_FILE).is_file():
            raise ConfigError(
                f"project_root `{root}` has no heso.toml; run `heso init {root}`", path=root
            )
        return root
    if env.project_root is not None:
        sources["project_root"] = "env:HESO_PROJECT_ROOT"
        return env.project_root
    sources["project_root"] = "discovered"
    cwd = Path.cwd()
    found = find_project_root(cwd)
    if found is None:
        raise ConfigError(
            f"no heso.toml in {cwd} or any parent directory; run `heso init`, "
            "or set HESO_PROJECT_ROOT"
        )
    return found


def _check_name(name: str, value: str, variable: str | None = None) -> str:
    label = variable or name
    if not 1 <= len(value) <= _MAX_NAME:
        raise ConfigError(f"{label} must be 1 to {_MAX_NAME} characters", variable=variable)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ConfigError(f"{label} contains a control character", variable=variable)
    if value != value.strip():
        raise ConfigError(f"{label} has leading or trailing spaces", variable=variable)
    return value


def _parse_bool(variable: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(
        f"{variable}=`{value}` is not a boolean; use 1, 0, true, false, yes, no, on or off",
        variable=variable,
    )


def _validated_environment(environ: Mapping[str, str]) -> _Environment:
    """Validate every ``HESO_*`` variable that is set (empty values count as unset)."""
    if "HESO_DATA_DIR" in environ and not environ["HESO_DATA_DIR"]:
        raise ConfigError("HESO_DATA_DIR is set but empty", variable="HESO_DATA_DIR")
    variables = {k: v for k, v in environ.items() if k.startswith("HESO_") and v}
    _warn_unknown_variables(variables)
    get = variables.get
    if "HESO_REQUIRE_PASSPHRASE" in variables:
        _parse_bool("HESO_REQUIRE_PASSPHRASE", variables["HESO_REQUIRE_PASSPHRASE"])
    endpoint, api_key = get("HESO_ENDPOINT"), get("HESO_API_KEY")
    if endpoint is not None:
        _check_endpoint(endpoint)
    if api_key is not None:
        _check_api_key(api_key)
    if (endpoint is None) != (api_key is None):
        missing = "HESO_API_KEY" if api_key is None else "HESO_ENDPOINT"
        raise ConfigError(
            f"HESO_ENDPOINT and HESO_API_KEY go together; set both or neither ({missing} is "
            "not set)",
            variable=missing,
        )
    data_dir = get("HESO_DATA_DIR")
    return _Environment(
        project_root=_optional(variables, "HESO_PROJECT_ROOT", _parse_project_root),
        data_dir=None if data_dir is None else Path(data_dir),
        workflow=_optional(variables, "HESO_WORKFLOW", _parse_name),
        account=_optional(variables, "HESO_ACCOUNT", _parse_name),
        blocking=_optional(variables, "HESO_BLOCKING", _parse_bool),
        durability=_optional(variables, "HESO_DURABILITY", _parse_durability),
        binary=_optional(variables, "HESO_BIN", _parse_binary),
        env=_optional(variables, "HESO_ENV", _parse_environment),
        endpoint=endpoint,
        api_key=api_key,
        busy_timeout_ms=_optional(variables, "HESO_BUSY_TIMEOUT_MS", _parse_busy_timeout),
    )


def _optional(
    variables: Mapping[str, str], variable: str, parse: Callable[[str, str], T]
) -> T | None:
    value = variables.get(variable)
    return None if value is None else parse(variable, value)


def _parse_project_root(variable: str, value: str) -> Path:
    root = Path(value).resolve()
    if not (root / POLICY_FILE).is_file():
        raise ConfigError(
            f"{variable}=`{value}` has no heso.toml; run `heso init {value}`",
            variable=variable,
            path=root,
        )
    return root


def _parse_name(variable: str, value: str) -> str:
    return _check_name(variable, value, variable)


def _parse_durability(variable: str, value: str) -> Durability:
    if value == "full":
        return "full"
    if value == "normal":
        return "normal"
    raise ConfigError(
        f"{variable}=`{value}` is not a durability; use full or normal", variable=variable
    )


def _parse_binary(variable: str, value: str) -> Path:
    binary = Path(value)
    if not binary.exists():
        raise ConfigError(f"{variable}=`{value}` does not exist", variable=variable)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise ConfigError(f"{variable}=`{value}` is not an executable file", variable=variable)
    return binary


def _parse_environment(variable: str, value: str) -> Environment:
    lowered = value.lower()
    if lowered in ("production", "prod"):
        return "production"
    if lowered in ("development", "dev"):
        return "development"
    raise ConfigError(
        f"{variable}=`{value}` is not valid; use development or production", variable=variable
    )


def _check_endpoint(value: str) -> None:
    from urllib.parse import urlsplit  # noqa: PLC0415 - `import heso` must not load urllib

    variable = "HESO_ENDPOINT"
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        raise ConfigError(f"{variable}=`{value}` is not a URL", variable=variable) from None
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{variable}=`{value}` must not have a query or fragment", variable=variable
        )
    if not host:
        raise ConfigError(f"{variable}=`{value}` has no host", variable=variable)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(host):
        return
    if parts.scheme == "http":
        raise ConfigError(f"{variable}=`{value}` must use https", variable=variable)
    raise ConfigError(f"{variable}=`{value}` must be an https:// URL", variable=variable)


def _is_loopback(host: str) -> bool:
    import ipaddress  # noqa: PLC0415 - only needed when an endpoint is set

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_api_key(value: str) -> None:
    variable = "HESO_API_KEY"
    if any(c.isspace() for c in value):
        raise ConfigError(f"{variable} contains whitespace", variable=variable)
    if len(value) > _MAX_API_KEY or not all(0x21 <= ord(c) <= 0x7E for c in value):
        raise ConfigError(
            f"{variable} must be 1 to {_MAX_API_KEY} printable ASCII characters",
            variable=variable,
        )


def _parse_busy_timeout(variable: str, value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) > _MAX_BUSY_TIMEOUT_MS:
        raise ConfigError(
            f"{variable}=`{value}` is not an integer from 0 to {_MAX_BUSY_TIMEOUT_MS}",
            variable=variable,
        )
    return int(value)


def _warn_unknown_variables(variables: Mapping[str, str]) -> None:
    known = (*_INIT_VARIABLES, *_OTHER_VARIABLES)
    for name in sorted(variables):
        if name in known:
            continue
        close = [k for k in known if _edit_distance(name, k) <= 2]
        hint = f"; did you mean {close[0]}?" if close else ""
        _warn_once(f"unknown variable {name} is ignored{hint}")


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
