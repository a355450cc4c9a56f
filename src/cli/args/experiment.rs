//! Arguments of `rnn experiment`.

use std::path::PathBuf;

use clap::ValueEnum;

/// The experiments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Name {
    /// The adding problem: the sum of two marked numbers (baseline MSE 0.167)
    Adding,
    /// The copy-memory task: recall 10 symbols after T steps (baseline 10 ln 8 / (T + 20) nats)
    Copy,
    /// The 8x8 digits read one pixel per step (64 steps), a small sequential MNIST
    PixelDigits,
    /// 1, 2, 4 and 8 layers, with and without residual connections, on --task
    Depth,
}

/// The tasks the depth study runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TaskName {
    /// The adding problem
    Adding,
    /// The copy-memory task
    Copy,
    /// The pixel digits
    PixelDigits,
}

/// Arguments of `rnn experiment`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The experiment
    #[arg(value_enum)]
    pub name: Name,
    /// Adding: steps per sequence; copy: the delay T (sequences of T + 20 steps)
    /// [default: 200 for adding, 100 for copy]
    #[arg(long, value_name = "T")]
    pub length: Option<usize>,
    /// Models to compare, comma separated: rnn, lstm, gru, indrnn, or variants rnn:orthogonal,
    /// irnn (rnn:irnn), lstm:forget-bias, lstm:chrono, gru:chrono [default: rnn,
    /// rnn:orthogonal, irnn, indrnn, lstm, lstm:forget-bias, gru; depth: indrnn]
    #[arg(long, value_name = "LIST")]
    pub cells: Option<String>,
    /// Stacked layers of every model [default: 2 for indrnn, else 1]; depth: the deepest stack
    /// (1, 2, 4, ... up to L) [default: 8]
    #[arg(long, value_name = "L", visible_alias = "num-layers")]
    pub layers: Option<usize>,
    /// Optimizer steps per model, the same budget for all [default: 4000 for adding, 3000 for copy, 2000 for pixel-digits]
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// Seed of the data, the initialisation and the shuffling
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object per model instead of the table
    #[arg(long)]
    pub json: bool,
    /// pixel-digits (or depth on it): read the pixels in one fixed seeded random order
    #[arg(long)]
    pub permuted: bool,
    /// depth: the task the stacks are trained on [default: adding]
    #[arg(long, value_enum)]
    pub task: Option<TaskName>,
    /// Hidden units per layer
    #[arg(long, value_name = "H", default_value_t = 128, visible_alias = "hidden-size")]
    pub hidden: usize,
    /// Sequences per optimizer step
    #[arg(long, value_name = "B", default_value_t = 50)]
    pub batch_size: usize,
    /// Adam's learning rate for every model [default: 1e-3, lstm 3e-3, irnn 1e-4]
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// Write the plots to STEM.curves.{png,svg} (test metric against step) and
    /// STEM.lag.{png,svg} (gradient norm against lag) [default: experiment-NAME]
    #[arg(long, value_name = "STEM", value_parser = super::values::plot_stem_parser())]
    pub plot: Option<PathBuf>,
    /// Write no plots
    #[arg(long, conflicts_with = "plot")]
    pub no_plot: bool,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}
