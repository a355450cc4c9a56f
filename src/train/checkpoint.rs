//! Training checkpoints: a model file (loadable by `rnn forward` and [`crate::model_file`]) that
//! also holds the optimizer state (`optim.*` tensors), the best epoch's weights
//! (`best_model.*`) and the loop's state (metadata `rnn.train_state`: epoch, step, RNG position,
//! best epoch, history), so a resumed run continues bit-identically.
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::data::{Dataset, Targets};
//! use rnn::train::{RunPaths, Silent, TrainConfig, Trainer, checkpoint};
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! let dir = std::env::temp_dir().join(format!("rnn-doc-checkpoint-mod-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let x = Array3::from_shape_fn((4, 5, 1), |(n, t, _)| ((n + t) as f32 * 0.3).sin());
//! let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
//! let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let paths = RunPaths::from_model_path(&dir.join("m.safetensors"));
//! let config = TrainConfig::default().with_epochs(2).with_batch_size(2);
//! Trainer::new(model, config.clone())?.fit(&data, None, &paths, &mut Silent)?;
//! let last = checkpoint::load::<f32>(&paths.last, &config)?; // written after every epoch
//! assert_eq!((last.state.epoch, last.optimizer.steps_taken()), (2, 4));
//! std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::path::Path;

use ndarray::ArrayD;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use super::state::{Best, TrainState};

use super::TrainConfig;
use super::optim::{Optimizer, OptimizerState};
use crate::io::model_file::{self, LoadOptions};
use crate::{Error, Float, Model, Result, State};

/// The metadata key of the training state.
pub const STATE_KEY: &str = "rnn.train_state";
/// Tensor-name prefix of the optimizer state.
pub const OPTIM_PREFIX: &str = "optim.";
/// Tensor-name prefix of the best epoch's weights.
pub const BEST_PREFIX: &str = "best_model.";
/// Tensor-name prefix of the hidden state carried into the rest of an interrupted epoch.
pub const CARRIED_PREFIX: &str = "carried.";

/// The exact position of a ChaCha8 generator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct RngState {
    /// The 32-byte seed, hex.
    seed: String,
    stream: u64,
    /// The word position (a u128), decimal.
    word_pos: String,
}

impl RngState {
    fn of(rng: &ChaCha8Rng) -> Self {
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    fn restore(&self) -> Option<ChaCha8Rng> {
        use rand::SeedableRng;
        if self.seed.len() != 64 {
            return None;
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(self.seed.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse().ok()?);
        Some(rng)
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    state: TrainState,
    rng: RngState,
    optimizer: OptimizerState,
    config: TrainConfig,
}

/// A checkpoint to write: borrowed from the trainer (not API: [`crate::train::Trainer::fit`]
/// writes checkpoints, [`load`] and [`crate::train::Trainer::resume`] read them).
#[doc(hidden)]
pub struct CheckpointRef<'a, F: Float> {
    /// The weights now.
    pub model: &'a Model<F>,
    /// The optimizer and its state.
    pub optimizer: &'a Optimizer<F>,
    /// The loop's state.
    pub state: &'a TrainState,
    /// The RNG of shuffling and dropout.
    pub rng: &'a ChaCha8Rng,
    /// The configuration trained with.
    pub config: &'a TrainConfig,
    /// Extra metadata of the model (task settings).
    pub metadata: &'a HashMap<String, String>,
    /// The best epoch's weights, when they differ from `model`.
    pub best_model: Option<&'a Model<F>>,
    /// The hidden state carried into the rest of an interrupted epoch (stateful training).
    pub carried: Option<&'a State<F>>,
}

/// A checkpoint read back.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{RunPaths, Silent, TrainConfig, Trainer, checkpoint};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let dir = std::env::temp_dir().join(format!("rnn-doc-checkpoint-struct-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let x = Array3::from_shape_fn((4, 3, 1), |(n, t, _)| (n + t) as f32 * 0.1);
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let paths = RunPaths::from_model_path(&dir.join("m.safetensors"));
/// let config = TrainConfig::default().with_epochs(2);
/// Trainer::new(model, config.clone())?.fit(&data, Some(&data), &paths, &mut Silent)?;
/// let c = checkpoint::load::<f32>(&paths.last, &config)?;
/// let best = c.state.best.as_ref().ok_or("a best epoch")?;
/// assert!(best.epoch >= 1 && best.val_loss.is_finite());
/// assert!(c.state.partial.is_none() && c.carried.is_none());
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Checkpoint<F: Float> {
    /// The weights.
    pub model: Model<F>,
    /// The optimizer with its state.
    pub optimizer: Optimizer<F>,
    /// The loop's state.
    pub state: TrainState,
    /// The RNG, at the position it had.
    pub rng: ChaCha8Rng,
    /// The best epoch's weights, if stored.
    pub best_model: Option<Model<F>>,
    /// The model's extra metadata (everything but the configuration and training state).
    pub metadata: HashMap<String, String>,
    /// The hidden state carried into the rest of an interrupted epoch, if stored.
    pub carried: Option<State<F>>,
}

/// Writes a checkpoint atomically (not API: what [`crate::train::Trainer::fit`] does).
#[doc(hidden)]
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn save<F: Float>(path: &Path, c: &CheckpointRef<'_, F>) -> Result<()> {
    let stored = Stored {
        state: c.state.clone(),
        rng: RngState::of(c.rng),
        optimizer: c.optimizer.state(),
        config: c.config.clone(),
    };
    let json = serde_json::to_string(&stored).map_err(|e| Error::Training(e.to_string()))?;
    let mut meta = c.metadata.clone();
    meta.insert(STATE_KEY.to_string(), json);
    let mut extra: Vec<(String, ArrayD<F>)> =
        c.optimizer.state_tensors().into_iter().map(|(n, t)| (format!("{OPTIM_PREFIX}{n}"), t)).collect();
    if let Some(best) = c.best_model {
        extra.extend(best.named_tensors().into_iter().map(|(n, t)| (format!("{BEST_PREFIX}{n}"), t.to_owned())));
    }
    if let Some(state) = c.carried {
        extra.push((format!("{CARRIED_PREFIX}h"), state.h.clone().into_dyn()));
        if let Some(cell) = &state.c {
            extra.push((format!("{CARRIED_PREFIX}c"), cell.clone().into_dyn()));
        }
    }
    let bytes = model_file::to_bytes_with(c.model, &meta, &extra)?;
    crate::io::write_atomic(path, &bytes)
}

/// Reads a checkpoint for resuming with `config` (its optimizer must be the checkpoint's).
///
/// # Errors
/// [`Error::ModelFile`] naming the file when it is not a checkpoint or is damaged;
/// [`Error::Config`] when `config.optimizer` differs from the checkpoint's.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::optim::OptimizerConfig;
/// use rnn::train::{RunPaths, Silent, TrainConfig, Trainer, checkpoint};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let dir = std::env::temp_dir().join(format!("rnn-doc-checkpoint-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let x = Array3::from_shape_fn((2, 3, 1), |(n, t, _)| (n + t) as f32 * 0.1);
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let paths = RunPaths::from_model_path(&dir.join("m.safetensors"));
/// let config = TrainConfig::default().with_epochs(1);
/// let report = Trainer::new(model, config.clone())?.fit(&data, None, &paths, &mut Silent)?;
/// let c = checkpoint::load::<f32>(&paths.last, &config)?;
/// assert_eq!((c.state.epoch, c.optimizer.steps_taken()), (1, 1));
/// assert_eq!(c.state.history, report.history);
/// // another optimizer cannot continue this one's state
/// assert!(checkpoint::load::<f32>(&paths.last, &config.with_optimizer(OptimizerConfig::sgd())).is_err());
/// // a model file is not a checkpoint
/// assert!(checkpoint::load::<f32>(&paths.model, &TrainConfig::default()).is_err());
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load<F: Float>(path: &Path, config: &TrainConfig) -> Result<Checkpoint<F>> {
    let bad = |m: String| Error::model_file(path, m);
    let bytes = std::fs::read(path).map_err(|err| Error::Io { path: path.to_path_buf(), err })?;
    let loaded = model_file::from_bytes::<F>(&bytes, path, &LoadOptions::default())?;
    let json = loaded
        .metadata
        .get(STATE_KEY)
        .ok_or_else(|| bad(format!("not a training checkpoint (no `{STATE_KEY}` metadata)")))?;
    let stored: Stored = serde_json::from_str(json).map_err(|e| bad(format!("damaged `{STATE_KEY}` ({e})")))?;
    if stored.optimizer.config != config.optimizer {
        return Err(Error::Config(format!(
            "{}: the checkpoint was trained with {:?}, not {:?}; resume with the same optimizer settings",
            path.display(),
            stored.optimizer.config,
            config.optimizer
        )));
    }
    let rng = stored.rng.restore().ok_or_else(|| bad("damaged RNG state".into()))?;
    let extra = model_file::read_tensors::<F>(&bytes, path)?;
    let optim_tensors: Vec<(String, ArrayD<F>)> =
        extra.iter().filter_map(|(n, t)| n.strip_prefix(OPTIM_PREFIX).map(|s| (s.to_string(), t.clone()))).collect();
    let optimizer = Optimizer::from_state(stored.optimizer, optim_tensors).map_err(|e| bad(e.to_string()))?;
    let mut best_model = None;
    if extra.keys().any(|n| n.starts_with(BEST_PREFIX)) {
        let mut m = loaded.model.clone();
        for (name, mut t) in m.named_tensors_mut() {
            let key = format!("{BEST_PREFIX}{name}");
            let src = extra.get(&key).ok_or_else(|| bad(format!("tensor `{key}` is missing")))?;
            if src.shape() != t.shape() {
                return Err(bad(format!("tensor `{key}` has shape {:?}, expected {:?}", src.shape(), t.shape())));
            }
            t.assign(src);
        }
        best_model = Some(m);
    }
    let carried_of = |name: &str| -> Result<Option<ndarray::Array3<F>>> {
        extra
            .get(&format!("{CARRIED_PREFIX}{name}"))
            .map(|t| t.clone().into_dimensionality::<ndarray::Ix3>())
            .transpose()
            .map_err(|_| bad(format!("tensor `{CARRIED_PREFIX}{name}` is not 3-D")))
    };
    let carried = carried_of("h")?.map(|h| State { h, c: None });
    let carried = match (carried, carried_of("c")?) {
        (Some(s), c) => Some(State { c, ..s }),
        (None, _) => None,
    };
    let mut metadata = loaded.metadata;
    metadata.remove(STATE_KEY);
    metadata.remove(model_file::CONFIG_KEY);
    Ok(Checkpoint { model: loaded.model, optimizer, state: stored.state, rng, best_model, metadata, carried })
}
