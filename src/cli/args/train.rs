//! Arguments of `rnn train`: the task, the data, the model, the training and the output, and
//! their translation into the library's configurations.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::ValueEnum;
use rnn::loss::Loss;
use rnn::optim::OptimizerConfig;
use rnn::schedule::Schedule;
use rnn::train::{StateReset, TrainConfig};
use rnn::{ModelConfig, RnnConfig};

use super::values::{Dtype, InitArg, RecurrenceArgs};

/// Arguments of `rnn train`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Writes MODEL (--out) plus MODEL.last.safetensors and MODEL.best.safetensors \
(checkpoints, resumable with --resume), MODEL.history.csv/.jsonl and MODEL.loss.png/.svg beside it; \
with --tensorboard DIR, an event file events.out.tfevents.SECONDS.HOST in DIR.")]
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
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

impl Args {
    /// The defaults that depend on the task and the cell together (clap's defaults depend on
    /// one flag): a character model with `--cell lstm` gets 2 layers of 256 with dropout 0.3
    /// between them, each unless `given` says its flag was typed (and no dropout with one layer). Measured on a 285k-character text
    /// (README, "Character language model"): 2.19 bits/char against 2.34 for one layer of 128.
    pub fn apply_cell_defaults(&mut self, given: &dyn Fn(&str) -> bool) {
        if self.task == Task::Charlm && self.model.recurrence.cell == rnn::Cell::Lstm {
            if !given("hidden") {
                self.model.hidden = 256;
            }
            if !given("layers") {
                self.model.layers = 2;
            }
            // (dropout acts between layers: none for one)
            if !given("dropout") && self.model.layers > 1 {
                self.model.dropout = 0.3;
            }
        }
    }
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
    /// Optional mask .npy [N, T] of 0/1 (float, bool or integer): steps with 0 count for nothing (padding)
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
    /// Hidden units per layer and direction (--task charlm: 128; with --cell lstm 256)
    #[arg(
        long,
        value_name = "H",
        default_value_t = 32,
        default_value_if("task", "charlm", "128"),
        visible_alias = "hidden-size"
    )]
    pub hidden: usize,
    /// Stacked layers (--task charlm --cell lstm: 2)
    #[arg(long, value_name = "L", default_value_t = 1, visible_alias = "num-layers")]
    pub layers: usize,
    /// The cell and its options
    #[command(flatten)]
    pub recurrence: RecurrenceArgs,
    /// Leave out the biases b_ih and b_hh
    #[arg(long)]
    pub no_bias: bool,
    /// Dropout between layers during training, in [0, 1) (--task charlm --cell lstm: 0.3)
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub dropout: f64,
    /// Add a reverse-time direction to every layer
    #[arg(long)]
    pub bidirectional: bool,
    /// Residual connections: a layer whose input is as wide as its output adds that input to
    /// its output (helps deep stacks train)
    #[arg(long)]
    pub residual: bool,
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
    /// Passes over the training data (--task forecast: 300)
    #[arg(long, value_name = "N", default_value_t = 20, default_value_if("task", "forecast", "300"))]
    pub epochs: usize,
    /// Training-time budget: start no epoch once this many seconds have been spent (models of
    /// different cells compared at equal training time)
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<f64>,
    /// Measure the gradient's norm against the time lag after every epoch (16 training
    /// sequences): columns in the history files and a MODEL.loss.gradflow plot
    #[arg(long)]
    pub diagnose: bool,
    /// Sequences per optimizer step
    #[arg(long, value_name = "B", default_value_t = 32)]
    pub batch_size: usize,
    /// Learning rate (the schedule's base) (--task charlm: 4e-3; forecast: 0.003)
    #[arg(
        long,
        value_name = "LR",
        default_value_t = 1e-3,
        default_value_if("task", "charlm", "4e-3"),
        default_value_if("task", "forecast", "0.003")
    )]
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
    /// Stop after this many epochs without validation improvement (the best epoch's weights are
    /// kept) (--task forecast: 40)
    #[arg(long, value_name = "EPOCHS", default_value_if("task", "forecast", "40"))]
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
    /// Write TensorBoard event files to DIR (created if missing): losses, learning rate,
    /// gradient norm and epoch time, and histograms of every weight and gradient tensor, once per
    /// epoch; view with `tensorboard --logdir DIR`
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
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
        let config = TrainConfig::default()
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_lr(self.lr)
            .with_optimizer(optimizer)
            .with_schedule(schedule)
            .with_clip_norm(self.clip_norm)
            .with_clip_value(self.clip_value)
            .with_tbptt(self.tbptt)
            .with_state_reset(match self.state_reset {
                Reset::Sequence => StateReset::Sequence,
                Reset::Epoch => StateReset::Epoch,
            })
            .with_loss(loss.unwrap_or(match self.loss {
                LossArg::Mse => Loss::Mse,
                LossArg::Mae => Loss::Mae,
            }))
            .with_patience(self.patience)
            .with_min_delta(self.min_delta)
            .with_shuffle(!self.no_shuffle)
            .with_seed(self.seed)
            .with_time_limit(self.time_limit)
            .with_diagnose(self.diagnose)
            .with_max_steps(None);
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
            cell: self.recurrence.cell,
            nonlinearity: self.recurrence.nonlinearity(),
            bias: !self.no_bias,
            dropout: self.dropout,
            bidirectional: self.bidirectional,
            proj_size: self.recurrence.proj_size,
            recurrent_max: self.recurrence.recurrent_max,
            residual: self.residual,
        };
        ModelConfig { rnn, output_size: Some(output_size) }
    }
}
