//! The loop: mini-batches with seeded shuffling, full or truncated BPTT, clipping, validation
//! every epoch, early stopping on the best epoch's weights, checkpoints and a NaN guard.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{ArrayD, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{self, Checkpoint};
use super::loss::Loss;
use super::optim::Optimizer;
use super::schedule::ScheduleKind;
use super::state::TrainState;
use super::{EpochRecord, Observer, RunPaths, StateReset, TrainConfig};
use crate::State;
use crate::data::Dataset;
use crate::{Error, Float, Model, Result};

/// How a run ended.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{Silent, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let x = Array3::from_shape_fn((8, 5, 1), |(n, t, _)| ((n + t) as f32 * 0.4).sin());
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// // lr 0 cannot improve: patience 2 stops after epoch 3
/// let config = TrainConfig::default().with_epochs(20).with_batch_size(4).with_lr(1e-12).with_patience(Some(2)).with_min_delta(1e-3);
/// let report = Trainer::new(model, config)?.fit_in_memory(&data, Some(&data), &mut Silent)?;
/// assert!(report.stopped_early && !report.interrupted);
/// assert_eq!((report.history.len(), report.final_epoch), (3, 1));
/// assert_eq!(report.best_val_loss, report.history[0].val_loss);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// Every epoch's record, including those before a resume.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights the final model has.
    pub final_epoch: usize,
    /// The best validation loss, when there was validation data.
    pub best_val_loss: Option<f64>,
    /// Stopped by patience before `epochs`.
    pub stopped_early: bool,
    /// Stopped because a stop was asked for ([`Trainer::with_stop`]): the model written is the
    /// best so far and training can be resumed from `paths.last`.
    pub interrupted: bool,
    /// The files written (`None` for [`Trainer::fit_in_memory`]).
    pub paths: Option<RunPaths>,
}

/// A model being trained, with its optimizer and the loop's state.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{Silent, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let x = Array3::from_shape_fn((8, 6, 1), |(n, t, _)| ((n + 2 * t) as f32 * 0.3).sin());
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let config = TrainConfig::default().with_epochs(2).with_batch_size(4);
/// let mut trainer = Trainer::new(model, config.clone())?;
/// assert_eq!((trainer.epochs_done(), trainer.steps_done(), trainer.config().epochs), (0, 0, 2));
/// trainer.fit_in_memory(&data, Some(&data), &mut Silent)?;
/// assert_eq!((trainer.epochs_done(), trainer.steps_done()), (2, 4)); // 2 batches an epoch
/// assert!(trainer.partial_epoch().is_none() && !trainer.stop_requested() && !trainer.out_of_steps());
/// trainer.model_mut().rnn.set_dropout(0.0)?; // the model can be adjusted between runs
/// let latest: &Model = trainer.model();
/// let best: &Model = trainer.final_model(); // the best epoch's weights (validation given)
/// assert_eq!(latest.config(), best.config());
/// assert_eq!(trainer.into_model().num_params(), 33);
/// # Ok::<(), rnn::Error>(())
/// ```
pub struct Trainer<F: Float = f32> {
    model: Model<F>,
    /// Extra metadata written into the final model and every checkpoint (task settings such as
    /// normalisation statistics or a vocabulary).
    metadata: HashMap<String, String>,
    optimizer: Optimizer<F>,
    config: TrainConfig,
    state: TrainState,
    rng: ChaCha8Rng,
    best_model: Option<Model<F>>,
    /// The gradients of the latest optimizer step of an epoch's last batch, in the order of
    /// `Model::named_tensors`, kept only for an observer that wants tensors (not checkpointed).
    last_grads: Vec<ArrayD<F>>,
    /// The epoch `last_grads` belong to (0: none).
    grads_epoch: usize,
    /// Raised (by a signal handler, another thread, ...) to stop training after the current batch.
    stop: Option<Arc<AtomicBool>>,
    /// The hidden state carried into the rest of an interrupted epoch (stateful training).
    carried: Option<State<F>>,
}

impl<F: Float> Trainer<F> {
    /// A trainer starting at epoch 1.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration.
    ///
    /// # Example
    /// ```
    /// use rnn::train::{TrainConfig, Trainer};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// assert!(Trainer::new(model.clone(), TrainConfig::default().with_batch_size(0)).is_err());
    /// let trainer = Trainer::new(model, TrainConfig::default())?;
    /// assert_eq!(trainer.epochs_done(), 0);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(model: Model<F>, config: TrainConfig) -> Result<Self> {
        config.validate()?;
        let optimizer = Optimizer::new(config.optimizer.clone())?;
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Ok(Trainer {
            model,
            metadata: HashMap::new(),
            optimizer,
            config,
            state: TrainState::default(),
            rng,
            best_model: None,
            last_grads: Vec::new(),
            grads_epoch: 0,
            stop: None,
            carried: None,
        })
    }

    /// A trainer continuing from a checkpoint written by [`Trainer::fit`]: weights, optimizer
    /// state, epoch, step (so the schedule position), RNG state, history and the best epoch.
    /// `config.epochs` may be raised to train longer.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::ModelFile`] for an unreadable checkpoint, [`Error::Config`] when
    /// the optimizer differs from the checkpoint's.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// use rnn::train::{RunPaths, Silent, TrainConfig, Trainer};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-resume-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let x = Array3::from_shape_fn((4, 5, 1), |(n, t, _)| ((n + t) as f32 * 0.3).sin());
    /// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
    /// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let paths = RunPaths::from_model_path(&dir.join("m.safetensors"));
    /// let config = TrainConfig::default().with_epochs(2).with_batch_size(2);
    /// Trainer::new(model, config.clone())?.fit(&data, None, &paths, &mut Silent)?;
    /// // two more epochs from the last checkpoint
    /// let mut trainer = Trainer::<f32>::resume(&paths.last, config.with_epochs(4))?;
    /// assert_eq!(trainer.epochs_done(), 2);
    /// let report = trainer.fit(&data, None, &paths, &mut Silent)?;
    /// assert_eq!(report.history.len(), 4);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume(path: &Path, config: TrainConfig) -> Result<Self> {
        config.validate()?;
        let Checkpoint { model, optimizer, state, rng, best_model, metadata, carried } =
            checkpoint::load::<F>(path, &config)?;
        // a checkpoint written at the best epoch's end stores its weights once: they are the model's
        let best_model = match (&best_model, &state.best) {
            (None, Some(b)) if b.epoch == state.epoch && state.partial.is_none() => Some(model.clone()),
            _ => best_model,
        };
        Ok(Trainer {
            model,
            metadata,
            optimizer,
            config,
            state,
            rng,
            best_model,
            last_grads: Vec::new(),
            grads_epoch: 0,
            stop: None,
            carried,
        })
    }

    /// Stops [`Trainer::fit`] once `stop` is raised: the batch under way is finished, then the
    /// `last` checkpoint (holding the partial epoch, so a resume finishes it), the history and
    /// the best model so far are written and `fit` returns with
    /// [`TrainReport::interrupted`] set. The library installs no signal handler: a program sets
    /// the flag from its own (e.g. on Ctrl-C).
    ///
    /// # Example
    /// ```
    /// use std::sync::{Arc, atomic::AtomicBool};
    /// use rnn::train::{TrainConfig, Trainer};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let stop = Arc::new(AtomicBool::new(false));
    /// let trainer = Trainer::new(model, TrainConfig::default())?.with_stop(stop.clone());
    /// // another thread or a signal handler: stop.store(true, Ordering::SeqCst)
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Whether the stop flag given to [`Trainer::with_stop`] is raised.
    pub fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// Adds metadata entries written into the final model and every checkpoint.
    ///
    /// # Example
    /// ```
    /// use std::collections::HashMap;
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// use rnn::model_file::{self, LoadOptions};
    /// use rnn::train::{RunPaths, Silent, TrainConfig, Trainer};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-metadata-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let x = Array3::from_shape_fn((2, 3, 1), |(n, t, _)| (n + t) as f32);
    /// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
    /// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let metadata = HashMap::from([("my.scale".to_string(), "2.5".to_string())]);
    /// let mut trainer = Trainer::new(model, TrainConfig::default().with_epochs(1))?.with_metadata(metadata);
    /// assert_eq!(trainer.metadata()["my.scale"], "2.5");
    /// let paths = RunPaths::from_model_path(&dir.join("m.safetensors"));
    /// trainer.fit(&data, None, &paths, &mut Silent)?;
    /// let loaded = model_file::load::<f32>(&paths.model, &LoadOptions::default())?;
    /// assert_eq!(loaded.metadata["my.scale"], "2.5");
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_metadata(mut self, metadata: HashMap<String, String>) -> Self {
        self.metadata.extend(metadata);
        self
    }

    /// The metadata written with the model (restored by [`Trainer::resume`]).
    pub fn metadata(&self) -> &HashMap<String, String> {
        &self.metadata
    }

    /// The training configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The model as trained so far.
    pub fn model(&self) -> &Model<F> {
        &self.model
    }

    /// The model, to adjust before (or between) calls to [`Trainer::fit`].
    pub fn model_mut(&mut self) -> &mut Model<F> {
        &mut self.model
    }

    /// Consumes the trainer, returning the model.
    pub fn into_model(self) -> Model<F> {
        self.model
    }

    /// Epochs completed.
    pub fn epochs_done(&self) -> usize {
        self.state.epoch
    }

    /// The epoch left unfinished by a stop ([`Trainer::with_stop`]): (epoch, batches done,
    /// batches in it).
    pub fn partial_epoch(&self) -> Option<(usize, usize, usize)> {
        let p = self.state.partial.as_ref()?;
        Some((p.epoch, p.batches_done, p.order.len().div_ceil(self.config.batch_size)))
    }

    /// Optimizer steps taken (counting those before a resume).
    pub fn steps_done(&self) -> usize {
        self.state.step
    }

    /// Whether the budget of optimizer steps ([`TrainConfig::max_steps`]) is spent.
    pub fn out_of_steps(&self) -> bool {
        self.config.max_steps.is_some_and(|m| self.state.step >= m)
    }

    /// One epoch over `train`, validated on `val`, in memory: no checkpoint, history file or
    /// plot is written and neither patience nor `config.epochs` is looked at. For callers that
    /// draw fresh data for every epoch (synthetic tasks) or decide themselves when to stop; the
    /// record is appended to the history as [`Trainer::fit`] does, and the epoch ends early
    /// once [`TrainConfig::max_steps`] is reached.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// use rnn::train::{Silent, TrainConfig, Trainer};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let config = TrainConfig::default().with_batch_size(2).with_max_steps(Some(5));
    /// let mut trainer = Trainer::new(model, config)?;
    /// while !trainer.out_of_steps() {
    ///     // fresh data every epoch: 3 batches of 2 sequences
    ///     let x = Array3::from_shape_fn((6, 8, 1), |(n, t, _)| ((n + t + trainer.steps_done()) as f32).sin());
    ///     let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
    ///     trainer.train_epoch(&data, None, &mut Silent)?;
    /// }
    /// assert_eq!(trainer.steps_done(), 5); // 3 steps, then 2 of the second epoch
    /// # Ok::<(), rnn::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Trainer::fit`], writing no file.
    pub fn train_epoch(
        &mut self,
        train: &Dataset<F>,
        val: Option<&Dataset<F>>,
        observer: &mut dyn Observer,
    ) -> Result<EpochRecord> {
        let rc = self.model.rnn.config();
        if train.input_size() != rc.input_size {
            return Err(Error::shape("training inputs", format!("[N, T, {}]", rc.input_size), train.inputs().shape()));
        }
        if let Some(m) = self.config.max_steps
            && matches!(self.config.schedule.kind, ScheduleKind::Cosine { total_steps: 0, .. })
        {
            // a cosine runs over the whole budget
            self.config.schedule.set_run_steps(m);
        }
        self.config.schedule.validate()?;
        let epoch = self.state.epoch + 1;
        let record = self.run_epoch(epoch, train, val, observer, false)?.ok_or_else(|| {
            Error::Training(format!("epoch {epoch} stopped before its end (unreachable: not stoppable)"))
        })?;
        if record.best {
            self.best_model = Some(self.model.clone());
        }
        self.state.history.push(record.clone());
        self.state.epoch = epoch;
        Ok(record)
    }

    /// Trains up to `config.epochs`, validating on `val` every epoch, writing checkpoints and
    /// history to `paths` and the final model (the best epoch's, with validation data) to
    /// `paths.model`: [`Trainer::fit_in_memory`] plus the files.
    ///
    /// # Errors
    /// [`Error::Training`] when a loss or gradient is NaN or infinite (naming the epoch and
    /// step; the last checkpoint written stays intact), shape errors when the data does not fit
    /// the model, [`Error::Io`] when a file cannot be written.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// use rnn::train::{RunPaths, Silent, TrainConfig, Trainer, checkpoint};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-fit-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let x = Array3::from_shape_fn((6, 5, 1), |(n, t, _)| ((n + t) as f32 * 0.3).sin());
    /// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
    /// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let paths = RunPaths::from_model_path(&dir.join("m.safetensors"));
    /// let config = TrainConfig::default().with_epochs(3).with_batch_size(3);
    /// let report = Trainer::new(model, config.clone())?.fit(&data, Some(&data), &paths, &mut Silent)?;
    /// assert_eq!(report.paths.as_ref(), Some(&paths));
    /// assert!(paths.model.exists() && paths.best.exists());
    /// let history = std::fs::read_to_string(&paths.history_csv)?;
    /// assert_eq!(history.lines().count(), 1 + 3); // a header and one row per epoch
    /// let last = checkpoint::load::<f32>(&paths.last, &config)?;
    /// assert_eq!((last.state.epoch, last.state.history.len()), (3, 3));
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fit(
        &mut self,
        train: &Dataset<F>,
        val: Option<&Dataset<F>>,
        paths: &RunPaths,
        observer: &mut dyn Observer,
    ) -> Result<TrainReport> {
        self.run(train, val, Some(paths), observer)
    }

    /// Trains as [`Trainer::fit`] does (epochs, validation, early stopping, the best epoch
    /// kept), writing no file at all: the trained model is [`Trainer::final_model`] (or
    /// [`Trainer::into_final_model`]). A stop ([`Trainer::with_stop`]) leaves the partial epoch
    /// in the trainer, and the next call finishes it.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// use rnn::train::{Silent, TrainConfig, Trainer};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// // learn to output the previous step's input: x [N, T, 1], y_t = x_{t-1}
    /// let x = Array3::from_shape_fn((32, 12, 1), |(n, t, _)| ((n * 7 + t * 3) % 5) as f32 / 4.0 - 0.5);
    /// let y = Array3::from_shape_fn((32, 12, 1), |(n, t, _)| if t == 0 { 0.0 } else { x[[n, t - 1, 0]] });
    /// let train = Dataset::new(x.clone(), Targets::Values(y.clone()), None)?;
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(1, 16), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let config = TrainConfig::default().with_epochs(30).with_batch_size(8);
    /// let mut trainer = Trainer::new(model, config)?;
    /// let report = trainer.fit_in_memory(&train, Some(&train), &mut Silent)?;
    /// assert!(report.paths.is_none()); // nothing was written
    /// let first = report.history[0].train_loss;
    /// assert!(report.best_val_loss.unwrap() < first / 2.0);
    /// let model = trainer.into_final_model();
    /// let (y_hat, _h_n) = model.forward(x.permuted_axes([1, 0, 2]).view(), None)?; // [T, N, 1]
    /// assert_eq!(y_hat.shape(), &[12, 32, 1]);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Trainer::fit`], without the file errors.
    pub fn fit_in_memory(
        &mut self,
        train: &Dataset<F>,
        val: Option<&Dataset<F>>,
        observer: &mut dyn Observer,
    ) -> Result<TrainReport> {
        self.run(train, val, None, observer)
    }

    /// The model a run ends with: the best epoch's weights when validation picked one, else
    /// the latest (what [`Trainer::fit`] writes to its model file).
    pub fn final_model(&self) -> &Model<F> {
        match (&self.best_model, &self.state.best) {
            (Some(m), Some(_)) => m,
            _ => &self.model,
        }
    }

    /// Consumes the trainer, returning [`Trainer::final_model`].
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
    /// let mut trainer = Trainer::new(model, TrainConfig::default().with_epochs(3))?;
    /// trainer.fit_in_memory(&data, None, &mut Silent)?;
    /// // without validation there is no best epoch: the final model is the latest
    /// let latest = trainer.model().clone();
    /// assert_eq!(trainer.into_final_model(), latest);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn into_final_model(self) -> Model<F> {
        match (self.best_model, &self.state.best) {
            (Some(m), Some(_)) => m,
            _ => self.model,
        }
    }
}

/// Mean loss (and accuracy for cross-entropy) of `model` on `data`, without dropout.
///
/// # Errors
/// Shape errors when the data does not fit the model.
///
/// # Example
/// ```
/// use ndarray::{Array2, Array3};
/// use rnn::data::{Dataset, Targets};
/// use rnn::loss::Loss;
/// use rnn::train::{StateReset, evaluate};
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// // a classifier: 3 classes read at the last step of each sequence
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(3) }, Init::PyTorch, 0)?;
/// let x = Array3::from_shape_fn((5, 4, 2), |(n, t, i)| (n + t + i) as f32 * 0.1);
/// let classes = Array2::from_shape_fn((5, 1), |(n, _)| n % 3);
/// let data = Dataset::new(x, Targets::Classes(classes), None)?;
/// assert_eq!(data.readout(), Readout::LastStep);
/// let (loss, accuracy) = evaluate(&model, &data, Loss::CrossEntropy, 2, StateReset::Sequence)?;
/// assert!(loss > 0.0 && accuracy.is_some_and(|a| (0.0..=1.0).contains(&a)));
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn evaluate<F: Float>(
    model: &Model<F>,
    data: &Dataset<F>,
    loss: Loss,
    batch_size: usize,
    reset: StateReset,
) -> Result<(f64, Option<f64>)> {
    let rows: Vec<usize> = (0..data.len()).collect();
    let (mut sum, mut count, mut correct, mut any_correct) = (0.0, 0.0, 0usize, false);
    let mut carried: Option<State<F>> = None;
    for chunk in rows.chunks(batch_size.max(1)) {
        let batch = data.batch(chunk);
        let h0 = match reset {
            StateReset::Sequence => None,
            StateReset::Epoch => carried.take().map(|h| h.first(chunk.len())),
        };
        let trace = model.forward_eval_from(batch.x.view(), h0.as_ref(), data.readout())?;
        let steps = trace.y().len_of(Axis(0));
        let v = loss.compute(trace.y(), batch.target_view(0..steps), batch.mask_view(0..steps))?;
        sum += v.loss * v.count;
        count += v.count;
        if let Some(k) = v.correct {
            correct += k;
            any_correct = true;
        }
        carried = Some(trace.state());
    }
    let count = count.max(f64::MIN_POSITIVE);
    Ok((sum / count, any_correct.then(|| correct as f64 / count)))
}

#[path = "epoch.rs"]
mod epoch;
#[path = "run.rs"]
mod run;

#[cfg(test)]
#[path = "trainer_tests.rs"]
mod tests;
