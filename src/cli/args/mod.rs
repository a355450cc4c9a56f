//! Every command's arguments, as clap parses them: the command line ([`Cli`], [`Command`]), one
//! file per command, and the value types they share.

pub mod bench;
pub mod charlm;
pub mod classify;
pub mod demo;
pub mod diagnose;
pub mod evaluate;
pub mod experiment;
pub mod forecast;
pub mod forward;
pub mod init;
pub mod inspect;
pub mod interop;
pub mod limits;
pub mod predict;
pub mod train;
mod values;

pub use values::{Dtype, RecurrenceArgs};

use clap::{Parser, Subcommand};

/// Recurrent networks (Elman, LSTM, GRU, IndRNN; stacked, bidirectional) trained by BPTT;
/// PyTorch-compatible safetensors models, ONNX export.
#[derive(Debug, Parser)]
#[command(name = "rnn", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Threads for the large matrix products, on every command [default: $RNN_NUM_THREADS,
    /// else every core the process may use]
    #[arg(long, value_name = "N", global = true)]
    pub threads: Option<usize>,
}

/// Every command takes negative numbers as values (`--forget-bias -1`): the number reaches the
/// command's own check, which says what is allowed, instead of being read as a flag.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a model over a sequence (.npy) and write its output (.npy)
    #[command(allow_negative_numbers = true)]
    Forward(forward::Args),
    /// Write a freshly initialised model file
    #[command(allow_negative_numbers = true)]
    Init(init::Args),
    /// Describe a model file: where its configuration came from, its settings and tensors
    #[command(allow_negative_numbers = true)]
    Inspect(inspect::Args),
    /// Train a model with backpropagation through time
    #[command(allow_negative_numbers = true)]
    Train(Box<train::Args>),
    /// Score a trained model on data against baselines
    #[command(allow_negative_numbers = true)]
    Evaluate(Box<evaluate::Args>),
    /// A trained model's predictions for new sequences [N, T, features] (.npy): outputs, or a
    /// classifier's class probabilities and classes (.npy or CSV)
    #[command(allow_negative_numbers = true)]
    Predict(predict::Args),
    /// Train several models on a long-memory task (adding, copy, pixel-digits, depth) under the
    /// same budget and compare them: a table, learning curves and gradient-vs-lag plots
    #[command(allow_negative_numbers = true)]
    Experiment(Box<experiment::Args>),
    /// Show how gradients vanish or explode through time in a trained model, on its data
    #[command(allow_negative_numbers = true)]
    Diagnose(Box<diagnose::Args>),
    /// Forecast a CSV series past its end with a forecasting model
    #[command(allow_negative_numbers = true)]
    Forecast(forecast::ForecastArgs),
    /// Generate text with a character language model, streamed as it is made
    #[command(allow_negative_numbers = true)]
    Generate(charlm::GenerateArgs),
    /// Train and evaluate a forecaster on a bundled real series (no arguments needed)
    #[command(allow_negative_numbers = true)]
    Demo(demo::DemoArgs),
    /// Measure training, forward and streaming speed at standard sizes
    #[command(allow_negative_numbers = true)]
    Bench(bench::Args),
    /// Write a model as ONNX (for ONNX Runtime, Triton, ...) or as a PyTorch state_dict with
    /// its modules named as you choose
    #[command(allow_negative_numbers = true)]
    Export(interop::ExportArgs),
    /// Make a model file from a PyTorch state_dict whose modules are named otherwise
    #[command(allow_negative_numbers = true)]
    Import(interop::ImportArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn a_negative_number_is_a_value_not_a_flag() {
        let args = ["rnn", "init", "--cell", "lstm", "--forget-bias", "-1", "--input-size", "1", "--hidden-size", "2"];
        let cli = Cli::try_parse_from(args.iter().chain(&["--out", "m.safetensors"])).unwrap();
        let Command::Init(init) = cli.command else { panic!("not init") };
        assert_eq!(init.recurrence.forget_bias, Some(-1.0));
        let cli =
            Cli::try_parse_from(["rnn", "generate", "--model", "m.safetensors", "--temperature", "-0.5"]).unwrap();
        let Command::Generate(generate) = cli.command else { panic!("not generate") };
        assert_eq!(generate.temperature, -0.5);
    }
}
