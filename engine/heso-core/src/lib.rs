//! The pure core of heso: identities, fingerprints, the starter policy and, later, canonical
//! bytes, receipts and policy evaluation.
//!
//! Nothing in this crate touches the file system, the clock, the environment or a random number
//! generator: callers pass bytes, times and randomness in, and get values back. That keeps every
//! byte contract testable with fixed vectors and lets the same code run in the Python extension,
//! the standalone binary and, later, the C ABI.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The engine version, shared by every crate of the workspace and both Python distributions.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub mod crypto;
pub mod custody;
pub mod gitignore;
pub mod hex;
pub mod identity;
pub mod json;
pub mod pinning;
pub mod policy;
pub mod receipt;
pub mod starter;
