//! Arguments of `rnn evaluate`.

use std::path::PathBuf;

/// Arguments of `rnn evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Trained model file
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Data file: the CSV series (forecast) or the text (charlm) to score
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
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub forecast: super::forecast::EvalArgs,
}
