//! The packed path for products big enough to pay for copying their operands (Goto and van de
//! Geijn's layout, as in BLIS): k runs in passes of [`KC`]; per pass the thread's columns of B
//! are copied into `KC × PANEL` blocks, each laid out as `PANEL / NR` contiguous `KC × NR`
//! micro-panels (unless B is pre-packed, a [`Packed`](super::Packed), as `W_hh` is for the
//! per-step products; its [`SUB`]-column sub-panels are read where they lie) and A into `MC × KC`
//! blocks laid out micro-panel by micro-panel (`k`-major, `R` rows at a time). The
//! micro-kernel then keeps an `MR × NR` tile of C in registers and reads both operands
//! sequentially: one block of B stays in L1 while every row block of A passes over it, the
//! block of A stays in L2.
//!
//! Packing A also removes a cache pathology of the direct kernels: the rows of `[batch, H]` at
//! `H = 1024` are 4 KB apart, so the broadcasts of a 12-row tile all land in one L1 set.
//!
//! Three details decide the rate on AVX2 (Zen 4, one thread, `[1024, 1024] x [1024, 1024]`:
//! 15% of the samples were C's stores, 7% the copy of A, and the kernel's loads took their
//! strides from registers): the kernel fetches its tile of C at its start, the packed A's
//! strides are constants, and A is copied with contiguous stores. Together, six alternating
//! rounds: median 69.2 -> 83.2 GFLOP/s (matrixmultiply's AVX2 kernel 80.7); LSTM training at
//! (512, 64, 64, 2) on 2 threads, eight rounds: median 83.3 -> 99.7 sequences/s.

use std::cell::RefCell;

use super::{Isa, KC, Mat, MatMut, PANEL, PackedRef, SUB, isa};
use crate::Float;

/// Rows of A packed per block (a multiple of every micro-kernel height): 144 × 256 × 4 B =
/// 144 KB of L2.
const MC: usize = 144;

/// Below this many multiply-adds the direct kernels are faster (no copy to amortise).
pub(super) const MIN_MACS: usize = 1 << 16;

/// Where the pass reads B from.
#[derive(Clone, Copy)]
pub(super) enum BSource<'a, 'b, F> {
    /// A row-major matrix, copied block by block.
    Plain(Mat<'a, F>),
    /// Already in panels of [`PANEL`] columns.
    Packed(PackedRef<'b, F>),
}

/// Whether the packed path runs a product with `m` rows over `cols` whole-panel columns.
pub(super) fn applies(m: usize, cols: usize) -> bool {
    m >= 8 && cols >= PANEL && matches!(isa(), Isa::Avx512 | Isa::Avx2)
}

/// Columns `j0..j1` (whole panels, `j0` a multiple of [`PANEL`] for a packed B) of
/// `C (+)= A · B`.
pub(super) fn run<F: Float>(
    a: Mat<'_, F>,
    b: BSource<'_, '_, F>,
    c: &mut MatMut<'_, F>,
    acc: bool,
    (j0, j1): (usize, usize),
    reverse: bool,
) {
    // the micro-kernels read whole panels of B: checked in every build
    assert!((j1 - j0).is_multiple_of(PANEL), "whole panels");
    let b_len = if matches!(b, BSource::Plain(_)) { KC * (j1 - j0) } else { 0 };
    // the kernels get the scratch as an argument: a closure would not inherit their target
    // features, and its floating-point work would not be vectorised
    with_scratch::<F, _>(MC * KC + b_len, |scratch| {
        let job = Job { a, b, c: c.reborrow(), acc, j0, j1, reverse, scratch };
        match isa() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU was checked for these features.
            Isa::Avx512 => unsafe {
                if size_of::<F>() == 4 { avx512::<F, 12, 32>(job) } else { avx512::<F, 12, 16>(job) }
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU was checked for these features.
            Isa::Avx2 => unsafe { if size_of::<F>() == 4 { avx2::<F, 16>(job) } else { avx2::<F, 8>(job) } },
            _ => unreachable!("the packed path runs only where `applies` said so"),
        }
    })
}

/// One call's product: columns `j0..j1` of `C (+)= A · B`, with this thread's scratch.
struct Job<'a, 'b, 'c, F> {
    a: Mat<'a, F>,
    b: BSource<'a, 'b, F>,
    c: MatMut<'c, F>,
    acc: bool,
    j0: usize,
    j1: usize,
    /// Sweep a packed B's panels from the last (see [`whole_a`]).
    reverse: bool,
    scratch: &'c mut [F],
}

/// AVX-512: a 12 × 2-vector tile, 24 of the 32 registers as accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512<F: Float, const MR: usize, const NR: usize>(job: Job<'_, '_, '_, F>) {
    passes::<F, MR, NR, true>(job)
}

/// AVX2: a 6 × 2-vector tile, 12 of the 16 registers as accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<F: Float, const NR: usize>(job: Job<'_, '_, '_, F>) {
    passes::<F, 6, NR, false>(job)
}

/// A 64-byte line of scratch (the packed blocks start on a cache line).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

thread_local! {
    /// Each thread's packing buffer, grown to the largest product it has run and then reused:
    /// after the first step nothing is allocated.
    static SCRATCH: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `len` elements of this thread's scratch (uninitialised contents).
fn with_scratch<F: Float, R>(len: usize, f: impl FnOnce(&mut [F]) -> R) -> R {
    let lines = (len * size_of::<F>()).div_ceil(64);
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < lines {
                buf.resize(lines, Line([0; 64]));
            }
            // SAFETY: the buffer holds at least `len` elements of F (plain floats, any bit
            // pattern valid; the lines were zeroed on growth) and is 64-byte aligned.
            let s = unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<F>(), len) };
            f(s)
        }
        // re-entered (never, in this crate): a private buffer
        Err(_) => f(&mut vec![F::zero(); len]),
    })
}

#[inline(always)]
fn passes<F: Float, const MR: usize, const NR: usize, const Z: bool>(job: Job<'_, '_, '_, F>) {
    let Job { a, b, mut c, acc, j0, j1, reverse, scratch } = job;
    let ldc = c.ld();
    let (m, k) = (a.rows, a.cols);
    let cols = j1 - j0;
    let (a_buf, b_buf) = scratch.split_at_mut(MC * KC);
    if let BSource::Packed(p) = b
        && m <= 64
        && m * k <= MC * KC
    {
        return whole_a::<F, MR, NR, Z>(a, p, c, acc, (j0, j1), reverse, a_buf);
    }
    for p0 in (0..k).step_by(KC) {
        let kc = KC.min(k - p0);
        let acc = acc || p0 > 0;
        // this pass's B: a block of kc rows per panel, `b_stride` apart; within it the `NR`
        // columns from `s` start at `b_at(s)`, their rows `b_rs` apart and each row's columns
        // from SUB on `b_half` after its first
        let (b_ptr, b_stride, b_rs, b_half) = match b {
            BSource::Plain(b) => {
                pack_b::<F, NR>(b, p0, kc, j0, j1, b_buf);
                (b_buf.as_ptr(), kc * PANEL, NR, SUB)
            }
            BSource::Packed(p) => (p.data[j0 * k..].as_ptr(), k * PANEL, SUB, k * SUB),
        };
        let b_at = |s: usize| match b {
            BSource::Plain(_) => s * kc,
            BSource::Packed(p) => p.at(p0, s),
        };
        let prefetch = fetch_ahead::<F>(m, k, cols);
        for i0 in (0..m).step_by(MC) {
            let mc = MC.min(m - i0);
            let a_src = a_source::<F, MR>(a, (i0, mc), (p0, kc), cols, a_buf);
            for q in 0..cols / PANEL {
                for s in (0..PANEL).step_by(NR) {
                    let cq = c.block_ptr(i0, mc, j0 + q * PANEL + s, NR);
                    // SAFETY: block q of B holds kc rows of PANEL at `b_stride * q`, its
                    // columns s..s + NR at `b_at(s)`, rows `b_rs` apart and columns from SUB
                    // `b_half` further; the packed A holds mc rows of kc; `cq` starts the
                    // mc × NR block of this view's C, rows `ldc` apart (checked by
                    // `block_ptr`), which nothing else touches while `c` is borrowed here.
                    unsafe {
                        let bq = (b_ptr.add(q * b_stride + b_at(s)), b_rs, b_half);
                        row_blocks::<F, MR, NR, Z>(mc, kc, a_src, bq, cq, ldc, acc, prefetch);
                    }
                }
            }
        }
    }
}

/// Rows `i0..i0 + mc`, depth `p0..p0 + kc` of A where the micro-kernels read them: packed
/// into `buf` (see [`pack_a`]) or, for a thread's few columns, where they lie.
#[inline(always)]
fn a_source<F: Float, const MR: usize>(
    a: Mat<'_, F>,
    (i0, mc): (usize, usize),
    (p0, kc): (usize, usize),
    cols: usize,
    buf: &mut [F],
) -> ASrc<F> {
    if cols > PACK_A_FROM_COLS || (!a.trans && a.ld * size_of::<F>() > 2048) {
        pack_a::<F, MR>(a, i0, mc, p0, kc, buf);
        ASrc::Packed(buf.as_ptr())
    } else {
        let (rs, ps) = if a.trans { (1, a.ld) } else { (a.ld, 1) };
        ASrc::InPlace { base: a.data[a.at_dyn(i0, p0)..].as_ptr(), rs, ps }
    }
}

/// [`passes`] for a packed B and at most 64 rows of A (a step's `h W_hhᵀ`): B then streams
/// from beyond L2 at every step, and the order it is read in decides what the caches still
/// hold. A is packed whole (every pass of `KC`; `m × k` fits the block), and then each panel of
/// B is read from its first row to its last before the next panel, the panels in order or, with
/// `reverse`, from the last: the callers alternate, so a step starts on the panels the step
/// before read last, still in L2 or L3 when B is larger (an LSTM's `W_hh` at H = 1024 is 16 MB,
/// past the L3 a shared machine leaves; at H = 512 each thread's 2 MB is twice its L2).
/// Measured in LSTM training on 2 threads (AVX2, alternating runs): (1024, 16, 32, 1) median
/// 100 -> 109 sequences/s, (512, 64, 64, 2) 82 -> 87. Each tile of C gets the passes' sums in
/// the same order as in [`passes`], so the results are the same bit for bit.
#[inline(always)]
fn whole_a<F: Float, const MR: usize, const NR: usize, const Z: bool>(
    a: Mat<'_, F>,
    b: PackedRef<'_, F>,
    mut c: MatMut<'_, F>,
    acc: bool,
    (j0, j1): (usize, usize),
    reverse: bool,
    a_buf: &mut [F],
) {
    let (m, k, ldc) = (a.rows, a.cols, c.ld());
    let cols = j1 - j0;
    // pass p0's block of A at `p0 * m` (the passes before it hold m × KC each)
    let mut srcs = [None; MC * KC / (8 * KC)];
    for (slot, p0) in srcs.iter_mut().zip((0..k).step_by(KC)) {
        let kc = KC.min(k - p0);
        *slot = Some(a_source::<F, MR>(a, (0, m), (p0, kc), cols, &mut a_buf[p0 * m..p0 * m + m * kc]));
    }
    let prefetch = fetch_ahead::<F>(m, k, cols);
    let panels = cols / PANEL;
    for i in 0..panels {
        let q = if reverse { panels - 1 - i } else { i };
        for s in (0..PANEL).step_by(NR) {
            let cq = c.block_ptr(0, m, j0 + q * PANEL + s, NR);
            for (p0, a_src) in (0..k).step_by(KC).zip(srcs.iter().flatten()) {
                let kc = KC.min(k - p0);
                let b_ptr = b.data[(j0 + q * PANEL) * k + b.at(p0, s)..].as_ptr();
                let b_src = (b_ptr, SUB, k * SUB);
                // SAFETY: panel q of this view's B holds k rows of PANEL as sub-panels of SUB
                // columns, k * SUB apart; rows p0..p0 + kc of its columns s..s + NR start at
                // `b_ptr`, SUB apart, and their columns from SUB (with NR = 32) k * SUB further;
                // `a_src` holds rows 0..m at depth p0..p0 + kc; `cq` starts the m × NR block
                // of C, rows `ldc` apart (checked by `block_ptr`), which nothing else touches
                // while `c` is borrowed here.
                unsafe { row_blocks::<F, MR, NR, Z>(m, kc, *a_src, b_src, cq, ldc, acc || p0 > 0, prefetch) };
            }
        }
    }
}

/// How far the micro-kernels fetch B's rows ahead ([`fetch_ahead`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fetch {
    /// Not at all.
    No,
    /// 24 rows ahead into L1.
    Near,
    /// That, and on AVX2 128 rows ahead into L2.
    Far,
}

/// How far the micro-kernels fetch B's rows ahead: with at most 16 rows of A, when the
/// thread's share of B (`k × cols`) is larger than 256 KB, so that it streams from L2 or
/// beyond rather than sitting in L1 (measured at 16 × 1024 × 1024 on packed B, AVX-512: 272 ->
/// 296 GFLOP/s). With B in L1 the prefetches only take load slots (on AVX2 the
/// Elman layer's (128, 32, 64, 2) training step, whose `[16, 128] x [128, 128]` steps fetched
/// ahead, trained 5-18% slower in 4 alternating rounds). Past [`FAR_FROM`], B comes from
/// memory, whose latency 24 rows (some 150 cycles of a 6-row kernel) do not cover: on AVX2
/// the rows 128 ahead are fetched into L2 as well.
#[inline(always)]
fn fetch_ahead<F>(m: usize, k: usize, cols: usize) -> Fetch {
    let bytes = k * cols * size_of::<F>();
    if m > 16 || bytes <= 256 << 10 {
        Fetch::No
    } else if bytes > FAR_FROM {
        Fetch::Far
    } else {
        Fetch::Near
    }
}

/// A thread's share of B beyond which it streams from memory rather than L3 (of the 32 MB L3
/// of the 2-core AMD EPYC VM, the products below found 4-8 MB: `[16, 1024] x [1024, N]` on
/// packed B, one thread, AVX2, ran at 110 GFLOP/s with N = 1024 (4 MB) and 54 with N = 2048).
/// Measured (`examples/step_rate`, alternating): `[16, 1024] x [1024, 4096]` and `[16, 4096] x
/// [4096, 1024]` went from 45-62 to 62-89 GFLOP/s on one thread, 122-129 to 151-189 on two;
/// LSTM training at (1024, 16, 32, 1) (`W_hh` 16 MB, 8 MB a thread) was faster in 15 of 21
/// alternating rounds (two sets of six: medians 133 -> 168 and 155 -> 175 sequences/s), the
/// GRU's (12 MB) in 6 of 11. The Elman layer's 4 MB (2 MB a thread) sits in L3 and stays
/// below the threshold: with the far fetches it was faster in only 3 of 10 rounds.
const FAR_FROM: usize = 4 << 20;

/// Up to this many columns per thread, the micro-kernels read A where it lies (unless its rows
/// are more than 2 KB apart): copying it costs one scalar move per element against one vector
/// FMA per 16 of its uses, 25% of the work at 128 columns (measured: the (128, 32, 64, 2)
/// training step 5.8 -> 5.0 ms). With more columns the copy is amortised; with rows 4 KB apart
/// (a `[16, 1024]` state) the broadcasts of a tile would all land in one L1 set.
const PACK_A_FROM_COLS: usize = 256;

/// Where the micro-kernels read A.
#[derive(Clone, Copy)]
enum ASrc<F> {
    /// The packed block (see [`pack_a`]).
    Packed(*const F),
    /// In place: element `(r, p)` of the block at `base + r·rs + p·ps`.
    InPlace { base: *const F, rs: usize, ps: usize },
}

/// The heights of the micro-panels an `mc`-row block is cut into: `MR` while it lasts, then 8,
/// 4, 2 and 1 (so a batch of 16 runs as 12 + 4, never 16 single rows).
#[inline(always)]
fn next_height<const MR: usize>(left: usize) -> usize {
    if left >= MR {
        MR
    } else if left >= 8 {
        8
    } else if left >= 4 {
        4
    } else if left >= 2 {
        2
    } else {
        1
    }
}

/// Copies rows `i0..i0 + mc`, depth `p0..p0 + kc` of A into `dst`, micro-panel by micro-panel:
/// the panel of rows `r0..r0 + R` starts at `r0 * kc`, element `(r, p)` at `p * R + r`.
#[inline(always)]
fn pack_a<F: Float, const MR: usize>(a: Mat<'_, F>, i0: usize, mc: usize, p0: usize, kc: usize, dst: &mut [F]) {
    let mut r0 = 0;
    if a.trans {
        // the micro-panels of height MR (all but the last few rows) by depth: each p's rows
        // i0.. are contiguous in the source, read once, and MR of them go to each panel (panel
        // by panel, every p would touch a new source line, read again for the next panels)
        r0 = mc / MR * MR;
        for p in 0..kc {
            fetch_lines(a.data.as_ptr().wrapping_add((p0 + p + 8) * a.ld + i0), r0 * size_of::<F>());
            let src = &a.data[(p0 + p) * a.ld + i0..][..r0];
            for (q, group) in src.chunks_exact(MR).enumerate() {
                dst[q * MR * kc + p * MR..][..MR].copy_from_slice(group);
            }
        }
    }
    while r0 < mc {
        let h = next_height::<MR>(mc - r0);
        let panel = &mut dst[r0 * kc..(r0 + h) * kc];
        // the first element of the micro-panel's rows, (i0 + r0, p0)
        let src = &a.data[a.at_dyn(i0 + r0, p0)..];
        // the height as a constant, so that each p's group of h is copied inline
        match h {
            12 => pack_micro_panel::<F, 12>(src, a.ld, a.trans, panel),
            8 => pack_micro_panel::<F, 8>(src, a.ld, a.trans, panel),
            6 => pack_micro_panel::<F, 6>(src, a.ld, a.trans, panel),
            4 => pack_micro_panel::<F, 4>(src, a.ld, a.trans, panel),
            2 => pack_micro_panel::<F, 2>(src, a.ld, a.trans, panel),
            _ => {
                debug_assert_eq!(h, 1);
                pack_micro_panel::<F, 1>(src, a.ld, a.trans, panel)
            }
        }
        r0 += h;
    }
}

/// Asks for the cache lines of the `bytes` bytes from `p` (a hint only: on other targets
/// nothing). Any address may be given, in bounds or not.
#[inline(always)]
fn fetch_lines<T>(p: *const T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    for l in (0..bytes).step_by(64) {
        // SAFETY: a prefetch neither faults nor reads into the program, whatever the address.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>().wrapping_add(l))
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

/// Copies `H` rows of A from `src` (element `(r, p)` at `r * ld + p`, or `p * ld + r` when
/// `trans`) into `panel`, element `(r, p)` at `p * H + r`, `panel.len() / H` of each row. The
/// stores run contiguously, one group of `H` per `p`. Measured on a 1024³ product (AVX2, one
/// thread): storing the rows one by one, `H` apart, was 7% of the samples; with `H` not a
/// constant, each group of a transposed A was a call to `memcpy` (3.8% of an LSTM's step).
#[inline(always)]
fn pack_micro_panel<F: Float, const H: usize>(src: &[F], ld: usize, trans: bool, panel: &mut [F]) {
    let kc = panel.len() / H;
    if trans {
        // the H rows of one p are contiguous
        for (p, group) in panel.chunks_exact_mut(H).enumerate() {
            let from: &[F; H] = src[p * ld..p * ld + H].try_into().expect("H rows");
            group.copy_from_slice(from);
        }
    } else {
        let rows: [&[F]; H] = std::array::from_fn(|r| &src[r * ld..r * ld + kc]);
        for (p, group) in panel.chunks_exact_mut(H).enumerate() {
            for (o, row) in group.iter_mut().zip(&rows) {
                *o = row[p];
            }
        }
    }
}

/// Copies depth `p0..p0 + kc` of columns `j0..j1` of B into `dst` as `kc × PANEL` blocks, each
/// block as `PANEL / NR` contiguous `kc × NR` micro-panels (the one the micro-kernel reads is
/// contiguous: rows `PANEL` apart, with only `NR` of each read, would fill half of L1's sets
/// twice as fast, as rows 128 bytes apart at NR = 16 f32 on AVX2 did).
#[inline(always)]
fn pack_b<F: Float, const NR: usize>(b: Mat<'_, F>, p0: usize, kc: usize, j0: usize, j1: usize, dst: &mut [F]) {
    for (q, j) in (j0..j1).step_by(PANEL).enumerate() {
        let block = &mut dst[q * kc * PANEL..(q + 1) * kc * PANEL];
        for (sub, s) in block.chunks_exact_mut(kc * NR).zip((0..PANEL).step_by(NR)) {
            for (p, row) in sub.chunks_exact_mut(NR).enumerate() {
                row.copy_from_slice(&b.data[(p0 + p) * b.ld + j + s..][..NR]);
            }
        }
    }
}

/// Every micro-panel of a packed `mc × kc` block of A against one `kc × NR` slice of B.
///
/// # Safety
/// `a` holds the packed block, `b.0` `kc` rows of `NR` at distance `b.1` (each row's columns
/// from [`SUB`] on `b.2` after its first; with `NR <= SUB` a row is contiguous), `c` `mc` rows
/// of `NR` at distance `ldc`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn row_blocks<F: Float, const MR: usize, const NR: usize, const Z: bool>(
    mc: usize,
    kc: usize,
    a: ASrc<F>,
    b: (*const F, usize, usize),
    c: *mut F,
    ldc: usize,
    acc: bool,
    prefetch: Fetch,
) {
    let mut r0 = 0;
    while r0 < mc {
        let h = next_height::<MR>(mc - r0);
        // SAFETY: forwarded from the caller, with the micro-panel of rows r0..r0 + h.
        unsafe {
            let cp = c.add(r0 * ldc);
            match a {
                // the packed micro-panel's strides as constants (element (r, p) at p * h + r),
                // so the kernel's loads take fixed offsets and one pointer step per p
                ASrc::Packed(p) => {
                    let ap = p.add(r0 * kc);
                    match h {
                        8 if MR != 8 => micro::<F, 8, NR, Z>(kc, (ap, 1, 8), b, cp, ldc, acc, prefetch),
                        4 => micro::<F, 4, NR, Z>(kc, (ap, 1, 4), b, cp, ldc, acc, prefetch),
                        2 => micro::<F, 2, NR, Z>(kc, (ap, 1, 2), b, cp, ldc, acc, prefetch),
                        1 => micro::<F, 1, NR, Z>(kc, (ap, 1, 1), b, cp, ldc, acc, prefetch),
                        _ => {
                            debug_assert_eq!(h, MR);
                            micro::<F, MR, NR, Z>(kc, (ap, 1, MR), b, cp, ldc, acc, prefetch)
                        }
                    }
                }
                ASrc::InPlace { base, rs, ps } => {
                    let a = (base.add(r0 * rs), rs, ps);
                    match h {
                        8 if MR != 8 => micro::<F, 8, NR, Z>(kc, a, b, cp, ldc, acc, prefetch),
                        4 => micro::<F, 4, NR, Z>(kc, a, b, cp, ldc, acc, prefetch),
                        2 => micro::<F, 2, NR, Z>(kc, a, b, cp, ldc, acc, prefetch),
                        1 => micro::<F, 1, NR, Z>(kc, a, b, cp, ldc, acc, prefetch),
                        _ => micro::<F, MR, NR, Z>(kc, a, b, cp, ldc, acc, prefetch),
                    }
                }
            }
        }
        r0 += h;
    }
}

/// The micro-kernel: an `R × NR` tile of C held in registers while `kc` rank-one updates run,
/// each a row of packed A (broadcast) against a row of packed B.
///
/// # Safety
/// As [`row_blocks`], for `R` rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<F: Float, const R: usize, const NR: usize, const Z: bool>(
    kc: usize,
    (a, a_rs, a_ps): (*const F, usize, usize),
    (b, b_rs, b_half): (*const F, usize, usize),
    c: *mut F,
    ldc: usize,
    acc: bool,
    prefetch: Fetch,
) {
    #[cfg(target_arch = "x86_64")]
    if Z && NR == 32 && std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>() {
        // f32 on AVX-512 (`Z`): two 16-lane vectors per row
        // SAFETY: F is f32; the caller's contract and the CPU features carry over.
        return unsafe {
            micro_f32_avx512::<R, 2>(
                kc,
                (a.cast(), a_rs, a_ps),
                (b.cast(), b_rs, b_half),
                c.cast(),
                ldc,
                acc,
                prefetch != Fetch::No,
            )
        };
    }
    #[cfg(target_arch = "x86_64")]
    if !Z && NR == 16 && prefetch != Fetch::No && std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>() {
        // f32 on AVX2 fetching B ahead: two 8-lane vectors per row (without the fetches the
        // plain loop below is as fast: 32 × 512 × 512 on packed B, 76 GFLOP/s against 66-71
        // through this kernel with the fetch test in its loop)
        // SAFETY: F is f32; the caller's contract carries over, and `micro` runs only inside
        // `avx2` (or `avx512`, whose CPU has AVX2 too) when not `Z`, so the CPU has AVX2 and FMA.
        let (a, b, c) = ((a.cast(), a_rs, a_ps), (b.cast(), b_rs), c.cast());
        return unsafe {
            if prefetch == Fetch::Far {
                micro_f32_avx2::<R, 2, true>(kc, a, b, c, ldc, acc)
            } else {
                micro_f32_avx2::<R, 2, false>(kc, a, b, c, ldc, acc)
            }
        };
    }
    // a row of B is read below as NR contiguous elements
    debug_assert!(NR <= SUB || b_half == SUB, "NR = {NR} columns split across sub-panels");
    // The tile of C, `ldc` apart (4 KB at 1024 columns), was last touched a pass of KC ago and
    // comes from beyond L2: fetched now, it arrives while the `kc` updates run.
    for r in 0..R {
        fetch_lines(c.wrapping_add(r * ldc), NR * size_of::<F>());
    }
    let mut t = [[F::zero(); NR]; R];
    // SAFETY: in bounds by the caller's contract.
    unsafe {
        for p in 0..kc {
            let brow = &*(b.add(p * b_rs) as *const [F; NR]);
            let ap = a.add(p * a_ps);
            for (r, row) in t.iter_mut().enumerate() {
                let av = *ap.add(r * a_rs);
                for (x, &bv) in row.iter_mut().zip(brow) {
                    *x = av.mul_add(bv, *x);
                }
            }
        }
        for (r, row) in t.iter().enumerate() {
            let out = std::slice::from_raw_parts_mut(c.add(r * ldc), NR);
            if acc {
                out.iter_mut().zip(row).for_each(|(o, &v)| *o += v);
            } else {
                out.copy_from_slice(row);
            }
        }
    }
}

/// [`micro`] for f32 on AVX-512, `V` 16-lane vectors wide, written with the intrinsics: the
/// compiler keeps a tile of 12 × 32 floats in registers only when it is spelled as vectors (as
/// plain arrays it spills it to the stack: measured 14 GFLOP/s instead of 270).
///
/// # Safety
/// As [`micro`], on a CPU with AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn micro_f32_avx512<const R: usize, const V: usize>(
    kc: usize,
    (a, a_rs, a_ps): (*const f32, usize, usize),
    (b, b_rs, b_half): (*const f32, usize, usize),
    c: *mut f32,
    ldc: usize,
    acc: bool,
    prefetch: bool,
) {
    use std::arch::x86_64::{__m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps};
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch, _mm512_setzero_ps, _mm512_storeu_ps};
    let mut t: [[__m512; V]; R] = [[_mm512_setzero_ps(); V]; R];
    // SAFETY: in bounds by the caller's contract.
    unsafe {
        for p in 0..kc {
            if prefetch {
                for v in 0..V {
                    _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add((p + 24) * b_rs + b_half * v).cast());
                }
            }
            // 16 lanes = SUB columns: vector v of the row is `b_half * v` after its first
            let bv: [__m512; V] = std::array::from_fn(|v| _mm512_loadu_ps(b.add(p * b_rs + b_half * v)));
            let ap = a.add(p * a_ps);
            for (r, row) in t.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*ap.add(r * a_rs));
                for (x, &bx) in row.iter_mut().zip(&bv) {
                    *x = _mm512_fmadd_ps(av, bx, *x);
                }
            }
        }
        for (r, row) in t.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                let cr = c.add(r * ldc + 16 * v);
                _mm512_storeu_ps(cr, if acc { _mm512_add_ps(_mm512_loadu_ps(cr), x) } else { x });
            }
        }
    }
}

/// [`micro`] for f32 on AVX2, `V` 8-lane vectors wide, with the intrinsics, fetching B's rows
/// ahead as [`micro_f32_avx512`] does: for a tile whose B streams from beyond L1 (few rows of
/// A, see [`fetch_ahead`]).
///
/// # Safety
/// As [`micro`], on a CPU with AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn micro_f32_avx2<const R: usize, const V: usize, const FAR: bool>(
    kc: usize,
    (a, a_rs, a_ps): (*const f32, usize, usize),
    (b, b_rs): (*const f32, usize),
    c: *mut f32,
    ldc: usize,
    acc: bool,
) {
    use std::arch::x86_64::{__m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps};
    use std::arch::x86_64::{_MM_HINT_T0, _MM_HINT_T1, _mm_prefetch, _mm256_setzero_ps, _mm256_storeu_ps};
    let mut t: [[__m256; V]; R] = [[_mm256_setzero_ps(); V]; R];
    // SAFETY: in bounds by the caller's contract (a prefetch of any address is harmless: it
    // neither faults nor reads into the program).
    unsafe {
        for p in 0..kc {
            for v in (0..V).step_by(2) {
                _mm_prefetch::<_MM_HINT_T0>(b.wrapping_add((p + 24) * b_rs + 8 * v).cast());
                if FAR {
                    _mm_prefetch::<_MM_HINT_T1>(b.wrapping_add((p + 128) * b_rs + 8 * v).cast());
                }
            }
            let bv: [__m256; V] = std::array::from_fn(|v| _mm256_loadu_ps(b.add(p * b_rs + 8 * v)));
            let ap = a.add(p * a_ps);
            for (r, row) in t.iter_mut().enumerate() {
                let av = _mm256_set1_ps(*ap.add(r * a_rs));
                for (x, &bx) in row.iter_mut().zip(&bv) {
                    *x = _mm256_fmadd_ps(av, bx, *x);
                }
            }
        }
        for (r, row) in t.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                let cr = c.add(r * ldc + 8 * v);
                _mm256_storeu_ps(cr, if acc { _mm256_add_ps(_mm256_loadu_ps(cr), x) } else { x });
            }
        }
    }
}
