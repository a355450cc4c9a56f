//! The LSTM layer in one direction, exactly as `torch.nn.LSTM`: the forward pass over a whole
//! sequence batch and, right beside it, its backward pass through time.
//!
//! Gates i, f, g, o stacked in that order in `W_ih [4H, in]` and `W_hh [4H, S]` (`S` =
//! `proj_size` or `H`):
//! ```text
//! A_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh          [B, 4H]
//! i = σ(A_i)   f = σ(A_f)   g = tanh(A_g)   o = σ(A_o)
//! c_t = f ⊙ c_{t-1} + i ⊙ g
//! h_t = o ⊙ tanh(c_t)                      (with proj_size: h_t = (o ⊙ tanh c_t) W_hrᵀ)
//! ```
//! The input projections of all steps are one GEMM; each step is one `[B, S] x [S, 4H]`
//! product. The forward pass keeps the activated gates `[T, B, 4H]`, the cell states
//! `[T, B, H]` and the hidden states `[T, B, S]`; the backward pass overwrites the gates with
//! `dA`, so it needs no buffer of that size of its own.

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis};

use crate::compute::pool;
use crate::kernels::{Mat, PackedRef, gemm};
use crate::nn::cell::{GATE_COST, lstm_gates, lstm_gates_shared};
use crate::nn::gated::{
    GatedGradsOut, StepBufs, Steps, Up, batch_parts, before, check_norms, check_upstream, project_input, step_and_prev,
    step_mut, summed_bias, time, view2, view3_mut, weight_grads,
};
use crate::nn::layer::{LayerParams, Recurrent, StepNorms, Upstream, mean_row_norm};
use crate::{Error, Float, Nonlinearity, Result};

/// The buffers one direction's forward pass writes, flat and step-major.
pub(crate) struct LstmOut<'b, F> {
    /// Hidden states `[T, B, S]`.
    pub hs: &'b mut [F],
    /// Activated gates `[T, B, 4H]` (i, f, g, o).
    pub gates: &'b mut [F],
    /// Cell states `[T, B, H]`.
    pub cs: &'b mut [F],
}

fn check<F: Float>(
    p: &LayerParams<F>,
    x: &ArrayView3<'_, F>,
    h0: &ArrayView2<'_, F>,
    c0: &ArrayView2<'_, F>,
) -> Result<()> {
    let (_, b, i) = x.dim();
    let (h, s) = (p.hidden_size(), p.state_size());
    if i != p.input_size() {
        return Err(Error::shape("layer input", format!("[seq_len, batch, {}]", p.input_size()), x.shape()));
    }
    if h0.shape() != [b, s] {
        return Err(Error::shape("h0", format!("[{b}, {s}]"), h0.shape()));
    }
    if c0.shape() != [b, h] {
        return Err(Error::shape("c0", format!("[{b}, {h}]"), c0.shape()));
    }
    if p.weight_ih.nrows() != 4 * h || p.weight_hh.nrows() != 4 * h {
        return Err(Error::shape("LSTM weights", format!("[{}, ·]", 4 * h), p.weight_hh.shape()));
    }
    Ok(())
}

/// Runs one LSTM direction over `x [T, B, in]` from `(h0 [B, S], c0 [B, H])`, writing into
/// `out` (each buffer sized as its doc says). `w_hh_t`: `W_hhᵀ` already packed, if it is.
///
/// # Errors
/// [`Error::Shape`] when the shapes disagree with the parameters.
pub(crate) fn forward<F: Float>(
    p: &LayerParams<F>,
    reverse: bool,
    x: ArrayView3<'_, F>,
    h0: ArrayView2<'_, F>,
    c0: ArrayView2<'_, F>,
    out: LstmOut<'_, F>,
    w_hh_t: Option<PackedRef<'_, F>>,
) -> Result<()> {
    check(p, &x, &h0, &c0)?;
    let (seq_len, batch, _) = x.dim();
    let (hidden, state) = (p.hidden_size(), p.state_size());
    let LstmOut { hs, gates, cs } = out;
    let (bs, bh, bg) = (batch * state, batch * hidden, batch * 4 * hidden);
    if hs.len() != seq_len * bs || cs.len() != seq_len * bh || gates.len() != seq_len * bg {
        return Err(Error::shape("LSTM buffers", format!("{seq_len} steps"), &[hs.len(), cs.len(), gates.len()]));
    }
    // A = X W_ihᵀ + (b_ih + b_hh) for every step at once
    let bias = summed_bias(p);
    project_input(p, x, bias.as_deref(), gates);
    let w_hh_t = Recurrent::new(p.weight_hh.t(), batch, None, w_hh_t);
    let w_hr_t = p.weight_hr.as_ref().map(|w| Recurrent::new(w.t(), batch, None, None));
    let h0 = h0.as_standard_layout();
    let c0 = c0.as_standard_layout();
    let h0_zero = h0.iter().all(|&v| v == F::zero());
    let steps = Steps { reverse, hidden, state, h0_zero };
    let mut gates = view3_mut(gates, seq_len, batch, 4 * hidden)?;
    let mut hs = view3_mut(hs, seq_len, batch, state)?;
    let mut cs = view3_mut(cs, seq_len, batch, hidden)?;
    match batch_parts::<F>(batch, 4 * hidden * state).filter(|_| w_hr_t.is_none()) {
        // each thread its own rows through every step
        Some(per) => {
            let parts = gates.axis_chunks_iter_mut(Axis(1), per).zip(hs.axis_chunks_iter_mut(Axis(1), per));
            let parts = parts.zip(cs.axis_chunks_iter_mut(Axis(1), per));
            let parts = parts.zip(h0.axis_chunks_iter(Axis(0), per).zip(c0.axis_chunks_iter(Axis(0), per)));
            let cost = seq_len * batch * (state + GATE_COST) * 4 * hidden;
            pool::run_each(parts, cost, &|(((g, h), c), (h0, c0))| {
                forward_rows(&w_hh_t, None, steps, StepBufs { gates: g, hs: h, extra: c }, h0, c0, false);
            });
        }
        None => {
            let bufs = StepBufs { gates: gates.view_mut(), hs: hs.view_mut(), extra: cs.view_mut() };
            forward_rows(&w_hh_t, w_hr_t.as_ref(), steps, bufs, h0.view(), c0.view(), true);
        }
    }
    Ok(())
}

/// The steps of [`forward`] for the rows `bufs` holds (`h0`, `c0` those rows' initial states),
/// on the calling thread, or each step's product and gate math shared across the pool when
/// `shared`.
fn forward_rows<F: Float>(
    w_hh_t: &Recurrent<'_, F>,
    w_hr_t: Option<&Recurrent<'_, F>>,
    s: Steps,
    bufs: StepBufs<'_, F>,
    h0: ArrayView2<'_, F>,
    c0: ArrayView2<'_, F>,
    shared: bool,
) {
    let StepBufs { mut gates, mut hs, extra: mut cs } = bufs;
    let (seq_len, rows, _) = gates.dim();
    let (h0, c0) = (h0.to_slice().expect("standard layout"), c0.to_slice().expect("standard layout"));
    let cell = if shared { lstm_gates_shared } else { lstm_gates };
    // o ⊙ tanh(c) before the projection (only with one)
    let mut m = vec![F::zero(); if w_hr_t.is_some() { rows * s.hidden } else { 0 }];
    for step in 0..seq_len {
        let t = time(s.reverse, step, seq_len);
        let prev = before(s.reverse, t, seq_len);
        let gates_t = step_mut(&mut gates, t);
        // A_t += h_{t-1} W_hhᵀ   (nothing to add from a zero h0)
        let (hs_t, h_prev) = step_and_prev(&mut hs, t, prev, h0);
        if prev.is_some() || !s.h0_zero {
            w_hh_t.product(Mat::new(h_prev, rows, s.state), gates_t, true, None);
        }
        let (cs_t, c_prev) = step_and_prev(&mut cs, t, prev, c0);
        match w_hr_t {
            // gates, c_t and h_t = o ⊙ tanh(c_t)
            None => cell(gates_t, c_prev, cs_t, hs_t, s.hidden),
            // ... and h_t = (o ⊙ tanh c_t) W_hrᵀ
            Some(w_hr_t) => {
                cell(gates_t, c_prev, cs_t, &mut m, s.hidden);
                w_hr_t.product(Mat::new(&m, rows, s.hidden), hs_t, false, None);
            }
        }
    }
}

/// Backpropagation through time for one LSTM direction.
///
/// `hs`, `cs` are what [`forward`] wrote; `gates` holds on entry the activated gates it wrote
/// and on return `dA = dL/dA` `[T, B, 4H]`. `d_hs` is the gradient arriving at the hidden
/// states from above ([`Upstream::Given`] or [`Upstream::Head`]), `d_hn`, `d_cn` those of the
/// final states.
///
/// # Errors
/// [`Error::Shape`] when the shapes disagree.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<F: Float>(
    p: &LayerParams<F>,
    reverse: bool,
    x: ArrayView3<'_, F>,
    h0: ArrayView2<'_, F>,
    c0: ArrayView2<'_, F>,
    hs: &[F],
    cs: &[F],
    gates: &mut [F],
    d_hs: Upstream<'_, F>,
    d_hn: ArrayView2<'_, F>,
    d_cn: ArrayView2<'_, F>,
    out: GatedGradsOut<'_, '_, F>,
) -> Result<()> {
    check(p, &x, &h0, &c0)?;
    let (seq_len, batch, _) = x.dim();
    let (hidden, state) = (p.hidden_size(), p.state_size());
    let (bs, bh, bg) = (batch * state, batch * hidden, batch * 4 * hidden);
    if hs.len() != seq_len * bs || cs.len() != seq_len * bh || gates.len() != seq_len * bg {
        return Err(Error::shape("LSTM buffers", format!("{seq_len} steps"), &[hs.len(), cs.len(), gates.len()]));
    }
    if d_hn.shape() != [batch, state] || d_cn.shape() != [batch, hidden] {
        return Err(Error::shape(
            "grad of (h_n, c_n)",
            format!("[{batch}, {state}], [{batch}, {hidden}]"),
            d_hn.shape(),
        ));
    }
    let head = check_upstream(&d_hs, seq_len, batch, state, false)?;
    let GatedGradsOut { params: grads, dx, mut dh0, mut dc0, norms } = out;
    check_norms(norms.as_ref(), seq_len)?;
    let c0 = c0.as_standard_layout();
    // W_hh packed (when the products take the packed path) into the memory of its own
    // gradient, which nothing writes until the steps are done: no copy of its own
    let w_hh = Recurrent::new(p.weight_hh.view(), batch, grads.weight_hh.as_slice_mut(), None);
    let w_hr = p.weight_hr.as_ref().map(|w| w.as_standard_layout());
    let proj = match (&w_hr, &mut grads.weight_hr) {
        (Some(w), Some(gw)) => {
            gw.fill(F::zero());
            let gw = gw
                .as_slice_mut()
                .ok_or_else(|| Error::shape("grad of weight_hr", "standard layout", &[state, hidden]))?;
            Some((w.as_slice().expect("standard layout"), gw))
        }
        _ => None,
    };
    let s = Steps { reverse, hidden, state, h0_zero: false };
    let up = Up { d_hs: &d_hs, head: &head, batch };
    let cs =
        ArrayView3::from_shape((seq_len, batch, hidden), cs).map_err(|_| Error::shape("cell states", "flat", &[bh]))?;
    {
        let mut gates = view3_mut(gates, seq_len, batch, 4 * hidden)?;
        match batch_parts::<F>(batch, 4 * hidden * state).filter(|_| proj.is_none() && norms.is_none()) {
            // each thread its own rows through every step
            Some(per) => {
                let mut dc0_parts = dc0.as_mut().map(|d| d.axis_chunks_iter_mut(Axis(0), per));
                let ins = cs.axis_chunks_iter(Axis(1), per).zip(c0.axis_chunks_iter(Axis(0), per));
                let ins = ins.zip(d_hn.axis_chunks_iter(Axis(0), per).zip(d_cn.axis_chunks_iter(Axis(0), per)));
                let outs = gates.axis_chunks_iter_mut(Axis(1), per).zip(dh0.axis_chunks_iter_mut(Axis(0), per));
                let parts = ins.zip(outs).enumerate().map(|(i, (((cs, c0), (d_hn, d_cn)), (gates, dh0)))| BackRows {
                    gates,
                    cs,
                    c0,
                    d_hn,
                    d_cn,
                    dh0,
                    dc0: dc0_parts.as_mut().and_then(Iterator::next),
                    first_row: i * per,
                });
                let cost = seq_len * batch * (state + GATE_COST) * 4 * hidden;
                pool::run_each(parts, cost, &|rows| backward_rows(&w_hh, None, None, s, &up, rows, false));
            }
            None => {
                let (dh0, dc0) = (dh0.view_mut(), dc0.as_mut().map(|d| d.view_mut()));
                let (gates, c0) = (gates.view_mut(), c0.view());
                let rows = BackRows { gates, cs, c0, d_hn: d_hn.view(), d_cn: d_cn.view(), dh0, dc0, first_row: 0 };
                backward_rows(&w_hh, proj, norms, s, &up, rows, true);
            }
        }
    }
    // the gradient of W_hh is written from here on
    drop(w_hh);
    if seq_len == 0 {
        return Ok(());
    }
    let hs =
        ArrayView3::from_shape((seq_len, batch, state), hs).map_err(|_| Error::shape("states", "flat", &[hs.len()]))?;
    let da = view2(gates, seq_len * batch, 4 * hidden)?;
    weight_grads(p, reverse, x, h0, hs, da, grads, dx)
}

/// What the backward pass's steps read and write for the batch rows `first_row..`: the gates
/// `[T, rows, 4H]` (activated in, `dA` out), the cell states `[T, rows, H]`, `c0`, the final
/// states' gradients, and where the gradients of `h0` and `c0` go.
struct BackRows<'a, F> {
    gates: ArrayViewMut3<'a, F>,
    cs: ArrayView3<'a, F>,
    c0: ArrayView2<'a, F>,
    d_hn: ArrayView2<'a, F>,
    d_cn: ArrayView2<'a, F>,
    dh0: ArrayViewMut2<'a, F>,
    dc0: Option<ArrayViewMut2<'a, F>>,
    first_row: usize,
}

/// The steps of [`backward`], last to first, for the rows `b` holds, on the calling thread, or
/// each step's element-wise part and product shared across the pool when `shared`. `proj`:
/// `W_hr` and its gradient (accumulated into), with a projection.
fn backward_rows<F: Float>(
    w_hh: &Recurrent<'_, F>,
    mut proj: Option<(&[F], &mut [F])>,
    mut norms: Option<StepNorms<'_>>,
    s: Steps,
    up: &Up<'_, '_, '_, F>,
    b: BackRows<'_, F>,
    shared: bool,
) {
    let BackRows { mut gates, cs, c0, d_hn, d_cn, mut dh0, dc0, first_row } = b;
    let (seq_len, rows, _) = gates.dim();
    let (hidden, state) = (s.hidden, s.state);
    let contiguous = "the rows of a step are contiguous";
    let c0 = c0.to_slice().expect(contiguous);
    // the carries: g = dL/dh_t, dc = dL/dc_t
    let mut g: Vec<F> = d_hn.iter().copied().collect();
    let mut dc: Vec<F> = d_cn.iter().copied().collect();
    // tanh(c_t), and with a projection dL/dm_t and m_t = o ⊙ tanh(c_t)
    let mut tc = vec![F::zero(); rows * hidden];
    let mut dm = vec![F::zero(); if proj.is_some() { rows * hidden } else { 0 }];
    let mut m = dm.clone();
    let back = if shared { step_back_shared } else { step_back };
    for step in (0..seq_len).rev() {
        let t = time(s.reverse, step, seq_len);
        let c_prev = match before(s.reverse, t, seq_len) {
            Some(pt) => cs.index_axis_move(Axis(0), pt).to_slice().expect(contiguous),
            None => c0,
        };
        // g += dL/dh_t from above
        up.add(&mut g, t, first_row);
        let gates_t = step_mut(&mut gates, t);
        let c_t = cs.index_axis_move(Axis(0), t).to_slice().expect(contiguous);
        // tanh(c_t) now when the projection or the norms need it, else by each part below
        let tc_ready = proj.is_some() || norms.is_some();
        if tc_ready {
            tc.copy_from_slice(c_t);
            Nonlinearity::Tanh.apply_slice(&mut tc);
        }
        let dm: &[F] = match &mut proj {
            Some((w_hr, gw)) => {
                // m_t = o ⊙ tanh(c_t); dW_hr += gᵀ m_t; dm = g W_hr   (through the projection)
                for ((m, gr), tr) in
                    m.chunks_exact_mut(hidden).zip(gates_t.chunks_exact(4 * hidden)).zip(tc.chunks_exact(hidden))
                {
                    m.iter_mut().zip(&gr[3 * hidden..]).zip(tr).for_each(|((m, &o), &tc)| *m = o * tc);
                }
                gemm(Mat::transposed(&g, state, rows), Mat::new(&m, rows, hidden), gw, hidden, true);
                gemm(Mat::new(&g, rows, state), Mat::new(w_hr, state, hidden), &mut dm, hidden, false);
                &dm
            }
            None => &g,
        };
        if let Some(n) = &mut norms {
            n.h[t] = mean_row_norm(&g, state);
            if let Some(nc) = &mut n.c {
                nc[t] = cell_grad_norm(&dc, dm, gates_t, &tc, hidden);
            }
        }
        back(StepRows { gates: gates_t, dc: &mut dc, tc: &mut tc, dm, c: c_t, c_prev }, hidden, tc_ready);
        // g = dA_t W_hh   (into the previous state, through the recurrent weights)
        w_hh.product(Mat::new(gates_t, rows, 4 * hidden), &mut g, false, None);
    }
    dh0.iter_mut().zip(&g).for_each(|(d, &v)| *d = v);
    if let Some(mut dc0) = dc0 {
        dc0.iter_mut().zip(&dc).for_each(|(d, &v)| *d = v);
    }
}

/// One step's buffers for the element-wise part of the backward pass, `[rows, ·]` each: the
/// activated gates (overwritten with `dA`), `dL/dc` (from later steps in, to `c_prev` out),
/// `tanh(c_t)` (computed here unless ready), the gradient at `m_t = o ⊙ tanh(c_t)`, `c_t` and
/// `c_{t-1}`.
struct StepRows<'a, F> {
    gates: &'a mut [F],
    dc: &'a mut [F],
    tc: &'a mut [F],
    dm: &'a [F],
    c: &'a [F],
    c_prev: &'a [F],
}

/// [`step_back`], its rows shared across the pool when there are enough of them (the same
/// arithmetic per row either way, so the same results bit for bit).
fn step_back_shared<F: Float>(rows: StepRows<'_, F>, hidden: usize, tc_ready: bool) {
    let Some(per) = pool::rows_per_part(rows.c.len() / hidden.max(1), hidden) else {
        return step_back(rows, hidden, tc_ready);
    };
    let StepRows { gates, dc, tc, dm, c, c_prev } = rows;
    let cost = c.len() * GATE_COST;
    let (h, g) = (per * hidden, per * 4 * hidden);
    let parts = gates.chunks_mut(g).zip(dc.chunks_mut(h)).zip(tc.chunks_mut(h));
    let parts = parts.zip(dm.chunks(h).zip(c.chunks(h)).zip(c_prev.chunks(h)));
    let parts = parts.map(|(((gates, dc), tc), ((dm, c), c_prev))| StepRows { gates, dc, tc, dm, c, c_prev });
    pool::run_each(parts, cost, &|rows| step_back(rows, hidden, tc_ready));
}

/// The element-wise part of one step's backward pass, row by row: `dA` into the gates'
/// memory, `dL/dc_{t-1}` into `dc`.
fn step_back<F: Float>(rows: StepRows<'_, F>, hidden: usize, tc_ready: bool) {
    let StepRows { gates: gates_t, dc, tc, dm, c, c_prev } = rows;
    if !tc_ready {
        tc.copy_from_slice(c);
        Nonlinearity::Tanh.apply_slice(tc);
    }
    let rows = gates_t.chunks_exact_mut(4 * hidden).zip(dc.chunks_exact_mut(hidden));
    let inputs = dm.chunks_exact(hidden).zip(tc.chunks_exact(hidden)).zip(c_prev.chunks_exact(hidden));
    for ((gr, dcr), ((dmr, tcr), cpr)) in rows.zip(inputs) {
        let (i, rest) = gr.split_at_mut(hidden);
        let (f, rest) = rest.split_at_mut(hidden);
        let (gg, o) = rest.split_at_mut(hidden);
        for j in 0..hidden {
            let (iv, fv, gv, ov, tcv) = (i[j], f[j], gg[j], o[j], tcr[j]);
            // dc += dh ⊙ o ⊙ (1 - tanh² c)        (through h = o ⊙ tanh c)
            let dcv = dcr[j] + dmr[j] * ov * (F::one() - tcv * tcv);
            // do = dh ⊙ tanh c
            let dov = dmr[j] * tcv;
            // di = dc ⊙ g;  dg = dc ⊙ i;  df = dc ⊙ c_prev   (through c = f ⊙ c_prev + i ⊙ g)
            let (div, dgv, dfv) = (dcv * gv, dcv * iv, dcv * cpr[j]);
            // dc_prev = dc ⊙ f
            dcr[j] = dcv * fv;
            // dA = [di σ', df σ', dg tanh', do σ']   (through the gate activations)
            i[j] = div * iv * (F::one() - iv);
            f[j] = dfv * fv * (F::one() - fv);
            gg[j] = dgv * (F::one() - gv * gv);
            o[j] = dov * ov * (F::one() - ov);
        }
    }
}

/// The batch mean of `‖dL/dc_t‖₂` at step `t`, before the step's update: `dc`, the gradient
/// arriving from later steps, plus `dm ⊙ o ⊙ (1 - tanh² c_t)` through `h_t` (`gates_t` the
/// activated gates, `tc` = `tanh c_t`).
fn cell_grad_norm<F: Float>(dc: &[F], dm: &[F], gates_t: &[F], tc: &[F], hidden: usize) -> f64 {
    let rows = dc.chunks_exact(hidden).zip(dm.chunks_exact(hidden)).zip(gates_t.chunks_exact(4 * hidden));
    let mut sum = 0.0;
    for (((dcr, dmr), gr), tcr) in rows.zip(tc.chunks_exact(hidden)) {
        let o = &gr[3 * hidden..];
        let sq: f64 = (0..hidden)
            .map(|j| {
                let f = |v: F| v.to_f64_lossless();
                let (d, m, o, t) = (f(dcr[j]), f(dmr[j]), f(o[j]), f(tcr[j]));
                let v = d + m * o * (1.0 - t * t);
                v * v
            })
            .sum();
        sum += sq.sqrt();
    }
    sum / (dc.len() / hidden.max(1)).max(1) as f64
}
