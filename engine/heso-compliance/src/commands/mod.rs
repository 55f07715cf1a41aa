//! One module per command.

pub(crate) mod audit;
pub(crate) mod init;
pub(crate) mod keys;
pub(crate) mod policy;
pub(crate) mod verify;
pub(crate) mod version;

/// The environment snapshot and the current directory every command starts from; a failure is
/// one line (exit 2), with the JSON envelope when `--json` was asked for.
pub(crate) fn environment(
    json_command: Option<&'static str>,
) -> Result<(heso_store::env::EngineEnv, std::path::PathBuf), crate::output::Failure> {
    use crate::output::{ErrorCode, Failure};
    let fail = |code, message: String| Failure {
        code,
        message,
        json_command,
    };
    let env = heso_store::env::EngineEnv::from_process()
        .map_err(|e| fail(ErrorCode::Config, e.to_string()))?;
    let cwd = std::env::current_dir().map_err(|e| {
        fail(
            ErrorCode::Engine,
            format!("cannot read the current directory: {e}"),
        )
    })?;
    Ok((env, cwd))
}
