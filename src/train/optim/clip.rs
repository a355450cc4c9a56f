//! Gradient clipping as in `torch.nn.utils`.

use ndarray::{ArrayViewD, ArrayViewMutD};

use super::ops::clamp;
use crate::Float;

/// The L2 norm of all gradients taken together, `sqrt(Σ g²)`, accumulated in `f64`.
///
/// # Example
/// ```
/// use ndarray::{arr1, arr2};
/// let (a, b) = (arr1(&[3.0f32]).into_dyn(), arr2(&[[4.0f32]]).into_dyn());
/// assert_eq!(rnn::optim::global_norm(&[a.view(), b.view()]), 5.0);
/// ```
pub fn global_norm<F: Float>(grads: &[ArrayViewD<'_, F>]) -> f64 {
    grads.iter().flat_map(|g| g.iter()).map(|&v| v.to_f64_lossless() * v.to_f64_lossless()).sum::<f64>().sqrt()
}

/// Scales all gradients together so their global L2 norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_`; returns the norm before clipping.
///
/// The scale is PyTorch's, in the gradients' dtype: `clip_coef = max_norm / (total_norm + 1e-6)`,
/// applied unless it is at least 1 (a NaN norm makes every gradient NaN, as in PyTorch). The
/// total norm is accumulated in `f64` (PyTorch: in the dtype), then rounded to the dtype.
/// `max_norm` should be positive.
///
/// # Example
/// ```
/// use ndarray::arr1;
/// let mut g = arr1(&[3.0f64, 4.0]).into_dyn();
/// let total = rnn::optim::clip_grad_norm(&mut [g.view_mut()], 1.0);
/// assert_eq!(total, 5.0);
/// assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
/// ```
pub fn clip_grad_norm<F: Float>(grads: &mut [ArrayViewMutD<'_, F>], max_norm: f64) -> f64 {
    let total = global_norm(&grads.iter().map(|g| g.view()).collect::<Vec<_>>());
    // `max_norm / tensor` in PyTorch is `tensor.reciprocal() * max_norm`
    let coef = (F::one() / (F::of(total) + F::of(1e-6))) * F::of(max_norm);
    if coef < F::one() || coef.is_nan() {
        for g in grads.iter_mut() {
            g.mapv_inplace(|v| v * coef);
        }
    }
    total
}

/// Clamps every gradient entry to `[-clip, clip]`, as `torch.nn.utils.clip_grad_value_` (NaN
/// stays NaN). `clip` should be positive.
///
/// # Example
/// ```
/// use ndarray::arr1;
/// let mut g = arr1(&[-2.0f32, 0.01, 3.0]).into_dyn();
/// rnn::optim::clip_grad_value(&mut [g.view_mut()], 0.05);
/// assert_eq!(g.as_slice().unwrap(), &[-0.05, 0.01, 0.05]);
/// ```
pub fn clip_grad_value<F: Float>(grads: &mut [ArrayViewMutD<'_, F>], clip: f64) {
    let (lo, hi) = (F::of(-clip), F::of(clip));
    for g in grads.iter_mut() {
        g.mapv_inplace(|v| clamp(v, lo, hi));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::test_util::vec1;

    #[test]
    fn clipping() {
        let mut a = vec1(&[3.0]);
        let mut b = vec1(&[0.0, 4.0]);
        assert_eq!(clip_grad_norm(&mut [a.view_mut(), b.view_mut()], 10.0), 5.0);
        assert_eq!((a[0], b[1]), (3.0, 4.0)); // under the limit: unchanged
        assert_eq!(clip_grad_norm(&mut [a.view_mut(), b.view_mut()], 2.5), 5.0);
        let coef = 1.0 / (5.0 + 1e-6) * 2.5;
        assert_eq!((a[0], b[1]), (3.0 * coef, 4.0 * coef));
        let mut c = vec1(&[-1.0, 0.5, f64::NAN]);
        clip_grad_value(&mut [c.view_mut()], 0.75);
        assert_eq!((c[0], c[1]), (-0.75, 0.5));
        assert!(c[2].is_nan());
    }
}
