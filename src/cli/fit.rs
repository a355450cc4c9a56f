//! Training from the command line: a trainer for new or resumed models, and `Trainer::fit` run
//! with a progress display.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::time::Instant;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rnn::data::Dataset;
use rnn::train::{
    BatchProgress, EpochRecord, Observer, Plan, RunPaths, TensorBoard, TrainConfig, TrainReport, Trainer,
};
use rnn::{Float, Model};

use super::args::train::{Args, OutputArgs};
use super::common::{print_stdout, thousands};

/// A trainer for a new model (sizes from the data, the rest from the flags) or, with
/// `--resume`, the checkpoint's; `metadata` (task settings) goes into every file written.
///
/// # Errors
/// When the checkpoint cannot be read or does not fit the data's sizes.
pub fn trainer<F: Float>(
    args: &Args,
    config: TrainConfig,
    input_size: usize,
    output_size: usize,
    metadata: HashMap<String, String>,
) -> Result<Trainer<F>> {
    trainer_seeded(args, config, input_size, output_size, metadata, args.training.seed)
}

/// As [`trainer`], a new model initialised (and its batches shuffled) with `seed` instead of
/// `--seed`.
///
/// # Errors
/// As [`trainer`].
pub fn trainer_seeded<F: Float>(
    args: &Args,
    mut config: TrainConfig,
    input_size: usize,
    output_size: usize,
    metadata: HashMap<String, String>,
    seed: u64,
) -> Result<Trainer<F>> {
    if args.output.resume.is_none() {
        config.seed = seed;
    }
    let trainer = match &args.output.resume {
        Some(ckpt) => {
            let epochs = config.epochs;
            let t = Trainer::<F>::resume(ckpt, config)?;
            let done = t.epochs_done();
            if epochs < done || (epochs == done && t.partial_epoch().is_some()) {
                bail!(
                    "{}: the checkpoint already did {done} epochs and --epochs is {epochs}: nothing to train; \
                     give --epochs above {done} to train further",
                    ckpt.display()
                );
            }
            if epochs == done {
                eprintln!(
                    "rnn: note: {}: the checkpoint already did all {done} epochs: writing its model without training \
                     (give --epochs above {done} to train further)",
                    ckpt.display()
                );
            }
            let mc = t.model().config();
            if mc.rnn.input_size != input_size || mc.output_size != Some(output_size) {
                bail!(
                    "{}: the checkpoint's model has {} inputs and {} outputs but the data has {input_size} and {output_size}",
                    ckpt.display(),
                    mc.rnn.input_size,
                    mc.output_size.map_or("no".into(), |o| o.to_string())
                );
            }
            t
        }
        None => {
            let mut model = Model::<F>::new(args.model.config(input_size, output_size), args.model.init.into(), seed)?;
            super::common::gate_init(&mut model, &args.model.recurrence, seed)?;
            Trainer::new(model, config)?
        }
    };
    Ok(trainer.with_metadata(metadata).with_stop(super::interrupt::flag()))
}

/// Runs `trainer.fit` with the progress display (and, given one, the TensorBoard log), then
/// prints where everything went.
///
/// # Errors
/// As [`Trainer::fit`].
pub fn fit<F: Float>(
    trainer: &mut Trainer<F>,
    train: &Dataset<F>,
    val: Option<&Dataset<F>>,
    args: &Args,
    tensorboard: Option<TensorBoard>,
) -> Result<TrainReport> {
    let paths = RunPaths::from_model_path(&args.output.out);
    let config = trainer.config().clone();
    let mut progress = Progress::new(&args.output, &config);
    let started = Instant::now();
    let event_file = tensorboard.as_ref().map(|tb| tb.path().to_path_buf());
    let report = match tensorboard {
        Some(tb) => trainer.fit(train, val, &paths, &mut (&mut progress, tb)),
        None => trainer.fit(train, val, &paths, &mut progress),
    };
    progress.finish();
    let report = report?;
    if report.interrupted {
        report_interruption(trainer, &report, &paths);
        return Err(super::interrupt::Interrupted.into());
    }
    if !args.output.quiet {
        let mut lines = vec![format!(
            "done: {} epochs in {:.1} s{}",
            report.history.len(),
            started.elapsed().as_secs_f64(),
            if report.stopped_early { " (stopped early: no validation improvement)" } else { "" }
        )];
        match report.best_val_loss {
            Some(v) => lines.push(format!(
                "model:           {} (weights of epoch {}, the best: validation loss {v:.6})",
                paths.model.display(),
                report.final_epoch
            )),
            None => lines.push(format!("model:           {} (epoch {})", paths.model.display(), report.final_epoch)),
        }
        lines.push(format!("last checkpoint: {}", paths.last.display()));
        if report.best_val_loss.is_some() {
            lines.push(format!("best checkpoint: {}", paths.best.display()));
        }
        lines.push(format!("history:         {}, {}", paths.history_csv.display(), paths.history_jsonl.display()));
        lines.push(format!("loss plot:       {}.png, {}.svg", paths.plot_stem.display(), paths.plot_stem.display()));
        if let Some(file) = event_file {
            let dir = file.parent().unwrap_or(&file);
            lines.push(format!("tensorboard:     {} (tensorboard --logdir {})", file.display(), dir.display()));
        }
        super::common::print_result(&format!("{}\n", lines.join("\n")), args.output.json)?;
    }
    Ok(report)
}

/// Says on stderr (even with `--quiet`) what an interrupted run saved and how to resume it.
fn report_interruption<F: Float>(trainer: &Trainer<F>, report: &TrainReport, paths: &RunPaths) {
    let done = match &trainer.partial_epoch() {
        Some((epoch, batches, of)) => format!("{batches} of {of} batches of epoch {epoch} done"),
        None => format!("{} epochs done", trainer.epochs_done()),
    };
    let model = match report.best_val_loss {
        Some(v) => format!("weights of epoch {}, the best so far: validation loss {v:.6}", report.final_epoch),
        None if trainer.partial_epoch().is_some() => "the weights now".to_string(),
        None => format!("epoch {}", report.final_epoch),
    };
    eprintln!(
        "rnn: training interrupted ({done})\nmodel:           {} ({model})\nlast checkpoint: {}\nresume with:     {}",
        paths.model.display(),
        paths.last.display(),
        super::interrupt::resume_command(&paths.last)
    );
}

/// Progress on stderr: a bar per epoch on a terminal, one plain line per epoch otherwise,
/// nothing with `--quiet`; JSON lines on stdout with `--json`.
pub struct Progress {
    quiet: bool,
    json: bool,
    tty: bool,
    bar: Option<ProgressBar>,
    epochs: usize,
    describe: String,
}

impl Progress {
    /// Progress for a run with these output flags.
    pub fn new(args: &OutputArgs, config: &TrainConfig) -> Self {
        Progress {
            quiet: args.quiet,
            json: args.json,
            tty: std::io::stderr().is_terminal(),
            bar: None,
            epochs: config.epochs,
            describe: format!(
                "{} lr {}{}{}",
                config.optimizer.name(),
                config.lr,
                config.tbptt.map(|k| format!(", truncated BPTT k={k}")).unwrap_or_default(),
                config.clip_norm.map(|c| format!(", clip-norm {c}")).unwrap_or_default()
            ),
        }
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn start(&mut self, plan: &Plan) {
        if self.quiet {
            return;
        }
        let val = if plan.val_sequences > 0 {
            format!(" (+{} for validation)", plan.val_sequences)
        } else {
            " (no validation data)".to_string()
        };
        let resume =
            if plan.first_epoch > 1 { format!(", resuming at epoch {}", plan.first_epoch) } else { String::new() };
        eprintln!(
            "training on {} sequences{val} of {} steps: {} parameters, {} batches/epoch = {} optimizer steps/epoch, epochs {}-{}{resume}; {}",
            plan.sequences,
            plan.seq_len,
            thousands(plan.parameters),
            plan.batches_per_epoch,
            plan.steps_per_epoch,
            plan.first_epoch,
            plan.epochs,
            self.describe
        );
    }

    fn batch(&mut self, p: &BatchProgress) {
        if self.quiet || !self.tty {
            return;
        }
        let epochs = self.epochs;
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(p.batches as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} ETA {eta} | {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        bar.set_prefix(format!("epoch {}/{epochs}", p.epoch));
        bar.set_length(p.batches as u64);
        bar.set_position(p.batch as u64);
        bar.set_message(format!("loss {:.5}  lr {:.2e}  {:.0} seq/s", p.loss, p.lr, p.sequences_per_sec));
    }

    fn epoch(&mut self, r: &EpochRecord) -> ControlFlow<()> {
        if self.json {
            // stdout gone (e.g. `| head`): nothing useful left to print
            let _ = print_stdout(&format!("{}\n", serde_json::to_string(r).unwrap_or_default()));
        }
        if !self.quiet {
            let val = match (r.val_loss, r.val_accuracy) {
                (Some(v), Some(a)) => format!("  val {v:.6}  acc {:.2}%", a * 100.0),
                (Some(v), None) => format!("  val {v:.6}"),
                _ => String::new(),
            };
            // clipping by norm, reported when it fires
            let clipped = match r.clipped {
                Some(k) if k > 0 => format!(" (clipped {k}x)"),
                _ => String::new(),
            };
            let line = format!(
                "epoch {}/{}  train {:.6}{val}  lr {:.2e}  |g| {:.3}{clipped}  {:.0} seq/s  {:.1}s{}",
                r.epoch,
                self.epochs,
                r.train_loss,
                r.lr,
                r.grad_norm,
                r.sequences_per_sec,
                r.seconds,
                if r.best { "  *best" } else { "" }
            );
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
            if let Some(bar) = &self.bar {
                bar.reset();
            }
        }
        ControlFlow::Continue(())
    }
}
