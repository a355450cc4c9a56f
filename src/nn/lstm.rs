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

use ndarray::{ArrayView2, ArrayView3};

use crate::compute::pool;
use crate::kernels::{Mat, PackedRef, gemm};
use crate::nn::cell::{GATE_COST, lstm_gates_shared};
use crate::nn::gated::{
    GatedGradsOut, add_upstream, before, check_norms, check_upstream, project_input, row_and_prev, time, view2,
    weight_grads,
};
use crate::nn::layer::{LayerParams, Recurrent, Upstream, mean_row_norm};
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
    let bias: Option<Vec<F>> = match (&p.bias_ih, &p.bias_hh) {
        (Some(bi), Some(bh)) => Some(bi.iter().zip(bh).map(|(&a, &b)| a + b).collect()),
        _ => None,
    };
    project_input(p, x, bias.as_deref(), gates);
    let w_hh_t = Recurrent::new(p.weight_hh.t(), batch, None, w_hh_t);
    let w_hr_t = p.weight_hr.as_ref().map(|w| Recurrent::new(w.t(), batch, None, None));
    let h0 = h0.as_standard_layout();
    let h0 = h0.as_slice().expect("standard layout");
    let c0 = c0.as_standard_layout();
    let c0 = c0.as_slice().expect("standard layout");
    let h0_zero = h0.iter().all(|&v| v == F::zero());
    // o ⊙ tanh(c) before the projection (only with one)
    let mut m = vec![F::zero(); if w_hr_t.is_some() { bh } else { 0 }];
    for step in 0..seq_len {
        let t = time(reverse, step, seq_len);
        let prev = before(reverse, t, seq_len);
        let gates_t = &mut gates[t * bg..(t + 1) * bg];
        // A_t += h_{t-1} W_hhᵀ   (nothing to add from a zero h0)
        let (hs_t, h_prev) = match prev {
            Some(pt) => row_and_prev(hs, t, pt, bs),
            None => (&mut hs[t * bs..(t + 1) * bs], h0),
        };
        if prev.is_some() || !h0_zero {
            w_hh_t.product(Mat::new(h_prev, batch, state), gates_t, true, None);
        }
        let (cs_t, c_prev) = match prev {
            Some(pt) => row_and_prev(cs, t, pt, bh),
            None => (&mut cs[t * bh..(t + 1) * bh], c0),
        };
        match &w_hr_t {
            // gates, c_t and h_t = o ⊙ tanh(c_t)
            None => lstm_gates_shared(gates_t, c_prev, cs_t, hs_t, hidden),
            // ... and h_t = (o ⊙ tanh c_t) W_hrᵀ
            Some(w_hr_t) => {
                lstm_gates_shared(gates_t, c_prev, cs_t, &mut m, hidden);
                w_hr_t.product(Mat::new(&m, batch, hidden), hs_t, false, None);
            }
        }
    }
    Ok(())
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
    let GatedGradsOut { params: grads, dx, mut dh0, dc0, mut norms } = out;
    check_norms(norms.as_ref(), seq_len)?;
    let c0 = c0.as_standard_layout();
    let c0 = c0.as_slice().expect("standard layout");
    // the carries: g = dL/dh_t, dc = dL/dc_t
    let mut g: Vec<F> = d_hn.iter().copied().collect();
    let mut dc: Vec<F> = d_cn.iter().copied().collect();
    // W_hh packed (when the products take the packed path) into the memory of its own
    // gradient, which nothing writes until the steps are done: no copy of its own
    let w_hh = Recurrent::new(p.weight_hh.view(), batch, grads.weight_hh.as_slice_mut(), None);
    let w_hr = p.weight_hr.as_ref().map(|w| w.as_standard_layout());
    if let Some(gw) = &mut grads.weight_hr {
        gw.fill(F::zero());
    }
    // tanh(c_t), and with a projection dL/dm_t and m_t = o ⊙ tanh(c_t)
    let mut tc = vec![F::zero(); bh];
    let mut dm = vec![F::zero(); if w_hr.is_some() { bh } else { 0 }];
    let mut m = dm.clone();
    for step in (0..seq_len).rev() {
        let t = time(reverse, step, seq_len);
        let c_prev = match before(reverse, t, seq_len) {
            Some(pt) => &cs[pt * bh..(pt + 1) * bh],
            None => c0,
        };
        // g += dL/dh_t from above
        add_upstream(&mut g, &d_hs, &head, t);
        let gates_t = &mut gates[t * bg..(t + 1) * bg];
        let c_t = &cs[t * bh..(t + 1) * bh];
        // tanh(c_t) now when the projection or the norms need it, else by each part below
        let tc_ready = w_hr.is_some() || norms.is_some();
        if tc_ready {
            tc.copy_from_slice(c_t);
            Nonlinearity::Tanh.apply_slice(&mut tc);
        }
        let dm: &[F] = match (&w_hr, &mut grads.weight_hr) {
            (Some(w_hr), Some(gw_hr)) => {
                // m_t = o ⊙ tanh(c_t); dW_hr += gᵀ m_t; dm = g W_hr   (through the projection)
                for ((m, gr), tr) in
                    m.chunks_exact_mut(hidden).zip(gates_t.chunks_exact(4 * hidden)).zip(tc.chunks_exact(hidden))
                {
                    m.iter_mut().zip(&gr[3 * hidden..]).zip(tr).for_each(|((m, &o), &tc)| *m = o * tc);
                }
                let gw = gw_hr
                    .as_slice_mut()
                    .ok_or_else(|| Error::shape("grad of weight_hr", "standard layout", &[state, hidden]))?;
                gemm(Mat::transposed(&g, state, batch), Mat::new(&m, batch, hidden), gw, hidden, true);
                let w = w_hr.as_slice().expect("standard layout");
                gemm(Mat::new(&g, batch, state), Mat::new(w, state, hidden), &mut dm, hidden, false);
                &dm
            }
            _ => &g,
        };
        if let Some(n) = &mut norms {
            n.h[t] = mean_row_norm(&g, state);
            if let Some(nc) = &mut n.c {
                nc[t] = cell_grad_norm(&dc, dm, gates_t, &tc, hidden);
            }
        }
        let rows = StepRows { gates: gates_t, dc: &mut dc, tc: &mut tc, dm, c: c_t, c_prev };
        step_back_shared(rows, hidden, tc_ready);
        // g = dA_t W_hh   (into the previous state, through the recurrent weights)
        w_hh.product(Mat::new(gates_t, batch, 4 * hidden), &mut g, false, None);
    }
    // the gradient of W_hh is written from here on
    drop(w_hh);
    dh0.iter_mut().zip(&g).for_each(|(d, &v)| *d = v);
    if let Some(mut dc0) = dc0 {
        dc0.iter_mut().zip(&dc).for_each(|(d, &v)| *d = v);
    }
    if seq_len == 0 {
        return Ok(());
    }
    let hs =
        ArrayView3::from_shape((seq_len, batch, state), hs).map_err(|_| Error::shape("states", "flat", &[hs.len()]))?;
    let da = view2(gates, seq_len * batch, 4 * hidden)?;
    weight_grads(p, reverse, x, h0, hs, da, grads, dx)
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
