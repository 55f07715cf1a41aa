"""Type stub of ``heso._core``, the compiled engine (checked against the module by stubtest)."""

from os import PathLike
from typing import Literal, TypedDict, final

from heso._errors import PolicyError, PolicyIssue

__all__ = [
    "Engine",
    "Policy",
    "PolicyFile",
    "ResultHasher",
    "Verdict",
    "__version__",
    "action_hash",
    "blake3_hex",
    "canonicalize",
    "export",
    "find_project_root",
    "fingerprint",
    "link_hash",
    "log",
    "operator_pinning",
    "policy_check",
    "policy_explain",
    "policy_explain_receipt",
    "policy_settings",
    "policy_test",
    "show",
    "verify",
    "verify_chain",
    "verify_receipt",
    "verify_strict",
]

__version__: str

@final
class Engine:
    """The process's engine handle: operator key, watched heso.toml and open store."""

    @staticmethod
    def open(
        project_root: str | PathLike[str],
        data_dir: str | PathLike[str],
        durability: str,
        busy_timeout_ms: int,
    ) -> Engine: ...
    @property
    def public_key(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def passphrase_source(self) -> str | None: ...
    @property
    def uses_dev_passphrase(self) -> bool: ...
    @property
    def strict(self) -> bool: ...
    @property
    def warnings(self) -> list[str]: ...
    def gate(
        self, action: bytes, redact: list[str], destructive: bool, enforce: bool
    ) -> Verdict: ...
    def record_result(
        self,
        verdict: Verdict,
        *,
        result: bytes | None = None,
        hasher: ResultHasher | None = None,
        error: tuple[str, str] | None = None,
    ) -> str: ...
    def take_policy_warning(self) -> str | None: ...

class _Approval(TypedDict):
    request_id: str
    generation: int
    state: Literal["pending", "approved", "rejected", "expired", "consumed"]
    rule_id: str
    approvers: list[str]
    roster: list[str]
    quorum: int
    approvals: int
    expires_at: str
    rejected_by: str | None
    reason: str | None

@final
class Verdict:
    """What the gate did for one call; the ticket for its result receipt."""

    @property
    def kind(
        self,
    ) -> Literal[
        "decided", "policy_error", "opened", "pending", "revoked", "expired", "rejected", "approved"
    ]: ...
    @property
    def decision(self) -> Literal["allow", "redact", "block", "require_approval"]: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def rule_display(self) -> str: ...
    @property
    def action_hash(self) -> str: ...
    @property
    def receipt(self) -> bytes | None: ...
    @property
    def redacted(self) -> bool: ...
    @property
    def allows(self) -> bool: ...
    @property
    def has_result(self) -> bool: ...
    @property
    def approval(self) -> _Approval | None: ...
    @property
    def policy_error(self) -> PolicyError | None: ...

@final
class ResultHasher:
    """The result hash of items arriving one by one, as the JSON array of them."""

    def __new__(cls) -> ResultHasher: ...
    def add(self, item: bytes) -> None: ...
    @property
    def items(self) -> int: ...

def fingerprint(public_key: str) -> str: ...
def find_project_root(
    start: str | PathLike[str],
    *,
    explicit: str | PathLike[str] | None = None,
    env_root: str | PathLike[str] | None = None,
) -> str | None: ...
def operator_pinning(policy: bytes, public_key: str) -> tuple[str, str | None]: ...

class _VerifyError(TypedDict):
    code: str
    message: str

class _VerifyOutput(TypedDict):
    exit_code: int
    lines: list[str]
    result: str | None
    warnings: list[str]
    error: _VerifyError | None

def verify(
    inputs: list[str | bytes],
    *,
    pubkeys: list[str],
    approver_pubkeys: list[str],
    no_pin: bool,
    all: bool,
    project_root: str | None,
    color: bool = False,
    progress: bool = False,
) -> _VerifyOutput: ...

@final
class Policy:
    @staticmethod
    def load(data: bytes, path: str = "heso.toml") -> Policy: ...
    @property
    def policy_hash(self) -> str: ...
    @property
    def warnings(self) -> list[PolicyIssue]: ...
    def evaluate(self, action: str) -> str: ...

@final
class PolicyFile:
    def __new__(cls, path: str | PathLike[str]) -> PolicyFile: ...
    def evaluate(self, action: str) -> str: ...
    @property
    def policy_hash(self) -> str: ...
    def take_warning(self) -> str | None: ...
    @property
    def parse_count(self) -> int: ...

class _PolicyRunOutput(TypedDict):
    exit_code: int
    lines: list[str]
    result: str | None
    warnings: list[str]
    error: _VerifyError | None

def policy_check(
    path: str | None, *, project_root: str | None, cwd: str, deny_warnings: bool
) -> _PolicyRunOutput: ...
def policy_test(
    files: list[str],
    *,
    policy: str | None,
    project_root: str | None,
    cwd: str,
    require_coverage: bool,
) -> _PolicyRunOutput: ...
def policy_explain(
    action: str, *, policy: str | None, project_root: str | None, cwd: str
) -> _PolicyRunOutput: ...
def policy_explain_receipt(
    reference: str, *, policy: str | None, project_root: str | None, cwd: str
) -> _PolicyRunOutput: ...

class _StoreRunOutput(TypedDict):
    exit_code: int
    lines: list[str]
    data: bytes
    status: list[str]
    result: str | None
    warnings: list[str]
    error: _VerifyError | None

class _LogOutput(_StoreRunOutput):
    last_id: int | None
    widths: list[int]

def export(
    *,
    output: str | PathLike[str] | None,
    sessions: list[str],
    per_session: str | PathLike[str] | None,
    project_root: str | PathLike[str] | None,
    cwd: str | PathLike[str],
) -> _StoreRunOutput: ...
def show(
    reference: str,
    *,
    raw: bool,
    project_root: str | PathLike[str] | None,
    cwd: str | PathLike[str],
) -> _StoreRunOutput: ...
def log(
    *,
    limit: int | None,
    session: str | None,
    workflow: str | None,
    verb: str | None,
    decision: str | None,
    kind: str | None,
    since: str | None,
    json: bool,
    after_id: int | None,
    widths: list[int],
    project_root: str | PathLike[str] | None,
    cwd: str | PathLike[str],
) -> _LogOutput: ...
def policy_settings(data: bytes, path: str = "heso.toml") -> dict[str, str | bool | int]: ...
def canonicalize(json: bytes) -> bytes: ...
def blake3_hex(data: bytes) -> str: ...
def action_hash(content: bytes) -> str: ...
def link_hash(session_id: str, seq: int, action_hash: str) -> str: ...
def verify_strict(public_key: bytes, message: bytes, signature: bytes) -> bool: ...
def verify_receipt(
    receipt: bytes,
    *,
    pubkeys: list[str] | None = None,
    approver_pubkeys: list[str] | None = None,
) -> dict[str, str]: ...
def verify_chain(
    receipts: list[bytes],
    *,
    mode: str = "auto",
    pubkeys: list[str] | None = None,
    approver_pubkeys: list[str] | None = None,
) -> dict[str, str | int]: ...
