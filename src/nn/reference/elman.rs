//! The Elman cell over one sequence (one batch row, one direction), step by step:
//! ```text
//! a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
//! h_t = act(a_t)                                  act = tanh, relu or sigmoid
//! ```
//! Sequences are given in the order the direction processes them (reversed for the reverse
//! direction); [`super::stack`] does the reordering.

use super::{accumulate, add_into, affine, sigmoid, transposed_times};
use crate::{LayerParams, Nonlinearity};

/// What one step keeps for the backward pass.
#[derive(Clone, Debug)]
pub struct Step {
    /// The pre-activation `a_t`.
    pub a: Vec<f64>,
    /// The state `h_t = act(a_t)`.
    pub h: Vec<f64>,
}

/// `act(a)`.
pub fn activate(act: Nonlinearity, a: f64) -> f64 {
    match act {
        Nonlinearity::Tanh => a.tanh(),
        Nonlinearity::Relu => a.max(0.0),
        Nonlinearity::Sigmoid => sigmoid(a),
    }
}

/// `act'(a)`.
pub fn derivative(act: Nonlinearity, a: f64) -> f64 {
    match act {
        Nonlinearity::Tanh => 1.0 - a.tanh().powi(2),
        Nonlinearity::Relu => f64::from(u8::from(a > 0.0)),
        Nonlinearity::Sigmoid => sigmoid(a) * (1.0 - sigmoid(a)),
    }
}

/// Runs the cell over `xs` from `h0`.
pub fn forward(p: &LayerParams<f64>, act: Nonlinearity, xs: &[Vec<f64>], h0: &[f64]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::with_capacity(xs.len());
    for x in xs {
        let h_prev = steps.last().map_or(h0, |s| &s.h);
        // a = (W_ih x + b_ih) + (W_hh h_prev + b_hh)
        let mut a = affine(&p.weight_ih, p.bias_ih.as_ref(), x);
        add_into(&mut a, &affine(&p.weight_hh, p.bias_hh.as_ref(), h_prev));
        // h = act(a)
        let h = a.iter().map(|&v| activate(act, v)).collect();
        steps.push(Step { a, h });
    }
    steps
}

/// Backpropagation through time: given `dhs[k] = ∂L/∂h_k` from above (the output's gradient)
/// and `dh_last = ∂L/∂h_n`, adds the parameter gradients into `g` and returns `(dL/dxs,
/// dL/dh0)`; `seen[k]` gets the whole `∂L/∂h_k` (from above and from later steps).
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
        // dW_ih += da xᵀ, dW_hh += da h_prevᵀ, db_ih += da, db_hh += da
        accumulate(g, &da, &da, &xs[k], h_prev);
        // dx = W_ihᵀ da
        dxs[k] = transposed_times(&p.weight_ih, &da);
        // dh_prev = W_hhᵀ da
        dh = transposed_times(&p.weight_hh, &da);
    }
    (dxs, dh)
}
