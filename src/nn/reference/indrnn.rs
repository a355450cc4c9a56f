//! The IndRNN cell (Li et al. 2018) over one sequence (one batch row, one direction), step by
//! step:
//! ```text
//! a_t = W_ih x_t + b_ih + u ⊙ h_{t-1} + b_hh         u: one recurrent weight per unit
//! h_t = act(a_t)                                  act = relu, tanh or sigmoid
//! ```
//! Sequences are given in the order the direction processes them (reversed for the reverse
//! direction); [`super::stack`] does the reordering.

use super::elman::{Step, activate, derivative};
use super::{add_into, add_outer, affine, transposed_times};
use crate::{LayerParams, Nonlinearity};

/// The recurrent weights `u` of an IndRNN layer.
fn recurrent(p: &LayerParams<f64>) -> &[f64] {
    p.weight_hh_diag.as_ref().and_then(|u| u.as_slice()).expect("an IndRNN layer has u")
}

/// Runs the cell over `xs` from `h0`.
pub fn forward(p: &LayerParams<f64>, act: Nonlinearity, xs: &[Vec<f64>], h0: &[f64]) -> Vec<Step> {
    let u = recurrent(p);
    let mut steps: Vec<Step> = Vec::with_capacity(xs.len());
    for x in xs {
        let h_prev = steps.last().map_or(h0, |s| &s.h);
        // a = (W_ih x + b_ih) + (u ⊙ h_prev + b_hh)
        let mut a = affine(&p.weight_ih, p.bias_ih.as_ref(), x);
        for j in 0..a.len() {
            a[j] += u[j] * h_prev[j] + p.bias_hh.as_ref().map_or(0.0, |b| b[j]);
        }
        // h = act(a)
        let h = a.iter().map(|&v| activate(act, v)).collect();
        steps.push(Step { a, h });
    }
    steps
}

/// Backpropagation through time: given `dhs[k] = ∂L/∂h_k` from above (the output's gradient)
/// and `dh_last = ∂L/∂h_n`, adds the parameter gradients into `g` and returns `(dL/dxs,
/// dL/dh0)`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    p: &LayerParams<f64>,
    act: Nonlinearity,
    xs: &[Vec<f64>],
    h0: &[f64],
    steps: &[Step],
    dhs: &[Vec<f64>],
    dh_last: &[f64],
    g: &mut LayerParams<f64>,
    seen: &mut [Vec<f64>],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let u = recurrent(p);
    // dh = dL/dh_k, all paths: the final state's gradient, then what comes from step k + 1
    let mut dh = dh_last.to_vec();
    let mut dxs = vec![Vec::new(); xs.len()];
    for k in (0..xs.len()).rev() {
        let h_prev = if k == 0 { h0 } else { &steps[k - 1].h };
        // dh += dL/dh_k from the layer above (or the loss)
        add_into(&mut dh, &dhs[k]);
        seen[k].clone_from(&dh);
        // da = dh ⊙ act'(a)
        let da: Vec<f64> = dh.iter().zip(&steps[k].a).map(|(&d, &a)| d * derivative(act, a)).collect();
        // dW_ih += da xᵀ, db_ih += da, db_hh += da
        add_outer(&mut g.weight_ih, &da, &xs[k]);
        if let (Some(bi), Some(bh)) = (&mut g.bias_ih, &mut g.bias_hh) {
            add_into(bi.as_slice_mut().expect("contiguous"), &da);
            add_into(bh.as_slice_mut().expect("contiguous"), &da);
        }
        // du += da ⊙ h_prev
        let du = g.weight_hh_diag.as_mut().and_then(|u| u.as_slice_mut()).expect("an IndRNN gradient has u");
        for j in 0..da.len() {
            du[j] += da[j] * h_prev[j];
        }
        // dx = W_ihᵀ da
        dxs[k] = transposed_times(&p.weight_ih, &da);
        // dh_prev = u ⊙ da
        dh = da.iter().zip(u).map(|(&d, &u)| d * u).collect();
    }
    (dxs, dh)
}
