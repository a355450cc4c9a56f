//! Reading and writing the data the models consume.

pub mod dataset;
pub mod npy;

pub use dataset::{Batch, Dataset, Targets};
