//! `--task forecast` (being written).

use anyhow::{Result, bail};

/// Flags of `rnn train --task forecast`.
#[derive(Debug, Default, clap::Args)]
pub struct TrainArgs {}

/// Flags of `rnn evaluate` for a forecast model.
#[derive(Debug, Default, clap::Args)]
pub struct EvalArgs {}

/// `rnn train --task forecast`.
pub fn train(_args: &super::train::Args) -> Result<()> {
    bail!("--task forecast is not available yet")
}

/// `rnn evaluate` on a forecast model.
pub fn evaluate(_args: &super::evaluate::Args, _meta: &rnn::model_file::LoadedModel<f64>) -> Result<()> {
    bail!("evaluating a forecast model is not available yet")
}

/// Flags of `rnn forecast`.
#[derive(Debug, clap::Args)]
pub struct ForecastArgs {}

/// `rnn forecast`.
pub fn forecast(_args: &ForecastArgs) -> Result<()> {
    bail!("rnn forecast is not available yet")
}

/// Flags of `rnn demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}

/// `rnn demo`.
pub fn demo(_args: &DemoArgs) -> Result<()> {
    bail!("rnn demo is not available yet")
}
