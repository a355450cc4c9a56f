//! Arguments of `rnn diagnose`.

use std::path::PathBuf;

/// Arguments of `rnn diagnose`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file; give it more than once to compare models on the same data (overlaid plots)
    #[arg(long, value_name = "PATH", required = true)]
    pub model: Vec<PathBuf>,
    /// Data file: the CSV series (forecast) or the text (charlm) the model reads
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Input sequences .npy [N, T, I] (sequence and classify models)
    #[arg(long, value_name = "PATH")]
    pub inputs: Option<PathBuf>,
    /// Targets .npy [N, T, O] or [N, O] (sequence models)
    #[arg(long, value_name = "PATH")]
    pub targets: Option<PathBuf>,
    /// Class labels .npy [N] (classify models)
    #[arg(long, value_name = "PATH")]
    pub labels: Option<PathBuf>,
    /// Sequences measured (the first ones of the data)
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub batch: usize,
    /// Steps per sequence for a character model's text (others use their data's length)
    #[arg(long, value_name = "T", default_value_t = 100)]
    pub seq_len: usize,
    /// Steps whose loss is back-propagated alone to measure the gradient against the lag
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub end_points: usize,
    /// Sequences the step Jacobians and saturation are measured on (0 skips them: they cost
    /// one SVD per step and sequence)
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub jacobian_batch: usize,
    /// Print one JSON object per model instead of tables
    #[arg(long)]
    pub json: bool,
    /// Write the plots to STEM.lag.{png,svg} and STEM.time.{png,svg} [default: beside the first model, MODEL.diagnose]
    #[arg(long, value_name = "STEM")]
    pub plot: Option<PathBuf>,
    /// Write no plots
    #[arg(long, conflicts_with = "plot")]
    pub no_plot: bool,
}
