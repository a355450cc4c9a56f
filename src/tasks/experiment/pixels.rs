//! The bundled 8x8 digits read one pixel per step: a small sequential (and permuted) MNIST.

use std::io::Read;

use ndarray::{Array3, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, Targets};
use crate::tasks::classify::{parse_digits_csv, stratified_split};
use crate::{Error, Result};

/// scikit-learn's handwritten digits, `data/digits.csv.gz`, built into the library.
static DIGITS_GZ: &[u8] = include_bytes!("../../../data/digits.csv.gz");

/// Steps of a pixel sequence: the 64 pixels of an 8x8 image.
pub const PIXELS: usize = 64;
/// Classes of the digits.
pub const DIGIT_CLASSES: usize = 10;
/// The fraction of the digits held out for testing (a fixed stratified split, seed 0).
pub const TEST_FRACTION: f64 = 0.2;

/// The bundled digits as sequences of their 64 pixels (`x [N, 64, 1]`, row by row, scaled to
/// `[0, 1]`), labelled at the last step, split into a training and a test set (a fixed
/// stratified 80/20 split, the one `examples/digits.rs` writes). With `permutation_seed`, the
/// pixels of every image are read in one fixed order shuffled with that seed (the permuted
/// task: neighbouring pixels are no longer neighbouring steps).
///
/// # Example
/// ```
/// use rnn::tasks::experiment::pixel_digits;
/// let (train, test) = pixel_digits(None)?;
/// assert_eq!((train.seq_len(), train.input_size()), (64, 1));
/// assert_eq!(train.len() + test.len(), 1797);
/// # Ok::<(), rnn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Config`] if the bundled data cannot be read (it always can).
pub fn pixel_digits(permutation_seed: Option<u64>) -> Result<(Dataset<f32>, Dataset<f32>)> {
    let mut text = String::new();
    let bad = |msg: String| Error::Config(format!("the bundled digits data: {msg}"));
    flate2::read::GzDecoder::new(DIGITS_GZ).read_to_string(&mut text).map_err(|e| bad(e.to_string()))?;
    let (images, labels) = parse_digits_csv(&text).map_err(bad)?;
    let n = labels.len();
    let mut order: Vec<usize> = (0..PIXELS).collect();
    if let Some(seed) = permutation_seed {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    let x = Array3::from_shape_fn((n, PIXELS, 1), |(i, t, _)| images[[i, order[t] / 8, order[t] % 8]]);
    let labels = labels.to_vec();
    let (train_rows, test_rows) = stratified_split(&labels, TEST_FRACTION, 0)?;
    let part = |rows: &[usize]| {
        let y = ndarray::Array2::from_shape_fn((rows.len(), 1), |(r, _)| labels[rows[r]]);
        Dataset::new(x.select(Axis(0), rows), Targets::Classes(y), None)
    };
    Ok((part(&train_rows)?, part(&test_rows)?))
}
