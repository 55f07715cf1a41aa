//! `heso._core`: the `PyO3` binding of the heso engine. Each function converts its arguments,
//! calls one function of `heso-core` or `heso-store`, and converts the result back. Exceptions
//! are the classes of `heso._errors`, defined once in Python.

use std::path::{Path, PathBuf};

use heso_store::env::EngineEnv;
use heso_store::operator_key::{open_operator_key, OpenedOperatorKey};
use pyo3::prelude::*;

pyo3::import_exception!(heso._errors, ConfigError);

/// The project's operator identity, decrypted once and held in Rust memory. Python sees only the
/// public half; the seed never crosses into Python and is wiped when the handle is dropped.
#[pyclass(frozen, module = "heso._core")]
struct OperatorKey {
    opened: OpenedOperatorKey,
}

#[pymethods]
impl OperatorKey {
    /// Opens the operator key in `data_dir` under the custody rules, reading the `HESO_*`
    /// passphrase variables. Paths in messages are shown relative to `project_root`.
    #[staticmethod]
    #[expect(
        clippy::needless_pass_by_value,
        reason = "PyO3 extracts arguments as owned values"
    )]
    fn open(py: Python<'_>, project_root: PathBuf, data_dir: PathBuf) -> PyResult<Self> {
        let env = EngineEnv::from_process().map_err(|e| ConfigError::new_err(e.to_string()))?;
        let shown = |path: &Path| match path.strip_prefix(&project_root) {
            Ok(relative) => relative.display().to_string(),
            Err(_) => path.display().to_string(),
        };
        // Argon2id takes milliseconds; let other Python threads run meanwhile.
        let opened = py
            .detach(|| open_operator_key(&data_dir, &env, &shown).map_err(|e| e.to_string()))
            .map_err(ConfigError::new_err)?;
        Ok(Self { opened })
    }

    /// The base64 public key.
    #[getter]
    fn public_key(&self) -> String {
        self.opened.key.public_key.to_base64()
    }

    /// The signer fingerprint, `heso:` and 32 hex characters.
    #[getter]
    fn fingerprint(&self) -> String {
        self.opened.key.public_key.fingerprint().to_string()
    }

    /// `"HSK1"` or `"raw"`.
    #[getter]
    fn format(&self) -> &'static str {
        self.opened.key.format.name()
    }

    /// Where the passphrase came from, for people (never the passphrase), or `None`.
    #[getter]
    fn passphrase_source(&self) -> Option<String> {
        self.opened
            .passphrase_source
            .as_ref()
            .map(ToString::to_string)
    }

    /// Whether the development passphrase file unlocked the key.
    #[getter]
    fn uses_dev_passphrase(&self) -> bool {
        matches!(
            self.opened.passphrase_source,
            Some(heso_store::passphrase::PassphraseSource::DevFile(_))
        )
    }

    /// Whether strict key custody is in force (`HESO_ENV=production`, `HESO_REQUIRE_PASSPHRASE`).
    #[getter]
    fn strict(&self) -> bool {
        self.opened.custody == heso_core::custody::CustodyMode::Strict
    }

    /// Warnings about repaired file modes, to show once.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.opened.key.warnings.clone()
    }

    fn __repr__(&self) -> String {
        format!("OperatorKey({})", self.fingerprint())
    }
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

/// The compiled module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", heso_core::VERSION)?;
    m.add_class::<OperatorKey>()?;
    m.add_function(wrap_pyfunction!(fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(operator_pinning, m)?)?;
    Ok(())
}
