//! Arguments of `rnn predict`.

use std::path::PathBuf;

/// Arguments of `rnn predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Trained model file (`rnn train --task sequence` or `--task classify`, or any model with a
    /// head)
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Input sequences .npy, float32 or float64, [N, T, input_size]: one sequence per row, the
    /// layout `rnn train` reads
    #[arg(long, value_name = "PATH")]
    pub inputs: PathBuf,
    /// Where to write the predictions: .npy (in the inputs' dtype) or .csv. A classifier's are
    /// the class probabilities [N, classes] (the CSV adds the predicted class first); a
    /// regression's are the outputs [N, T, outputs], or [N, outputs] for a model trained on
    /// one target per sequence
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// A classifier's predicted class of each sequence (the arg-max) as an int64 .npy [N]
    #[arg(long, value_name = "PATH")]
    pub classes: Option<PathBuf>,
    /// Which steps a regression outputs: every step, or the last one only [default: what the
    /// model was trained on (every step for a model without task metadata)]
    #[arg(long, value_enum)]
    pub readout: Option<ReadoutArg>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

/// `--readout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadoutArg {
    /// An output at every step: [N, T, outputs]
    Every,
    /// The last step's output only: [N, outputs]
    Last,
}
