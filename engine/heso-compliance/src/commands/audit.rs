//! `heso-compliance audit verify` and `audit export`: the engine's shared store runs, printed.

use heso_core::receipt::report::colorize;
use heso_store::progress::ProgressBar;
use heso_store::project::find_project_root;
use heso_store::store_runs::{
    run_audit_verify, run_export, ExportRequest, StoreLocation, StoreRunOutcome,
};
use heso_store::verification::VerifyRequest;
use serde_json::Value;

use crate::cli::{AuditCommand, AuditExportArgs, AuditVerifyArgs, GlobalArgs};
use crate::output::{
    envelope, print_json, print_stdout, status, warning, CommandResult, ErrorCode, Failure, Stdout,
};

pub(crate) fn run(global: &GlobalArgs, command: &AuditCommand) -> CommandResult {
    match command {
        AuditCommand::Verify(args) => verify(global, args),
        AuditCommand::Export(args) => export(global, args),
    }
}

/// The project and data directory as every store command finds them.
fn location(
    global: &GlobalArgs,
    json_command: Option<&'static str>,
) -> Result<StoreLocation, Failure> {
    let (env, cwd) = super::environment(json_command)?;
    Ok(StoreLocation {
        project_root: find_project_root(
            global.project.as_deref(),
            env.project_root.as_deref(),
            &cwd,
        ),
        env_data_dir: env.data_dir,
        cwd,
    })
}

fn verify(global: &GlobalArgs, args: &AuditVerifyArgs) -> CommandResult {
    const NAME: &str = "audit verify";
    let json_command = args.json.then_some(NAME);
    let location = location(global, json_command)?;
    let request = VerifyRequest {
        inputs: Vec::new(),
        pubkeys: args.pubkeys.clone(),
        approver_pubkeys: args.approver_pubkeys.clone(),
        no_pin: args.no_pin,
        project_root: location.project_root,
        env_data_dir: location.env_data_dir,
        cwd: location.cwd,
    };
    let mut bar = ProgressBar::for_terminal("verifying", "receipts", global.quiet);
    let outcome = run_audit_verify(&request, args.all, &mut |done, total| {
        bar.update(done, total);
    });
    bar.finish();
    if let Some((code, message)) = outcome.error {
        return Err(Failure {
            code: ErrorCode::named(code),
            message,
            json_command,
        });
    }
    for message in &outcome.warnings {
        warning(message);
    }
    if args.json {
        print_json(&envelope(
            NAME,
            outcome.exit_code,
            outcome.result,
            &outcome.warnings,
            Value::Null,
        ));
    } else {
        let mut lines = outcome.lines;
        if global.color.enabled() {
            lines = lines.iter().map(|line| colorize(line)).collect();
        }
        print_lines(&lines);
    }
    Ok(outcome.exit_code)
}

fn export(global: &GlobalArgs, args: &AuditExportArgs) -> CommandResult {
    let location = location(global, None)?;
    let request = ExportRequest {
        location,
        output: args.output.clone(),
        sessions: args.sessions.clone(),
        per_session: args.per_session.clone(),
        salvage: args.salvage,
    };
    let outcome: StoreRunOutcome = run_export(&request, &mut Stdout);
    if let Some((code, message)) = outcome.error {
        return Err(Failure {
            code: ErrorCode::named(code),
            message,
            json_command: None,
        });
    }
    for line in &outcome.status {
        status(global.quiet, line);
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
