//! # rnn
//!
//! Elman (simple) and deep (stacked, optionally bidirectional) recurrent neural networks with
//! hand-derived backpropagation through time, computed the batched way (one GEMM for the input
//! projections of all steps, one per step for the recurrence, one per weight gradient), and
//! model files that PyTorch's `nn.RNN` reads and writes unchanged.
//!
//! One layer computes `h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)` with act tanh, relu or
//! sigmoid; an optional head gives `y_t = V h_t + c`. The LSTM, the GRU ([`Cell`]: PyTorch's
//! equations) and the IndRNN (`W_hh h` replaced by `u ⊙ h`, Li et al. 2018) run in the same
//! stack.
//!
//! ## Quick start: build a 2-layer RNN, run forward and backward
//! ```
//! use ndarray::Array3;
//! use rnn::{Init, Rnn, RnnConfig};
//!
//! let rnn = Rnn::<f64>::new(RnnConfig::new(3, 16).with_num_layers(2), Init::PyTorch, 7)?;
//! let x = Array3::<f64>::ones((20, 4, 3)); // [seq_len, batch, input_size]
//! let trace = rnn.forward_trace(x.view(), None)?; // output [20, 4, 16], h_n [2, 4, 16]
//! let d_output = Array3::<f64>::ones(trace.output().raw_dim()); // dL/d(output) for L = Σ output
//! let grads = rnn.backward(&trace, d_output.view(), None)?;
//! assert_eq!(grads.layers[1].weight_hh.shape(), &[16, 16]);
//! assert_eq!(grads.input.map(|d| d.dim()), Some((20, 4, 3)));
//! # Ok::<(), rnn::Error>(())
//! ```

#![warn(missing_docs, clippy::missing_errors_doc)]

#[doc(hidden)]
pub mod bench;
mod compute;
pub mod data;
pub mod diagnose;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod io;
pub mod nn;
#[cfg(feature = "plot")]
pub mod plot;
pub mod scalar;
pub mod tasks;
pub mod train;

pub use compute::threads;
// The network's modules at short paths: rnn::layer, rnn::init, rnn::model_file, ...
pub use io::model_file;
pub use nn::{activation, head, init, layer, model, predictor, stack, stepper};
// The training pieces at the paths they have always had: rnn::optim, rnn::loss, ...
pub use train::{checkpoint, loss, optim, schedule};
// Not user API: the kernels and the pool, public for the `rnn` binary, benches and examples.
#[doc(hidden)]
pub use compute::{kernels, pool};

pub use activation::Nonlinearity;
pub use error::{Error, Result};
pub use head::Linear;
pub use init::Init;
pub use layer::LayerParams;
pub use model::{Model, ModelConfig, ModelGrads, ModelTrace, Readout, State};
pub use nn::cell::Cell;
pub use nn::config::RnnConfig;
pub use predictor::Predictor;
pub use scalar::{Float, FloatView};
pub use stack::{OutputGrad, Rnn, RnnGrads, RnnTrace};
pub use stepper::Stepper;
