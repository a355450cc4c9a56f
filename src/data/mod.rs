//! Reading and writing the data the models consume.

pub mod dataset;

/// `.npy` files, now in [`crate::io::npy`]; kept here for existing users.
#[doc(no_inline)]
pub use crate::io::npy;
pub use dataset::{Batch, Dataset, TargetView, Targets};
