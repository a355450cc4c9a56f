//! One epoch of [`Trainer`]: its batches, each cut into TBPTT chunks, one optimizer step per
//! chunk; validation at its end. An epoch stopped between two batches (see
//! [`Trainer::with_stop`]) leaves its order and running sums in the state, to be finished first
//! when training resumes.

use std::time::Instant;

use ndarray::{ArrayD, ArrayViewD, s};
use rand::seq::SliceRandom;

use super::{Trainer, evaluate};
use crate::data::{Batch, Dataset};
use crate::train::optim;
use crate::train::state::{Best, PartialEpoch};
use crate::train::{BatchProgress, EpochRecord, Observer, StateReset};
use crate::{Error, Float, Readout, Result, State};

impl<F: Float> Trainer<F> {
    /// Runs epoch `epoch` (finishing it if an interrupted run left it partial); `None` when
    /// `stoppable` and a stop was asked for before its last batch (the partial epoch is then in
    /// the state and the carried hidden state in `self.carried`).
    pub(super) fn run_epoch(
        &mut self,
        epoch: usize,
        train: &Dataset<F>,
        val: Option<&Dataset<F>>,
        observer: &mut dyn Observer,
        stoppable: bool,
    ) -> Result<Option<EpochRecord>> {
        let c = self.config.clone();
        let started = Instant::now();
        // an interrupted epoch goes on where it stopped, with its order and sums
        let resumed = self.state.partial.take().filter(|p| p.epoch == epoch && p.order.len() == train.len());
        let mut p = match resumed {
            Some(p) => p,
            None => {
                let mut order: Vec<usize> = (0..train.len()).collect();
                if c.shuffle && c.state_reset == StateReset::Sequence {
                    order.shuffle(&mut self.rng);
                }
                self.carried = None;
                PartialEpoch { epoch, order, ..PartialEpoch::default() }
            }
        };
        let earlier_secs = p.seconds;
        let readout = train.readout();
        let chunk = c.tbptt.unwrap_or(train.seq_len()).min(train.seq_len());
        let order = std::mem::take(&mut p.order);
        let batches = order.len().div_ceil(c.batch_size);
        let mut lr = c.schedule.lr(c.lr, self.state.step);
        let mut carried: Option<State<F>> = self.carried.take();
        let wants_tensors = observer.wants_tensors();
        for (bi, rows) in order.chunks(c.batch_size).enumerate().skip(p.batches_done) {
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
                p.loss_sum += loss * count;
                p.count_sum += count;
                if let Some(n) = norm {
                    p.norm_sum += n;
                    p.norm_n += 1;
                    p.clipped += usize::from(c.clip_norm.is_some_and(|max| n > max));
                }
                h = Some(h_n);
                t0 = t1;
            }
            carried = h;
            p.trained += rows.len();
            p.batches_done = bi + 1;
            let secs = earlier_secs + started.elapsed().as_secs_f64().max(1e-9);
            observer.batch(&BatchProgress {
                epoch,
                batch: bi + 1,
                batches,
                loss: p.loss_sum / p.count_sum.max(f64::MIN_POSITIVE),
                lr,
                sequences_per_sec: p.trained as f64 / secs,
            });
            // asked to stop: the batch is done, the rest of the epoch waits for a resume
            if stoppable && bi + 1 < batches && self.stop_requested() {
                p.order = order;
                p.seconds = secs;
                self.state.partial = Some(p);
                self.carried = carried;
                return Ok(None);
            }
        }
        let train_secs = earlier_secs + started.elapsed().as_secs_f64().max(1e-9);
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
        let grad_flow =
            if c.diagnose { Some(crate::train::history::measure_flow(&self.model, train, c.loss)?) } else { None };
        Ok(Some(EpochRecord {
            epoch,
            train_loss: p.loss_sum / p.count_sum.max(f64::MIN_POSITIVE),
            val_loss,
            val_accuracy,
            lr,
            grad_norm: if p.norm_n > 0 { p.norm_sum / p.norm_n as f64 } else { 0.0 },
            step: self.state.step,
            seconds: earlier_secs + started.elapsed().as_secs_f64(),
            sequences_per_sec: p.trained as f64 / train_secs,
            best,
            grad_flow,
            clipped: c.clip_norm.map(|_| p.clipped),
        }))
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
