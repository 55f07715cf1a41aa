//! `heso-compliance keys show` and `keys fingerprint [KEY]` (cli.md §3.5).

use std::path::{Path, PathBuf};

use heso_core::identity::PublicKey;
use heso_core::pinning::{operator_pinning, OperatorPinning};
use heso_store::operator_key::{identity_path, open_operator_key, OpenedOperatorKey};
use heso_store::project::{find_project_root, resolve_data_dir};
use heso_store::scaffold::POLICY_FILE;
use serde_json::{json, Value};

use crate::cli::{GlobalArgs, KeysCommand};
use crate::output::{
    envelope, print_json, print_stdout, warning, CommandResult, ErrorCode, Failure,
};

pub(crate) fn run(global: &GlobalArgs, command: &KeysCommand) -> CommandResult {
    match command {
        KeysCommand::Show(args) => show(global, args.json),
        KeysCommand::Fingerprint(args) => {
            if let Some(key) = &args.key {
                return fingerprint_of(key);
            }
            let project = open_project_key(global, None)?;
            print_stdout(&format!(
                "{}\n",
                project.opened.key.public_key.fingerprint()
            ));
            Ok(0)
        }
    }
}

/// The fingerprint of a base64 public key given on the command line; no project needed.
fn fingerprint_of(key: &str) -> CommandResult {
    let public = PublicKey::from_base64(key.trim()).map_err(|error| Failure {
        code: ErrorCode::Usage,
        message: format!("{error}; pass a base64 Ed25519 public key, as `keys show` prints it"),
        json_command: None,
    })?;
    print_stdout(&format!("{}\n", public.fingerprint()));
    Ok(0)
}

/// The project's operator key, opened under the custody rules.
struct ProjectKey {
    root: PathBuf,
    key_path: PathBuf,
    opened: OpenedOperatorKey,
}

fn open_project_key(
    global: &GlobalArgs,
    json_command: Option<&'static str>,
) -> Result<ProjectKey, Failure> {
    let fail = |code, message: String| Failure {
        code,
        message,
        json_command,
    };
    let (env, cwd) = super::environment(json_command)?;
    let Some(root) =
        find_project_root(global.project.as_deref(), env.project_root.as_deref(), &cwd)
    else {
        return Err(fail(
            ErrorCode::NoProject,
            format!(
                "no heso.toml in {} or any parent directory; run `heso init` or pass -C DIR",
                cwd.display()
            ),
        ));
    };
    let data_dir = resolve_data_dir(&root, env.data_dir.as_deref())
        .map_err(|e| fail(ErrorCode::Config, e.to_string()))?;
    let shown = |path: &Path| relative(&root, path);
    let opened = open_operator_key(&data_dir, &env, &shown)
        .map_err(|e| fail(ErrorCode::Config, e.to_string()))?;
    for message in &opened.key.warnings {
        warning(message);
    }
    Ok(ProjectKey {
        key_path: identity_path(&data_dir),
        root,
        opened,
    })
}

/// `path` relative to the project root when it is inside it.
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string())
}

fn show(global: &GlobalArgs, json: bool) -> CommandResult {
    let json_command = json.then_some("keys show");
    let project = open_project_key(global, json_command)?;
    let key = &project.opened.key;
    let policy = std::fs::read(project.root.join(POLICY_FILE)).unwrap_or_default();
    let pinning = operator_pinning(&policy, &key.public_key);
    let pinned = pinning == OperatorPinning::Pinned;
    let path = relative(&project.root, &project.key_path);
    if json {
        let result = json!({
            "path": path,
            "format": key.format.name(),
            "public_key": key.public_key.to_base64(),
            "fingerprint": key.public_key.fingerprint().to_string(),
            "pinned": pinned,
        });
        print_json(&envelope("keys show", 0, result, &[], Value::Null));
        return Ok(0);
    }
    let pinned_text = match pinning {
        OperatorPinning::Pinned => "yes (heso.toml [identity])".to_owned(),
        OperatorPinning::NotPinned => "no (heso.toml [identity] does not list it)".to_owned(),
        OperatorPinning::NoIdentity => "no (heso.toml has no [identity])".to_owned(),
        OperatorPinning::Unreadable(reason) => format!("unknown (heso.toml: {reason})"),
    };
    print_stdout(&format!(
        "path         {path}\nformat       {}\npublic key   {}\nfingerprint  {}\npinned       {pinned_text}\n",
        key.format.name(),
        key.public_key.to_base64(),
        key.public_key.fingerprint(),
    ));
    Ok(0)
}
