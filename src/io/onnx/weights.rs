//! PyTorch's weights in the layout of ONNX's `RNN`, `LSTM` and `GRU` operators: gate blocks
//! reordered (LSTM i, f, g, o -> i, o, f, c; GRU r, z, n -> z, r, h), directions stacked, the
//! two biases concatenated, everything as float32.

use ndarray::{ArrayView1, ArrayView2};

use crate::{Cell, Float, LayerParams};

/// For each of ONNX's gate blocks in its order, the PyTorch block that holds it.
pub fn onnx_gate_order(cell: Cell) -> &'static [usize] {
    match cell {
        // ONNX i, o, f, c from PyTorch i, f, g, o
        Cell::Lstm => &[0, 3, 1, 2],
        // ONNX z, r, h from PyTorch r, z, n
        Cell::Gru => &[1, 0, 2],
        Cell::Rnn | Cell::IndRnn => &[0],
    }
}

/// The rows of `m` (`[G*H, n]`, PyTorch's gate blocks of `h` rows each) in ONNX's gate order,
/// flattened row-major.
pub fn reorder_rows<F: Float>(m: ArrayView2<'_, F>, cell: Cell, h: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(m.len());
    for &block in onnx_gate_order(cell) {
        for row in m.outer_iter().skip(block * h).take(h) {
            out.extend(row.iter().map(|v| v.to_f64_lossless() as f32));
        }
    }
    out
}

/// A bias vector (`[G*H]`) in ONNX's gate order.
pub fn reorder_bias<F: Float>(v: ArrayView1<'_, F>, cell: Cell, h: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(v.len());
    for &block in onnx_gate_order(cell) {
        out.extend(v.iter().skip(block * h).take(h).map(|v| v.to_f64_lossless() as f32));
    }
    out
}

/// One layer's `W` `[D, G*H, in]`, `R` `[D, G*H, H]` and (with biases) `B` `[D, 2*G*H]` (each
/// direction's `W_b` then `R_b`), from its directions' parameters in order (forward, reverse).
pub fn layer_weights<F: Float>(
    dirs: &[LayerParams<F>],
    cell: Cell,
    h: usize,
) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
    let (mut w, mut r, mut b) = (Vec::new(), Vec::new(), Vec::new());
    let mut has_bias = true;
    for p in dirs {
        w.extend(reorder_rows(p.weight_ih.view(), cell, h));
        r.extend(reorder_rows(p.weight_hh.view(), cell, h));
        match (&p.bias_ih, &p.bias_hh) {
            (Some(bi), Some(bh)) => {
                b.extend(reorder_bias(bi.view(), cell, h));
                b.extend(reorder_bias(bh.view(), cell, h));
            }
            _ => has_bias = false,
        }
    }
    (w, r, has_bias.then_some(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    /// Rows (and bias entries) numbered by block: block k holds the value k in every entry.
    fn blocks(cell: Cell, h: usize, n: usize) -> (Array2<f64>, Array1<f64>) {
        let g = cell.gates();
        (Array2::from_shape_fn((g * h, n), |(i, _)| (i / h) as f64), Array1::from_shape_fn(g * h, |i| (i / h) as f64))
    }

    #[test]
    fn lstm_gates_go_from_ifgo_to_iofc() {
        let (m, v) = blocks(Cell::Lstm, 2, 3);
        let rows = reorder_rows(m.view(), Cell::Lstm, 2);
        // PyTorch blocks i=0, f=1, g=2, o=3; ONNX i, o, f, c(=g)
        let want: Vec<f32> = [0., 3., 1., 2.].iter().flat_map(|&b| [b; 6]).collect();
        assert_eq!(rows, want);
        assert_eq!(reorder_bias(v.view(), Cell::Lstm, 2), [0., 0., 3., 3., 1., 1., 2., 2.]);
    }

    #[test]
    fn gru_gates_go_from_rzn_to_zrh() {
        let (m, v) = blocks(Cell::Gru, 1, 2);
        assert_eq!(reorder_rows(m.view(), Cell::Gru, 1), [1., 1., 0., 0., 2., 2.]);
        assert_eq!(reorder_bias(v.view(), Cell::Gru, 1), [1., 0., 2.]);
    }

    #[test]
    fn elman_rows_are_kept_and_rows_stay_whole() {
        let m = Array2::from_shape_fn((2, 3), |(i, j)| (10 * i + j) as f64);
        assert_eq!(reorder_rows(m.view(), Cell::Rnn, 2), [0., 1., 2., 10., 11., 12.]);
    }

    #[test]
    fn a_layer_stacks_directions_and_concatenates_biases() {
        let (h, cell) = (1, Cell::Gru);
        let (m, v) = blocks(cell, h, 1);
        let p = LayerParams {
            weight_ih: m.clone(),
            weight_hh: m.clone() + 10.0,
            weight_hh_diag: None,
            bias_ih: Some(v.clone()),
            bias_hh: Some(v.clone() + 10.0),
            weight_hr: None,
        };
        let (w, r, b) = layer_weights(&[p.clone(), p.clone()], cell, h);
        assert_eq!(w, [1., 0., 2., 1., 0., 2.]);
        assert_eq!(r, [11., 10., 12., 11., 10., 12.]);
        assert_eq!(b.unwrap(), [1., 0., 2., 11., 10., 12., 1., 0., 2., 11., 10., 12.]);
        let no_bias = LayerParams { bias_ih: None, bias_hh: None, ..p };
        assert_eq!(layer_weights(&[no_bias], cell, h).2, None);
    }
}
