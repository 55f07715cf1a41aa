//! One module per command.

pub(crate) mod audit;
pub(crate) mod init;
pub(crate) mod keys;
pub(crate) mod policy;
pub(crate) mod verify;
pub(crate) mod version;
