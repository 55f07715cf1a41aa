//! `heso-compliance verify`.

use heso_core::receipt::report::colorize;
use heso_store::progress::ProgressBar;
use heso_store::project::find_project_root;
use heso_store::verification::{run_verify_observed, VerifyInput, VerifyRequest};
use serde_json::Value;

use crate::cli::{GlobalArgs, VerifyArgs};
use crate::output::{
    envelope, print_json, print_stdout, warning, CommandResult, ErrorCode, Failure,
};

pub(crate) fn run(global: &GlobalArgs, args: &VerifyArgs) -> CommandResult {
    let json_command = args.json.then_some("verify");
    let fail = |code, message: String| Failure {
        code,
        message,
        json_command,
    };
    let (env, cwd) = super::environment(json_command)?;
    let request = VerifyRequest {
        inputs: args
            .inputs
            .iter()
            .cloned()
            .map(VerifyInput::Named)
            .collect(),
        pubkeys: args.pubkeys.clone(),
        approver_pubkeys: args.approver_pubkeys.clone(),
        no_pin: args.no_pin,
        project_root: find_project_root(
            global.project.as_deref(),
            env.project_root.as_deref(),
            &cwd,
        ),
        env_data_dir: env.data_dir.clone(),
        cwd,
    };
    let mut bar = ProgressBar::for_terminal("verifying", "receipts", global.quiet);
    let outcome = run_verify_observed(&request, &mut |done, total| bar.update(done, total));
    bar.finish();
    let outcome =
        outcome.map_err(|error| fail(ErrorCode::named(error.code()), error.to_string()))?;
    for message in &outcome.warnings {
        warning(message);
    }
    let status = outcome.report.exit_code();
    if args.json {
        let result = outcome.report.to_json(args.all);
        print_json(&envelope(
            "verify",
            status,
            result,
            &outcome.warnings,
            Value::Null,
        ));
    } else {
        let mut lines = outcome.report.text_lines(args.all);
        if global.color.enabled() {
            lines = lines.iter().map(|line| colorize(line)).collect();
        }
        let mut text = lines.join("\n");
        text.push('\n');
        print_stdout(&text);
    }
    Ok(status)
}
