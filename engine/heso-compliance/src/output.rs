//! How results reach the user: stdout for data, stderr for one-line diagnostics, exit codes
//! 0/1/2, and the JSON envelope shared by every `--json` command.

use std::io::{self, Write as _};
use std::process::ExitCode;

use serde_json::{json, Value};

/// The program name used as the prefix of diagnostics.
pub(crate) const TOOL: &str = "heso-compliance";

/// Exit status when a usage, input or environment error stops a command.
const EXIT_ERROR: u8 = 2;

/// The JSON error codes of the CLI contract.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ErrorCode {
    Usage,
    NotFound,
    Ambiguous,
    NoProject,
    Config,
    Engine,
    Refused,
}

impl ErrorCode {
    /// The code of a name the shared engine functions report.
    pub(crate) fn named(name: &str) -> Self {
        match name {
            "not-found" => Self::NotFound,
            "ambiguous" => Self::Ambiguous,
            "no-project" => Self::NoProject,
            "config" => Self::Config,
            "refused" => Self::Refused,
            "usage" => Self::Usage,
            _ => Self::Engine,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Usage => "usage",
            Self::NotFound => "not-found",
            Self::Ambiguous => "ambiguous",
            Self::NoProject => "no-project",
            Self::Config => "config",
            Self::Engine => "engine",
            Self::Refused => "refused",
        }
    }
}

/// A command that could not do its work (exit 2).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    /// The command name when `--json` was asked for, so the envelope is printed even on failure.
    pub(crate) json_command: Option<&'static str>,
}

/// A command's result: its exit status (0 success, 1 the check found a failure) or a failure.
pub(crate) type CommandResult = Result<u8, Failure>;

/// Turns a command's result into the process exit status, printing a failure as one line (and,
/// with `--json`, as an envelope on stdout).
pub(crate) fn finish(result: CommandResult) -> ExitCode {
    match result {
        Ok(status) => ExitCode::from(status),
        Err(failure) => {
            error(&failure.message);
            if let Some(command) = failure.json_command {
                let error = json!({"code": failure.code.name(), "message": failure.message});
                print_json(&envelope(command, EXIT_ERROR, Value::Null, &[], error));
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The JSON envelope of every `--json` document.
pub(crate) fn envelope(
    command: &str,
    exit_code: u8,
    result: Value,
    warnings: &[String],
    error: Value,
) -> Value {
    let mut document = serde_json::Map::new();
    document.insert("schema".into(), "heso-cli/1".into());
    document.insert("tool".into(), TOOL.into());
    document.insert("command".into(), command.into());
    document.insert("ok".into(), (exit_code == 0).into());
    document.insert("exit_code".into(), exit_code.into());
    document.insert("result".into(), result);
    document.insert("warnings".into(), warnings.into());
    document.insert("error".into(), error);
    Value::Object(document)
}

/// Prints a JSON document on stdout, followed by a newline.
pub(crate) fn print_json(value: &Value) {
    print_stdout(&format!("{value}\n"));
}

/// Writes data to stdout. A closed pipe (`heso-compliance … | head`) ends the program quietly
/// with status 0, as the reader has all it wanted.
pub(crate) fn print_stdout(text: &str) {
    let mut stdout = io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if error.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        error_line(&format!("cannot write to stdout: {error}"));
        std::process::exit(i32::from(EXIT_ERROR));
    }
}

/// Standard output as a writer for data streamed by the engine (exports): a closed pipe ends the
/// program quietly with status 0, as [`print_stdout`] does.
#[derive(Debug)]
pub(crate) struct Stdout;

impl io::Write for Stdout {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes).map(|()| bytes.len())
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match io::stdout().lock().write_all(bytes) {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match io::stdout().lock().flush() {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
            other => other,
        }
    }
}

/// A status line on stderr (suppressed by `--quiet`).
pub(crate) fn status(quiet: bool, line: &str) {
    if !quiet {
        let _ = writeln!(io::stderr(), "{line}");
    }
}

/// A warning on stderr.
pub(crate) fn warning(message: &str) {
    let _ = writeln!(io::stderr(), "{TOOL}: warning: {message}");
}

/// An error on stderr.
pub(crate) fn error(message: &str) {
    error_line(message);
}

fn error_line(message: &str) {
    let _ = writeln!(io::stderr(), "{TOOL}: error: {message}");
}

/// Reports a command-line parsing error in one line (help and `--version` go to stdout, exit 0).
pub(crate) fn clap_error(parse_error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        parse_error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        print_stdout(&parse_error.render().to_string());
        return ExitCode::SUCCESS;
    }
    if parse_error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // `heso-compliance` with no command: help on stdout, as for `--help`, but it was not a
        // successful run of anything.
        print_stdout(&parse_error.render().to_string());
        return ExitCode::from(EXIT_ERROR);
    }
    let rendered = parse_error.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let tip = rendered
        .lines()
        .find_map(|line| line.trim().strip_prefix("tip: "))
        .map(|tip| format!("; {tip}"))
        .unwrap_or_default();
    error(&format!("{first}{tip}; see `{TOOL} --help`"));
    ExitCode::from(EXIT_ERROR)
}

/// Turns a panic (a bug) into the documented one-line internal error with exit status 2.
/// `HESO_DEBUG=1` adds the backtrace.
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        error_line(&format!(
            "internal error: panic: {message}; please report it with the output of `{TOOL} version --json`"
        ));
        if std::env::var_os("HESO_DEBUG").is_some_and(|v| v == "1") {
            let _ = writeln!(
                io::stderr(),
                "{}",
                std::backtrace::Backtrace::force_capture()
            );
        }
        std::process::exit(i32::from(EXIT_ERROR));
    }));
}
