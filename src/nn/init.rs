//! Parameter initialisation schemes, all seeded: the same seed gives the same numbers.
//!
//! # Example
//! ```
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! let config = ModelConfig { rnn: RnnConfig::new(2, 4), output_size: None };
//! let a = Model::<f32>::new(config.clone(), Init::Identity, 1)?;
//! assert_eq!(a.rnn.layers()[0].weight_hh, ndarray::Array2::<f32>::eye(4)); // IRNN
//! // the same seed gives the same numbers
//! assert_eq!(Model::<f32>::new(config.clone(), Init::PyTorch, 7)?, Model::<f32>::new(config, Init::PyTorch, 7)?);
//! # Ok::<(), rnn::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use serde::{Deserialize, Serialize};

use crate::{Error, Float};

/// How a model's parameters are initialised.
///
/// | Scheme | `weight_ih` | `weight_hh` | biases |
/// |---|---|---|---|
/// | `PyTorch` (default) | U(-1/√H, 1/√H) | U(-1/√H, 1/√H) | U(-1/√H, 1/√H) |
/// | `GlorotUniform` | U(±√(6/(in+H))) | U(±√(6/(2H))) | 0 |
/// | `Orthogonal` (Keras `SimpleRNN`) | U(±√(6/(in+H))) | orthogonal | 0 |
/// | `Identity` (IRNN, Le et al. 2015) | U(-1/√H, 1/√H) | identity | 0 |
///
/// The output head is initialised as PyTorch's `nn.Linear` (U(±1/√fan_in) for weight and bias)
/// except under `GlorotUniform` and `Orthogonal`, where it is Glorot-uniform with a zero bias.
///
/// An IndRNN's recurrent weight is the vector `u`, not a matrix: it is drawn from U(0, 1) under
/// every scheme but `Identity`, which sets it to ones, and then clamped to `±recurrent_max`
/// when the model has that bound ([`crate::RnnConfig::recurrent_max`]); its `weight_ih` and
/// biases follow the table. This is a simple default: for deep networks the paper starts the
/// last layer's `u` in (2^(-10/T), 2^(1/T)) so it keeps long memories; set `u` yourself through
/// [`crate::Rnn::layers_mut`] for that.
///
/// # Example
/// ```
/// use rnn::Init;
/// let init: Init = "orthogonal".parse()?;
/// assert_eq!((init, init.name(), Init::default()), (Init::Orthogonal, "orthogonal", Init::PyTorch));
/// assert!("xavier".parse::<Init>().is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Init {
    /// PyTorch's `nn.RNN` default.
    #[default]
    PyTorch,
    /// Glorot (Xavier) uniform for both weight matrices, zero biases.
    GlorotUniform,
    /// Orthogonal recurrent weights, Glorot-uniform input weights, zero biases.
    Orthogonal,
    /// Identity recurrent weights (IRNN, meant for ReLU), zero biases.
    Identity,
}

impl Init {
    /// The name used on the command line.
    ///
    /// # Example
    /// ```
    /// use rnn::Init;
    /// assert_eq!(Init::GlorotUniform.name(), "glorot");
    /// assert_eq!(Init::GlorotUniform.name().parse::<Init>()?, Init::GlorotUniform);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Init::PyTorch => "pytorch",
            Init::GlorotUniform => "glorot",
            Init::Orthogonal => "orthogonal",
            Init::Identity => "identity",
        }
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Init {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "pytorch" => Ok(Init::PyTorch),
            "glorot" => Ok(Init::GlorotUniform),
            "orthogonal" => Ok(Init::Orthogonal),
            "identity" => Ok(Init::Identity),
            other => {
                Err(Error::Config(format!("unknown init `{other}` (expected pytorch, glorot, orthogonal or identity)")))
            }
        }
    }
}

/// A `[rows, cols]` matrix with entries drawn from U(-bound, bound).
///
/// # Example
/// ```
/// let w = rnn::init::uniform2::<f64, _>(3, 5, 0.1, &mut rand::rng());
/// assert_eq!(w.dim(), (3, 5));
/// assert!(w.iter().all(|v| v.abs() <= 0.1));
/// ```
pub fn uniform2<F: Float, R: Rng + ?Sized>(rows: usize, cols: usize, bound: f64, rng: &mut R) -> Array2<F> {
    let dist = uniform(bound);
    Array2::from_shape_simple_fn((rows, cols), || F::of(dist.sample(rng)))
}

/// A vector with entries drawn from U(-bound, bound).
///
/// # Example
/// ```
/// let b = rnn::init::uniform1::<f32, _>(6, 0.5, &mut rand::rng());
/// assert!(b.len() == 6 && b.iter().all(|v| v.abs() <= 0.5));
/// ```
pub fn uniform1<F: Float, R: Rng + ?Sized>(len: usize, bound: f64, rng: &mut R) -> Array1<F> {
    let dist = uniform(bound);
    Array1::from_shape_simple_fn(len, || F::of(dist.sample(rng)))
}

fn uniform(bound: f64) -> Uniform<f64> {
    // `bound` is positive and finite for every size >= 1, so this cannot fail.
    Uniform::new_inclusive(-bound, bound).expect("finite positive bound")
}

/// The Glorot-uniform bound `√(6 / (fan_in + fan_out))`.
///
/// # Example
/// ```
/// assert_eq!(rnn::init::glorot_bound(4, 2), 1.0); // √(6 / 6)
/// ```
pub fn glorot_bound(fan_in: usize, fan_out: usize) -> f64 {
    (6.0 / (fan_in + fan_out) as f64).sqrt()
}

/// A random `[n, n]` orthogonal matrix: the Q of the QR decomposition of a standard normal
/// matrix, with the signs fixed so R has a positive diagonal (the Haar measure, as in Keras and
/// `torch.nn.init.orthogonal_`). Computed in f64 by modified Gram–Schmidt.
///
/// # Example
/// ```
/// let q = rnn::init::orthogonal::<f64, _>(5, &mut rand::rng());
/// let identity = q.t().dot(&q);
/// assert!((&identity - &ndarray::Array2::<f64>::eye(5)).iter().all(|d| d.abs() < 1e-12));
/// ```
pub fn orthogonal<F: Float, R: Rng + ?Sized>(n: usize, rng: &mut R) -> Array2<F> {
    loop {
        let mut q = Array2::<f64>::from_shape_simple_fn((n, n), || StandardNormal.sample(rng));
        let mut degenerate = false;
        for j in 0..n {
            for k in 0..j {
                let dot = q.column(j).dot(&q.column(k));
                let qk = q.column(k).to_owned();
                q.column_mut(j).scaled_add(-dot, &qk);
            }
            let norm = q.column(j).dot(&q.column(j)).sqrt();
            if norm < 1e-10 {
                degenerate = true;
                break;
            }
            q.column_mut(j).mapv_inplace(|v| v / norm);
        }
        if !degenerate {
            return q.mapv(F::of);
        }
    }
}

/// A random `[rows, cols]` matrix with orthonormal rows (`rows <= cols`) or columns
/// (`rows >= cols`), as `torch.nn.init.orthogonal_` makes for a rectangular tensor: a slice of a
/// random square orthogonal matrix.
///
/// # Example
/// ```
/// let w = rnn::init::orthogonal_rect::<f64, _>(2, 5, &mut rand::rng());
/// let gram = w.dot(&w.t()); // orthonormal rows
/// assert!((&gram - &ndarray::Array2::<f64>::eye(2)).iter().all(|d| d.abs() < 1e-12));
/// ```
pub fn orthogonal_rect<F: Float, R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R) -> Array2<F> {
    let q = orthogonal::<F, R>(rows.max(cols), rng);
    q.slice(ndarray::s![..rows, ..cols]).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn orthogonal_is_orthogonal() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let q: Array2<f64> = orthogonal(7, &mut rng);
        let eye = q.t().dot(&q);
        for i in 0..7 {
            for j in 0..7 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((eye[[i, j]] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn uniform_respects_bound_and_seed() {
        let a: Array2<f32> = uniform2(4, 5, 0.25, &mut ChaCha8Rng::seed_from_u64(1));
        let b: Array2<f32> = uniform2(4, 5, 0.25, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(a, b);
        assert!(a.iter().all(|v| v.abs() <= 0.25));
    }
}
