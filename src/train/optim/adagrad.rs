//! Adagrad (`torch/optim/adagrad.py`).

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, Zip};

use super::ops::{addcdiv, addcmul, decayed};
use super::state::ParamState;
use crate::Float;

/// `_single_tensor_adagrad` for one parameter; `clr = lr / (1 + (step - 1) * lr_decay)`.
pub(super) fn adagrad<F: Float>(
    p: &mut ArrayViewMutD<'_, F>,
    g: &ArrayViewD<'_, F>,
    st: &mut ParamState<F>,
    clr: f64,
    weight_decay: f64,
    initial_accumulator_value: f64,
    eps: f64,
) {
    let sum = st.sum.get_or_insert_with(|| ArrayD::from_elem(IxDyn(p.shape()), F::of(initial_accumulator_value)));
    let g = decayed(g, p, weight_decay);
    // state_sum.addcmul_(grad, grad, value=1)
    Zip::from(&mut *sum).and(&g).for_each(|s, &g| *s = addcmul(*s, F::one(), g, g));
    // std = state_sum.sqrt().add_(eps); param.addcdiv_(grad, std, value=-clr)
    let (eps, neg_clr) = (F::of(eps), F::of(-clr));
    Zip::from(p).and(&g).and(&*sum).for_each(|p, &g, &s| *p = addcdiv(*p, neg_clr, g, s.sqrt() + eps));
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{run_quadratic, vec1};
    use crate::optim::{Optimizer, OptimizerConfig};

    #[test]
    fn adagrad_first_steps_by_hand() {
        let config =
            OptimizerConfig::Adagrad { lr_decay: 0.5, weight_decay: 0.0, initial_accumulator_value: 0.21, eps: 1e-10 };
        let mut opt = Optimizer::new(config).unwrap();
        let mut p = vec1(&[2.0]);
        run_quadratic(&mut opt, &mut p, 0.1, 2);
        // step 1: sum = 0.21 + 4 = 4.21, p = 2 - 0.1 * 2 / sqrt(4.21)
        let p1 = 2.0 - 0.2 / (4.21f64.sqrt() + 1e-10);
        // step 2: clr = 0.1 / 1.5
        let p2 = p1 - 0.1 / 1.5 * p1 / ((4.21 + p1 * p1).sqrt() + 1e-10);
        assert!((p[0] - p2).abs() < 1e-12, "{} vs {p2}", p[0]);
    }
}
