//! The GRU cell over one sequence (one batch row, one direction), step by step, as
//! `torch.nn.GRU` (gate blocks r, z, n of `W_ih [3H, in]`, `W_hh [3H, H]`); `b_hn` sits inside
//! the reset gate, so the input side `ax` and the recurrent side `ah` stay apart:
//! ```text
//! ax = W_ih x_t + b_ih          ah = W_hh h_{t-1} + b_hh      [3H] each
//! r = σ(ax_r + ah_r)    z = σ(ax_z + ah_z)    n = tanh(ax_n + r ⊙ ah_n)
//! h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
//! ```
//! Sequences are given in the order the direction processes them.

use super::{accumulate, add_into, affine, sigmoid, transposed_times};
use crate::LayerParams;

/// What one step keeps for the backward pass.
#[derive(Clone, Debug)]
pub struct Step {
    /// Reset gate.
    pub r: Vec<f64>,
    /// Update gate.
    pub z: Vec<f64>,
    /// Candidate.
    pub n: Vec<f64>,
    /// The candidate's recurrent part `ah_n = W_hn h_{t-1} + b_hn`.
    pub ah_n: Vec<f64>,
    /// Hidden state `h_t`.
    pub h: Vec<f64>,
}

/// Runs the cell over `xs` from `h0`.
pub fn forward(p: &LayerParams<f64>, xs: &[Vec<f64>], h0: &[f64]) -> Vec<Step> {
    let hidden = h0.len();
    let mut steps: Vec<Step> = Vec::with_capacity(xs.len());
    for x in xs {
        let h_prev = steps.last().map_or(h0, |s| &s.h);
        // ax = W_ih x + b_ih; ah = W_hh h_prev + b_hh
        let ax = affine(&p.weight_ih, p.bias_ih.as_ref(), x);
        let ah = affine(&p.weight_hh, p.bias_hh.as_ref(), h_prev);
        let (mut r, mut z, mut n) = (vec![0.0; hidden], vec![0.0; hidden], vec![0.0; hidden]);
        let mut h = vec![0.0; hidden];
        for j in 0..hidden {
            // r = σ(ax_r + ah_r)
            r[j] = sigmoid(ax[j] + ah[j]);
            // z = σ(ax_z + ah_z)
            z[j] = sigmoid(ax[hidden + j] + ah[hidden + j]);
            // n = tanh(ax_n + r ⊙ ah_n)
            n[j] = (ax[2 * hidden + j] + r[j] * ah[2 * hidden + j]).tanh();
            // h = (1 - z) ⊙ n + z ⊙ h_prev
            h[j] = (1.0 - z[j]) * n[j] + z[j] * h_prev[j];
        }
        steps.push(Step { r, z, n, ah_n: ah[2 * hidden..].to_vec(), h });
    }
    steps
}

/// Backpropagation through time: given `dhs[k] = ∂L/∂h_k` from above and `dh_last = ∂L/∂h_n`,
/// adds the parameter gradients into `grads` and returns `(dL/dxs, dL/dh0)`; `seen[k]` gets the
/// whole `∂L/∂h_k`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &LayerParams<f64>,
    xs: &[Vec<f64>],
    h0: &[f64],
    steps: &[Step],
    dhs: &[Vec<f64>],
    dh_last: &[f64],
    grads: &mut LayerParams<f64>,
    seen: &mut [Vec<f64>],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let hidden = h0.len();
    // the carry dh = dL/dh_k over every path but through step k's own output
    let mut dh = dh_last.to_vec();
    let mut dxs = vec![Vec::new(); xs.len()];
    for k in (0..xs.len()).rev() {
        let s = &steps[k];
        let h_prev = if k == 0 { h0 } else { &steps[k - 1].h };
        // dh += dL/dh_k from the layer above (or the loss)
        add_into(&mut dh, &dhs[k]);
        seen[k].clone_from(&dh);
        // dA_x = [dax_r, dax_z, dax_n] and dA_h = [dah_r, dah_z, dah_n]
        let (mut da_x, mut da_h) = (vec![0.0; 3 * hidden], vec![0.0; 3 * hidden]);
        // dh_prev through h = (1 - z) n + z h_prev directly: dh ⊙ z
        let mut dh_prev = vec![0.0; hidden];
        for j in 0..hidden {
            // dn = dh ⊙ (1 - z); dz = dh ⊙ (h_prev - n)
            let (dn, dz) = (dh[j] * (1.0 - s.z[j]), dh[j] * (h_prev[j] - s.n[j]));
            // d(ax_n + r ⊙ ah_n) = dn ⊙ (1 - n²)
            let dan = dn * (1.0 - s.n[j] * s.n[j]);
            // dr = dan ⊙ ah_n
            let dr = dan * s.ah_n[j];
            // through r = σ(·) and z = σ(·): the same on both sides
            da_x[j] = dr * s.r[j] * (1.0 - s.r[j]);
            da_x[hidden + j] = dz * s.z[j] * (1.0 - s.z[j]);
            da_h[j] = da_x[j];
            da_h[hidden + j] = da_x[hidden + j];
            // the input side sees dan itself, the recurrent side dan ⊙ r
            da_x[2 * hidden + j] = dan;
            da_h[2 * hidden + j] = dan * s.r[j];
            dh_prev[j] = dh[j] * s.z[j];
        }
        // dW_ih += dA_x xᵀ, db_ih += dA_x, dW_hh += dA_h h_prevᵀ, db_hh += dA_h
        accumulate(grads, &da_x, &da_h, &xs[k], h_prev);
        // dx = W_ihᵀ dA_x
        dxs[k] = transposed_times(&p.weight_ih, &da_x);
        // dh_prev = dh ⊙ z + W_hhᵀ dA_h
        add_into(&mut dh_prev, &transposed_times(&p.weight_hh, &da_h));
        dh = dh_prev;
    }
    (dxs, dh)
}
