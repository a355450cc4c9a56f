//! How to train ([`TrainConfig`], [`StateReset`]) and the files a run writes ([`RunPaths`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::loss::Loss;
use super::optim::OptimizerConfig;
use super::schedule::Schedule;
use crate::{Error, Result};

/// When the hidden state starts again from zeros.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{Silent, StateReset, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// // one long series cut into consecutive chunks: row b of each batch continues row b of the last
/// let x = Array3::from_shape_fn((8, 5, 1), |(n, t, _)| ((n % 4 * 5 + t) as f32 * 0.3).sin());
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let config = TrainConfig::default().with_epochs(2).with_batch_size(4).with_state_reset(StateReset::Epoch);
/// let report = Trainer::new(model, config)?.fit_in_memory(&data, None, &mut Silent)?;
/// assert_eq!(report.history.len(), 2);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateReset {
    /// Every batch of sequences starts from zeros (sequences are independent).
    #[default]
    Sequence,
    /// The state is carried from batch to batch through the epoch (row `b` of a batch continues
    /// row `b` of the previous one, as Keras' `stateful=True`) and reset at each epoch; batches
    /// are then not shuffled.
    Epoch,
}

/// How to train.
///
/// | Name | Default | Meaning |
/// |---|---|---|
/// | `epochs` | 20 | passes over the training data |
/// | `batch_size` | 32 | sequences per step |
/// | `lr` | 1e-3 | base learning rate (Adam's default) |
/// | `optimizer` | Adam | see [`OptimizerConfig`] |
/// | `schedule` | constant | learning rate against the optimizer step |
/// | `clip_norm` | none | clip the global gradient norm to this |
/// | `clip_value` | none | clip each gradient entry to ± this |
/// | `tbptt` | none | truncated BPTT: chunks of this many steps, state carried, gradient cut |
/// | `state_reset` | sequence | when the hidden state restarts from zeros |
/// | `loss` | mse | the loss |
/// | `patience` | none | stop after this many epochs without validation improvement |
/// | `min_delta` | 0 | an improvement must exceed this |
/// | `shuffle` | true | reshuffle sequences every epoch (seeded) |
/// | `seed` | 0 | shuffling and dropout |
/// | `time_limit` | none | start no epoch after this many seconds of training |
/// | `max_steps` | none | stop after this many optimizer steps (mid-epoch if need be) |
///
/// Outside this crate a configuration is built from [`TrainConfig::default`] and the `with_*`
/// setters (the type may gain fields):
/// ```
/// use rnn::train::TrainConfig;
/// let config = TrainConfig::default().with_epochs(50).with_batch_size(16).with_clip_norm(Some(1.0));
/// assert_eq!((config.epochs, config.batch_size, config.lr), (50, 16, 1e-3));
/// ```
///
/// Every setter, as `rnn train`'s flags set them:
/// ```
/// use rnn::loss::Loss;
/// use rnn::optim::OptimizerConfig;
/// use rnn::schedule::Schedule;
/// use rnn::train::{StateReset, TrainConfig};
/// let config = TrainConfig::default()
///     .with_lr(3e-3)
///     .with_optimizer(OptimizerConfig::adamw())
///     .with_schedule("cosine".parse::<Schedule>()?.with_warmup(100))
///     .with_clip_value(Some(0.5))
///     .with_tbptt(Some(50))
///     .with_state_reset(StateReset::Epoch)
///     .with_loss(Loss::Mae)
///     .with_patience(Some(10))
///     .with_min_delta(1e-4)
///     .with_shuffle(false)
///     .with_seed(7)
///     .with_time_limit(Some(600.0))
///     .with_diagnose(true)
///     .with_max_steps(Some(10_000));
/// config.validate()?;
/// assert_eq!((config.tbptt, config.loss, config.seed, config.max_steps), (Some(50), Loss::Mae, 7, Some(10_000)));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Sequences per optimizer step.
    pub batch_size: usize,
    /// Base learning rate.
    pub lr: f64,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Global gradient-norm clipping.
    pub clip_norm: Option<f64>,
    /// Per-entry gradient clipping.
    pub clip_value: Option<f64>,
    /// Truncated BPTT chunk length.
    pub tbptt: Option<usize>,
    /// When the hidden state is reset.
    pub state_reset: StateReset,
    /// The loss.
    pub loss: Loss,
    /// Early-stopping patience in epochs.
    pub patience: Option<usize>,
    /// Minimum validation-loss improvement.
    pub min_delta: f64,
    /// Reshuffle every epoch.
    pub shuffle: bool,
    /// Seed of shuffling and dropout.
    pub seed: u64,
    /// A training-time budget in seconds: no epoch starts once this much time has been spent
    /// training in this run (the epoch under way finishes). `None` for no budget.
    #[serde(default)]
    pub time_limit: Option<f64>,
    /// Measure the gradient's norm against the time lag at the end of every epoch
    /// ([`EpochRecord::grad_flow`](super::EpochRecord::grad_flow)), on the first
    /// 16 training sequences.
    #[serde(default)]
    pub diagnose: bool,
    /// A budget of optimizer steps: training stops once this many steps have been taken in
    /// total (counting those before a resume), even in the middle of an epoch, whose record then
    /// covers the batches trained. `None` for no budget.
    #[serde(default)]
    pub max_steps: Option<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            batch_size: 32,
            lr: 1e-3,
            optimizer: OptimizerConfig::adam(),
            schedule: Schedule::default(),
            clip_norm: None,
            clip_value: None,
            tbptt: None,
            state_reset: StateReset::Sequence,
            loss: Loss::Mse,
            patience: None,
            min_delta: 0.0,
            shuffle: true,
            seed: 0,
            time_limit: None,
            diagnose: false,
            max_steps: None,
        }
    }
}

/// `with_<field>(value)`: the configuration with that field set (see the fields' docs).
macro_rules! setters {
    ($($with:ident => $field:ident: $ty:ty,)*) => {
        $(
            #[doc = concat!("Sets [`TrainConfig::", stringify!($field), "`].")]
            #[must_use]
            pub fn $with(mut self, value: $ty) -> Self {
                self.$field = value;
                self
            }
        )*
    };
}

impl TrainConfig {
    setters! {
        with_epochs => epochs: usize,
        with_batch_size => batch_size: usize,
        with_lr => lr: f64,
        with_optimizer => optimizer: OptimizerConfig,
        with_schedule => schedule: Schedule,
        with_clip_norm => clip_norm: Option<f64>,
        with_clip_value => clip_value: Option<f64>,
        with_tbptt => tbptt: Option<usize>,
        with_state_reset => state_reset: StateReset,
        with_loss => loss: Loss,
        with_patience => patience: Option<usize>,
        with_min_delta => min_delta: f64,
        with_shuffle => shuffle: bool,
        with_seed => seed: u64,
        with_time_limit => time_limit: Option<f64>,
        with_diagnose => diagnose: bool,
        with_max_steps => max_steps: Option<usize>,
    }

    /// Checks every value is in range.
    ///
    /// # Errors
    /// [`Error::Config`] naming the value.
    ///
    /// # Example
    /// ```
    /// use rnn::train::TrainConfig;
    /// TrainConfig::default().validate()?;
    /// let err = TrainConfig::default().with_lr(-1.0).validate().unwrap_err();
    /// assert!(err.to_string().contains("lr must be positive"));
    /// assert!(TrainConfig::default().with_tbptt(Some(0)).validate().is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr must be positive, got {}", self.lr));
        }
        for (name, v) in
            [("clip_norm", self.clip_norm), ("clip_value", self.clip_value), ("time_limit", self.time_limit)]
        {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return bad(format!("{name} must be positive, got {v}"));
            }
        }
        if self.max_steps == Some(0) {
            return bad("max_steps must be at least 1".into());
        }
        if self.tbptt == Some(0) {
            return bad("tbptt must be at least 1".into());
        }
        self.optimizer.validate()
    }
}

/// The files a run writes, all derived from the model path `--out`.
///
/// # Example
/// ```
/// use std::path::Path;
/// use rnn::train::RunPaths;
/// let paths = RunPaths::from_model_path(Path::new("out/m.safetensors"));
/// assert_eq!(paths.last, Path::new("out/m.last.safetensors"));
/// assert_eq!(paths.history_csv, Path::new("out/m.history.csv"));
/// assert_eq!(paths.plot_stem, Path::new("out/m.loss"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RunPaths {
    /// The final model (the best epoch's weights when there is validation data).
    pub model: PathBuf,
    /// Checkpoint after the latest epoch.
    pub last: PathBuf,
    /// Checkpoint of the best epoch (validation only).
    pub best: PathBuf,
    /// One row per epoch.
    pub history_csv: PathBuf,
    /// One JSON object per epoch.
    pub history_jsonl: PathBuf,
    /// Loss curves, `.png` and `.svg` are appended.
    pub plot_stem: PathBuf,
}

impl RunPaths {
    /// `m.safetensors` → `m.last.safetensors`, `m.best.safetensors`, `m.history.csv`,
    /// `m.history.jsonl`, `m.loss.png`, `m.loss.svg`.
    pub fn from_model_path(model: &Path) -> Self {
        let name = model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        let stem = name.strip_suffix(".safetensors").unwrap_or(&name).to_string();
        let with = |suffix: &str| model.with_file_name(format!("{stem}{suffix}"));
        RunPaths {
            model: model.to_path_buf(),
            last: with(".last.safetensors"),
            best: with(".best.safetensors"),
            history_csv: with(".history.csv"),
            history_jsonl: with(".history.jsonl"),
            plot_stem: with(".loss"),
        }
    }
}
