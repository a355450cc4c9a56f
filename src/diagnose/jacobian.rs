//! The step Jacobians `J_t = ∂s_t/∂s_{t-1}` of every layer and direction along a trajectory,
//! and their spectral norms: how much one step can stretch a perturbation of the state (and so
//! a gradient flowing back through it, `dL/ds_{t-1} = J_tᵀ dL/ds_t`). Products of norms well
//! below 1 vanish, well above 1 explode.
//!
//! The state `s` is `h` `[H]` for the Elman cell and the GRU, and `(h, c)` concatenated
//! `[S + H]` for the LSTM (`S` = `proj_size` when set, else `H`). The trajectory is the plain
//! reference's forward pass ([`crate::nn::reference`]) in evaluation mode (no dropout), and
//! each Jacobian is formed analytically from the values that step stored:
//!
//! Elman (`a = W_ih x + b_ih + W_hh h_{t-1} + b_hh`, `h = act(a)`):
//! ```text
//! J = diag(act'(a)) W_hh
//! ```
//! GRU (`ah_n = W_hn h_{t-1} + b_hn`, blocks `W_hr`, `W_hz`, `W_hn` of `W_hh`):
//! ```text
//! ∂r/∂h_{t-1} = diag(r ⊙ (1 - r)) W_hr
//! ∂z/∂h_{t-1} = diag(z ⊙ (1 - z)) W_hz
//! ∂n/∂h_{t-1} = diag(1 - n²) (diag(ah_n) ∂r/∂h_{t-1} + diag(r) W_hn)
//! J = diag(1 - z) ∂n/∂h_{t-1} + diag(h_{t-1} - n) ∂z/∂h_{t-1} + diag(z)
//! ```
//! LSTM (blocks `W_hi`, `W_hf`, `W_hg`, `W_ho` `[H, S]` of `W_hh`; `m = o ⊙ tanh c`):
//! ```text
//! ∂i/∂h_{t-1} = diag(i ⊙ (1 - i)) W_hi        (likewise f, o)
//! ∂g/∂h_{t-1} = diag(1 - g²) W_hg
//! ∂c/∂h_{t-1} = diag(c_{t-1}) ∂f/∂h_{t-1} + diag(g) ∂i/∂h_{t-1} + diag(i) ∂g/∂h_{t-1}
//! ∂c/∂c_{t-1} = diag(f)
//! ∂m/∂h_{t-1} = diag(tanh c) ∂o/∂h_{t-1} + diag(o ⊙ (1 - tanh² c)) ∂c/∂h_{t-1}
//! ∂m/∂c_{t-1} = diag(o ⊙ (1 - tanh² c) ⊙ f)
//! ∂h/∂· = W_hr ∂m/∂·   with proj_size, else ∂h/∂· = ∂m/∂·
//! J = [[∂h/∂h_{t-1}, ∂h/∂c_{t-1}], [∂c/∂h_{t-1}, ∂c/∂c_{t-1}]]      [S + H, S + H]
//! ```
//! The norm `‖J‖₂ = σ_max(J)` is the largest singular value from nalgebra's SVD (singular values
//! only, exact to rounding; [`super::spectral::largest_singular_value`]), not a power
//! iteration. That costs `O(n³)` per step and sequence for a state of width `n`; bound the
//! sequences with `max_batch`.

use std::borrow::Cow;

use ndarray::{Array2, ArrayView3, s};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::spectral::largest_singular_value;
use crate::nn::reference::{self, Forward, StepsRef};
use crate::{Error, Model, Readout, Result};

/// Runs `f` on the reference forward pass of `model` over the first `min(B, max_batch)`
/// sequences of `x [T, B, input_size]`, from zero initial states, in evaluation mode: a model
/// with dropout is cloned with dropout 0 first (the reference applies the configured dropout
/// between layers, as in training), so the trajectory is the one inference follows.
///
/// # Errors
/// [`Error::Shape`] when `x` is not `[T ≥ 1, B ≥ 1, input_size]`; [`Error::Config`] when
/// `max_batch` is 0.
// Not API: its closure takes the test oracle's forward pass (`nn::reference`, hidden).
#[doc(hidden)]
pub fn with_eval_run<T>(
    model: &Model<f64>,
    x: ArrayView3<'_, f64>,
    max_batch: usize,
    f: impl FnOnce(&Forward<'_>) -> T,
) -> Result<T> {
    let c = model.rnn.config();
    let (seq_len, batch, width) = x.dim();
    if width != c.input_size || seq_len == 0 || batch == 0 {
        return Err(Error::shape("input", format!("[seq_len >= 1, batch >= 1, {}]", c.input_size), x.shape()));
    }
    if max_batch == 0 {
        return Err(Error::Config("max_batch must be at least 1".into()));
    }
    let eval = if c.dropout > 0.0 {
        let mut m = model.clone();
        m.rnn.set_dropout(0.0)?;
        Cow::Owned(m)
    } else {
        Cow::Borrowed(model)
    };
    let x = x.slice(s![.., ..batch.min(max_batch), ..]);
    // without dropout the pass draws nothing from the generator
    let run = reference::forward(&eval, x, None, None, Readout::EveryStep, &mut ChaCha8Rng::seed_from_u64(0));
    Ok(f(&run))
}

/// The batch means of `‖∂s_t/∂s_{t-1}‖₂` `[L * D, T]` of every layer-direction (`l * D + d`)
/// and time step along the trajectory of `model` over the first `min(B, max_batch)` sequences
/// of `x [T, B, input_size]`, from zero initial states, without dropout (see the module
/// documentation for the formulas). Column `t` is time step `t` in both directions; for the
/// reverse direction `s_{t-1}` is the state it processed just before, at `t + 1`.
///
/// # Errors
/// [`Error::Shape`] when `x` is not `[T ≥ 1, B ≥ 1, input_size]`; [`Error::Config`] when
/// `max_batch` is 0.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::diagnose::jacobian::step_jacobian_norms;
/// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
///
/// let rnn = RnnConfig::new(3, 8).with_cell(Cell::Lstm).with_bidirectional(true);
/// let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((5, 4, 3)); // [seq_len, batch, input_size]
/// let norms = step_jacobian_norms(&model, x.view(), 2)?; // the first 2 sequences
/// assert_eq!(norms.dim(), (2, 5)); // [L * D, T]
/// assert!(norms.iter().all(|&n| n > 0.0 && n.is_finite()));
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn step_jacobian_norms(model: &Model<f64>, x: ArrayView3<'_, f64>, max_batch: usize) -> Result<Array2<f64>> {
    with_eval_run(model, x, max_batch, jacobian_norms)
}

/// The batch means of `‖∂s_t/∂s_{t-1}‖₂` `[L * D, T]` over every sequence of a reference
/// forward pass (as [`step_jacobian_norms`], for a pass already run, e.g. in
/// [`with_eval_run`]).
#[doc(hidden)] // not API: takes the test oracle's forward pass (`nn::reference`, hidden)
pub fn jacobian_norms(run: &Forward<'_>) -> Array2<f64> {
    let (n, batch, _) = run.h0().dim();
    let seq_len = run.layer_input(0).shape()[0];
    let mut norms = Array2::zeros((n, seq_len));
    for i in 0..n {
        for b in 0..batch {
            for t in 0..seq_len {
                norms[[i, t]] += largest_singular_value(jacobian(run, i, b, t).view()) / batch as f64;
            }
        }
    }
    norms
}

/// The step Jacobian `∂s_t/∂s_{t-1}` of layer-direction `i` (`l * D + d`) at time step `t` of
/// batch row `b`, along the trajectory of `run`: `[H, H]` for the Elman cell and the GRU,
/// `[S + H, S + H]` over `(h, c)` for the LSTM (formulas in the module documentation). The state
/// before the first processed step is the run's `h0` (and `c0`).
///
/// # Errors
/// [`Error::Config`] when `i`, `b` or `t` is out of range.
#[doc(hidden)] // not API: takes the test oracle's forward pass (`nn::reference`, hidden)
pub fn step_jacobian(run: &Forward<'_>, i: usize, b: usize, t: usize) -> Result<Array2<f64>> {
    let (n, batch, _) = run.h0().dim();
    let seq_len = run.layer_input(0).shape()[0];
    for (what, v, end) in [("layer-direction", i, n), ("batch row", b, batch), ("time step", t, seq_len)] {
        if v >= end {
            return Err(Error::Config(format!("{what} {v} is out of range (there are {end})")));
        }
    }
    Ok(jacobian(run, i, b, t))
}

/// [`step_jacobian`] with the indices known to be in range.
fn jacobian(run: &Forward<'_>, i: usize, b: usize, t: usize) -> Array2<f64> {
    let model = run.model();
    let c = model.rnn.config();
    let p = &model.rnn.layers()[i];
    let seq_len = run.layer_input(0).shape()[0];
    // the step's place in processing order
    let k = if i % c.num_directions() == 1 { seq_len - 1 - t } else { t };
    let h0 = run.h0().slice(s![i, b, ..]).to_vec();
    match run.steps(i, b) {
        StepsRef::Elman(steps) => {
            // J = diag(act'(a)) W_hh
            let a = &steps[k].a;
            let mut j = p.weight_hh.clone();
            for (r, mut row) in j.rows_mut().into_iter().enumerate() {
                row *= reference::elman::derivative(c.nonlinearity, a[r]);
            }
            j
        }
        StepsRef::IndRnn(steps) => {
            // J = diag(act'(a) ⊙ u)
            let u = p.weight_hh_diag.as_ref().map_or(&[][..], |u| u.as_slice().unwrap_or(&[]));
            let a = &steps[k].a;
            let mut j = Array2::zeros((a.len(), a.len()));
            for (r, (&a, &u)) in a.iter().zip(u).enumerate() {
                j[[r, r]] = reference::elman::derivative(c.nonlinearity, a) * u;
            }
            j
        }
        StepsRef::Gru(steps) => {
            let h_prev = if k == 0 { &h0 } else { &steps[k - 1].h };
            let st = &steps[k];
            let hidden = h_prev.len();
            let w = &p.weight_hh;
            Array2::from_shape_fn((hidden, hidden), |(r, col)| {
                let (rr, z, n) = (st.r[r], st.z[r], st.n[r]);
                // ∂r/∂h, ∂z/∂h (row r, column col)
                let dr = rr * (1.0 - rr) * w[[r, col]];
                let dz = z * (1.0 - z) * w[[hidden + r, col]];
                // ∂n/∂h = (1 - n²) (ah_n ∂r/∂h + r W_hn)
                let dn = (1.0 - n * n) * (st.ah_n[r] * dr + rr * w[[2 * hidden + r, col]]);
                // ∂h/∂h_prev = (1 - z) ∂n/∂h + (h_prev - n) ∂z/∂h + diag(z)
                (1.0 - z) * dn + (h_prev[r] - n) * dz + if r == col { z } else { 0.0 }
            })
        }
        StepsRef::Lstm(steps) => {
            let c0 = run.c0().map(|c0| c0.slice(s![i, b, ..]).to_vec()).unwrap_or_default();
            let (h_prev, c_prev) = if k == 0 { (&h0, &c0) } else { (&steps[k - 1].h, &steps[k - 1].c) };
            lstm_jacobian(p, &steps[k], h_prev.len(), c_prev)
        }
    }
}

/// The LSTM's `[[∂h/∂h_prev, ∂h/∂c_prev], [∂c/∂h_prev, ∂c/∂c_prev]]` at one step.
fn lstm_jacobian(p: &crate::LayerParams<f64>, st: &reference::lstm::Step, state: usize, c_prev: &[f64]) -> Array2<f64> {
    let hidden = c_prev.len();
    let w = &p.weight_hh;
    // ∂c/∂h_prev and ∂m/∂h_prev [H, S]; the diagonals ∂c/∂c_prev = f, ∂m/∂c_prev [H]
    let mut dc_dh = Array2::zeros((hidden, state));
    let mut dm_dh = Array2::zeros((hidden, state));
    let mut dm_dc = vec![0.0; hidden];
    for r in 0..hidden {
        let (gi, gf, gg, go) = (st.i[r], st.f[r], st.g[r], st.o[r]);
        let tc = st.c[r].tanh();
        for col in 0..state {
            // ∂i, ∂f, ∂g, ∂o /∂h_prev through σ and tanh
            let di = gi * (1.0 - gi) * w[[r, col]];
            let df = gf * (1.0 - gf) * w[[hidden + r, col]];
            let dg = (1.0 - gg * gg) * w[[2 * hidden + r, col]];
            let d_o = go * (1.0 - go) * w[[3 * hidden + r, col]];
            // ∂c/∂h_prev = c_prev ∂f + g ∂i + i ∂g
            let dc = c_prev[r] * df + gg * di + gi * dg;
            dc_dh[[r, col]] = dc;
            // ∂m/∂h_prev = tanh c ∂o + o (1 - tanh² c) ∂c
            dm_dh[[r, col]] = tc * d_o + go * (1.0 - tc * tc) * dc;
        }
        // ∂m/∂c_prev = o (1 - tanh² c) f
        dm_dc[r] = go * (1.0 - tc * tc) * gf;
    }
    // ∂h/∂· = W_hr ∂m/∂· with a projection, else ∂m/∂·
    let (dh_dh, dh_dc) = match &p.weight_hr {
        Some(w_hr) => {
            (w_hr.dot(&dm_dh), Array2::from_shape_fn((state, hidden), |(r, col)| w_hr[[r, col]] * dm_dc[col]))
        }
        None => (dm_dh, Array2::from_diag(&ndarray::Array1::from(dm_dc))),
    };
    let mut j = Array2::zeros((state + hidden, state + hidden));
    j.slice_mut(s![..state, ..state]).assign(&dh_dh);
    j.slice_mut(s![..state, state..]).assign(&dh_dc);
    j.slice_mut(s![state.., ..state]).assign(&dc_dh);
    for r in 0..hidden {
        j[[state + r, state + r]] = st.f[r];
    }
    j
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;

    use super::*;
    use crate::{Cell, Init, ModelConfig, Nonlinearity, RnnConfig};

    #[test]
    fn bad_input_is_an_error_value() {
        let model =
            Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: None }, Init::PyTorch, 0).unwrap();
        let x = Array3::<f64>::zeros((2, 1, 2));
        assert!(matches!(step_jacobian_norms(&model, x.view(), 1), Err(Error::Shape { .. })));
        let empty = Array3::<f64>::zeros((0, 1, 3));
        assert!(matches!(step_jacobian_norms(&model, empty.view(), 1), Err(Error::Shape { .. })));
        let x = Array3::<f64>::zeros((2, 1, 3));
        assert!(matches!(step_jacobian_norms(&model, x.view(), 0), Err(Error::Config(_))));
        let err = with_eval_run(&model, x.view(), 1, |run| step_jacobian(run, 0, 1, 0)).unwrap();
        assert!(matches!(err, Err(Error::Config(_))));
    }

    #[test]
    fn dropout_is_off() {
        let rnn = RnnConfig::new(2, 5).with_cell(Cell::Gru).with_num_layers(2);
        let model = Model::<f64>::new(ModelConfig { rnn, output_size: None }, Init::PyTorch, 4).unwrap();
        let mut dropped = model.clone();
        dropped.rnn.set_dropout(0.5).unwrap();
        let x = Array3::from_shape_fn((4, 3, 2), |(t, b, k)| ((t * 7 + b * 3 + k) as f64).sin());
        let a = step_jacobian_norms(&model, x.view(), 3).unwrap();
        let b = step_jacobian_norms(&dropped, x.view(), 3).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn max_batch_takes_the_first_rows() {
        let model =
            Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: None }, Init::PyTorch, 5).unwrap();
        let x = Array3::from_shape_fn((3, 4, 2), |(t, b, k)| ((t * 5 + b * 11 + k) as f64).cos());
        let first = step_jacobian_norms(&model, x.slice(s![.., ..2, ..]), 9).unwrap();
        assert_eq!(step_jacobian_norms(&model, x.view(), 2).unwrap(), first);
        let relu = RnnConfig::new(2, 4).with_nonlinearity(Nonlinearity::Relu);
        let model = Model::<f64>::new(ModelConfig { rnn: relu, output_size: None }, Init::PyTorch, 5).unwrap();
        assert_eq!(step_jacobian_norms(&model, x.view(), 9).unwrap().dim(), (1, 3));
    }
}
