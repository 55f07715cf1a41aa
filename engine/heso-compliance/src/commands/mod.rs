//! One module per command.

pub(crate) mod init;
pub(crate) mod version;
