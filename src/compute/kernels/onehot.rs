//! Products with a one-hot left-hand side: a character model's input, each row of `X` one
//! vocabulary entry (a 1 and zeros). Then the input projection `X B` is a gather of `B`'s rows
//! (what `nn.Embedding` does) and the weight gradient `dAᵀ X` a sum of `dA`'s rows per column,
//! with none of the multiplications by zero a dense product spends nearly all its time on.
//!
//! The gather gives a dense product's values exactly: every term of `Σ_k x_k b_k` but the hot
//! one is a zero, and adding zeros changes no finite sum (only, for a weight of -0, the sign of
//! a zero). The gradient's columns are the same sums taken row after row instead of in the
//! dense kernel's blocked order, so they may differ from it in the last bits, as two GEMM
//! kernels do. Measured on the 2-core AMD EPYC at a character model's sizes (a batch of 32
//! streams × 50 steps, a vocabulary of 75, an LSTM of 256: `[1600, 75]` one-hot, 1024 gate
//! columns; `cargo run --release --example one_hot_rate`, three runs): finding the hot
//! columns 0.03-0.05 ms, the gather 0.15-0.18 ms (one thread) against the dense projection's
//! 1.3-1.4 ms (two threads), `dW_ih` 0.23-0.31 ms against 3.7-3.9 ms.
//!
//! # Example
//! ```
//! use rnn::kernels::{Mat, gemm, one_hot_grad, one_hot_rows, one_hot_gather};
//! let x = [0.0f64, 1.0, 0.0, /* row 2 */ 1.0, 0.0, 0.0]; // [2, 3], one-hot
//! let hot = one_hot_rows(&x, 3).expect("one-hot");
//! assert_eq!(hot, [1, 0]);
//! let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [3, 2]
//! let mut dense = [0.0; 4];
//! gemm(Mat::new(&x, 2, 3), Mat::new(&b, 3, 2), &mut dense, 2, false);
//! let mut gathered = [0.0; 4];
//! one_hot_gather(&hot, Mat::new(&b, 3, 2), &mut gathered);
//! assert_eq!(gathered, dense); // rows 1 and 0 of B
//! // dAᵀ X for dA [2, 2]: column k of the [2, 3] result sums the rows of dA hot at k
//! let mut g = [9.0; 6];
//! one_hot_grad(&hot, Mat::new(&[1.0, 2.0, 3.0, 4.0], 2, 2), 3, &mut g);
//! assert_eq!(g, [3.0, 1.0, 0.0, 4.0, 2.0, 0.0]);
//! assert!(one_hot_rows(&[0.0, 0.5, 0.0], 3).is_none()); // not one-hot: a dense product
//! ```

use super::{Mat, transpose_into};
use crate::Float;

/// The hot column of each row of the row-major `[x.len() / cols, cols]` matrix `x` when every
/// row holds exactly one 1 and zeros elsewhere; `None` otherwise (also for `cols` 0 or an
/// `x` that is not a whole number of rows). Stops at the first row that is not one-hot.
pub fn one_hot_rows<F: Float>(x: &[F], cols: usize) -> Option<Vec<u32>> {
    if cols == 0 || cols > u32::MAX as usize || !x.len().is_multiple_of(cols) {
        return None;
    }
    let mut hot = Vec::with_capacity(x.len() / cols);
    for row in x.chunks_exact(cols) {
        // one branch-free pass (it vectorises): the ones, the others, and where the ones are
        let (mut ones, mut others, mut at) = (0u32, 0u32, 0u32);
        for (k, &v) in row.iter().enumerate() {
            let one = u32::from(v == F::one());
            ones += one;
            others += u32::from(v != F::one() && v != F::zero());
            at = at.wrapping_add(one * k as u32); // wraps only in a row that is refused
        }
        if ones != 1 || others != 0 {
            return None;
        }
        hot.push(at);
    }
    Some(hot)
}

/// `out = X B` for the one-hot `X` whose hot columns are `hot` (see [`one_hot_rows`]): row `r`
/// of `out` (`[hot.len(), B.cols]`, row-major) is row `hot[r]` of `B` (row-major, not
/// transposed).
///
/// # Panics
/// When `B` is transposed, a hot column is not a row of `B`, or `out` is not
/// `hot.len() · B.cols` long (a programming error inside the crate).
pub fn one_hot_gather<F: Float>(hot: &[u32], b: Mat<'_, F>, out: &mut [F]) {
    assert!(!b.trans, "B row-major");
    let n = b.cols;
    assert_eq!(out.len(), hot.len() * n, "out is [rows, B.cols]");
    for (row, &k) in out.chunks_exact_mut(n.max(1)).zip(hot) {
        let k = k as usize;
        assert!(k < b.rows, "hot column {k} of {} rows", b.rows);
        row.copy_from_slice(&b.data[k * b.ld..k * b.ld + n]);
    }
}

/// `g = dAᵀ X` (`[dA.cols, cols]`, row-major, overwritten) for the one-hot `X` `[hot.len(),
/// cols]` whose hot columns are `hot`: column `k` of `g` is the sum of the rows `r` of `dA`
/// (row-major `[hot.len(), ·]`, not transposed) with `hot[r] = k`, added in row order.
///
/// # Panics
/// When `dA` is transposed or has other than `hot.len()` rows, a hot column is `cols` or more,
/// or `g` is not `dA.cols · cols` long (a programming error inside the crate).
pub fn one_hot_grad<F: Float>(hot: &[u32], da: Mat<'_, F>, cols: usize, g: &mut [F]) {
    assert!(!da.trans && da.rows == hot.len(), "dA row-major, one row per hot column");
    let n = da.cols;
    assert_eq!(g.len(), n * cols, "g is [dA.cols, cols]");
    // the sums as rows (contiguous adds), then transposed into g
    let mut sums = vec![F::zero(); cols * n];
    for (r, &k) in hot.iter().enumerate() {
        let k = k as usize;
        assert!(k < cols, "hot column {k} of {cols}");
        let src = &da.data[r * da.ld..r * da.ld + n];
        sums[k * n..(k + 1) * n].iter_mut().zip(src).for_each(|(s, &v)| *s += v);
    }
    let sums = ndarray::ArrayView2::from_shape((cols, n), &sums).expect("cols * n sums");
    transpose_into(sums, g);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gemm;

    /// A one-hot `[rows, cols]` matrix with hot columns `(r * 7 + 3) % cols`.
    fn one_hot(rows: usize, cols: usize) -> (Vec<f64>, Vec<u32>) {
        let hot: Vec<u32> = (0..rows).map(|r| ((r * 7 + 3) % cols) as u32).collect();
        let mut x = vec![0.0; rows * cols];
        for (r, &k) in hot.iter().enumerate() {
            x[r * cols + k as usize] = 1.0;
        }
        (x, hot)
    }

    #[test]
    fn finds_the_hot_columns_and_refuses_anything_else() {
        let (x, hot) = one_hot(40, 11);
        assert_eq!(one_hot_rows(&x, 11), Some(hot));
        for (i, v) in [(5, 2.0), (5, 0.5), (16, 1.0), (17, -1.0), (39, f64::NAN)] {
            let mut y = x.clone();
            y[i] = v; // a second 1 in a row, a value other than 0 and 1, ...
            assert_eq!(one_hot_rows(&y, 11), None, "x[{i}] = {v}");
        }
        let mut empty_row = x.clone();
        empty_row[3] = 0.0; // row 0's hot entry (column 3) gone: no 1 in it
        assert_eq!(one_hot_rows(&empty_row, 11), None);
        assert_eq!(one_hot_rows(&x, 0), None);
        assert_eq!(one_hot_rows(&x[..10], 11), None);
        let mut neg_zero = x.clone();
        neg_zero[0] = -0.0; // still zero
        assert!(one_hot_rows(&neg_zero, 11).is_some());
    }

    /// The gather is the dense product bit for bit; the gradient is the dense `dAᵀ X` to
    /// rounding, at sizes below and past the kernels' blocks.
    #[test]
    fn agree_with_the_dense_products() {
        for &(rows, cols, n) in &[(1, 1, 1), (7, 3, 5), (50, 75, 64), (1600, 75, 130), (33, 200, 17)] {
            let (x, hot) = one_hot(rows, cols);
            let b: Vec<f64> = (0..cols * n).map(|i| ((i * 13) % 29) as f64 * 0.07 - 1.0).collect();
            let mut dense = vec![0.0; rows * n];
            gemm(Mat::new(&x, rows, cols), Mat::new(&b, cols, n), &mut dense, n, false);
            let mut gathered = vec![f64::NAN; rows * n];
            one_hot_gather(&hot, Mat::new(&b, cols, n), &mut gathered);
            assert_eq!(gathered, dense, "{rows}x{cols}x{n}");

            let da: Vec<f64> = (0..rows * n).map(|i| ((i * 11) % 23) as f64 * 0.13 - 1.4).collect();
            let mut want = vec![0.0; n * cols];
            gemm(Mat::transposed(&da, n, rows), Mat::new(&x, rows, cols), &mut want, cols, false);
            let mut g = vec![f64::NAN; n * cols];
            one_hot_grad(&hot, Mat::new(&da, rows, n), cols, &mut g);
            for (i, (&a, &w)) in g.iter().zip(&want).enumerate() {
                assert!((a - w).abs() <= 1e-12 * (1.0 + w.abs()), "{rows}x{cols}x{n} [{i}]: {a} vs {w}");
            }
        }
    }
}
