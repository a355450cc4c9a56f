//! What the gated cells' forward and backward passes share (and the IndRNN's, which use the same
//! pieces): the input projection of every step, the gradient arriving from above, and the weight
//! gradients summed over all steps.

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, Axis, CowArray, Ix2, s};

use crate::kernels::{Mat, gemm, gemm_then, matmul};
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
    if let Upstream::Given(d_hs) = d_hs {
        let width = d_hs.shape()[2];
        // row by row: d_hs may be a column slice of a bidirectional output
        for (gr, dr) in g.chunks_exact_mut(width).zip(d_hs.index_axis(Axis(0), t).rows()) {
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
        let batch = g.len() / width;
        let dz = &dz.as_slice().expect("standard layout")[(t - first) * batch * o..][..batch * o];
        gemm(Mat::new(dz, batch, o), Mat::new(v.as_slice().expect("standard layout"), o, width), g, width, true);
    }
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
    input_grads(p, x, da, grads, dx)
}

/// The input side's gradients over all steps, given `dA` `[seq_len * batch, G*H]`:
/// `dW_ih = dAᵀ X` (one GEMM), `db_ih = Σ dA` and the input gradient `dX = dA W_ih` (one GEMM).
/// Shared by the gated cells and the IndRNN ([`InputGrad::OverDa`] is refused).
pub(crate) fn input_grads<F: Float>(
    p: &LayerParams<F>,
    x: ArrayView3<'_, F>,
    da: ArrayView2<'_, F>,
    grads: &mut LayerParams<F>,
    dx: InputGrad<'_, F>,
) -> Result<()> {
    let (seq_len, batch, input_size) = x.dim();
    let x = x.as_standard_layout();
    let x2 = x
        .view()
        .into_shape_with_order((seq_len * batch, input_size))
        .map_err(|_| Error::shape("layer input", "standard layout", &[seq_len, batch, input_size]))?;
    // dW_ih = dAᵀ X
    matmul(&da.t(), &x2, &mut grads.weight_ih.view_mut(), false);
    // db_ih = Σ dA
    if let Some(bi) = &mut grads.bias_ih {
        bi.fill(F::zero());
        for row in da.rows() {
            *bi += &row;
        }
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
        bh.fill(F::zero());
        for row in da_h.rows() {
            *bh += &row;
        }
    }
    Ok(())
}

/// A `[rows, cols]` standard-layout view of a flat buffer.
pub(crate) fn view2<F>(buf: &[F], rows: usize, cols: usize) -> Result<ArrayView2<'_, F>> {
    ArrayView2::from_shape((rows, cols), buf)
        .map_err(|_| Error::shape("buffer", format!("[{rows}, {cols}]"), &[buf.len()]))
}
