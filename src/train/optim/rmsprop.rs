//! RMSprop, centered or not, with momentum (`torch/optim/rmsprop.py`).

use ndarray::{ArrayViewD, ArrayViewMutD, Zip};

use super::OptimizerConfig;
use super::ops::{add, addcdiv, addcmul, decayed, lerp, zeros};
use super::state::ParamState;
use crate::Float;

/// `_single_tensor_rmsprop` for one parameter.
pub(super) fn rmsprop<F: Float>(
    p: &mut ArrayViewMutD<'_, F>,
    g: &ArrayViewD<'_, F>,
    st: &mut ParamState<F>,
    lr: f64,
    config: &OptimizerConfig,
) {
    let OptimizerConfig::RmsProp { alpha, eps, weight_decay, momentum, centered } = *config else {
        unreachable!("rmsprop() is only called for RMSprop")
    };
    let shape = p.shape().to_vec();
    let g = decayed(g, p, weight_decay);
    // square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    let square_avg = st.square_avg.get_or_insert_with(|| zeros(&shape));
    let (a, w) = (F::of(alpha), F::of(1.0 - alpha));
    Zip::from(&mut *square_avg).and(&g).for_each(|s, &g| *s = addcmul(*s * a, w, g, g));
    let mut avg = if centered {
        // grad_avg.lerp_(grad, 1 - alpha); avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        let grad_avg = st.grad_avg.get_or_insert_with(|| zeros(&shape));
        Zip::from(&mut *grad_avg).and(&g).for_each(|m, &g| *m = lerp(*m, g, w));
        Zip::from(&*square_avg).and(&*grad_avg).map_collect(|&s, &m| addcmul(s, -F::one(), m, m).sqrt())
    } else {
        square_avg.mapv(F::sqrt)
    };
    // avg = avg.add_(eps)
    let eps = F::of(eps);
    avg.mapv_inplace(|v| v + eps);
    let neg_lr = F::of(-lr);
    if momentum > 0.0 {
        // buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
        let buf = st.momentum_buffer.get_or_insert_with(|| zeros(&shape));
        let m = F::of(momentum);
        Zip::from(&mut *buf).and(&g).and(&avg).for_each(|b, &g, &d| *b = addcdiv(*b * m, F::one(), g, d));
        Zip::from(p).and(&*buf).for_each(|p, &b| *p = add(*p, neg_lr, b));
    } else {
        // param.addcdiv_(grad, avg, value=-lr)
        Zip::from(p).and(&g).and(&avg).for_each(|p, &g, &d| *p = addcdiv(*p, neg_lr, g, d));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{run_quadratic, vec1};
    use crate::optim::{Optimizer, OptimizerConfig};

    #[test]
    fn rmsprop_first_step_by_hand() {
        let mut opt = Optimizer::new(OptimizerConfig::rmsprop()).unwrap();
        let mut p = vec1(&[1.0]);
        run_quadratic(&mut opt, &mut p, 0.01, 1);
        // square_avg = 0.01 * 1, p = 1 - 0.01 * 1 / (0.1 + 1e-8)
        assert!((p[0] - (1.0 - 0.01 / (0.1 + 1e-8))).abs() < 1e-12, "{}", p[0]);
    }
}
