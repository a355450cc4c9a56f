//! The direct, register-blocked kernels (B read in place), compiled for AVX-512, AVX2+FMA or
//! portable code, and the dispatch between them and the packed (Goto) path.

use super::{Float, Isa, KC, Mat, MatMut, PANEL, goto, isa, packed_path};

/// Columns `j0..j1` of `C (+)= A · B` on the calling thread: the packed (Goto) path for
/// whole panels when the product is big enough, the direct kernels for the rest.
pub(super) fn run<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut MatMut<'_, F>, acc: bool, j0: usize, j1: usize) {
    let full = j0 + (j1 - j0) / PANEL * PANEL;
    if packed_path::<F>(a.rows, a.cols, full - j0) {
        goto::run(a, goto::BSource::Plain(b), c, acc, (j0, full), false);
        if full < j1 {
            run_small(a, b, c, acc, full, j1);
        }
    } else {
        run_small(a, b, c, acc, j0, j1);
    }
}

/// [`run`] by the direct kernels: B read in place, k in passes of [`KC`].
pub(super) fn run_small<F: Float>(
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    c: &mut MatMut<'_, F>,
    acc: bool,
    j0: usize,
    j1: usize,
) {
    let k = a.cols;
    if k <= 2 * KC {
        return run_depth(a, b, c, acc, j0, j1);
    }
    for p0 in (0..k).step_by(KC) {
        let p1 = (p0 + KC).min(k);
        let a_off = if a.trans { p0 * a.ld } else { p0 };
        let a_part = Mat { data: &a.data[a_off..], rows: a.rows, cols: p1 - p0, ld: a.ld, trans: a.trans };
        let b_part = Mat { data: &b.data[p0 * b.ld..], rows: p1 - p0, cols: b.cols, ld: b.ld, trans: false };
        run_depth(a_part, b_part, c, acc || p0 > 0, j0, j1);
    }
}

fn run_depth<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut MatMut<'_, F>, acc: bool, j0: usize, j1: usize) {
    match isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU was checked for these features.
        Isa::Avx512 => unsafe { run_avx512(a, b, c, acc, j0, j1) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU was checked for these features.
        Isa::Avx2 => unsafe { run_avx2(a, b, c, acc, j0, j1) },
        _ if a.trans => blocked::<F, 4, 16, true>(a, b, c, acc, j0, j1),
        _ => blocked::<F, 4, 16, false>(a, b, c, acc, j0, j1),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut MatMut<'_, F>, acc: bool, j0: usize, j1: usize) {
    if a.trans {
        blocked::<F, 4, 64, true>(a, b, c, acc, j0, j1)
    } else {
        blocked::<F, 4, 64, false>(a, b, c, acc, j0, j1)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut MatMut<'_, F>, acc: bool, j0: usize, j1: usize) {
    if a.trans {
        blocked::<F, 4, 16, true>(a, b, c, acc, j0, j1)
    } else {
        blocked::<F, 4, 16, false>(a, b, c, acc, j0, j1)
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
    c: &mut MatMut<'_, F>,
    acc: bool,
    j0: usize,
    j1: usize,
) {
    let mut j = j0;
    while j + NR <= j1 {
        panel::<F, MR, NR, TA>(a, b, c, acc, j);
        j += NR;
    }
    while j + 16 <= j1 {
        panel::<F, MR, 16, TA>(a, b, c, acc, j);
        j += 16;
    }
    while j + 8 <= j1 {
        panel::<F, MR, 8, TA>(a, b, c, acc, j);
        j += 8;
    }
    while j < j1 {
        if b.ld == 1 && !TA {
            // B is a single column stored contiguously: dot products of A's rows with it
            column_dots(a, b, c, acc, j);
        } else {
            panel::<F, MR, 1, TA>(a, b, c, acc, j);
        }
        j += 1;
    }
}

/// Column `j` of C when B's column is contiguous (`b.ld == 1`, so B has one column): one dot
/// product per row of A, in 16 independent lanes.
#[inline(always)]
fn column_dots<F: Float>(a: Mat<'_, F>, b: Mat<'_, F>, c: &mut MatMut<'_, F>, acc: bool, j: usize) {
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
        let out = &mut c.row(i, j, 1)[0];
        *out = if acc { *out + sum } else { sum };
    }
}

/// All rows of A against the `W` columns of B starting at `j`.
#[inline(always)]
fn panel<F: Float, const MR: usize, const W: usize, const TA: bool>(
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    c: &mut MatMut<'_, F>,
    acc: bool,
    j: usize,
) {
    let m = a.rows;
    let mut i = 0;
    while i + MR <= m {
        tile::<F, MR, W, TA>(a, b, c, acc, i, j);
        i += MR;
    }
    while i < m {
        tile::<F, 1, W, TA>(a, b, c, acc, i, j);
        i += 1;
    }
}

/// One `R × W` tile of C at row `i`, column `j`.
#[inline(always)]
fn tile<F: Float, const R: usize, const W: usize, const TA: bool>(
    a: Mat<'_, F>,
    b: Mat<'_, F>,
    c: &mut MatMut<'_, F>,
    acc: bool,
    i: usize,
    j: usize,
) {
    let k = a.cols;
    // checked, not only in debug builds: the reads below rely on it (a handful of comparisons
    // against R · W · k multiply-adds)
    assert!(i + R <= a.rows && j + W <= b.cols, "tile outside the product");
    // the products are summed from zero and C added once at the end (as the packed kernels
    // do): starting the sum at C's value rounds every partial sum at C's larger magnitude
    // (measured on an LSTM step, whose C holds the input projection and biases: 1.4x the
    // float32 error of the sum-then-add order)
    let mut t = [[F::zero(); W]; R];
    // Both unsafe blocks below read A and B through raw pointers. SAFETY: the entry points
    // (`gemm_then`, `gemm_packed` through `prepare`) assert that A holds `a.rows` rows of `k`
    // at distance `a.ld` (columns, when transposed) and B `k` rows of `b.cols` at distance
    // `b.ld`; `i + R <= a.rows` and `j + W <= b.cols` are asserted above, so every read is in
    // bounds.
    if R == 1 {
        // one row (a matrix-vector product): every accumulator gets one FMA per k, so the
        // FMA latency, not its throughput, would bound the loop; two sets (even and odd k)
        // double the independent chains
        let mut odd = [F::zero(); W];
        // SAFETY: see above.
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
        store(c.row(i, j, W), &t[0], acc);
        return;
    }
    // SAFETY: see above.
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
        store(c.row(i + r, j, W), row, acc);
    }
}

/// Writes a tile row's sums into C, or adds them to what C holds (`acc`).
#[inline(always)]
fn store<F: Float>(out: &mut [F], sums: &[F], acc: bool) {
    if acc {
        out.iter_mut().zip(sums).for_each(|(o, &s)| *o += s);
    } else {
        out.copy_from_slice(sums);
    }
}
