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
}
