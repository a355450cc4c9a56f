//! `rnn train`: fit a model to `.npy` sequences with backpropagation through time.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::{Array2, Array3, ArrayD, Axis, Ix2, Ix3};
use rnn::data::npy;
use rnn::data::{Dataset, Targets};
use rnn::loss::Loss;
use rnn::optim::OptimizerConfig;
use rnn::schedule::Schedule;
use rnn::train::{BatchProgress, EpochRecord, Observer, Plan, RunPaths, StateReset, TrainConfig, Trainer};
use rnn::{Float, Model, ModelConfig, RnnConfig};

use super::{Act, Dtype, InitArg, print_stdout, thousands};

/// Arguments of `rnn train`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Writes MODEL (--out) plus MODEL.last.safetensors and MODEL.best.safetensors \
(checkpoints, resumable with --resume), MODEL.history.csv/.jsonl and MODEL.loss.png/.svg beside it.")]
pub struct Args {
    // ---- data ----
    /// Input sequences .npy [N, T, I] (float32 or float64)
    #[arg(long, value_name = "PATH", help_heading = "Data")]
    inputs: PathBuf,
    /// Targets .npy: [N, T, O] (a target per step) or [N, O] (last step only)
    #[arg(long, value_name = "PATH", help_heading = "Data")]
    targets: PathBuf,
    /// Optional mask .npy [N, T] of 0/1: steps with 0 count for nothing (padding)
    #[arg(long, value_name = "PATH", help_heading = "Data")]
    mask: Option<PathBuf>,
    /// Validation inputs .npy (instead of --val-split)
    #[arg(long, value_name = "PATH", requires = "val_targets", help_heading = "Data")]
    val_inputs: Option<PathBuf>,
    /// Validation targets .npy
    #[arg(long, value_name = "PATH", requires = "val_inputs", help_heading = "Data")]
    val_targets: Option<PathBuf>,
    /// Fraction of the sequences held out for validation, taken from the end (0 for none)
    #[arg(long, value_name = "F", default_value_t = 0.1, help_heading = "Data")]
    val_split: f64,

    // ---- model ----
    /// Hidden units per layer and direction
    #[arg(long, value_name = "H", default_value_t = 32, help_heading = "Model")]
    hidden: usize,
    /// Stacked layers
    #[arg(long, value_name = "L", default_value_t = 1, help_heading = "Model")]
    layers: usize,
    /// Activation of the recurrence
    #[arg(long, value_enum, default_value_t = Act::Tanh, help_heading = "Model")]
    nonlinearity: Act,
    /// Leave out the biases b_ih and b_hh
    #[arg(long, help_heading = "Model")]
    no_bias: bool,
    /// Dropout between layers during training, in [0, 1)
    #[arg(long, value_name = "P", default_value_t = 0.0, help_heading = "Model")]
    dropout: f64,
    /// Add a reverse-time direction to every layer
    #[arg(long, help_heading = "Model")]
    bidirectional: bool,
    /// Initialisation scheme
    #[arg(long, value_enum, default_value_t = InitArg::Pytorch, help_heading = "Model")]
    init: InitArg,
    /// Floating-point type to train in
    #[arg(long, value_enum, default_value_t = Dtype::F32, help_heading = "Model")]
    dtype: Dtype,

    // ---- training ----
    /// Passes over the training data
    #[arg(long, value_name = "N", default_value_t = 20, help_heading = "Training")]
    epochs: usize,
    /// Sequences per optimizer step
    #[arg(long, value_name = "B", default_value_t = 32, help_heading = "Training")]
    batch_size: usize,
    /// Learning rate (the schedule's base)
    #[arg(long, value_name = "LR", default_value_t = 1e-3, help_heading = "Training")]
    lr: f64,
    /// Optimizer, with PyTorch's update rules and defaults
    #[arg(long, value_enum, default_value_t = Opt::Adam, help_heading = "Training")]
    optimizer: Opt,
    /// Weight decay (L2 in the gradient; decoupled for adamw, default 0.01 there, else 0)
    #[arg(long, value_name = "WD", help_heading = "Training")]
    weight_decay: Option<f64>,
    /// Momentum for sgd and rmsprop
    #[arg(long, value_name = "M", help_heading = "Training")]
    momentum: Option<f64>,
    /// Nesterov momentum (sgd)
    #[arg(long, help_heading = "Training")]
    nesterov: bool,
    /// Learning-rate schedule over optimizer steps: constant, step:N:GAMMA (x GAMMA every N steps), cosine[:ETA_MIN]
    #[arg(long, value_name = "S", default_value = "constant", help_heading = "Training")]
    schedule: String,
    /// Linear learning-rate warm-up over this many optimizer steps
    #[arg(long, value_name = "STEPS", default_value_t = 0, help_heading = "Training")]
    warmup: usize,
    /// Clip the global gradient norm to this (exploding gradients)
    #[arg(long, value_name = "NORM", help_heading = "Training")]
    clip_norm: Option<f64>,
    /// Clip every gradient entry to [-V, V]
    #[arg(long, value_name = "V", help_heading = "Training")]
    clip_value: Option<f64>,
    /// Truncated BPTT: chunks of K steps, the state carried across chunks, the gradient cut
    #[arg(long, value_name = "K", help_heading = "Training")]
    tbptt: Option<usize>,
    /// When the hidden state restarts from zeros: every batch (sequence) or every epoch (stateful)
    #[arg(long, value_enum, default_value_t = Reset::Sequence, help_heading = "Training")]
    state_reset: Reset,
    /// Loss on the targets
    #[arg(long, value_enum, default_value_t = LossArg::Mse, help_heading = "Training")]
    loss: LossArg,
    /// Stop after this many epochs without validation improvement (the best epoch's weights are kept)
    #[arg(long, value_name = "EPOCHS", help_heading = "Training")]
    patience: Option<usize>,
    /// A validation improvement must exceed this
    #[arg(long, value_name = "D", default_value_t = 0.0, help_heading = "Training")]
    min_delta: f64,
    /// Keep the sequences in file order (no per-epoch shuffling)
    #[arg(long, help_heading = "Training")]
    no_shuffle: bool,
    /// Seed of initialisation, shuffling and dropout: the same seed gives the same model
    #[arg(long, value_name = "S", default_value_t = 0, help_heading = "Training")]
    seed: u64,

    // ---- output ----
    /// Model file to write (the best epoch's weights when there is validation data)
    #[arg(long, value_name = "PATH", default_value = "model.safetensors", help_heading = "Output")]
    out: PathBuf,
    /// Continue from a checkpoint (MODEL.last.safetensors): weights, optimizer, epoch, schedule, RNG
    #[arg(long, value_name = "CKPT", help_heading = "Output")]
    resume: Option<PathBuf>,
    /// Print nothing but errors
    #[arg(long, short, help_heading = "Output")]
    quiet: bool,
    /// Print one JSON object per epoch on stdout
    #[arg(long, help_heading = "Output")]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Opt {
    /// SGD (with --momentum, --nesterov)
    Sgd,
    /// Adam
    Adam,
    /// AdamW (decoupled weight decay)
    Adamw,
    /// Adagrad
    Adagrad,
    /// RMSprop (with --momentum)
    Rmsprop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Reset {
    /// Each batch starts from zeros
    Sequence,
    /// The state carries from batch to batch within an epoch (stateful; no shuffling)
    Epoch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LossArg {
    /// Mean squared error
    Mse,
    /// Mean absolute error
    Mae,
}

/// Runs `rnn train`.
pub fn run(args: &Args) -> Result<()> {
    match args.dtype {
        Dtype::F32 => train::<f32>(args),
        Dtype::F64 => train::<f64>(args),
    }
}

fn train_config(args: &Args) -> Result<TrainConfig> {
    let mut optimizer = match args.optimizer {
        Opt::Sgd => OptimizerConfig::sgd(),
        Opt::Adam => OptimizerConfig::adam(),
        Opt::Adamw => OptimizerConfig::adamw(),
        Opt::Adagrad => OptimizerConfig::adagrad(),
        Opt::Rmsprop => OptimizerConfig::rmsprop(),
    };
    if let Some(wd) = args.weight_decay {
        optimizer = optimizer.with_weight_decay(wd);
    }
    match (&mut optimizer, args.momentum) {
        (OptimizerConfig::Sgd { momentum, .. } | OptimizerConfig::RmsProp { momentum, .. }, Some(m)) => *momentum = m,
        (_, Some(_)) => bail!("--momentum applies to sgd and rmsprop only"),
        _ => {}
    }
    match (&mut optimizer, args.nesterov) {
        (OptimizerConfig::Sgd { nesterov, .. }, true) => *nesterov = true,
        (_, true) => bail!("--nesterov applies to sgd only"),
        _ => {}
    }
    let schedule: Schedule = args.schedule.parse::<Schedule>()?.with_warmup(args.warmup);
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        optimizer,
        schedule,
        clip_norm: args.clip_norm,
        clip_value: args.clip_value,
        tbptt: args.tbptt,
        state_reset: match args.state_reset {
            Reset::Sequence => StateReset::Sequence,
            Reset::Epoch => StateReset::Epoch,
        },
        loss: match args.loss {
            LossArg::Mse => Loss::Mse,
            LossArg::Mae => Loss::Mae,
        },
        patience: args.patience,
        min_delta: args.min_delta,
        shuffle: !args.no_shuffle,
        seed: args.seed,
    };
    config.validate()?;
    Ok(config)
}

/// Reads `[N, T, I]` inputs and `[N, T, O]` / `[N, O]` targets (and an `[N, T]` mask).
fn read_dataset<F: Float>(inputs: &Path, targets: &Path, mask: Option<&Path>) -> Result<Dataset<F>> {
    let x = read_float::<F>(inputs)?;
    if x.ndim() != 3 {
        bail!("{}: expected [N, T, input_size], got shape {:?}", inputs.display(), x.shape());
    }
    let x: Array3<F> = x.into_dimensionality::<Ix3>().with_context(|| inputs.display().to_string())?;
    let y = read_float::<F>(targets)?;
    let y: Array3<F> = match y.ndim() {
        3 => y.into_dimensionality::<Ix3>().with_context(|| targets.display().to_string())?,
        2 => y.into_dimensionality::<Ix2>().with_context(|| targets.display().to_string())?.insert_axis(Axis(1)),
        _ => bail!("{}: expected [N, T, O] or [N, O], got shape {:?}", targets.display(), y.shape()),
    };
    if y.shape()[0] != x.shape()[0] {
        bail!(
            "{}: {} target rows for {} input sequences in {}",
            targets.display(),
            y.shape()[0],
            x.shape()[0],
            inputs.display()
        );
    }
    if y.shape()[1] != x.shape()[1] && y.shape()[1] != 1 {
        bail!(
            "{}: targets have {} steps but the inputs have {} (use [N, T, O] or [N, O])",
            targets.display(),
            y.shape()[1],
            x.shape()[1]
        );
    }
    if let Some(bad) = x.iter().chain(y.iter()).position(|v| !v.is_finite()) {
        let file = if bad < x.len() { inputs } else { targets };
        bail!("{}: contains NaN or infinite values", file.display());
    }
    let mask = match mask {
        None => None,
        Some(path) => {
            let m = read_float::<F>(path)?;
            let m: Array2<F> = m
                .into_dimensionality::<Ix2>()
                .map_err(|_| anyhow::anyhow!("{}: expected a mask of shape [N, T]", path.display()))?;
            Some(m)
        }
    };
    Dataset::new(x, Targets::Values(y), mask).with_context(|| targets.display().to_string())
}

fn read_float<F: Float>(path: &Path) -> Result<ArrayD<F>> {
    Ok(npy::read(path)?.into_float::<F>())
}

fn train<F: Float>(args: &Args) -> Result<()> {
    let config = train_config(args)?;
    let data = read_dataset::<F>(&args.inputs, &args.targets, args.mask.as_deref())?;
    let (train, val) = match (&args.val_inputs, &args.val_targets) {
        (Some(vi), Some(vt)) => (data, Some(read_dataset::<F>(vi, vt, None)?)),
        _ => split(data, args.val_split)?,
    };
    let output_size = match train.targets() {
        Targets::Values(v) => v.shape()[2],
        Targets::Classes(_) => unreachable!("regression targets"),
    };
    let mut trainer = match &args.resume {
        Some(ckpt) => Trainer::<F>::resume(ckpt, config.clone())?,
        None => {
            let rnn = RnnConfig {
                input_size: train.input_size(),
                hidden_size: args.hidden,
                num_layers: args.layers,
                nonlinearity: args.nonlinearity.into(),
                bias: !args.no_bias,
                dropout: args.dropout,
                bidirectional: args.bidirectional,
            };
            let model =
                Model::<F>::new(ModelConfig { rnn, output_size: Some(output_size) }, args.init.into(), args.seed)?;
            Trainer::new(model, config.clone())?
        }
    };
    let mc = trainer.model().config();
    if mc.rnn.input_size != train.input_size() || mc.output_size != Some(output_size) {
        bail!(
            "{}: the data has {} input features and {output_size} outputs but the model has {} and {}",
            args.inputs.display(),
            train.input_size(),
            mc.rnn.input_size,
            mc.output_size.map_or("none".into(), |o| o.to_string())
        );
    }
    let paths = RunPaths::from_model_path(&args.out);
    let mut progress = Progress::new(args, &config);
    let started = Instant::now();
    let report = trainer.fit(&train, val.as_ref(), &paths, &mut progress)?;
    progress.finish();
    if !args.quiet {
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
        eprintln!("{}", lines.join("\n"));
    }
    Ok(())
}

/// Holds out the last `fraction` of the sequences for validation (as Keras' `validation_split`).
fn split<F: Float>(data: Dataset<F>, fraction: f64) -> Result<(Dataset<F>, Option<Dataset<F>>)> {
    if !(0.0..1.0).contains(&fraction) {
        bail!("--val-split must be in [0, 1), got {fraction}");
    }
    let n_val = (data.len() as f64 * fraction).round() as usize;
    if n_val == 0 {
        return Ok((data, None));
    }
    if n_val >= data.len() {
        bail!("--val-split {fraction} leaves no training sequence out of {}", data.len());
    }
    let cut = data.len() - n_val;
    let train: Vec<usize> = (0..cut).collect();
    let val: Vec<usize> = (cut..data.len()).collect();
    Ok((data.subset(&train), Some(data.subset(&val))))
}

/// Progress on stderr: a bar per epoch on a terminal, one plain line per epoch otherwise,
/// nothing with `--quiet`; JSON lines on stdout with `--json`.
struct Progress {
    quiet: bool,
    json: bool,
    tty: bool,
    bar: Option<ProgressBar>,
    epochs: usize,
    describe: String,
}

impl Progress {
    fn new(args: &Args, config: &TrainConfig) -> Self {
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

    fn finish(&mut self) {
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
            let line = format!(
                "epoch {}/{}  train {:.6}{val}  lr {:.2e}  |g| {:.3}  {:.0} seq/s  {:.1}s{}",
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
