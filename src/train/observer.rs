//! Progress reports: what training will do ([`Plan`]), how an epoch goes ([`BatchProgress`]),
//! the model's tensors at the end of an epoch ([`ParamView`]), and the [`Observer`] that
//! receives them.

use std::ops::ControlFlow;

use serde::Serialize;

use super::EpochRecord;
use crate::{FloatView, Result};

/// What training will do, said before it starts.
///
/// # Example
/// ```
/// use std::ops::ControlFlow;
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{BatchProgress, EpochRecord, Observer, Plan, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// /// Prints nothing; keeps the plan and the progress reports.
/// #[derive(Default)]
/// struct Keep { plan: Option<Plan>, batches: Vec<BatchProgress> }
/// impl Observer for Keep {
///     fn start(&mut self, plan: &Plan) {
///         self.plan = Some(plan.clone());
///     }
///     fn batch(&mut self, progress: &BatchProgress) {
///         self.batches.push(progress.clone());
///     }
///     fn epoch(&mut self, _: &EpochRecord) -> ControlFlow<()> {
///         ControlFlow::Continue(())
///     }
/// }
/// let x = Array3::from_shape_fn((6, 5, 1), |(n, t, _)| ((n + t) as f32).sin());
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let mut keep = Keep::default();
/// Trainer::new(model, TrainConfig::default().with_epochs(2).with_batch_size(4))?.fit_in_memory(&data, None, &mut keep)?;
/// let plan = keep.plan.ok_or(rnn::Error::Training("no plan".into()))?;
/// assert_eq!((plan.sequences, plan.seq_len, plan.batches_per_epoch, plan.parameters), (6, 5, 2, 33));
/// assert_eq!(keep.batches.len(), 4); // 2 batches, 2 epochs
/// assert_eq!((keep.batches[3].epoch, keep.batches[3].batch, keep.batches[3].batches), (2, 2, 2));
/// # Ok::<(), rnn::Error>(())
/// ```
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
///
/// # Example
/// ```
/// use rnn::train::{BatchProgress, Observer};
/// /// Prints one line per 10 batches, as a progress bar would redraw.
/// struct Lines;
/// impl Observer for Lines {
///     fn batch(&mut self, p: &BatchProgress) {
///         if p.batch % 10 == 0 || p.batch == p.batches {
///             eprintln!("epoch {} {}/{} loss {:.4} lr {:.2e} {:.0} seq/s", p.epoch, p.batch, p.batches, p.loss, p.lr, p.sequences_per_sec);
///         }
///     }
/// }
/// let mut lines = Lines;
/// lines.batch(&BatchProgress { epoch: 1, batch: 10, batches: 20, loss: 0.5, lr: 1e-3, sequences_per_sec: 900.0 });
/// ```
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
///
/// # Example
/// ```
/// use std::ops::ControlFlow;
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{EpochRecord, Observer, Plan, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// /// Stops once the training loss is below a target, and remembers the plan.
/// struct Until { target: f64, steps_per_epoch: usize }
/// impl Observer for Until {
///     fn start(&mut self, plan: &Plan) {
///         self.steps_per_epoch = plan.steps_per_epoch;
///     }
///     fn epoch(&mut self, record: &EpochRecord) -> ControlFlow<()> {
///         if record.train_loss < self.target { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
///     }
/// }
/// let x = Array3::from_shape_fn((4, 5, 1), |(n, t, _)| ((n + t) as f32 * 0.3).sin());
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let mut until = Until { target: f64::INFINITY, steps_per_epoch: 0 }; // any loss: stop after epoch 1
/// let report = Trainer::new(model, TrainConfig::default().with_batch_size(2))?.fit_in_memory(&data, None, &mut until)?;
/// assert_eq!((report.history.len(), until.steps_per_epoch), (1, 2));
/// # Ok::<(), rnn::Error>(())
/// ```
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
    /// Whether this observer wants [`Observer::tensors`] calls. With `false` (the default) the
    /// trainer keeps no copy of any gradient and builds no view: nothing is spent on it.
    fn wants_tensors(&self) -> bool {
        false
    }
    /// After every epoch, when [`Observer::wants_tensors`] says so: the epoch's record and every
    /// parameter tensor with its weights and gradient (see [`ParamView`]). Called once the
    /// epoch's checkpoints and history are written, before [`Observer::epoch`].
    ///
    /// # Errors
    /// Whatever the observer fails with (writing a file, ...): training stops with that error,
    /// the epoch's checkpoints being already written.
    fn tensors(&mut self, _record: &EpochRecord, _params: &[ParamView<'_>]) -> Result<()> {
        Ok(())
    }
}

/// One parameter tensor at the end of an epoch, as [`Observer::tensors`] receives it.
///
/// # Example
/// ```
/// use std::ops::ControlFlow;
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{EpochRecord, Observer, ParamView, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// /// Records each tensor's gradient norm at the end of every epoch.
/// #[derive(Default)]
/// struct Norms(Vec<(String, f64)>);
/// impl Observer for Norms {
///     fn wants_tensors(&self) -> bool {
///         true
///     }
///     fn tensors(&mut self, _record: &EpochRecord, params: &[ParamView<'_>]) -> rnn::Result<()> {
///         for p in params {
///             let norm = p.grad.as_ref().map_or(0.0, |g| g.iter_f64().map(|v| v * v).sum::<f64>().sqrt());
///             self.0.push((p.name.to_string(), norm));
///         }
///         Ok(())
///     }
/// }
/// let x = Array3::from_shape_fn((4, 5, 1), |(n, t, _)| ((n + t) as f32 * 0.3).sin());
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let mut norms = Norms::default();
/// Trainer::new(model, TrainConfig::default().with_epochs(2))?.fit_in_memory(&data, None, &mut norms)?;
/// assert_eq!(norms.0.len(), 2 * 6); // 6 tensors, 2 epochs
/// assert_eq!(norms.0[4].0, "head.weight");
/// assert!(norms.0.iter().all(|(_, n)| *n > 0.0));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ParamView<'a> {
    /// Its name in the model file, PyTorch's (`rnn.weight_ih_l0`, `rnn.bias_hh_l1_reverse`,
    /// `head.weight`).
    pub name: &'a str,
    /// The weights after the epoch's last optimizer step.
    pub weights: FloatView<'a>,
    /// The gradient of the epoch's last optimizer step, as the optimizer applied it (after any
    /// clipping); `None` when the epoch's last batch took no optimizer step (every target
    /// masked).
    pub grad: Option<FloatView<'a>>,
}

/// An observer that ignores everything.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{Silent, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let x = Array3::from_shape_fn((2, 3, 1), |(n, t, _)| (n + t) as f32);
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let report = Trainer::new(model, TrainConfig::default().with_epochs(1))?.fit_in_memory(&data, None, &mut Silent)?;
/// assert_eq!(report.history.len(), 1);
/// # Ok::<(), rnn::Error>(())
/// ```
pub struct Silent;
impl Observer for Silent {}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn start(&mut self, plan: &Plan) {
        (**self).start(plan)
    }
    fn batch(&mut self, progress: &BatchProgress) {
        (**self).batch(progress)
    }
    fn epoch(&mut self, record: &EpochRecord) -> ControlFlow<()> {
        (**self).epoch(record)
    }
    fn wants_tensors(&self) -> bool {
        (**self).wants_tensors()
    }
    fn tensors(&mut self, record: &EpochRecord, params: &[ParamView<'_>]) -> Result<()> {
        (**self).tensors(record, params)
    }
}

/// Two observers, both told everything, the first first. Training stops when either asks;
/// `tensors` goes to each that wants them, and an error from the first is returned without
/// calling the second.
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn start(&mut self, plan: &Plan) {
        self.0.start(plan);
        self.1.start(plan);
    }
    fn batch(&mut self, progress: &BatchProgress) {
        self.0.batch(progress);
        self.1.batch(progress);
    }
    fn epoch(&mut self, record: &EpochRecord) -> ControlFlow<()> {
        let (a, b) = (self.0.epoch(record), self.1.epoch(record));
        if a.is_break() || b.is_break() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }
    fn wants_tensors(&self) -> bool {
        self.0.wants_tensors() || self.1.wants_tensors()
    }
    fn tensors(&mut self, record: &EpochRecord, params: &[ParamView<'_>]) -> Result<()> {
        if self.0.wants_tensors() {
            self.0.tensors(record, params)?;
        }
        if self.1.wants_tensors() {
            self.1.tensors(record, params)?;
        }
        Ok(())
    }
}
