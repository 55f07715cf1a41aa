//! Action Receipts v2: canonical bytes, hashes, signatures, chains, redaction and verification,
//! byte-compatible with the public format.

pub mod approval;
pub mod chain;
pub mod domain;
pub mod gate;
pub mod hashing;
pub mod mint;
pub mod redaction;
pub mod report;
mod schema;
pub mod verify;

pub use schema::{DECISIONS, KINDS, VERBS};
