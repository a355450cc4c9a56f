//! PyTorch's CPU kernels, element by element, shared by the update rules.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, Zip};

use crate::Float;

// Scalars arrive already rounded to the dtype.

/// `x.add(y, alpha=a)`: `x + a * y` rounded once (the kernel is a fused multiply-add).
pub(super) fn add<F: Float>(x: F, a: F, y: F) -> F {
    a.mul_add(y, x)
}
/// `s.addcmul(t1, t2, value=v)`: `s + (v * t1) * t2`, the last two operations fused.
pub(super) fn addcmul<F: Float>(s: F, v: F, t1: F, t2: F) -> F {
    (v * t1).mul_add(t2, s)
}
/// `s.addcdiv(t1, t2, value=v)`: `s + (v * t1) / t2`.
pub(super) fn addcdiv<F: Float>(s: F, v: F, t1: F, t2: F) -> F {
    s + v * t1 / t2
}
/// `s.lerp(e, w)`: `s + w (e - s)` for `|w| < 0.5`, else `e - (1 - w)(e - s)`, each fused.
pub(super) fn lerp<F: Float>(s: F, e: F, w: F) -> F {
    if w.abs() < F::of(0.5) { w.mul_add(e - s, s) } else { (w - F::one()).mul_add(e - s, e) }
}
/// `torch.clamp(v, lo, hi)`: NaN stays NaN.
pub(super) fn clamp<F: Float>(v: F, lo: F, hi: F) -> F {
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}
/// `torch.maximum`: NaN wins.
pub(super) fn maximum<F: Float>(a: F, b: F) -> F {
    if a.is_nan() || b > a { b } else { a }
}

/// `grad.add(param, alpha=weight_decay)` when `weight_decay != 0` (a new tensor), else `grad`.
pub(super) fn decayed<F: Float>(g: &ArrayViewD<'_, F>, p: &ArrayViewMutD<'_, F>, weight_decay: f64) -> ArrayD<F> {
    if weight_decay == 0.0 {
        return g.to_owned();
    }
    let wd = F::of(weight_decay);
    Zip::from(g).and(p).map_collect(|&g, &p| add(g, wd, p))
}

pub(super) fn zeros<F: Float>(shape: &[usize]) -> ArrayD<F> {
    ArrayD::zeros(IxDyn(shape))
}
