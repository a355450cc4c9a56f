//! `rnn evaluate`: score a trained model on data against honest baselines; what it reports
//! depends on the task the model was trained for (its `rnn.task` metadata).

use std::path::PathBuf;

use anyhow::{Result, bail};
use ndarray::{Axis, Ix2, Ix3};
use rnn::loss::{Loss, TargetView};
use rnn::model_file::{self, LoadOptions, LoadedModel};

use super::print_stdout;

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

/// Runs `rnn evaluate`.
pub fn run(args: &Args) -> Result<()> {
    let loaded = model_file::load::<f64>(&args.model, &LoadOptions::default())?;
    match rnn::tasks::kind(&loaded.metadata).as_deref() {
        Some("forecast") => super::forecast::evaluate(args, &loaded),
        Some("charlm") => super::charlm::evaluate(args, &loaded),
        Some("classify") => super::classify::evaluate(args, &loaded),
        _ => evaluate_sequences(args, &loaded),
    }
}

/// A sequence-regression model: MSE and MAE on `--inputs`/`--targets`, against predicting the
/// mean of the targets.
fn evaluate_sequences(args: &Args, loaded: &LoadedModel<f64>) -> Result<()> {
    let (Some(inputs), Some(targets)) = (&args.inputs, &args.targets) else {
        bail!("{}: a sequence model is evaluated with --inputs X.npy --targets Y.npy", args.model.display());
    };
    let x = super::train::read_inputs::<f64>(inputs)?;
    let y = rnn::io::npy::read(targets)?.into_float::<f64>();
    let y = match y.ndim() {
        3 => y.into_dimensionality::<Ix3>()?,
        2 => y.into_dimensionality::<Ix2>()?.insert_axis(Axis(1)),
        _ => bail!("{}: expected [N, T, O] or [N, O], got shape {:?}", targets.display(), y.shape()),
    };
    let model = &loaded.model;
    let xt = x.view().permuted_axes([1, 0, 2]);
    if xt.shape()[2] != model.rnn.config().input_size {
        bail!(
            "{}: input has {} features per step but the model expects {}",
            inputs.display(),
            xt.shape()[2],
            model.rnn.config().input_size
        );
    }
    let readout = if y.shape()[1] == 1 && x.shape()[1] > 1 { rnn::Readout::LastStep } else { rnn::Readout::EveryStep };
    let trace = model.forward_eval(xt, None, readout)?;
    let yt = y.view().permuted_axes([1, 0, 2]);
    if trace.y().shape() != yt.shape() {
        bail!(
            "{}: targets of shape {:?} do not match the model's output {:?}",
            targets.display(),
            y.shape(),
            trace.y().shape()
        );
    }
    let mse = Loss::Mse.compute(trace.y(), TargetView::Values(yt), None)?.loss;
    let mae = Loss::Mae.compute(trace.y(), TargetView::Values(yt), None)?.loss;
    let mean = yt.mean_axis(Axis(0)).and_then(|m| m.mean_axis(Axis(0))).unwrap_or_default();
    let base = ndarray::Array3::from_shape_fn(yt.dim(), |(_, _, o)| mean[o]);
    let bmse = Loss::Mse.compute(base.view(), TargetView::Values(yt), None)?.loss;
    let bmae = Loss::Mae.compute(base.view(), TargetView::Values(yt), None)?.loss;
    if args.json {
        let j = serde_json::json!({"model": {"mse": mse, "mae": mae}, "mean": {"mse": bmse, "mae": bmae}});
        print_stdout(&format!("{j}\n"))
    } else {
        print_stdout(&format!(
            "{:<8} {:>12} {:>12}\n{:<8} {:>12.6} {:>12.6}\n{:<8} {:>12.6} {:>12.6}\n",
            "", "mse", "mae", "model", mse, mae, "mean", bmse, bmae
        ))
    }
}
