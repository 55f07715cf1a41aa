"""heso: gate every action an AI agent takes, sign every verdict, verify offline.

Call :func:`heso.init` once (or ``import heso_bootstrap``, which ``heso init`` writes) before the
first gated call, then decorate tools (``@heso.tool``, ``@heso.destructive``, ``@heso.payment``,
``@heso.action``), wrap clients (``heso.wrap``) or gate by hand (``heso.process``).
"""

from heso._config import Config, current_config, init, shutdown
from heso._context import Step, step
from heso._core import __version__
from heso._decorators import action, destructive, payment, tool
from heso._encode import register_encoder
from heso._errors import (
    ActionNotAllowed,
    ApprovalExpired,
    ApprovalRejected,
    ApprovalRequired,
    BlockedError,
    ConfigError,
    EngineError,
    HesoError,
    OutcomeUncertain,
    PolicyError,
    PolicyFloorError,
    PolicyIssue,
    PolicyParseError,
    SessionError,
    VerificationError,
)
from heso._process import process, record_result
from heso._proxy import unwrap, wrap
from heso._types import Action, ApprovalStatus, Decision, Outcome, RedactMode, Verb
from heso._verify import VerifyReport, verify

__all__ = [
    "Action",
    "ActionNotAllowed",
    "ApprovalExpired",
    "ApprovalRejected",
    "ApprovalRequired",
    "ApprovalStatus",
    "BlockedError",
    "Config",
    "ConfigError",
    "Decision",
    "EngineError",
    "HesoError",
    "Outcome",
    "OutcomeUncertain",
    "PolicyError",
    "PolicyFloorError",
    "PolicyIssue",
    "PolicyParseError",
    "RedactMode",
    "SessionError",
    "Step",
    "Verb",
    "VerificationError",
    "VerifyReport",
    "__version__",
    "action",
    "current_config",
    "destructive",
    "init",
    "payment",
    "process",
    "record_result",
    "register_encoder",
    "shutdown",
    "step",
    "tool",
    "unwrap",
    "verify",
    "wrap",
]
