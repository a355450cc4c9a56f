//! The LSTM cell over one sequence (one batch row, one direction), step by step, as
//! `torch.nn.LSTM` (gate blocks i, f, g, o of `W_ih [4H, in]`, `W_hh [4H, S]`):
//! ```text
//! a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh           [4H]
//! i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
//! c_t = f ⊙ c_{t-1} + i ⊙ g
//! m_t = o ⊙ tanh(c_t)
//! h_t = m_t,  or with proj_size: h_t = W_hr m_t          [S]
//! ```
//! Sequences are given in the order the direction processes them.

use super::{accumulate, add_into, add_outer, affine, sigmoid, transposed_times};
use crate::LayerParams;

/// What one step keeps for the backward pass.
#[derive(Clone, Debug)]
pub struct Step {
    /// Input gate `σ(a_i)`.
    pub i: Vec<f64>,
    /// Forget gate `σ(a_f)`.
    pub f: Vec<f64>,
    /// Cell candidate `tanh(a_g)`.
    pub g: Vec<f64>,
    /// Output gate `σ(a_o)`.
    pub o: Vec<f64>,
    /// Cell state `c_t`.
    pub c: Vec<f64>,
    /// `m_t = o ⊙ tanh(c_t)`, the state before the projection.
    pub m: Vec<f64>,
    /// Hidden state `h_t` (`m_t` without a projection).
    pub h: Vec<f64>,
}

/// Runs the cell over `xs` from `(h0, c0)`.
pub fn forward(p: &LayerParams<f64>, xs: &[Vec<f64>], h0: &[f64], c0: &[f64]) -> Vec<Step> {
    let n = c0.len();
    let mut steps: Vec<Step> = Vec::with_capacity(xs.len());
    for x in xs {
        let (h_prev, c_prev) = steps.last().map_or((h0, c0), |s| (&s.h, &s.c));
        // a = (W_ih x + b_ih) + (W_hh h_prev + b_hh)
        let mut a = affine(&p.weight_ih, p.bias_ih.as_ref(), x);
        add_into(&mut a, &affine(&p.weight_hh, p.bias_hh.as_ref(), h_prev));
        // i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
        let i: Vec<f64> = a[..n].iter().map(|&v| sigmoid(v)).collect();
        let f: Vec<f64> = a[n..2 * n].iter().map(|&v| sigmoid(v)).collect();
        let g: Vec<f64> = a[2 * n..3 * n].iter().map(|&v| v.tanh()).collect();
        let o: Vec<f64> = a[3 * n..].iter().map(|&v| sigmoid(v)).collect();
        // c = f ⊙ c_prev + i ⊙ g
        let c: Vec<f64> = (0..n).map(|j| f[j] * c_prev[j] + i[j] * g[j]).collect();
        // m = o ⊙ tanh(c)
        let m: Vec<f64> = (0..n).map(|j| o[j] * c[j].tanh()).collect();
        // h = W_hr m with a projection, else m
        let h = match &p.weight_hr {
            Some(w_hr) => affine(w_hr, None, &m),
            None => m.clone(),
        };
        steps.push(Step { i, f, g, o, c, m, h });
    }
    steps
}

/// Backpropagation through time: given `dhs[k] = ∂L/∂h_k` from above, `dh_last = ∂L/∂h_n` and
/// `dc_last = ∂L/∂c_n`, adds the parameter gradients (`weight_hr`'s too) into `grads` and
/// returns `(dL/dxs, dL/dh0, dL/dc0)`; `seen[k]` gets the whole `(∂L/∂h_k, ∂L/∂c_k)`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &LayerParams<f64>,
    xs: &[Vec<f64>],
    h0: &[f64],
    c0: &[f64],
    steps: &[Step],
    dhs: &[Vec<f64>],
    dh_last: &[f64],
    dc_last: &[f64],
    grads: &mut LayerParams<f64>,
    seen: &mut [(Vec<f64>, Vec<f64>)],
) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
    let n = c0.len();
    // the carries dh = dL/dh_k and dc = dL/dc_k over every path but through step k's own output
    let mut dh = dh_last.to_vec();
    let mut dc = dc_last.to_vec();
    let mut dxs = vec![Vec::new(); xs.len()];
    for k in (0..xs.len()).rev() {
        let s = &steps[k];
        let (h_prev, c_prev) = if k == 0 { (h0, c0) } else { (&steps[k - 1].h[..], &steps[k - 1].c[..]) };
        // dh += dL/dh_k from the layer above (or the loss)
        add_into(&mut dh, &dhs[k]);
        seen[k].0.clone_from(&dh);
        // through the projection h = W_hr m: dW_hr += dh mᵀ, dm = W_hrᵀ dh (else dm = dh)
        let dm = match (&p.weight_hr, &mut grads.weight_hr) {
            (Some(w_hr), Some(dw_hr)) => {
                add_outer(dw_hr, &dh, &s.m);
                transposed_times(w_hr, &dh)
            }
            _ => dh.clone(),
        };
        let mut da = vec![0.0; 4 * n];
        seen[k].1 = (0..n).map(|j| dc[j] + dm[j] * s.o[j] * (1.0 - s.c[j].tanh().powi(2))).collect();
        for j in 0..n {
            let tc = s.c[j].tanh();
            // dc += dm ⊙ o ⊙ (1 - tanh² c)        (through m = o ⊙ tanh c)
            dc[j] += dm[j] * s.o[j] * (1.0 - tc * tc);
            // do = dm ⊙ tanh c
            let d_o = dm[j] * tc;
            // di = dc ⊙ g, df = dc ⊙ c_prev, dg = dc ⊙ i   (through c = f ⊙ c_prev + i ⊙ g)
            let (d_i, d_f, d_g) = (dc[j] * s.g[j], dc[j] * c_prev[j], dc[j] * s.i[j]);
            // da_i = di σ'(a_i), da_f = df σ'(a_f), da_g = dg tanh'(a_g), da_o = do σ'(a_o)
            da[j] = d_i * s.i[j] * (1.0 - s.i[j]);
            da[n + j] = d_f * s.f[j] * (1.0 - s.f[j]);
            da[2 * n + j] = d_g * (1.0 - s.g[j] * s.g[j]);
            da[3 * n + j] = d_o * s.o[j] * (1.0 - s.o[j]);
            // dc_prev = dc ⊙ f
            dc[j] *= s.f[j];
        }
        // dW_ih += da xᵀ, dW_hh += da h_prevᵀ, db_ih += da, db_hh += da
        accumulate(grads, &da, &da, &xs[k], h_prev);
        // dx = W_ihᵀ da
        dxs[k] = transposed_times(&p.weight_ih, &da);
        // dh_prev = W_hhᵀ da
        dh = transposed_times(&p.weight_hh, &da);
    }
    (dxs, dh, dc)
}
