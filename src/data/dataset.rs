//! In-memory sequence datasets (`[N, T, I]` inputs with targets) and their mini-batches in the
//! time-major layout the model computes in.
//!
//! # Example
//! ```
//! use ndarray::{Array2, Array3};
//! use rnn::data::{Dataset, Targets};
//! let x = Array3::<f32>::zeros((6, 5, 2)); // 6 sequences of 5 steps, 2 features: `[N, T, I]`
//! let data = Dataset::new(x, Targets::Classes(Array2::zeros((6, 1))), None)?; // a class per sequence
//! let (train, val) = (data.subset(&[0, 1, 2, 3]), data.subset(&[4, 5]));
//! assert_eq!(train.batch(&[3, 0]).x.dim(), (5, 2, 2)); // `[T, B, I]`
//! assert_eq!(val.len(), 2);
//! # Ok::<(), rnn::Error>(())
//! ```

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, s};

use crate::{Error, Float, Readout, Result};

/// What the model's output is compared with.
///
/// # Example
/// ```
/// use ndarray::{Array2, Array3};
/// use rnn::loss::{Loss, TargetView};
/// let y = Array3::<f64>::zeros((1, 2, 3)); // logits of 3 classes, 1 step, 2 sequences
/// let classes = Array2::<usize>::from_shape_vec((1, 2), vec![0, 2]).map_err(|e| rnn::Error::Config(e.to_string()))?;
/// let v = Loss::CrossEntropy.compute(y.view(), TargetView::Classes(classes.view()), None)?;
/// assert!((v.loss - 3f64.ln()).abs() < 1e-12); // uniform over 3 classes
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub enum TargetView<'a, F> {
    /// Real values `[steps, batch, output_size]` (MSE, MAE).
    Values(ArrayView3<'a, F>),
    /// Class indices `[steps, batch]` (cross-entropy).
    Classes(ArrayView2<'a, usize>),
}

/// Targets of a dataset: one row per sequence.
///
/// # Example
/// ```
/// use ndarray::{Array2, Array3};
/// use rnn::Readout;
/// use rnn::data::{Dataset, Targets};
/// let x = Array3::<f32>::zeros((10, 6, 2)); // 10 sequences of 6 steps
/// // a value at every step, or one class per sequence (read at the last step)
/// let every = Dataset::new(x.clone(), Targets::Values(Array3::zeros((10, 6, 1))), None)?;
/// let last = Dataset::new(x.clone(), Targets::Classes(Array2::zeros((10, 1))), None)?;
/// assert_eq!((every.readout(), last.readout()), (Readout::EveryStep, Readout::LastStep));
/// assert!(Dataset::new(x, Targets::Values(Array3::zeros((10, 3, 1))), None).is_err()); // neither 6 nor 1
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<F = f32> {
    /// Real values `[N, S, O]`: `S = T` for a target at every step, `S = 1` for the last step.
    Values(Array3<F>),
    /// Class indices `[N, S]`, same convention for `S`.
    Classes(Array2<usize>),
}

impl<F: Float> Targets<F> {
    fn rows(&self) -> usize {
        match self {
            Targets::Values(v) => v.shape()[0],
            Targets::Classes(c) => c.shape()[0],
        }
    }
    fn steps(&self) -> usize {
        match self {
            Targets::Values(v) => v.shape()[1],
            Targets::Classes(c) => c.shape()[1],
        }
    }
}

/// A batch of sequences, time-major as the model takes them.
///
/// # Example
/// ```
/// use ndarray::{Array2, Array3};
/// use rnn::data::{Dataset, Targets};
/// use rnn::loss::TargetView;
/// let x = Array3::<f32>::from_shape_fn((4, 3, 1), |(n, t, _)| (10 * n + t) as f32);
/// let mask = Array2::<f32>::from_shape_fn((4, 3), |(_, t)| if t == 0 { 0.0 } else { 1.0 });
/// let data = Dataset::new(x.clone(), Targets::Values(x), Some(mask))?;
/// let batch = data.batch(&[3, 1]);
/// assert_eq!((batch.len(), batch.target_steps(), batch.is_empty()), (2, 3, false));
/// assert_eq!(batch.x[[2, 0, 0]], 32.0); // time-major: step 2 of sequence 3
/// let TargetView::Values(t) = batch.target_view(1..3) else { unreachable!() };
/// assert_eq!(t.dim(), (2, 2, 1));
/// assert_eq!(batch.mask_view(0..1).map(|m| m.sum()), Some(0.0));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Batch<F = f32> {
    /// `[T, B, I]`.
    pub x: Array3<F>,
    /// `[S, B, O]` values or `[S, B]` classes.
    pub targets: Targets<F>,
    /// `[S, B]` 0/1 weights of the target steps, when the dataset has a mask.
    pub mask: Option<Array2<F>>,
}

impl<F: Float> Batch<F> {
    /// The sequences in the batch.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((5, 3, 1));
    /// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
    /// assert_eq!(data.batch(&[4, 0, 2]).len(), 3);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.x.shape()[1]
    }
    /// Whether the batch is empty.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((5, 3, 1));
    /// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
    /// assert!(data.batch(&[]).is_empty());
    /// assert!(!data.batch(&[1]).is_empty());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The target steps (`T` for a target at every step, 1 for the last step only).
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array2, Array3};
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((4, 6, 2));
    /// let every = Dataset::new(x.clone(), Targets::Classes(Array2::zeros((4, 6))), None)?;
    /// let last = Dataset::new(x, Targets::Classes(Array2::zeros((4, 1))), None)?;
    /// assert_eq!(every.batch(&[0, 1]).target_steps(), 6);
    /// assert_eq!(last.batch(&[0, 1]).target_steps(), 1);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn target_steps(&self) -> usize {
        // a batch's targets are time-major: their first axis is the steps
        self.targets.rows()
    }
    /// The targets of steps `range` (a per-step target) as the loss takes them.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array2, Array3};
    /// use rnn::data::{Dataset, Targets};
    /// use rnn::loss::TargetView;
    /// let x = Array3::<f32>::zeros((3, 4, 1));
    /// let classes = Array2::from_shape_fn((3, 4), |(n, t)| n + t);
    /// let batch = Dataset::new(x, Targets::Classes(classes), None)?.batch(&[2, 0]);
    /// // steps 1 and 2 of a truncated-BPTT window, time-major `[steps, batch]`
    /// let TargetView::Classes(c) = batch.target_view(1..3) else { unreachable!() };
    /// assert_eq!(c, ndarray::arr2(&[[3, 1], [4, 2]]));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn target_view(&self, range: std::ops::Range<usize>) -> TargetView<'_, F> {
        match &self.targets {
            Targets::Values(v) => TargetView::Values(v.slice(s![range, .., ..])),
            Targets::Classes(c) => TargetView::Classes(c.slice(s![range, ..])),
        }
    }
    /// The mask of steps `range`.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((2, 3, 1));
    /// let mask = ndarray::arr2(&[[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]); // `[N, T]`
    /// let batch = Dataset::new(x.clone(), Targets::Values(x), Some(mask))?.batch(&[0, 1]);
    /// assert_eq!(batch.mask_view(1..3).map(|m| m.to_owned()), Some(ndarray::arr2(&[[1.0, 0.0], [1.0, 1.0]])));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn mask_view(&self, range: std::ops::Range<usize>) -> Option<ArrayView2<'_, F>> {
        self.mask.as_ref().map(|m| m.slice(s![range, ..]))
    }
}

/// Sequences `[N, T, I]` (batch-first, as users store them) with their targets and an optional
/// mask of the target steps.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// let x = Array3::<f64>::from_shape_fn((5, 4, 2), |(n, t, i)| (100 * n + 10 * t + i) as f64);
/// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// assert_eq!((data.len(), data.seq_len(), data.input_size(), data.is_empty()), (5, 4, 2, false));
/// let val = data.subset(&[4, 0]);
/// assert_eq!(val.inputs()[[0, 1, 1]], 411.0);
/// assert!(matches!(val.targets(), Targets::Values(v) if v.dim() == (2, 4, 2)));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<F = f32> {
    inputs: Array3<F>,
    targets: Targets<F>,
    mask: Option<Array2<F>>,
}

impl<F: Float> Dataset<F> {
    /// Checks and wraps the arrays.
    ///
    /// # Errors
    /// [`Error::Shape`] when the row counts differ, the target steps are neither `T` nor 1, or
    /// the mask is not `[N, S]`; [`Error::Config`] for an empty dataset.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array2, Array3};
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((3, 5, 2));
    /// assert!(Dataset::new(x.clone(), Targets::Classes(Array2::zeros((3, 5))), None).is_ok());
    /// assert!(Dataset::new(x.clone(), Targets::Classes(Array2::zeros((2, 5))), None).is_err()); // 2 rows for 3 sequences
    /// assert!(Dataset::new(x, Targets::Classes(Array2::zeros((3, 5))), Some(Array2::ones((3, 4)))).is_err());
    /// assert!(Dataset::new(Array3::<f32>::zeros((0, 5, 2)), Targets::Classes(Array2::zeros((0, 5))), None).is_err());
    /// ```
    pub fn new(inputs: Array3<F>, targets: Targets<F>, mask: Option<Array2<F>>) -> Result<Self> {
        let (n, t, _) = inputs.dim();
        if n == 0 || t == 0 {
            return Err(Error::Config(format!("the dataset is empty (inputs of shape {:?})", inputs.shape())));
        }
        if targets.rows() != n {
            return Err(Error::shape("targets", format!("{n} rows, one per input sequence"), &[targets.rows()]));
        }
        let steps = targets.steps();
        if steps != t && steps != 1 {
            return Err(Error::shape(
                "targets",
                format!("[{n}, {t}, ..] (every step) or [{n}, 1, ..] (last step)"),
                &[n, steps],
            ));
        }
        if let Some(m) = &mask
            && m.shape() != [n, steps]
        {
            return Err(Error::shape("mask", format!("[{n}, {steps}]"), m.shape()));
        }
        Ok(Dataset { inputs, targets, mask })
    }

    /// Number of sequences.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((5, 4, 2)); // 5 sequences of 4 steps, 2 features
    /// let data = Dataset::new(x, Targets::Values(Array3::zeros((5, 1, 1))), None)?;
    /// assert_eq!(data.len(), 5);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.inputs.shape()[0]
    }
    /// Whether there are no sequences (never true for a constructed dataset).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((5, 4, 2)); // 5 sequences of 4 steps, 2 features
    /// let data = Dataset::new(x, Targets::Values(Array3::zeros((5, 1, 1))), None)?;
    /// assert!(!data.is_empty());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Steps per sequence.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((5, 4, 2)); // 5 sequences of 4 steps, 2 features
    /// let data = Dataset::new(x, Targets::Values(Array3::zeros((5, 1, 1))), None)?;
    /// assert_eq!(data.seq_len(), 4);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn seq_len(&self) -> usize {
        self.inputs.shape()[1]
    }
    /// Features per step.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((5, 4, 2)); // 5 sequences of 4 steps, 2 features
    /// let data = Dataset::new(x, Targets::Values(Array3::zeros((5, 1, 1))), None)?;
    /// assert_eq!(data.input_size(), 2);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn input_size(&self) -> usize {
        self.inputs.shape()[2]
    }
    /// The inputs `[N, T, I]`.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::from_shape_fn((3, 2, 1), |(n, t, _)| (10 * n + t) as f32);
    /// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
    /// assert_eq!(data.inputs().dim(), (3, 2, 1));
    /// assert_eq!(data.inputs()[[2, 1, 0]], 21.0);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn inputs(&self) -> ArrayView3<'_, F> {
        self.inputs.view()
    }
    /// The targets.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let labels = ndarray::arr2(&[[1], [0], [2]]); // one class per sequence
    /// let data = Dataset::new(Array3::<f32>::zeros((3, 5, 1)), Targets::Classes(labels.clone()), None)?;
    /// assert_eq!(data.targets(), &Targets::Classes(labels));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn targets(&self) -> &Targets<F> {
        &self.targets
    }
    /// Which steps the model's head must read for these targets.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array2, Array3};
    /// use rnn::Readout;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::zeros((4, 7, 1));
    /// let per_sequence = Dataset::new(x.clone(), Targets::Classes(Array2::zeros((4, 1))), None)?;
    /// assert_eq!(per_sequence.readout(), Readout::LastStep);
    /// let per_step = Dataset::new(x, Targets::Classes(Array2::zeros((4, 7))), None)?;
    /// assert_eq!(per_step.readout(), Readout::EveryStep);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn readout(&self) -> Readout {
        if self.targets.steps() == 1 && self.seq_len() > 1 { Readout::LastStep } else { Readout::EveryStep }
    }

    /// The sequences at `rows`, in that order.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::from_shape_fn((10, 2, 1), |(n, _, _)| n as f32);
    /// let data = Dataset::new(x.clone(), Targets::Values(x), None)?;
    /// let (train, val) = (data.subset(&[0, 1, 2, 3, 4, 5, 6, 7]), data.subset(&[8, 9]));
    /// assert_eq!((train.len(), val.len()), (8, 2));
    /// assert_eq!(val.inputs()[[1, 0, 0]], 9.0);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn subset(&self, rows: &[usize]) -> Self {
        Dataset {
            inputs: self.inputs.select(Axis(0), rows),
            targets: match &self.targets {
                Targets::Values(v) => Targets::Values(v.select(Axis(0), rows)),
                Targets::Classes(c) => Targets::Classes(c.select(Axis(0), rows)),
            },
            mask: self.mask.as_ref().map(|m| m.select(Axis(0), rows)),
        }
    }

    /// A time-major batch of the sequences at `rows`.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array2, Array3};
    /// use rnn::data::{Dataset, Targets};
    /// let x = Array3::<f32>::from_shape_fn((3, 2, 1), |(n, t, _)| (10 * n + t) as f32);
    /// let classes = Array2::from_shape_fn((3, 2), |(n, t)| n + t);
    /// let data = Dataset::new(x, Targets::Classes(classes), None)?;
    /// let batch = data.batch(&[2, 0]);
    /// assert_eq!(batch.x.dim(), (2, 2, 1)); // [T, B, I]
    /// assert_eq!(batch.x[[1, 0, 0]], 21.0);
    /// assert_eq!(batch.targets, Targets::Classes(ndarray::arr2(&[[2, 0], [3, 1]])));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn batch(&self, rows: &[usize]) -> Batch<F> {
        let (t, i) = (self.seq_len(), self.input_size());
        let mut x = Array3::zeros((t, rows.len(), i));
        for (j, &r) in rows.iter().enumerate() {
            x.slice_mut(s![.., j, ..]).assign(&self.inputs.index_axis(Axis(0), r));
        }
        let targets = match &self.targets {
            Targets::Values(v) => {
                let mut out = Array3::zeros((v.shape()[1], rows.len(), v.shape()[2]));
                for (j, &r) in rows.iter().enumerate() {
                    out.slice_mut(s![.., j, ..]).assign(&v.index_axis(Axis(0), r));
                }
                Targets::Values(out)
            }
            Targets::Classes(c) => {
                Targets::Classes(c.select(Axis(0), rows).reversed_axes().as_standard_layout().to_owned())
            }
        };
        let mask = self.mask.as_ref().map(|m| m.select(Axis(0), rows).reversed_axes().as_standard_layout().to_owned());
        Batch { x, targets, mask }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;

    #[test]
    fn batches_are_time_major_and_follow_rows() {
        let inputs = Array::from_shape_fn((4, 3, 2), |(n, t, i)| (n * 100 + t * 10 + i) as f64);
        let targets = Targets::Classes(Array::from_shape_fn((4, 3), |(n, t)| n * 10 + t));
        let ds = Dataset::new(inputs, targets, None).unwrap();
        let b = ds.batch(&[2, 0]);
        assert_eq!(b.x.shape(), &[3, 2, 2]);
        assert_eq!(b.x[[1, 0, 1]], 211.0);
        assert_eq!(b.x[[2, 1, 0]], 20.0);
        match &b.targets {
            Targets::Classes(c) => assert_eq!(c[[1, 0]], 21),
            _ => unreachable!(),
        }
        assert_eq!(ds.readout(), Readout::EveryStep);
    }

    #[test]
    fn shapes_are_checked() {
        let inputs = Array3::<f32>::zeros((4, 3, 2));
        assert!(Dataset::new(inputs.clone(), Targets::Values(Array3::zeros((3, 3, 1))), None).is_err());
        assert!(Dataset::new(inputs.clone(), Targets::Values(Array3::zeros((4, 2, 1))), None).is_err());
        let last = Dataset::new(inputs.clone(), Targets::Values(Array3::zeros((4, 1, 1))), None).unwrap();
        assert_eq!(last.readout(), Readout::LastStep);
        assert!(Dataset::new(inputs, Targets::Values(Array3::zeros((4, 3, 1))), Some(Array2::zeros((4, 2)))).is_err());
    }
}
