//! Adam and AdamW, with AMSGrad (`torch/optim/adam.py`, `adamw.py`).

use ndarray::{ArrayViewD, ArrayViewMutD};

use super::OptimizerConfig;
use super::ops::{add, addcdiv, addcmul, lerp, maximum, zeros};
use super::state::ParamState;
use crate::Float;
use crate::compute::pool;

/// `_single_tensor_adam` for one parameter (Adam, or AdamW with `decoupled_weight_decay`).
pub(super) fn adam<F: Float>(
    p: &mut ArrayViewMutD<'_, F>,
    g: &ArrayViewD<'_, F>,
    st: &mut ParamState<F>,
    lr: f64,
    step: f64,
    config: &OptimizerConfig,
) {
    let (beta1, beta2, eps, weight_decay, amsgrad, decoupled) = match *config {
        OptimizerConfig::Adam { beta1, beta2, eps, weight_decay, amsgrad } => {
            (beta1, beta2, eps, weight_decay, amsgrad, false)
        }
        OptimizerConfig::AdamW { beta1, beta2, eps, weight_decay, amsgrad } => {
            (beta1, beta2, eps, weight_decay, amsgrad, true)
        }
        _ => unreachable!("adam() is only called for Adam and AdamW"),
    };
    let shape = p.shape().to_vec();
    let exp_avg = st.exp_avg.get_or_insert_with(|| zeros(&shape));
    let exp_avg_sq = st.exp_avg_sq.get_or_insert_with(|| zeros(&shape));
    let max_sq = if amsgrad { Some(st.max_exp_avg_sq.get_or_insert_with(|| zeros(&shape))) } else { None };

    // Python floats: bias corrections with `step` counting from 1
    let bias_correction1 = 1.0 - beta1.powf(step);
    let bias_correction2 = 1.0 - beta2.powf(step);
    let k = AdamScalars {
        keep: (decoupled && weight_decay != 0.0).then(|| F::of(1.0 - lr * weight_decay)),
        wd: (!decoupled && weight_decay != 0.0).then(|| F::of(weight_decay)),
        w1: F::of(1.0 - beta1),
        b2: F::of(beta2),
        w2: F::of(1.0 - beta2),
        bias_correction2_sqrt: F::of(bias_correction2.powf(0.5)),
        eps: F::of(eps),
        neg_step: F::of(-(lr / bias_correction1)),
    };
    // every element independently, in one pass and without temporaries (PyTorch's foreach
    // kernels run the same operations tensor by tensor; the results are the same bits)
    let slices = (
        p.as_slice_mut(),
        g.as_slice(),
        exp_avg.as_slice_mut(),
        exp_avg_sq.as_slice_mut(),
        max_sq.map(|m| m.as_slice_mut()),
    );
    match slices {
        (Some(p), Some(g), Some(m), Some(v), None) => adam_slices(AdamBuffers { p, g, m, v, max: None }, &k),
        (Some(p), Some(g), Some(m), Some(v), Some(Some(mx))) => {
            adam_slices(AdamBuffers { p, g, m, v, max: Some(mx) }, &k)
        }
        _ => unreachable!("parameters, gradients and optimizer state are contiguous standard-layout arrays"),
    }
}

/// The scalars of one Adam step, rounded to the dtype as PyTorch's are.
struct AdamScalars<F> {
    /// `1 - lr * weight_decay` (AdamW with weight decay).
    keep: Option<F>,
    /// The L2 weight decay folded into the gradient (Adam with weight decay).
    wd: Option<F>,
    w1: F,
    b2: F,
    w2: F,
    bias_correction2_sqrt: F,
    eps: F,
    neg_step: F,
}

/// One parameter's buffers for an Adam step: value, gradient, the two moments and (amsgrad)
/// the running maximum of the second, all contiguous.
struct AdamBuffers<'a, F> {
    p: &'a mut [F],
    g: &'a [F],
    m: &'a mut [F],
    v: &'a mut [F],
    max: Option<&'a mut [F]>,
}

/// One Adam step over contiguous buffers, shared across the pool's threads when large (every
/// element on its own, so the results are the same bits however they are cut).
fn adam_slices<F: Float>(buffers: AdamBuffers<'_, F>, k: &AdamScalars<F>) {
    let n = buffers.p.len();
    let per = match pool::rows_per_part(n, 1) {
        Some(per) if n >= SHARED_ADAM_MIN => per,
        _ => return adam_slices_on_thread(buffers, k),
    };
    let AdamBuffers { p, g, m, v, max } = buffers;
    let mut maxes = max.map(|mx| mx.chunks_mut(per));
    let parts = p
        .chunks_mut(per)
        .zip(g.chunks(per))
        .zip(m.chunks_mut(per))
        .zip(v.chunks_mut(per))
        .map(|(((p, g), m), v)| AdamBuffers { p, g, m, v, max: maxes.as_mut().and_then(Iterator::next) });
    pool::run_each(parts, n, &|part| adam_slices_on_thread(part, k));
}

/// The fewest elements of a parameter whose Adam step is shared across the pool: about 30 µs
/// of one core's work against a wake-up's few (an LSTM's `W_hh` at H = 1024 is 4.2 million,
/// 2% of its training step at (1024, 16, 32, 1) on one thread while the other waited).
const SHARED_ADAM_MIN: usize = 1 << 15;

/// One Adam step over contiguous buffers on the calling thread: with the fused multiply-adds
/// as instructions where the CPU has them (the portable build would call `fmaf` in libm, a
/// function call per element).
fn adam_slices_on_thread<F: Float>(buffers: AdamBuffers<'_, F>, k: &AdamScalars<F>) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has FMA.
        return unsafe { adam_slices_fma(buffers, k) };
    }
    adam_slices_inner(buffers, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn adam_slices_fma<F: Float>(buffers: AdamBuffers<'_, F>, k: &AdamScalars<F>) {
    adam_slices_inner(buffers, k)
}

#[inline(always)]
fn adam_slices_inner<F: Float>(buffers: AdamBuffers<'_, F>, k: &AdamScalars<F>) {
    let AdamBuffers { p, g, m, v, max } = buffers;
    let n = p.len();
    assert!(g.len() == n && m.len() == n && v.len() == n, "Adam buffers of one parameter differ in length");
    let mut max = max;
    if let Some(mx) = &max {
        assert_eq!(mx.len(), n, "Adam buffers of one parameter differ in length");
    }
    for i in 0..n {
        let mut pi = p[i];
        let mut gi = g[i];
        if let Some(keep) = k.keep {
            // param.mul_(1 - lr * weight_decay) (AdamW)
            pi *= keep;
        } else if let Some(wd) = k.wd {
            // grad = grad.add(param, alpha=weight_decay)
            gi = add(gi, wd, pi);
        }
        // exp_avg.lerp_(grad, 1 - beta1)
        let mi = lerp(m[i], gi, k.w1);
        // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        let vi = addcmul(v[i] * k.b2, k.w2, gi, gi);
        m[i] = mi;
        v[i] = vi;
        // torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq) with amsgrad
        let second = match &mut max {
            Some(mx) => {
                mx[i] = maximum(mx[i], vi);
                mx[i]
            }
            None => vi,
        };
        // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        let denom = second.sqrt() / k.bias_correction2_sqrt + k.eps;
        // param.addcdiv_(exp_avg, denom, value=-step_size)
        p[i] = addcdiv(pi, k.neg_step, mi, denom);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{run_quadratic, vec1};
    use crate::optim::{Optimizer, OptimizerConfig};

    #[test]
    fn adam_two_steps_by_hand() {
        let mut opt = Optimizer::new(OptimizerConfig::adam()).unwrap();
        let mut p = vec1(&[1.0]);
        run_quadratic(&mut opt, &mut p, 0.1, 2);
        // step 1: m̂ = g, v̂ = g², p = 1 - 0.1 * 1 / (1 + 1e-8)
        let p1 = 1.0 - 0.1 / (1.0 + 1e-8);
        // step 2: g = p1, m = 0.09 + 0.1 p1, v = 0.000999 + 0.001 p1²
        let m = 0.9 * 0.1 + 0.1 * p1;
        let v = 0.999 * 0.001 + 0.001 * p1 * p1;
        let (bc1, bc2) = (1.0 - 0.9f64.powi(2), 1.0 - 0.999f64.powi(2));
        let p2 = p1 - 0.1 / bc1 * m / (v.sqrt() / bc2.sqrt() + 1e-8);
        assert!((p[0] - p2).abs() < 1e-12, "{} vs {p2}", p[0]);
    }

    /// A parameter large enough to be shared across the pool gets the same bits as on one
    /// thread, with and without AMSGrad's running maximum (on a machine of one core both runs
    /// are on one thread).
    #[test]
    fn a_shared_step_gives_the_bits_of_one_thread() {
        use super::{AdamBuffers, AdamScalars, SHARED_ADAM_MIN, adam_slices, adam_slices_on_thread};
        let n = SHARED_ADAM_MIN * 3 + 7;
        let wave = |i: usize, f: f32| (i as f32 * f).sin() * 0.5;
        let k = AdamScalars {
            keep: None,
            wd: Some(0.01f32),
            w1: 0.1,
            b2: 0.999,
            w2: 0.001,
            bias_correction2_sqrt: 0.0447,
            eps: 1e-8,
            neg_step: -0.01,
        };
        for amsgrad in [false, true] {
            let fresh = |f: f32| -> Vec<f32> { (0..n).map(|i| wave(i, f)).collect() };
            let squares = |f: f32| -> Vec<f32> { (0..n).map(|i| wave(i, f) * wave(i, f)).collect() };
            let g = fresh(0.7);
            let mut one = (fresh(0.3), fresh(1.1), squares(0.2), squares(0.9));
            let mut shared = one.clone();
            let (p, m, v, x) = &mut one;
            adam_slices_on_thread(AdamBuffers { p, g: &g, m, v, max: amsgrad.then_some(&mut x[..]) }, &k);
            let (p, m, v, x) = &mut shared;
            adam_slices(AdamBuffers { p, g: &g, m, v, max: amsgrad.then_some(&mut x[..]) }, &k);
            let bits = |t: &(Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>)| -> Vec<u32> {
                t.0.iter().chain(&t.1).chain(&t.2).chain(&t.3).map(|v| v.to_bits()).collect()
            };
            assert!(bits(&one) == bits(&shared), "amsgrad {amsgrad}");
            assert!(one.0 != fresh(0.3), "the step moved the parameters");
        }
    }

    #[test]
    fn adamw_decays_before_the_update() {
        let mut opt = Optimizer::new(OptimizerConfig::adamw().with_weight_decay(0.5)).unwrap();
        let mut p = vec1(&[1.0]);
        run_quadratic(&mut opt, &mut p, 0.1, 1);
        // p = 1 * (1 - 0.05) - 0.1 * 1 / (1 + 1e-8): the gradient is the undecayed one
        assert!((p[0] - (0.95 - 0.1 / (1.0 + 1e-8))).abs() < 1e-12, "{}", p[0]);
    }
}
