//! Losses and their gradients: mean squared error, mean absolute error and softmax
//! cross-entropy from logits, each with an optional mask so padded steps count for nothing.
//!
//! All reduce by the mean over what counts, as PyTorch's `reduction="mean"`: MSE and MAE over
//! every output element of the unmasked steps, cross-entropy over the unmasked steps.
//!
//! # Example
//! ```
//! use ndarray::array;
//! use rnn::loss::{Loss, TargetView};
//! // one step of one sequence, two outputs: `[steps, batch, outputs]`
//! let y = array![[[0.5f64, 1.0]]];
//! let t = array![[[0.0f64, 0.0]]];
//! let v = Loss::Mae.compute(y.view(), TargetView::Values(t.view()), None)?;
//! assert_eq!(v.loss, 0.75);
//! assert_eq!(v.grad, array![[[0.5, 0.5]]]); // sign(y - t) / 2
//! # Ok::<(), rnn::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use ndarray::{Array3, ArrayView2, ArrayView3, Zip};
use serde::{Deserialize, Serialize};

pub use crate::data::TargetView;
use crate::{Error, Float, Result};

/// A training loss.
///
/// # Example
/// ```
/// use rnn::loss::Loss;
/// let loss: Loss = "cross_entropy".parse()?;
/// assert_eq!((loss, loss.name()), (Loss::CrossEntropy, "cross_entropy"));
/// assert!("hinge".parse::<Loss>().is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Loss {
    /// `mean((y - t)²)`, PyTorch's `MSELoss`.
    #[default]
    Mse,
    /// `mean(|y - t|)`, PyTorch's `L1Loss`.
    Mae,
    /// `mean(logsumexp(y) - y[class])`, PyTorch's `CrossEntropyLoss` on logits.
    CrossEntropy,
}

impl Loss {
    /// The name used on the command line and in logs.
    ///
    /// # Example
    /// ```
    /// use rnn::loss::Loss;
    /// assert_eq!(Loss::Mae.name(), "mae");
    /// assert_eq!(Loss::Mae.name().parse::<Loss>()?, Loss::Mae);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::CrossEntropy => "cross_entropy",
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mse" => Ok(Loss::Mse),
            "mae" | "l1" => Ok(Loss::Mae),
            "cross_entropy" | "cross-entropy" | "ce" => Ok(Loss::CrossEntropy),
            other => Err(Error::Config(format!("unknown loss `{other}` (expected mse, mae or cross_entropy)"))),
        }
    }
}

/// A loss value and its gradient with respect to the model's output.
///
/// # Example
/// ```
/// use ndarray::{array, Array2};
/// use rnn::loss::{Loss, TargetView};
/// let y = array![[[2.0f64, 0.0]], [[0.0, 2.0]]]; // 2 steps, 1 sequence, 2 classes
/// let classes = Array2::from_shape_vec((2, 1), vec![0usize, 0]).map_err(|e| rnn::Error::Config(e.to_string()))?;
/// let mask = array![[1.0], [0.0]]; // the second step does not count
/// let v = Loss::CrossEntropy.compute(y.view(), TargetView::Classes(classes.view()), Some(mask.view()))?;
/// assert_eq!((v.count, v.correct), (1.0, Some(1)));
/// assert!(v.grad.slice(ndarray::s![1, .., ..]).iter().all(|g| *g == 0.0));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LossValue<F> {
    /// The mean loss over what counts (0 when nothing counts).
    pub loss: f64,
    /// dL/dy, same shape as `y`.
    pub grad: Array3<F>,
    /// How many steps (rows of `[steps, batch]`) counted.
    pub count: f64,
    /// Correct arg-max predictions among the counted steps (cross-entropy only).
    pub correct: Option<usize>,
}

impl Loss {
    /// The loss of `y` against `target` and its gradient.
    ///
    /// # Shapes
    /// `y [steps, batch, output_size]`; `target` `[steps, batch, output_size]` values or
    /// `[steps, batch]` classes; `mask [steps, batch]` of 0/1 weights (all ones when `None`).
    ///
    /// # Errors
    /// [`Error::Shape`] when shapes disagree or the target kind does not suit the loss;
    /// [`Error::Config`] when a class index is out of range.
    ///
    /// # Example
    /// ```
    /// use ndarray::array;
    /// use rnn::loss::{Loss, TargetView};
    /// let y = array![[[1.0f64, 2.0]]];
    /// let t = array![[[0.0f64, 0.0]]];
    /// let v = Loss::Mse.compute(y.view(), TargetView::Values(t.view()), None)?;
    /// assert_eq!(v.loss, 2.5);
    /// assert_eq!(v.grad, array![[[1.0, 2.0]]]); // 2 (y - t) / 2
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn compute<F: Float>(
        self,
        y: ArrayView3<'_, F>,
        target: TargetView<'_, F>,
        mask: Option<ArrayView2<'_, F>>,
    ) -> Result<LossValue<F>> {
        let (steps, batch, outputs) = y.dim();
        if let Some(m) = &mask
            && m.shape() != [steps, batch]
        {
            return Err(Error::shape("mask", format!("[{steps}, {batch}]"), m.shape()));
        }
        let weight = |s: usize, b: usize| mask.as_ref().map_or(1.0, |m| m[[s, b]].to_f64_lossless());
        let count: f64 = (0..steps).flat_map(|s| (0..batch).map(move |b| (s, b))).map(|(s, b)| weight(s, b)).sum();
        let mut grad = Array3::<F>::zeros(y.raw_dim());
        if count == 0.0 {
            return Ok(LossValue { loss: 0.0, grad, count, correct: None });
        }
        let mut total = 0.0f64;
        let mut correct = None;
        match (self, target) {
            (Loss::Mse | Loss::Mae, TargetView::Values(t)) => {
                if t.shape() != y.shape() {
                    return Err(Error::shape("target", format!("{:?}", y.shape()), t.shape()));
                }
                let n = count * outputs as f64;
                for s in 0..steps {
                    for b in 0..batch {
                        let w = weight(s, b);
                        if w == 0.0 {
                            continue;
                        }
                        for o in 0..outputs {
                            let d = y[[s, b, o]].to_f64_lossless() - t[[s, b, o]].to_f64_lossless();
                            let (l, g) = match self {
                                // d/dy (y - t)² = 2 (y - t)
                                Loss::Mse => (d * d, 2.0 * d),
                                // d/dy |y - t| = sign(y - t), 0 at 0 as in PyTorch
                                _ => (
                                    d.abs(),
                                    if d > 0.0 {
                                        1.0
                                    } else if d < 0.0 {
                                        -1.0
                                    } else {
                                        0.0
                                    },
                                ),
                            };
                            total += w * l;
                            grad[[s, b, o]] = F::of(w * g / n);
                        }
                    }
                }
                total /= n;
            }
            (Loss::CrossEntropy, TargetView::Classes(c)) => {
                if c.shape() != [steps, batch] {
                    return Err(Error::shape("target classes", format!("[{steps}, {batch}]"), c.shape()));
                }
                let mut hits = 0;
                for s in 0..steps {
                    for b in 0..batch {
                        let class = c[[s, b]];
                        if class >= outputs {
                            return Err(Error::Config(format!("class {class} out of range for {outputs} outputs")));
                        }
                        let w = weight(s, b);
                        if w == 0.0 {
                            continue;
                        }
                        let logits = y.slice(ndarray::s![s, b, ..]);
                        // log-sum-exp shifted by the maximum: no overflow for large logits
                        let max = logits.iter().map(|v| v.to_f64_lossless()).fold(f64::NEG_INFINITY, f64::max);
                        let sum: f64 = logits.iter().map(|v| (v.to_f64_lossless() - max).exp()).sum();
                        let lse = max + sum.ln();
                        total += w * (lse - logits[class].to_f64_lossless());
                        let argmax =
                            logits.iter().enumerate().fold(0, |best, (i, v)| if *v > logits[best] { i } else { best });
                        hits += usize::from(argmax == class);
                        // d/dy = softmax(y) - onehot(class)
                        Zip::indexed(grad.slice_mut(ndarray::s![s, b, ..])).and(&logits).for_each(|i, g, v| {
                            let p = (v.to_f64_lossless() - lse).exp();
                            *g = F::of(w * (p - if i == class { 1.0 } else { 0.0 }) / count);
                        });
                    }
                }
                total /= count;
                correct = Some(hits);
            }
            (Loss::CrossEntropy, TargetView::Values(t)) => {
                return Err(Error::shape("target", "[steps, batch] class indices for cross-entropy", t.shape()));
            }
            (_, TargetView::Classes(c)) => {
                return Err(Error::shape("target", format!("real values {:?} for {self}", y.shape()), c.shape()));
            }
        }
        Ok(LossValue { loss: total, grad, count, correct })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    fn numeric_grad(
        loss: Loss,
        y: &Array3<f64>,
        t: TargetView<'_, f64>,
        mask: Option<ArrayView2<'_, f64>>,
    ) -> Array3<f64> {
        let mut g = Array3::zeros(y.raw_dim());
        let eps = 1e-6;
        for (i, gv) in g.iter_mut().enumerate() {
            let mut yp = y.clone();
            yp.as_slice_mut().unwrap()[i] += eps;
            let mut ym = y.clone();
            ym.as_slice_mut().unwrap()[i] -= eps;
            *gv = (loss.compute(yp.view(), t, mask).unwrap().loss - loss.compute(ym.view(), t, mask).unwrap().loss)
                / (2.0 * eps);
        }
        g
    }

    #[test]
    fn gradients_match_finite_differences_with_mask() {
        let y = Array3::from_shape_fn((3, 2, 4), |(s, b, o)| ((s * 7 + b * 3 + o) as f64 * 0.37).sin() * 2.0);
        let t = Array3::from_shape_fn((3, 2, 4), |(s, b, o)| ((s + b * 5 + o * 2) as f64 * 0.11).cos());
        let classes = array![[0usize, 3], [2, 1], [3, 3]];
        let mask = array![[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        for m in [None, Some(mask.view())] {
            for (loss, target) in [
                (Loss::Mse, TargetView::Values(t.view())),
                (Loss::Mae, TargetView::Values(t.view())),
                (Loss::CrossEntropy, TargetView::Classes(classes.view())),
            ] {
                let v = loss.compute(y.view(), target, m).unwrap();
                let n = numeric_grad(loss, &y, target, m);
                for (a, b) in v.grad.iter().zip(n.iter()) {
                    assert!((a - b).abs() < 1e-7, "{loss}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn masked_steps_count_for_nothing() {
        let y = array![[[1.0f64], [5.0]]];
        let t = array![[[0.0f64], [0.0]]];
        let mask = array![[1.0, 0.0]];
        let v = Loss::Mse.compute(y.view(), TargetView::Values(t.view()), Some(mask.view())).unwrap();
        assert_eq!(v.loss, 1.0);
        assert_eq!(v.grad[[0, 1, 0]], 0.0);
        let none = Array2::<f64>::zeros((1, 2));
        assert_eq!(Loss::Mse.compute(y.view(), TargetView::Values(t.view()), Some(none.view())).unwrap().loss, 0.0);
    }

    #[test]
    fn cross_entropy_is_stable_and_matches_pytorch_values() {
        // torch.nn.functional.cross_entropy(torch.tensor([[1000., 0., -1000.]]), torch.tensor([1])) = 1000.
        let y = array![[[1000.0f32, 0.0, -1000.0]]];
        let c = array![[1usize]];
        let v = Loss::CrossEntropy.compute(y.view(), TargetView::Classes(c.view()), None).unwrap();
        assert!((v.loss - 1000.0).abs() < 1e-9);
        assert!(v.grad.iter().all(|g| g.is_finite()));
        // F.cross_entropy(torch.tensor([[1., 2., 3.]]), torch.tensor([0])) = 2.40760596
        let y = array![[[1.0f64, 2.0, 3.0]]];
        let c = array![[0usize]];
        let v = Loss::CrossEntropy.compute(y.view(), TargetView::Classes(c.view()), None).unwrap();
        assert!((v.loss - 2.407_605_964_444_38).abs() < 1e-12);
        assert_eq!(v.correct, Some(0));
    }

    #[test]
    fn wrong_kinds_and_classes_are_errors() {
        let y = array![[[1.0f64, 2.0]]];
        assert!(Loss::CrossEntropy.compute(y.view(), TargetView::Values(y.view()), None).is_err());
        let c = array![[5usize]];
        assert!(Loss::CrossEntropy.compute(y.view(), TargetView::Classes(c.view()), None).is_err());
        assert!(Loss::Mse.compute(y.view(), TargetView::Classes(c.view()), None).is_err());
    }
}
