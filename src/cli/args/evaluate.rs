//! Arguments of `rnn evaluate`.

use std::path::PathBuf;

/// Arguments of `rnn evaluate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Trained model file
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// The data to score on
    #[command(flatten)]
    pub files: super::values::DataFiles,
    /// Print one JSON object instead of a table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub forecast: super::forecast::EvalArgs,
}
