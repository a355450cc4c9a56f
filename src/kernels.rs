//! The small matrix product at the heart of the recurrence, without allocation or per-call
//! overhead: `C (+)= A · B` with all three row-major, register-blocked, compiled for AVX-512 or
//! AVX2+FMA when the CPU has them (detected once at run time), and split across the thread pool
//! by column blocks when the product is large enough to pay for it.
//!
//! `ndarray`'s GEMM (`matrixmultiply`) packs its operands into a freshly allocated buffer on every
//! call; that is right for the big once-per-sequence products but costs more than the work itself
//! for a `[B, H] x [H, H]` step at small `H`, and allocates inside the per-step loop.

use std::sync::OnceLock;

use crate::Float;

/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_MIN_MACS: usize = 1 << 21;

/// Which instruction set the kernels run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Avx512,
    Avx2,
    Portable,
}

fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
                return Isa::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    })
}

/// A row-major matrix view over a slice: element `(r, c)` at `data[r * ld + c]`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a, F> {
    /// The elements.
    pub data: &'a [F],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows (`>= cols`).
    pub ld: usize,
}

impl<'a, F> Mat<'a, F> {
    /// A contiguous `rows × cols` matrix.
    pub fn new(data: &'a [F], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, ld: cols }
    }
}

/// `C = A · B` (`accumulate = false`) or `C += A · B`, with `C` row-major `[A.rows, B.cols]`
/// and row distance `ldc`.
///
/// # Panics
/// When the shapes or slice lengths disagree (a programming error inside the crate).
pub fn gemm<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions");
    assert!(m == 0 || c.len() >= (m - 1) * ldc + n, "C too small");
    assert!(m == 0 || k == 0 || a.data.len() >= (m - 1) * a.ld + k, "A too small");
    assert!(k == 0 || n == 0 || b.data.len() >= (k - 1) * b.ld + n, "B too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..r * ldc + n].fill(F::zero());
            }
        }
        return;
    }
    let threads = crate::pool::threads();
    if threads > 1 && m * n * k >= PARALLEL_MIN_MACS && n >= 64 * threads {
        // column blocks per thread, multiples of 64 so the kernels' blocks stay whole
        let per = n.div_ceil(threads).div_ceil(64) * 64;
        let c_ptr = SendPtr(c.as_mut_ptr());
        let c_len = c.len();
        crate::pool::run(&|part| {
            let (j0, j1) = ((part * per).min(n), ((part + 1) * per).min(n));
            if j0 < j1 {
                // SAFETY: every part writes only columns j0..j1 of C's rows, disjoint from the
                // other parts' columns; C outlives `run`, which waits for every part.
                let c = unsafe { std::slice::from_raw_parts_mut(c_ptr.get(), c_len) };
                run(a, b, c, ldc, accumulate, j0, j1);
            }
        });
    } else {
        run(a, b, c, ldc, accumulate, 0, n);
    }
}

#[derive(Clone, Copy)]
struct SendPtr<F>(*mut F);
// SAFETY: used only to hand disjoint column ranges of one buffer to scoped tasks.
unsafe impl<F> Send for SendPtr<F> {}
unsafe impl<F> Sync for SendPtr<F> {}
impl<F> SendPtr<F> {
    fn get(self) -> *mut F {
        self.0
    }
}

fn run<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j0: usize, j1: usize) {
    match isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU was checked for these features.
        Isa::Avx512 => unsafe { run_avx512(a, b, c, ldc, acc, j0, j1) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU was checked for these features.
        Isa::Avx2 => unsafe { run_avx2(a, b, c, ldc, acc, j0, j1) },
        _ => blocked::<F, 4, 16>(a, b, c, ldc, acc, j0, j1),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j0: usize, j1: usize) {
    blocked::<F, 4, 64>(a, b, c, ldc, acc, j0, j1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j0: usize, j1: usize) {
    blocked::<F, 4, 16>(a, b, c, ldc, acc, j0, j1)
}

/// Columns `j0..j1` of `C (+)= A · B`: panels of `NR` columns (a panel of B that stays in
/// cache), then narrower panels of 16 and 8 for what is left, then single columns; within a
/// panel, blocks of `MR` rows of A, each an `MR × width` tile of accumulators held in registers
/// while `k` runs.
#[inline(always)]
fn blocked<F: Float, const MR: usize, const NR: usize>(
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    c: &mut [F],
    ldc: usize,
    acc: bool,
    j0: usize,
    j1: usize,
) {
    let mut j = j0;
    while j + NR <= j1 {
        panel::<F, MR, NR>(a, b, c, ldc, acc, j);
        j += NR;
    }
    while j + 16 <= j1 {
        panel::<F, MR, 16>(a, b, c, ldc, acc, j);
        j += 16;
    }
    while j + 8 <= j1 {
        panel::<F, MR, 8>(a, b, c, ldc, acc, j);
        j += 8;
    }
    while j < j1 {
        panel::<F, MR, 1>(a, b, c, ldc, acc, j);
        j += 1;
    }
}

/// All rows of A against the `W` columns of B starting at `j`.
#[inline(always)]
fn panel<F: Float, const MR: usize, const W: usize>(
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    c: &mut [F],
    ldc: usize,
    acc: bool,
    j: usize,
) {
    let m = a.rows;
    let mut i = 0;
    while i + MR <= m {
        tile::<F, MR, W>(a, b, c, ldc, acc, i, j);
        i += MR;
    }
    while i < m {
        tile::<F, 1, W>(a, b, c, ldc, acc, i, j);
        i += 1;
    }
}

/// One `R × W` tile of C at row `i`, column `j`.
#[inline(always)]
fn tile<F: Float, const R: usize, const W: usize>(
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    c: &mut [F],
    ldc: usize,
    acc: bool,
    i: usize,
    j: usize,
) {
    let k = a.cols;
    debug_assert!(i + R <= a.rows && j + W <= b.cols);
    let mut t = [[F::zero(); W]; R];
    let crow = |r: usize| (i + r) * ldc + j;
    if acc {
        for (r, row) in t.iter_mut().enumerate() {
            row.copy_from_slice(&c[crow(r)..crow(r) + W]);
        }
    }
    // SAFETY: `gemm` checked that A holds `a.rows` rows of `k` at distance `a.ld`, and B `k`
    // rows of `b.cols` at distance `b.ld`; `i + R <= a.rows` and `j + W <= b.cols` by the
    // callers' loop bounds, so every read below is in bounds.
    unsafe {
        let ap = a.data.as_ptr().add(i * a.ld);
        let bp = b.data.as_ptr().add(j);
        for p in 0..k {
            let brow = &*(bp.add(p * b.ld) as *const [F; W]);
            for (r, row) in t.iter_mut().enumerate() {
                let av = *ap.add(r * a.ld + p);
                for (x, &bv) in row.iter_mut().zip(brow) {
                    *x = av.mul_add(bv, *x);
                }
            }
        }
    }
    for (r, row) in t.iter().enumerate() {
        c[crow(r)..crow(r) + W].copy_from_slice(row);
    }
}

/// Below this many multiply-adds, [`matmul`] uses the kernels above even for a transposed
/// operand (copying it); above, `ndarray`'s GEMM, whose packing pays off.
const SMALL_MACS: usize = 1 << 18;

/// `C = A · B` or `C += A · B` on ndarray views: the allocation-free kernels when all three
/// are contiguous row-major (or the product is small), else `ndarray`'s GEMM.
pub fn matmul<F: Float>(
    a: &ndarray::ArrayView2<'_, F>,
    b: &ndarray::ArrayView2<'_, F>,
    c: &mut ndarray::ArrayViewMut2<'_, F>,
    accumulate: bool,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if let (Some(asl), Some(bsl)) = (a.as_slice(), b.as_slice())
        && c.is_standard_layout()
        && let Some(csl) = c.as_slice_mut()
    {
        gemm(Mat::new(asl, m, k), Mat::new(bsl, k, n), csl, n, accumulate);
        return;
    }
    if m * k * n < SMALL_MACS
        && let Some(csl) = c.as_slice_mut()
    {
        let a = a.as_standard_layout();
        let b = b.as_standard_layout();
        if let (Some(asl), Some(bsl)) = (a.as_slice(), b.as_slice()) {
            gemm(Mat::new(asl, m, k), Mat::new(bsl, k, n), csl, n, accumulate);
            return;
        }
    }
    let beta = if accumulate { F::one() } else { F::zero() };
    ndarray::linalg::general_mat_mul(F::one(), a, b, beta, c);
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let tol = if F::BYTES == 4 { 1e-4 } else { 1e-12 };
        for (x, y) in c.iter().zip(want.iter()) {
            assert!((x.to_f64_lossless() - y.to_f64_lossless()).abs() < tol * (1.0 + k as f64), "{m}x{k}x{n}");
        }
    }

    #[test]
    fn matches_ndarray_for_awkward_shapes() {
        for &(m, k, n) in
            &[(1, 1, 1), (1, 32, 32), (3, 5, 7), (4, 128, 128), (5, 33, 65), (32, 128, 128), (2, 0, 3), (17, 64, 200)]
        {
            for acc in [false, true] {
                check::<f32>(m, k, n, acc);
                check::<f64>(m, k, n, acc);
            }
        }
    }

    #[test]
    fn large_products_split_across_threads_agree() {
        check::<f32>(64, 512, 512, true);
        check::<f64>(16, 1024, 1024, false);
    }
}
