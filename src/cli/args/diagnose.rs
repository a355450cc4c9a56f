//! Arguments of `rnn diagnose`.

use std::path::PathBuf;

/// Arguments of `rnn diagnose`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file; give it more than once to compare models on the same data (overlaid plots)
    #[arg(long, value_name = "PATH", required = true)]
    pub model: Vec<PathBuf>,
    /// The data the model's task reads
    #[command(flatten)]
    pub files: super::values::DataFiles,
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
    #[arg(long, value_name = "STEM", value_parser = super::values::plot_stem_parser())]
    pub plot: Option<PathBuf>,
    /// Write no plots
    #[arg(long, conflicts_with = "plot")]
    pub no_plot: bool,
    /// How a forecasting model's CSV is read (default: as the model was trained)
    #[command(flatten, next_help_heading = "Forecast models")]
    pub csv: super::forecast::CsvArgs,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}
