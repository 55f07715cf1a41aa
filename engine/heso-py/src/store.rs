//! Store bindings: the `export`, `show` and `log` commands of `heso`, which run the same engine
//! functions as `heso-compliance audit export`. Python never opens the database itself.

use std::path::PathBuf;

use heso_store::env::EngineEnv;
use heso_store::store_runs::{
    run_export, run_log, run_show, ExportRequest, LogRequest, StoreLocation, StoreRunOutcome,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

pyo3::import_exception!(heso._errors, ConfigError);

/// Where the store is: the project root the CLI found, `HESO_DATA_DIR`, and `cwd` for messages.
pub(crate) fn location(project_root: Option<PathBuf>, cwd: PathBuf) -> PyResult<StoreLocation> {
    let env = EngineEnv::from_process().map_err(|e| ConfigError::new_err(e.to_string()))?;
    Ok(StoreLocation {
        project_root,
        env_data_dir: env.data_dir,
        cwd,
    })
}

/// An outcome as a dict: `exit_code`, `lines`, `data` (bytes for stdout), `status` (lines for
/// stderr), `result` (JSON text, or None), `warnings` and `error` (`{code, message}` or None).
fn outcome_dict<'py>(py: Python<'py>, outcome: &StoreRunOutcome) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("exit_code", outcome.exit_code)?;
    dict.set_item("lines", outcome.lines.clone())?;
    dict.set_item("data", PyBytes::new(py, &outcome.data))?;
    dict.set_item("status", outcome.status.clone())?;
    let result = (!outcome.result.is_null()).then(|| outcome.result.to_string());
    dict.set_item("result", result)?;
    dict.set_item("warnings", outcome.warnings.clone())?;
    match &outcome.error {
        Some((code, message)) => {
            let error = PyDict::new(py);
            error.set_item("code", *code)?;
            error.set_item("message", message)?;
            dict.set_item("error", error)?;
        }
        None => dict.set_item("error", py.None())?,
    }
    Ok(dict)
}

/// `export`, exactly as `heso-compliance audit export` runs it (without `--salvage`). An export
/// to standard output comes back as `data`.
#[pyfunction]
#[pyo3(signature = (*, output, sessions, per_session, project_root, cwd))]
pub(crate) fn export(
    py: Python<'_>,
    output: Option<PathBuf>,
    sessions: Vec<String>,
    per_session: Option<PathBuf>,
    project_root: Option<PathBuf>,
    cwd: PathBuf,
) -> PyResult<Py<PyDict>> {
    let request = ExportRequest {
        location: location(project_root, cwd)?,
        output,
        sessions,
        per_session,
        salvage: false,
    };
    let (outcome, data) = py.detach(|| {
        let mut data = Vec::new();
        let outcome = run_export(&request, &mut data);
        (outcome, data)
    });
    let dict = outcome_dict(py, &outcome)?;
    if !data.is_empty() {
        dict.set_item("data", PyBytes::new(py, &data))?;
    }
    Ok(dict.unbind())
}

/// `show REF [--raw]`: the receipt as pretty JSON (or its exact bytes) in `data`.
#[pyfunction]
#[pyo3(signature = (reference, *, raw, project_root, cwd))]
pub(crate) fn show(
    py: Python<'_>,
    reference: &str,
    raw: bool,
    project_root: Option<PathBuf>,
    cwd: PathBuf,
) -> PyResult<Py<PyDict>> {
    let location = location(project_root, cwd)?;
    let outcome = py.detach(|| run_show(&location, reference, raw));
    Ok(outcome_dict(py, &outcome)?.unbind())
}

/// One page of `log`: `lines` (or `data` with `json`), plus `last_id` to poll after and the
/// column `widths` to pass to the next page.
#[pyfunction]
#[pyo3(signature = (*, limit, session, workflow, verb, decision, kind, since, json, after_id, widths, project_root, cwd))]
#[expect(
    clippy::too_many_arguments,
    reason = "the keyword-only Python signature mirrors the flags of `heso log`"
)]
pub(crate) fn log(
    py: Python<'_>,
    limit: Option<usize>,
    session: Option<String>,
    workflow: Option<String>,
    verb: Option<String>,
    decision: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    json: bool,
    after_id: Option<i64>,
    widths: Vec<usize>,
    project_root: Option<PathBuf>,
    cwd: PathBuf,
) -> PyResult<Py<PyDict>> {
    let request = LogRequest {
        location: location(project_root, cwd)?,
        limit,
        session,
        workflow,
        verb,
        decision,
        kind,
        since,
        json,
        after_id,
    };
    let mut widths = widths;
    let page = py.detach(|| run_log(&request, &mut widths));
    let dict = outcome_dict(py, &page.outcome)?;
    dict.set_item("last_id", page.last_id)?;
    dict.set_item("widths", widths)?;
    Ok(dict.unbind())
}
