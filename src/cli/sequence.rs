//! `--task sequence` (the default): sequence regression on `.npy` arrays, trained by `rnn train`
//! and scored by `rnn evaluate` against predicting the mean.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::{Array3, Axis, Ix2, Ix3};
use rnn::Float;
use rnn::data::{Dataset, Targets};
use rnn::loss::{Loss, TargetView};
use rnn::model_file::LoadedModel;
use rnn::train::TensorBoard;

use super::args::evaluate::Args as EvalArgs;
use super::args::train::Args;
use super::common::{print_stdout, read_float, read_inputs};
use super::fit::{fit, trainer};
use super::limits;

/// The sequence-regression task: `--inputs` and `--targets`.
pub fn train<F: Float>(args: &Args, tensorboard: Option<TensorBoard>) -> Result<()> {
    let d = &args.data;
    let (Some(inputs), Some(targets)) = (&d.inputs, &d.targets) else {
        bail!("--task sequence needs --inputs X.npy and --targets Y.npy");
    };
    let config = args.training.config(None)?;
    let data = read_dataset::<F>(inputs, targets, d.mask.as_deref())?;
    let dims = data.inputs().dim();
    let (train, val) = match (&d.val_inputs, &d.val_targets) {
        (Some(vi), Some(vt)) => (data, Some(read_dataset::<F>(vi, vt, None)?)),
        _ => split(data, d.val_split)?,
    };
    super::common::note_layout(inputs, dims);
    let output_size = match train.targets() {
        Targets::Values(v) => v.shape()[2],
        Targets::Classes(_) => 1,
    };
    let mut meta = HashMap::new();
    // what `rnn predict` reads back: one output per sequence (targets [N, O]) or per step
    let readout = if train.readout() == rnn::Readout::LastStep { "last" } else { "every" };
    let task = serde_json::json!({"kind": "sequence", super::predict::READOUT_FIELD: readout});
    meta.insert(rnn::tasks::TASK_KEY.to_string(), task.to_string());
    let data_bytes = limits::dataset_bytes(&train) + val.as_ref().map_or(0, limits::dataset_bytes);
    let model = args.model.config(train.input_size(), output_size);
    limits::check_training::<F>(&args.limits, &model, &config, train.seq_len(), train.len(), data_bytes)?;
    let mut trainer = trainer::<F>(args, config, train.input_size(), output_size, meta)?;
    fit(&mut trainer, &train, val.as_ref(), args, tensorboard)?;
    Ok(())
}

/// Reads `[N, T, I]` inputs and `[N, T, O]` / `[N, O]` targets (and an `[N, T]` mask).
pub(super) fn read_dataset<F: Float>(inputs: &Path, targets: &Path, mask: Option<&Path>) -> Result<Dataset<F>> {
    let x = read_inputs::<F>(inputs)?;
    let y = read_float::<F>(targets)?;
    let y: Array3<F> = match y.ndim() {
        3 => y.into_dimensionality::<Ix3>().with_context(|| targets.display().to_string())?,
        2 => y.into_dimensionality::<Ix2>().with_context(|| targets.display().to_string())?.insert_axis(Axis(1)),
        _ => bail!("{}: expected [N, T, O] or [N, O], got shape {:?}", targets.display(), y.shape()),
    };
    if y.shape()[0] != x.shape()[0] {
        bail!(
            "{}: {} target rows for {} input sequences in {}",
            targets.display(),
            y.shape()[0],
            x.shape()[0],
            inputs.display()
        );
    }
    if y.shape()[1] != x.shape()[1] && y.shape()[1] != 1 {
        bail!(
            "{}: targets have {} steps but the inputs have {} (use [N, T, O] or [N, O])",
            targets.display(),
            y.shape()[1],
            x.shape()[1]
        );
    }
    let mask = match mask {
        None => None,
        Some(path) => {
            // one weight per target step, named as the mask file's error
            let m = rnn::io::npy::read_mask::<F>(path)?;
            let (n, t) = (y.shape()[0], y.shape()[1]);
            if m.shape() != [n, t] {
                bail!(
                    "{}: expected a mask of shape [{n}, {t}] (one per target step), got {:?}",
                    path.display(),
                    m.shape()
                );
            }
            Some(m.into_dimensionality::<Ix2>().with_context(|| path.display().to_string())?)
        }
    };
    Dataset::new(x, Targets::Values(y), mask).with_context(|| targets.display().to_string())
}

/// Holds out the last `fraction` of the sequences for validation (as Keras' `validation_split`).
///
/// # Errors
/// When `fraction` is outside `[0, 1)` or leaves no training data.
fn split<F: Float>(data: Dataset<F>, fraction: f64) -> Result<(Dataset<F>, Option<Dataset<F>>)> {
    if !(0.0..1.0).contains(&fraction) {
        bail!("--val-split must be in [0, 1), got {fraction}");
    }
    let n_val = (data.len() as f64 * fraction).round() as usize;
    if n_val == 0 {
        return Ok((data, None));
    }
    if n_val >= data.len() {
        bail!("--val-split {fraction} leaves no training sequence out of {}", data.len());
    }
    let cut = data.len() - n_val;
    let train: Vec<usize> = (0..cut).collect();
    let val: Vec<usize> = (cut..data.len()).collect();
    Ok((data.subset(&train), Some(data.subset(&val))))
}

/// A sequence-regression model: MSE and MAE on `--inputs`/`--targets`, against predicting the
/// mean of the targets.
pub fn evaluate(args: &EvalArgs, loaded: &LoadedModel<f64>) -> Result<()> {
    let (Some(inputs), Some(targets)) = (&args.files.inputs, &args.files.targets) else {
        bail!("{}: a sequence model is evaluated with --inputs X.npy --targets Y.npy", args.model.display());
    };
    let x = read_inputs::<f64>(inputs)?;
    let y = read_float::<f64>(targets)?;
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
    super::common::note_layout(inputs, x.dim());
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
