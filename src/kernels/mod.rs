//! The small matrix product at the heart of the recurrence, without allocation or per-call
//! overhead: `C (+)= A · B` with all three row-major, register-blocked, compiled for AVX-512 or
//! AVX2+FMA when the CPU has them (detected once at run time), and split across the thread pool
//! by column blocks when the product is large enough to pay for it.
//!
//! `ndarray`'s GEMM (`matrixmultiply`) packs its operands into a freshly allocated buffer on every
//! call; that is right for the big once-per-sequence products but costs more than the work itself
//! for a `[B, H] x [H, H]` step at small `H`, and allocates inside the per-step loop.

use std::sync::OnceLock;

mod goto;
mod transpose;

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

/// Unit tests run every path on one machine: an ISA other than the detected one (only ever
/// a subset of it) can be forced.
#[cfg(test)]
static FORCED_ISA: std::sync::Mutex<Option<Isa>> = std::sync::Mutex::new(None);

fn isa() -> Isa {
    #[cfg(test)]
    if let Some(forced) = *FORCED_ISA.lock().unwrap_or_else(|e| e.into_inner()) {
        return forced;
    }
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

/// A matrix view over a slice: element `(r, c)` at `data[r * ld + c]`, or with `trans` (the
/// transpose of a row-major array, as `dAᵀ` in a weight gradient) at `data[c * ld + r]`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a, F> {
    /// The elements.
    pub data: &'a [F],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows (`>= cols`), or between columns with `trans` (`>= rows`).
    pub ld: usize,
    /// Stored column by column (see above).
    pub trans: bool,
}

impl<'a, F> Mat<'a, F> {
    /// A contiguous row-major `rows × cols` matrix.
    pub fn new(data: &'a [F], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, ld: cols, trans: false }
    }

    /// The `rows × cols` transpose of a contiguous row-major `cols × rows` array.
    pub fn transposed(data: &'a [F], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, ld: rows, trans: true }
    }

    /// Index of element `(r, c)` in `data`, whichever the layout.
    fn at_dyn(&self, r: usize, c: usize) -> usize {
        if self.trans { c * self.ld + r } else { r * self.ld + c }
    }

    /// Index of element `(r, c)` in `data`.
    #[inline(always)]
    fn at<const T: bool>(&self, r: usize, c: usize) -> usize {
        if T { c * self.ld + r } else { r * self.ld + c }
    }
}

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

/// Applies `post` to columns `j0..j1` of the `m` rows of C.
fn finish<F>(c: &mut [F], m: usize, ldc: usize, j0: usize, j1: usize, post: Epilogue<'_, F>) {
    if let Some(post) = post {
        for r in 0..m {
            post(&mut c[r * ldc + j0..r * ldc + j1], j0);
        }
    }
}

/// Checks A and C for an `[a.rows, a.cols] x [a.cols, n]` product and settles the ones with
/// nothing to multiply (no rows or columns; or `k = 0`: C zeroed unless accumulating, then
/// `post`). Returns whether there is work left.
fn prepare<F: Float>(
    a: Mat<'_, F>,
    n: usize,
    c: &mut [F],
    ldc: usize,
    accumulate: bool,
    post: Epilogue<'_, F>,
) -> bool {
    let (m, k) = (a.rows, a.cols);
    assert!(m == 0 || c.len() >= (m - 1) * ldc + n, "C too small");
    let a_len = if a.trans { (k.max(1) - 1) * a.ld + m } else { (m.max(1) - 1) * a.ld + k };
    assert!(m == 0 || k == 0 || a.data.len() >= a_len, "A too small");
    if m == 0 || n == 0 {
        return false;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..r * ldc + n].fill(F::zero());
            }
        }
        finish(c, m, ldc, 0, n, post);
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
    if !prepare(a, n, c, ldc, accumulate, post) {
        return;
    }
    let large = m * n * k >= PARALLEL_MIN_MACS;
    let threads = crate::pool::threads();
    if large && threads > 1 && n.div_ceil(PANEL) < threads && m >= 64 * threads {
        // too few columns to share (a head with one output, an input gradient of 32
        // features): share the rows instead
        let per = m.div_ceil(threads);
        let (c_ptr, c_len) = (SendPtr(c.as_mut_ptr()), c.len());
        crate::pool::run(&|part| {
            let (r0, r1) = ((part * per).min(m), ((part + 1) * per).min(m));
            if r0 < r1 {
                let a_off = if a.trans { r0 } else { r0 * a.ld };
                let a_part = Mat { data: &a.data[a_off..], rows: r1 - r0, ..a };
                // SAFETY: every part writes only rows r0..r1 of C, disjoint from the other
                // parts' rows; C outlives `run`, which waits for every part.
                let c = unsafe { std::slice::from_raw_parts_mut(c_ptr.get(), c_len) };
                let c = &mut c[r0 * ldc..];
                run(a_part, b, c, ldc, accumulate, 0, n);
                finish(c, r1 - r0, ldc, 0, n, post);
            }
        });
        return;
    }
    over_columns(c, n, large, |c, j0, j1| {
        run(a, b, c, ldc, accumulate, j0, j1);
        finish(c, m, ldc, j0, j1, post);
    });
}

/// Calls `f(c, j0, j1)` on column ranges of C that together cover `0..n`: one range per pool
/// thread when `large` (blocks of [`PANEL`] columns, so the kernels' panels stay whole), else `0..n`
/// on the calling thread.
fn over_columns<F: Float>(c: &mut [F], n: usize, large: bool, f: impl Fn(&mut [F], usize, usize) + Sync) {
    let threads = crate::pool::threads();
    let blocks = n.div_ceil(PANEL);
    if threads < 2 || !large || blocks < threads {
        f(c, 0, n);
        return;
    }
    let per = blocks.div_ceil(threads) * PANEL;
    let c_ptr = SendPtr(c.as_mut_ptr());
    let c_len = c.len();
    crate::pool::run(&|part| {
        let (j0, j1) = ((part * per).min(n), ((part + 1) * per).min(n));
        if j0 < j1 {
            // SAFETY: every part writes only columns j0..j1 of C's rows, disjoint from the
            // other parts' columns; C outlives `run`, which waits for every part.
            let c = unsafe { std::slice::from_raw_parts_mut(c_ptr.get(), c_len) };
            f(c, j0, j1);
        }
    });
}

/// Columns per panel of a [`Packed`] matrix, and the unit in which column ranges are split
/// across threads: a `KC × 32` f32 block of B is 32 KB and stays in L1 while the row blocks of A
/// run over it.
pub const PANEL: usize = 32;

/// A `[k, n]` right-hand operand packed into panels of [`PANEL`] columns, each stored
/// contiguously (row-major `[k, width]`, 64-byte aligned): a step's product then streams each
/// panel sequentially instead of striding through a wide matrix, which matters once `W_hh` no
/// longer fits in cache (H = 1024: 4 MB).
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
    data: &'a [F],
    k: usize,
    n: usize,
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

    /// The panel starting at column `j` (a multiple of [`PANEL`]) as a row-major matrix.
    fn panel(&self, j: usize) -> Mat<'_, F> {
        let w = PANEL.min(self.n - j);
        Mat::new(&self.data[j * self.k..j * self.k + self.k * w], self.k, w)
    }
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
    let threads = crate::pool::threads();
    if threads < 2 || k * n < 1 << 16 || panels < threads {
        pack_panels(b, 0, panels, out);
    } else {
        // each thread packs its share of the panels (disjoint stretches of `out`)
        let per = panels.div_ceil(threads);
        let (out_ptr, out_len) = (SendPtr(out.as_mut_ptr()), out.len());
        crate::pool::run(&|part| {
            let (q0, q1) = ((part * per).min(panels), ((part + 1) * per).min(panels));
            // SAFETY: part `part` writes only panels q0..q1, elements q0·PANEL·k up to
            // q1·PANEL·k (or the end), disjoint from the other parts'; `out` outlives `run`.
            let out = unsafe { std::slice::from_raw_parts_mut(out_ptr.get(), out_len) };
            pack_panels(b, q0, q1, out);
        });
    }
    PackedRef { data: out, k, n }
}

/// Packs panels `q0..q1` of `b` into `out` (see [`Packed::pack`]).
fn pack_panels<F: Float>(b: ndarray::ArrayView2<'_, F>, q0: usize, q1: usize, out: &mut [F]) {
    let (k, n) = b.dim();
    let bt = b.t();
    for j in (q0 * PANEL..(q1 * PANEL).min(n)).step_by(PANEL) {
        let w = PANEL.min(n - j);
        let panel = &mut out[j * k..j * k + k * w];
        if let Some(rows) = b.as_slice() {
            for (p, dst) in panel.chunks_exact_mut(w).enumerate() {
                dst.copy_from_slice(&rows[p * n + j..p * n + j + w]);
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
                        // bᵀ hold k ≥ p0 + 16 elements from p0; the panel holds k rows of
                        // PANEL = 32.
                        unsafe {
                            transpose::transpose16(src.add((j + half) * k + p0), k, dst.add(p0 * PANEL + half), PANEL)
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
                for (p, dst) in panel[p0 * w..(p0 + depth) * w].chunks_exact_mut(w).enumerate() {
                    for (q, d) in dst.iter_mut().enumerate() {
                        *d = block[q][p];
                    }
                }
            }
        } else {
            for q in 0..w {
                for (p, &v) in b.column(j + q).iter().enumerate() {
                    panel[p * w + q] = v;
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
    if !prepare(a, n, c, ldc, accumulate, post) {
        return;
    }
    over_columns(c, n, m * n * k >= PARALLEL_MIN_MACS, |c, j0, j1| {
        let full = j0 + (j1 - j0) / PANEL * PANEL;
        if goto::applies(m, full - j0) {
            goto::run(a, goto::BSource::Packed(b), c, ldc, accumulate, j0, full);
        } else {
            for j in (j0..full).step_by(PANEL) {
                let panel = b.panel(j);
                run_small(a, panel, &mut c[j..], ldc, accumulate, 0, PANEL);
            }
        }
        if full < j1 {
            // the last, narrower panel
            let panel = b.panel(full);
            run_small(a, panel, &mut c[full..], ldc, accumulate, 0, panel.cols);
        }
        finish(c, m, ldc, j0, j1, post);
    });
}

/// Whether `[m, k] x [k, n]` products run on the packed path, so that a right-hand operand
/// used for many of them (`W_hh` across the steps) is best [`Packed`] once beforehand.
pub fn packed_path<F: Float>(m: usize, k: usize, n: usize) -> bool {
    goto::applies(m, n / PANEL * PANEL) && m * k * n >= goto::MIN_MACS
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

/// Depth of one pass over the inner dimension: a `KC × 64` panel of B (64 KB in f32) stays in
/// L2 while every row block of A runs over it, and the accumulators go back to C between passes.
const KC: usize = 256;

/// Columns `j0..j1` of `C (+)= A · B` on the calling thread: the packed (Goto) path for
/// whole panels when the product is big enough, the direct kernels for the rest.
fn run<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j0: usize, j1: usize) {
    let full = j0 + (j1 - j0) / PANEL * PANEL;
    if packed_path::<F>(a.rows, a.cols, full - j0) {
        goto::run(a, goto::BSource::Plain(b), c, ldc, acc, j0, full);
        if full < j1 {
            run_small(a, b, c, ldc, acc, full, j1);
        }
    } else {
        run_small(a, b, c, ldc, acc, j0, j1);
    }
}

/// [`run`] by the direct kernels: B read in place, k in passes of [`KC`].
fn run_small<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j0: usize, j1: usize) {
    let k = a.cols;
    if k <= 2 * KC {
        return run_depth(a, b, c, ldc, acc, j0, j1);
    }
    for p0 in (0..k).step_by(KC) {
        let p1 = (p0 + KC).min(k);
        let a_off = if a.trans { p0 * a.ld } else { p0 };
        let a_part = Mat { data: &a.data[a_off..], rows: a.rows, cols: p1 - p0, ld: a.ld, trans: a.trans };
        let b_part = Mat { data: &b.data[p0 * b.ld..], rows: p1 - p0, cols: b.cols, ld: b.ld, trans: false };
        run_depth(a_part, b_part, c, ldc, acc || p0 > 0, j0, j1);
    }
}

fn run_depth<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j0: usize, j1: usize) {
    match isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU was checked for these features.
        Isa::Avx512 => unsafe { run_avx512(a, b, c, ldc, acc, j0, j1) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU was checked for these features.
        Isa::Avx2 => unsafe { run_avx2(a, b, c, ldc, acc, j0, j1) },
        _ if a.trans => blocked::<F, 4, 16, true>(a, b, c, ldc, acc, j0, j1),
        _ => blocked::<F, 4, 16, false>(a, b, c, ldc, acc, j0, j1),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j0: usize, j1: usize) {
    if a.trans {
        blocked::<F, 4, 64, true>(a, b, c, ldc, acc, j0, j1)
    } else {
        blocked::<F, 4, 64, false>(a, b, c, ldc, acc, j0, j1)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j0: usize, j1: usize) {
    if a.trans {
        blocked::<F, 4, 16, true>(a, b, c, ldc, acc, j0, j1)
    } else {
        blocked::<F, 4, 16, false>(a, b, c, ldc, acc, j0, j1)
    }
}

/// Columns `j0..j1` of `C (+)= A · B`: panels of `NR` columns (a panel of B that stays in
/// cache), then narrower panels of 16 and 8 for what is left, then single columns; within a
/// panel, blocks of `MR` rows of A, each an `MR × width` tile of accumulators held in registers
/// while `k` runs.
#[inline(always)]
fn blocked<F: Float, const MR: usize, const NR: usize, const TA: bool>(
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
        panel::<F, MR, NR, TA>(a, b, c, ldc, acc, j);
        j += NR;
    }
    while j + 16 <= j1 {
        panel::<F, MR, 16, TA>(a, b, c, ldc, acc, j);
        j += 16;
    }
    while j + 8 <= j1 {
        panel::<F, MR, 8, TA>(a, b, c, ldc, acc, j);
        j += 8;
    }
    while j < j1 {
        if b.ld == 1 && !TA {
            // B is a single column stored contiguously: dot products of A's rows with it
            column_dots(a, b, c, ldc, acc, j);
        } else {
            panel::<F, MR, 1, TA>(a, b, c, ldc, acc, j);
        }
        j += 1;
    }
}

/// Column `j` of C when B's column is contiguous (`b.ld == 1`, so B has one column): one dot
/// product per row of A, in 16 independent lanes.
#[inline(always)]
fn column_dots<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut [F], ldc: usize, acc: bool, j: usize) {
    const L: usize = 16;
    let k = a.cols;
    let col = &b.data[j..j + k];
    for i in 0..a.rows {
        let row = &a.data[i * a.ld..i * a.ld + k];
        let mut lanes = [F::zero(); L];
        let mut rc = row.chunks_exact(L);
        let mut cc = col.chunks_exact(L);
        for (r, q) in (&mut rc).zip(&mut cc) {
            for v in 0..L {
                lanes[v] = r[v].mul_add(q[v], lanes[v]);
            }
        }
        let mut sum = lanes.iter().fold(F::zero(), |s, &x| s + x);
        for (&r, &q) in rc.remainder().iter().zip(cc.remainder()) {
            sum = r.mul_add(q, sum);
        }
        let out = &mut c[i * ldc + j];
        *out = if acc { *out + sum } else { sum };
    }
}

/// All rows of A against the `W` columns of B starting at `j`.
#[inline(always)]
fn panel<F: Float, const MR: usize, const W: usize, const TA: bool>(
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
        tile::<F, MR, W, TA>(a, b, c, ldc, acc, i, j);
        i += MR;
    }
    while i < m {
        tile::<F, 1, W, TA>(a, b, c, ldc, acc, i, j);
        i += 1;
    }
}

/// One `R × W` tile of C at row `i`, column `j`.
#[inline(always)]
fn tile<F: Float, const R: usize, const W: usize, const TA: bool>(
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
    if R == 1 {
        // one row (a matrix-vector product): every accumulator gets one FMA per k, so the
        // FMA latency, not its throughput, would bound the loop; two sets (even and odd k)
        // double the independent chains
        let mut odd = [F::zero(); W];
        unsafe {
            let ap = a.data.as_ptr();
            let bp = b.data.as_ptr().add(j);
            let mut p = 0;
            while p + 1 < k {
                let b0 = &*(bp.add(p * b.ld) as *const [F; W]);
                let b1 = &*(bp.add((p + 1) * b.ld) as *const [F; W]);
                let (a0, a1) = (*ap.add(a.at::<TA>(i, p)), *ap.add(a.at::<TA>(i, p + 1)));
                for v in 0..W {
                    t[0][v] = a0.mul_add(b0[v], t[0][v]);
                    odd[v] = a1.mul_add(b1[v], odd[v]);
                }
                p += 2;
            }
            if p < k {
                let b0 = &*(bp.add(p * b.ld) as *const [F; W]);
                let a0 = *ap.add(a.at::<TA>(i, p));
                for v in 0..W {
                    t[0][v] = a0.mul_add(b0[v], t[0][v]);
                }
            }
        }
        for v in 0..W {
            t[0][v] += odd[v];
        }
        c[crow(0)..crow(0) + W].copy_from_slice(&t[0]);
        return;
    }
    unsafe {
        let ap = a.data.as_ptr();
        let bp = b.data.as_ptr().add(j);
        for p in 0..k {
            let brow = &*(bp.add(p * b.ld) as *const [F; W]);
            for (r, row) in t.iter_mut().enumerate() {
                let av = *ap.add(a.at::<TA>(i + r, p));
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

/// Writes `src` transposed into `dst` (row-major `[src.ncols(), src.nrows()]`), in 16 × 16
/// blocks so both sides stay in cache.
///
/// # Panics
/// When `dst` is shorter than `src`.
pub fn transpose_into<F: Float>(src: ndarray::ArrayView2<'_, F>, dst: &mut [F]) {
    const BLOCK: usize = 16;
    let (rows, cols) = src.dim();
    assert!(dst.len() >= rows * cols, "transpose destination too small");
    let Some(s) = src.as_slice() else {
        for ((r, c), &v) in src.indexed_iter() {
            dst[c * rows + r] = v;
        }
        return;
    };
    for r0 in (0..rows).step_by(BLOCK) {
        let r1 = (r0 + BLOCK).min(rows);
        for c0 in (0..cols).step_by(BLOCK) {
            let c1 = (c0 + BLOCK).min(cols);
            for c in c0..c1 {
                let out = &mut dst[c * rows + r0..c * rows + r1];
                for (o, r) in out.iter_mut().zip(r0..r1) {
                    *o = s[r * cols + c];
                }
            }
        }
    }
}

/// A buffer whose data starts on a 64-byte boundary: a 512-bit load of a row of B then never
/// straddles two cache lines (measured: a streaming step at H = 128 took 0.85 or 1.25 µs
/// depending on where the allocator happened to place the weights).
#[derive(Clone, Debug)]
pub struct Aligned<F> {
    buf: Vec<F>,
    start: usize,
    len: usize,
}

impl<F: Float> Aligned<F> {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        let size = std::mem::size_of::<F>();
        let buf = vec![F::zero(); len + 64 / size];
        let misalign = buf.as_ptr() as usize % 64;
        let start = if misalign == 0 { 0 } else { (64 - misalign) / size };
        Aligned { buf, start, len }
    }
    /// The data.
    pub fn as_slice(&self) -> &[F] {
        &self.buf[self.start..self.start + self.len]
    }
    /// The data, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [F] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

/// `src` transposed into a 64-byte-aligned row-major buffer (see [`transpose_into`]).
pub fn transposed_aligned<F: Float>(src: ndarray::ArrayView2<'_, F>) -> Aligned<F> {
    let mut out = Aligned::zeros(src.len());
    transpose_into(src, out.as_mut_slice());
    out
}

/// `src` transposed, row-major (see [`transpose_into`]).
pub fn transposed<F: Float>(src: ndarray::ArrayView2<'_, F>) -> ndarray::Array2<F> {
    let (rows, cols) = src.dim();
    let mut out = vec![F::zero(); rows * cols];
    transpose_into(src, &mut out);
    ndarray::Array2::from_shape_vec((cols, rows), out).expect("rows * cols elements")
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

    #[test]
    fn packed_products_agree() {
        for &(m, k, n) in &[(1, 3, 5), (4, 70, 130), (16, 256, 200), (64, 512, 512)] {
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

    #[test]
    fn packed_path_agrees() {
        packed_path_shapes();
    }

    /// The same products with the ISA forced down to what every x86-64 CPU with AVX2 or none
    /// runs (when this one has more). The other tests may run meanwhile on the forced path:
    /// every path computes the same products.
    #[test]
    fn every_isa_agrees() {
        let detected = isa();
        for forced in [Isa::Avx2, Isa::Portable] {
            if forced == Isa::Avx2 && detected == Isa::Portable {
                continue;
            }
            *FORCED_ISA.lock().unwrap() = Some(forced);
            let result = std::panic::catch_unwind(|| {
                packed_path_shapes();
                matches_ndarray_for_awkward_shapes();
            });
            *FORCED_ISA.lock().unwrap() = None;
            assert!(result.is_ok(), "{forced:?}");
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
