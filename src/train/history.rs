//! One record per epoch, and the files made of them: `.history.csv`, `.history.jsonl` and the
//! loss plot.

use serde::{Deserialize, Serialize};

use super::RunPaths;
use crate::{Error, Result};

/// One epoch's figures.
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
}

pub(super) fn write_history(paths: &RunPaths, history: &[EpochRecord]) -> Result<()> {
    let opt = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    let mut csv =
        String::from("epoch,train_loss,val_loss,val_accuracy,lr,grad_norm,step,seconds,sequences_per_sec,best\n");
    let mut jsonl = String::new();
    for r in history {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{:.3},{:.1},{}\n",
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

pub(super) fn plot_history(paths: &RunPaths, history: &[EpochRecord]) -> Result<()> {
    use crate::plot::{LinePlot, Series};
    let mut series = vec![Series::solid("train", history.iter().map(|r| (r.epoch as f64, r.train_loss)).collect())];
    if history.iter().any(|r| r.val_loss.is_some()) {
        series.push(Series::dashed(
            "validation",
            history.iter().filter_map(|r| r.val_loss.map(|v| (r.epoch as f64, v))).collect(),
        ));
    }
    let positive = history.iter().all(|r| r.train_loss > 0.0 && r.val_loss.is_none_or(|v| v > 0.0));
    let plot = LinePlot::new("Training loss", "epoch", "loss").with_series(series).with_log_y(positive);
    plot.save(&paths.plot_stem).map(|_| ())
}
