//! The plain reference: every cell's forward pass and its backward pass through time written
//! one sequence, one step and one equation at a time, in `f64`, with none of the crate's
//! kernels, packing, threads or workspaces. It is slow on purpose; the fast paths
//! ([`crate::layer`], `nn::lstm`, `nn::gru`, `nn::indrnn`, [`crate::nn::stack`], [`crate::model`]) are tested
//! against it (`tests/reference.rs`), so this is the first file to read to learn what they
//! compute.
//!
//! - [`elman`]: `h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`, act tanh, relu or sigmoid;
//! - [`lstm`]: PyTorch's gates i, f, g, o, `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh c_t`,
//!   projected by `W_hr` when the model has a `proj_size`;
//! - [`gru`]: PyTorch's gates r, z, n with `b_hn` inside the reset gate,
//!   `h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}`;
//! - [`indrnn`]: `h_t = act(W_ih x_t + b_ih + u ⊙ h_{t-1} + b_hh)`, one recurrent weight per
//!   unit (Li et al. 2018);
//! - [`stack`]: layers and directions stacked as `torch.nn.RNN`/`LSTM`/`GRU` stack them, the same
//!   inverted-dropout masks as [`crate::Rnn::forward_train`] draws, and the optional linear head.
//!
//! The gradients are those of the loss `L = Σ R ⊙ y + Σ S ⊙ h_n + Σ U ⊙ c_n` for given `R`, `S`
//! and `U` (so `dL/dy = R`, `dL/dh_n = S`, `dL/dc_n = U`), of every parameter by its model-file
//! name, the input, `h0` and `c0`.
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::nn::reference;
//! use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};
//!
//! let config = ModelConfig { rnn: RnnConfig::new(3, 5).with_cell(Cell::Gru), output_size: Some(2) };
//! let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
//! let x = Array3::<f64>::ones((4, 2, 3)); // [seq_len, batch, input_size]
//! let run = reference::forward(&model, x.view(), None, None, Readout::EveryStep, &mut rand::rng());
//! let (r, s) = (Array3::ones(run.y.raw_dim()), Array3::zeros(run.h_n.raw_dim()));
//! let grads = run.backward(r.view(), s.view(), None); // L = Σ y
//! assert_eq!(grads.params[0].0, "rnn.weight_ih_l0");
//!
//! // the fast path computes the same numbers
//! let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rand::rng())?;
//! let fast = model.backward(&trace, r.view(), None)?;
//! let fast_ih = &fast.named_tensors(model.rnn.config())[0].1;
//! assert!(fast_ih.iter().zip(&grads.params[0].1).all(|(a, b)| (a - b).abs() < 1e-12));
//! # Ok::<(), rnn::Error>(())
//! ```

pub mod elman;
pub mod gru;
pub mod indrnn;
pub mod lstm;
pub mod stack;

pub use stack::{Forward, Grads, StepsRef, forward};

use ndarray::{Array1, Array2};

use crate::LayerParams;

/// `W v + b` (`b` zero when absent): one row of `W` at a time.
pub fn affine(w: &Array2<f64>, b: Option<&Array1<f64>>, v: &[f64]) -> Vec<f64> {
    assert_eq!(w.ncols(), v.len(), "matrix-vector product of mismatched sizes");
    (0..w.nrows()).map(|r| (0..v.len()).map(|c| w[[r, c]] * v[c]).sum::<f64>() + b.map_or(0.0, |b| b[r])).collect()
}

/// `Wᵀ v`: how a gradient goes back through `W v`.
pub fn transposed_times(w: &Array2<f64>, v: &[f64]) -> Vec<f64> {
    assert_eq!(w.nrows(), v.len(), "matrix-vector product of mismatched sizes");
    (0..w.ncols()).map(|c| (0..v.len()).map(|r| w[[r, c]] * v[r]).sum()).collect()
}

/// `dW += a bᵀ`: the gradient of `W` in `W b` when `a` is that of the product.
pub fn add_outer(dw: &mut Array2<f64>, a: &[f64], b: &[f64]) {
    for (r, &ar) in a.iter().enumerate() {
        for (c, &bc) in b.iter().enumerate() {
            dw[[r, c]] += ar * bc;
        }
    }
}

/// `d += v`.
pub fn add_into(d: &mut [f64], v: &[f64]) {
    d.iter_mut().zip(v).for_each(|(d, v)| *d += v);
}

/// The logistic sigmoid `1 / (1 + e^-a)`.
pub fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// One step's share of the gradients of `A_x = W_ih x + b_ih` and `A_h = W_hh h_prev + b_hh`,
/// given `dA_x` and `dA_h` (the same vector for the Elman cell and the LSTM):
/// `dW_ih += dA_x xᵀ`, `db_ih += dA_x`, `dW_hh += dA_h h_prevᵀ`, `db_hh += dA_h`.
pub fn accumulate(g: &mut LayerParams<f64>, da_x: &[f64], da_h: &[f64], x: &[f64], h_prev: &[f64]) {
    add_outer(&mut g.weight_ih, da_x, x);
    add_outer(&mut g.weight_hh, da_h, h_prev);
    if let (Some(bi), Some(bh)) = (&mut g.bias_ih, &mut g.bias_hh) {
        add_into(bi.as_slice_mut().expect("contiguous"), da_x);
        add_into(bh.as_slice_mut().expect("contiguous"), da_h);
    }
}
