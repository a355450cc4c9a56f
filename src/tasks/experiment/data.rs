//! The synthetic long-memory tasks, seeded: the adding problem and the copy-memory task.

use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Dataset, Targets};
use crate::{Error, Result};

/// The test MSE of always predicting 1 on the adding problem: the variance of the sum of two
/// U(0, 1) values, `2 / 12`.
pub const ADDING_BASELINE: f64 = 1.0 / 6.0;

/// Symbols of the copy task: 0 blank, 1..=8 data, 9 the delimiter.
pub const COPY_SYMBOLS: usize = 10;
/// Data symbols the copy task remembers.
pub const COPY_LENGTH: usize = 10;
const DATA_SYMBOLS: usize = 8;
const DELIMITER: usize = 9;

/// `n` sequences of the adding problem (Hochreiter and Schmidhuber 1997, in the form of Le et
/// al. 2015 and Arjovsky et al. 2016): `x [n, length, 2]`, feature 0 a value drawn from
/// U(0, 1), feature 1 a marker that is 1 at exactly two steps, one in each half of the
/// sequence; the target `[n, 1, 1]`, read at the last step, is the sum of the two marked values.
/// Predicting 1 scores [`ADDING_BASELINE`].
///
/// # Example
/// ```
/// use rnn::data::Targets;
/// use rnn::tasks::experiment::adding_problem;
/// let data = adding_problem(3, 10, 7)?;
/// let (x, Targets::Values(y)) = (data.inputs(), data.targets()) else { unreachable!() };
/// let marked: f32 = (0..10).map(|t| x[[0, t, 0]] * x[[0, t, 1]]).sum();
/// assert_eq!(marked, y[[0, 0, 0]]);
/// # Ok::<(), rnn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Config`] for `n == 0` or `length < 2`.
pub fn adding_problem(n: usize, length: usize, seed: u64) -> Result<Dataset<f32>> {
    if length < 2 {
        return Err(Error::Config(format!("the adding problem needs sequences of at least 2 steps, got {length}")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array3::<f32>::zeros((n, length, 2));
    let mut y = Array3::<f32>::zeros((n, 1, 1));
    let half = length / 2;
    for i in 0..n {
        for t in 0..length {
            x[[i, t, 0]] = rng.random::<f32>();
        }
        let (a, b) = (rng.random_range(0..half), rng.random_range(half..length));
        x[[i, a, 1]] = 1.0;
        x[[i, b, 1]] = 1.0;
        y[[i, 0, 0]] = x[[i, a, 0]] + x[[i, b, 0]];
    }
    Dataset::new(x, Targets::Values(y), None)
}

/// `n` sequences of the copy-memory task (Arjovsky, Shah and Bengio 2016) with a delay of
/// `delay` steps: `T = delay + 20` steps of one-hot symbols (`x [n, T, 10]`); the first 10 are
/// data symbols drawn from 1..=8, then `delay - 1` blanks (0), the delimiter (9) and 10 blanks.
/// The per-step class targets `[n, T]` are blanks but for the last 10 steps, which must repeat
/// the data symbols. Predicting blanks, then a uniform guess over the 8 symbols, scores
/// [`copy_baseline`] nats per step.
///
/// # Errors
/// [`Error::Config`] for `n == 0` or `delay == 0`.
///
/// # Example
/// ```
/// use rnn::data::Targets;
/// use rnn::tasks::experiment::{COPY_SYMBOLS, copy_memory};
/// let data = copy_memory(3, 5, 0)?;
/// assert_eq!((data.len(), data.seq_len(), data.input_size()), (3, 25, COPY_SYMBOLS));
/// let Targets::Classes(t) = data.targets() else { unreachable!() };
/// // the last 10 targets repeat the first 10 inputs' symbols
/// let first: Vec<usize> = (0..10).map(|s| data.inputs().slice(ndarray::s![0, s, ..]).iter().position(|v| *v == 1.0).unwrap_or(99)).collect();
/// assert_eq!(t.slice(ndarray::s![0, 15..]).to_vec(), first);
/// assert!(copy_memory(3, 0, 0).is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn copy_memory(n: usize, delay: usize, seed: u64) -> Result<Dataset<f32>> {
    if delay == 0 {
        return Err(Error::Config("the copy task needs a delay of at least 1 step".into()));
    }
    let steps = delay + 2 * COPY_LENGTH;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array3::<f32>::zeros((n, steps, COPY_SYMBOLS));
    let mut y = Array2::<usize>::zeros((n, steps));
    for i in 0..n {
        for t in 0..steps {
            let symbol = if t < COPY_LENGTH {
                let s = rng.random_range(1..=DATA_SYMBOLS);
                y[[i, delay + COPY_LENGTH + t]] = s;
                s
            } else if t == delay + COPY_LENGTH - 1 {
                DELIMITER
            } else {
                0
            };
            x[[i, t, symbol]] = 1.0;
        }
    }
    Dataset::new(x, Targets::Classes(y), None)
}

/// The copy task's baseline in nats per step: `10 ln 8 / (delay + 20)`.
///
/// # Example
/// ```
/// let b = rnn::tasks::experiment::copy_baseline(100);
/// assert!((b - 10.0 * 8f64.ln() / 120.0).abs() < 1e-12);
/// ```
pub fn copy_baseline(delay: usize) -> f64 {
    COPY_LENGTH as f64 * (DATA_SYMBOLS as f64).ln() / (delay + 2 * COPY_LENGTH) as f64
}
