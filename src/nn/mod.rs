//! The network: the cells, one layer of each with its forward pass and, right beside it, its
//! BPTT backward pass, the stack of layers and directions, the head, the model a file holds,
//! and the ways to run it (`Predictor`, `Stepper`). `reference` holds the plain per-step
//! versions of every cell, the oracle the fast paths are tested against.
//!
//! | file | what |
//! |---|---|
//! | `cell.rs` | [`Cell`](cell::Cell) (PyTorch's `mode`) and the gates' element-wise math |
//! | `layer.rs` | one layer's parameters ([`LayerParams`](layer::LayerParams)) and the per-step product |
//! | `elman.rs` | the Elman layer: forward, then BPTT |
//! | `lstm.rs`, `gru.rs` | the LSTM and GRU layers: forward, then BPTT |
//! | `indrnn.rs` | the IndRNN layer (`u ⊙ h` recurrence): forward, then BPTT; the `\|u\|` bound |
//! | `gated.rs` | what the gated cells and the IndRNN share (input projection, upstream gradient, weight gradients) |
//! | `config.rs`, `stack/` | [`RnnConfig`](config::RnnConfig); the stack ([`Rnn`](stack::Rnn)): forward, trace, backward |
//! | `head.rs`, `model.rs` | `y = V h + c`; the model a file holds |
//! | `flow.rs` | [`GradFlow`](flow::GradFlow): the gradient's norm at every step, as BPTT records it |
//! | `init.rs`, `gate_init.rs`, `activation.rs` | initialisations; tanh, relu, sigmoid |
//! | `memory.rs` | the memory a model will need, estimated before allocating; the machine's |
//! | `predictor.rs`, `stepper/` | batched inference with packed weights; one step at a time |
//! | `reference/` | the oracle |
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
//! // a 2-layer LSTM over 3 features with a linear head giving 1 value per step
//! let rnn = RnnConfig::new(3, 4).with_cell(Cell::Lstm).with_num_layers(2);
//! let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 0)?;
//! let x = Array3::<f32>::zeros((5, 2, 3)); // [seq_len, batch, input_size]
//! let (y, h_n) = model.forward(x.view(), None)?;
//! assert_eq!(y.shape(), &[5, 2, 1]);
//! assert_eq!(h_n.shape(), &[2, 2, 4]); // [num_layers, batch, hidden_size]
//! # Ok::<(), rnn::Error>(())
//! ```

pub mod activation;
pub mod cell;
pub mod config;
mod elman;
pub mod flow;
mod gate_init;
pub(crate) mod gated;
pub(crate) mod gru;
pub mod head;
pub(crate) mod indrnn;
pub mod init;
pub mod layer;
pub(crate) mod lstm;
// Not API: the size limits of the `rnn` binary (it refuses sizes no machine can hold before
// allocating); public for it and for tests/memory.rs.
#[doc(hidden)]
pub mod memory;
pub mod model;
pub mod predictor;
// Not API: the oracle the tests check the fast paths against (tests/reference.rs,
// tests/it/gradcheck.rs), public for them.
#[doc(hidden)]
pub mod reference;
pub mod stack;
pub mod stepper;
