//! The `heso.toml` policy language (policy.md): the model, evaluation, floors, `rule_display`
//! and the building blocks of conditions and scopes.
//!
//! Every pattern and number is compiled once when a policy is built and evaluated many times.
//! The TOML loader (strict validation with positions), reload and policy tests build on this.

pub mod condition;
pub mod display;
pub mod eval;
pub mod explain;
pub mod floors;
pub mod glob;
pub mod load;
pub mod model;
pub mod number;
pub mod scope;
pub mod shadow;
pub mod testing;
pub mod wire;

#[cfg(test)]
mod tests;
