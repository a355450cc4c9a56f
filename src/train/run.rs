//! A run of [`Trainer`]: epochs until the configured end, early stopping or a stop request,
//! with each epoch's record handed to the observer and, with files, a checkpoint, history and
//! plots written after it.

use super::{TrainReport, Trainer};
use crate::data::Dataset;
use crate::train::checkpoint;
use crate::train::history::{plot_flow, plot_history, write_history};
use crate::train::schedule::ScheduleKind;
use crate::train::state::TrainState;
use crate::train::{EpochRecord, Observer, ParamView, Plan, RunPaths};
use crate::{Error, Float, Readout, Result};

impl<F: Float> Trainer<F> {
    /// [`Trainer::fit`] with files (`paths`) or without.
    pub(super) fn run(
        &mut self,
        train: &Dataset<F>,
        val: Option<&Dataset<F>>,
        paths: Option<&RunPaths>,
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
        let mut interrupted = false;
        while self.state.epoch < c.epochs
            && !patience_spent(&self.state)
            && !out_of_time(&started)
            && !self.out_of_steps()
        {
            if self.stop_requested() {
                interrupted = true;
                // a run stopped before its first epoch has a checkpoint to resume from too
                if let Some(paths) = paths {
                    checkpoint::save(&paths.last, &self.checkpoint_view())?;
                }
                break;
            }
            let epoch = self.state.epoch + 1;
            let Some(record) = self.run_epoch(epoch, train, val, observer, true)? else {
                // stopped within the epoch: the checkpoint holds the partial epoch
                interrupted = true;
                if let Some(paths) = paths {
                    checkpoint::save(&paths.last, &self.checkpoint_view())?;
                }
                break;
            };
            self.state.history.push(record.clone());
            self.state.epoch = epoch;
            if record.best {
                self.best_model = Some(self.model.clone());
            }
            if let Some(paths) = paths {
                if record.best {
                    checkpoint::save(&paths.best, &self.checkpoint_view())?;
                }
                // the history first: a kill between the two leaves a checkpoint one epoch behind
                // the history, which the resumed run rewrites from the checkpoint's own records
                write_history(paths, &self.state.history)?;
                checkpoint::save(&paths.last, &self.checkpoint_view())?;
            }
            if observer.wants_tensors() {
                self.report_tensors(&record, observer)?;
            }
            if observer.epoch(&record).is_break() {
                break;
            }
        }
        let stopped_early = self.state.epoch < c.epochs && patience_spent(&self.state);
        let final_epoch = match (&self.best_model, &self.state.best) {
            (Some(_), Some(b)) => b.epoch,
            _ => self.state.epoch,
        };
        if let Some(paths) = paths {
            // also when no epoch ran (a resume from the last epoch's checkpoint)
            write_history(paths, &self.state.history)?;
            crate::io::model_file::save_with_metadata(self.final_model(), &paths.model, &self.metadata)?;
            let best = self.best_model.as_ref().and(self.state.best.as_ref()).map(|b| b.epoch);
            plot_history(paths, &self.state.history, self.config.loss, best)?;
            plot_flow(paths, &self.state.history)?;
        }
        Ok(TrainReport {
            history: self.state.history.clone(),
            final_epoch,
            best_val_loss: self.state.best.as_ref().map(|b| b.val_loss),
            stopped_early,
            interrupted,
            paths: paths.cloned(),
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
            // stored unless the weights are the best epoch's (its end, not within a later epoch)
            best_model: match &self.state.best {
                Some(b) if b.epoch != self.state.epoch || self.state.partial.is_some() => self.best_model.as_ref(),
                _ => None,
            },
            carried: self.state.partial.as_ref().and(self.carried.as_ref()),
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
}
