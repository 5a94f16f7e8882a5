//! The edge of the program: parse the command line, set up logging, run one command, and turn
//! any error into a message and a non-zero exit code. Commands resolve their settings, call the
//! pure stages, and do the I/O (through `store`) around them.

/// `println!` for command output: a closed pipe (`blindfold agree x.csv | head`) becomes an
/// error that `main` turns into a quiet exit, instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// `print!` for command output; see `outln!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// `eprintln!` for progress notes ("Running 180 of 180 cells ..."), which `-q` silences;
/// warnings and errors are never written with it.
macro_rules! note {
    ($($arg:tt)*) => {{
        if !$crate::commands::QUIET.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!($($arg)*);
        }
    }};
}

/// Set once from `-q` before any command runs.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `-q` asked for nothing but warnings and errors (summaries included).
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

mod blind_cmd;
mod collect_cmd;
mod demo_cmd;
mod judge_cmd;
mod rate_cmds;
mod report_cmd;
mod report_explorer;
mod run_batch;
mod run_cmds;
mod signals;
mod study_cmds;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, SimCommand};

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    init_logging(cli.verbose, cli.quiet);
    match run(cli.command) {
        Ok(code) => code,
        // Whoever read our output has stopped reading (`| head`): nothing is wrong.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", crate::secrets::scrub(&render_error(&error)));
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Init(args) => study_cmds::init(&args),
        Command::Validate(args) => study_cmds::validate(&args),
        Command::Plan(args) => study_cmds::plan(&args),
        Command::Run(args) => run_cmds::run(&args),
        Command::Status(args) => run_cmds::status(&args),
        Command::Blind(args) => blind_cmd::blind(&args),
        Command::Rate(args) => rate_cmds::rate(&args),
        Command::Unblind(args) => rate_cmds::unblind(&args),
        Command::Collect(args) => collect_cmd::collect(args),
        Command::Agree(args) => rate_cmds::agree(&args),
        Command::Report(args) => report_cmd::report(&args),
        Command::Prereg(args) => report_cmd::prereg(&args),
        Command::Judge(args) => judge_cmd::judge(&args),
        Command::Demo(args) => demo_cmd::demo(&args),
        Command::Sim(SimCommand::Serve(args)) => run_cmds::sim_serve(&args),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line each, without repeating a cause the message already
/// contains (thiserror messages often embed their source).
fn render_error(error: &anyhow::Error) -> String {
    let mut out = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str("\n  caused by: ");
            out.push_str(&text);
        }
    }
    out
}

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "blindfold=info,warn",
        (false, 1) => "blindfold=debug,info",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::secrets::ScrubbedStderr)
        // Colour only on a terminal: redirected logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
