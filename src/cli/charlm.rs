//! `--task charlm` (being written).

use anyhow::{Result, bail};

/// Flags of `rnn train --task charlm`.
#[derive(Debug, Default, clap::Args)]
pub struct TrainArgs {}

/// Flags of `rnn evaluate` for a charlm model.
#[derive(Debug, Default, clap::Args)]
pub struct EvalArgs {}

/// `rnn train --task charlm`.
pub fn train(_args: &super::train::Args) -> Result<()> {
    bail!("--task charlm is not available yet")
}

/// `rnn evaluate` on a charlm model.
pub fn evaluate(_args: &super::evaluate::Args, _meta: &rnn::model_file::LoadedModel<f64>) -> Result<()> {
    bail!("evaluating a charlm model is not available yet")
}

/// Flags of `rnn generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {}

/// `rnn generate`.
pub fn generate(_args: &GenerateArgs) -> Result<()> {
    bail!("rnn generate is not available yet")
}
