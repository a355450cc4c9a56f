//! The vector-matrix product of a one-stream step, `y (+)= x · B` with B [`Packed`]: the
//! streaming step's whole product at batch 1.
//!
//! At batch 1 every element of B is used once, so the step is bound by how fast B streams in
//! from cache. The general kernels tile C in 16 columns and stride through B's rows; here each
//! [`PANEL`] of B (two contiguous sub-panels of [`SUB`] columns, read side by side: two
//! sequential streams for the hardware prefetcher) runs down `k` once,
//! with `S` sets of `PANEL` accumulators (even and odd `k`, ...): 4 registers of 8 lanes with
//! AVX2 (`S = 1`), 4 of 16 lanes with AVX-512 (`S = 2`). Measured on an AVX2 machine (AMD
//! EPYC, one core), `[1, 160] x [160, 512]` (an LSTM step at H = 128, input 32): 3.5 µs, 24
//! multiply-adds per ns, about the rate the L2 cache delivers B at; the general kernel on the
//! unpacked matrix took 8.9 µs, on the packed one 5.6 µs. `S = 2` and `S = 3` were no faster.
//! Running the LSTM's gate activations on each panel as soon as it is done (an epilogue, so
//! they might overlap the next panel's loads) was measured 4% slower than one pass after the
//! product (interleaved in one process, 200 blocks of 2,000 steps each way: 6.5-6.9 µs against
//! 6.9-7.2 µs); the activations (a fifth of the step) stay after it.
//!
//! [`Packed`]: super::Packed

use super::{Float, Isa, PANEL, PackedRef, SUB, isa};

/// `y = x · B` (`accumulate = false`) or `y += x · B`, on the calling thread.
///
/// # Panics
/// When `x` is not `B.rows()` long or `y` is not `B.cols()` long (a programming error inside
/// the crate).
pub fn gemv_packed<F: Float>(x: &[F], b: PackedRef<'_, F>, y: &mut [F], accumulate: bool) {
    assert_eq!(x.len(), b.k, "x and B's rows");
    assert_eq!(y.len(), b.n, "y and B's columns");
    match isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa()` checked the CPU for AVX-512F and FMA.
        Isa::Avx512 => unsafe { gemv_avx512(x, b, y, accumulate) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa()` checked the CPU for AVX2 and FMA.
        Isa::Avx2 => unsafe { gemv_avx2(x, b, y, accumulate) },
        _ => gemv::<F, 2>(x, b, y, accumulate),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gemv_avx512<F: Float>(x: &[F], b: PackedRef<'_, F>, y: &mut [F], accumulate: bool) {
    gemv::<F, 2>(x, b, y, accumulate)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemv_avx2<F: Float>(x: &[F], b: PackedRef<'_, F>, y: &mut [F], accumulate: bool) {
    gemv::<F, 1>(x, b, y, accumulate)
}

/// Every whole panel with `S` chains per column, then the last, narrower panel plainly.
#[inline(always)]
fn gemv<F: Float, const S: usize>(x: &[F], b: PackedRef<'_, F>, y: &mut [F], accumulate: bool) {
    let (k, n) = (b.k, b.n);
    let full = n / PANEL * PANEL;
    for j in (0..full).step_by(PANEL) {
        // panel j: its two sub-panels, each k rows of SUB, contiguous
        let (lo, hi) = b.data[j * k..(j + PANEL) * k].split_at(SUB * k);
        let mut t = [[F::zero(); PANEL]; S];
        let (mut los, mut his) = (lo.chunks_exact(S * SUB), hi.chunks_exact(S * SUB));
        let mut xs = x.chunks_exact(S);
        for ((lo, hi), xv) in (&mut los).zip(&mut his).zip(&mut xs) {
            for s in 0..S {
                let lo: &[F; SUB] = lo[s * SUB..(s + 1) * SUB].try_into().expect("a whole row");
                let hi: &[F; SUB] = hi[s * SUB..(s + 1) * SUB].try_into().expect("a whole row");
                row_update(&mut t[s], xv[s], lo, hi);
            }
        }
        let rest = los.remainder().chunks_exact(SUB).zip(his.remainder().chunks_exact(SUB));
        for ((lo, hi), &a) in rest.zip(xs.remainder()) {
            row_update(&mut t[0], a, lo.try_into().expect("a whole row"), hi.try_into().expect("a whole row"));
        }
        let out: &mut [F; PANEL] = (&mut y[j..j + PANEL]).try_into().expect("a whole panel");
        for (v, o) in out.iter_mut().enumerate() {
            let mut sum = t[0][v];
            for ts in &t[1..] {
                sum += ts[v];
            }
            *o = if accumulate { *o + sum } else { sum };
        }
    }
    if full < n {
        let w = n - full;
        let panel = &b.data[full * k..full * k + k * w];
        let mut t = [F::zero(); PANEL];
        for (row, &a) in panel.chunks_exact(w).zip(x) {
            for (acc, &bv) in t.iter_mut().zip(row) {
                *acc = a.mul_add(bv, *acc);
            }
        }
        for (o, &sum) in y[full..].iter_mut().zip(&t) {
            *o = if accumulate { *o + sum } else { sum };
        }
    }
}

/// `t += a · [lo, hi]`: one row of a whole panel, its two sub-panels' rows side by side.
#[inline(always)]
fn row_update<F: Float>(t: &mut [F; PANEL], a: F, lo: &[F; SUB], hi: &[F; SUB]) {
    for v in 0..SUB {
        t[v] = a.mul_add(lo[v], t[v]);
        t[SUB + v] = a.mul_add(hi[v], t[SUB + v]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FORCED_ISA, Packed};
    use super::*;
    use ndarray::Array2;

    #[test]
    fn agrees_with_a_plain_product_on_every_isa() {
        let detected = isa();
        let isas = match detected {
            Isa::Avx512 => vec![Isa::Avx512, Isa::Avx2, Isa::Portable],
            Isa::Avx2 => vec![Isa::Avx2, Isa::Portable],
            Isa::Portable => vec![Isa::Portable],
        };
        for forced in isas {
            FORCED_ISA.set(Some(forced));
            let result = std::panic::catch_unwind(|| {
                for &(k, n) in &[(1, 1), (3, 5), (7, 32), (33, 64), (160, 512), (129, 70), (200, 31)] {
                    let x: Vec<f64> = (0..k).map(|i| ((i * 7) % 11) as f64 * 0.1 - 0.5).collect();
                    let b = Array2::<f64>::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 13) % 17) as f64 * 0.05 - 0.4);
                    let want: Vec<f64> = (0..n).map(|j| (0..k).map(|i| x[i] * b[[i, j]]).sum()).collect();
                    let packed = Packed::pack(b.view());
                    for acc in [false, true] {
                        let mut y = vec![1.0; n];
                        gemv_packed(&x, packed.view(), &mut y, acc);
                        let off = if acc { 1.0 } else { 0.0 };
                        for (j, (&got, &w)) in y.iter().zip(&want).enumerate() {
                            assert!((got - w - off).abs() < 1e-12, "{k}x{n} col {j}: {got} vs {w}");
                        }
                    }
                }
            });
            FORCED_ISA.set(None);
            assert!(result.is_ok(), "{forced:?}");
        }
    }
}
