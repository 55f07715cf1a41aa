//! The SDK's engine handle: `Engine.gate` before a body runs, `Engine.record_result` after it
//! (sdk.md §1, §5). Converts only; the decisions are `heso_store::engine`'s.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use heso_core::identity::PublicKey;
use heso_core::policy::wire::action_from_json;
use heso_core::receipt::approval::LegDecision;
use heso_core::receipt::gate::{error_text, ResultBinding, ResultHasher as CoreHasher};
use heso_core::receipt::hashing::result_hash;
use heso_core::receipt::redaction::RedactMode;
use heso_store::engine::{
    Engine as CoreEngine, EngineOpenError, EngineOptions, Gate, GateCall, Gated,
};
use heso_store::store::{
    ApprovalRequest, Clock, Durability, GateOutcome, StoreError, StoreOptions,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::policy::policy_exception;

pyo3::import_exception!(heso._errors, ConfigError);
pyo3::import_exception!(heso._errors, EngineError);
pyo3::import_exception!(heso._errors, SessionError);

/// `EngineError` with the store's code.
pub(crate) fn engine_error(py: Python<'_>, error: &StoreError) -> PyErr {
    let kwargs = PyDict::new(py);
    let built = kwargs.set_item("code", error.code()).and_then(|()| {
        py.get_type::<EngineError>()
            .call((error.to_string(),), Some(&kwargs))
    });
    match built {
        Ok(value) => PyErr::from_value(value),
        Err(conversion) => conversion,
    }
}

/// The process's engine handle: operator key decrypted once, `heso.toml` watched, store open.
#[pyclass(frozen, module = "heso._core", name = "Engine")]
pub(crate) struct Engine {
    engine: CoreEngine,
}

#[pymethods]
impl Engine {
    /// Opens the operator key (custody rules, `HESO_*` passphrase variables) and the store.
    /// Key problems raise `ConfigError`, store problems `EngineError`.
    #[staticmethod]
    #[expect(
        clippy::needless_pass_by_value,
        reason = "PyO3 extracts arguments as owned values"
    )]
    fn open(
        py: Python<'_>,
        project_root: PathBuf,
        data_dir: PathBuf,
        durability: &str,
        busy_timeout_ms: u32,
    ) -> PyResult<Self> {
        let durability = Durability::parse(durability).map_err(PyValueError::new_err)?;
        let options = EngineOptions {
            project_root: project_root.clone(),
            data_dir,
            store: StoreOptions {
                durability,
                busy_timeout_ms,
                clock: Clock::system(),
                operator_public_key: None,
            },
        };
        // Argon2id and opening SQLite take milliseconds; let other threads run meanwhile.
        let opened = py.detach(|| CoreEngine::open(options));
        match opened {
            Ok(engine) => Ok(Self { engine }),
            Err(EngineOpenError::Store(error)) => Err(engine_error(py, &error)),
            Err(error) => Err(ConfigError::new_err(error.to_string())),
        }
    }

    /// The base64 operator public key.
    #[getter]
    fn public_key(&self) -> String {
        self.engine.public_key().to_base64()
    }

    /// The operator's fingerprint, `heso:` and 32 hex characters.
    #[getter]
    fn fingerprint(&self) -> String {
        self.engine.public_key().fingerprint().to_string()
    }

    /// Where the passphrase came from, for people (never the passphrase), or `None`.
    #[getter]
    fn passphrase_source(&self) -> Option<String> {
        self.engine
            .operator_key()
            .passphrase_source
            .as_ref()
            .map(ToString::to_string)
    }

    /// Whether the development passphrase file unlocked the key.
    #[getter]
    fn uses_dev_passphrase(&self) -> bool {
        matches!(
            self.engine.operator_key().passphrase_source,
            Some(heso_store::passphrase::PassphraseSource::DevFile(_))
        )
    }

    /// Whether strict key custody is in force.
    #[getter]
    fn strict(&self) -> bool {
        self.engine.operator_key().custody == heso_core::custody::CustodyMode::Strict
    }

    /// One-time warnings of opening: repaired file modes of the key and the store.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        let mut warnings = self.engine.operator_key().key.warnings.clone();
        warnings.extend(self.engine.store().warnings().iter().cloned());
        warnings
    }

    /// Decides one action (JSON text of `{verb, tool_name, target_host, workflow, account,
    /// fields}`) and records the decision, in one transaction. `redact` are the paths asked for
    /// in code; `destructive` their mode; `enforce` false in observe-only mode.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "PyO3 extracts arguments as owned values"
    )]
    fn gate(
        &self,
        py: Python<'_>,
        action: &[u8],
        redact: Vec<String>,
        destructive: bool,
        enforce: bool,
    ) -> PyResult<Verdict> {
        let value: serde_json::Value = serde_json::from_slice(action)
            .map_err(|e| PyValueError::new_err(format!("action is not JSON: {e}")))?;
        let action = action_from_json(&value).map_err(PyValueError::new_err)?;
        let call = GateCall {
            action,
            redact: &redact,
            mode: if destructive {
                RedactMode::Destructive
            } else {
                RedactMode::CommitAndReveal
            },
            enforce,
        };
        let gated = py
            .detach(|| self.engine.gate(&call))
            .map_err(|error| engine_error(py, &error))?;
        Ok(Verdict {
            gated,
            recorded: AtomicBool::new(false),
            policy_path: self.engine.policy_file().path().display().to_string(),
        })
    }

    /// Records the result receipt of a verdict whose body ran, exactly once: `result` (JSON text
    /// of the converted return value), `hasher` (items of a generator or stream), or `error`
    /// (`(type name, message)`). Returns the result receipt's `action_hash`.
    #[pyo3(signature = (verdict, *, result=None, hasher=None, error=None))]
    fn record_result(
        &self,
        py: Python<'_>,
        verdict: &Verdict,
        result: Option<&[u8]>,
        hasher: Option<&ResultHasher>,
        error: Option<(String, String)>,
    ) -> PyResult<String> {
        let Some(base) = verdict.gated.result_base() else {
            return Err(SessionError::new_err(
                "this outcome did not allow the action, so it has no result to record",
            ));
        };
        let binding = match (result, hasher, error) {
            (_, _, Some((type_name, message))) => {
                ResultBinding::Error(error_text(&type_name, &message, verdict.gated.redacted))
            }
            (_, Some(hasher), None) => ResultBinding::Hash(hasher.lock()?.finish()),
            (Some(result), None, None) => {
                let value: serde_json::Value = serde_json::from_slice(result)
                    .map_err(|e| PyValueError::new_err(format!("result is not JSON: {e}")))?;
                ResultBinding::Hash(
                    result_hash(&value).map_err(|e| PyValueError::new_err(e.to_string()))?,
                )
            }
            (None, None, None) => {
                return Err(PyValueError::new_err("give result, hasher or error"));
            }
        };
        if verdict.recorded.swap(true, Ordering::AcqRel) {
            return Err(SessionError::new_err(
                "the result of this call is already recorded",
            ));
        }
        let appended = py.detach(|| {
            self.engine
                .record_result(&verdict.gated.session_id, base, &binding)
        });
        match appended {
            Ok(appended) => Ok(appended.action_hash),
            Err(error) => {
                // Not recorded: a retry of the same call may try again.
                verdict.recorded.store(false, Ordering::Release);
                Err(engine_error(py, &error))
            }
        }
    }

    /// The warning line for a policy load error not reported before (once per distinct
    /// error), without the `heso: warning: ` prefix.
    fn take_policy_warning(&self) -> Option<String> {
        self.engine.policy_file().take_warning()
    }

    fn __repr__(&self) -> String {
        format!("Engine({})", self.engine.public_key().fingerprint())
    }
}

/// What the gate did for one call; also the ticket for its result receipt.
#[pyclass(frozen, module = "heso._core")]
pub(crate) struct Verdict {
    gated: Gated,
    recorded: AtomicBool,
    /// The policy file, for a `policy_error`'s exception.
    policy_path: String,
}

#[pymethods]
impl Verdict {
    /// `decided` (a receipt of the policy's decision), `policy_error`, or for
    /// `require_approval` in enforce mode what the approval gate did: `opened`, `pending`,
    /// `revoked`, `expired`, `rejected`, `approved`.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.gated.gate {
            Gate::Decided { .. } => "decided",
            Gate::PolicyBroken { .. } => "policy_error",
            Gate::Approval { outcome, .. } => match **outcome {
                GateOutcome::Opened { .. } => "opened",
                GateOutcome::Pending { .. } => "pending",
                GateOutcome::Revoked { .. } => "revoked",
                GateOutcome::Expired { .. } => "expired",
                GateOutcome::Rejected { .. } => "rejected",
                GateOutcome::Approved { .. } => "approved",
            },
        }
    }

    /// The policy's decision (`block` for a policy that does not load).
    #[getter]
    fn decision(&self) -> &'static str {
        match &self.gated.gate {
            Gate::Decided { evaluation, .. } | Gate::Approval { evaluation, .. } => {
                evaluation.decision.name()
            }
            Gate::PolicyBroken { .. } => "block",
        }
    }

    /// The deciding rule.
    #[getter]
    fn rule_id(&self) -> &str {
        match &self.gated.gate {
            Gate::Decided { evaluation, .. } | Gate::Approval { evaluation, .. } => {
                &evaluation.rule_id
            }
            Gate::PolicyBroken { .. } => heso_core::policy::eval::POLICY_ERROR_RULE,
        }
    }

    /// Its sentence.
    #[getter]
    fn rule_display(&self) -> String {
        match &self.gated.gate {
            Gate::Decided { evaluation, .. } | Gate::Approval { evaluation, .. } => {
                evaluation.rule_display.clone()
            }
            Gate::PolicyBroken { .. } => {
                heso_core::receipt::gate::policy_error_evaluation().rule_display
            }
        }
    }

    /// The `action_hash` of the receipt recorded for this attempt, `""` when none was.
    #[getter]
    fn action_hash(&self) -> String {
        self.gated
            .receipt()
            .map(|r| r.action_hash.clone())
            .unwrap_or_default()
    }

    /// The exact bytes of that receipt, or `None`.
    #[getter]
    fn receipt<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.gated.receipt().map(|r| PyBytes::new(py, &r.body))
    }

    /// Whether a field of the recorded action is redacted.
    #[getter]
    fn redacted(&self) -> bool {
        self.gated.redacted
    }

    /// Whether enforce mode lets the body run: `allow`, `redact`, or an approval consumed now.
    #[getter]
    fn allows(&self) -> bool {
        self.gated.allows()
    }

    /// Whether a result receipt can follow (the body may run in this mode).
    #[getter]
    fn has_result(&self) -> bool {
        self.gated.result_base().is_some()
    }

    /// The approval request, as a dict: `request_id`, `generation`, `state`, `rule_id`,
    /// `approvers` (names), `roster`, `quorum`, `approvals`, `expires_at`, `rejected_by` and
    /// `reason` (of a rejection). `None` when no request is involved.
    #[getter]
    fn approval<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Gate::Approval {
            evaluation,
            outcome,
        } = &self.gated.gate
        else {
            return Ok(None);
        };
        let request: &ApprovalRequest = outcome.request();
        let dict = PyDict::new(py);
        dict.set_item("request_id", &request.request_id)?;
        dict.set_item("generation", request.generation)?;
        dict.set_item("state", request.state.name())?;
        dict.set_item("rule_id", &request.rule_id)?;
        let names = evaluation
            .approval
            .as_ref()
            .map(|terms| terms.approvers.clone())
            .unwrap_or_default();
        dict.set_item("approvers", names)?;
        dict.set_item("roster", request.roster.clone())?;
        dict.set_item("quorum", request.threshold)?;
        dict.set_item("approvals", request.approvals())?;
        dict.set_item("expires_at", &request.expires_at)?;
        let rejection = request
            .legs
            .iter()
            .find(|leg| leg.decision == LegDecision::Rejected);
        let rejected_by = rejection.and_then(|leg| {
            PublicKey::from_base64(&leg.approver_key)
                .ok()
                .map(|key| key.fingerprint().to_string())
        });
        dict.set_item("rejected_by", rejected_by)?;
        dict.set_item("reason", rejection.map(|leg| leg.record.reason.clone()))?;
        Ok(Some(dict))
    }

    /// For `policy_error`: the `PolicyParseError` / `PolicyFloorError` to raise.
    #[getter]
    fn policy_error<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        let Gate::PolicyBroken { error, .. } = &self.gated.gate else {
            return None;
        };
        let exception = policy_exception(
            py,
            &error.to_string(),
            &self.policy_path,
            error.issues(),
            error.floor_violation(),
        )
        .unwrap_or_else(|conversion| conversion);
        Some(exception.into_value(py).into_bound(py).into_any())
    }
}

/// Hashes a result that arrives in pieces (generator items, stream chunks) as the JSON array
/// of them, without keeping the items.
#[pyclass(frozen, module = "heso._core")]
pub(crate) struct ResultHasher {
    inner: Mutex<CoreHasher>,
}

impl ResultHasher {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, CoreHasher>> {
        self.inner
            .lock()
            .map_err(|_| PyValueError::new_err("result hasher poisoned by an earlier panic"))
    }
}

#[pymethods]
impl ResultHasher {
    /// An empty array so far.
    #[new]
    fn new() -> Self {
        Self {
            inner: Mutex::new(CoreHasher::new()),
        }
    }

    /// Adds one item (JSON text of the converted value).
    fn add(&self, item: &[u8]) -> PyResult<()> {
        let value: serde_json::Value = serde_json::from_slice(item)
            .map_err(|e| PyValueError::new_err(format!("item is not JSON: {e}")))?;
        self.lock()?
            .add(&value)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// How many items were added.
    #[getter]
    fn items(&self) -> PyResult<u64> {
        Ok(self.lock()?.items())
    }
}
