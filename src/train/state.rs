//! The training loop's own state, kept in every checkpoint.

use serde::{Deserialize, Serialize};

use super::EpochRecord;

/// The best validation result so far.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{RunPaths, Silent, TrainConfig, Trainer, checkpoint};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let dir = std::env::temp_dir().join(format!("rnn-doc-best-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let x = Array3::from_shape_fn((4, 3, 1), |(n, t, _)| (n + t) as f32 * 0.1);
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let paths = RunPaths::from_model_path(&dir.join("m.safetensors"));
/// let config = TrainConfig::default().with_epochs(3);
/// let report = Trainer::new(model, config.clone())?.fit(&data, Some(&data), &paths, &mut Silent)?;
/// let best = checkpoint::load::<f32>(&paths.last, &config)?.state.best.ok_or("a best epoch")?;
/// assert_eq!((best.epoch, Some(best.val_loss)), (report.final_epoch, report.best_val_loss));
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// 1-based epoch.
    pub epoch: usize,
    /// Its validation loss.
    pub val_loss: f64,
}

/// The training loop's own state.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{RunPaths, Silent, TrainConfig, Trainer, checkpoint};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let dir = std::env::temp_dir().join(format!("rnn-doc-train-state-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let x = Array3::from_shape_fn((4, 3, 1), |(n, t, _)| (n + t) as f32 * 0.1);
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let paths = RunPaths::from_model_path(&dir.join("m.safetensors"));
/// let config = TrainConfig::default().with_epochs(2).with_batch_size(2);
/// Trainer::new(model, config.clone())?.fit(&data, None, &paths, &mut Silent)?;
/// let state = checkpoint::load::<f32>(&paths.last, &config)?.state;
/// assert_eq!((state.epoch, state.step, state.history.len()), (2, 4, 2));
/// assert!(state.partial.is_none()); // not interrupted
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken (the schedule's position).
    pub step: usize,
    /// The best epoch so far.
    pub best: Option<Best>,
    /// Every epoch's record.
    pub history: Vec<EpochRecord>,
    /// The epoch in progress when training was interrupted between two batches.
    #[serde(default)]
    pub partial: Option<PartialEpoch>,
}

/// An epoch stopped after some of its batches (training was interrupted), finished first when
/// training resumes: the batch order and the running sums of its record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartialEpoch {
    /// The 1-based epoch in progress.
    pub epoch: usize,
    /// Batches of it done.
    pub batches_done: usize,
    /// The order of the training sequences in this epoch.
    pub order: Vec<usize>,
    /// Sum of loss × counted targets so far.
    pub loss_sum: f64,
    /// Counted targets so far.
    pub count_sum: f64,
    /// Sum of the gradient norms so far.
    pub norm_sum: f64,
    /// Gradient norms summed.
    pub norm_n: usize,
    /// Steps whose gradient was clipped.
    pub clipped: usize,
    /// Sequences trained on so far.
    pub trained: usize,
    /// Seconds spent training in this epoch so far.
    pub seconds: f64,
}
