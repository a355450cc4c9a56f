//! The `rnn` command line: dispatch and the one-line error report.
//!
//! The files: `args` (every command's arguments), `common` (output and `.npy` helpers), `limits`
//! (the `--max-memory` check made before allocating), `fit`
//! (building and running a trainer with a progress display), one file per task (`sequence`,
//! `forecast`, `charlm`, `classify`) and one per command; `train` and `evaluate` dispatch to the
//! tasks.
//!
//! Every failure ends as a single line `rnn: <message>` on stderr and exit status 1; the message
//! names the file at fault (the library's errors already do; the checks done here add it
//! themselves). Usage errors are clap's own (exit status 2).

mod args;
mod backtest;
mod bench;
mod charlm;
mod classify;
mod common;
mod demo;
mod diagnose;
mod evaluate;
mod experiment;
mod export;
mod fit;
mod forecast;
mod forecast_cmd;
mod forward;
mod import;
mod init;
mod inspect;
mod interrupt;
mod limits;
mod outputs;
pub mod peak;
mod predict;
mod sequence;
mod train;

use std::io::Write;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use args::{Cli, Command};

/// Parses the arguments, runs the subcommand and turns an error into one line on stderr.
pub fn main() -> ExitCode {
    rnn::threads::keep_freed_memory();
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // the flags typed on the command line (not defaults), to warn of those a task ignores
    let given = |id: &str| {
        matches.subcommand_matches("train").is_some_and(|m| {
            m.try_get_raw(id).is_ok_and(|v| v.is_some()) && m.value_source(id) == Some(ValueSource::CommandLine)
        })
    };
    if let Command::Train(args) = &mut cli.command {
        args.apply_cell_defaults(&given);
    }
    if let Err(err) = rnn::threads::init(cli.threads) {
        let flag = if cli.threads.is_some() { "--threads: " } else { "" };
        let _ = writeln!(std::io::stderr().lock(), "rnn: {flag}{err}");
        return ExitCode::FAILURE;
    }
    let result = match &cli.command {
        Command::Forward(args) => forward::run(args),
        Command::Init(args) => init::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Train(args) => train::run(args, &given),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::Experiment(args) => experiment::run(args),
        Command::Forecast(args) => forecast_cmd::forecast(args),
        Command::Generate(args) => charlm::generate(args),
        Command::Demo(args) => demo::demo(args),
        Command::Bench(args) => bench::run(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `rnn inspect m.safetensors | head -1`: the reader went away, nothing to report.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        // interrupted training: what was saved and how to resume are printed already
        Err(err) if err.is::<interrupt::Interrupted>() => ExitCode::from(interrupt::EXIT_STATUS),
        Err(err) => {
            // Nothing sensible is left to do if stderr itself is gone.
            let _ = writeln!(std::io::stderr().lock(), "{}", error_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// `rnn: <message>` on one line: the error and its context chain joined by `: `, any line breaks
/// inside a message folded into spaces.
fn error_line(err: &anyhow::Error) -> String {
    let msg = format!("{err:#}");
    let parts: Vec<&str> = msg.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    format!("rnn: {}", parts.join(" "))
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let broken = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(broken)
            || matches!(e.downcast_ref::<rnn::Error>(), Some(rnn::Error::Io { err, .. }) if broken(err))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_line_is_one_line_with_context_chain() {
        let err =
            anyhow::Error::from(rnn::Error::Npy { path: "x.npy".into(), msg: "not a .npy file (too short)".into() });
        assert_eq!(error_line(&err), "rnn: x.npy: not a .npy file (too short)");

        let err = anyhow::anyhow!("first line\n  second line\n").context("m.safetensors");
        let line = error_line(&err);
        assert_eq!(line, "rnn: m.safetensors: first line second line");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn io_errors_name_the_file() {
        let err = rnn::model_file::load::<f32>("/nonexistent/m.safetensors".as_ref(), &Default::default()).unwrap_err();
        let line = error_line(&err.into());
        assert!(line.starts_with("rnn: /nonexistent/m.safetensors: "), "{line}");
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let err = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).context("<stdout>");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("x.npy: bad")));
    }
}
