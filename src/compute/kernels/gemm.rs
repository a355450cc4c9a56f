//! The entry points: `C (+)= A · B` on slices ([`gemm`], [`gemm_then`]) and on `ndarray` views
//! ([`matmul`]), split across the thread pool by column blocks (or rows) when large.

use super::direct::run;
use super::{Float, Mat, MatMut, PANEL, PARALLEL_MIN_MACS, transposed};
use crate::compute::pool;

/// `C = A · B` (`accumulate = false`) or `C += A · B`, with `C` row-major `[A.rows, B.cols]`
/// and row distance `ldc`.
///
/// # Panics
/// When the shapes or slice lengths disagree (a programming error inside the crate).
pub fn gemm<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, accumulate: bool) {
    gemm_then(a, b, c, ldc, accumulate, None);
}

/// What runs on each row's slice of C right after a thread has computed its columns, given
/// the slice and the index of its first column: the recurrence's activation or the biases,
/// fused into the product (applied by every thread to its own columns, while they are in
/// cache) instead of a second pass on one thread.
pub type Epilogue<'a, F> = Option<&'a (dyn Fn(&mut [F], usize) + Sync)>;

/// Applies `post` to columns `j0..j1` of every row of C.
pub(super) fn finish<F>(c: &mut MatMut<'_, F>, j0: usize, j1: usize, post: Epilogue<'_, F>) {
    if let Some(post) = post {
        for r in 0..c.rows() {
            post(c.row(r, j0, j1 - j0), j0);
        }
    }
}

/// Checks A for an `[a.rows, a.cols] x [a.cols, n]` product into C (whose view checked its
/// own size) and settles the ones with nothing to multiply (no rows or columns; or `k = 0`: C
/// zeroed unless accumulating, then `post`). Returns whether there is work left.
pub(super) fn prepare<F: Float>(a: Mat<'_, F>, c: &mut MatMut<'_, F>, accumulate: bool, post: Epilogue<'_, F>) -> bool {
    let (m, k) = (a.rows, a.cols);
    let n = c.col_range().1;
    assert_eq!(c.rows(), m, "rows of A and C");
    let a_len = if a.trans { (k.max(1) - 1) * a.ld + m } else { (m.max(1) - 1) * a.ld + k };
    assert!(m == 0 || k == 0 || a.data.len() >= a_len, "A too small");
    if m == 0 || n == 0 {
        return false;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c.row(r, 0, n).fill(F::zero());
            }
        }
        finish(c, 0, n, post);
        return false;
    }
    true
}

/// [`gemm`], then `post` on the result (see [`Epilogue`]).
///
/// # Panics
/// As [`gemm`].
pub fn gemm_then<F: Float>(
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    c: &mut [F],
    ldc: usize,
    accumulate: bool,
    post: Epilogue<'_, F>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions");
    assert!(!b.trans, "B must be row-major");
    assert!(k == 0 || n == 0 || b.data.len() >= (k - 1) * b.ld + n, "B too small");
    let mut c = MatMut::new(c, m, n, ldc);
    if !prepare(a, &mut c, accumulate, post) {
        return;
    }
    let large = m * n * k >= PARALLEL_MIN_MACS;
    let threads = pool::threads();
    if large && threads > 1 && by_rows(m, n, threads) {
        // each part its own rows of C
        match pool::plan(m * n * k) {
            Some(job) if job.parallel() => {
                let per = m.div_ceil(threads);
                let parts = c.split(true, per);
                job.run(&|part| {
                    if let Some(mut c) = parts.part(part) {
                        let r0 = part * per;
                        let a_off = if a.trans { r0 } else { r0 * a.ld };
                        let a_part = Mat { data: &a.data[a_off..], rows: c.rows(), ..a };
                        run(a_part, b, &mut c, accumulate, 0, n);
                        finish(&mut c, 0, n, post);
                    }
                });
            }
            // inline: whole (held to the end of the arm, so that its time is booked)
            _job => {
                run(a, b, &mut c, accumulate, 0, n);
                finish(&mut c, 0, n, post);
            }
        }
        return;
    }
    over_columns(c, large, m * n * k, |c, j0, j1| {
        run(a, b, c, accumulate, j0, j1);
        finish(c, j0, j1, post);
    });
}

/// Whether a product of `m` rows and `n` columns is shared across `threads` by rows rather
/// than by columns. Every part copies (packs) the whole of the operand it does not split: cut
/// by columns, every thread packs all of A (`m × k`) and its share of B; cut by rows, its
/// share of A and all of B. So rows when A is the larger (`m > n`), and when there are too
/// few columns to share (a head with one output); never fewer than 64 rows a part. Measured
/// at 2 threads on the products of an LSTM training step (H = 512, batch 64, 64 steps),
/// GFLOP/s by columns -> by rows: `dW_hh = dAᵀ H` (2048 × 4032 × 512) 77 -> 131, `dX = dA
/// W_ih` (4096 × 2048 × 512) 70 -> 102, the input projection (4096 × 512 × 2048) 93 -> 102.
fn by_rows(m: usize, n: usize, threads: usize) -> bool {
    m >= 64 * threads && (n.div_ceil(PANEL) < threads || m > n)
}

/// Calls `f(c, j0, j1)` with views of C whose column ranges together cover all of its
/// columns: one per pool thread when `large` and the pool takes the job (blocks of [`PANEL`]
/// columns, so the kernels' panels stay whole), else the whole of C on the calling thread. `cost`: the product's
/// multiply-adds, for the pool's books.
pub(super) fn over_columns<F: Float>(
    mut c: MatMut<'_, F>,
    large: bool,
    cost: usize,
    f: impl Fn(&mut MatMut<'_, F>, usize, usize) + Sync,
) {
    let threads = pool::threads();
    let (_, n) = c.col_range();
    let blocks = n.div_ceil(PANEL);
    if threads < 2 || !large || blocks < threads {
        f(&mut c, 0, n);
        return;
    }
    match pool::plan(cost) {
        Some(job) if job.parallel() => {
            let parts = c.split(false, blocks.div_ceil(threads) * PANEL);
            job.run(&|part| {
                if let Some(mut c) = parts.part(part) {
                    let (j0, j1) = c.col_range();
                    f(&mut c, j0, j1);
                }
            });
        }
        // inline: whole (held to the end of the arm, so that its time is booked)
        _job => f(&mut c, 0, n),
    }
}

/// `C = A · B` or `C += A · B` on ndarray views with the kernels above: an operand that is not
/// row-major is laid out row-major first (a cache-blocked transpose when it is a transposed
/// view of B; a transposed A is read in place), once per call. A `C` that is not contiguous
/// row-major goes to `ndarray`'s GEMM.
pub fn matmul<F: Float>(
    a: &ndarray::ArrayView2<'_, F>,
    b: &ndarray::ArrayView2<'_, F>,
    c: &mut ndarray::ArrayViewMut2<'_, F>,
    accumulate: bool,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if !c.is_standard_layout() {
        let beta = if accumulate { F::one() } else { F::zero() };
        ndarray::linalg::general_mat_mul(F::one(), a, b, beta, c);
        return;
    }
    let (a_owned, b_owned);
    let a_t = a.t();
    let a_mat = match (a.as_slice(), a_t.as_slice()) {
        (Some(s), _) => Mat::new(s, m, k),
        // the transpose of a row-major array (dAᵀ in a weight gradient): read in place
        (None, Some(s)) => Mat::transposed(s, m, k),
        (None, None) => {
            a_owned = a.as_standard_layout().into_owned();
            Mat::new(a_owned.as_slice().expect("row-major"), m, k)
        }
    };
    let b_sl = match b.as_slice() {
        Some(s) => s,
        None => {
            b_owned = row_major(b);
            b_owned.as_slice().expect("row-major")
        }
    };
    let c_sl = c.as_slice_mut().expect("standard layout");
    gemm(a_mat, Mat::new(b_sl, k, n), c_sl, n, accumulate);
}

/// A row-major copy of `a`: a blocked transpose when `a` is the transpose of a row-major array.
fn row_major<F: Float>(a: &ndarray::ArrayView2<'_, F>) -> ndarray::Array2<F> {
    let t = a.t();
    if t.as_slice().is_some() { transposed(t) } else { a.as_standard_layout().into_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::kernels::{FORCED_ISA, Isa, isa};
    use ndarray::Array2;

    fn check<F: Float>(m: usize, k: usize, n: usize, acc: bool) {
        let a = Array2::<F>::from_shape_fn((m, k), |(i, j)| F::of(((i * 7 + j * 3) % 11) as f64 * 0.1 - 0.5));
        let b = Array2::<F>::from_shape_fn((k, n), |(i, j)| F::of(((i * 5 + j * 13) % 17) as f64 * 0.05 - 0.4));
        let c0 = Array2::<F>::from_shape_fn((m, n), |(i, j)| F::of((i + j) as f64 * 0.01));
        let mut want = if acc { c0.clone() } else { Array2::zeros((m, n)) };
        want += &a.dot(&b);
        let mut c = c0.clone();
        gemm(
            Mat::new(a.as_slice().unwrap(), m, k),
            Mat::new(b.as_slice().unwrap(), k, n),
            c.as_slice_mut().unwrap(),
            n,
            acc,
        );
        let tol = if size_of::<F>() == 4 { 1e-4 } else { 1e-12 };
        for (x, y) in c.iter().zip(want.iter()) {
            assert!((x.to_f64_lossless() - y.to_f64_lossless()).abs() < tol * (1.0 + k as f64), "{m}x{k}x{n}");
        }
        // the same with A given as the transpose of a row-major [k, m] array, read in place
        let at = a.t().as_standard_layout().into_owned();
        let mut c = c0.clone();
        gemm(
            Mat::transposed(at.as_slice().unwrap(), m, k),
            Mat::new(b.as_slice().unwrap(), k, n),
            c.as_slice_mut().unwrap(),
            n,
            acc,
        );
        for (x, y) in c.iter().zip(want.iter()) {
            assert!((x.to_f64_lossless() - y.to_f64_lossless()).abs() < tol * (1.0 + k as f64), "Aᵀ {m}x{k}x{n}");
        }
    }

    #[test]
    fn matches_ndarray_for_awkward_shapes() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (1, 32, 32),
            (5, 40, 1),
            (1, 128, 1),
            (3, 5, 7),
            (4, 128, 128),
            (5, 33, 65),
            (32, 128, 128),
            (2, 0, 3),
            (17, 64, 200),
        ] {
            for acc in [false, true] {
                check::<f32>(m, k, n, acc);
                check::<f64>(m, k, n, acc);
            }
        }
    }

    /// The packed path: rows left over after 12-row tiles, several k passes, more rows than one
    /// packed block, columns beyond the last whole panel, A transposed (in `check`).
    fn packed_path_shapes() {
        for &(m, k, n) in &[(8, 300, 64), (13, 600, 100), (30, 257, 96), (150, 40, 70), (16, 1024, 64), (20, 300, 600)]
        {
            for acc in [false, true] {
                check::<f32>(m, k, n, acc);
                check::<f64>(m, k, n, acc);
            }
        }
    }

    #[test]
    fn packed_path_agrees() {
        packed_path_shapes();
    }

    /// The same products with the ISA forced down to what every x86-64 CPU with AVX2 or none
    /// runs (when this one has more), on this test's thread (a part the pool's workers take
    /// runs the process's ISA: `RNN_ISA=avx2 cargo test` runs every part on AVX2).
    #[test]
    fn every_isa_agrees() {
        let detected = isa();
        for forced in [Isa::Avx2, Isa::Portable] {
            if forced == Isa::Avx2 && detected == Isa::Portable {
                continue;
            }
            FORCED_ISA.set(Some(forced));
            let result = std::panic::catch_unwind(|| {
                packed_path_shapes();
                matches_ndarray_for_awkward_shapes();
            });
            FORCED_ISA.set(None);
            assert!(result.is_ok(), "{forced:?}");
        }
    }

    /// A product cut into parts (on the pool, or inline while it backs off) equals, bit for
    /// bit, the same product computed whole on one thread: the parts are whole panels or rows,
    /// and every element sums over k in the same passes. So a run's results do not depend on
    /// whether the pool took a job.
    #[test]
    fn a_product_cut_into_parts_equals_it_whole_bit_for_bit() {
        for &(m, k, n) in &[(64, 512, 2048), (2100, 600, 1), (96, 300, 100), (16, 1024, 1024)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 23) as f32 - 11.0) * 0.013).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 19) as f32 - 9.0) * 0.021).collect();
            let (am, bm) = (Mat::new(&a, m, k), Mat::new(&b, k, n));
            let mut whole = vec![0.5f32; m * n];
            run(am, bm, &mut MatMut::new(&mut whole, m, n, n), true, 0, n);
            let packed = super::super::Packed::pack(ndarray::ArrayView2::from_shape((k, n), &b).unwrap());
            // several times: the pool's books decide each time whether the job is cut
            for _ in 0..8 {
                let mut c = vec![0.5f32; m * n];
                gemm(am, bm, &mut c, n, true);
                assert!(c.iter().zip(&whole).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}x{k}x{n}");
                let mut c = vec![0.5f32; m * n];
                super::super::gemm_packed(am, packed.view(), &mut c, n, true, None);
                assert!(c.iter().zip(&whole).all(|(x, y)| x.to_bits() == y.to_bits()), "packed {m}x{k}x{n}");
            }
        }
    }

    /// `C += A B` sums the products first and adds C once: four products of 2⁻²⁵ onto C = 1
    /// give 1 + 2⁻²³ in f32 (the sum is one ulp of 1), where adding each to C in turn would
    /// leave 1 (each is below half an ulp). Direct and packed paths, every ISA.
    #[test]
    fn accumulating_adds_c_after_the_sum() {
        let detected = isa();
        for forced in [None, Some(Isa::Avx2), Some(Isa::Portable)] {
            if forced == Some(Isa::Avx2) && detected == Isa::Portable {
                continue;
            }
            FORCED_ISA.set(forced);
            // k = 4: the direct kernels; 20 × 300 × 600: the packed path where there is one
            for &(m, k, n) in &[(1, 4, 5), (3, 4, 40), (20, 300, 600)] {
                // (the packed kernels need AVX2 or AVX-512)
                let packed = k > 4 && isa() != Isa::Portable;
                assert_eq!(super::super::packed_path::<f32>(m, k, n), packed, "{m}x{k}x{n}");
                let a = vec![1.0f32; m * k];
                let tiny = 2f32.powi(-25);
                // the first four rows of B tiny, the rest zero
                let b: Vec<f32> = (0..k * n).map(|i| if i / n < 4 { tiny } else { 0.0 }).collect();
                let mut c = vec![1.0f32; m * n];
                gemm(Mat::new(&a, m, k), Mat::new(&b, k, n), &mut c, n, true);
                let want = 1.0 + 2f32.powi(-23);
                assert!(c.iter().all(|&x| x == want), "{forced:?} {m}x{k}x{n}: {:?}", &c[..3]);
            }
            FORCED_ISA.set(None);
        }
    }

    #[test]
    fn large_products_split_across_threads_agree() {
        // by columns, and by rows when there are too few columns to share
        check::<f32>(2100, 1024, 1, true);
        check::<f64>(1000, 300, 20, false);
        check::<f32>(64, 512, 512, true);
        check::<f64>(16, 1024, 1024, false);
    }
}
