//! `heso-compliance policy check` and `policy test`: the engine's shared runs, printed.

use heso_store::policy_runs::{run_policy_check, PolicyLocation, PolicyRunOutcome};
use heso_store::project::find_project_root;
use serde_json::Value;

use crate::cli::{GlobalArgs, PolicyCommand};
use crate::output::{envelope, print_json, print_stdout, CommandResult, ErrorCode, Failure};

pub(crate) fn run(global: &GlobalArgs, command: &PolicyCommand) -> CommandResult {
    let (name, json, path) = match command {
        PolicyCommand::Check(args) => ("policy check", args.json, args.path.clone()),
        PolicyCommand::Test(args) => ("policy test", args.json, args.policy.clone()),
    };
    let json_command = json.then_some(name);
    let (env, cwd) = super::environment(json_command)?;
    let location = PolicyLocation {
        path,
        project_root: find_project_root(
            global.project.as_deref(),
            env.project_root.as_deref(),
            &cwd,
        ),
        cwd,
    };
    let outcome = match command {
        PolicyCommand::Check(args) => run_policy_check(&location, args.deny_warnings),
        PolicyCommand::Test(args) => {
            heso_store::policy_runs::run_policy_test(&location, &args.files, args.require_coverage)
        }
    };
    report(name, json, outcome)
}

/// Prints an outcome: text lines (or the JSON envelope) on stdout, an input error as one line.
fn report(name: &'static str, json: bool, outcome: PolicyRunOutcome) -> CommandResult {
    if let Some((code, message)) = outcome.error {
        if !json {
            print_lines(&outcome.lines);
        }
        return Err(Failure {
            code: ErrorCode::named(code),
            message,
            json_command: json.then_some(name),
        });
    }
    if json {
        print_json(&envelope(
            name,
            outcome.exit_code,
            outcome.result,
            &outcome.warnings,
            Value::Null,
        ));
    } else {
        print_lines(&outcome.lines);
    }
    Ok(outcome.exit_code)
}

fn print_lines(lines: &[String]) {
    if !lines.is_empty() {
        let mut text = lines.join("\n");
        text.push('\n');
        print_stdout(&text);
    }
}
