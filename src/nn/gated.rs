//! What the gated cells' forward and backward passes share (and the IndRNN's, which use the same
//! pieces): the input projection of every step, the gradient arriving from above, and the weight
//! gradients summed over all steps.

use ndarray::{Array1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3, Axis, CowArray, Ix2, s};

use crate::kernels::{Mat, gemm, gemm_then, matmul, one_hot_gather, one_hot_grad, one_hot_rows};
use crate::nn::layer::{InputGrad, LayerParams, StepNorms, Upstream};
use crate::{Error, Float, Result};

/// Where the backward pass of one gated direction writes.
#[derive(Debug)]
pub(crate) struct GatedGradsOut<'a, 'g, F> {
    /// The parameter gradients (overwritten).
    pub params: &'g mut LayerParams<F>,
    /// The gradient of the input ([`InputGrad::OverDa`] is not supported).
    pub dx: InputGrad<'a, F>,
    /// The gradient of `h0`, `[batch, state]` (overwritten).
    pub dh0: ArrayViewMut2<'a, F>,
    /// The gradient of `c0`, `[batch, hidden]` (LSTM only, overwritten).
    pub dc0: Option<ArrayViewMut2<'a, F>>,
    /// Where to record the gradient's norm at every step, if anywhere (diagnostics).
    pub norms: Option<StepNorms<'a>>,
}

/// Checks that recorded norms have one entry per step.
pub(crate) fn check_norms(norms: Option<&StepNorms<'_>>, seq_len: usize) -> Result<()> {
    match norms {
        Some(n) if n.h.len() != seq_len || n.c.as_ref().is_some_and(|c| c.len() != seq_len) => {
            Err(Error::shape("gradient norms", format!("[{seq_len}]"), &[n.h.len()]))
        }
        _ => Ok(()),
    }
}

pub(crate) use crate::nn::layer::time;

/// The time index processed just before `t` (`None` at the first processed step).
#[inline]
pub(crate) fn before(reverse: bool, t: usize, seq_len: usize) -> Option<usize> {
    if reverse { (t + 1 < seq_len).then_some(t + 1) } else { t.checked_sub(1) }
}

/// Row `t` (`width` elements) of `buf`, mutable, and row `prev` (`prev != t`), shared.
pub(crate) fn row_and_prev<F>(buf: &mut [F], t: usize, prev: usize, width: usize) -> (&mut [F], &[F]) {
    if prev < t {
        let (lo, hi) = buf.split_at_mut(t * width);
        (&mut hi[..width], &lo[prev * width..(prev + 1) * width])
    } else {
        let (lo, hi) = buf.split_at_mut(prev * width);
        (&mut lo[t * width..(t + 1) * width], &hi[..width])
    }
}

/// `b_ih + b_hh`, the bias the Elman, LSTM and IndRNN layers add once per step (`None` without
/// biases); the GRU keeps them apart (`b_hn` sits inside the reset gate).
pub(crate) fn summed_bias<F: Float>(p: &LayerParams<F>) -> Option<Vec<F>> {
    match (&p.bias_ih, &p.bias_hh) {
        (Some(bi), Some(bh)) => Some(bi.iter().zip(bh).map(|(&a, &b)| a + b).collect()),
        _ => None,
    }
}

/// `out = X W_ihᵀ + bias`: the input projection of every step in one GEMM, the bias added by
/// each thread to the columns it has just computed. `out` is `[seq_len * batch, G*H]`.
pub(crate) fn project_input<F: Float>(p: &LayerParams<F>, x: ArrayView3<'_, F>, bias: Option<&[F]>, out: &mut [F]) {
    let (seq_len, batch, input_size) = x.dim();
    let rows = p.weight_ih.nrows();
    let x = x.as_standard_layout();
    let x_flat = x.as_slice().expect("standard layout");
    let w_ih_t = crate::kernels::transposed(p.weight_ih.view());
    let w_ih_t = w_ih_t.as_slice().expect("row-major");
    let add_bias = |row: &mut [F], j0: usize| {
        if let Some(bias) = bias {
            row.iter_mut().zip(&bias[j0..]).for_each(|(r, &b)| *r += b);
        }
    };
    if let Some(hot) = one_hot_rows(x_flat, input_size) {
        // a one-hot input (a character model's): row r of out is row hot[r] of W_ihᵀ
        one_hot_gather(&hot, Mat::new(w_ih_t, input_size, rows), out);
        out.chunks_exact_mut(rows.max(1)).for_each(|row| add_bias(row, 0));
        return;
    }
    let x2 = Mat::new(x_flat, seq_len * batch, input_size);
    gemm_then(x2, Mat::new(w_ih_t, input_size, rows), out, rows, false, Some(&add_bias));
}

/// The gradient from a linear head, checked and in standard layout: `(dz, V, first)`.
pub(crate) type HeadGrad<'a, F> = (CowArray<'a, F, Ix2>, CowArray<'a, F, Ix2>, usize);

/// Checks `d_hs` against a direction's states `[seq_len, batch, width]` and readies a head's
/// gradient for [`add_upstream`]. [`Upstream::InDa`] is refused unless `in_da` (only the Elman
/// layer keeps the gradient of its states in its `dA` buffer).
pub(crate) fn check_upstream<'a, F: Float>(
    d_hs: &'a Upstream<'_, F>,
    seq_len: usize,
    batch: usize,
    width: usize,
    in_da: bool,
) -> Result<Option<HeadGrad<'a, F>>> {
    match d_hs {
        Upstream::Given(d) if d.shape() != [seq_len, batch, width] => {
            Err(Error::shape("grad of hidden states", format!("[{seq_len}, {batch}, {width}]"), d.shape()))
        }
        Upstream::Given(_) => Ok(None),
        Upstream::InDa if in_da => Ok(None),
        Upstream::InDa => {
            Err(Error::Config("only an Elman layer keeps the gradient of its states in its dA buffer".into()))
        }
        Upstream::Head { dz, weight, first } => {
            let out_features = weight.nrows();
            let rows = seq_len.saturating_sub(*first) * batch;
            if weight.ncols() != width || *first > seq_len || dz.shape() != [rows, out_features] {
                let want = format!("[{rows}, {out_features}] and a weight [{out_features}, {width}]");
                return Err(Error::shape("grad of head output", want, dz.shape()));
            }
            Ok(Some((dz.as_standard_layout(), weight.as_standard_layout(), *first)))
        }
    }
}

/// `g += dL/dH_t` from above: the given gradient's row `t`, or `dZ_t V` through a head
/// ([`Upstream::InDa`] adds nothing here: its caller reads it from its own buffer).
pub(crate) fn add_upstream<F: Float>(g: &mut [F], d_hs: &Upstream<'_, F>, head: &Option<HeadGrad<'_, F>>, t: usize) {
    let width = match (d_hs, head) {
        (Upstream::Given(d), _) => d.shape()[2],
        (_, Some((_, v, _))) => v.ncols(),
        _ => return,
    };
    add_upstream_rows(g, d_hs, head, t, 0, g.len() / width.max(1));
}

/// [`add_upstream`] for the batch rows `first_row..first_row + g.len() / width` of a batch
/// of `batch` rows (`g` holds those rows only).
pub(crate) fn add_upstream_rows<F: Float>(
    g: &mut [F],
    d_hs: &Upstream<'_, F>,
    head: &Option<HeadGrad<'_, F>>,
    t: usize,
    first_row: usize,
    batch: usize,
) {
    if let Upstream::Given(d_hs) = d_hs {
        let width = d_hs.shape()[2];
        let rows = g.len() / width.max(1);
        let d_t = d_hs.index_axis(Axis(0), t);
        // row by row: d_hs may be a column slice of a bidirectional output
        for (gr, dr) in g.chunks_exact_mut(width).zip(d_t.slice(s![first_row..first_row + rows, ..]).rows()) {
            match dr.as_slice() {
                Some(dr) => gr.iter_mut().zip(dr).for_each(|(g, &d)| *g += d),
                None => gr.iter_mut().zip(dr.iter()).for_each(|(g, &d)| *g += d),
            }
        }
    }
    if let Some((dz, v, first)) = head
        && t >= *first
    {
        // dL/dH_t = dZ_t V
        let (o, width) = v.dim();
        let rows = g.len() / width.max(1);
        let at = ((t - first) * batch + first_row) * o;
        let dz = &dz.as_slice().expect("standard layout")[at..][..rows * o];
        gemm(Mat::new(dz, rows, o), Mat::new(v.as_slice().expect("standard layout"), o, width), g, width, true);
    }
}

/// What every step of a direction needs to know.
#[derive(Clone, Copy)]
pub(crate) struct Steps {
    pub reverse: bool,
    pub hidden: usize,
    /// The width of a hidden state (`proj_size` or `hidden`).
    pub state: usize,
    /// Whether `h0` is all zeros (then the first step has no product to add).
    pub h0_zero: bool,
}

/// A forward pass's step buffers for some rows of the batch, `[T, rows, ·]`, each step's rows
/// contiguous: the gates, the hidden states, and the cell's other state per step (an LSTM's
/// cell states, a GRU's `A_h,n`).
pub(crate) struct StepBufs<'a, F> {
    pub gates: ArrayViewMut3<'a, F>,
    pub hs: ArrayViewMut3<'a, F>,
    pub extra: ArrayViewMut3<'a, F>,
}

/// The gradient arriving from above ([`add_upstream_rows`]'s arguments) for a batch of `batch`.
pub(crate) struct Up<'u, 'a, 'h, F> {
    pub d_hs: &'u Upstream<'a, F>,
    pub head: &'u Option<HeadGrad<'h, F>>,
    pub batch: usize,
}

impl<F: Float> Up<'_, '_, '_, F> {
    /// `g += dL/dH_t` for the rows `first_row..` that `g` holds.
    pub(crate) fn add(&self, g: &mut [F], t: usize, first_row: usize) {
        add_upstream_rows(g, self.d_hs, self.head, t, first_row, self.batch);
    }
}

/// Rows of the batch per part when a direction's steps (of any cell but the IndRNN, whose steps
/// have no product) are better run part by part, each
/// thread carrying its own rows through every step (the rows of a batch never meet in a
/// recurrence), than with each step's product and gate math shared across the pool: the threads
/// no longer hand over at every step (twice each way), and each thread's gate math reads the
/// products it has just written. That pays while the packed `W_hh` (`weights` elements), which
/// every thread then streams whole at every step, fits in a core's L2 cache
/// ([`SPLIT_MAX_WEIGHT_BYTES`]), and each part has rows enough for the packed kernels
/// ([`SPLIT_MIN_ROWS`]). `None`: share each step.
pub(crate) fn batch_parts<F: Float>(batch: usize, weights: usize) -> Option<usize> {
    let n = crate::compute::pool::threads();
    (n > 1 && batch >= n * SPLIT_MIN_ROWS && weights * size_of::<F>() <= SPLIT_MAX_WEIGHT_BYTES)
        .then(|| batch.div_ceil(n))
}

/// The largest `W_hh` (in bytes) whose steps [`batch_parts`] splits by rows: a Zen 4 core's L2.
/// Measured on one (2 threads, LSTM training steps, float32, split against shared, 2-3
/// alternating runs): H = 128 faster at batch 16 and 32 (the weights 256 KB), H = 256 at batch
/// 16 (1 MB) faster, at 64 level; H = 512 (4 MB) mixed, 7% slower at batch 16; H = 1024 at
/// batch 16 and 64 (16 MB) 15-40% slower. The Elman layer at H = 512 (1 MB), batch 64: level
/// (a median 372 against 375 sequences/s over nine alternating runs).
pub(crate) const SPLIT_MAX_WEIGHT_BYTES: usize = 1 << 20;

/// The fewest batch rows per part (the packed kernels' fewest).
pub(crate) const SPLIT_MIN_ROWS: usize = 8;

/// Step `t` of a `[T, rows, W]` view whose steps are contiguous (as are the row ranges
/// `axis_chunks_iter_mut(Axis(1), ·)` cuts from a standard-layout array) as one slice.
pub(crate) fn step_mut<'s, F>(buf: &'s mut ArrayViewMut3<'_, F>, t: usize) -> &'s mut [F] {
    buf.index_axis_mut(Axis(0), t).into_slice().expect("the rows of a step are contiguous")
}

/// Step `t` of `buf` (as for [`step_mut`]), mutable, and step `prev` (`first` when `None`).
pub(crate) fn step_and_prev<'s, F>(
    buf: &'s mut ArrayViewMut3<'_, F>,
    t: usize,
    prev: Option<usize>,
    first: &'s [F],
) -> (&'s mut [F], &'s [F]) {
    let Some(p) = prev else { return (step_mut(buf, t), first) };
    let (lo, hi) = buf.view_mut().split_at(Axis(0), t.max(p));
    let slice = |v: ArrayViewMut2<'s, F>| v.into_slice().expect("the rows of a step are contiguous");
    if p < t {
        (slice(hi.index_axis_move(Axis(0), 0)), slice(lo.index_axis_move(Axis(0), p)))
    } else {
        (slice(lo.index_axis_move(Axis(0), t)), slice(hi.index_axis_move(Axis(0), 0)))
    }
}

/// `buf` `[seq_len, rows, width]` as a view.
pub(crate) fn view3_mut<F>(buf: &mut [F], seq_len: usize, rows: usize, width: usize) -> Result<ArrayViewMut3<'_, F>> {
    let len = buf.len();
    ArrayViewMut3::from_shape((seq_len, rows, width), buf)
        .map_err(|_| Error::shape("step buffer", format!("[{seq_len}, {rows}, {width}]"), &[len]))
}

/// The weight gradients over all steps, each one GEMM, given `dA` `[seq_len * batch, G*H]`
/// (the same on the input and the recurrent side, as for an LSTM): the recurrent side by
/// [`recurrent_grads`], then the input side by [`input_grads`]: `dW_ih = dAᵀ X`,
/// `db_ih = Σ dA` and the input gradient `dX = dA W_ih`. `hs` `[seq_len, batch, state]` are
/// the states the forward pass wrote, `h0` the initial one. `dW_hr` is left as it is.
#[allow(clippy::too_many_arguments)]
pub(crate) fn weight_grads<F: Float>(
    p: &LayerParams<F>,
    reverse: bool,
    x: ArrayView3<'_, F>,
    h0: ArrayView2<'_, F>,
    hs: ArrayView3<'_, F>,
    da: ArrayView2<'_, F>,
    grads: &mut LayerParams<F>,
    dx: InputGrad<'_, F>,
) -> Result<()> {
    recurrent_grads(reverse, h0, hs, da, grads)?;
    input_grads(p, x, da, grads, dx, true)
}

/// The input side's gradients over all steps, given `dA` `[seq_len * batch, G*H]`:
/// `dW_ih = dAᵀ X` (one GEMM), `db_ih = Σ dA` and the input gradient `dX = dA W_ih` (one GEMM).
/// Shared by the gated cells and the IndRNN ([`InputGrad::OverDa`] is refused). With
/// `same_da` the recurrent side's `dA` was this one and `db_hh` already holds its sum.
pub(crate) fn input_grads<F: Float>(
    p: &LayerParams<F>,
    x: ArrayView3<'_, F>,
    da: ArrayView2<'_, F>,
    grads: &mut LayerParams<F>,
    dx: InputGrad<'_, F>,
    same_da: bool,
) -> Result<()> {
    let (seq_len, batch, input_size) = x.dim();
    let x = x.as_standard_layout();
    let x2 = x
        .view()
        .into_shape_with_order((seq_len * batch, input_size))
        .map_err(|_| Error::shape("layer input", "standard layout", &[seq_len, batch, input_size]))?;
    // dW_ih = dAᵀ X
    weight_ih_grad(x2.view(), da, grads.weight_ih.view_mut());
    // db_ih = Σ dA
    match (&mut grads.bias_ih, &grads.bias_hh) {
        (Some(bi), Some(bh)) if same_da => bi.assign(bh),
        (Some(bi), _) => column_sums(da, bi),
        _ => {}
    }
    // dX = dA W_ih: the gradient handed to the layer below
    let (mut dx, accumulate) = match dx {
        InputGrad::Skip => return Ok(()),
        InputGrad::OverDa => return Err(Error::Config("this layer cannot write its input gradient over dA".into())),
        InputGrad::Write(dx) => (dx, false),
        InputGrad::Add(dx) => (dx, true),
    };
    if dx.shape() != [seq_len * batch, input_size] {
        return Err(Error::shape("grad of layer input", format!("[{}, {input_size}]", seq_len * batch), dx.shape()));
    }
    matmul(&da, &p.weight_ih.view(), &mut dx, accumulate);
    Ok(())
}

/// `dW_ih = dAᵀ X` over all steps (`X` `[rows, input]`, `dA` `[rows, G*H]`, `dW_ih` `[G*H,
/// input]`, overwritten): one GEMM, or for a one-hot `X` (a character model's) the sums of
/// `dA`'s rows per hot column ([`one_hot_grad`]).
pub(crate) fn weight_ih_grad<F: Float>(x: ArrayView2<'_, F>, da: ArrayView2<'_, F>, mut dw: ArrayViewMut2<'_, F>) {
    let hot = x.as_slice().and_then(|x2| one_hot_rows(x2, x.ncols()));
    match (hot, da.as_slice(), dw.as_slice_mut()) {
        (Some(hot), Some(da_flat), Some(g)) => {
            one_hot_grad(&hot, Mat::new(da_flat, da.nrows(), da.ncols()), x.ncols(), g)
        }
        _ => matmul(&da.t(), &x, &mut dw, false),
    }
}

/// The recurrent side's gradients over all steps: `dW_hh = dA_hᵀ H_prev` (the steps whose
/// previous state is a hidden state in one GEMM, plus the step that read `h0`) and
/// `db_hh = Σ dA_h`.
pub(crate) fn recurrent_grads<F: Float>(
    reverse: bool,
    h0: ArrayView2<'_, F>,
    hs: ArrayView3<'_, F>,
    da_h: ArrayView2<'_, F>,
    grads: &mut LayerParams<F>,
) -> Result<()> {
    let (seq_len, batch, state) = hs.dim();
    let gh = da_h.ncols();
    let da3 = da_h
        .into_shape_with_order((seq_len, batch, gh))
        .map_err(|_| Error::shape("dA", "standard layout", &[seq_len * batch, gh]))?;
    let n = (seq_len - 1) * batch;
    let (inner, prev, t_first) = if reverse {
        (da3.slice(s![..seq_len - 1, .., ..]), hs.slice(s![1.., .., ..]), seq_len - 1)
    } else {
        (da3.slice(s![1.., .., ..]), hs.slice(s![..seq_len - 1, .., ..]), 0)
    };
    if n > 0 {
        let inner = inner.into_shape_with_order((n, gh)).map_err(|_| Error::shape("dA", "standard layout", &[n]))?;
        let prev =
            prev.into_shape_with_order((n, state)).map_err(|_| Error::shape("states", "standard layout", &[n]))?;
        matmul(&inner.t(), &prev, &mut grads.weight_hh.view_mut(), false);
    } else {
        grads.weight_hh.fill(F::zero());
    }
    matmul(&da3.index_axis(Axis(0), t_first).t(), &h0, &mut grads.weight_hh.view_mut(), true);
    if let Some(bh) = &mut grads.bias_hh {
        column_sums(da_h, bh);
    }
    Ok(())
}

/// `out = Σ_rows a` (a bias's gradient), row after row from zero; the columns shared across
/// the pool when there are enough (the same sums either way, so the same results bit for bit).
pub(crate) fn column_sums<F: Float>(a: ArrayView2<'_, F>, out: &mut Array1<F>) {
    let sum = |a: ArrayView2<'_, F>, out: ArrayViewMut1<'_, F>| {
        let mut out = out;
        out.fill(F::zero());
        for row in a.rows() {
            out.zip_mut_with(&row, |o, &v| *o += v);
        }
    };
    match crate::compute::pool::rows_per_part(a.ncols(), a.nrows()) {
        None => sum(a, out.view_mut()),
        Some(per) => {
            let parts = out.axis_chunks_iter_mut(Axis(0), per).zip(a.axis_chunks_iter(Axis(1), per));
            crate::compute::pool::run_each(parts, a.len(), &|(o, a)| sum(a, o));
        }
    }
}

/// A `[rows, cols]` standard-layout view of a flat buffer.
pub(crate) fn view2<F>(buf: &[F], rows: usize, cols: usize) -> Result<ArrayView2<'_, F>> {
    ArrayView2::from_shape((rows, cols), buf)
        .map_err(|_| Error::shape("buffer", format!("[{rows}, {cols}]"), &[buf.len()]))
}
