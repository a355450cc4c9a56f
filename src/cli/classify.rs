//! `--task classify` (being written).

use anyhow::{Result, bail};

/// Flags of `rnn train --task classify`.
#[derive(Debug, Default, clap::Args)]
pub struct TrainArgs {}

/// Flags of `rnn evaluate` for a classify model.
#[derive(Debug, Default, clap::Args)]
pub struct EvalArgs {}

/// `rnn train --task classify`.
pub fn train(_args: &super::train::Args) -> Result<()> {
    bail!("--task classify is not available yet")
}

/// `rnn evaluate` on a classify model.
pub fn evaluate(_args: &super::evaluate::Args, _meta: &rnn::model_file::LoadedModel<f64>) -> Result<()> {
    bail!("evaluating a classify model is not available yet")
}
