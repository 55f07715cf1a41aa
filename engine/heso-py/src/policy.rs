//! Policy bindings: a loaded `heso.toml` that evaluates actions, and the `policy` commands of
//! `heso`, which run the same engine functions as `heso-compliance`.

use std::path::PathBuf;

use heso_core::policy::eval::evaluate;
use heso_core::policy::floors::FloorViolation;
use heso_core::policy::load::{load_policy_detailed, LoadFailure, PolicyIssue};
use heso_core::policy::model::Policy;
use heso_core::policy::wire::{action_from_json, evaluation_to_json};
use heso_store::policy_file::{PolicyFile, PolicyFileError};
use heso_store::policy_runs::{
    run_policy_check, run_policy_explain, run_policy_explain_receipt, run_policy_test,
    PolicyLocation, PolicyRunOutcome,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

pyo3::import_exception!(heso._errors, PolicyParseError);
pyo3::import_exception!(heso._errors, PolicyFloorError);

/// A loaded, valid policy. Loading compiles every pattern once; `evaluate` is pure.
#[pyclass(frozen, module = "heso._core", name = "Policy")]
pub(crate) struct LoadedPolicy {
    policy: Policy,
    warnings: Vec<PolicyIssue>,
}

#[pymethods]
impl LoadedPolicy {
    /// Loads a policy from the file's bytes; `path` names it in messages. Raises
    /// `PolicyParseError` or `PolicyFloorError` with every issue.
    #[staticmethod]
    #[pyo3(signature = (data, path = "heso.toml"))]
    fn load(py: Python<'_>, data: &[u8], path: &str) -> PyResult<Self> {
        match load_policy_detailed(path, data) {
            Ok(loaded) => Ok(Self {
                policy: loaded.policy,
                warnings: loaded.warnings,
            }),
            Err(failure) => Err(policy_error(py, path, &failure)?),
        }
    }

    /// Lowercase hex BLAKE3 of the file's bytes.
    #[getter]
    fn policy_hash(&self) -> &str {
        &self.policy.policy_hash
    }

    /// The warnings found while loading, as `heso.PolicyIssue` values.
    #[getter]
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.warnings.iter().map(|w| issue_object(py, w)).collect()
    }

    /// Evaluates an action given as a JSON object (`verb`, `tool_name`, `target_host`,
    /// `workflow`, `account`, `fields`); returns the evaluation as JSON text.
    fn evaluate(&self, action: &str) -> PyResult<String> {
        let action = parse_action(action)?;
        Ok(evaluation_to_json(&evaluate(&self.policy, &action)).to_string())
    }

    fn __repr__(&self) -> String {
        format!(
            "<heso._core.Policy {} rules, policy_hash {}>",
            self.policy.rules.len(),
            self.policy.policy_hash
        )
    }
}

/// A `heso.PolicyIssue` for an issue.
fn issue_object<'py>(py: Python<'py>, issue: &PolicyIssue) -> PyResult<Bound<'py, PyAny>> {
    py.import("heso._errors")?.getattr("PolicyIssue")?.call1((
        issue.code,
        issue.path.as_str(),
        issue.line,
        issue.column,
        issue.message.as_str(),
    ))
}

/// `PolicyFloorError` when the floors rejected the policy, else `PolicyParseError`; the message
/// is the first issue, plus ` (and N more)`.
fn policy_error(py: Python<'_>, path: &str, failure: &LoadFailure) -> PyResult<PyErr> {
    let mut message = failure
        .issues
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    if failure.issues.len() > 1 {
        let more = failure.issues.len() - 1;
        message = format!("{message} (and {more} more)");
    }
    policy_exception(py, &message, path, &failure.issues, failure.floors.first())
}

/// Builds `PolicyFloorError` (when a floor violation is given) or `PolicyParseError` (position
/// and code of the first issue) with every issue attached.
pub(crate) fn policy_exception(
    py: Python<'_>,
    message: &str,
    path: &str,
    issues: &[PolicyIssue],
    floor: Option<&FloorViolation>,
) -> PyResult<PyErr> {
    let objects: Vec<Bound<'_, PyAny>> = issues
        .iter()
        .map(|issue| issue_object(py, issue))
        .collect::<PyResult<_>>()?;
    let first = issues.first();
    let kwargs = PyDict::new(py);
    kwargs.set_item("path", PathBuf::from(path))?;
    kwargs.set_item("issues", PyTuple::new(py, objects)?)?;
    let class = if let Some(floor) = floor {
        kwargs.set_item("rule_id", floor.rule_id.as_str())?;
        kwargs.set_item("verb", floor.verb.as_str())?;
        py.get_type::<PolicyFloorError>()
    } else {
        kwargs.set_item("line", first.map_or(0, |i| i.line))?;
        kwargs.set_item("column", first.map_or(0, |i| i.column))?;
        kwargs.set_item("code", first.map_or("", |i| i.code))?;
        py.get_type::<PolicyParseError>()
    };
    let error = class.call((message,), Some(&kwargs))?;
    Ok(PyErr::from_value(error))
}

/// `heso.toml` watched for changes (policy.md §9): the policy of a long-lived engine handle.
/// Each call `stat`s the file and re-reads it only when it may have changed; a broken edit fails
/// every call closed until the file loads again.
#[pyclass(frozen, module = "heso._core", name = "PolicyFile")]
pub(crate) struct WatchedPolicy {
    file: PolicyFile,
}

#[pymethods]
impl WatchedPolicy {
    /// Watches the policy file at `path`; nothing is read until the first call.
    #[new]
    fn new(path: PathBuf) -> Self {
        Self {
            file: PolicyFile::new(path),
        }
    }

    /// Evaluates an action (JSON text) under the current policy; returns the evaluation as JSON
    /// text. Raises `PolicyParseError` / `PolicyFloorError` while the file does not load.
    fn evaluate(&self, py: Python<'_>, action: &str) -> PyResult<String> {
        let action = parse_action(action)?;
        let loaded = py.detach(|| self.file.current());
        let loaded = loaded.map_err(|error| self.exception(py, &error))?;
        Ok(evaluation_to_json(&evaluate(&loaded.policy, &action)).to_string())
    }

    /// The `policy_hash` of the current policy. Raises as `evaluate` does.
    #[getter]
    fn policy_hash(&self, py: Python<'_>) -> PyResult<String> {
        let loaded = py.detach(|| self.file.current());
        let loaded = loaded.map_err(|error| self.exception(py, &error))?;
        Ok(loaded.policy.policy_hash.clone())
    }

    /// The warning line for a load error not reported before (once per distinct error), without
    /// the `heso: warning: ` prefix; None otherwise.
    fn take_warning(&self) -> Option<String> {
        self.file.take_warning()
    }

    /// How many times the file was parsed: it is never re-parsed while unchanged.
    #[getter]
    fn parse_count(&self) -> u64 {
        self.file.parse_count()
    }
}

impl WatchedPolicy {
    fn exception(&self, py: Python<'_>, error: &PolicyFileError) -> PyErr {
        let path = self.file.path().display().to_string();
        policy_exception(
            py,
            &error.to_string(),
            &path,
            error.issues(),
            error.floor_violation(),
        )
        .unwrap_or_else(|conversion| conversion)
    }
}

/// An action from its JSON text.
fn parse_action(action: &str) -> PyResult<heso_core::policy::condition::Action> {
    let value: serde_json::Value = serde_json::from_str(action)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("action is not JSON: {e}")))?;
    action_from_json(&value).map_err(pyo3::exceptions::PyValueError::new_err)
}

/// Where a `heso policy` command finds the policy.
fn location(path: Option<PathBuf>, project_root: Option<PathBuf>, cwd: PathBuf) -> PolicyLocation {
    PolicyLocation {
        path,
        project_root,
        cwd,
    }
}

/// The outcome of a policy command as a dict: `exit_code`, `lines`, `result` (JSON text, or
/// None), `warnings` (for the JSON envelope) and `error` (`{code, message}` or None).
fn outcome_dict(py: Python<'_>, outcome: &PolicyRunOutcome) -> PyResult<Py<PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("exit_code", outcome.exit_code)?;
    dict.set_item("warnings", outcome.warnings.clone())?;
    dict.set_item("lines", outcome.lines.clone())?;
    let result = (!outcome.result.is_null()).then(|| outcome.result.to_string());
    dict.set_item("result", result)?;
    match &outcome.error {
        Some((code, message)) => {
            let error = PyDict::new(py);
            error.set_item("code", *code)?;
            error.set_item("message", message)?;
            dict.set_item("error", error)?;
        }
        None => dict.set_item("error", py.None())?,
    }
    Ok(dict.unbind())
}

/// `policy check`, exactly as `heso-compliance policy check` runs it.
#[pyfunction]
#[pyo3(signature = (path, *, project_root, cwd, deny_warnings))]
pub(crate) fn policy_check(
    py: Python<'_>,
    path: Option<PathBuf>,
    project_root: Option<PathBuf>,
    cwd: PathBuf,
    deny_warnings: bool,
) -> PyResult<Py<PyDict>> {
    let location = location(path, project_root, cwd);
    let outcome = py.detach(|| run_policy_check(&location, deny_warnings));
    outcome_dict(py, &outcome)
}

/// `policy test`, exactly as `heso-compliance policy test` runs it.
#[pyfunction]
#[expect(
    clippy::needless_pass_by_value,
    reason = "PyO3 extracts arguments as owned values"
)]
#[pyo3(signature = (files, *, policy, project_root, cwd, require_coverage))]
pub(crate) fn policy_test(
    py: Python<'_>,
    files: Vec<PathBuf>,
    policy: Option<PathBuf>,
    project_root: Option<PathBuf>,
    cwd: PathBuf,
    require_coverage: bool,
) -> PyResult<Py<PyDict>> {
    let location = location(policy, project_root, cwd);
    let outcome = py.detach(|| run_policy_test(&location, &files, require_coverage));
    outcome_dict(py, &outcome)
}

/// `policy explain` for an action given as JSON text.
#[pyfunction]
#[pyo3(signature = (action, *, policy, project_root, cwd))]
pub(crate) fn policy_explain(
    py: Python<'_>,
    action: &str,
    policy: Option<PathBuf>,
    project_root: Option<PathBuf>,
    cwd: PathBuf,
) -> PyResult<Py<PyDict>> {
    let action: serde_json::Value = serde_json::from_str(action)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("action is not JSON: {e}")))?;
    let location = location(policy, project_root, cwd);
    let outcome = py.detach(|| run_policy_explain(&location, &action));
    outcome_dict(py, &outcome)
}

/// `policy explain --receipt REF`: the action of the stored receipt `reference` (a hash prefix)
/// under the current policy, redacted values taken from the store's reveal material when present.
#[pyfunction]
#[pyo3(signature = (reference, *, policy, project_root, cwd))]
pub(crate) fn policy_explain_receipt(
    py: Python<'_>,
    reference: &str,
    policy: Option<PathBuf>,
    project_root: Option<PathBuf>,
    cwd: PathBuf,
) -> PyResult<Py<PyDict>> {
    let env = heso_store::env::EngineEnv::from_process()
        .map_err(|e| crate::store::ConfigError::new_err(e.to_string()))?;
    let location = location(policy, project_root, cwd);
    let outcome =
        py.detach(|| run_policy_explain_receipt(&location, reference, env.data_dir.as_deref()));
    outcome_dict(py, &outcome)
}

/// The `[settings]` of a policy file's bytes (policy.md §5) as a dict holding only the keys that
/// are set, each already validated. Raises `PolicyParseError` / `PolicyFloorError` when the file
/// does not load, since its settings cannot be trusted then.
#[pyfunction]
#[pyo3(signature = (data, path = "heso.toml"))]
pub(crate) fn policy_settings<'py>(
    py: Python<'py>,
    data: &[u8],
    path: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let settings = match load_policy_detailed(path, data) {
        Ok(loaded) => loaded.settings,
        Err(failure) => return Err(policy_error(py, path, &failure)?),
    };
    let dict = PyDict::new(py);
    let texts = [
        ("data_dir", &settings.data_dir),
        ("workflow", &settings.workflow),
        ("account", &settings.account),
        ("durability", &settings.durability),
        ("endpoint", &settings.endpoint),
    ];
    for (name, value) in texts {
        if let Some(value) = value {
            dict.set_item(name, value)?;
        }
    }
    if let Some(blocking) = settings.blocking {
        dict.set_item("blocking", blocking)?;
    }
    if let Some(ms) = settings.busy_timeout_ms {
        dict.set_item("busy_timeout_ms", ms)?;
    }
    Ok(dict)
}
