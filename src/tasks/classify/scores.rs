//! Predictions and their scores: accuracy, confusion matrix, per-class precision and recall.

use ndarray::{Array2, ArrayView1, ArrayView3, s};

use crate::{Error, Float, Model, Readout, Result};

/// Sequences scored per forward pass in [`predict`].
const PREDICT_BATCH: usize = 512;

/// The predicted class of each sequence: the arg-max of the head's logits at the last step.
///
/// # Shapes
/// `x [N, T, I]` (batch-first, as stored) → `N` classes.
///
/// # Errors
/// [`Error::Shape`] when `x` does not fit the model; [`Error::Config`] for a model without a
/// head.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::tasks::classify;
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(3) }, Init::PyTorch, 0)?;
/// let x = Array3::<f32>::from_shape_fn((5, 6, 2), |(n, t, i)| (n + t + i) as f32 * 0.1); // [N, T, I]
/// let classes = classify::predict(&model, x.view())?;
/// let p = classify::probabilities(&model, x.view())?;
/// assert_eq!(classes.len(), 5);
/// assert!(classes.iter().zip(p.rows()).all(|(c, row)| *c == classify::argmax(row)));
/// let no_head = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: None }, Init::PyTorch, 0)?;
/// assert!(classify::predict(&no_head, x.view()).is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn predict<F: Float>(model: &Model<F>, x: ArrayView3<'_, F>) -> Result<Vec<usize>> {
    if model.head.is_none() {
        return Err(Error::Config("a classifier needs a model with a head (output_size = classes)".into()));
    }
    let mut out = Vec::with_capacity(x.shape()[0]);
    let n = x.shape()[0];
    for start in (0..n).step_by(PREDICT_BATCH) {
        let chunk = x.slice(s![start..(start + PREDICT_BATCH).min(n), .., ..]);
        let trace = model.forward_eval(chunk.permuted_axes([1, 0, 2]), None, Readout::LastStep)?;
        let y = trace.y(); // [1, B, C]
        for b in 0..y.shape()[1] {
            let logits = y.slice(s![0, b, ..]);
            out.push(argmax(logits));
        }
    }
    Ok(out)
}

/// The class probabilities of each sequence: the softmax of the head's logits at the last
/// step, `[N, C]` (each row sums to 1; its arg-max is [`predict`]'s class, ties aside).
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::tasks::classify::probabilities;
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 8), output_size: Some(3) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::zeros((5, 10, 2)); // 5 sequences of 10 steps, batch-first
/// let p = probabilities(&model, x.view())?;
/// assert_eq!(p.shape(), &[5, 3]);
/// assert!(p.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-12));
/// # Ok::<(), rnn::Error>(())
/// ```
///
/// # Errors
/// As [`predict`].
pub fn probabilities<F: Float>(model: &Model<F>, x: ArrayView3<'_, F>) -> Result<Array2<F>> {
    let Some(head) = &model.head else {
        return Err(Error::Config("a classifier needs a model with a head (output_size = classes)".into()));
    };
    let n = x.shape()[0];
    let mut out = Array2::zeros((n, head.out_features()));
    for start in (0..n).step_by(PREDICT_BATCH) {
        let end = (start + PREDICT_BATCH).min(n);
        let chunk = x.slice(s![start..end, .., ..]);
        let trace = model.forward_eval(chunk.permuted_axes([1, 0, 2]), None, Readout::LastStep)?;
        for (mut row, logits) in out
            .slice_mut(s![start..end, ..])
            .rows_mut()
            .into_iter()
            .zip(trace.y().index_axis(ndarray::Axis(0), 0).rows())
        {
            // softmax, shifted by the largest logit so that exp cannot overflow
            let max = logits.iter().fold(F::neg_infinity(), |m, &v| if v > m { v } else { m });
            row.iter_mut().zip(logits).for_each(|(p, &z)| *p = (z - max).exp());
            let sum = row.sum();
            row.mapv_inplace(|p| p / sum);
        }
    }
    Ok(out)
}

/// The index of the largest value of `scores` (the first, on a tie): a class from logits or
/// probabilities.
///
/// # Example
/// ```
/// use ndarray::arr1;
/// assert_eq!(rnn::tasks::classify::argmax(arr1(&[0.1, 0.7, 0.2]).view()), 1);
/// assert_eq!(rnn::tasks::classify::argmax(arr1(&[1.0, 1.0]).view()), 0); // the first on a tie
/// ```
pub fn argmax<F: PartialOrd>(scores: ArrayView1<'_, F>) -> usize {
    scores.iter().enumerate().fold(0, |best, (i, v)| if *v > scores[best] { i } else { best })
}

/// Accuracy of predicting `class` for every sequence (the majority baseline).
///
/// # Example
/// ```
/// assert_eq!(rnn::tasks::classify::constant_accuracy(&[1, 1, 0, 2], 1), 0.5);
/// ```
pub fn constant_accuracy(labels: &[usize], class: usize) -> f64 {
    labels.iter().filter(|&&c| c == class).count() as f64 / labels.len().max(1) as f64
}

/// Scores of predictions against true labels.
///
/// # Example
/// ```
/// use rnn::tasks::classify::Metrics;
/// let m = Metrics::new(&[0, 0, 1, 2], &[0, 1, 1, 1], 3)?;
/// assert_eq!((m.num_classes(), m.total(), m.correct(), m.accuracy()), (3, 4, 2, 0.5));
/// assert_eq!((m.support(0), m.precision(1), m.recall(0)), (2, Some(1.0 / 3.0), Some(0.5)));
/// assert_eq!(m.precision(2), None); // nothing was predicted 2
/// assert!(Metrics::new(&[0, 3], &[0, 0], 3).is_err()); // class 3 of 3
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// `confusion[[t, p]]`: sequences of true class `t` predicted as `p` (`[C, C]`).
    pub confusion: Array2<usize>,
}

impl Metrics {
    /// Counts the confusion matrix.
    ///
    /// # Errors
    /// [`Error::Shape`] when the lengths differ, [`Error::Config`] when a class is `≥ num_classes`.
    pub fn new(labels: &[usize], predicted: &[usize], num_classes: usize) -> Result<Self> {
        if labels.len() != predicted.len() {
            return Err(Error::Shape {
                what: "predictions".into(),
                expected: format!("[{}] (one per label)", labels.len()),
                got: vec![predicted.len()],
            });
        }
        let mut confusion = Array2::zeros((num_classes, num_classes));
        for (&t, &p) in labels.iter().zip(predicted) {
            if t >= num_classes || p >= num_classes {
                return Err(Error::Config(format!("class {} out of range for {num_classes} classes", t.max(p))));
            }
            confusion[[t, p]] += 1;
        }
        Ok(Metrics { confusion })
    }

    /// Classes `C`.
    pub fn num_classes(&self) -> usize {
        self.confusion.shape()[0]
    }
    /// Sequences scored.
    pub fn total(&self) -> usize {
        self.confusion.sum()
    }
    /// Correct predictions (the diagonal).
    pub fn correct(&self) -> usize {
        self.confusion.diag().sum()
    }
    /// Fraction correct (0 when there is nothing).
    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }
    /// Sequences of true class `c` (row sum).
    pub fn support(&self, c: usize) -> usize {
        self.confusion.row(c).sum()
    }
    /// Of the sequences predicted `c`, the fraction truly `c`; `None` when none was predicted `c`.
    pub fn precision(&self, c: usize) -> Option<f64> {
        let predicted = self.confusion.column(c).sum();
        (predicted > 0).then(|| self.confusion[[c, c]] as f64 / predicted as f64)
    }
    /// Of the sequences of class `c`, the fraction predicted `c`; `None` when there are none.
    pub fn recall(&self, c: usize) -> Option<f64> {
        let support = self.support(c);
        (support > 0).then(|| self.confusion[[c, c]] as f64 / support as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_count_rows_true_columns_predicted() {
        let m = Metrics::new(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0], 4).unwrap();
        assert_eq!(m.confusion[[0, 1]], 1);
        assert_eq!(m.confusion[[2, 0]], 1);
        assert_eq!((m.total(), m.correct()), (6, 4));
        assert_eq!(m.precision(1), Some(0.5));
        assert_eq!(m.recall(2), Some(2.0 / 3.0));
        assert_eq!((m.precision(3), m.recall(3)), (None, None));
        assert!(Metrics::new(&[0], &[4], 4).is_err());
        assert_eq!(constant_accuracy(&[0, 1, 1, 2], 1), 0.5);
    }
}
