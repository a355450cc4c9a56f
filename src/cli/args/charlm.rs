//! Flags of the character language model: `rnn train --task charlm`, `rnn evaluate`, `rnn generate`.

/// Flags of `rnn train --task charlm` (the task also changes some shared defaults: --hidden 128,
/// --lr 4e-3, --clip-norm 5, --tbptt 50, --state-reset epoch).
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Character language model (--task charlm)")]
#[group(id = "charlm_train")]
pub struct TrainArgs {
    /// Characters of text sampled from the trained model and printed at the end (temperature
    /// 0.8, --seed), 0 for none
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub sample: usize,
}

/// Flags of `rnn evaluate` for a charlm model (none beyond `--data` and `--json`).
#[derive(Debug, Default, clap::Args)]
pub struct EvalArgs {}

/// Flags of `rnn generate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "The prime is printed first, then each new character as soon as it is made. The model is \
stepped one character at a time from the state the prime left, never re-reading the text so far.")]
pub struct GenerateArgs {
    /// Character model file (from rnn train --task charlm)
    #[arg(long, value_name = "PATH")]
    pub model: std::path::PathBuf,
    /// Text to continue; every character must be in the model's vocabulary. Without it the text
    /// starts as after a newline
    #[arg(long, value_name = "TEXT")]
    pub prime: Option<String>,
    /// Characters to generate after the prime
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub length: usize,
    /// Sampling temperature: below 1 more conservative, above 1 more adventurous, 0 always takes
    /// the most likely character
    #[arg(long, value_name = "T", default_value_t = 1.0)]
    pub temperature: f64,
    /// Draw only among the K most likely characters (1 = greedy)
    #[arg(long, value_name = "K")]
    pub top_k: Option<usize>,
    /// Seed of the draws: the same seed gives the same text
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
}
