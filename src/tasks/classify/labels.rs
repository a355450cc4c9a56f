//! Class labels: read and checked from `.npy` files of any integer or whole-float dtype, counted
//! per class, and split into training and validation sets by class.

use std::path::Path;

use ndarray::{Array1, ArrayD, ArrayViewD};
use ndarray_npy::{ReadNpyExt, ReadableElement, ViewElement, ViewNpyError, ViewNpyExt};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::MAX_CLASSES;
use crate::{Error, Result};

// Labels

/// Reads class labels from a `.npy` file: shape `[N]` (or `[N, 1]`), integers ≥ 0 stored as
/// int8/16/32/64, uint8/16/32/64, or float32/64 holding whole numbers.
///
/// # Errors
/// [`Error::Npy`] naming the file and what is wrong: unreadable, another dtype, another shape,
/// a negative, fractional, non-finite or too large label (with its index).
///
/// # Example
/// ```
/// use ndarray::arr1;
/// use rnn::tasks::classify::read_labels;
/// let path = std::env::temp_dir().join(format!("rnn-doc-labels-{}.npy", std::process::id()));
/// rnn::io::npy::write(&path, arr1(&[2.0f32, 0.0, 1.0]).view())?; // whole numbers in floats are accepted
/// assert_eq!(read_labels(&path)?, arr1(&[2, 0, 1]));
/// rnn::io::npy::write(&path, arr1(&[0.5f32]).view())?;
/// assert!(read_labels(&path).unwrap_err().to_string().contains("index 0"));
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_labels(path: &Path) -> Result<Array1<usize>> {
    let bytes = std::fs::read(path).map_err(|e| Error::Npy { path: path.to_path_buf(), msg: e.to_string() })?;
    parse_labels(&bytes).map_err(|msg| Error::Npy { path: path.to_path_buf(), msg })
}

/// Parses the bytes of a label `.npy` file (see [`read_labels`]).
///
/// # Errors
/// A one-line description of what is wrong.
///
/// # Example
/// ```
/// use rnn::tasks::classify::parse_labels;
/// let path = std::env::temp_dir().join(format!("rnn-doc-parse-labels-{}.npy", std::process::id()));
/// rnn::io::npy::write_indices(&path, &[3, 1])?; // int64
/// assert_eq!(parse_labels(&std::fs::read(&path)?)?.to_vec(), [3, 1]);
/// assert!(parse_labels(b"not npy").is_err());
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
///
/// # Example
/// ```
/// assert_eq!(rnn::tasks::classify::class_counts(&[0, 2, 2, 5], 3), [1, 0, 2]);
/// ```
pub fn class_counts(labels: &[usize], num_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; num_classes];
    for &c in labels {
        if let Some(k) = counts.get_mut(c) {
            *k += 1;
        }
    }
    counts
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, Array2, Axis, arr1};
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
}
