//! Sequence classification (many-to-one): one integer class per sequence `[T, I]`, read by the
//! model's head at the last step (`Readout::LastStep`) and trained with cross-entropy on the
//! logits.
//!
//! Here: reading and checking labels ([`read_labels`]), a seeded stratified split
//! ([`stratified_split`]), the task settings a model file carries ([`ClassifySettings`]),
//! predictions ([`predict`]), the scores ([`Metrics`]: accuracy, confusion matrix, per-class
//! precision and recall) and the bundled digits data ([`read_digits`]).
//!
//! # Example
//! ```
//! use ndarray::{Array1, Array3};
//! use rnn::tasks::classify::{self, ClassifySettings, Metrics};
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//!
//! let labels = Array1::from(vec![0usize, 1, 1, 2, 1, 0]);
//! let settings = ClassifySettings::new(labels.as_slice().unwrap(), None)?;
//! assert_eq!((settings.num_classes, settings.majority_class), (3, 1));
//! let model = Model::<f32>::new(
//!     ModelConfig { rnn: RnnConfig::new(4, 8), output_size: Some(settings.num_classes) },
//!     Init::PyTorch,
//!     0,
//! )?;
//! let x = Array3::<f32>::zeros((6, 5, 4)); // [N, T, I]
//! let predicted = classify::predict(&model, x.view())?;
//! let metrics = Metrics::new(labels.as_slice().unwrap(), &predicted, settings.num_classes)?;
//! assert_eq!(metrics.total(), 6);
//! # Ok::<(), rnn::Error>(())
//! ```

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array2, Array3, ArrayD, ArrayView3, ArrayViewD, s};
use ndarray_npy::{ReadNpyExt, ReadableElement, ViewElement, ViewNpyError, ViewNpyExt};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Float, Model, Readout, Result};

/// The `"kind"` of a classification model's task settings.
pub const KIND: &str = "classify";

/// The most classes a label file may imply (`max label + 1`): a stray huge label is an error,
/// not a head with a billion outputs.
pub const MAX_CLASSES: usize = 65_536;

/// Sequences scored per forward pass in [`predict`].
const PREDICT_BATCH: usize = 512;

// ---------------------------------------------------------------------------------------------
// Labels

/// Reads class labels from a `.npy` file: shape `[N]` (or `[N, 1]`), integers ≥ 0 stored as
/// int8/16/32/64, uint8/16/32/64, or float32/64 holding whole numbers.
///
/// # Errors
/// [`Error::Npy`] naming the file and what is wrong: unreadable, another dtype, another shape,
/// a negative, fractional, non-finite or too large label (with its index).
pub fn read_labels(path: &Path) -> Result<Array1<usize>> {
    let bytes = std::fs::read(path).map_err(|e| Error::Npy { path: path.to_path_buf(), msg: e.to_string() })?;
    parse_labels(&bytes).map_err(|msg| Error::Npy { path: path.to_path_buf(), msg })
}

/// Parses the bytes of a label `.npy` file (see [`read_labels`]).
///
/// # Errors
/// A one-line description of what is wrong.
pub fn parse_labels(bytes: &[u8]) -> std::result::Result<Array1<usize>, String> {
    macro_rules! try_int {
        ($($t:ty),*) => {$(
            if let Some(a) = view_as::<$t>(bytes)? {
                return to_labels(a, |v| int_label(i128::from(v)));
            }
        )*};
    }
    try_int!(i64, i32, u8, i8, i16, u16, u32, u64);
    // floats (and every header error, described in the house style)
    let floats = crate::io::npy::parse(bytes).map_err(|msg| {
        if msg.starts_with("dtype") {
            msg.replace("(expected float32 or float64)", "(labels must be integers, or floats holding whole numbers)")
        } else {
            msg
        }
    })?;
    to_labels(floats.into_float::<f64>(), |v| {
        if !(v.is_finite() && v.fract() == 0.0) {
            Err((v.to_string(), "is not a whole number: labels are classes 0, 1, 2, ..."))
        } else if v.abs() < 2f64.powi(62) {
            int_label(v as i128)
        } else {
            Err((v.to_string(), TOO_LARGE))
        }
    })
}

/// What is wrong with a label `≥ MAX_CLASSES`.
const TOO_LARGE: &str = "is too large: labels are classes 0..C-1 with C at most 65536";

/// A label from an integer, or the value as text and what is wrong with it.
fn int_label(v: i128) -> std::result::Result<usize, (String, &'static str)> {
    match usize::try_from(v) {
        Err(_) => Err((v.to_string(), "is negative: labels are classes 0, 1, 2, ...")),
        Ok(c) if c >= MAX_CLASSES => Err((v.to_string(), TOO_LARGE)),
        Ok(c) => Ok(c),
    }
}

/// The array of dtype `A`, `None` when the file holds another dtype.
fn view_as<A: ViewElement + ReadableElement + Clone>(bytes: &[u8]) -> std::result::Result<Option<ArrayD<A>>, String> {
    match ArrayViewD::<A>::view_npy(bytes) {
        Ok(v) => Ok(Some(v.to_owned())),
        // length already checked; merely not aligned for `A`: read by copying
        Err(ViewNpyError::MisalignedData) => ArrayD::<A>::read_npy(bytes).map(Some).map_err(|e| e.to_string()),
        Err(ViewNpyError::WrongDescriptor(_)) => Ok(None),
        Err(ViewNpyError::MissingBytes(n)) => Err(format!("the file is truncated: {n} bytes of data are missing")),
        Err(ViewNpyError::ExtraBytes(n)) => Err(format!("{n} unexpected bytes after the data: not a valid .npy file")),
        // a bad header or another dtype's trouble: `npy::parse` describes it as for inputs
        Err(_) => Ok(None),
    }
}

/// Checks the shape and converts each value with `convert`.
fn to_labels<T: Copy>(
    a: ArrayD<T>,
    convert: impl Fn(T) -> std::result::Result<usize, (String, &'static str)>,
) -> std::result::Result<Array1<usize>, String> {
    let shape = a.shape().to_vec();
    if !matches!(shape.as_slice(), [_] | [_, 1]) {
        return Err(format!("expected labels of shape [N] (one integer class per sequence), got shape {shape:?}"));
    }
    a.iter()
        .enumerate()
        .map(|(i, &v)| convert(v).map_err(|(text, why)| format!("label {text} at index {i} {why}")))
        .collect::<std::result::Result<Vec<usize>, String>>()
        .map(Array1::from)
}

/// Sequences per class: `counts[c]` for `c` in `0..num_classes` (labels ≥ `num_classes` are
/// not counted).
pub fn class_counts(labels: &[usize], num_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; num_classes];
    for &c in labels {
        if let Some(k) = counts.get_mut(c) {
            *k += 1;
        }
    }
    counts
}

// ---------------------------------------------------------------------------------------------
// Splits

/// Splits the rows `0..labels.len()` into `(kept, held_out)`, holding out `fraction` of each
/// class (rounded per class; a class never gives up its last sequence), chosen at random with
/// `seed`. Both lists are in ascending order. Stratifying keeps the class balance of both
/// parts and, unlike taking the tail, works on files sorted by class.
///
/// # Errors
/// [`Error::Config`] when `fraction` is outside `[0, 1)`.
///
/// # Example
/// ```
/// let labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
/// let (kept, held) = rnn::tasks::classify::stratified_split(&labels, 0.2, 7)?;
/// assert_eq!((kept.len(), held.len()), (8, 2));
/// assert_eq!(held.iter().filter(|&&r| labels[r] == 1).count(), 1);
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn stratified_split(labels: &[usize], fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::Config(format!("a split fraction must be in [0, 1), got {fraction}")));
    }
    let mut by_class: Vec<Vec<usize>> = Vec::new();
    for (row, &c) in labels.iter().enumerate() {
        if by_class.len() <= c {
            by_class.resize_with(c + 1, Vec::new);
        }
        by_class[c].push(row);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut kept, mut held) = (Vec::new(), Vec::new());
    for rows in &mut by_class {
        rows.shuffle(&mut rng);
        let n_held = ((rows.len() as f64 * fraction).round() as usize).min(rows.len().saturating_sub(1));
        held.extend_from_slice(&rows[..n_held]);
        kept.extend_from_slice(&rows[n_held..]);
    }
    kept.sort_unstable();
    held.sort_unstable();
    Ok((kept, held))
}

// ---------------------------------------------------------------------------------------------
// Task settings

/// What a classification model file carries under [`super::TASK_KEY`]:
/// `{"kind":"classify","num_classes":C,"majority_class":k,"train_counts":[..],...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifySettings {
    /// Always [`KIND`].
    pub kind: String,
    /// Classes `C`: the head's outputs, labels `0..C-1`.
    pub num_classes: usize,
    /// Optional names of the classes, `C` of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// The most frequent class of the training labels (the lowest on a tie): the majority
    /// baseline predicts it for every sequence.
    pub majority_class: usize,
    /// Training sequences per class.
    pub train_counts: Vec<usize>,
}

impl ClassifySettings {
    /// Settings from the training labels: `C = max label + 1`, or the number of `class_names`
    /// when given (which may name classes absent from the training data).
    ///
    /// # Errors
    /// [`Error::Config`] when there are no labels, or fewer names than `max label + 1`.
    pub fn new(train_labels: &[usize], class_names: Option<Vec<String>>) -> Result<Self> {
        let Some(&max) = train_labels.iter().max() else {
            return Err(Error::Config("no training labels".into()));
        };
        let num_classes = match &class_names {
            Some(names) if names.len() <= max => {
                return Err(Error::Config(format!(
                    "{} class names given but the labels go up to {max} ({} classes)",
                    names.len(),
                    max + 1
                )));
            }
            Some(names) => names.len(),
            None => max + 1,
        };
        let train_counts = class_counts(train_labels, num_classes);
        let majority_class =
            train_counts.iter().enumerate().fold(0, |b, (c, &k)| if k > train_counts[b] { c } else { b });
        Ok(ClassifySettings { kind: KIND.into(), num_classes, class_names, majority_class, train_counts })
    }

    /// The name of class `c` (its number when there are no names).
    pub fn name(&self, c: usize) -> String {
        self.class_names.as_ref().and_then(|n| n.get(c).cloned()).unwrap_or_else(|| c.to_string())
    }

    /// The metadata entry `{TASK_KEY: json}` to store in the model file.
    pub fn to_metadata(&self) -> HashMap<String, String> {
        // a struct of strings, integers and finite floats always serialises
        let json = serde_json::to_string(self).unwrap_or_default();
        HashMap::from([(super::TASK_KEY.to_string(), json)])
    }

    /// Reads the settings from a model file's metadata; `path` names the file in errors.
    ///
    /// # Errors
    /// [`Error::ModelFile`] when the entry is missing, not a classify task, or inconsistent.
    pub fn from_metadata(metadata: &HashMap<String, String>, path: &Path) -> Result<Self> {
        let bad = |msg: String| Error::ModelFile { path: path.to_path_buf(), msg };
        let json = metadata.get(super::TASK_KEY).ok_or_else(|| bad(format!("no `{}` metadata", super::TASK_KEY)))?;
        let s: ClassifySettings =
            serde_json::from_str(json).map_err(|e| bad(format!("`{}` metadata: {e}", super::TASK_KEY)))?;
        if s.kind != KIND {
            return Err(bad(format!("the model's task is `{}`, not `{KIND}`", s.kind)));
        }
        if s.num_classes == 0 || s.majority_class >= s.num_classes || s.train_counts.len() != s.num_classes {
            return Err(bad(format!("`{}` metadata: inconsistent class counts", super::TASK_KEY)));
        }
        if s.class_names.as_ref().is_some_and(|n| n.len() != s.num_classes) {
            return Err(bad(format!(
                "`{}` metadata: class_names must name {} classes",
                super::TASK_KEY,
                s.num_classes
            )));
        }
        Ok(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Predictions and scores

/// The predicted class of each sequence: the arg-max of the head's logits at the last step.
///
/// # Shapes
/// `x [N, T, I]` (batch-first, as stored) → `N` classes.
///
/// # Errors
/// [`Error::Shape`] when `x` does not fit the model; [`Error::Config`] for a model without a
/// head.
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
            out.push(logits.iter().enumerate().fold(0, |best, (i, v)| if *v > logits[best] { i } else { best }));
        }
    }
    Ok(out)
}

/// Accuracy of predicting `class` for every sequence (the majority baseline).
pub fn constant_accuracy(labels: &[usize], class: usize) -> f64 {
    labels.iter().filter(|&&c| c == class).count() as f64 / labels.len().max(1) as f64
}

/// Scores of predictions against true labels.
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

// ---------------------------------------------------------------------------------------------
// The bundled digits

/// Reads scikit-learn's handwritten digits (`data/digits.csv.gz`: gzip-compressed CSV lines of
/// 64 pixel values 0..16 of an 8x8 image, row by row, then the label 0..9) as sequences of the
/// image's 8 rows: `x [N, 8, 8]` with pixels scaled to `[0, 1]`, and the labels `[N]`.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be read or decompressed, or when a line is
/// malformed (with the line number).
pub fn read_digits(path: &Path) -> Result<(Array3<f32>, Array1<usize>)> {
    let io_err = |err: std::io::Error| Error::Io { path: path.to_path_buf(), err };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::io::BufReader::new(file)).read_to_string(&mut text).map_err(io_err)?;
    parse_digits_csv(&text).map_err(|msg| io_err(std::io::Error::new(std::io::ErrorKind::InvalidData, msg)))
}

/// Parses the digits CSV text (see [`read_digits`]).
///
/// # Errors
/// A one-line description naming the line at fault.
pub fn parse_digits_csv(text: &str) -> std::result::Result<(Array3<f32>, Array1<usize>), String> {
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let values: Vec<&str> = line.split(',').map(str::trim).collect();
        if values.len() != 65 {
            return Err(format!("line {}: expected 65 comma-separated values, found {}", i + 1, values.len()));
        }
        for (j, v) in values.iter().enumerate() {
            let k: f64 = v.parse().map_err(|_| format!("line {}: `{v}` is not a number", i + 1))?;
            let ok = k.fract() == 0.0 && k >= 0.0 && if j < 64 { k <= 16.0 } else { k < 10.0 };
            if !ok {
                return Err(format!("line {}: value {k} is out of range (pixels 0..16, labels 0..9)", i + 1));
            }
            if j < 64 {
                pixels.push((k / 16.0) as f32);
            } else {
                labels.push(k as usize);
            }
        }
    }
    if labels.is_empty() {
        return Err("no data lines".into());
    }
    let x = Array3::from_shape_vec((labels.len(), 8, 8), pixels).map_err(|e| e.to_string())?;
    Ok((x, Array1::from(labels)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, Axis, arr1};
    use ndarray_npy::WriteNpyExt;

    fn npy<A: ndarray_npy::WritableElement, D: ndarray::Dimension>(a: &Array<A, D>) -> Vec<u8> {
        let mut out = Vec::new();
        a.write_npy(&mut out).unwrap();
        out
    }

    #[test]
    fn labels_of_every_integer_and_float_dtype() {
        let want = arr1(&[0usize, 2, 1]);
        assert_eq!(parse_labels(&npy(&arr1(&[0i64, 2, 1]))).unwrap(), want);
        assert_eq!(parse_labels(&npy(&arr1(&[0i32, 2, 1]))).unwrap(), want);
        assert_eq!(parse_labels(&npy(&arr1(&[0u8, 2, 1]))).unwrap(), want);
        assert_eq!(parse_labels(&npy(&arr1(&[0u64, 2, 1]))).unwrap(), want);
        assert_eq!(parse_labels(&npy(&arr1(&[0.0f32, 2.0, 1.0]))).unwrap(), want);
        assert_eq!(parse_labels(&npy(&arr1(&[0.0f64, 2.0, 1.0]).insert_axis(Axis(1)))).unwrap(), want);
    }

    #[test]
    fn bad_labels_say_what_and_where() {
        let e = parse_labels(&npy(&arr1(&[0i64, -1]))).unwrap_err();
        assert!(e.contains("label -1 at index 1 is negative"), "{e}");
        let e = parse_labels(&npy(&arr1(&[0.0f64, 1.5]))).unwrap_err();
        assert!(e.contains("label 1.5 at index 1 is not a whole number"), "{e}");
        let e = parse_labels(&npy(&arr1(&[0.0f32, -2.0]))).unwrap_err();
        assert!(e.contains("label -2 at index 1 is negative"), "{e}");
        let e = parse_labels(&npy(&arr1(&[1e20f64]))).unwrap_err();
        assert!(e.contains("is too large") && e.contains(&MAX_CLASSES.to_string()), "{e}");
        let e = parse_labels(&npy(&arr1(&[f64::NAN]))).unwrap_err();
        assert!(e.contains("NaN"), "{e}");
        let e = parse_labels(&npy(&Array2::<i64>::zeros((3, 2)))).unwrap_err();
        assert!(e.contains("shape [N]") && e.contains("[3, 2]"), "{e}");
        let e = parse_labels(&npy(&arr1(&[1_000_000i64]))).unwrap_err();
        assert!(e.contains("too large"), "{e}");
        let e = parse_labels(&npy(&arr1(&[true]))).unwrap_err();
        assert!(e.contains("labels must be integers"), "{e}");
        assert!(parse_labels(b"not npy").is_err());
    }

    #[test]
    fn stratified_split_keeps_class_balance_and_is_seeded() {
        let labels: Vec<usize> = (0..100).map(|i| usize::from(i >= 70)).collect(); // sorted by class
        let (kept, held) = stratified_split(&labels, 0.2, 1).unwrap();
        assert_eq!((kept.len(), held.len()), (80, 20));
        assert_eq!(held.iter().filter(|&&r| labels[r] == 1).count(), 6);
        let mut all: Vec<usize> = kept.iter().chain(&held).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(stratified_split(&labels, 0.2, 1).unwrap().1, held);
        assert_ne!(stratified_split(&labels, 0.2, 2).unwrap().1, held);
        // a single example of a class stays in the kept part
        assert!(stratified_split(&[0, 0, 1], 0.5, 0).unwrap().0.contains(&2));
        assert!(stratified_split(&labels, 1.0, 0).is_err());
    }

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

    #[test]
    fn settings_round_trip_through_metadata() {
        let s =
            ClassifySettings::new(&[2, 0, 2, 1], Some(vec!["a".into(), "b".into(), "c".into(), "d".into()])).unwrap();
        assert_eq!((s.num_classes, s.majority_class, s.train_counts.clone()), (4, 2, vec![1, 1, 2, 0]));
        let back = ClassifySettings::from_metadata(&s.to_metadata(), Path::new("m.safetensors")).unwrap();
        assert_eq!(back, s);
        assert_eq!(super::super::kind(&s.to_metadata()).as_deref(), Some(KIND));
        assert!(ClassifySettings::new(&[3], Some(vec!["a".into()])).is_err());
        let other = HashMap::from([(super::super::TASK_KEY.to_string(), r#"{"kind":"forecast"}"#.to_string())]);
        assert!(ClassifySettings::from_metadata(&other, Path::new("m")).is_err());
    }

    #[test]
    fn digits_csv_parses_and_rejects() {
        let line = |label: usize| format!("{}{label}\n", "16,".repeat(64));
        let (x, y) = parse_digits_csv(&(line(3) + &line(9))).unwrap();
        assert_eq!((x.shape(), y.to_vec()), (&[2, 8, 8][..], vec![3, 9]));
        assert_eq!(x[[1, 7, 7]], 1.0);
        assert!(parse_digits_csv("1,2,3\n").unwrap_err().contains("line 1"));
        assert!(parse_digits_csv(&format!("{}10\n", "0,".repeat(64))).unwrap_err().contains("out of range"));
        assert!(parse_digits_csv("").is_err());
    }
}
