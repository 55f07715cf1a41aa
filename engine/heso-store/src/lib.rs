//! All file I/O of the heso engine: the data directory, key custody, project scaffolding and the
//! audit store.
//!
//! `heso-core` stays pure; this crate reads and writes files, reads the environment snapshot it
//! is given, and draws randomness from the operating system.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod approver_key;
pub mod engine;
pub mod env;
pub mod fs;
pub mod inputs;
pub mod keyfile;
pub mod operator_key;
pub mod passphrase;
pub mod policy_file;
pub mod policy_runs;
pub mod progress;
pub mod project;
pub mod scaffold;
pub mod store;
pub mod store_runs;
pub mod verification;
