//! Optimizers with PyTorch's update rules and defaults (SGD, Adam, AdamW, Adagrad, RMSprop) and
//! gradient clipping as in `torch.nn.utils`.
//!
//! Each update is the single-tensor code path of `torch/optim/{sgd,adam,adagrad,rmsprop}.py`
//! (`foreach=False`, `fused=False`, `maximize=False`, `differentiable=False`), one PyTorch line
//! after another, computed in the parameters' dtype the way PyTorch's CPU kernels compute:
//! hyper-parameters and step sizes are Python floats (`f64`) rounded to the dtype where a kernel
//! takes them; `add(alpha)`, `addcmul` and `lerp` round once (fused multiply-add); `addcdiv` is
//! `self + (value * t1) / t2`. `tests/optim_parity.rs` replays PyTorch's gradients through these
//! updates and gets PyTorch's parameters back to the last bit or two.
//!
//! The learning rate is not part of an [`OptimizerConfig`]: it is passed to every
//! [`Optimizer::step`], so a [`Schedule`](crate::schedule::Schedule) can change it.

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, Zip};
use serde::{Deserialize, Serialize};

mod clip;
mod config;

pub use clip::{clip_grad_norm, clip_grad_value, global_norm};
pub use config::OptimizerConfig;

use crate::{Error, Float, Result};
/// What a checkpoint needs besides the state tensors: the configuration and the step count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The optimizer.
    pub config: OptimizerConfig,
    /// Steps taken so far (PyTorch's per-parameter `step`).
    pub steps: u64,
}

/// One parameter's state, PyTorch's `optimizer.state[p]` (only the buffers the optimizer uses are
/// `Some`).
#[derive(Clone, Debug, Default, PartialEq)]
struct ParamState<F> {
    momentum_buffer: Option<ArrayD<F>>,
    exp_avg: Option<ArrayD<F>>,
    exp_avg_sq: Option<ArrayD<F>>,
    max_exp_avg_sq: Option<ArrayD<F>>,
    sum: Option<ArrayD<F>>,
    square_avg: Option<ArrayD<F>>,
    grad_avg: Option<ArrayD<F>>,
}

impl<F> ParamState<F> {
    fn slots(&mut self) -> [(&'static str, &mut Option<ArrayD<F>>); 7] {
        [
            ("momentum_buffer", &mut self.momentum_buffer),
            ("exp_avg", &mut self.exp_avg),
            ("exp_avg_sq", &mut self.exp_avg_sq),
            ("max_exp_avg_sq", &mut self.max_exp_avg_sq),
            ("sum", &mut self.sum),
            ("square_avg", &mut self.square_avg),
            ("grad_avg", &mut self.grad_avg),
        ]
    }
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

// PyTorch's CPU kernels, element by element. Scalars arrive already rounded to the dtype.

/// `x.add(y, alpha=a)`: `x + a * y` rounded once (the kernel is a fused multiply-add).
fn add<F: Float>(x: F, a: F, y: F) -> F {
    a.mul_add(y, x)
}
/// `s.addcmul(t1, t2, value=v)`: `s + (v * t1) * t2`, the last two operations fused.
fn addcmul<F: Float>(s: F, v: F, t1: F, t2: F) -> F {
    (v * t1).mul_add(t2, s)
}
/// `s.addcdiv(t1, t2, value=v)`: `s + (v * t1) / t2`.
fn addcdiv<F: Float>(s: F, v: F, t1: F, t2: F) -> F {
    s + v * t1 / t2
}
/// `s.lerp(e, w)`: `s + w (e - s)` for `|w| < 0.5`, else `e - (1 - w)(e - s)`, each fused.
fn lerp<F: Float>(s: F, e: F, w: F) -> F {
    if w.abs() < F::of(0.5) { w.mul_add(e - s, s) } else { (w - F::one()).mul_add(e - s, e) }
}
/// `torch.clamp(v, lo, hi)`: NaN stays NaN.
pub(crate) fn clamp<F: Float>(v: F, lo: F, hi: F) -> F {
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}
/// `torch.maximum`: NaN wins.
fn maximum<F: Float>(a: F, b: F) -> F {
    if a.is_nan() || b > a { b } else { a }
}

/// `grad.add(param, alpha=weight_decay)` when `weight_decay != 0` (a new tensor), else `grad`.
fn decayed<F: Float>(g: &ArrayViewD<'_, F>, p: &ArrayViewMutD<'_, F>, weight_decay: f64) -> ArrayD<F> {
    if weight_decay == 0.0 {
        return g.to_owned();
    }
    let wd = F::of(weight_decay);
    Zip::from(g).and(p).map_collect(|&g, &p| add(g, wd, p))
}

fn zeros<F: Float>(shape: &[usize]) -> ArrayD<F> {
    ArrayD::zeros(IxDyn(shape))
}

/// `_single_tensor_sgd` for one parameter.
#[allow(clippy::too_many_arguments)]
fn sgd<F: Float>(
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

/// `_single_tensor_adam` for one parameter (Adam, or AdamW with `decoupled_weight_decay`).
fn adam<F: Float>(
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

/// One Adam step over contiguous buffers: with the fused multiply-adds as instructions where
/// the CPU has them (the portable build would call `fmaf` in libm, a function call per
/// element).
fn adam_slices<F: Float>(buffers: AdamBuffers<'_, F>, k: &AdamScalars<F>) {
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

/// `_single_tensor_adagrad` for one parameter; `clr = lr / (1 + (step - 1) * lr_decay)`.
fn adagrad<F: Float>(
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

/// `_single_tensor_rmsprop` for one parameter.
fn rmsprop<F: Float>(
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
    use ndarray::{ArrayD, arr1};

    use super::*;

    fn vec1(v: &[f64]) -> ArrayD<f64> {
        arr1(v).into_dyn()
    }

    /// Runs `steps` steps on `f(p) = Σ p² / 2` (gradient `p`).
    fn run_quadratic(opt: &mut Optimizer<f64>, p: &mut ArrayD<f64>, lr: f64, steps: usize) {
        for _ in 0..steps {
            let g = p.clone();
            opt.step(lr, &mut [p.view_mut()], &[g.view()]).unwrap();
        }
    }

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

    #[test]
    fn adamw_decays_before_the_update() {
        let mut opt = Optimizer::new(OptimizerConfig::adamw().with_weight_decay(0.5)).unwrap();
        let mut p = vec1(&[1.0]);
        run_quadratic(&mut opt, &mut p, 0.1, 1);
        // p = 1 * (1 - 0.05) - 0.1 * 1 / (1 + 1e-8): the gradient is the undecayed one
        assert!((p[0] - (0.95 - 0.1 / (1.0 + 1e-8))).abs() < 1e-12, "{}", p[0]);
    }

    #[test]
    fn adagrad_and_rmsprop_first_steps_by_hand() {
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

        let mut opt = Optimizer::new(OptimizerConfig::rmsprop()).unwrap();
        let mut p = vec1(&[1.0]);
        run_quadratic(&mut opt, &mut p, 0.01, 1);
        // square_avg = 0.01 * 1, p = 1 - 0.01 * 1 / (0.1 + 1e-8)
        assert!((p[0] - (1.0 - 0.01 / (0.1 + 1e-8))).abs() < 1e-12, "{}", p[0]);
    }

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

    #[test]
    fn config_names_defaults_and_validation() {
        for name in ["sgd", "adam", "adamw", "adagrad", "rmsprop", "RMSprop"] {
            let c: OptimizerConfig = name.parse().unwrap();
            assert_eq!(c.name(), name.to_ascii_lowercase());
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<OptimizerConfig>(&json).unwrap(), c);
            // a bare name takes PyTorch's defaults
            let bare: OptimizerConfig = serde_json::from_str(&format!(r#"{{"name":"{}"}}"#, c.name())).unwrap();
            assert_eq!(bare, c);
        }
        assert!("lbfgs".parse::<OptimizerConfig>().is_err());
        let adam = |beta1: f64, eps: f64| OptimizerConfig::Adam {
            beta1,
            beta2: 0.999,
            eps,
            weight_decay: 0.0,
            amsgrad: false,
        };
        assert!(adam(1.0, 1e-8).validate().is_err());
        assert!(adam(-0.1, 1e-8).validate().is_err());
        assert!(adam(0.0, 1e-8).validate().is_ok());
        assert!(adam(0.9, -1e-8).validate().is_err());
        assert!(adam(0.9, f64::NAN).validate().is_err());
        let sgd = |momentum: f64, dampening: f64| OptimizerConfig::Sgd {
            momentum,
            dampening,
            nesterov: true,
            weight_decay: 0.0,
        };
        assert!(sgd(0.9, 0.1).validate().is_err());
        assert!(sgd(0.0, 0.0).validate().is_err());
        assert!(sgd(0.9, 0.0).validate().is_ok());
        assert!(OptimizerConfig::sgd().with_weight_decay(-1.0).validate().is_err());
        assert!(Optimizer::<f32>::new(OptimizerConfig::adagrad().with_weight_decay(-1.0)).is_err());
    }

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
