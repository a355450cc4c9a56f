//! One record per epoch, and the files made of them: `.history.csv`, `.history.jsonl` and the
//! loss plot.

use serde::{Deserialize, Serialize};

use super::RunPaths;
use super::loss::Loss;
use crate::{Error, Result};

/// One epoch's figures.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{Silent, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let x = Array3::from_shape_fn((4, 5, 1), |(n, t, _)| ((n + t) as f32).sin());
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let config = TrainConfig::default().with_epochs(2).with_batch_size(2).with_clip_norm(Some(1e-3)).with_diagnose(true);
/// let report = Trainer::new(model, config)?.fit_in_memory(&data, Some(&data), &mut Silent)?;
/// let r = &report.history[1];
/// assert_eq!((r.epoch, r.step), (2, 4));
/// assert!(r.val_loss.is_some() && r.val_accuracy.is_none()); // MSE: no accuracy
/// assert_eq!(r.clipped, Some(2)); // both steps' gradients were above 1e-3
/// assert!(r.grad_flow.is_some()); // with_diagnose(true)
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch (weighted by counted steps).
    pub train_loss: f64,
    /// Validation loss, when there is validation data.
    pub val_loss: Option<f64>,
    /// Validation accuracy (cross-entropy only).
    pub val_accuracy: Option<f64>,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f64,
    /// Optimizer steps taken so far.
    pub step: usize,
    /// Wall time of the epoch.
    pub seconds: f64,
    /// Training sequences per second.
    pub sequences_per_sec: f64,
    /// Whether this epoch is the best so far (validation) .
    pub best: bool,
    /// The gradient's norm against the time lag at the end of the epoch, when training was
    /// asked to measure it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_flow: Option<EpochFlow>,
    /// With clipping by norm: how many of the epoch's optimizer steps had a gradient norm above
    /// the maximum, so were clipped (`None` without clipping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clipped: Option<usize>,
}

/// Training sequences the gradient flow is measured on at the end of an epoch.
pub const DIAGNOSE_SEQUENCES: usize = 16;

/// The gradient's norm against the time lag (see [`crate::nn::flow::LagFlow`]), one epoch's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochFlow {
    /// The steps whose loss was back-propagated alone.
    pub end_points: Vec<usize>,
    /// Per layer and direction (`"0"`, `"1 reverse"`, ...), bottom first: the batch mean of
    /// `‖dL_t/dh_(t-k)‖` by lag `k`.
    pub grad_norm_by_lag: Vec<(String, Vec<f64>)>,
}

impl EpochFlow {
    /// The norm at lag 0 and at the longest lag, per layer and direction.
    fn ends(&self) -> Vec<(String, f64, f64)> {
        self.grad_norm_by_lag
            .iter()
            .map(|(name, v)| (name.clone(), v.first().copied().unwrap_or(0.0), v.last().copied().unwrap_or(0.0)))
            .collect()
    }
}

pub(super) fn write_history(paths: &RunPaths, history: &[EpochRecord]) -> Result<()> {
    let opt = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    let mut csv =
        String::from("epoch,train_loss,val_loss,val_accuracy,lr,grad_norm,step,seconds,sequences_per_sec,best");
    // with the gradient flow measured: per layer and direction its norm at lag 0 and at the
    // longest lag
    let clipping = history.iter().any(|r| r.clipped.is_some());
    if clipping {
        csv.push_str(",clipped");
    }
    let flow_columns = history.iter().find_map(|r| r.grad_flow.as_ref()).map(EpochFlow::ends);
    for (name, ..) in flow_columns.iter().flatten() {
        let name = name.replace(' ', "_");
        csv.push_str(&format!(",grad_lag_first_l{name},grad_lag_last_l{name}"));
    }
    csv.push('\n');
    let mut jsonl = String::new();
    for r in history {
        let mut flow = String::new();
        if clipping {
            flow.push_str(&format!(",{}", r.clipped.map(|k| k.to_string()).unwrap_or_default()));
        }
        if let Some(columns) = &flow_columns {
            match &r.grad_flow {
                Some(f) => f.ends().iter().for_each(|(_, a, b)| flow.push_str(&format!(",{a:e},{b:e}"))),
                None => flow.push_str(&",".repeat(2 * columns.len())),
            }
        }
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{:.3},{:.1},{}{flow}\n",
            r.epoch,
            r.train_loss,
            opt(r.val_loss),
            opt(r.val_accuracy),
            r.lr,
            r.grad_norm,
            r.step,
            r.seconds,
            r.sequences_per_sec,
            r.best
        ));
        jsonl.push_str(&serde_json::to_string(r).map_err(|e| Error::Training(e.to_string()))?);
        jsonl.push('\n');
    }
    crate::io::write_atomic(&paths.history_csv, csv.as_bytes())?;
    crate::io::write_atomic(&paths.history_jsonl, jsonl.as_bytes())
}

/// The loss against the epoch (log axis when positive), the y axis naming the loss, and a
/// marker at `best`, the epoch whose weights the model file holds (early stopping's pick).
#[cfg(feature = "plot")]
pub(super) fn plot_history(paths: &RunPaths, history: &[EpochRecord], loss: Loss, best: Option<usize>) -> Result<()> {
    use crate::plot::{LinePlot, Series};
    let mut series = vec![Series::solid("train", history.iter().map(|r| (r.epoch as f64, r.train_loss)).collect())];
    if history.iter().any(|r| r.val_loss.is_some()) {
        series.push(Series::dashed(
            "validation",
            history.iter().filter_map(|r| r.val_loss.map(|v| (r.epoch as f64, v))).collect(),
        ));
    }
    let positive = history.iter().all(|r| r.train_loss > 0.0 && r.val_loss.is_none_or(|v| v > 0.0));
    let name = match loss {
        Loss::Mse => "MSE loss (mean squared error)",
        Loss::Mae => "MAE loss (mean absolute error)",
        Loss::CrossEntropy => "cross-entropy loss (nats)",
    };
    let mut plot = LinePlot::new("Training loss", "epoch", name).with_series(series).with_log_y(positive);
    if let Some(e) = best.filter(|_| history.len() > 1) {
        plot = plot.with_marker(e as f64, format!("best: epoch {e}"));
    }
    plot.save(&paths.plot_stem).map(|_| ())
}

/// Without the `plot` feature no plot is drawn.
#[cfg(not(feature = "plot"))]
pub(super) fn plot_history(
    _paths: &RunPaths,
    _history: &[EpochRecord],
    _loss: Loss,
    _best: Option<usize>,
) -> Result<()> {
    Ok(())
}

/// Without the `plot` feature no plot is drawn.
#[cfg(not(feature = "plot"))]
pub(super) fn plot_flow(_paths: &RunPaths, _history: &[EpochRecord]) -> Result<()> {
    Ok(())
}

/// The gradient's norm against the lag for the bottom layer at a few epochs (the first, the
/// last and up to four between), on a log axis: how vanishing changes as training goes.
#[cfg(feature = "plot")]
pub(super) fn plot_flow(paths: &RunPaths, history: &[EpochRecord]) -> Result<()> {
    use crate::plot::{LinePlot, Series};
    let measured: Vec<(usize, &EpochFlow)> =
        history.iter().filter_map(|r| r.grad_flow.as_ref().map(|f| (r.epoch, f))).collect();
    if measured.is_empty() {
        return Ok(());
    }
    let picks = 6.min(measured.len());
    let mut chosen: Vec<usize> =
        (0..picks).map(|j| if picks > 1 { j * (measured.len() - 1) / (picks - 1) } else { 0 }).collect();
    chosen.dedup();
    let series = chosen.into_iter().filter_map(|j| {
        let (epoch, flow) = measured[j];
        let (_, values) = flow.grad_norm_by_lag.first()?;
        let points = values.iter().enumerate().filter(|(_, v)| **v > 0.0).map(|(k, &v)| (k as f64, v)).collect();
        Some(Series::solid(format!("epoch {epoch}"), points))
    });
    let plot =
        LinePlot::new("Gradient norm against time lag, bottom layer, during training", "lag k", "‖dL_t/dh_(t-k)‖")
            .with_series(series.collect::<Vec<_>>())
            .with_log_y(true);
    let mut stem = paths.plot_stem.as_os_str().to_owned();
    stem.push(".gradflow");
    plot.save(std::path::Path::new(&stem)).map(|_| ())
}

/// [`EpochFlow`] of `model` on the first [`DIAGNOSE_SEQUENCES`] sequences of `data` under
/// `loss` (inference mode: no dropout), four end points.
pub(super) fn measure_flow<F: crate::Float>(
    model: &crate::Model<F>,
    data: &crate::data::Dataset<F>,
    loss: crate::train::loss::Loss,
) -> Result<EpochFlow> {
    let rows: Vec<usize> = (0..data.len().min(DIAGNOSE_SEQUENCES)).collect();
    let batch = data.batch(&rows);
    let steps = batch.target_steps();
    let trace = model.forward_eval(batch.x.view(), None, data.readout())?;
    let whole = loss.compute(trace.y(), batch.target_view(0..steps), batch.mask_view(0..steps))?;
    let flow = crate::nn::flow::flow_by_lag(model, &trace, whole.grad.view(), data.readout(), 4)?;
    let config = model.rnn.config();
    let dirs = config.num_directions();
    let grad_norm_by_lag = flow
        .h
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("{}{}", i / dirs, if i % dirs == 1 { " reverse" } else { "" }), v))
        .collect();
    Ok(EpochFlow { end_points: flow.end_points, grad_norm_by_lag })
}
