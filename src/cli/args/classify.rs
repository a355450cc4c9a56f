//! Flags of `rnn train --task classify` and `rnn evaluate` on a classify model.

/// Flags of `rnn train --task classify`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Classification (--task classify)")]
#[group(id = "classify_train")]
pub struct TrainArgs {
    /// Fraction of each class held out as a test set (picked with --seed) and scored after training:
    /// accuracy, confusion matrix, per-class precision/recall. --val-split is then taken from the
    /// rest, stratified too. 0: no test set
    #[arg(long, value_name = "F", default_value_t = 0.2)]
    pub test_split: f64,
    /// Names of classes 0, 1, 2, ..., comma-separated, kept in the model (their count sets the
    /// number of classes)
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub class_names: Option<Vec<String>>,
}

/// Flags of `rnn evaluate` for a classify model.
#[derive(Debug, Default, clap::Args)]
pub struct EvalArgs {}
