//! `heso._core`: the `PyO3` binding of the heso engine. Each function converts its arguments,
//! calls one function of `heso-core` or `heso-store`, and converts the result back. Exceptions
//! are the classes of `heso._errors`, defined once in Python.

mod engine;
mod policy;
mod store;

use std::path::PathBuf;

use pyo3::prelude::*;

pyo3::import_exception!(heso._errors, ConfigError);

/// The project root: `explicit` (`-C`), else `env_root` (`HESO_PROJECT_ROOT`), each only if it
/// holds `heso.toml`; else the nearest directory from `start` upwards holding a `heso.toml`.
#[pyfunction]
#[pyo3(signature = (start, *, explicit = None, env_root = None))]
#[expect(
    clippy::needless_pass_by_value,
    reason = "PyO3 extracts arguments as owned values"
)]
fn find_project_root(
    start: PathBuf,
    explicit: Option<PathBuf>,
    env_root: Option<PathBuf>,
) -> Option<String> {
    heso_store::project::find_project_root(explicit.as_deref(), env_root.as_deref(), &start)
        .map(|p| p.display().to_string())
}

/// Signer fingerprint of a base64 public key.
#[pyfunction]
fn fingerprint(public_key: &str) -> PyResult<String> {
    heso_core::identity::PublicKey::from_base64(public_key)
        .map(|key| key.fingerprint().to_string())
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// Whether a policy file's bytes pin an operator key in `[identity]`: `("pinned", None)`,
/// `("not_pinned", None)`, `("no_identity", None)` or `("unreadable", reason)`.
#[pyfunction]
fn operator_pinning(policy: &[u8], public_key: &str) -> PyResult<(&'static str, Option<String>)> {
    use heso_core::pinning::{operator_pinning, OperatorPinning};
    let key = heso_core::identity::PublicKey::from_base64(public_key)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(match operator_pinning(policy, &key) {
        OperatorPinning::Pinned => ("pinned", None),
        OperatorPinning::NotPinned => ("not_pinned", None),
        OperatorPinning::NoIdentity => ("no_identity", None),
        OperatorPinning::Unreadable(reason) => ("unreadable", Some(reason)),
    })
}

/// One thing to verify: a name (file, directory, `-`, hash prefix) or bytes in memory.
#[derive(FromPyObject)]
enum VerifyItem {
    Name(PathBuf),
    Bytes(Vec<u8>),
}

/// Verifies receipts exactly as `heso-compliance verify` does: files, directories, `-`, bytes,
/// and receipt hash prefixes looked up in the project store; no inputs verify the whole store.
/// Returns a dict with `exit_code`, `lines` (the text report), `result` (the JSON result, as
/// text), `warnings` and `error`.
#[pyfunction]
#[pyo3(signature = (inputs, *, pubkeys, approver_pubkeys, no_pin, all, project_root, color = false, progress = false))]
#[expect(
    clippy::too_many_arguments,
    clippy::fn_params_excessive_bools,
    reason = "the keyword-only Python signature mirrors the flags of `heso verify`"
)]
fn verify(
    py: Python<'_>,
    inputs: Vec<VerifyItem>,
    pubkeys: Vec<String>,
    approver_pubkeys: Vec<String>,
    no_pin: bool,
    all: bool,
    project_root: Option<PathBuf>,
    color: bool,
    progress: bool,
) -> PyResult<Py<pyo3::types::PyDict>> {
    use heso_store::progress::ProgressBar;
    use heso_store::verification::{run_verify_observed, VerifyInput, VerifyRequest};
    let inputs = inputs
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            VerifyItem::Name(path) => VerifyInput::Named(path.display().to_string()),
            VerifyItem::Bytes(bytes) => VerifyInput::Bytes {
                source: format!("<source {index}>"),
                bytes,
            },
        })
        .collect();
    let cwd = std::env::current_dir().map_err(|e| {
        pyo3::exceptions::PyOSError::new_err(format!("cannot read the current directory: {e}"))
    })?;
    let location = store::location(project_root, cwd)?;
    let request = VerifyRequest {
        inputs,
        pubkeys,
        approver_pubkeys,
        no_pin,
        project_root: location.project_root,
        env_data_dir: location.env_data_dir,
        cwd: location.cwd,
    };
    let result = pyo3::types::PyDict::new(py);
    let run = || {
        // The bar draws only when asked (the CLI asks for it on a terminal).
        let mut bar = ProgressBar::for_terminal("verifying", "receipts", !progress);
        let outcome = run_verify_observed(&request, &mut |done, total| bar.update(done, total));
        bar.finish();
        outcome
    };
    let outcome = match py.detach(run) {
        Ok(outcome) => outcome,
        Err(error) => {
            // Same message and code as `heso-compliance verify`; the caller decides how to fail.
            let failure = pyo3::types::PyDict::new(py);
            failure.set_item("code", error.code())?;
            failure.set_item("message", error.to_string())?;
            result.set_item("exit_code", 2)?;
            result.set_item("lines", Vec::<String>::new())?;
            result.set_item("result", py.None())?;
            result.set_item("warnings", Vec::<String>::new())?;
            result.set_item("error", failure)?;
            return Ok(result.unbind());
        }
    };
    let report = &outcome.report;
    result.set_item("exit_code", report.exit_code())?;
    let mut lines = report.text_lines(all);
    if color {
        lines = lines
            .iter()
            .map(|line| heso_core::receipt::report::colorize(line))
            .collect();
    }
    result.set_item("lines", lines)?;
    result.set_item("result", report.to_json(all).to_string())?;
    result.set_item("warnings", outcome.warnings.clone())?;
    result.set_item("error", py.None())?;
    Ok(result.unbind())
}

fn value_error(message: impl std::fmt::Display) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(message.to_string())
}

fn pins_from(
    pubkeys: Option<Vec<String>>,
    approver_pubkeys: Option<Vec<String>>,
) -> PyResult<Option<heso_core::receipt::verify::Pins>> {
    if pubkeys.is_none() && approver_pubkeys.is_none() {
        return Ok(None);
    }
    let keys = |texts: Option<Vec<String>>| -> PyResult<Vec<heso_core::identity::PublicKey>> {
        texts
            .unwrap_or_default()
            .iter()
            .map(|t| heso_core::identity::PublicKey::from_base64(t).map_err(value_error))
            .collect()
    };
    Ok(Some(heso_core::receipt::verify::Pins {
        operators: keys(pubkeys)?,
        approvers: keys(approver_pubkeys)?,
    }))
}

/// RFC 8785 canonical bytes of JSON text (parsed strictly: duplicate members are an error).
#[pyfunction]
fn canonicalize(json: &[u8]) -> PyResult<Vec<u8>> {
    let value = heso_core::json::parse_strict(json).map_err(value_error)?;
    Ok(heso_core::json::canonicalize(&value))
}

/// Lowercase hex BLAKE3-256.
#[pyfunction]
fn blake3_hex(data: &[u8]) -> String {
    heso_core::crypto::blake3_hex(data)
}

/// `action_hash` of a content object given as JSON text.
#[pyfunction]
fn action_hash(content: &[u8]) -> PyResult<String> {
    let value = heso_core::json::parse_strict(content).map_err(value_error)?;
    let map = value
        .as_object()
        .ok_or_else(|| value_error("content must be a JSON object"))?;
    Ok(heso_core::receipt::hashing::action_hash(map))
}

/// The chain link hash of a receipt.
#[pyfunction]
fn link_hash(session_id: &str, seq: u64, action_hash: &str) -> String {
    heso_core::receipt::hashing::link_hash(session_id, seq, action_hash)
}

/// Strict Ed25519 verification of raw bytes (the rule receipts are verified by).
#[pyfunction]
fn verify_strict(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    match (
        <[u8; 32]>::try_from(public_key),
        <[u8; 64]>::try_from(signature),
    ) {
        (Ok(key), Ok(signature)) => {
            heso_core::crypto::verify_strict(&key, b"", message, &signature)
        }
        _ => false,
    }
}

/// Verifies one receipt: a dict with `kind` (the verdict), `trust_level` (when Valid),
/// `detail` (when not), `time_status` and `operator_fingerprint`.
#[pyfunction]
#[pyo3(signature = (receipt, *, pubkeys = None, approver_pubkeys = None))]
fn verify_receipt(
    py: Python<'_>,
    receipt: &[u8],
    pubkeys: Option<Vec<String>>,
    approver_pubkeys: Option<Vec<String>>,
) -> PyResult<Py<pyo3::types::PyDict>> {
    let pins = pins_from(pubkeys, approver_pubkeys)?;
    let verification = heso_core::receipt::verify::verify_receipt_bytes(receipt, pins.as_ref());
    let result = pyo3::types::PyDict::new(py);
    result.set_item("kind", verification.verdict.name())?;
    if let Some(level) = verification.trust_level {
        result.set_item("trust_level", level.name())?;
    }
    if let Some(detail) = &verification.detail {
        result.set_item("detail", detail)?;
    }
    result.set_item("time_status", "NoTrustedTime")?;
    if let Some(operator) = verification.operator {
        result.set_item("operator_fingerprint", operator.fingerprint().to_string())?;
    }
    Ok(result.unbind())
}

/// Verifies receipts as one chain, in the given order: a dict with `kind` (the chain verdict),
/// `type`, and `length`, `seq`, `reason`, `detail` where they apply.
#[pyfunction]
#[pyo3(signature = (receipts, *, mode = "auto", pubkeys = None, approver_pubkeys = None))]
#[expect(
    clippy::needless_pass_by_value,
    reason = "PyO3 extracts arguments as owned values"
)]
fn verify_chain(
    py: Python<'_>,
    receipts: Vec<Vec<u8>>,
    mode: &str,
    pubkeys: Option<Vec<String>>,
    approver_pubkeys: Option<Vec<String>>,
) -> PyResult<Py<pyo3::types::PyDict>> {
    use heso_core::receipt::chain::{verify_chain_observed, ChainMode, ChainType, ChainVerdict};
    let mode = match mode {
        "auto" => ChainMode::Auto,
        "action" => ChainMode::Action,
        "session" => ChainMode::Session,
        other => {
            return Err(value_error(format!(
                "mode `{other}`; use auto, action or session"
            )))
        }
    };
    let pins = pins_from(pubkeys, approver_pubkeys)?;
    let values: Vec<serde_json::Value> = receipts
        .iter()
        .map(|bytes| heso_core::json::parse_strict(bytes).unwrap_or(serde_json::Value::Null))
        .collect();
    let refs: Vec<&serde_json::Value> = values.iter().collect();
    let workers = heso_store::verification::default_workers();
    let report =
        py.detach(|| verify_chain_observed(&refs, mode, pins.as_ref(), None, workers, &mut |_| {}));
    let result = pyo3::types::PyDict::new(py);
    result.set_item("kind", report.verdict.name())?;
    let chain_type = match report.chain_type {
        ChainType::Action => "action",
        ChainType::Lifecycle => "lifecycle",
    };
    result.set_item("type", chain_type)?;
    if let ChainVerdict::Valid { length } = report.verdict {
        result.set_item("length", length)?;
    }
    if let ChainVerdict::ContentTamper { reason, .. } = report.verdict {
        result.set_item("reason", reason.name())?;
    }
    if let Some(seq) = report.verdict.seq() {
        result.set_item("seq", seq)?;
    }
    if let Some(detail) = report.verdict.detail() {
        result.set_item("detail", detail)?;
    }
    Ok(result.unbind())
}

/// The compiled module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", heso_core::VERSION)?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<engine::Verdict>()?;
    m.add_class::<engine::ResultHasher>()?;
    m.add_class::<policy::LoadedPolicy>()?;
    m.add_class::<policy::WatchedPolicy>()?;
    m.add_function(wrap_pyfunction!(policy::policy_check, m)?)?;
    m.add_function(wrap_pyfunction!(policy::policy_settings, m)?)?;
    m.add_function(wrap_pyfunction!(policy::policy_test, m)?)?;
    m.add_function(wrap_pyfunction!(policy::policy_explain, m)?)?;
    m.add_function(wrap_pyfunction!(policy::policy_explain_receipt, m)?)?;
    m.add_function(wrap_pyfunction!(store::export, m)?)?;
    m.add_function(wrap_pyfunction!(store::show, m)?)?;
    m.add_function(wrap_pyfunction!(store::log, m)?)?;
    m.add_function(wrap_pyfunction!(fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(find_project_root, m)?)?;
    m.add_function(wrap_pyfunction!(operator_pinning, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(canonicalize, m)?)?;
    m.add_function(wrap_pyfunction!(blake3_hex, m)?)?;
    m.add_function(wrap_pyfunction!(action_hash, m)?)?;
    m.add_function(wrap_pyfunction!(link_hash, m)?)?;
    m.add_function(wrap_pyfunction!(verify_strict, m)?)?;
    m.add_function(wrap_pyfunction!(verify_receipt, m)?)?;
    m.add_function(wrap_pyfunction!(verify_chain, m)?)?;
    Ok(())
}
