//! Arguments of `rnn inspect`.

use std::path::PathBuf;

use super::values::Act;

/// Arguments of `rnn inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file (.safetensors) to describe
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Nonlinearity for model files without `rnn.config` metadata (if omitted: tanh, relu for an IndRNN)
    #[arg(long, value_enum)]
    pub nonlinearity: Option<Act>,
    /// The module names, for a state_dict whose modules are not named rnn and head
    #[command(flatten)]
    pub modules: super::interop::ModuleArgs,
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}
