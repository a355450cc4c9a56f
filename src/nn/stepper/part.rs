//! A step split by hidden units: part `p` owns the units `u0..u1` of every layer, and with
//! them every gate column those units need (the i, f, g, o columns of an LSTM's units, the r,
//! z, n of a GRU's), packed into a matrix of its own in the file's gate order. So a part
//! computes its units' pre-activations and then, with no exchange, its units' gates, cell
//! states and new states: one step of a layer is one job on the pool, and the only data the
//! parts share are the step's input and the previous state, which they only read.
//!
//! With one part (one thread, or a layer too small to share) the same code runs on the
//! calling thread; its part is then the whole layer in the file's gate order.

use std::ops::Range;

use ndarray::{Array1, Array2, ArrayView2, Axis, concatenate};

use crate::kernels::{Mat, Packed, gemm_packed};
use crate::nn::cell::{gru_gates, lstm_gates};
use crate::{Cell, Float, LayerParams, Nonlinearity};

/// The hidden units of each part: `hidden` split into at most `parts` ranges, each a multiple
/// of 8 units when a part has more than 8 (whole vectors for the gate math), the last one
/// shorter. Never an empty range.
pub(super) fn split_units(hidden: usize, parts: usize) -> Vec<Range<usize>> {
    let mut chunk = hidden.div_ceil(parts.max(1)).max(1);
    if chunk > 8 {
        chunk = chunk.next_multiple_of(8).min(hidden);
    }
    (0..hidden).step_by(chunk).map(|u0| u0..(u0 + chunk).min(hidden)).collect()
}

/// The gate columns of `units`: `g · hidden + u` for every gate block `g` and unit `u`, in
/// that order (gate-major, so the part's blocks keep the file's gate order).
fn gate_columns(gates: usize, hidden: usize, units: &Range<usize>) -> Vec<usize> {
    (0..gates).flat_map(|g| units.clone().map(move |u| g * hidden + u)).collect()
}

/// One part's weights for one layer.
pub(super) struct PartWeights<F: Float> {
    /// Its hidden units.
    pub(super) units: Range<usize>,
    /// Its columns of `[W_ihᵀ; W_hhᵀ]` (`[input + state, gates · n]`) for the Elman cell and the
    /// LSTM; of `W_ihᵀ` alone for the GRU (whose `W_hh h` the reset gate multiplies) and the
    /// IndRNN (whose recurrence is element-wise).
    w: Packed<F>,
    /// A GRU's columns of `W_hhᵀ` `[state, 3n]`.
    w_hh: Option<Packed<F>>,
    /// Its entries of `b_ih + b_hh` (a GRU's `b_ih` alone).
    bias: Option<Vec<F>>,
    /// A GRU's entries of `b_hh`.
    b_hh: Option<Vec<F>>,
    /// An IndRNN's entries of `u`.
    u: Option<Vec<F>>,
}

impl<F: Float> PartWeights<F> {
    /// The part of `layer` (a layer of `cell`) that holds `units`.
    pub(super) fn new(layer: &LayerParams<F>, cell: Cell, units: Range<usize>) -> Self {
        let (gates, hidden) = (cell.gates(), layer.weight_ih.shape()[0] / cell.gates());
        let cols = gate_columns(gates, hidden, &units);
        let pick = |m: ArrayView2<'_, F>| Packed::pack(m.t().select(Axis(1), &cols).view());
        let pick_bias = |b: &Array1<F>| b.select(Axis(0), &cols).to_vec();
        let separate = matches!(cell, Cell::Gru | Cell::IndRnn);
        let w = if separate {
            pick(layer.weight_ih.view())
        } else {
            let stacked: Array2<F> = concatenate(Axis(1), &[layer.weight_ih.view(), layer.weight_hh.view()])
                .expect("W_ih and W_hh have one row per gate unit");
            pick(stacked.view())
        };
        let gru = cell == Cell::Gru;
        let bias = match (&layer.bias_ih, &layer.bias_hh) {
            (Some(a), _) if gru => Some(pick_bias(a)),
            (Some(a), Some(b)) => Some(pick_bias(&(a + b))),
            _ => None,
        };
        PartWeights {
            w,
            w_hh: gru.then(|| pick(layer.weight_hh.view())),
            bias,
            b_hh: layer.bias_hh.as_ref().filter(|_| gru).map(pick_bias),
            u: layer.weight_hh_diag.as_ref().map(|u| u.as_slice().expect("contiguous")[units.clone()].to_vec()),
            units,
        }
    }
}

/// One part's working memory, `[batch, ·]` each; the part that runs holds its lock.
#[derive(Default)]
pub(super) struct Scratch<F> {
    /// Pre-activations, then activated gates `[batch, gates · n]`.
    a: Vec<F>,
    /// A GRU's recurrent side `b_hh + h W_hhᵀ` `[batch, 3n]`.
    ah: Vec<F>,
    /// The previous step's `c` (LSTM) or `h` (GRU, IndRNN) of the part's units.
    prev: Vec<F>,
    /// The new `c` (LSTM) or the new `h` (the other cells).
    new: Vec<F>,
    /// An LSTM's `o ⊙ tanh c` (its `h` before any projection); a GRU's `W_hn h + b_hn`.
    m: Vec<F>,
}

impl<F: Float> Scratch<F> {
    /// Room for `batch` rows of `n` units of a cell with `gates` gate blocks.
    pub(super) fn new(batch: usize, n: usize, gates: usize) -> Self {
        let z = |len| vec![F::zero(); len];
        Scratch {
            a: z(batch * gates * n),
            ah: z(batch * gates * n),
            prev: z(batch * n),
            new: z(batch * n),
            m: z(batch * n),
        }
    }

    /// The part's new hidden units `[batch, n]` (an LSTM's before any projection).
    pub(super) fn h(&self, cell: Cell, len: usize) -> &[F] {
        if cell == Cell::Lstm { &self.m[..len] } else { &self.new[..len] }
    }

    /// An LSTM's new cell-state units `[batch, n]`.
    pub(super) fn c(&self, len: usize) -> &[F] {
        &self.new[..len]
    }
}

/// What every part of one layer's step reads: the step's rows `[x, h]` and the layer's
/// previous states, none of which any part writes.
pub(super) struct StepInput<'a, F> {
    pub(super) cell: Cell,
    pub(super) act: Nonlinearity,
    pub(super) batch: usize,
    /// `[batch, in_size + state]`: each stream's input and previous state.
    pub(super) xh: &'a [F],
    pub(super) in_size: usize,
    pub(super) state: usize,
    pub(super) hidden: usize,
    /// The previous states `[batch, state]` and an LSTM's cell states `[batch, hidden]`.
    pub(super) h_prev: &'a [F],
    pub(super) c_prev: &'a [F],
}

/// Part `w.units` of one layer's step: its gates' pre-activations (one product, two for a
/// GRU), then its units' gate math, into `s` (the part's own memory).
pub(super) fn run_part<F: Float>(w: &PartWeights<F>, input: &StepInput<'_, F>, s: &mut Scratch<F>) {
    let StepInput { cell, act, batch, xh, in_size, state, hidden, h_prev, c_prev } = *input;
    let (n, width) = (w.units.len(), cell.gates() * w.units.len());
    let k = in_size + state;
    let a = &mut s.a[..batch * width];
    fill_rows(a, w.bias.as_deref());
    // a = bias + [x, h] [W_ihᵀ; W_hhᵀ] (a GRU's and an IndRNN's: bias + x W_ihᵀ)
    let lhs = Mat { data: xh, rows: batch, cols: w.w.view().rows(), ld: k, trans: false };
    gemm_packed(lhs, w.w.view(), a, width, true, None);
    // the part's units of the previous c (LSTM) or h (GRU, IndRNN)
    let prev = &mut s.prev[..batch * n];
    let (src, ld) = if cell == Cell::Lstm { (c_prev, hidden) } else { (h_prev, state) };
    if cell != Cell::Rnn {
        for (b, row) in prev.chunks_exact_mut(n).enumerate() {
            row.copy_from_slice(&src[b * ld + w.units.start..b * ld + w.units.end]);
        }
    }
    let new = &mut s.new[..batch * n];
    match cell {
        Cell::Rnn => {
            act.apply_slice(a);
            new.copy_from_slice(a);
        }
        Cell::IndRnn => {
            // a += u ⊙ h_prev, then h = act(a)
            let u = w.u.as_deref().expect("an IndRNN layer has u");
            for (a, h) in a.chunks_exact_mut(n).zip(prev.chunks_exact(n)) {
                a.iter_mut().zip(u).zip(h).for_each(|((a, &u), &h)| *a += u * h);
            }
            act.apply_slice(a);
            new.copy_from_slice(a);
        }
        Cell::Lstm => lstm_gates(a, prev, new, &mut s.m[..batch * n], n),
        Cell::Gru => {
            // A_h = b_hh + h W_hhᵀ over the part's columns, then r, z, n and the new h
            let ah = &mut s.ah[..batch * width];
            fill_rows(ah, w.b_hh.as_deref());
            let h_side = Mat { data: &xh[in_size..], rows: batch, cols: state, ld: k, trans: false };
            gemm_packed(h_side, w.w_hh.as_ref().expect("a GRU layer has W_hh").view(), ah, width, true, None);
            gru_gates(a, ah, &mut s.m[..batch * n], prev, new, n);
        }
    }
}

/// Every row of `rows` (a whole number of `bias.len()`-wide rows) set to `bias`, or zeros.
fn fill_rows<F: Float>(rows: &mut [F], bias: Option<&[F]>) {
    match bias {
        Some(b) => rows.chunks_exact_mut(b.len()).for_each(|r| r.copy_from_slice(b)),
        None => rows.fill(F::zero()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_split_whole_and_in_order() {
        for (hidden, parts) in [(5, 2), (128, 2), (100, 2), (100, 3), (7, 4), (1, 2), (64, 1), (200, 8)] {
            let ranges = split_units(hidden, parts);
            assert!(ranges.len() <= parts && !ranges.is_empty(), "{hidden}/{parts}: {ranges:?}");
            assert_eq!(ranges.first().unwrap().start, 0);
            assert_eq!(ranges.last().unwrap().end, hidden);
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start && !w[0].is_empty()));
        }
        assert_eq!(split_units(128, 2), vec![0..64, 64..128]);
        assert_eq!(split_units(100, 2), vec![0..56, 56..100]);
        assert_eq!(split_units(5, 2), vec![0..3, 3..5]);
    }

    #[test]
    fn gate_columns_keep_the_gate_order() {
        assert_eq!(gate_columns(3, 4, &(1..3)), vec![1, 2, 5, 6, 9, 10]);
    }
}
