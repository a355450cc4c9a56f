//! The optimizer: PyTorch's optimizer with one parameter group, its per-parameter state and the
//! state's round trip through a checkpoint.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD};
use serde::{Deserialize, Serialize};

use super::OptimizerConfig;
use super::adagrad::adagrad;
use super::adam::adam;
use super::rmsprop::rmsprop;
use super::sgd::sgd;
use super::state::ParamState;
use crate::{Error, Float, Result};

/// What a checkpoint needs besides the state tensors: the configuration and the step count.
///
/// # Example
/// ```
/// use ndarray::{ArrayD, IxDyn};
/// use rnn::optim::{Optimizer, OptimizerConfig};
/// let mut opt = Optimizer::<f64>::new(OptimizerConfig::adam())?;
/// let mut p = ArrayD::<f64>::ones(IxDyn(&[2]));
/// let g = ArrayD::<f64>::from_elem(IxDyn(&[2]), 0.5);
/// opt.step(1e-2, &mut [p.view_mut()], &[g.view()])?;
/// let state = opt.state();
/// assert_eq!((state.steps, opt.steps_taken(), opt.config().name()), (1, 1, "adam"));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The optimizer.
    pub config: OptimizerConfig,
    /// Steps taken so far (PyTorch's per-parameter `step`).
    pub steps: u64,
}

/// An optimizer over a fixed list of parameter tensors (PyTorch's optimizer with one parameter
/// group), with its state.
///
/// # Example
/// Two steps of SGD with momentum on `f(p) = p² / 2` (gradient `p`):
/// ```
/// use ndarray::{arr1, ArrayD};
/// use rnn::optim::{Optimizer, OptimizerConfig};
/// let config = OptimizerConfig::Sgd { momentum: 0.9, dampening: 0.0, nesterov: false, weight_decay: 0.0 };
/// let mut opt = Optimizer::<f64>::new(config)?;
/// let mut p: ArrayD<f64> = arr1(&[1.0]).into_dyn();
/// for _ in 0..2 {
///     let g = p.clone();
///     opt.step(0.1, &mut [p.view_mut()], &[g.view()])?;
/// }
/// assert!((p[0] - 0.72).abs() < 1e-12); // 1 - 0.1 * 1 = 0.9, then 0.9 - 0.1 * (0.9 * 1 + 0.9)
/// assert_eq!(opt.steps_taken(), 2);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer<F: Float = f32> {
    config: OptimizerConfig,
    steps: u64,
    /// Parameter shapes, known from the first step (or a loaded state).
    shapes: Vec<Vec<usize>>,
    state: Vec<ParamState<F>>,
}

impl<F: Float> Optimizer<F> {
    /// A fresh optimizer; its state is created at the first step.
    ///
    /// # Errors
    /// [`Error::Config`] when a hyper-parameter is out of range ([`OptimizerConfig::validate`]).
    ///
    /// # Example
    /// ```
    /// use rnn::optim::{Optimizer, OptimizerConfig};
    /// let opt = Optimizer::<f32>::new(OptimizerConfig::adamw())?;
    /// assert_eq!(opt.steps_taken(), 0);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(config: OptimizerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Optimizer { config, steps: 0, shapes: Vec::new(), state: Vec::new() })
    }

    /// The configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Steps taken so far.
    ///
    /// # Example
    /// ```
    /// use ndarray::{ArrayD, IxDyn};
    /// use rnn::optim::{Optimizer, OptimizerConfig};
    /// let mut opt = Optimizer::<f32>::new(OptimizerConfig::sgd())?;
    /// let mut p = ArrayD::<f32>::zeros(IxDyn(&[3]));
    /// let g = ArrayD::<f32>::ones(IxDyn(&[3]));
    /// for _ in 0..3 {
    ///     opt.step(0.1, &mut [p.view_mut()], &[g.view()])?;
    /// }
    /// assert_eq!(opt.steps_taken(), 3);
    /// assert!((p[[0]] + 0.3).abs() < 1e-6);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn steps_taken(&self) -> u64 {
        self.steps
    }

    /// One update of every parameter from its gradient with learning rate `lr`, as
    /// `optimizer.step()` in PyTorch.
    ///
    /// `params` and `grads` are in the same order, the same on every call; the first call fixes
    /// the shapes.
    ///
    /// # Errors
    /// [`Error::Config`] when `lr` is negative or not finite, when the counts differ, or when a
    /// gradient's or parameter's shape differs from its parameter's (or from the first call's).
    /// Nothing is changed then.
    ///
    /// # Example
    /// ```
    /// use ndarray::{arr1, ArrayD};
    /// use rnn::optim::{Optimizer, OptimizerConfig};
    /// let mut opt = Optimizer::<f64>::new(OptimizerConfig::adam())?;
    /// let mut p: ArrayD<f64> = arr1(&[1.0, -1.0]).into_dyn();
    /// let g: ArrayD<f64> = arr1(&[0.5, -2.0]).into_dyn();
    /// opt.step(0.01, &mut [p.view_mut()], &[g.view()])?;
    /// // Adam's first step moves each entry by about lr against the sign of its gradient
    /// assert!((p[0] - 0.99).abs() < 1e-7 && (p[1] + 0.99).abs() < 1e-7);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn step(&mut self, lr: f64, params: &mut [ArrayViewMutD<'_, F>], grads: &[ArrayViewD<'_, F>]) -> Result<()> {
        if !(lr >= 0.0 && lr.is_finite()) {
            return Err(Error::Config(format!("learning rate must be finite and >= 0, got {lr}")));
        }
        self.check_shapes(params, grads)?;
        if self.state.is_empty() {
            self.shapes = params.iter().map(|p| p.shape().to_vec()).collect();
            self.state = vec![ParamState::default(); params.len()];
        }
        // PyTorch's `step_t += 1` comes first: `step` counts from 1
        let step = (self.steps + 1) as f64;
        for ((p, g), st) in params.iter_mut().zip(grads).zip(&mut self.state) {
            match self.config {
                OptimizerConfig::Sgd { momentum, dampening, nesterov, weight_decay } => {
                    sgd(p, g, st, lr, momentum, dampening, nesterov, weight_decay)
                }
                OptimizerConfig::Adam { .. } | OptimizerConfig::AdamW { .. } => adam(p, g, st, lr, step, &self.config),
                OptimizerConfig::Adagrad { lr_decay, weight_decay, initial_accumulator_value, eps } => {
                    let clr = lr / (1.0 + (step - 1.0) * lr_decay);
                    adagrad(p, g, st, clr, weight_decay, initial_accumulator_value, eps);
                }
                OptimizerConfig::RmsProp { .. } => rmsprop(p, g, st, lr, &self.config),
            }
        }
        self.steps += 1;
        Ok(())
    }

    fn check_shapes(&self, params: &[ArrayViewMutD<'_, F>], grads: &[ArrayViewD<'_, F>]) -> Result<()> {
        if params.len() != grads.len() {
            return Err(Error::Config(format!("optimizer: {} parameters but {} gradients", params.len(), grads.len())));
        }
        if !self.shapes.is_empty() && self.shapes.len() != params.len() {
            return Err(Error::Config(format!(
                "optimizer: its state is for {} parameters, got {}",
                self.shapes.len(),
                params.len()
            )));
        }
        for (i, (p, g)) in params.iter().zip(grads).enumerate() {
            if p.shape() != g.shape() {
                return Err(Error::Config(format!(
                    "optimizer: parameter {i} has shape {:?} but its gradient {:?}",
                    p.shape(),
                    g.shape()
                )));
            }
            if let Some(s) = self.shapes.get(i)
                && s.as_slice() != p.shape()
            {
                return Err(Error::Config(format!(
                    "optimizer: parameter {i} has shape {:?}, its state {s:?}",
                    p.shape()
                )));
            }
        }
        Ok(())
    }

    /// The configuration and step count, for a checkpoint (with [`Optimizer::state_tensors`]).
    ///
    /// # Example
    /// ```
    /// use rnn::optim::{Optimizer, OptimizerConfig};
    /// let opt = Optimizer::<f32>::new(OptimizerConfig::adam())?;
    /// let json = serde_json::to_string(&opt.state()).unwrap();
    /// assert!(json.starts_with(r#"{"config":{"name":"adam","beta1":0.9,"#) && json.ends_with(r#""steps":0}"#));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn state(&self) -> OptimizerState {
        OptimizerState { config: self.config.clone(), steps: self.steps }
    }

    /// The state buffers, named `"{index}.{buffer}"` with PyTorch's buffer names (`0.exp_avg`,
    /// `0.exp_avg_sq`, `3.momentum_buffer`, `1.sum`, ...); `index` is the parameter's position in
    /// the lists passed to [`Optimizer::step`]. Empty before the first step.
    ///
    /// # Example
    /// ```
    /// use ndarray::{arr1, ArrayD};
    /// use rnn::optim::{Optimizer, OptimizerConfig};
    /// let mut opt = Optimizer::<f32>::new(OptimizerConfig::adam())?;
    /// let mut p: ArrayD<f32> = arr1(&[1.0]).into_dyn();
    /// let g = p.clone();
    /// opt.step(0.1, &mut [p.view_mut()], &[g.view()])?;
    /// let names: Vec<String> = opt.state_tensors().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["0.exp_avg", "0.exp_avg_sq"]);
    /// // resume: a new optimizer with the same state takes bit-identical steps
    /// let resumed = Optimizer::from_state(opt.state(), opt.state_tensors())?;
    /// assert_eq!(resumed, opt);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn state_tensors(&self) -> Vec<(String, ArrayD<F>)> {
        let mut out = Vec::new();
        for (i, st) in self.state.iter().enumerate() {
            let mut st = st.clone();
            for (name, slot) in st.slots() {
                if let Some(t) = slot.take() {
                    out.push((format!("{i}.{name}"), t));
                }
            }
        }
        out
    }

    /// An optimizer resuming from a checkpoint: what [`Optimizer::state`] and
    /// [`Optimizer::state_tensors`] returned. Its next step is bit-identical to the one the saved
    /// optimizer would have taken.
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration is invalid; [`Error::Training`] when the tensors
    /// do not form this optimizer's state after `steps` steps (a name that is not
    /// `"{index}.{buffer}"`, a missing or unexpected buffer, shapes that disagree, or state
    /// tensors at step 0).
    ///
    /// # Example
    /// ```
    /// use rnn::optim::{Optimizer, OptimizerConfig, OptimizerState};
    /// let state = OptimizerState { config: OptimizerConfig::sgd(), steps: 5 }; // SGD keeps no buffers
    /// let opt = Optimizer::<f32>::from_state(state, Vec::new())?;
    /// assert_eq!(opt.steps_taken(), 5);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn from_state(state: OptimizerState, tensors: Vec<(String, ArrayD<F>)>) -> Result<Self> {
        let mut opt = Optimizer::new(state.config)?;
        opt.steps = state.steps;
        let bad = |msg: String| Error::Training(format!("optimizer state: {msg}"));
        let expected = opt.config.buffers();
        if tensors.is_empty() {
            if state.steps > 0 && !expected.is_empty() {
                return Err(bad(format!(
                    "{} after {} steps needs its {} tensors",
                    opt.config.name(),
                    state.steps,
                    expected.join(", ")
                )));
            }
            return Ok(opt);
        }
        if state.steps == 0 {
            return Err(bad("tensors given for an optimizer that has taken no step".into()));
        }
        for (name, t) in tensors {
            let parsed = name
                .split_once('.')
                .and_then(|(i, b)| Some((i.parse::<usize>().ok()?, b)))
                .filter(|(_, b)| expected.contains(b));
            let Some((i, buffer)) = parsed else {
                return Err(bad(format!(
                    "unexpected tensor `{name}` for {} (expected `INDEX.{}`)",
                    opt.config.name(),
                    expected.join("|")
                )));
            };
            if opt.state.len() <= i {
                opt.state.resize(i + 1, ParamState::default());
                opt.shapes.resize(i + 1, Vec::new());
            }
            if opt.state[i].slots().iter().any(|(_, s)| s.is_some()) && opt.shapes[i] != t.shape() {
                return Err(bad(format!(
                    "`{name}` has shape {:?} but the other buffers of parameter {i} {:?}",
                    t.shape(),
                    opt.shapes[i]
                )));
            }
            opt.shapes[i] = t.shape().to_vec();
            let mut slots = opt.state[i].slots();
            let slot = slots.iter_mut().find(|(n, _)| *n == buffer).map(|(_, s)| s);
            if let Some(slot) = slot {
                if slot.is_some() {
                    return Err(bad(format!("`{name}` appears twice")));
                }
                **slot = Some(t);
            }
        }
        for (i, st) in opt.state.iter_mut().enumerate() {
            for (name, slot) in st.slots() {
                if expected.contains(&name) && slot.is_none() {
                    return Err(bad(format!("tensor `{i}.{name}` is missing")));
                }
            }
        }
        Ok(opt)
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn};

    use super::*;
    use crate::optim::test_util::vec1;

    #[test]
    fn state_round_trip_resumes_bit_identically() {
        let configs = [
            OptimizerConfig::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01, amsgrad: true },
            OptimizerConfig::RmsProp { alpha: 0.9, eps: 1e-8, weight_decay: 0.0, momentum: 0.5, centered: true },
            OptimizerConfig::Sgd { momentum: 0.9, dampening: 0.0, nesterov: true, weight_decay: 0.0 },
            OptimizerConfig::adagrad(),
        ];
        for config in configs {
            let mut a = Optimizer::<f32>::new(config).unwrap();
            let mut pa = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] as f32 - 0.5) * (i[1] as f32 + 1.0));
            let mut qa = ArrayD::from_elem(IxDyn(&[4]), 0.25f32);
            let go = |opt: &mut Optimizer<f32>, p: &mut ArrayD<f32>, q: &mut ArrayD<f32>| {
                let (gp, gq) = (p.mapv(|v| v.sin()), q.mapv(|v| v * v - 1.0));
                opt.step(0.05, &mut [p.view_mut(), q.view_mut()], &[gp.view(), gq.view()]).unwrap();
            };
            for _ in 0..3 {
                go(&mut a, &mut pa, &mut qa);
            }
            let json = serde_json::to_string(&a.state()).unwrap();
            let mut b = Optimizer::from_state(serde_json::from_str(&json).unwrap(), a.state_tensors()).unwrap();
            assert_eq!(b, a);
            let (mut pb, mut qb) = (pa.clone(), qa.clone());
            for _ in 0..2 {
                go(&mut a, &mut pa, &mut qa);
                go(&mut b, &mut pb, &mut qb);
            }
            assert_eq!((pa, qa), (pb, qb), "{}", a.config().name());
            assert_eq!(b.steps_taken(), 5);
        }
    }

    #[test]
    fn bad_states_are_errors() {
        let state = OptimizerState { config: OptimizerConfig::adam(), steps: 2 };
        let t = ArrayD::<f32>::zeros(IxDyn(&[3]));
        let from = |tensors: Vec<(&str, ArrayD<f32>)>| {
            let tensors = tensors.into_iter().map(|(n, t)| (n.to_string(), t)).collect();
            Optimizer::<f32>::from_state(state.clone(), tensors)
        };
        assert!(from(vec![]).is_err()); // missing after 2 steps
        assert!(from(vec![("0.exp_avg", t.clone())]).is_err()); // exp_avg_sq missing
        assert!(from(vec![("0.exp_avg", t.clone()), ("0.sum", t.clone())]).is_err());
        let wrong = ArrayD::<f32>::zeros(IxDyn(&[2]));
        assert!(from(vec![("0.exp_avg", t.clone()), ("0.exp_avg_sq", wrong)]).is_err());
        assert!(from(vec![("0.exp_avg", t.clone()), ("0.exp_avg_sq", t.clone())]).is_ok());
    }

    #[test]
    fn shape_mismatches_are_errors() {
        let mut opt = Optimizer::<f64>::new(OptimizerConfig::adam()).unwrap();
        let mut p = vec1(&[1.0, 2.0]);
        let g3 = vec1(&[1.0, 2.0, 3.0]);
        assert!(matches!(opt.step(0.1, &mut [p.view_mut()], &[g3.view()]), Err(Error::Config(_))));
        assert!(opt.step(0.1, &mut [p.view_mut()], &[]).is_err());
        let g = p.clone();
        assert!(opt.step(-0.1, &mut [p.view_mut()], &[g.view()]).is_err());
        opt.step(0.1, &mut [p.view_mut()], &[g.view()]).unwrap();
        let (mut p3, g3b) = (g3.clone(), g3.clone());
        assert!(opt.step(0.1, &mut [p3.view_mut()], &[g3b.view()]).is_err()); // not the first call's shape
        assert_eq!(opt.steps_taken(), 1);
    }
}
