//! The GRU layer in one direction, exactly as `torch.nn.GRU`: the forward pass over a whole
//! sequence batch and, right beside it, its backward pass through time.
//!
//! Gates r, z, n stacked in that order in `W_ih [3H, in]` and `W_hh [3H, H]`; `b_hn` sits
//! inside the reset gate, so the input side `A_x` and the recurrent side `A_h` stay apart:
//! ```text
//! A_x = x_t W_ihᵀ + b_ih      A_h = h_{t-1} W_hhᵀ + b_hh            [B, 3H] each
//! r = σ(A_x,r + A_h,r)   z = σ(A_x,z + A_h,z)   n = tanh(A_x,n + r ⊙ A_h,n)
//! h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
//! ```
//! The input projections of all steps are one GEMM; each step is one `[B, H] x [H, 3H]`
//! product. The forward pass keeps `r, z, n` `[T, B, 3H]`, `A_h,n` `[T, B, H]` and the states;
//! the backward pass overwrites them with the recurrent side's `dA_h` and `dA_n`.

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis};

use crate::compute::pool;
use crate::kernels::{Mat, PackedRef, gemm, one_hot_grad, one_hot_rows};
use crate::nn::cell::{GATE_COST, gru_gates, gru_gates_shared};
use crate::nn::gated::{
    GatedGradsOut, StepBufs, Steps, Up, batch_parts, before, check_norms, check_upstream, project_input,
    recurrent_grads, step_and_prev, step_mut, time, view2, view3_mut,
};
use crate::nn::layer::{InputGrad, LayerParams, Recurrent, StepNorms, Upstream, mean_row_norm};
use crate::{Error, Float, Result};

/// The buffers one direction's forward pass writes, flat and step-major.
pub(crate) struct GruOut<'b, F> {
    /// Hidden states `[T, B, H]`.
    pub hs: &'b mut [F],
    /// Activated gates `[T, B, 3H]` (r, z, n).
    pub gates: &'b mut [F],
    /// The candidate's recurrent part `A_h,n = W_hn h_{t-1} + b_hn`, `[T, B, H]`.
    pub hn: &'b mut [F],
}

fn check<F: Float>(p: &LayerParams<F>, x: &ArrayView3<'_, F>, h0: &ArrayView2<'_, F>) -> Result<()> {
    let (_, b, i) = x.dim();
    let h = p.hidden_size();
    if i != p.input_size() {
        return Err(Error::shape("layer input", format!("[seq_len, batch, {}]", p.input_size()), x.shape()));
    }
    if h0.shape() != [b, h] {
        return Err(Error::shape("h0", format!("[{b}, {h}]"), h0.shape()));
    }
    if p.weight_ih.nrows() != 3 * h || p.weight_hh.shape() != [3 * h, h] || p.weight_hr.is_some() {
        return Err(Error::shape("GRU weight_hh", format!("[{}, {h}]", 3 * h), p.weight_hh.shape()));
    }
    Ok(())
}

/// Runs one GRU direction over `x [T, B, in]` from `h0 [B, H]`, writing into `out` (each
/// buffer sized as its doc says). `w_hh_t`: `W_hhᵀ` already packed, if it is.
///
/// # Errors
/// [`Error::Shape`] when the shapes disagree with the parameters.
pub(crate) fn forward<F: Float>(
    p: &LayerParams<F>,
    reverse: bool,
    x: ArrayView3<'_, F>,
    h0: ArrayView2<'_, F>,
    out: GruOut<'_, F>,
    w_hh_t: Option<PackedRef<'_, F>>,
) -> Result<()> {
    check(p, &x, &h0)?;
    let (seq_len, batch, _) = x.dim();
    let hidden = p.hidden_size();
    let GruOut { hs, gates, hn } = out;
    let (bh, bg) = (batch * hidden, batch * 3 * hidden);
    if hs.len() != seq_len * bh || hn.len() != seq_len * bh || gates.len() != seq_len * bg {
        return Err(Error::shape("GRU buffers", format!("{seq_len} steps"), &[hs.len(), hn.len(), gates.len()]));
    }
    // A_x = X W_ihᵀ + b_ih for every step at once
    project_input(p, x, p.bias_ih.as_ref().and_then(|b| b.as_slice()), gates);
    let w_hh_t = Recurrent::new(p.weight_hh.t(), batch, None, w_hh_t);
    let h0 = h0.as_standard_layout();
    let h0_zero = h0.iter().all(|&v| v == F::zero());
    let s = Steps { reverse, hidden, state: hidden, h0_zero };
    let b_hh = p.bias_hh.as_ref().map(|b| b.as_slice().expect("a bias is contiguous"));
    let mut gates = view3_mut(gates, seq_len, batch, 3 * hidden)?;
    let mut hs = view3_mut(hs, seq_len, batch, hidden)?;
    let mut hn = view3_mut(hn, seq_len, batch, hidden)?;
    match batch_parts::<F>(batch, 3 * hidden * hidden) {
        // each thread its own rows through every step
        Some(per) => {
            let parts = gates.axis_chunks_iter_mut(Axis(1), per).zip(hs.axis_chunks_iter_mut(Axis(1), per));
            let parts = parts.zip(hn.axis_chunks_iter_mut(Axis(1), per)).zip(h0.axis_chunks_iter(Axis(0), per));
            let cost = seq_len * batch * (hidden + GATE_COST) * 3 * hidden;
            pool::run_each(parts, cost, &|(((gates, hs), hn), h0)| {
                forward_rows(&w_hh_t, b_hh, s, StepBufs { gates, hs, extra: hn }, h0, false);
            });
        }
        None => {
            let bufs = StepBufs { gates: gates.view_mut(), hs: hs.view_mut(), extra: hn.view_mut() };
            forward_rows(&w_hh_t, b_hh, s, bufs, h0.view(), true);
        }
    }
    Ok(())
}

/// The steps of [`forward`] for the rows `bufs` holds (`h0` those rows' initial state), on the
/// calling thread, or each step's product and gate math shared across the pool when `shared`.
fn forward_rows<F: Float>(
    w_hh_t: &Recurrent<'_, F>,
    b_hh: Option<&[F]>,
    s: Steps,
    bufs: StepBufs<'_, F>,
    h0: ArrayView2<'_, F>,
    shared: bool,
) {
    let StepBufs { mut gates, mut hs, extra: mut hn } = bufs;
    let (seq_len, rows, _) = gates.dim();
    let hidden = s.hidden;
    let h0 = h0.to_slice().expect("the rows of a step are contiguous");
    let cell = if shared { gru_gates_shared } else { gru_gates };
    // A_h of one step
    let mut ah = vec![F::zero(); rows * 3 * hidden];
    for step in 0..seq_len {
        let t = time(s.reverse, step, seq_len);
        let prev = before(s.reverse, t, seq_len);
        // A_h = b_hh + h_{t-1} W_hhᵀ   (nothing to add from a zero h0)
        match b_hh {
            Some(b) => ah.chunks_exact_mut(3 * hidden).for_each(|r| r.copy_from_slice(b)),
            None => ah.fill(F::zero()),
        }
        let (hs_t, h_prev) = step_and_prev(&mut hs, t, prev, h0);
        if prev.is_some() || !s.h0_zero {
            w_hh_t.product(Mat::new(h_prev, rows, hidden), &mut ah, true, None);
        }
        // r, z, n and h_t
        cell(step_mut(&mut gates, t), &ah, step_mut(&mut hn, t), h_prev, hs_t, hidden);
    }
}

/// Backpropagation through time for one GRU direction.
///
/// `hs` is what [`forward`] wrote; `gates` and `hn` hold on entry what it wrote there and on
/// return the recurrent side's `dA_h = [dA_r, dA_z, dA_n ⊙ r]` and the input side's `dA_n`.
/// `d_hs` is the gradient arriving at the hidden states from above ([`Upstream::Given`] or
/// [`Upstream::Head`]), `d_hn` that of the final state.
///
/// # Errors
/// [`Error::Shape`] when the shapes disagree.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<F: Float>(
    p: &LayerParams<F>,
    reverse: bool,
    x: ArrayView3<'_, F>,
    h0: ArrayView2<'_, F>,
    hs: &[F],
    gates: &mut [F],
    hn: &mut [F],
    d_hs: Upstream<'_, F>,
    d_hn: ArrayView2<'_, F>,
    out: GatedGradsOut<'_, '_, F>,
) -> Result<()> {
    check(p, &x, &h0)?;
    let (seq_len, batch, _) = x.dim();
    let hidden = p.hidden_size();
    let (bh, bg) = (batch * hidden, batch * 3 * hidden);
    if hs.len() != seq_len * bh || hn.len() != seq_len * bh || gates.len() != seq_len * bg {
        return Err(Error::shape("GRU buffers", format!("{seq_len} steps"), &[hs.len(), hn.len(), gates.len()]));
    }
    if d_hn.shape() != [batch, hidden] {
        return Err(Error::shape("grad of h_n", format!("[{batch}, {hidden}]"), d_hn.shape()));
    }
    let head = check_upstream(&d_hs, seq_len, batch, hidden, false)?;
    let GatedGradsOut { params: grads, dx, mut dh0, norms, .. } = out;
    check_norms(norms.as_ref(), seq_len)?;
    let h0s = h0.as_standard_layout();
    // W_hh packed (when the products take the packed path) into the memory of its own
    // gradient, which nothing writes until the steps are done: no copy of its own
    let w_hh = Recurrent::new(p.weight_hh.view(), batch, grads.weight_hh.as_slice_mut(), None);
    let s = Steps { reverse, hidden, state: hidden, h0_zero: false };
    let up = Up { d_hs: &d_hs, head: &head, batch };
    let hs3 =
        ArrayView3::from_shape((seq_len, batch, hidden), hs).map_err(|_| Error::shape("states", "flat", &[bh]))?;
    {
        let mut gates = view3_mut(gates, seq_len, batch, 3 * hidden)?;
        let mut hn = view3_mut(hn, seq_len, batch, hidden)?;
        match batch_parts::<F>(batch, 3 * hidden * hidden).filter(|_| norms.is_none()) {
            // each thread its own rows through every step
            Some(per) => {
                let ins = hs3.axis_chunks_iter(Axis(1), per).zip(h0s.axis_chunks_iter(Axis(0), per));
                let ins = ins.zip(d_hn.axis_chunks_iter(Axis(0), per));
                let outs = gates.axis_chunks_iter_mut(Axis(1), per).zip(hn.axis_chunks_iter_mut(Axis(1), per));
                let outs = outs.zip(dh0.axis_chunks_iter_mut(Axis(0), per));
                let parts = ins.zip(outs).enumerate().map(|(i, (((hs, h0), d_hn), ((gates, hn), dh0)))| BackRows {
                    gates,
                    hn,
                    hs,
                    h0,
                    d_hn,
                    dh0,
                    first_row: i * per,
                });
                let cost = seq_len * batch * (hidden + GATE_COST) * 3 * hidden;
                pool::run_each(parts, cost, &|rows| backward_rows(&w_hh, None, s, &up, rows, false));
            }
            None => {
                let (gates, hn, dh0) = (gates.view_mut(), hn.view_mut(), dh0.view_mut());
                let rows = BackRows { gates, hn, hs: hs3.view(), h0: h0s.view(), d_hn: d_hn.view(), dh0, first_row: 0 };
                backward_rows(&w_hh, norms, s, &up, rows, true);
            }
        }
    }
    // the gradient of W_hh is written from here on
    drop(w_hh);
    if seq_len == 0 {
        return Ok(());
    }
    let rows = seq_len * batch;
    // the recurrent side: dW_hh = dA_hᵀ H_prev, db_hh = Σ dA_h
    recurrent_grads(reverse, h0, hs3, view2(gates, rows, 3 * hidden)?, grads)?;
    // the input side dA_x = [dA_r, dA_z, dA_n]: its r, z blocks are columns 0..2H of the gates
    // buffer (rows 3H apart), its n block the hn buffer; read both in place
    let input_size = p.input_size();
    let x = x.as_standard_layout();
    let x2 = Mat::new(x.as_slice().expect("standard layout"), rows, input_size);
    let rz = |trans: bool| Mat {
        data: &gates[..],
        rows: if trans { 2 * hidden } else { rows },
        cols: if trans { rows } else { 2 * hidden },
        ld: 3 * hidden,
        trans,
    };
    let split = 2 * hidden * input_size;
    {
        // dW_ih = dA_xᵀ X, block by block
        let gw = grads
            .weight_ih
            .as_slice_mut()
            .ok_or_else(|| Error::shape("grad of weight_ih", "standard layout", &[3 * hidden, input_size]))?;
        let (gw_rz, gw_n) = gw.split_at_mut(split);
        match one_hot_rows(x2.data, input_size) {
            // a one-hot X (a character model's): the sums of dA_x's rows per hot column
            Some(hot) => {
                one_hot_grad(
                    &hot,
                    Mat { data: &gates[..], rows, cols: 2 * hidden, ld: 3 * hidden, trans: false },
                    input_size,
                    gw_rz,
                );
                one_hot_grad(&hot, Mat::new(hn, rows, hidden), input_size, gw_n);
            }
            None => {
                gemm(rz(true), x2, gw_rz, input_size, false);
                gemm(Mat::transposed(hn, hidden, rows), x2, gw_n, input_size, false);
            }
        }
    }
    if let Some(bi) = &mut grads.bias_ih {
        // db_ih = Σ dA_x
        bi.fill(F::zero());
        let bi = bi.as_slice_mut().expect("a fresh gradient is contiguous");
        for (g, n) in gates.chunks_exact(3 * hidden).zip(hn.chunks_exact(hidden)) {
            bi[..2 * hidden].iter_mut().zip(&g[..2 * hidden]).for_each(|(b, &v)| *b += v);
            bi[2 * hidden..].iter_mut().zip(n).for_each(|(b, &v)| *b += v);
        }
    }
    // dX = dA_x W_ih: the gradient handed to the layer below
    let (mut dx, accumulate) = match dx {
        InputGrad::Skip => return Ok(()),
        InputGrad::OverDa => return Err(Error::Config("a gated layer cannot write its input gradient over dA".into())),
        InputGrad::Write(dx) => (dx, false),
        InputGrad::Add(dx) => (dx, true),
    };
    if dx.shape() != [rows, input_size] {
        return Err(Error::shape("grad of layer input", format!("[{rows}, {input_size}]"), dx.shape()));
    }
    let dx =
        dx.as_slice_mut().ok_or_else(|| Error::shape("grad of layer input", "standard layout", &[rows, input_size]))?;
    let w_ih = p.weight_ih.as_standard_layout();
    let (w_rz, w_n) = w_ih.as_slice().expect("standard layout").split_at(split);
    gemm(rz(false), Mat::new(w_rz, 2 * hidden, input_size), dx, input_size, accumulate);
    gemm(Mat::new(hn, rows, hidden), Mat::new(w_n, hidden, input_size), dx, input_size, true);
    Ok(())
}

/// What the backward pass's steps read and write for the batch rows `first_row..`: the gates
/// `[T, rows, 3H]` and `A_h,n` `[T, rows, H]` (overwritten as [`backward`] says), the hidden
/// states, `h0`, the final state's gradient, and where the gradient of `h0` goes.
struct BackRows<'a, F> {
    gates: ArrayViewMut3<'a, F>,
    hn: ArrayViewMut3<'a, F>,
    hs: ArrayView3<'a, F>,
    h0: ArrayView2<'a, F>,
    d_hn: ArrayView2<'a, F>,
    dh0: ArrayViewMut2<'a, F>,
    first_row: usize,
}

/// The steps of [`backward`], last to first, for the rows `b` holds, on the calling thread, or
/// each step's element-wise part and product shared across the pool when `shared`.
fn backward_rows<F: Float>(
    w_hh: &Recurrent<'_, F>,
    mut norms: Option<StepNorms<'_>>,
    s: Steps,
    up: &Up<'_, '_, '_, F>,
    b: BackRows<'_, F>,
    shared: bool,
) {
    let BackRows { mut gates, mut hn, hs, h0, d_hn, mut dh0, first_row } = b;
    let (seq_len, rows, _) = gates.dim();
    let hidden = s.hidden;
    let contiguous = "the rows of a step are contiguous";
    let h0 = h0.to_slice().expect(contiguous);
    // the carry g = dL/dh_t
    let mut g: Vec<F> = d_hn.iter().copied().collect();
    let back = if shared { step_back_shared } else { step_back };
    for step in (0..seq_len).rev() {
        let t = time(s.reverse, step, seq_len);
        let h_prev = match before(s.reverse, t, seq_len) {
            Some(pt) => hs.index_axis_move(Axis(0), pt).to_slice().expect(contiguous),
            None => h0,
        };
        // g += dL/dh_t from above
        up.add(&mut g, t, first_row);
        if let Some(n) = &mut norms {
            n.h[t] = mean_row_norm(&g, hidden);
        }
        let gates_t = step_mut(&mut gates, t);
        back(StepRows { gates: gates_t, hn: step_mut(&mut hn, t), g: &mut g, h_prev }, hidden);
        // g += dA_h W_hh   (into the previous state, through the recurrent weights)
        w_hh.product(Mat::new(gates_t, rows, 3 * hidden), &mut g, true, None);
    }
    dh0.iter_mut().zip(&g).for_each(|(d, &v)| *d = v);
}

/// One step's buffers for the element-wise part of the backward pass, `[rows, ·]` each: the
/// activated gates (overwritten with the recurrent side's `dA_h`), `A_h,n` (overwritten with
/// the input side's `dA_n`), `dL/dh_t` (overwritten with the direct path to `h_{t-1}`) and
/// `h_{t-1}`.
struct StepRows<'a, F> {
    gates: &'a mut [F],
    hn: &'a mut [F],
    g: &'a mut [F],
    h_prev: &'a [F],
}

/// [`step_back`], its rows shared across the pool when there are enough of them (the same
/// arithmetic per row either way, so the same results bit for bit).
fn step_back_shared<F: Float>(rows: StepRows<'_, F>, hidden: usize) {
    let Some(per) = pool::rows_per_part(rows.h_prev.len() / hidden.max(1), hidden) else {
        return step_back(rows, hidden);
    };
    let StepRows { gates, hn, g, h_prev } = rows;
    let (cost, h) = (h_prev.len() * GATE_COST, per * hidden);
    let parts = gates.chunks_mut(3 * h).zip(hn.chunks_mut(h)).zip(g.chunks_mut(h).zip(h_prev.chunks(h)));
    let parts = parts.map(|((gates, hn), (g, h_prev))| StepRows { gates, hn, g, h_prev });
    pool::run_each(parts, cost, &|rows| step_back(rows, hidden));
}

/// The element-wise part of one step's backward pass, row by row.
fn step_back<F: Float>(rows: StepRows<'_, F>, hidden: usize) {
    let StepRows { gates, hn, g, h_prev } = rows;
    let rows = gates.chunks_exact_mut(3 * hidden).zip(hn.chunks_exact_mut(hidden));
    for ((gr, hnr), (gv, hp)) in rows.zip(g.chunks_exact_mut(hidden).zip(h_prev.chunks_exact(hidden))) {
        let (r, rest) = gr.split_at_mut(hidden);
        let (z, n) = rest.split_at_mut(hidden);
        for j in 0..hidden {
            let (rv, zv, nv, hnv, dh) = (r[j], z[j], n[j], hnr[j], gv[j]);
            // dn = dh ⊙ (1 - z);  dz = dh ⊙ (h_prev - n)      (through h = (1 - z) n + z h_prev)
            let (dn, dz) = (dh * (F::one() - zv), dh * (hp[j] - nv));
            // dA_n = dn ⊙ (1 - n²)                              (through n = tanh(·))
            let dan = dn * (F::one() - nv * nv);
            // dr = dA_n ⊙ A_h,n                                 (through r ⊙ A_h,n)
            let dr = dan * hnv;
            // dA_r = dr σ'(r);  dA_z = dz σ'(z)
            r[j] = dr * rv * (F::one() - rv);
            z[j] = dz * zv * (F::one() - zv);
            // the recurrent side sees dA_n through r: dA_h,n = dA_n ⊙ r; the input side dA_n
            n[j] = dan * rv;
            hnr[j] = dan;
            // dh_prev = dh ⊙ z + dA_h W_hh   (the direct path first)
            gv[j] = dh * zv;
        }
    }
}
