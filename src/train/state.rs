//! The training loop's own state, kept in every checkpoint.

use serde::{Deserialize, Serialize};

use super::EpochRecord;

/// The best validation result so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// 1-based epoch.
    pub epoch: usize,
    /// Its validation loss.
    pub val_loss: f64,
}

/// The training loop's own state.
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
