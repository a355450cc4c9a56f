//! The training loop: mini-batches with seeded shuffling, full or truncated BPTT, clipping,
//! validation every epoch, early stopping that ends on the best epoch's weights, atomic
//! checkpoints, bit-identical resume, history files and a NaN guard.
//!
//! The files: `config` (what to train and where the files go), `trainer` (the loop),
//! `observer` (progress reports), `history` (the per-epoch records and their files), `state`
//! (the loop's own state), [`checkpoint`], `tensorboard` (an observer logging to TensorBoard),
//! and the pieces the loop uses: [`loss`], [`optim`] and [`schedule`].

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
