"""heso: gate every action an AI agent takes, sign every verdict, verify offline.

Call :func:`heso.init` once (or ``import heso_bootstrap``, which ``heso init`` writes) before the
first gated call.
"""

from heso._config import Config, current_config, init
from heso._core import __version__
from heso._errors import (
    ConfigError,
    EngineError,
    HesoError,
    PolicyError,
    PolicyFloorError,
    PolicyIssue,
    PolicyParseError,
    VerificationError,
)
from heso._verify import VerifyReport, verify

__all__ = [
    "Config",
    "ConfigError",
    "EngineError",
    "HesoError",
    "PolicyError",
    "PolicyFloorError",
    "PolicyIssue",
    "PolicyParseError",
    "VerificationError",
    "VerifyReport",
    "__version__",
    "current_config",
    "init",
    "verify",
]
