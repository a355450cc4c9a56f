//! The spectra of the recurrent weights: for each layer and direction, each gate block of
//! `W_hh`'s spectral radius (largest |eigenvalue|) and largest singular value, and the largest
//! singular value of the whole `W_hh`.
//!
//! A linearised recurrence `h_t ≈ W h_{t-1}` forgets or explodes at the rate of `W`'s spectral
//! radius `ρ(W)` in the long run, while `σ_max(W)` (≥ ρ) bounds how much one step can amplify;
//! a non-normal `W` can have `ρ < 1 < σ_max` and amplify for a while before it decays.
//!
//! Eigenvalues come from nalgebra's real Schur decomposition (`complex_eigenvalues`), singular
//! values from its SVD, both in f64.
//!
//! # Example
//! ```
//! use rnn::diagnose::spectral::weight_spectra;
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: None }, Init::Orthogonal, 0)?;
//! let spectra = weight_spectra(&model);
//! // an orthogonal W_hh neither shrinks nor stretches: every singular value is 1
//! assert!((spectra[0].sigma_max - 1.0).abs() < 1e-9);
//! # Ok::<(), rnn::Error>(())
//! ```

use nalgebra::DMatrix;
use ndarray::{ArrayView2, s};
use serde::Serialize;

use crate::{Cell, Model};

/// Iteration cap of the Schur decomposition and the SVD, per row of the matrix; past it the
/// value is reported as NaN rather than looping on (it takes a few iterations per eigenvalue
/// in practice).
const MAX_ITER_PER_ROW: usize = 1000;

/// The spectrum of one gate block `W_h·` of a recurrent weight.
///
/// # Example
/// ```
/// use rnn::diagnose::spectral::weight_spectra;
/// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Lstm), output_size: None }, Init::Orthogonal, 0)?;
/// let spectra = weight_spectra(&model);
/// let gates: Vec<&str> = spectra[0].gates.iter().map(|g| g.gate.as_str()).collect();
/// assert_eq!(gates, ["i", "f", "g", "o"]);
/// // an orthogonal block: every singular value and |eigenvalue| is 1
/// assert!(spectra[0].gates.iter().all(|g| (g.sigma_max - 1.0).abs() < 1e-9));
/// assert!(spectra[0].gates.iter().all(|g| g.spectral_radius.is_some_and(|r| (r - 1.0).abs() < 1e-6)));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateSpectrum {
    /// The gate: `""` for the Elman cell's whole `W_hh`, `"i"`, `"f"`, `"g"`, `"o"` for an
    /// LSTM, `"r"`, `"z"`, `"n"` for a GRU.
    pub gate: String,
    /// The largest |eigenvalue| of the block, `None` when the block is not square (an LSTM with
    /// `proj_size`, whose blocks are `[H, S]`).
    pub spectral_radius: Option<f64>,
    /// The largest singular value of the block (its spectral norm).
    pub sigma_max: f64,
}

/// The spectra of one layer-direction's `W_hh`.
///
/// # Example
/// ```
/// use rnn::diagnose::spectral::weight_spectra;
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_num_layers(2).with_bidirectional(true), output_size: None }, Init::PyTorch, 0)?;
/// let spectra = weight_spectra(&model);
/// let which: Vec<(usize, usize)> = spectra.iter().map(|s| (s.layer, s.direction)).collect();
/// assert_eq!(which, [(0, 0), (0, 1), (1, 0), (1, 1)]);
/// assert!(spectra.iter().all(|s| s.sigma_max > 0.0));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WeightSpectrum {
    /// The layer, from 0 at the bottom.
    pub layer: usize,
    /// The direction: 0 forward, 1 reverse.
    pub direction: usize,
    /// Each gate block of `W_hh`, in PyTorch's order (one block, `""`, for the Elman cell).
    pub gates: Vec<GateSpectrum>,
    /// The largest singular value of the whole `W_hh` (`[G*H, S]`).
    pub sigma_max: f64,
}

/// The gate labels of a cell, in the order its `W_hh` stacks the blocks.
///
/// # Example
/// ```
/// use rnn::Cell;
/// use rnn::diagnose::spectral::gate_labels;
/// assert_eq!(gate_labels(Cell::Gru), ["r", "z", "n"]);
/// assert_eq!(gate_labels(Cell::Rnn), [""]);
/// ```
pub fn gate_labels(cell: Cell) -> &'static [&'static str] {
    match cell {
        Cell::Rnn | Cell::IndRnn => &[""],
        Cell::Lstm => &["i", "f", "g", "o"],
        Cell::Gru => &["r", "z", "n"],
    }
}

/// The spectra of every layer-direction's recurrent weight, in `l * D + d` order.
///
/// For each gate block `W_h· [H, S]` of `W_hh` (an IndRNN's: `diag(u)`) (rows `k*H..(k+1)*H`): its spectral radius
/// (when square) and largest singular value; and the largest singular value of all of `W_hh`.
/// A value is NaN when the weights are not finite or the decomposition does not converge.
///
/// # Example
/// ```
/// use rnn::diagnose::spectral::weight_spectra;
/// use rnn::{Init, Model, ModelConfig, Nonlinearity, RnnConfig};
///
/// // IRNN: identity recurrent weights, so ρ = σ_max = 1
/// let rnn = RnnConfig::new(2, 4).with_nonlinearity(Nonlinearity::Relu).with_num_layers(2);
/// let model = Model::<f64>::new(ModelConfig { rnn, output_size: None }, Init::Identity, 0)?;
/// let spectra = weight_spectra(&model);
/// assert_eq!(spectra.len(), 2);
/// assert!((spectra[1].gates[0].spectral_radius.unwrap() - 1.0).abs() < 1e-12);
/// assert!((spectra[1].sigma_max - 1.0).abs() < 1e-12);
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn weight_spectra(model: &Model<f64>) -> Vec<WeightSpectrum> {
    let c = model.rnn.config();
    let (dirs, hidden) = (c.num_directions(), c.hidden_size);
    let labels = gate_labels(c.cell);
    model
        .rnn
        .layers()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // an IndRNN's recurrent weight is the diagonal matrix of u
            let diag = p.weight_hh_diag.as_ref().map(ndarray::Array2::from_diag);
            let w = diag.as_ref().unwrap_or(&p.weight_hh);
            let gates = labels
                .iter()
                .enumerate()
                .map(|(k, &gate)| {
                    let block = w.slice(s![k * hidden..(k + 1) * hidden, ..]);
                    GateSpectrum {
                        gate: gate.to_string(),
                        spectral_radius: spectral_radius(block),
                        sigma_max: largest_singular_value(block),
                    }
                })
                .collect();
            WeightSpectrum { layer: i / dirs, direction: i % dirs, gates, sigma_max: largest_singular_value(w.view()) }
        })
        .collect()
}

/// `a` as an nalgebra matrix.
pub(crate) fn to_nalgebra(a: ArrayView2<'_, f64>) -> DMatrix<f64> {
    DMatrix::from_fn(a.nrows(), a.ncols(), |r, c| a[[r, c]])
}

/// The largest singular value `σ_max(a) = ‖a‖₂` by nalgebra's SVD (singular values only); 0 for
/// an empty matrix, NaN when `a` is not finite or the SVD does not converge.
///
/// # Example
/// ```
/// use ndarray::array;
/// use rnn::diagnose::spectral::largest_singular_value;
/// let s = largest_singular_value(array![[3.0, 0.0], [0.0, -4.0]].view());
/// assert!((s - 4.0).abs() < 1e-12);
/// ```
pub fn largest_singular_value(a: ArrayView2<'_, f64>) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    if !a.iter().all(|v| v.is_finite()) {
        return f64::NAN;
    }
    let max_iter = MAX_ITER_PER_ROW * a.nrows().max(a.ncols());
    to_nalgebra(a)
        .try_svd_unordered(false, false, f64::EPSILON, max_iter)
        .map_or(f64::NAN, |svd| svd.singular_values.iter().copied().fold(0.0, f64::max))
}

/// The spectral radius `ρ(a) = max |λ|` over `a`'s complex eigenvalues, by nalgebra's real
/// Schur decomposition; `None` when `a` is not square, 0 for an empty matrix, NaN when `a` is
/// not finite or the decomposition does not converge.
///
/// # Example
/// ```
/// use ndarray::array;
/// use rnn::diagnose::spectral::spectral_radius;
/// // a rotation by 90° scaled by 0.5: eigenvalues ±0.5i
/// let r = spectral_radius(array![[0.0, -0.5], [0.5, 0.0]].view());
/// assert!((r.unwrap() - 0.5).abs() < 1e-12);
/// assert_eq!(spectral_radius(array![[1.0, 2.0]].view()), None);
/// ```
pub fn spectral_radius(a: ArrayView2<'_, f64>) -> Option<f64> {
    if a.nrows() != a.ncols() {
        return None;
    }
    if a.is_empty() {
        return Some(0.0);
    }
    if !a.iter().all(|v| v.is_finite()) {
        return Some(f64::NAN);
    }
    let max_iter = MAX_ITER_PER_ROW * a.nrows();
    let radius = to_nalgebra(a)
        .try_schur(f64::EPSILON, max_iter)
        .map_or(f64::NAN, |schur| schur.complex_eigenvalues().iter().map(|l| l.norm()).fold(0.0, f64::max));
    Some(radius)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;
    use crate::{Init, ModelConfig, Nonlinearity, RnnConfig};

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    /// Block diagonal of 2x2 rotations by different angles, times `scale`.
    fn rotations(n: usize, scale: f64) -> Array2<f64> {
        let mut w = Array2::zeros((n, n));
        for k in 0..n / 2 {
            let th = 0.3 + 0.7 * k as f64;
            let (c, s) = (th.cos(), th.sin());
            let j = 2 * k;
            w[[j, j]] = scale * c;
            w[[j, j + 1]] = -scale * s;
            w[[j + 1, j]] = scale * s;
            w[[j + 1, j + 1]] = scale * c;
        }
        w
    }

    #[test]
    fn scaled_rotations_have_radius_and_norm_of_the_scale() {
        let w = rotations(8, 0.9);
        assert!(close(spectral_radius(w.view()).unwrap(), 0.9, 1e-12));
        assert!(close(largest_singular_value(w.view()), 0.9, 1e-12));
    }

    #[test]
    fn non_normal_matrix_has_radius_below_its_norm() {
        let w = array![[0.5, 10.0], [0.0, 0.5]];
        assert!(close(spectral_radius(w.view()).unwrap(), 0.5, 1e-12));
        // σ_max² is the largest eigenvalue of wᵀw = [[0.25, 5], [5, 100.25]]
        let (tr, det): (f64, f64) = (100.5, 0.25 * 100.25 - 25.0);
        let sigma = ((tr + (tr * tr - 4.0 * det).sqrt()) / 2.0).sqrt();
        assert!(close(largest_singular_value(w.view()), sigma, 1e-12));
        assert!((sigma - 10.0249).abs() < 1e-4, "{sigma}");
    }

    #[test]
    fn identity_init_gives_one_and_one() {
        let rnn = RnnConfig::new(3, 6).with_nonlinearity(Nonlinearity::Relu).with_bidirectional(true);
        let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(1) }, Init::Identity, 1).unwrap();
        let spectra = weight_spectra(&model);
        assert_eq!(spectra.len(), 2);
        for (d, w) in spectra.iter().enumerate() {
            assert_eq!((w.layer, w.direction), (0, d));
            assert_eq!(w.gates.len(), 1);
            assert_eq!(w.gates[0].gate, "");
            assert!(close(w.gates[0].spectral_radius.unwrap(), 1.0, 1e-12));
            assert!(close(w.gates[0].sigma_max, 1.0, 1e-12));
            assert!(close(w.sigma_max, 1.0, 1e-12));
        }
    }

    #[test]
    fn gate_blocks_are_read_in_pytorch_order() {
        // a GRU whose blocks r, z, n are 0.2, 0.5 and 0.9 times rotations
        let h = 4;
        let rnn = RnnConfig::new(2, h).with_cell(Cell::Gru);
        let mut model = Model::<f64>::new(ModelConfig { rnn, output_size: None }, Init::PyTorch, 3).unwrap();
        for (k, scale) in [0.2, 0.5, 0.9].into_iter().enumerate() {
            model.rnn.layers_mut()[0].weight_hh.slice_mut(s![k * h..(k + 1) * h, ..]).assign(&rotations(h, scale));
        }
        let w = &weight_spectra(&model)[0];
        let labels: Vec<&str> = w.gates.iter().map(|g| g.gate.as_str()).collect();
        assert_eq!(labels, ["r", "z", "n"]);
        for (g, scale) in w.gates.iter().zip([0.2, 0.5, 0.9]) {
            assert!(close(g.spectral_radius.unwrap(), scale, 1e-12));
            assert!(close(g.sigma_max, scale, 1e-12));
        }
        // the stacked [3H, H] matrix: W_hhᵀ W_hh = (0.04 + 0.25 + 0.81) I
        assert!(close(w.sigma_max, 1.1f64.sqrt(), 1e-12));
    }

    #[test]
    fn projected_lstm_has_no_radius() {
        let rnn = RnnConfig::new(2, 5).with_cell(Cell::Lstm).with_proj_size(3);
        let model = Model::<f64>::new(ModelConfig { rnn, output_size: None }, Init::PyTorch, 2).unwrap();
        let w = &weight_spectra(&model)[0];
        assert_eq!(w.gates.len(), 4);
        assert!(w.gates.iter().all(|g| g.spectral_radius.is_none() && g.sigma_max > 0.0));
    }

    #[test]
    fn non_finite_weights_give_nan() {
        let w = array![[f64::NAN, 0.0], [0.0, 1.0]];
        assert!(largest_singular_value(w.view()).is_nan());
        assert!(spectral_radius(w.view()).unwrap().is_nan());
    }
}
