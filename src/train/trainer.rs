//! The loop: mini-batches with seeded shuffling, full or truncated BPTT, clipping, validation
//! every epoch, early stopping on the best epoch's weights, checkpoints and a NaN guard.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use ndarray::{ArrayD, ArrayViewD, Axis, s};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{self, Checkpoint};
use super::history::{plot_flow, plot_history, write_history};
use super::loss::Loss;
use super::optim::{self, Optimizer};
use super::schedule::ScheduleKind;
use super::state::{Best, TrainState};
use super::{BatchProgress, EpochRecord, Observer, ParamView, Plan, RunPaths, StateReset, TrainConfig};
use crate::State;
use crate::data::{Batch, Dataset};
use crate::{Error, Float, Model, Readout, Result};

/// How a run ended.
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
    /// The files written.
    pub paths: RunPaths,
}

/// A model being trained, with its optimizer and the loop's state.
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
}

impl<F: Float> Trainer<F> {
    /// A trainer starting at epoch 1.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration.
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
        })
    }

    /// A trainer continuing from a checkpoint written by [`Trainer::fit`]: weights, optimizer
    /// state, epoch, step (so the schedule position), RNG state, history and the best epoch.
    /// `config.epochs` may be raised to train longer.
    ///
    /// # Errors
    /// [`Error::Io`] / [`Error::ModelFile`] for an unreadable checkpoint, [`Error::Config`] when
    /// the optimizer differs from the checkpoint's.
    pub fn resume(path: &Path, config: TrainConfig) -> Result<Self> {
        config.validate()?;
        let Checkpoint { model, optimizer, state, rng, best_model, metadata } = checkpoint::load::<F>(path, &config)?;
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
        })
    }

    /// Adds metadata entries written into the final model and every checkpoint.
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
    /// let config = TrainConfig { batch_size: 2, max_steps: Some(5), ..TrainConfig::default() };
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
        let record = self.run_epoch(epoch, train, val, observer)?;
        if record.best {
            self.best_model = Some(self.model.clone());
        }
        self.state.history.push(record.clone());
        self.state.epoch = epoch;
        Ok(record)
    }

    /// Trains up to `config.epochs`, validating on `val` every epoch, writing checkpoints and
    /// history to `paths` and the final model to `paths.model`.
    ///
    /// # Errors
    /// [`Error::Training`] when a loss or gradient is NaN or infinite (naming the epoch and
    /// step; the last checkpoint written stays intact), shape errors when the data does not fit
    /// the model, [`Error::Io`] when a file cannot be written.
    pub fn fit(
        &mut self,
        train: &Dataset<F>,
        val: Option<&Dataset<F>>,
        paths: &RunPaths,
        observer: &mut dyn Observer,
    ) -> Result<TrainReport> {
        let c = self.config.clone();
        let rc = self.model.rnn.config();
        if train.input_size() != rc.input_size {
            return Err(Error::shape("training inputs", format!("[N, T, {}]", rc.input_size), train.inputs().shape()));
        }
        let chunk = c.tbptt.unwrap_or(train.seq_len()).min(train.seq_len());
        let batches = train.len().div_ceil(c.batch_size);
        let chunks = if train.readout() == Readout::LastStep { 1 } else { train.seq_len().div_ceil(chunk) };
        let plan = Plan {
            sequences: train.len(),
            val_sequences: val.map_or(0, Dataset::len),
            seq_len: train.seq_len(),
            parameters: self.model.num_params(),
            batches_per_epoch: batches,
            steps_per_epoch: batches * chunks,
            first_epoch: self.state.epoch + 1,
            epochs: c.epochs,
        };
        if let ScheduleKind::Cosine { total_steps: 0, .. } = self.config.schedule.kind {
            // a cosine runs over the whole run, known only now
            let run = c.epochs * plan.steps_per_epoch;
            self.config.schedule.set_run_steps(c.max_steps.map_or(run, |m| m.min(run)));
        }
        self.config.schedule.validate()?;
        observer.start(&plan);
        // patience is spent when the best epoch lies `patience` epochs back (also on resume)
        let patience_spent = |state: &TrainState| match (c.patience, &state.best) {
            (Some(p), Some(best)) => state.epoch - best.epoch >= p,
            _ => false,
        };
        let started = std::time::Instant::now();
        let out_of_time =
            |started: &std::time::Instant| c.time_limit.is_some_and(|t| started.elapsed().as_secs_f64() >= t);
        while self.state.epoch < c.epochs
            && !patience_spent(&self.state)
            && !out_of_time(&started)
            && !self.out_of_steps()
        {
            let epoch = self.state.epoch + 1;
            let record = self.run_epoch(epoch, train, val, observer)?;
            self.state.history.push(record.clone());
            self.state.epoch = epoch;
            if record.best {
                self.best_model = Some(self.model.clone());
                checkpoint::save(&paths.best, &self.checkpoint_view())?;
            }
            checkpoint::save(&paths.last, &self.checkpoint_view())?;
            write_history(paths, &self.state.history)?;
            if observer.wants_tensors() {
                self.report_tensors(&record, observer)?;
            }
            if observer.epoch(&record).is_break() {
                break;
            }
        }
        let stopped_early = self.state.epoch < c.epochs && patience_spent(&self.state);
        let (final_model, final_epoch) = match (&self.best_model, &self.state.best) {
            (Some(m), Some(b)) => (m, b.epoch),
            _ => (&self.model, self.state.epoch),
        };
        crate::io::model_file::save_with_metadata(final_model, &paths.model, &self.metadata)?;
        plot_history(paths, &self.state.history)?;
        plot_flow(paths, &self.state.history)?;
        Ok(TrainReport {
            history: self.state.history.clone(),
            final_epoch,
            best_val_loss: self.state.best.as_ref().map(|b| b.val_loss),
            stopped_early,
            paths: paths.clone(),
        })
    }

    fn checkpoint_view(&self) -> checkpoint::CheckpointRef<'_, F> {
        checkpoint::CheckpointRef {
            model: &self.model,
            optimizer: &self.optimizer,
            state: &self.state,
            rng: &self.rng,
            config: &self.config,
            metadata: &self.metadata,
            best_model: match &self.state.best {
                Some(b) if b.epoch != self.state.epoch => self.best_model.as_ref(),
                _ => None,
            },
        }
    }

    /// Hands the model's tensors and the kept gradients to the observer.
    fn report_tensors(&self, record: &EpochRecord, observer: &mut dyn Observer) -> Result<()> {
        let named = self.model.named_tensors();
        let fits = self.last_grads.len() == named.len()
            && self.last_grads.iter().zip(&named).all(|(g, (_, w))| g.shape() == w.shape());
        let grads = if self.grads_epoch == record.epoch && fits { Some(&self.last_grads) } else { None };
        let params: Vec<ParamView<'_>> = named
            .iter()
            .enumerate()
            .map(|(i, (name, w))| ParamView {
                name,
                weights: F::float_view(w.view()),
                grad: grads.map(|g| F::float_view(g[i].view())),
            })
            .collect();
        observer.tensors(record, &params)
    }

    fn run_epoch(
        &mut self,
        epoch: usize,
        train: &Dataset<F>,
        val: Option<&Dataset<F>>,
        observer: &mut dyn Observer,
    ) -> Result<EpochRecord> {
        let c = self.config.clone();
        let started = Instant::now();
        let mut order: Vec<usize> = (0..train.len()).collect();
        if c.shuffle && c.state_reset == StateReset::Sequence {
            order.shuffle(&mut self.rng);
        }
        let readout = train.readout();
        let chunk = c.tbptt.unwrap_or(train.seq_len()).min(train.seq_len());
        let batches = order.len().div_ceil(c.batch_size);
        let (mut loss_sum, mut count_sum, mut norm_sum, mut norm_n) = (0.0, 0.0, 0.0, 0usize);
        let mut clipped = 0usize;
        let mut lr = c.schedule.lr(c.lr, self.state.step);
        let mut carried: Option<State<F>> = None;
        let wants_tensors = observer.wants_tensors();
        let mut trained = 0;
        for (bi, rows) in order.chunks(c.batch_size).enumerate() {
            if self.out_of_steps() {
                break;
            }
            // the gradients of the epoch's last step are kept for an observer that wants them
            let keep_grads = wants_tensors && bi + 1 == batches;
            let batch = train.batch(rows);
            if c.state_reset == StateReset::Sequence {
                carried = None;
            }
            let mut h = carried.take().map(|h| h.first(rows.len()));
            let seq_len = batch.x.shape()[0];
            let mut t0 = 0;
            while t0 < seq_len && !self.out_of_steps() {
                let t1 = if readout == Readout::LastStep { seq_len } else { (t0 + chunk).min(seq_len) };
                lr = c.schedule.lr(c.lr, self.state.step);
                let (loss, count, norm, h_n) =
                    self.train_chunk(&batch, t0..t1, h.as_ref(), readout, lr, epoch, keep_grads)?;
                loss_sum += loss * count;
                count_sum += count;
                if let Some(n) = norm {
                    norm_sum += n;
                    norm_n += 1;
                    clipped += usize::from(c.clip_norm.is_some_and(|max| n > max));
                }
                h = Some(h_n);
                t0 = t1;
            }
            carried = h;
            trained += rows.len();
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            observer.batch(&BatchProgress {
                epoch,
                batch: bi + 1,
                batches,
                loss: loss_sum / count_sum.max(f64::MIN_POSITIVE),
                lr,
                sequences_per_sec: trained as f64 / secs,
            });
        }
        let train_secs = started.elapsed().as_secs_f64().max(1e-9);
        let (val_loss, val_accuracy) = match val {
            Some(v) => {
                let (l, a) = evaluate(&self.model, v, c.loss, c.batch_size, c.state_reset)?;
                (Some(l), a)
            }
            None => (None, None),
        };
        let mut best = false;
        if let Some(vl) = val_loss {
            let improved = match &self.state.best {
                None => true,
                Some(b) => vl < b.val_loss - c.min_delta,
            };
            if improved {
                self.state.best = Some(Best { epoch, val_loss: vl });
                best = true;
            }
        }
        let grad_flow = if c.diagnose { Some(super::history::measure_flow(&self.model, train, c.loss)?) } else { None };
        Ok(EpochRecord {
            epoch,
            train_loss: loss_sum / count_sum.max(f64::MIN_POSITIVE),
            val_loss,
            val_accuracy,
            lr,
            grad_norm: if norm_n > 0 { norm_sum / norm_n as f64 } else { 0.0 },
            step: self.state.step,
            seconds: started.elapsed().as_secs_f64(),
            sequences_per_sec: trained as f64 / train_secs,
            best,
            grad_flow,
            clipped: c.clip_norm.map(|_| clipped),
        })
    }

    /// Forward, loss, backward, clip and one optimizer step on steps `range` of a batch; with
    /// `keep_grads`, a copy of the gradients applied goes to `last_grads`.
    /// Returns (loss, counted steps, gradient norm before clipping, final state).
    fn train_chunk(
        &mut self,
        batch: &Batch<F>,
        range: std::ops::Range<usize>,
        h0: Option<&State<F>>,
        readout: Readout,
        lr: f64,
        epoch: usize,
        keep_grads: bool,
    ) -> Result<(f64, f64, Option<f64>, State<F>)> {
        let c = &self.config;
        let x = batch.x.slice(s![range.clone(), .., ..]);
        let trace = self.model.forward_train_from(x, h0, readout, &mut self.rng)?;
        let target_range = if readout == Readout::LastStep { 0..1 } else { range.clone() };
        let value =
            c.loss.compute(trace.y(), batch.target_view(target_range.clone()), batch.mask_view(target_range))?;
        let step = self.state.step + 1;
        if !value.loss.is_finite() {
            return Err(self.diverged(epoch, step, "loss", value.loss));
        }
        let h_n = trace.state();
        if value.count == 0.0 {
            return Ok((0.0, 0.0, None, h_n));
        }
        let mut grads = self.model.backward_owned(trace, value.grad.view(), None, false)?;
        let mut views = grads.tensors_mut();
        let norm = match c.clip_norm {
            Some(max) => optim::clip_grad_norm(&mut views, max),
            None => optim::global_norm(&views.iter().map(|v| v.view()).collect::<Vec<ArrayViewD<'_, F>>>()),
        };
        if !norm.is_finite() {
            return Err(self.diverged(epoch, step, "gradient norm", norm));
        }
        if let Some(v) = c.clip_value {
            optim::clip_grad_value(&mut views, v);
        }
        let grad_views: Vec<ArrayViewD<'_, F>> = views.iter().map(|v| v.view()).collect();
        if keep_grads {
            keep_copy(&mut self.last_grads, &grad_views);
            self.grads_epoch = epoch;
        }
        let mut params: Vec<_> = self.model.named_tensors_mut().into_iter().map(|(_, t)| t).collect();
        self.optimizer.step(lr, &mut params, &grad_views)?;
        // an IndRNN's |u| <= recurrent_max, as the paper constrains it (nothing for other cells)
        self.model.rnn.clamp_recurrent();
        self.state.step = step;
        Ok((value.loss, value.count, Some(norm), h_n))
    }

    fn diverged(&self, epoch: usize, step: usize, what: &str, value: f64) -> Error {
        let last = if self.state.epoch > 0 {
            format!("the last checkpoint (epoch {}) is intact", self.state.epoch)
        } else {
            "no checkpoint was written yet".to_string()
        };
        Error::Training(format!(
            "training diverged at epoch {epoch}, step {step}: {what} is {value}; {last} (try a lower --lr or --clip-norm)"
        ))
    }
}

/// Copies `grads` into `kept`, reusing its arrays when the shapes match (they do from the second
/// copy on: no allocation).
fn keep_copy<F: Float>(kept: &mut Vec<ArrayD<F>>, grads: &[ArrayViewD<'_, F>]) {
    kept.truncate(grads.len());
    for (i, g) in grads.iter().enumerate() {
        match kept.get_mut(i) {
            Some(k) if k.shape() == g.shape() => k.assign(g),
            Some(k) => *k = g.to_owned(),
            None => kept.push(g.to_owned()),
        }
    }
}

/// Mean loss (and accuracy for cross-entropy) of `model` on `data`, without dropout.
///
/// # Errors
/// Shape errors when the data does not fit the model.
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

#[cfg(test)]
#[path = "trainer_tests.rs"]
mod tests;
