//! Progress reports: what training will do ([`Plan`]), how an epoch goes ([`BatchProgress`]), and
//! the [`Observer`] that receives them.

use std::ops::ControlFlow;

use serde::Serialize;

use super::EpochRecord;

/// What training will do, said before it starts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// Training sequences.
    pub sequences: usize,
    /// Validation sequences.
    pub val_sequences: usize,
    /// Steps per sequence.
    pub seq_len: usize,
    /// Trainable parameters.
    pub parameters: usize,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
    /// Optimizer steps per epoch (batches × TBPTT chunks).
    pub steps_per_epoch: usize,
    /// First epoch to run (1, or later when resuming).
    pub first_epoch: usize,
    /// Last epoch.
    pub epochs: usize,
}

/// Progress within an epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches in the epoch.
    pub batches: usize,
    /// Running mean loss of the epoch.
    pub loss: f64,
    /// Current learning rate.
    pub lr: f64,
    /// Sequences per second so far in the epoch.
    pub sequences_per_sec: f64,
}

/// Receives progress; the CLI draws bars or prints lines with it.
pub trait Observer {
    /// Before the first epoch.
    fn start(&mut self, _plan: &Plan) {}
    /// After every batch.
    fn batch(&mut self, _progress: &BatchProgress) {}
    /// After every epoch (validation done, checkpoints written). Returning
    /// `ControlFlow::Break(())` ends training after this epoch, as an interruption would (the
    /// run can be resumed from the `last` checkpoint).
    fn epoch(&mut self, _record: &EpochRecord) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}
