//! The Elman layer in one direction: `h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)`, its
//! forward pass over a whole sequence batch and, right beside it, its backward pass
//! (backpropagation through time).
//!
//! The computation is the batched one: the input projections of every step in
//! one matrix product, one product per step for the recurrence (the activation applied by each
//! thread to the columns it has just computed), and in the backward pass the weight gradients
//! as one product over all steps. With a small `W_hh` and a batch of 16 or more on two threads
//! or more, each thread carries its own rows of the batch through every step instead
//! ([`batch_parts`]): at (H, B, T, L) = (128, 32, 64, 2) on 2 threads a training step went from
//! a median 3,611 to 4,656 sequences/s (+29%, five alternating runs, AVX2, AMD EPYC).

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis, s};

use crate::compute::pool;
use crate::kernels::{Epilogue, Mat, PackedRef, gemm, matmul};
use crate::nn::cell::GATE_COST;
use crate::nn::gated::{
    Up, batch_parts, before, check_norms, check_upstream, column_sums, project_input, step_and_prev, step_mut,
    summed_bias, time, view3_mut, weight_ih_grad,
};
use crate::nn::layer::{
    InputGrad, LayerGradsOut, LayerParams, Recurrence, Recurrent, StepNorms, Tape, Upstream, mean_row_norm,
};
use crate::{Error, Float, Nonlinearity, Result};

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
        let (seq_len, batch, _) = x.dim();
        let hidden = self.hidden_size();
        if seq_len == 0 {
            return Ok(());
        }
        let hs = hs
            .as_slice_mut()
            .ok_or_else(|| Error::shape("hidden states", "standard layout", &[seq_len, batch, hidden]))?;
        // P = X W_ihᵀ + (b_ih + b_hh): the input projection of every step at once, as the other
        // cells' (one GEMM, the biases added by each thread to the columns it has just computed;
        // a gather for a one-hot input)
        let bias = summed_bias(self);
        project_input(self, x, bias.as_deref(), hs);
        // W_hhᵀ laid out once per sequence: packed into column panels when it is too big for the
        // cache, else plain row-major
        let w_hh_t = Recurrent::new(self.weight_hh.t(), batch, None, w_hh_t);
        let h0 = h0.as_standard_layout();
        // the usual initial state, zero: the first step's product adds nothing
        let h0_zero = h0.iter().all(|&v| v == F::zero());
        let mut hs = view3_mut(hs, seq_len, batch, hidden)?;
        match batch_parts::<F>(batch, hidden * hidden) {
            // each thread its own rows through every step
            Some(per) => {
                let parts = hs.axis_chunks_iter_mut(Axis(1), per).zip(h0.axis_chunks_iter(Axis(0), per));
                let cost = seq_len * batch * (hidden + GATE_COST) * hidden;
                pool::run_each(parts, cost, &|(hs, h0)| forward_rows(&w_hh_t, rec, hs, h0, h0_zero));
            }
            None => forward_rows(&w_hh_t, rec, hs.view_mut(), h0.view(), h0_zero),
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
        let LayerGradsOut { params: grads, dx, dh0: mut g, mut da, norms } = out;
        let head = check_upstream(&d_hs, seq_len, batch, hidden, true)?;
        if matches!(dx, InputGrad::OverDa) && input_size != hidden {
            return Err(Error::shape("grad of layer input over dA", format!("input size {hidden}"), &[input_size]));
        }
        if d_hn.shape() != [batch, hidden] || g.shape() != [batch, hidden] {
            return Err(Error::shape("grad of h_n", format!("[{batch}, {hidden}]"), d_hn.shape()));
        }
        check_norms(norms.as_ref(), seq_len)?;
        let LayerParams { weight_ih: gw_ih, weight_hh: gw_hh, bias_ih: gb_ih, bias_hh: gb_hh, .. } = grads;

        // Through time, last processed step first. `g` carries dL/dH_t; it starts as dL/dh_n
        // and ends as dL/dh0.
        g.assign(&d_hn);
        if g.as_slice().is_none() {
            return Err(Error::shape("grad of h0", "standard layout", &[batch, hidden]));
        }
        if da.as_slice().is_none() {
            return Err(Error::shape("dA scratch", "standard layout", &[seq_len, batch, hidden]));
        }
        {
            let h0 = h0.as_standard_layout();
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
            let hs = match states {
                States::Apart(hs) => Some(
                    ArrayView3::from_shape((seq_len, batch, hidden), hs)
                        .map_err(|_| Error::shape("hidden states", "standard layout", &[seq_len, batch, hidden]))?,
                ),
                States::InDa => None,
            };
            let s = BackSteps { act: rec.nonlinearity, reverse: rec.reverse, up_in_da: matches!(d_hs, Upstream::InDa) };
            let up = Up { d_hs: &d_hs, head: &head, batch };
            match batch_parts::<F>(batch, hidden * hidden).filter(|_| norms.is_none()) {
                // each thread its own rows through every step; with the states in dA each sums
                // its rows' share of dW_hh, added up after
                Some(per) => {
                    let parts = batch.div_ceil(per);
                    let mut partials =
                        vec![vec![F::zero(); if dw_hh.is_some() { hidden * hidden } else { 0 }]; parts - 1];
                    let mut dws = dw_hh
                        .as_deref_mut()
                        .map(|d| std::iter::once(d).chain(partials.iter_mut().map(Vec::as_mut_slice)));
                    let rows = g.axis_chunks_iter_mut(Axis(0), per).zip(da.axis_chunks_iter_mut(Axis(1), per));
                    let rows = rows.zip(h0.axis_chunks_iter(Axis(0), per)).enumerate();
                    let items = rows.map(|(i, ((g, da), h0))| BackRows {
                        g,
                        da,
                        hs: hs.as_ref().map(|hs| hs.slice_axis(Axis(1), (i * per..(i * per + per).min(batch)).into())),
                        h0,
                        dw_hh: dws.as_mut().and_then(Iterator::next),
                        first_row: i * per,
                    });
                    let items: Vec<_> = items.collect();
                    let cost = seq_len * batch * (hidden + GATE_COST) * hidden;
                    pool::run_each(items, cost, &|rows| back_rows(&w_hh, s, &up, rows, None));
                    if let Some(dw) = dw_hh {
                        for part in &partials {
                            dw.iter_mut().zip(part).for_each(|(d, &p)| *d += p);
                        }
                    }
                }
                None => {
                    let rows = BackRows { g: g.view_mut(), da: da.view_mut(), hs, h0: h0.view(), dw_hh, first_row: 0 };
                    back_rows(&w_hh, s, &up, rows, norms);
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

            // dW_ih = dAᵀ X, one GEMM over all steps (a one-hot X's: sums of dA's rows)
            weight_ih_grad(x2, da2, gw_ih.view_mut());

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

/// The steps of [`LayerParams::forward_with`] for the rows `hs` `[T, rows, H]` holds (holding
/// on entry each step's input projection), from those rows' `h0`: on the calling thread, or
/// each step's product shared across the pool when `hs` holds the whole batch and the pool is
/// free.
fn forward_rows<F: Float>(
    w_hh_t: &Recurrent<'_, F>,
    rec: Recurrence,
    mut hs: ArrayViewMut3<'_, F>,
    h0: ArrayView2<'_, F>,
    h0_zero: bool,
) {
    let (seq_len, rows, hidden) = hs.dim();
    let h0 = h0.to_slice().expect("the rows of h0 are contiguous");
    // H_t = act(A_t), in place, by each thread on the columns it has just computed
    let act = |a: &mut [F], _: usize| rec.nonlinearity.apply_slice(a);
    let act: Epilogue<'_, F> = Some(&act);
    for step in 0..seq_len {
        let t = rec.time(step, seq_len);
        let prev = before(rec.reverse, t, seq_len);
        let (hs_t, h_prev) = step_and_prev(&mut hs, t, prev, h0);
        if prev.is_none() && h0_zero {
            // the usual initial state, zero: nothing to add
            rec.nonlinearity.apply_slice(hs_t);
        } else {
            // A_t = P_t + H_{t∓1} W_hhᵀ   (H_{-1} = h0)
            w_hh_t.product(Mat::new(h_prev, rows, hidden), hs_t, true, act);
        }
    }
}

/// What every backward step of a direction needs to know.
#[derive(Clone, Copy)]
struct BackSteps {
    act: Nonlinearity,
    reverse: bool,
    /// Whether the gradient from above is in `dA` on entry ([`Upstream::InDa`]).
    up_in_da: bool,
}

/// What the backward steps read and write for the batch rows `first_row..`: `g` (`dL/dh_n`
/// in, `dL/dh0` out, `[rows, H]`), `dA` `[T, rows, H]` (on entry the gradient from above or
/// the states, see [`States`]; on return `dA`), the states when they are apart, `h0`, and
/// with the states in `dA` where those rows' `dW_hh` goes (overwritten).
struct BackRows<'a, 'w, F> {
    g: ArrayViewMut2<'a, F>,
    da: ArrayViewMut3<'a, F>,
    hs: Option<ArrayView3<'a, F>>,
    h0: ArrayView2<'a, F>,
    dw_hh: Option<&'w mut [F]>,
    first_row: usize,
}

/// The steps of [`LayerParams::backward`], last to first, for the rows `b` holds: on the
/// calling thread, or each step's product shared across the pool when `b` holds the whole
/// batch and the pool is free. With the states in `dA`, `dW_hh` is summed chunk by chunk of
/// steps (about 256 rows of `dA` each), every chunk's previous states copied aside before
/// `dA` overwrites them.
fn back_rows<F: Float>(
    w_hh: &Recurrent<'_, F>,
    s: BackSteps,
    up: &Up<'_, '_, '_, F>,
    b: BackRows<'_, '_, F>,
    mut norms: Option<StepNorms<'_>>,
) {
    let BackRows { g, mut da, hs, h0, mut dw_hh, first_row } = b;
    let contiguous = "the rows of a step are contiguous";
    let g = g.into_slice().expect(contiguous);
    let h0 = h0.to_slice().expect(contiguous);
    let (seq_len, rows, hidden) = da.dim();
    let rh = rows * hidden;
    // with the states in dA: the previous states of a chunk of steps, copied before dA
    // overwrites them, and the chunk's first time and length. Chunks of about 256 rows (a full
    // k-block of the product), at most an eighth of the sequence (the copies stay small next
    // to the states); a part's rows of a chunk's dA are copied together for the product too
    let chunk = if dw_hh.is_some() { 256usize.div_ceil(rows).min(seq_len.div_ceil(8)).max(1) } else { 0 };
    let mut prev = vec![F::zero(); chunk * rh];
    let mut da_chunk = Vec::new();
    let mut span = (0, 0);
    for step in (0..seq_len).rev() {
        let t = time(s.reverse, step, seq_len);
        if dw_hh.is_some() && (step + 1 == seq_len || (step + 1) % chunk == 0) {
            // a chunk starts: steps step - step % chunk ..= step, times ta..ta + n
            let n = step % chunk + 1;
            let ta = t.min(time(s.reverse, step + 1 - n, seq_len));
            for (j, dst) in prev.chunks_exact_mut(rh).take(n).enumerate() {
                let before = if s.reverse { ta + j + 1 } else { (ta + j).wrapping_sub(1) };
                if before < seq_len {
                    dst.copy_from_slice(da.view().index_axis_move(Axis(0), before).to_slice().expect(contiguous));
                } else {
                    dst.copy_from_slice(h0);
                }
            }
            span = (ta, n);
        }
        let da_t = step_mut(&mut da, t);
        // g += dL/dH_t from above (the output path): kept in dA, given, or through a head
        if s.up_in_da {
            g.iter_mut().zip(da_t.iter()).for_each(|(g, &d)| *g += d);
        }
        up.add(g, t, first_row);
        if let Some(n) = &mut norms {
            n.h[t] = mean_row_norm(g, hidden);
        }
        // dA_t = g ⊙ act'(H_t)   (through the activation)
        match &hs {
            Some(hs) => {
                let h_t = hs.index_axis(Axis(0), t);
                let h_t = h_t.to_slice().expect(contiguous);
                for ((d, &gv), &h) in da_t.iter_mut().zip(g.iter()).zip(h_t) {
                    *d = gv * s.act.derivative_from_output(h);
                }
            }
            None => da_t.iter_mut().zip(g.iter()).for_each(|(d, &gv)| *d = gv * s.act.derivative_from_output(*d)),
        }
        // g = dA_t W_hh   (into the previous state, through the recurrent weights)
        w_hh.product(Mat::new(da_t, rows, hidden), g, false, None);
        if let Some(dw) = dw_hh.as_deref_mut()
            && step % chunk == 0
        {
            // the chunk is done: dW_hh (+)= dA_chunkᵀ H_prev_chunk
            let ((ta, n), k) = (span, span.1 * rows);
            let steps = da.slice(s![ta..ta + n, .., ..]);
            let da_rows = match steps.to_slice() {
                Some(d) => d,
                None => {
                    da_chunk.clear();
                    da_chunk.extend(steps.iter().copied());
                    &da_chunk[..]
                }
            };
            gemm(
                Mat::transposed(da_rows, hidden, k),
                Mat::new(&prev[..k * hidden], k, hidden),
                dw,
                hidden,
                step + n < seq_len,
            );
        }
    }
}

/// Views a standard-layout `[t, b, w]` array as the `[t*b, w]` matrix the GEMMs take.
fn flat<F>(a: ArrayView3<'_, F>, n: usize, w: usize) -> Result<ArrayView2<'_, F>> {
    a.into_shape_with_order((n, w)).map_err(|_| Error::shape("activations", "standard layout", &[n, w]))
}
