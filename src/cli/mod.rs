//! The `rnn` command line: argument parsing, dispatch, and the one-line error report.
//!
//! Every failure ends as a single line `rnn: <message>` on stderr and exit status 1; the message
//! names the file at fault (the library's errors already do; the checks done here add it
//! themselves). Usage errors are clap's own (exit status 2).

mod bench;
mod charlm;
mod classify;
mod demo;
mod evaluate;
mod forecast;
mod forward;
mod init;
mod inspect;
pub mod peak;
mod train;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use rnn::{Init, Nonlinearity};

/// Elman and deep RNNs with BPTT; PyTorch-compatible safetensors models.
#[derive(Debug, Parser)]
#[command(name = "rnn", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a model over a sequence (.npy) and write its output (.npy)
    Forward(forward::Args),
    /// Write a freshly initialised model file
    Init(init::Args),
    /// Describe a model file: where its configuration came from, its settings and tensors
    Inspect(inspect::Args),
    /// Train a model with backpropagation through time
    Train(Box<train::Args>),
    /// Score a trained model on data against baselines
    Evaluate(Box<evaluate::Args>),
    /// Forecast a CSV series past its end with a forecasting model
    Forecast(forecast::ForecastArgs),
    /// Generate text with a character language model, streamed as it is made
    Generate(charlm::GenerateArgs),
    /// Train and evaluate a forecaster on a bundled real series (no arguments needed)
    Demo(forecast::DemoArgs),
    /// Measure training, forward and streaming speed at standard sizes
    Bench(bench::Args),
}

/// The recurrence's activation, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Act {
    /// Hyperbolic tangent (PyTorch's default)
    Tanh,
    /// Rectified linear unit
    Relu,
    /// Logistic sigmoid
    Sigmoid,
}

impl From<Act> for Nonlinearity {
    fn from(act: Act) -> Self {
        match act {
            Act::Tanh => Nonlinearity::Tanh,
            Act::Relu => Nonlinearity::Relu,
            Act::Sigmoid => Nonlinearity::Sigmoid,
        }
    }
}

/// The initialisation schemes, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InitArg {
    /// PyTorch's nn.RNN default, U(-1/sqrt(H), 1/sqrt(H))
    Pytorch,
    /// Glorot (Xavier) uniform weights, zero biases
    Glorot,
    /// Orthogonal recurrent weights, Glorot input weights, zero biases
    Orthogonal,
    /// Identity recurrent weights (IRNN, for relu), zero biases
    Identity,
}

impl From<InitArg> for Init {
    fn from(init: InitArg) -> Self {
        match init {
            InitArg::Pytorch => Init::PyTorch,
            InitArg::Glorot => Init::GlorotUniform,
            InitArg::Orthogonal => Init::Orthogonal,
            InitArg::Identity => Init::Identity,
        }
    }
}

/// The stored floating-point type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dtype {
    /// 32-bit floats (PyTorch's default)
    F32,
    /// 64-bit floats
    F64,
}

/// Parses the arguments, runs the subcommand and turns an error into one line on stderr.
pub fn main() -> ExitCode {
    rnn::threads::keep_freed_memory();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Forward(args) => forward::run(args),
        Command::Init(args) => init::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Train(args) => train::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Forecast(args) => forecast::forecast(args),
        Command::Generate(args) => charlm::generate(args),
        Command::Demo(args) => forecast::demo(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `rnn inspect m.safetensors | head -1`: the reader went away, nothing to report.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
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
    err.chain().any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

/// Writes `text` to stdout, reporting failure (other than a closed pipe) as an error.
fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).context("<stdout>")
}

/// `1234567` → `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 layer`, `2 layers`.
fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
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

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(plural(1, "layer"), "1 layer");
        assert_eq!(plural(3, "output"), "3 outputs");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
