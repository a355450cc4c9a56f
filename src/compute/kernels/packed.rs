//! Right-hand operands packed into contiguous panels of [`PANEL`] columns ([`Packed`],
//! [`PackedRef`]), and the product that reads them ([`gemm_packed`]).

use std::sync::atomic::{AtomicBool, Ordering};

use super::direct::run_small;
use super::gemm::{Epilogue, finish, over_columns, prepare};
use super::gemv::gemv_packed;
use super::{Aligned, Float, Mat, MatMut, PARALLEL_MIN_MACS, goto};
#[cfg(target_arch = "x86_64")]
use super::{Isa, isa, transpose};
use crate::compute::pool;

/// Columns per panel of a [`Packed`] matrix, and the unit in which column ranges are split
/// across threads: a `KC × 32` f32 block of B is 32 KB and stays in L1 while the row blocks of A
/// run over it.
pub const PANEL: usize = 32;

/// Columns per sub-panel of a whole [`PANEL`]: a whole panel is stored as `PANEL / SUB`
/// row-major `[k, SUB]` blocks one after the other, so that a kernel reading 16 columns at a
/// time (AVX2's micro-kernel, 64 bytes of f32) streams contiguous rows instead of half of every
/// 128-byte row (which filled half of L1's sets and gave the hardware prefetcher a strided
/// stream); AVX-512's 32 columns read two such streams. The last, narrower panel of a matrix
/// stays one row-major `[k, w]` block. Measured against whole 128-byte rows (alternating runs,
/// AVX2, `examples/step_rate`): `[64, 512] x [512, 2048]` 70-76 -> 86-89 GFLOP/s on one
/// thread, 105-165 -> 174-181 on two; LSTM training at (512, 64, 64, 2) on 2 threads faster in
/// 5 of 6 rounds (median 108.8 -> 112.2 sequences/s), at (1024, 16, 32, 1) in 8 of 12, the
/// GRU's at (512, 64, 64, 2) in 4 of 5; the Elman layer's training and streaming step level
/// (streaming medians of 10 rounds 1.135 and 1.14 µs); AVX-512 level.
pub const SUB: usize = 16;

/// A `[k, n]` right-hand operand packed into panels of [`PANEL`] columns, each stored
/// contiguously (as [`SUB`]-column row-major sub-panels, 64-byte aligned): a step's product
/// then streams each panel sequentially instead of striding through a wide matrix, which
/// matters once `W_hh` no longer fits in cache (H = 1024: 4 MB).
#[derive(Clone, Debug)]
pub struct Packed<F> {
    data: Aligned<F>,
    k: usize,
    n: usize,
}

impl<F: Float> Packed<F> {
    /// Packs the logical `[k, n]` matrix `b` (any strides) into a buffer of its own (see
    /// [`pack_into`]).
    pub fn pack(b: ndarray::ArrayView2<'_, F>) -> Self {
        let (k, n) = b.dim();
        let mut data = Aligned::zeros(k * n);
        pack_into(b, data.as_mut_slice());
        Packed { data, k, n }
    }

    /// The packed matrix, for [`gemm_packed`].
    pub fn view(&self) -> PackedRef<'_, F> {
        PackedRef { data: self.data.as_slice(), k: self.k, n: self.n }
    }
}

/// A packed matrix (see [`Packed`]) in borrowed memory: [`pack_into`] lays one out in any buffer
/// of `k · n` elements, e.g. a gradient array that is not written until the products are done.
#[derive(Clone, Copy, Debug)]
pub struct PackedRef<'a, F> {
    pub(super) data: &'a [F],
    pub(super) k: usize,
    pub(super) n: usize,
}

impl<F: Float> PackedRef<'_, F> {
    /// Rows (`k`).
    pub fn rows(&self) -> usize {
        self.k
    }

    /// Columns (`n`).
    pub fn cols(&self) -> usize {
        self.n
    }

    /// The last, narrower panel (from column `j`, a multiple of [`PANEL`], to the end, fewer
    /// than [`PANEL`] columns) as a row-major matrix.
    fn last_panel(&self, j: usize) -> Mat<'_, F> {
        let w = self.n - j;
        debug_assert!(w < PANEL && j.is_multiple_of(PANEL));
        Mat::new(&self.data[j * self.k..j * self.k + self.k * w], self.k, w)
    }

    /// Columns `j..j + SUB` of a whole panel (`j` a multiple of [`SUB`] below the last whole
    /// panel's end) as a row-major `[k, SUB]` matrix.
    fn sub_panel(&self, j: usize) -> Mat<'_, F> {
        debug_assert!(j.is_multiple_of(SUB) && j + SUB <= self.n / PANEL * PANEL);
        Mat::new(&self.data[j * self.k..(j + SUB) * self.k], self.k, SUB)
    }

    /// Where element `(p, j)` of a whole panel lies from the panel's start (see
    /// [`in_whole_panel`]).
    pub(super) fn at(&self, p: usize, j: usize) -> usize {
        in_whole_panel(self.k, p, j)
    }
}

/// Where element `(p, j)` (`j < PANEL`) of a whole panel of `k` rows lies from the panel's
/// start: sub-panel `j / SUB` starts `j - j % SUB` columns of `k` rows into the panel.
fn in_whole_panel(k: usize, p: usize, j: usize) -> usize {
    (j - j % SUB) * k + p * SUB + j % SUB
}

/// Packs the logical `[k, n]` matrix `b` (any strides) into the first `k · n` elements of
/// `out`: row by row when its rows are contiguous, by 16 × 16 register transposes (or 32 × 32
/// blocks) when its columns are, as for `W_hhᵀ` viewed from the row-major `W_hh`; the panels
/// shared between the pool's threads when large.
///
/// # Panics
/// When `out` is shorter than `k · n`.
pub fn pack_into<'a, F: Float>(b: ndarray::ArrayView2<'_, F>, out: &'a mut [F]) -> PackedRef<'a, F> {
    let (k, n) = b.dim();
    let out = &mut out[..k * n];
    let panels = n.div_ceil(PANEL);
    let threads = pool::threads();
    if threads < 2 || k * n < 1 << 16 || panels < threads {
        pack_panels(b, 0, panels, out);
    } else {
        match pool::plan(k * n) {
            Some(job) if job.parallel() => {
                // each thread packs its share of the panels: its own stretch of `out`, seen as
                // the columns of a one-row matrix
                let per = panels.div_ceil(threads);
                let len = out.len();
                let parts = MatMut::new(&mut *out, 1, len, len).split(false, per * PANEL * k);
                job.run(&|part| {
                    if let Some(mut mine) = parts.part(part) {
                        let (e0, e1) = mine.col_range();
                        let q0 = part * per;
                        pack_panels(b, q0, (q0 + per).min(panels), mine.row(0, e0, e1 - e0));
                    }
                });
            }
            // inline: whole (held to the end of the arm, so that its time is booked)
            _job => pack_panels(b, 0, panels, out),
        }
    }
    PackedRef { data: out, k, n }
}

/// Packs panels `q0..q1` of `b` into `out`, which starts where panel `q0` goes (see
/// [`Packed::pack`]).
fn pack_panels<F: Float>(b: ndarray::ArrayView2<'_, F>, q0: usize, q1: usize, out: &mut [F]) {
    let (k, n) = b.dim();
    let bt = b.t();
    let base = q0 * PANEL * k;
    for j in (q0 * PANEL..(q1 * PANEL).min(n)).step_by(PANEL) {
        let w = PANEL.min(n - j);
        let panel = &mut out[j * k - base..j * k - base + k * w];
        if let Some(rows) = b.as_slice() {
            if w == PANEL {
                // a row of a sub-panel as a fixed-size copy, inline (a `memcpy` call per 128
                // bytes was 2% of an LSTM step at H = 1024, packing `W_hh` for the backward)
                for (s, sub) in panel.chunks_exact_mut(k * SUB).enumerate() {
                    for (p, dst) in sub.chunks_exact_mut(SUB).enumerate() {
                        let at = p * n + j + s * SUB;
                        let src: &[F; SUB] = rows[at..at + SUB].try_into().expect("a whole row");
                        dst.copy_from_slice(src);
                    }
                }
            } else {
                for (p, dst) in panel.chunks_exact_mut(w).enumerate() {
                    dst.copy_from_slice(&rows[p * n + j..p * n + j + w]);
                }
            }
        } else if let Some(cols) = bt.as_slice() {
            // column j + q of b is row j + q of bᵀ, contiguous
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if w == PANEL && std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>() && isa() == Isa::Avx512 {
                // 16 × 16 blocks in registers, two per 16 rows of the panel
                done = k / 16 * 16;
                let (src, dst) = (cols.as_ptr().cast::<f32>(), panel.as_mut_ptr().cast::<f32>());
                for p0 in (0..done).step_by(16) {
                    for half in [0, 16] {
                        // SAFETY: F is f32 and the CPU has AVX-512F; rows j + half .. + 16 of
                        // bᵀ hold k ≥ p0 + 16 elements from p0; the panel holds two
                        // sub-panels of k rows of SUB = 16, the one from `half * k`.
                        unsafe {
                            transpose::transpose16(src.add((j + half) * k + p0), k, dst.add(half * k + p0 * SUB), SUB)
                        };
                    }
                }
            }
            // the rest (or everything, elsewhere): 32 × 32 blocks through a block on the stack
            // (fixed sizes, so both loops run without bounds checks)
            let mut block = [[F::zero(); PANEL]; PANEL];
            for p0 in (done..k).step_by(PANEL) {
                let depth = PANEL.min(k - p0);
                for (q, row) in block.iter_mut().enumerate().take(w) {
                    row[..depth].copy_from_slice(&cols[(j + q) * k + p0..(j + q) * k + p0 + depth]);
                }
                if w == PANEL {
                    for (s, sub) in panel.chunks_exact_mut(k * SUB).enumerate() {
                        for (p, dst) in sub[p0 * SUB..(p0 + depth) * SUB].chunks_exact_mut(SUB).enumerate() {
                            for (q, d) in dst.iter_mut().enumerate() {
                                *d = block[s * SUB + q][p];
                            }
                        }
                    }
                } else {
                    for (p, dst) in panel[p0 * w..(p0 + depth) * w].chunks_exact_mut(w).enumerate() {
                        for (q, d) in dst.iter_mut().enumerate() {
                            *d = block[q][p];
                        }
                    }
                }
            }
        } else {
            for q in 0..w {
                // a whole panel's column q lies in sub-panel q / SUB; a narrower one is row-major
                let (start, stride) = if w == PANEL { (in_whole_panel(k, 0, q), SUB) } else { (q, w) };
                for (p, &v) in b.column(j + q).iter().enumerate() {
                    panel[start + p * stride] = v;
                }
            }
        }
    }
}

/// `C (+)= A · B` with B packed ([`Packed::view`], [`pack_into`]), then `post` (see
/// [`Epilogue`]); panels split across the pool when large.
///
/// # Panics
/// When the shapes or slice lengths disagree.
pub fn gemm_packed<F: Float>(
    a: Mat<'_, F>,
    b: PackedRef<'_, F>,
    c: &mut [F],
    ldc: usize,
    accumulate: bool,
    post: Epilogue<'_, F>,
) {
    let (m, k, n) = (a.rows, a.cols, b.n);
    assert_eq!(b.k, k, "inner dimensions");
    let mut c = MatMut::new(c, m, n, ldc);
    if !prepare(a, &mut c, accumulate, post) {
        return;
    }
    let large = m * n * k >= PARALLEL_MIN_MACS;
    if m == 1 && !a.trans && !large {
        // one row (a streaming step): the vector-matrix kernel
        gemv_packed(&a.data[..k], b, c.row(0, 0, n), accumulate);
        finish(&mut c, 0, n, post);
        return;
    }
    // every other product sweeps B's panels from the last (see `goto::whole_a`): the same
    // results, read in the order that finds the most of B still in cache
    let reverse = SWEEP.fetch_xor(true, Ordering::Relaxed);
    over_columns(c, large, m * n * k, |c, j0, j1| {
        let full = j0 + (j1 - j0) / PANEL * PANEL;
        if goto::applies(m, full - j0) {
            goto::run(a, goto::BSource::Packed(b), c, accumulate, (j0, full), reverse);
        } else {
            for j in (j0..full).step_by(SUB) {
                run_small(a, b.sub_panel(j), &mut c.columns(j, SUB), accumulate, 0, SUB);
            }
        }
        if full < j1 {
            // the last, narrower panel
            let panel = b.last_panel(full);
            run_small(a, panel, &mut c.columns(full, j1 - full), accumulate, 0, panel.cols);
        }
        finish(c, j0, j1, post);
    });
}

/// Flipped by every [`gemm_packed`] that may take the packed path: which way it sweeps B.
static SWEEP: AtomicBool = AtomicBool::new(false);

/// Whether `[m, k] x [k, n]` products run on the packed path, so that a right-hand operand
/// used for many of them (`W_hh` across the steps) is best [`Packed`] once beforehand.
pub fn packed_path<F: Float>(m: usize, k: usize, n: usize) -> bool {
    goto::applies(m, n / PANEL * PANEL) && m * k * n >= goto::MIN_MACS
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn packed_products_agree() {
        for &(m, k, n) in &[(1, 3, 5), (4, 70, 130), (16, 256, 200), (64, 512, 512), (96, 300, 130)] {
            let a = Array2::<f64>::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 * 0.1 - 0.5);
            let b = Array2::<f64>::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 13) % 17) as f64 * 0.05 - 0.4);
            let packed = Packed::pack(b.view());
            let mut c = Array2::<f64>::ones((m, n));
            gemm_packed(Mat::new(a.as_slice().unwrap(), m, k), packed.view(), c.as_slice_mut().unwrap(), n, true, None);
            let want = a.dot(&b) + 1.0;
            assert!(c.iter().zip(want.iter()).all(|(x, y)| (x - y).abs() < 1e-9), "{m}x{k}x{n}");
            // and B given as a transposed view (W_hhᵀ from W_hh)
            let bt = b.t().as_standard_layout().into_owned();
            let packed = Packed::pack(bt.t());
            let mut c = Array2::<f64>::zeros((m, n));
            gemm_packed(
                Mat::new(a.as_slice().unwrap(), m, k),
                packed.view(),
                c.as_slice_mut().unwrap(),
                n,
                false,
                None,
            );
            assert!(c.iter().zip(a.dot(&b).iter()).all(|(x, y)| (x - y).abs() < 1e-9));
        }
    }

    /// At most 64 rows of A on a packed B (`goto::whole_a`: A packed whole, each panel read
    /// through, every other call from the last panel) give the plain path's results bit for
    /// bit, both ways round, with one pass of depth or several, A packed or read in place.
    #[test]
    fn few_rows_on_packed_b_sweep_either_way_to_the_same_bits() {
        fn check<F: Float + std::fmt::Debug>(m: usize, k: usize, n: usize) {
            let a = Array2::<F>::from_shape_fn((m, k), |(i, j)| {
                F::from(((i * 7 + j * 3) % 11) as f64 * 0.1 - 0.5).unwrap()
            });
            let b = Array2::<F>::from_shape_fn((k, n), |(i, j)| {
                F::from(((i * 5 + j * 13) % 17) as f64 * 0.05 - 0.4).unwrap()
            });
            let c0 = Array2::<F>::from_shape_fn((m, n), |(i, j)| F::from((i + 2 * j) as f64 * 0.01).unwrap());
            let lhs = Mat::new(a.as_slice().unwrap(), m, k);
            let mut want = c0.clone();
            crate::kernels::gemm(lhs, Mat::new(b.as_slice().unwrap(), k, n), want.as_slice_mut().unwrap(), n, true);
            let packed = Packed::pack(b.view());
            let full = n / PANEL * PANEL;
            for reverse in [false, true] {
                let mut c = c0.clone();
                if goto::applies(m, full) {
                    let mut view = MatMut::new(c.as_slice_mut().unwrap(), m, n, n);
                    goto::run(lhs, goto::BSource::Packed(packed.view()), &mut view, true, (0, full), reverse);
                    let got = c.slice(ndarray::s![.., ..full]);
                    assert_eq!(got, want.slice(ndarray::s![.., ..full]), "{m}x{k}x{n}, reverse {reverse}");
                }
            }
            let mut c = c0.clone();
            gemm_packed(lhs, packed.view(), c.as_slice_mut().unwrap(), n, true, None);
            assert_eq!(c, want, "{m}x{k}x{n}");
            let exact = a.mapv(|v| v.to_f64().unwrap()).dot(&b.mapv(|v| v.to_f64().unwrap()));
            let err = want
                .iter()
                .zip(&c0)
                .zip(&exact)
                .map(|((w, c), e)| (w.to_f64().unwrap() - c.to_f64().unwrap() - e).abs());
            assert!(err.fold(0.0, f64::max) < 1e-3, "{m}x{k}x{n} against f64");
        }
        for (m, k, n) in [
            (8, 300, 600),
            (12, 1041, 160),
            (16, 256, 4096),
            (13, 700, 96),
            (16, 2304, 288),
            (64, 512, 1040),
            (37, 900, 320),
            // B past `goto::FAR_FROM` (4 MB of f32): the rows 128 ahead fetched too
            (16, 1024, 1088),
            (5, 1100, 1024),
        ] {
            check::<f32>(m, k, n);
            check::<f64>(m, k, n);
        }
    }

    /// The layout the kernels read: a whole panel as two row-major `[k, SUB]` sub-panels one
    /// after the other, the last, narrower panel row-major `[k, w]`, panels in column order.
    #[test]
    fn panels_are_laid_out_as_documented() {
        let (k, n) = (3, 2 * PANEL + 5);
        let b = Array2::<f32>::from_shape_fn((k, n), |(p, j)| (p * 1000 + j) as f32);
        let packed = Packed::pack(b.view());
        let view = packed.view();
        let data = packed.data.as_slice();
        for p in 0..k {
            for j in 0..n {
                let (panel, q) = (j / PANEL * PANEL, j % PANEL);
                let at = if panel + PANEL <= n { panel * k + view.at(p, q) } else { panel * k + p * (n - panel) + q };
                assert_eq!(data[at], b[(p, j)], "({p}, {j})");
            }
        }
        assert_eq!(view.at(2, SUB + 1), SUB * k + 2 * SUB + 1);
    }

    /// Packing `W_hhᵀ` from `W_hh` (the 16 × 16 register transposes, then the blocks left
    /// over in depth and width) gives the same panels as packing a row-major copy.
    #[test]
    fn packing_a_transposed_view_agrees() {
        for &(k, n) in &[(16, 32), (40, 70), (100, 64), (7, 33), (1024, 96)] {
            let w = Array2::<f32>::from_shape_fn((n, k), |(i, j)| (i * 1000 + j) as f32);
            let want = Packed::pack(w.t().as_standard_layout().view());
            let got = Packed::pack(w.t());
            assert_eq!(got.data.as_slice(), want.data.as_slice(), "{k}x{n}");
            // and into a borrowed buffer longer than needed
            let mut buf = vec![-1.0f32; k * n + 5];
            assert_eq!(pack_into(w.t(), &mut buf).data, want.data.as_slice(), "{k}x{n} into");
        }
    }
}
