//! The IndRNN layer in one direction (Li, Li, Cook, Zhu and Gao 2018, "Independently Recurrent
//! Neural Network (IndRNN): Building A Longer and Deeper RNN"): its forward pass over a whole
//! sequence batch and, right beside it, its backward pass through time.
//!
//! Each unit sees only its own previous state, through one weight `u_j`:
//! ```text
//! A_t = x_t W_ihᵀ + b_ih + u ⊙ h_{t-1} + b_hh        [B, H]
//! h_t = act(A_t)                                       act = relu (the paper's), tanh or sigmoid
//! ```
//! so an IndRNN is an Elman layer whose `W_hh` is `diag(u)`. The input projections of every
//! step are one GEMM `[T*B, in] x [in, H]`, written straight into the hidden-state buffer; the
//! recurrence is element-wise, `O(B H)` per step, in place. The backward pass needs only the
//! states (`act'` from the output), and works over them: each step's `dA_t` overwrites `h_t`
//! once `h_t` and `h_{t-1}` have been read. `dW_ih` and `dX` are then one GEMM each over all
//! steps (`dX` written over `dA` when the input is as wide as the state);
//! `du = Σ_t Σ_b dA_t ⊙ h_{t-1}` is summed during the steps.
//!
//! The recurrent weights are constrained as the paper does: `|u_j| <= recurrent_max`
//! ([`crate::RnnConfig::recurrent_max`]) at initialisation and after every optimizer step
//! ([`crate::Rnn::clamp_recurrent`]).

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut3};

use crate::nn::gated::{
    add_upstream, before, check_norms, check_upstream, input_grads, project_input, row_and_prev, summed_bias, view2,
};
use crate::nn::layer::{InputGrad, LayerGradsOut, LayerParams, Recurrence, Upstream, mean_row_norm};
use crate::{Cell, Error, Float, Result, Rnn};

/// `u` of an IndRNN layer, checked against `W_ih`.
fn recurrent_weight<F: Float>(p: &LayerParams<F>) -> Result<&[F]> {
    let h = p.weight_ih.nrows();
    match p.weight_hh_diag.as_ref().and_then(|u| u.as_slice()) {
        Some(u) if u.len() == h && p.weight_hr.is_none() => Ok(u),
        _ => {
            let got = p.weight_hh_diag.as_ref().map_or(p.weight_hh.shape().to_vec(), |u| u.shape().to_vec());
            Err(Error::shape("IndRNN weight_hh", format!("[{h}]"), &got))
        }
    }
}

/// Runs one IndRNN direction over `x [T, B, in]` from `h0 [B, H]`, writing every hidden state
/// into `hs [T, B, H]` (standard layout), in time order.
///
/// # Errors
/// [`Error::Shape`] when the shapes disagree with the parameters.
pub(crate) fn forward<F: Float>(
    p: &LayerParams<F>,
    rec: Recurrence,
    x: ArrayView3<'_, F>,
    h0: ArrayView2<'_, F>,
    mut hs: ArrayViewMut3<'_, F>,
) -> Result<()> {
    p.check(&x, &h0, hs.shape())?;
    let u = recurrent_weight(p)?;
    let (seq_len, batch, _) = x.dim();
    let hidden = p.hidden_size();
    let bh = batch * hidden;
    let hs = hs.as_slice_mut().ok_or_else(|| Error::shape("hidden states", "standard layout", &[seq_len, bh]))?;
    // P = X W_ihᵀ + (b_ih + b_hh): the input projection of every step in one GEMM, into hs
    let bias = summed_bias(p);
    project_input(p, x, bias.as_deref(), hs);
    let h0 = h0.as_standard_layout();
    let h0 = h0.as_slice().expect("standard layout");
    // the usual initial state, zero: the first step's recurrence adds nothing
    let h0_zero = h0.iter().all(|&v| v == F::zero());
    for step in 0..seq_len {
        let t = rec.time(step, seq_len);
        let (a_t, h_prev) = match before(rec.reverse, t, seq_len) {
            Some(pt) => row_and_prev(hs, t, pt, bh),
            None => (&mut hs[t * bh..(t + 1) * bh], h0),
        };
        if step > 0 || !h0_zero {
            // A_t = P_t + u ⊙ h_{t∓1}   (h_{-1} = h0), row by row: u_j weighs unit j's own state
            for (a, hp) in a_t.chunks_exact_mut(hidden).zip(h_prev.chunks_exact(hidden)) {
                a.iter_mut().zip(u).zip(hp).for_each(|((a, &u), &hp)| *a += u * hp);
            }
        }
        // h_t = act(A_t), in place
        rec.nonlinearity.apply_slice(a_t);
    }
    Ok(())
}

/// Backpropagation through time for one IndRNN direction.
///
/// `out.da` holds on entry the hidden states [`forward`] wrote and on return
/// `dA = dL/d(pre-activation)`; `d_hs` is the gradient arriving at the hidden states from above
/// ([`Upstream::Given`] or [`Upstream::Head`]), `d_hn` that of the final state. Writes the
/// gradients of `W_ih`, `u`, `b_ih`, `b_hh`, the input (as `out.dx` says) and `h0`.
///
/// With [`InputGrad::OverDa`] (a layer whose input is as wide as its state) the input
/// gradient then overwrites `dA` in `out.da`.
///
/// # Errors
/// [`Error::Shape`] when the shapes disagree (or [`InputGrad::OverDa`] is asked of a layer
/// whose input is not as wide as its state); [`Error::Config`] for [`Upstream::InDa`].
pub(crate) fn backward<F: Float>(
    p: &LayerParams<F>,
    rec: Recurrence,
    x: ArrayView3<'_, F>,
    h0: ArrayView2<'_, F>,
    d_hs: Upstream<'_, F>,
    d_hn: ArrayView2<'_, F>,
    out: LayerGradsOut<'_, '_, F>,
) -> Result<()> {
    p.check(&x, &h0, out.da.shape())?;
    let u = recurrent_weight(p)?;
    let (seq_len, batch, input_size) = x.dim();
    let hidden = p.hidden_size();
    let bh = batch * hidden;
    let head = check_upstream(&d_hs, seq_len, batch, hidden, false)?;
    let LayerGradsOut { params: grads, dx, dh0: mut g, mut da, mut norms } = out;
    check_norms(norms.as_ref(), seq_len)?;
    if matches!(dx, InputGrad::OverDa) && input_size != hidden {
        return Err(Error::shape("grad of layer input over dA", format!("input size {hidden}"), &[input_size]));
    }
    if d_hn.shape() != [batch, hidden] || g.shape() != [batch, hidden] {
        return Err(Error::shape("grad of h_n", format!("[{batch}, {hidden}]"), d_hn.shape()));
    }
    let da = da.as_slice_mut().ok_or_else(|| Error::shape("dA over the states", "standard layout", &[seq_len, bh]))?;
    let du = grads
        .weight_hh_diag
        .as_mut()
        .and_then(|u| u.as_slice_mut())
        .filter(|du| du.len() == hidden)
        .ok_or_else(|| Error::shape("grad of IndRNN weight_hh", format!("[{hidden}]"), &[]))?;
    du.fill(F::zero());
    let h0 = h0.as_standard_layout();
    let h0 = h0.as_slice().expect("standard layout");
    let act = rec.nonlinearity;

    // Through time, last processed step first. `g` carries dL/dh_t; it starts as dL/dh_n and
    // ends as dL/dh0.
    g.assign(&d_hn);
    let g = g.as_slice_mut().ok_or_else(|| Error::shape("grad of h0", "standard layout", &[batch, hidden]))?;
    for step in (0..seq_len).rev() {
        let t = rec.time(step, seq_len);
        // g += dL/dh_t from above (the output path): given, or through a head
        add_upstream(g, &d_hs, &head, t);
        if let Some(n) = &mut norms {
            n.h[t] = mean_row_norm(g, hidden);
        }
        // row t holds h_t (overwritten below by dA_t); the previous state is still a state
        let (da_t, h_prev) = match before(rec.reverse, t, seq_len) {
            Some(pt) => row_and_prev(da, t, pt, bh),
            None => (&mut da[t * bh..(t + 1) * bh], h0),
        };
        let rows = da_t.chunks_exact_mut(hidden).zip(g.chunks_exact_mut(hidden)).zip(h_prev.chunks_exact(hidden));
        for ((d, gv), hp) in rows {
            for ((d, gv), (&hp, (du, &u))) in d.iter_mut().zip(gv.iter_mut()).zip(hp.iter().zip(du.iter_mut().zip(u))) {
                // dA_t = g ⊙ act'(h_t)            (through the activation; d holds h_t)
                let da = *gv * act.derivative_from_output(*d);
                // du += dA_t ⊙ h_{t-1}            (through u ⊙ h_{t-1}, summed over the batch)
                *du += da * hp;
                // g = dA_t ⊙ u                    (into the previous state)
                *gv = da * u;
                *d = da;
            }
        }
    }
    if seq_len == 0 {
        grads.weight_ih.fill(F::zero());
        for b in [&mut grads.bias_ih, &mut grads.bias_hh].into_iter().flatten() {
            b.fill(F::zero());
        }
        return Ok(());
    }
    // dW_ih = dAᵀ X, db_ih = Σ dA, dX = dA W_ih: one GEMM each over all steps, as a gated cell's
    let over_da = matches!(dx, InputGrad::OverDa);
    let dx = if over_da { InputGrad::Skip } else { dx };
    input_grads(p, x, view2(da, seq_len * batch, hidden)?, grads, dx, false)?;
    // db_hh = db_ih: both biases are added to the same pre-activation
    if let (Some(bi), Some(bh)) = (&grads.bias_ih, &mut grads.bias_hh) {
        bh.assign(bi);
    }
    if over_da {
        // dX = dA W_ih written over dA, block by block of rows, as the Elman layer does
        let da = ArrayViewMut3::from_shape((seq_len, batch, hidden), da)
            .map_err(|_| Error::shape("dA over the states", "standard layout", &[seq_len, bh]))?;
        p.input_grad_over(da)?;
    }
    Ok(())
}

impl<F: Float> Rnn<F> {
    /// Clamps an IndRNN's recurrent weights to `[-recurrent_max, recurrent_max]`, in place, as
    /// the IndRNN paper constrains them ([`crate::RnnConfig::recurrent_max`]); does nothing for
    /// the other cells or without a bound. [`Rnn::new`] applies it to the fresh weights and the
    /// trainer after every optimizer step.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let config = RnnConfig::new(3, 8).with_cell(Cell::IndRnn).with_recurrent_max(Some(0.5));
    /// let mut rnn = Rnn::<f32>::new(config, Init::PyTorch, 0)?;
    /// rnn.layers_mut()[0].weight_hh_diag.as_mut().unwrap()[0] = 3.0; // an optimizer step
    /// rnn.clamp_recurrent();
    /// assert!(rnn.layers()[0].weight_hh_diag.as_ref().unwrap().iter().all(|u| u.abs() <= 0.5));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn clamp_recurrent(&mut self) {
        let c = self.config();
        let Some(max) = c.recurrent_max.filter(|_| c.cell == Cell::IndRnn) else { return };
        let max = F::of(max);
        for u in self.layers_mut().iter_mut().filter_map(|p| p.weight_hh_diag.as_mut()) {
            u.mapv_inplace(|v| v.max(-max).min(max));
        }
    }
}
