//! `heso-compliance init`: the Rust half of `heso init`.

use heso_core::pinning::OperatorPinning;
use heso_store::scaffold::{
    init_project, InitError, InitOptions, InitReport, InitStep, StepAction,
};
use serde_json::{json, Value};

use crate::cli::{GlobalArgs, InitArgs};
use crate::output::{envelope, print_json, status, warning, CommandResult, ErrorCode, Failure};

pub(crate) fn run(global: &GlobalArgs, args: &InitArgs) -> CommandResult {
    let json_command = args.json.then_some("init");
    let fail = |code, message: String| Failure {
        code,
        message,
        json_command,
    };
    let (env, current) = super::environment(json_command)?;
    let cwd = global.project.clone().unwrap_or(current);
    let options = InitOptions {
        dir: args.dir.clone(),
        cwd,
        require_passphrase: args.require_passphrase,
        passphrase_file: args.passphrase_file.clone(),
        env,
    };
    let report = init_project(&options, &mut |step| {
        for line in status_lines(step) {
            status(global.quiet, &line);
        }
    })
    .map_err(|error| fail(error_code(&error), error.to_string()))?;

    let mut warnings = report.warnings.clone();
    warnings.extend(pinning_warning(&report));
    for message in &warnings {
        warning(message);
    }
    if !args.no_summary {
        status(
            global.quiet,
            &format!("project ready at {}", report.project_root.display()),
        );
    }
    if args.json {
        print_json(&envelope(
            "init",
            0,
            result_json(&report),
            &warnings,
            Value::Null,
        ));
    }
    Ok(0)
}

/// The status lines of one step, worded as the CLI contract shows them.
fn status_lines(step: &InitStep) -> Vec<String> {
    use StepAction::{Appended, Created, Kept};
    match step {
        InitStep::CreatedDir { shown } => vec![format!("created {shown}")],
        InitStep::Gitignore { entry, action: Created | Appended } => {
            vec![format!("added {entry} to .gitignore")]
        }
        InitStep::Gitignore { entry, action: Kept } => vec![format!(".gitignore already ignores {entry}")],
        InitStep::DevPassphrase { shown, action: Kept } => {
            vec![format!("using dev passphrase {shown} (development only)")]
        }
        InitStep::DevPassphrase { shown, .. } => vec![format!(
            "generated dev passphrase -> {shown} (development only: set HESO_KEY_PASSPHRASE in production and delete this file)"
        )],
        InitStep::Key { action: Kept, public_key, .. } => vec![format!(
            "operator key {} already present (left untouched)",
            public_key.fingerprint()
        )],
        InitStep::Key { shown, public_key, .. } => vec![
            format!("minted operator key {} -> {shown}", public_key.fingerprint()),
            format!("  public key {}", public_key.to_base64()),
        ],
        InitStep::Policy { shown, action: Kept } => vec![format!("{shown} already present (left untouched)")],
        InitStep::Policy { shown, .. } => {
            vec![format!("wrote starter policy -> {shown} (operator key pinned in [identity])")]
        }
    }
}

fn pinning_warning(report: &InitReport) -> Option<String> {
    let fingerprint = report.operator.fingerprint();
    let key = report.operator.to_base64();
    match &report.pinning {
        OperatorPinning::Pinned => None,
        OperatorPinning::NotPinned => Some(format!(
            "heso.toml does not pin operator key {fingerprint}; add \"{key}\" to operator in [identity]"
        )),
        OperatorPinning::NoIdentity => Some(format!(
            "heso.toml has no [identity] operator list, so nothing is pinned; add [identity] with operator = [\"{key}\"] to pin operator key {fingerprint}"
        )),
        OperatorPinning::Unreadable(reason) => Some(format!(
            "cannot check whether heso.toml pins operator key {fingerprint}: {reason}; run `heso-compliance policy check`"
        )),
    }
}

fn error_code(error: &InitError) -> ErrorCode {
    match error {
        InitError::StrictWithoutPassphrase | InitError::StrictWithDevFile(_) => ErrorCode::Refused,
        InitError::Custody(_) | InitError::Passphrase(_) | InitError::KeyLoad { .. } => {
            ErrorCode::Config
        }
        InitError::NotADirectory(_) | InitError::NotAFile(_) => ErrorCode::Usage,
        InitError::ReadOnly(_) | InitError::Io { .. } | InitError::Seal(_) => ErrorCode::Engine,
        InitError::DataDir(_) => ErrorCode::Config,
    }
}

fn result_json(report: &InitReport) -> Value {
    let steps: Vec<Value> = report
        .steps
        .iter()
        .filter_map(|step| {
            let (name, path, action) = match step {
                InitStep::CreatedDir { .. } => return None,
                InitStep::Gitignore { action, .. } => ("gitignore", ".gitignore", action),
                InitStep::DevPassphrase { shown, action } => ("passphrase", shown.as_str(), action),
                InitStep::Key { shown, action, .. } => ("key", shown.as_str(), action),
                InitStep::Policy { shown, action } => ("policy", shown.as_str(), action),
            };
            Some(json!({"step": name, "path": path, "action": action.name()}))
        })
        .collect();
    json!({
        "project_root": report.project_root.display().to_string(),
        "created_dir": report.created_dir,
        "steps": steps,
        "operator": {
            "public_key": report.operator.to_base64(),
            "fingerprint": report.operator.fingerprint().to_string(),
            "pinned": report.pinning == OperatorPinning::Pinned,
        },
    })
}
