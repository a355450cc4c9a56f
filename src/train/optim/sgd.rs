//! SGD with momentum, dampening, Nesterov and weight decay (`torch/optim/sgd.py`).

use ndarray::{ArrayViewD, ArrayViewMutD, Zip};

use super::ops::{add, decayed};
use super::state::ParamState;
use crate::Float;

/// `_single_tensor_sgd` for one parameter.
#[allow(clippy::too_many_arguments)]
pub(super) fn sgd<F: Float>(
    p: &mut ArrayViewMutD<'_, F>,
    g: &ArrayViewD<'_, F>,
    st: &mut ParamState<F>,
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
) {
    let mut g = decayed(g, p, weight_decay);
    if momentum != 0.0 {
        let m = F::of(momentum);
        match &mut st.momentum_buffer {
            // first step: buf = grad.clone() (no dampening)
            None => st.momentum_buffer = Some(g.clone()),
            // buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            Some(buf) => {
                let keep = F::of(1.0 - dampening);
                Zip::from(buf).and(&g).for_each(|b, &g| *b = add(*b * m, keep, g));
            }
        }
        let buf = st.momentum_buffer.as_ref().expect("set above");
        if nesterov {
            // grad = grad.add(buf, alpha=momentum)
            Zip::from(&mut g).and(buf).for_each(|g, &b| *g = add(*g, m, b));
        } else {
            g.assign(buf);
        }
    }
    // param.add_(grad, alpha=-lr)
    let neg_lr = F::of(-lr);
    Zip::from(p).and(&g).for_each(|p, &g| *p = add(*p, neg_lr, g));
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{run_quadratic, vec1};
    use crate::optim::{Optimizer, OptimizerConfig};

    #[test]
    fn sgd_momentum_dampening_weight_decay_by_hand() {
        let config = OptimizerConfig::Sgd { momentum: 0.9, dampening: 0.5, nesterov: false, weight_decay: 0.1 };
        let mut opt = Optimizer::new(config).unwrap();
        let mut p = vec1(&[1.0]);
        run_quadratic(&mut opt, &mut p, 0.1, 2);
        // step 1: g = 1 + 0.1 * 1 = 1.1, buf = 1.1 (no dampening), p = 1 - 0.11 = 0.89
        // step 2: g = 0.89 * 1.1 = 0.979, buf = 0.9 * 1.1 + 0.5 * 0.979 = 1.4795, p = 0.89 - 0.14795
        assert!((p[0] - 0.74205).abs() < 1e-12, "{}", p[0]);
    }

    #[test]
    fn sgd_nesterov_by_hand() {
        let config = OptimizerConfig::Sgd { momentum: 0.5, dampening: 0.0, nesterov: true, weight_decay: 0.0 };
        let mut opt = Optimizer::new(config).unwrap();
        let mut p = vec1(&[2.0]);
        run_quadratic(&mut opt, &mut p, 0.1, 2);
        // step 1: buf = 2, g = 2 + 0.5 * 2 = 3, p = 1.7
        // step 2: buf = 0.5 * 2 + 1.7 = 2.7, g = 1.7 + 1.35 = 3.05, p = 1.7 - 0.305 = 1.395
        assert!((p[0] - 1.395).abs() < 1e-12, "{}", p[0]);
    }
}
