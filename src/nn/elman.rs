//! The Elman layer in one direction: `h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)`, its
//! forward pass over a whole sequence batch and, right beside it, its backward pass
//! (backpropagation through time).
//!
//! The computation is the batched one: the input projections of every step in
//! one matrix product, one product per step for the recurrence (the activation applied by each
//! thread to the columns it has just computed), and in the backward pass the weight gradients
//! as one product over all steps.

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut3, Axis, s};

use crate::kernels::{Epilogue, Mat, PackedRef, gemm, gemm_then, matmul};
use crate::nn::gated::{add_upstream, check_norms, check_upstream, column_sums};
use crate::nn::layer::{InputGrad, LayerGradsOut, LayerParams, Recurrence, Recurrent, Tape, Upstream, mean_row_norm};
use crate::{Error, Float, Result};

/// Where the backward pass finds the hidden states the forward pass wrote.
#[derive(Clone, Copy)]
enum States<'a, F> {
    /// In an array of their own, `[seq_len, batch, hidden_size]` flat.
    Apart(&'a [F]),
    /// In the `dA` buffer, which each step's `dA_t` overwrites.
    InDa,
}

impl<F: Float> LayerParams<F> {
    /// Runs the recurrence over a sequence batch, writing every hidden state into `hs`.
    ///
    /// `hs_t = act(x_t W_ihᵀ + b_ih + b_hh + hs_{t-1} W_hhᵀ)` with `hs_{-1} = h0`; the reverse
    /// direction runs `t` from `seq_len - 1` down to 0. The final state is `hs[seq_len - 1]`
    /// (forward) or `hs[0]` (reverse).
    ///
    /// # Shapes
    /// `x [seq_len, batch, input_size]`, `h0 [batch, hidden_size]`,
    /// `hs [seq_len, batch, hidden_size]` (standard layout).
    ///
    /// # Errors
    /// [`Error::Shape`] when the shapes do not agree with the parameters.
    #[doc(hidden)]
    pub fn forward(
        &self,
        rec: Recurrence,
        x: ArrayView3<'_, F>,
        h0: ArrayView2<'_, F>,
        hs: ArrayViewMut3<'_, F>,
    ) -> Result<()> {
        self.forward_with(rec, x, h0, hs, None)
    }

    /// [`LayerParams::forward`], reading `W_hhᵀ` already packed (by [`Packed::pack`] of
    /// `weight_hh.t()`) when the per-step products take the packed path, instead of packing it
    /// again.
    ///
    /// [`Packed::pack`]: crate::kernels::Packed::pack
    pub(crate) fn forward_with(
        &self,
        rec: Recurrence,
        x: ArrayView3<'_, F>,
        h0: ArrayView2<'_, F>,
        mut hs: ArrayViewMut3<'_, F>,
        w_hh_t: Option<PackedRef<'_, F>>,
    ) -> Result<()> {
        self.check(&x, &h0, hs.shape())?;
        let (seq_len, batch, input_size) = x.dim();
        let hidden = self.hidden_size();
        if seq_len == 0 {
            return Ok(());
        }
        let x = x.as_standard_layout();
        let x_flat = x.as_slice().expect("standard layout");
        let hs = hs
            .as_slice_mut()
            .ok_or_else(|| Error::shape("hidden states", "standard layout", &[seq_len, batch, hidden]))?;
        {
            // P = X W_ihᵀ + (b_ih + b_hh): the input projection of every step in one GEMM, the
            // biases added by each thread to the columns it has just computed
            let w_ih_t = crate::kernels::transposed(self.weight_ih.view());
            let w_ih_t = w_ih_t.as_slice().expect("row-major");
            let bias: Option<Vec<F>> = match (&self.bias_ih, &self.bias_hh) {
                (Some(bi), Some(bh)) => Some(bi.iter().zip(bh).map(|(&a, &b)| a + b).collect()),
                _ => None,
            };
            let add_bias = |row: &mut [F], j0: usize| {
                if let Some(bias) = &bias {
                    row.iter_mut().zip(&bias[j0..]).for_each(|(r, &b)| *r += b);
                }
            };
            let x2 = Mat::new(x_flat, seq_len * batch, input_size);
            gemm_then(x2, Mat::new(w_ih_t, input_size, hidden), hs, hidden, false, Some(&add_bias));
        }
        // W_hhᵀ laid out once per sequence: packed into column panels when it is too big for the
        // cache, else plain row-major
        let w_hh_t = Recurrent::new(self.weight_hh.t(), batch, None, w_hh_t);
        let h0 = h0.as_standard_layout();
        let h0 = h0.as_slice().expect("standard layout");
        let bh = batch * hidden;
        // H_t = act(A_t), in place, by each thread on the columns it has just computed
        let act = |a: &mut [F], _: usize| rec.nonlinearity.apply_slice(a);
        let act: Epilogue<'_, F> = Some(&act);
        // the usual initial state, zero: the first step's product adds nothing
        let h0_zero = h0.iter().all(|&v| v == F::zero());
        for step in 0..seq_len {
            let t = rec.time(step, seq_len);
            // A_t = P_t + H_{t∓1} W_hhᵀ   (H_{-1} = h0)
            if step == 0 && h0_zero {
                rec.nonlinearity.apply_slice(&mut hs[t * bh..(t + 1) * bh]);
            } else if step == 0 {
                w_hh_t.product(Mat::new(h0, batch, hidden), &mut hs[t * bh..(t + 1) * bh], true, act);
            } else if rec.reverse {
                let (lo, hi) = hs.split_at_mut((t + 1) * bh);
                w_hh_t.product(Mat::new(&hi[..bh], batch, hidden), &mut lo[t * bh..], true, act);
            } else {
                let (lo, hi) = hs.split_at_mut(t * bh);
                w_hh_t.product(Mat::new(&lo[(t - 1) * bh..], batch, hidden), &mut hi[..bh], true, act);
            }
        }
        Ok(())
    }

    /// Backpropagation through time for one direction.
    ///
    /// Given the forward pass's [`Tape`], the gradient of the loss w.r.t. every hidden state
    /// `d_hs` (from the layer above or the head) and w.r.t. the final state `d_hn`, writes the
    /// gradients of the four parameters, of the input and of `h0` into `out`.
    ///
    /// # Shapes
    /// `d_hs [seq_len, batch, hidden_size]` (any strides), `d_hn [batch, hidden_size]`; the
    /// shapes of `out` are given on [`LayerGradsOut`].
    ///
    /// # Errors
    /// [`Error::Shape`] when the shapes do not agree.
    #[doc(hidden)]
    pub fn backward(
        &self,
        rec: Recurrence,
        tape: Tape<'_, F>,
        d_hs: Upstream<'_, F>,
        d_hn: ArrayView2<'_, F>,
        out: LayerGradsOut<'_, '_, F>,
    ) -> Result<()> {
        let Tape { x, h0, hs } = tape;
        self.check(&x, &h0, hs.shape())?;
        if out.da.shape() != hs.shape() {
            return Err(Error::shape("dA scratch", format!("{:?}", hs.shape()), out.da.shape()));
        }
        let hs = hs.as_standard_layout();
        self.bptt(rec, x, h0, States::Apart(hs.as_slice().expect("standard layout")), d_hs, d_hn, out)
    }

    /// [`LayerParams::backward`] for a direction whose hidden states are not needed again:
    /// `out.da` holds on entry the hidden states the forward pass wrote (what [`Tape::hs`]
    /// holds) and on return `dA` (or the input gradient, with [`InputGrad::OverDa`]), so the
    /// backward needs no `[seq_len, batch, hidden_size]` buffer of its own.
    ///
    /// `dW_hh` is then summed chunk by chunk of steps (about 256 rows of `dA` each), every
    /// chunk's previous states copied aside before `dA` overwrites them. `d_hs` cannot be
    /// [`Upstream::InDa`].
    ///
    /// # Errors
    /// [`Error::Shape`] when the shapes do not agree; [`Error::Config`] for
    /// [`Upstream::InDa`].
    #[doc(hidden)]
    pub fn backward_over_states(
        &self,
        rec: Recurrence,
        x: ArrayView3<'_, F>,
        h0: ArrayView2<'_, F>,
        d_hs: Upstream<'_, F>,
        d_hn: ArrayView2<'_, F>,
        out: LayerGradsOut<'_, '_, F>,
    ) -> Result<()> {
        self.check(&x, &h0, out.da.shape())?;
        if matches!(d_hs, Upstream::InDa) {
            return Err(Error::Config("dA cannot overwrite both the hidden states and their gradient".into()));
        }
        self.bptt(rec, x, h0, States::InDa, d_hs, d_hn, out)
    }

    /// The backward pass proper; shapes of `x`, `h0` and the states are checked.
    #[allow(clippy::too_many_arguments)]
    fn bptt(
        &self,
        rec: Recurrence,
        x: ArrayView3<'_, F>,
        h0: ArrayView2<'_, F>,
        states: States<'_, F>,
        d_hs: Upstream<'_, F>,
        d_hn: ArrayView2<'_, F>,
        out: LayerGradsOut<'_, '_, F>,
    ) -> Result<()> {
        let (seq_len, batch, input_size) = x.dim();
        let hidden = self.hidden_size();
        let LayerGradsOut { params: grads, dx, dh0: mut g, mut da, mut norms } = out;
        let head = check_upstream(&d_hs, seq_len, batch, hidden, true)?;
        if matches!(dx, InputGrad::OverDa) && input_size != hidden {
            return Err(Error::shape("grad of layer input over dA", format!("input size {hidden}"), &[input_size]));
        }
        if d_hn.shape() != [batch, hidden] || g.shape() != [batch, hidden] {
            return Err(Error::shape("grad of h_n", format!("[{batch}, {hidden}]"), d_hn.shape()));
        }
        check_norms(norms.as_ref(), seq_len)?;
        let LayerParams { weight_ih: gw_ih, weight_hh: gw_hh, bias_ih: gb_ih, bias_hh: gb_hh, .. } = grads;
        let in_da = matches!(states, States::InDa);

        // Through time, last processed step first. `g` carries dL/dH_t; it starts as dL/dh_n
        // and ends as dL/dh0.
        g.assign(&d_hn);
        {
            let g = g.as_slice_mut().ok_or_else(|| Error::shape("grad of h0", "standard layout", &[batch, hidden]))?;
            let da = da
                .as_slice_mut()
                .ok_or_else(|| Error::shape("dA scratch", "standard layout", &[seq_len, batch, hidden]))?;
            let h0 = h0.as_standard_layout();
            let h0 = h0.as_slice().expect("standard layout");
            let bh = batch * hidden;
            // W_hh packed (when it is) into memory nothing reads during the steps: its own
            // gradient, or with the states in dA (dW_hh summed during the steps) the gradient of
            // W_ih when that is big enough
            let (storage, mut dw_hh) = match states {
                States::Apart(_) => (gw_hh.as_slice_mut(), None),
                States::InDa => {
                    let dw = gw_hh
                        .as_slice_mut()
                        .ok_or_else(|| Error::shape("grad of weight_hh", "standard layout", &[hidden, hidden]))?;
                    (gw_ih.as_slice_mut().filter(|s| s.len() >= hidden * hidden), Some(dw))
                }
            };
            let w_hh = Recurrent::new(self.weight_hh.view(), batch, storage, None);
            // with the states in dA: the previous states of a chunk of steps, copied before dA
            // overwrites them, and the chunk's first time and length. Chunks of about 256 rows
            // (a full k-block of the product), at most an eighth of the sequence (the copies
            // stay small next to the states)
            let chunk = if in_da { 256usize.div_ceil(batch).min(seq_len.div_ceil(8)).max(1) } else { 0 };
            let mut prev = vec![F::zero(); chunk * bh];
            let mut span = (0, 0);
            let act = rec.nonlinearity;
            for step in (0..seq_len).rev() {
                let t = rec.time(step, seq_len);
                if in_da && (step + 1 == seq_len || (step + 1) % chunk == 0) {
                    // a chunk starts: steps step - step % chunk ..= step, times ta..ta + n
                    let n = step % chunk + 1;
                    let ta = t.min(rec.time(step + 1 - n, seq_len));
                    for (j, dst) in prev.chunks_exact_mut(bh).take(n).enumerate() {
                        let before = if rec.reverse { ta + j + 1 } else { (ta + j).wrapping_sub(1) };
                        dst.copy_from_slice(if before < seq_len { &da[before * bh..(before + 1) * bh] } else { h0 });
                    }
                    span = (ta, n);
                }
                // g += dL/dH_t from above (the output path): kept in dA, given, or through a head
                if let Upstream::InDa = &d_hs {
                    g.iter_mut().zip(&da[t * bh..(t + 1) * bh]).for_each(|(g, &d)| *g += d);
                }
                add_upstream(g, &d_hs, &head, t);
                if let Some(n) = &mut norms {
                    n.h[t] = mean_row_norm(g, hidden);
                }
                // dA_t = g ⊙ act'(H_t)   (through the activation)
                let da_t = &mut da[t * bh..(t + 1) * bh];
                match states {
                    States::Apart(hs) => {
                        for ((d, &gv), &h) in da_t.iter_mut().zip(g.iter()).zip(&hs[t * bh..(t + 1) * bh]) {
                            *d = gv * act.derivative_from_output(h);
                        }
                    }
                    States::InDa => {
                        da_t.iter_mut().zip(g.iter()).for_each(|(d, &gv)| *d = gv * act.derivative_from_output(*d))
                    }
                }
                // g = dA_t W_hh   (into the previous state, through the recurrent weights)
                w_hh.product(Mat::new(da_t, batch, hidden), g, false, None);
                if let Some(dw) = dw_hh.as_deref_mut()
                    && step % chunk == 0
                {
                    // the chunk is done: dW_hh (+)= dA_chunkᵀ H_prev_chunk
                    let ((ta, n), rows) = (span, span.1 * batch);
                    let da_chunk = Mat::transposed(&da[ta * bh..(ta + n) * bh], hidden, rows);
                    gemm(da_chunk, Mat::new(&prev[..rows * hidden], rows, hidden), dw, hidden, step + n < seq_len);
                }
            }
        }
        if seq_len == 0 {
            gw_ih.fill(F::zero());
            gw_hh.fill(F::zero());
            for b in [gb_ih, gb_hh].into_iter().flatten() {
                b.fill(F::zero());
            }
            return Ok(());
        }

        {
            let da = da.view();
            let x = x.as_standard_layout();
            let da2 = flat(da.view(), seq_len * batch, hidden)?;
            let x2 = flat(x.view(), seq_len * batch, input_size)?;

            // dW_ih = dAᵀ X, one GEMM over all steps.
            matmul(&da2.t(), &x2, &mut gw_ih.view_mut(), false);

            // dW_hh = dAᵀ Hprev, one GEMM over the steps whose previous state is a hidden state,
            // plus the step that read h0 (with the states in dA: summed during the steps).
            if let States::Apart(hs) = states {
                let hs = ArrayView3::from_shape((seq_len, batch, hidden), hs)
                    .map_err(|_| Error::shape("hidden states", "standard layout", &[seq_len, batch, hidden]))?;
                let n = (seq_len - 1) * batch;
                let (da_inner, hs_prev, t_first) = if rec.reverse {
                    (da.slice(s![..seq_len - 1, .., ..]), hs.slice(s![1.., .., ..]), seq_len - 1)
                } else {
                    (da.slice(s![1.., .., ..]), hs.slice(s![..seq_len - 1, .., ..]), 0)
                };
                if n > 0 {
                    let da_inner = flat(da_inner, n, hidden)?;
                    let hs_prev = flat(hs_prev, n, hidden)?;
                    matmul(&da_inner.t(), &hs_prev, &mut gw_hh.view_mut(), false);
                } else {
                    gw_hh.fill(F::zero());
                }
                matmul(&da.index_axis(Axis(0), t_first).t(), &h0, &mut gw_hh.view_mut(), true);
            }

            // db_ih = db_hh = column sums of dA.
            if let (Some(bi), Some(bh)) = (gb_ih, gb_hh) {
                column_sums(da2, bi);
                bh.assign(bi);
            }

            // dX = dA W_ih, one GEMM: the gradient handed to the layer below.
            let (dx, accumulate) = match dx {
                InputGrad::Skip => return Ok(()),
                InputGrad::OverDa => (None, false),
                InputGrad::Write(dx) => (Some(dx), false),
                InputGrad::Add(dx) => (Some(dx), true),
            };
            if let Some(mut dx) = dx {
                if dx.shape() != [seq_len * batch, input_size] {
                    let want = format!("[{}, {input_size}]", seq_len * batch);
                    return Err(Error::shape("grad of layer input", want, dx.shape()));
                }
                matmul(&da2, &self.weight_ih.view(), &mut dx, accumulate);
                return Ok(());
            }
        }
        // InputGrad::OverDa: dA is no longer needed
        self.input_grad_over(da)
    }

    /// `dX = dA W_ih` written over `dA` (square `W_ih`): block by block of rows, each block of
    /// `dA` copied aside first, so the extra memory is one block, not a second `[T, B, H]`.
    pub(crate) fn input_grad_over(&self, mut da: ArrayViewMut3<'_, F>) -> Result<()> {
        const ROWS: usize = 256;
        let hidden = self.hidden_size();
        let da = da.as_slice_mut().ok_or_else(|| Error::shape("dA scratch", "standard layout", &[hidden]))?;
        let mut block = vec![F::zero(); ROWS.min(da.len() / hidden.max(1)) * hidden];
        let w_ih = self.weight_ih.as_standard_layout();
        let w_ih = w_ih.as_slice().expect("standard layout");
        for rows in da.chunks_mut(ROWS * hidden) {
            let n = rows.len() / hidden;
            block[..rows.len()].copy_from_slice(rows);
            gemm(Mat::new(&block[..rows.len()], n, hidden), Mat::new(w_ih, hidden, hidden), rows, hidden, false);
        }
        Ok(())
    }
}

/// Views a standard-layout `[t, b, w]` array as the `[t*b, w]` matrix the GEMMs take.
fn flat<F>(a: ArrayView3<'_, F>, n: usize, w: usize) -> Result<ArrayView2<'_, F>> {
    a.into_shape_with_order((n, w)).map_err(|_| Error::shape("activations", "standard layout", &[n, w]))
}
