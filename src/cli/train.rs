//! `rnn train`: fit a model to `.npy` sequences with backpropagation through time.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::{Array2, Array3, ArrayD, Axis, Ix2, Ix3};
use rnn::data::{Dataset, Targets};
use rnn::io::npy;
use rnn::loss::Loss;
use rnn::optim::OptimizerConfig;
use rnn::schedule::Schedule;
use rnn::train::{BatchProgress, EpochRecord, Observer, Plan, RunPaths, StateReset, TrainConfig, TrainReport, Trainer};
use rnn::{Float, Model, ModelConfig, RnnConfig};

use super::{Act, Dtype, InitArg, print_stdout, thousands};

/// Arguments of `rnn train`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Writes MODEL (--out) plus MODEL.last.safetensors and MODEL.best.safetensors \
(checkpoints, resumable with --resume), MODEL.history.csv/.jsonl and MODEL.loss.png/.svg beside it.")]
pub struct Args {
    /// What to learn: sequence regression on .npy arrays (default), forecasting a CSV series,
    /// a character language model on a text file, or sequence classification
    #[arg(long, value_enum, default_value_t = Task::Sequence)]
    pub task: Task,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub forecast: super::forecast::TrainArgs,
    #[command(flatten)]
    pub charlm: super::charlm::TrainArgs,
    #[command(flatten)]
    pub classify: super::classify::TrainArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub training: TrainingArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The jobs `rnn train` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// Sequence regression: --inputs [N, T, I] and --targets [N, T, O] or [N, O]
    Sequence,
    /// Time-series forecasting from a CSV file: --data, --column, --window, --horizon
    Forecast,
    /// Character-level language model on a UTF-8 text file: --data
    Charlm,
    /// Sequence classification (many-to-one): --inputs [N, T, I] and --labels [N]
    Classify,
}

/// Where the data comes from.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Data")]
pub struct DataArgs {
    /// Input sequences .npy [N, T, I] (float32 or float64)
    #[arg(long, value_name = "PATH")]
    pub inputs: Option<PathBuf>,
    /// Targets .npy: [N, T, O] (a target per step) or [N, O] (last step only)
    #[arg(long, value_name = "PATH")]
    pub targets: Option<PathBuf>,
    /// Class labels .npy [N] of integers 0..C (--task classify)
    #[arg(long, value_name = "PATH")]
    pub labels: Option<PathBuf>,
    /// Data file: a CSV series (--task forecast) or a UTF-8 text (--task charlm)
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Optional mask .npy [N, T] of 0/1: steps with 0 count for nothing (padding)
    #[arg(long, value_name = "PATH")]
    pub mask: Option<PathBuf>,
    /// Validation inputs .npy (instead of --val-split)
    #[arg(long, value_name = "PATH", requires = "val_targets")]
    pub val_inputs: Option<PathBuf>,
    /// Validation targets .npy
    #[arg(long, value_name = "PATH", requires = "val_inputs")]
    pub val_targets: Option<PathBuf>,
    /// Fraction of the sequences held out for validation, taken from the end (0 for none)
    #[arg(long, value_name = "F", default_value_t = 0.1)]
    pub val_split: f64,
}

/// The model's shape.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Model")]
pub struct ModelArgs {
    /// Hidden units per layer and direction (--task charlm: 128)
    #[arg(long, value_name = "H", default_value_t = 32, default_value_if("task", "charlm", "128"))]
    pub hidden: usize,
    /// Stacked layers
    #[arg(long, value_name = "L", default_value_t = 1)]
    pub layers: usize,
    /// Activation of the recurrence
    #[arg(long, value_enum, default_value_t = Act::Tanh)]
    pub nonlinearity: Act,
    /// Leave out the biases b_ih and b_hh
    #[arg(long)]
    pub no_bias: bool,
    /// Dropout between layers during training, in [0, 1)
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub dropout: f64,
    /// Add a reverse-time direction to every layer
    #[arg(long)]
    pub bidirectional: bool,
    /// Initialisation scheme
    #[arg(long, value_enum, default_value_t = InitArg::Pytorch)]
    pub init: InitArg,
    /// Floating-point type to train in
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    pub dtype: Dtype,
}

/// How to train.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Training")]
pub struct TrainingArgs {
    /// Passes over the training data
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub epochs: usize,
    /// Sequences per optimizer step
    #[arg(long, value_name = "B", default_value_t = 32)]
    pub batch_size: usize,
    /// Learning rate (the schedule's base) (--task charlm: 4e-3)
    #[arg(long, value_name = "LR", default_value_t = 1e-3, default_value_if("task", "charlm", "4e-3"))]
    pub lr: f64,
    /// Optimizer, with PyTorch's update rules and defaults
    #[arg(long, value_enum, default_value_t = Opt::Adam)]
    pub optimizer: Opt,
    /// Weight decay (L2 in the gradient; decoupled for adamw, default 0.01 there, else 0)
    #[arg(long, value_name = "WD")]
    pub weight_decay: Option<f64>,
    /// Momentum for sgd and rmsprop
    #[arg(long, value_name = "M")]
    pub momentum: Option<f64>,
    /// Nesterov momentum (sgd)
    #[arg(long)]
    pub nesterov: bool,
    /// Learning-rate schedule over optimizer steps: constant, step:N:GAMMA (x GAMMA every N steps), cosine[:ETA_MIN]
    #[arg(long, value_name = "S", default_value = "constant")]
    pub schedule: String,
    /// Linear learning-rate warm-up over this many optimizer steps
    #[arg(long, value_name = "STEPS", default_value_t = 0)]
    pub warmup: usize,
    /// Clip the global gradient norm to this (exploding gradients) (--task charlm: 5)
    #[arg(long, value_name = "NORM", default_value_if("task", "charlm", "5"))]
    pub clip_norm: Option<f64>,
    /// Clip every gradient entry to [-V, V]
    #[arg(long, value_name = "V")]
    pub clip_value: Option<f64>,
    /// Truncated BPTT: chunks of K steps, the state carried across chunks, the gradient cut
    /// (--task charlm: 50, the text's chunk length)
    #[arg(long, value_name = "K", default_value_if("task", "charlm", "50"))]
    pub tbptt: Option<usize>,
    /// When the hidden state restarts from zeros: every batch (sequence) or every epoch (stateful)
    /// (--task charlm: epoch)
    #[arg(long, value_enum, default_value_t = Reset::Sequence, default_value_if("task", "charlm", "epoch"))]
    pub state_reset: Reset,
    /// Loss on real-valued targets (classification and charlm use cross-entropy)
    #[arg(long, value_enum, default_value_t = LossArg::Mse)]
    pub loss: LossArg,
    /// Stop after this many epochs without validation improvement (the best epoch's weights are kept)
    #[arg(long, value_name = "EPOCHS")]
    pub patience: Option<usize>,
    /// A validation improvement must exceed this
    #[arg(long, value_name = "D", default_value_t = 0.0)]
    pub min_delta: f64,
    /// Keep the sequences in file order (no per-epoch shuffling)
    #[arg(long)]
    pub no_shuffle: bool,
    /// Seed of initialisation, shuffling and dropout: the same seed gives the same model
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
}

/// What to write and print.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Model file to write (the best epoch's weights when there is validation data)
    #[arg(long, value_name = "PATH", default_value = "model.safetensors")]
    pub out: PathBuf,
    /// Continue from a checkpoint (MODEL.last.safetensors): weights, optimizer, epoch, schedule, RNG
    #[arg(long, value_name = "CKPT")]
    pub resume: Option<PathBuf>,
    /// Print nothing but errors
    #[arg(long, short)]
    pub quiet: bool,
    /// Print one JSON object per epoch on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Opt {
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
pub enum Reset {
    /// Each batch starts from zeros
    Sequence,
    /// The state carries from batch to batch within an epoch (stateful; no shuffling)
    Epoch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Mean squared error
    Mse,
    /// Mean absolute error
    Mae,
}

/// Runs `rnn train`.
pub fn run(args: &Args) -> Result<()> {
    match args.task {
        Task::Sequence => match args.model.dtype {
            Dtype::F32 => train_sequences::<f32>(args),
            Dtype::F64 => train_sequences::<f64>(args),
        },
        Task::Forecast => super::forecast::train(args),
        Task::Charlm => super::charlm::train(args),
        Task::Classify => super::classify::train(args),
    }
}

impl TrainingArgs {
    /// The library's training configuration, with `loss` for tasks that fix it.
    pub fn config(&self, loss: Option<Loss>) -> Result<TrainConfig> {
        let mut optimizer = match self.optimizer {
            Opt::Sgd => OptimizerConfig::sgd(),
            Opt::Adam => OptimizerConfig::adam(),
            Opt::Adamw => OptimizerConfig::adamw(),
            Opt::Adagrad => OptimizerConfig::adagrad(),
            Opt::Rmsprop => OptimizerConfig::rmsprop(),
        };
        if let Some(wd) = self.weight_decay {
            optimizer = optimizer.with_weight_decay(wd);
        }
        match (&mut optimizer, self.momentum) {
            (OptimizerConfig::Sgd { momentum, .. } | OptimizerConfig::RmsProp { momentum, .. }, Some(m)) => {
                *momentum = m
            }
            (_, Some(_)) => bail!("--momentum applies to sgd and rmsprop only"),
            _ => {}
        }
        match (&mut optimizer, self.nesterov) {
            (OptimizerConfig::Sgd { nesterov, .. }, true) => *nesterov = true,
            (_, true) => bail!("--nesterov applies to sgd only"),
            _ => {}
        }
        let schedule: Schedule = self.schedule.parse::<Schedule>()?.with_warmup(self.warmup);
        let config = TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            optimizer,
            schedule,
            clip_norm: self.clip_norm,
            clip_value: self.clip_value,
            tbptt: self.tbptt,
            state_reset: match self.state_reset {
                Reset::Sequence => StateReset::Sequence,
                Reset::Epoch => StateReset::Epoch,
            },
            loss: loss.unwrap_or(match self.loss {
                LossArg::Mse => Loss::Mse,
                LossArg::Mae => Loss::Mae,
            }),
            patience: self.patience,
            min_delta: self.min_delta,
            shuffle: !self.no_shuffle,
            seed: self.seed,
        };
        config.validate()?;
        Ok(config)
    }
}

impl ModelArgs {
    /// A model for `input_size` features and `output_size` outputs per step.
    pub fn config(&self, input_size: usize, output_size: usize) -> ModelConfig {
        let rnn = RnnConfig {
            input_size,
            hidden_size: self.hidden,
            num_layers: self.layers,
            nonlinearity: self.nonlinearity.into(),
            bias: !self.no_bias,
            dropout: self.dropout,
            bidirectional: self.bidirectional,
        };
        ModelConfig { rnn, output_size: Some(output_size) }
    }
}

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
    let trainer = match &args.output.resume {
        Some(ckpt) => {
            let t = Trainer::<F>::resume(ckpt, config)?;
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
            let model = Model::<F>::new(
                args.model.config(input_size, output_size),
                args.model.init.into(),
                args.training.seed,
            )?;
            Trainer::new(model, config)?
        }
    };
    Ok(trainer.with_metadata(metadata))
}

/// Runs `trainer.fit` with the progress display, then prints where everything went.
///
/// # Errors
/// As [`Trainer::fit`].
pub fn fit<F: Float>(
    trainer: &mut Trainer<F>,
    train: &Dataset<F>,
    val: Option<&Dataset<F>>,
    args: &Args,
) -> Result<TrainReport> {
    let paths = RunPaths::from_model_path(&args.output.out);
    let config = trainer.config().clone();
    let mut progress = Progress::new(&args.output, &config);
    let started = Instant::now();
    let report = trainer.fit(train, val, &paths, &mut progress)?;
    progress.finish();
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
        eprintln!("{}", lines.join("\n"));
    }
    Ok(report)
}

/// Reads `[N, T, I]` inputs and `[N, T, O]` / `[N, O]` targets (and an `[N, T]` mask).
fn read_dataset<F: Float>(inputs: &Path, targets: &Path, mask: Option<&Path>) -> Result<Dataset<F>> {
    let x = read_inputs::<F>(inputs)?;
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
    if y.iter().any(|v| !v.is_finite()) {
        bail!("{}: contains NaN or infinite values", targets.display());
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

/// Reads `[N, T, I]` finite inputs in `F`.
pub fn read_inputs<F: Float>(inputs: &Path) -> Result<Array3<F>> {
    let x = read_float::<F>(inputs)?;
    if x.ndim() != 3 {
        bail!("{}: expected [N, T, input_size], got shape {:?}", inputs.display(), x.shape());
    }
    if x.iter().any(|v| !v.is_finite()) {
        bail!("{}: contains NaN or infinite values", inputs.display());
    }
    x.into_dimensionality::<Ix3>().with_context(|| inputs.display().to_string())
}

fn read_float<F: Float>(path: &Path) -> Result<ArrayD<F>> {
    Ok(npy::read(path)?.into_float::<F>())
}

/// The sequence-regression task: `--inputs` and `--targets`.
fn train_sequences<F: Float>(args: &Args) -> Result<()> {
    let d = &args.data;
    let (Some(inputs), Some(targets)) = (&d.inputs, &d.targets) else {
        bail!("--task sequence needs --inputs X.npy and --targets Y.npy");
    };
    let config = args.training.config(None)?;
    let data = read_dataset::<F>(inputs, targets, d.mask.as_deref())?;
    let (train, val) = match (&d.val_inputs, &d.val_targets) {
        (Some(vi), Some(vt)) => (data, Some(read_dataset::<F>(vi, vt, None)?)),
        _ => split(data, d.val_split)?,
    };
    let output_size = match train.targets() {
        Targets::Values(v) => v.shape()[2],
        Targets::Classes(_) => 1,
    };
    let mut meta = HashMap::new();
    meta.insert(rnn::tasks::TASK_KEY.to_string(), serde_json::json!({"kind": "sequence"}).to_string());
    let mut trainer = trainer::<F>(args, config, train.input_size(), output_size, meta)?;
    fit(&mut trainer, &train, val.as_ref(), args)?;
    Ok(())
}

/// Holds out the last `fraction` of the sequences for validation (as Keras' `validation_split`).
///
/// # Errors
/// When `fraction` is outside `[0, 1)` or leaves no training data.
pub fn split<F: Float>(data: Dataset<F>, fraction: f64) -> Result<(Dataset<F>, Option<Dataset<F>>)> {
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
