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

#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// A trained model's predictions for new sequences [N, T, features] (.npy or .csv): outputs,
    /// or a classifier's class probabilities and classes
    Predict(predict::Args),
    /// Train several models on a long-memory task (adding, copy, pixel-digits, depth) under the
    /// same budget and compare them: a table, learning curves and gradient-vs-lag plots
    Experiment(Box<experiment::Args>),
    /// Show how gradients vanish or explode through time in a trained model, on its data
    Diagnose(Box<diagnose::Args>),
    /// Forecast a CSV series past its end with a forecasting model
    Forecast(forecast::ForecastArgs),
    /// Generate text with a character language model, streamed as it is made
    Generate(charlm::GenerateArgs),
    /// Train and evaluate a forecaster on a bundled real series (no arguments needed)
    Demo(demo::DemoArgs),
    /// Measure training, forward and streaming speed at standard sizes
    Bench(bench::Args),
    /// Write a model as ONNX (for ONNX Runtime, Triton, ...) or as a PyTorch state_dict with
    /// its modules named as you choose
    Export(interop::ExportArgs),
    /// Make a model file from a PyTorch state_dict whose modules are named otherwise
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
}
