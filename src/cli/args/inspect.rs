//! Arguments of `rnn inspect`.

use std::path::PathBuf;

use super::values::Act;

/// Arguments of `rnn inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file (.safetensors) to describe
    #[arg(value_name = "MODEL", required_unless_present = "model_flag", conflicts_with = "model_flag")]
    model: Option<PathBuf>,
    /// The model file, named as every other command names it (`rnn inspect --model M` is
    /// `rnn inspect M`)
    #[arg(long = "model", value_name = "PATH", hide_short_help = true)]
    model_flag: Option<PathBuf>,
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

impl Args {
    /// The model file, given as the argument or with `--model`.
    pub fn model(&self) -> &std::path::Path {
        // clap requires one of the two
        self.model.as_deref().or(self.model_flag.as_deref()).unwrap_or(std::path::Path::new(""))
    }
}
