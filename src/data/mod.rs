//! Reading and writing the data the models consume.
//!
//! # Example
//! ```
//! use ndarray::{Array2, Array3};
//! use rnn::data::{Dataset, Targets};
//! // 8 sequences of 5 steps with 2 features each, one class per sequence
//! let x = Array3::<f32>::zeros((8, 5, 2));
//! let data = Dataset::new(x, Targets::Classes(Array2::zeros((8, 1))), None)?;
//! let batch = data.batch(&[0, 3, 7]); // time-major, as the model takes it
//! assert_eq!(batch.x.dim(), (5, 3, 2));
//! # Ok::<(), rnn::Error>(())
//! ```

pub mod dataset;

/// `.npy` files, now in [`crate::io::npy`]; kept here for existing users.
#[doc(no_inline)]
pub use crate::io::npy;
pub use dataset::{Batch, Dataset, TargetView, Targets};
