//! `heso._core`: the PyO3 binding of the heso engine. Each function converts its arguments,
//! calls one function of `heso-core` or `heso-store`, and converts the result back.

use pyo3::prelude::*;

/// The compiled module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", heso_core::VERSION)?;
    Ok(())
}
