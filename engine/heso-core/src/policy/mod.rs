//! The `heso.toml` policy language (policy.md): the building blocks of conditions and scopes.
//!
//! Loading, validation, evaluation, floors, `rule_display` and policy tests build on these
//! modules; every pattern and number is compiled once at load and evaluated many times.

pub mod condition;
pub mod display;
pub mod glob;
pub mod number;
pub mod scope;
