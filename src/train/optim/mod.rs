//! Optimizers with PyTorch's update rules and defaults (SGD, Adam, AdamW, Adagrad, RMSprop) and
//! gradient clipping as in `torch.nn.utils`.
//!
//! Each update is the single-tensor code path of `torch/optim/{sgd,adam,adagrad,rmsprop}.py`
//! (`foreach=False`, `fused=False`, `maximize=False`, `differentiable=False`), one PyTorch line
//! after another, computed in the parameters' dtype the way PyTorch's CPU kernels compute:
//! hyper-parameters and step sizes are Python floats (`f64`) rounded to the dtype where a kernel
//! takes them; `add(alpha)`, `addcmul` and `lerp` round once (fused multiply-add); `addcdiv` is
//! `self + (value * t1) / t2`. `tests/it/optim_parity.rs` replays PyTorch's gradients through these
//! updates and gets PyTorch's parameters back to the last bit or two.
//!
//! The learning rate is not part of an [`OptimizerConfig`]: it is passed to every
//! [`Optimizer::step`], so a [`Schedule`](crate::train::schedule::Schedule) can change it.
//!
//! One file per update rule (`sgd`, `adam` (and AdamW), `adagrad`, `rmsprop`), the
//! PyTorch kernels they share (`ops`), the [`Optimizer`] that holds their state, its
//! [`OptimizerConfig`] and gradient clipping.
//!
//! # Example
//! ```
//! use ndarray::{ArrayD, arr1};
//! use rnn::optim::{Optimizer, OptimizerConfig, clip_grad_norm};
//! // minimise f(p) = p² / 2 (gradient p) with Adam
//! let mut opt = Optimizer::<f64>::new(OptimizerConfig::adam())?;
//! let mut p: ArrayD<f64> = arr1(&[1.0, -2.0]).into_dyn();
//! for _ in 0..10 {
//!     let mut g = p.clone();
//!     clip_grad_norm(&mut [g.view_mut()], 1.0);
//!     opt.step(0.1, &mut [p.view_mut()], &[g.view()])?;
//! }
//! assert!(p[0].abs() < 1.0 && p[1].abs() < 2.0);
//! # Ok::<(), rnn::Error>(())
//! ```

mod adagrad;
mod adam;
mod clip;
mod config;
mod ops;
mod optimizer;
mod rmsprop;
mod sgd;
mod state;

pub use clip::{clip_grad_norm, clip_grad_value, global_norm};
pub use config::OptimizerConfig;
pub use optimizer::{Optimizer, OptimizerState};

/// Helpers of the unit tests of every update rule.
#[cfg(test)]
mod test_util {
    use ndarray::{ArrayD, arr1};

    use super::Optimizer;

    pub(super) fn vec1(v: &[f64]) -> ArrayD<f64> {
        arr1(v).into_dyn()
    }

    /// Runs `steps` steps on `f(p) = Σ p² / 2` (gradient `p`).
    pub(super) fn run_quadratic(opt: &mut Optimizer<f64>, p: &mut ArrayD<f64>, lr: f64, steps: usize) {
        for _ in 0..steps {
            let g = p.clone();
            opt.step(lr, &mut [p.view_mut()], &[g.view()]).unwrap();
        }
    }
}
