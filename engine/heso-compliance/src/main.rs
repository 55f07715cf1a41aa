//! `heso-compliance`: the standalone heso engine binary. `main` parses and dispatches; each
//! command lives in its own module under `commands/`.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    output::install_panic_hook();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return output::clap_error(&error),
    };
    let result = match cli.command {
        cli::Command::Init(args) => commands::init::run(&cli.global, &args),
        cli::Command::Verify(args) => commands::verify::run(&cli.global, &args),
        cli::Command::Audit(command) => commands::audit::run(&cli.global, &command),
        cli::Command::Policy(command) => commands::policy::run(&cli.global, &command),
        cli::Command::Keys(command) => commands::keys::run(&cli.global, &command),
        cli::Command::Version(args) => Ok(commands::version::run(&args)),
    };
    output::finish(result)
}
