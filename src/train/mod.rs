//! The training loop: mini-batches with seeded shuffling, full or truncated BPTT, clipping,
//! validation every epoch, early stopping that ends on the best epoch's weights, atomic
//! checkpoints, bit-identical resume, history files and a NaN guard.
//!
//! The files: `config` (what to train and where the files go), `trainer` (the loop),
//! `observer` (progress reports), `history` (the per-epoch records and their files), `state`
//! (the loop's own state), [`checkpoint`], `tensorboard` (an observer logging to TensorBoard),
//! and the pieces the loop uses: [`loss`], [`optim`] and [`schedule`].
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::data::{Dataset, Targets};
//! use rnn::train::{Silent, TrainConfig, Trainer};
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! // 8 sequences of 5 steps; the target is the input itself
//! let x = Array3::from_shape_fn((8, 5, 1), |(n, t, _)| ((n + t) as f32).sin());
//! let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
//! let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let mut trainer = Trainer::new(model, TrainConfig::default().with_epochs(3).with_batch_size(4))?;
//! let report = trainer.fit_in_memory(&data, Some(&data), &mut Silent)?;
//! assert_eq!(report.history.len(), 3); // one record per epoch
//! assert!(report.best_val_loss.is_some());
//! # Ok::<(), rnn::Error>(())
//! ```

pub mod checkpoint;
mod config;
mod history;
pub mod loss;
mod observer;
pub mod optim;
pub mod schedule;
mod state;
mod tensorboard;
mod trainer;

pub use config::{RunPaths, StateReset, TrainConfig};
pub use history::EpochRecord;
pub use observer::{BatchProgress, Observer, ParamView, Plan, Silent};
pub use tensorboard::TensorBoard;
pub use trainer::{TrainReport, Trainer, evaluate};
