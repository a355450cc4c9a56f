//! Every diagnostic of one model on one batch, gathered ([`Diagnostics`]), and its table.
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::data::TargetView;
//! use rnn::diagnose::report::{Diagnostics, Options};
//! use rnn::train::loss::Loss;
//! use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
//! let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let (x, y) = (Array3::<f64>::ones((5, 2, 1)), Array3::<f64>::zeros((5, 2, 1)));
//! let d = Diagnostics::compute(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, Options::default())?;
//! assert!(d.to_table().contains("H = 4")); // what `rnn diagnose` prints
//! # Ok::<(), rnn::Error>(())
//! ```

use ndarray::ArrayView3;
use serde::Serialize;

use super::jacobian::{jacobian_norms, with_eval_run};
use super::lag::{LagProfile, profile_and_grads};
use super::saturation::saturation_of;
use super::spectral::{WeightSpectrum, weight_spectra};
use crate::data::TargetView;
use crate::train::loss::Loss;
use crate::{Model, Readout, Result};

/// What [`Diagnostics::compute`] measures with.
///
/// # Example
/// ```
/// use rnn::diagnose::report::Options;
/// let fast = Options { jacobian_batch: 0, ..Options::default() }; // no step Jacobians
/// assert_eq!(fast.jacobian_batch, 0);
/// assert!(Options::default().end_points > 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// End points of the gradient-by-lag measurement (one backward pass each).
    pub end_points: usize,
    /// Sequences the step Jacobians and the saturation are measured on (a plain `f64` pass
    /// and one SVD per step and sequence: `O(T B S³)`); 0 skips them.
    pub jacobian_batch: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { end_points: 4, jacobian_batch: 4 }
    }
}

/// One layer and direction's diagnostics.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::TargetView;
/// use rnn::diagnose::report::{Diagnostics, Options};
/// use rnn::train::loss::Loss;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4).with_bidirectional(true), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::from_shape_fn((12, 2, 1), |(t, b, _)| ((t + b) as f64).sin());
/// let y = Array3::<f64>::zeros((12, 2, 1));
/// let d = Diagnostics::compute(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, Options::default())?;
/// let directions: Vec<&str> = d.layers.iter().map(|l| l.direction).collect();
/// assert_eq!(directions, ["forward", "reverse"]);
/// assert_eq!(d.layers[0].grad_norm_by_time.len(), 12);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    /// The layer (0 at the bottom).
    pub layer: usize,
    /// `"forward"` or `"reverse"`.
    pub direction: &'static str,
    /// `‖dL_t/dh_{t-k}‖` by lag `k` (see [`LagProfile::h`]).
    pub grad_norm_by_lag: Vec<f64>,
    /// An LSTM's `‖dL_t/dc_{t-k}‖` by lag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_grad_norm_by_lag: Option<Vec<f64>>,
    /// `‖dL/dh_t‖` by time step under the whole loss.
    pub grad_norm_by_time: Vec<f64>,
    /// The Euclidean norm of the whole loss's gradient of each of this direction's parameters,
    /// by model-file name.
    pub param_grad_norms: Vec<(String, f64)>,
    /// The recurrent weight's spectral radius and largest singular value, per gate block.
    pub spectrum: WeightSpectrum,
    /// `‖∂s_t/∂s_{t-1}‖₂` by time step along the batch's trajectory (batch mean over
    /// [`Options::jacobian_batch`] sequences; empty when skipped).
    pub jacobian_norm_by_time: Vec<f64>,
    /// The fractions of saturated units and gates (empty when skipped).
    pub saturation: Vec<(String, f64)>,
}

/// The diagnostics of a model on a batch.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::TargetView;
/// use rnn::diagnose::report::{Diagnostics, Options};
/// use rnn::train::loss::Loss;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((8, 2, 1));
/// let y = Array3::<f64>::zeros((8, 2, 1));
/// let options = Options { end_points: 2, jacobian_batch: 0 };
/// let d = Diagnostics::compute(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, options)?;
/// assert_eq!((d.num_layers, d.hidden_size, d.seq_len, d.end_points.clone()), (1, 4, 8, vec![7, 6]));
/// let names: Vec<&str> = d.head_grad_norms.iter().map(|(n, _)| n.as_str()).collect();
/// assert_eq!(names, ["head.weight", "head.bias"]);
/// let json = serde_json::to_value(&d).map_err(|e| rnn::Error::Config(e.to_string()))?; // what `rnn diagnose --json` prints
/// assert_eq!(json["layers"][0]["direction"], "forward");
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostics {
    /// The cell (`rnn`, `lstm`, `gru`) and, for the Elman cell, its activation.
    pub cell: String,
    /// Layers, directions and units.
    pub num_layers: usize,
    /// 1 or 2.
    pub num_directions: usize,
    /// `H`.
    pub hidden_size: usize,
    /// Sequences and steps measured.
    pub batch: usize,
    /// Steps per sequence.
    pub seq_len: usize,
    /// The loss's name and its value on the batch.
    pub loss_name: &'static str,
    /// The whole loss of the batch.
    pub loss: f64,
    /// The steps whose loss was back-propagated alone.
    pub end_points: Vec<usize>,
    /// Per layer and direction, bottom layer first.
    pub layers: Vec<LayerReport>,
    /// The norm of the head's parameter gradients, by name.
    pub head_grad_norms: Vec<(String, f64)>,
}

impl Diagnostics {
    /// Measures `model` on the batch `x [T, B, input_size]` with its `target` under `loss`,
    /// the head reading the steps `readout` names.
    ///
    /// # Errors
    /// [`crate::Error::Shape`] when the batch does not fit the model;
    /// [`crate::Error::Config`] for an empty batch.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::TargetView;
    /// use rnn::diagnose::report::{Diagnostics, Options};
    /// use rnn::train::loss::Loss;
    /// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
    /// let rnn = RnnConfig::new(2, 8).with_num_layers(2);
    /// let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::from_shape_fn((30, 4, 2), |(t, b, i)| ((t + 3 * b + i) as f64).sin());
    /// let y = Array3::<f64>::zeros((30, 4, 1));
    /// let d = Diagnostics::compute(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, Options::default())?;
    /// assert_eq!(d.layers.len(), 2);
    /// assert!(d.to_table().contains("lag"));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn compute(
        model: &Model<f64>,
        x: ArrayView3<'_, f64>,
        target: TargetView<'_, f64>,
        loss: Loss,
        readout: Readout,
        options: Options,
    ) -> Result<Diagnostics> {
        let config = model.rnn.config();
        let (seq_len, batch, _) = x.dim();
        // the lag profile, and the parameters' gradients of the whole loss from the same pass
        let (LagProfile { end_points, h, c, by_time, loss: value }, grads) =
            profile_and_grads(model, x, target, loss, readout, options.end_points)?;
        let mut spectra = weight_spectra(model).into_iter();
        // the step Jacobians and the saturation, from one plain f64 pass
        let (jac, sat) = if options.jacobian_batch > 0 {
            let (j, s) =
                with_eval_run(model, x, options.jacobian_batch, |run| (jacobian_norms(run), saturation_of(run)))?;
            (Some(j), s)
        } else {
            (None, Vec::new())
        };
        let mut sat = sat.into_iter();
        let named = grads.named_tensors(config);
        let norm = |t: &ndarray::ArrayViewD<'_, f64>| t.iter().map(|v| v * v).sum::<f64>().sqrt();
        let dirs = config.num_directions();
        let layers = (0..config.num_layers * dirs)
            .map(|i| {
                let (layer, reverse) = (i / dirs, i % dirs == 1);
                let suffix = format!("_l{layer}{}", if reverse { "_reverse" } else { "" });
                let param_grad_norms = named
                    .iter()
                    .filter(|(name, _)| name.starts_with("rnn.") && name.ends_with(&suffix))
                    .map(|(name, t)| (name.clone(), norm(t)))
                    .collect();
                LayerReport {
                    layer,
                    direction: if reverse { "reverse" } else { "forward" },
                    grad_norm_by_lag: h[i].clone(),
                    cell_grad_norm_by_lag: c.as_ref().map(|c| c[i].clone()),
                    grad_norm_by_time: by_time[i].clone(),
                    param_grad_norms,
                    spectrum: spectra.next().expect("one spectrum per layer and direction"),
                    jacobian_norm_by_time: jac.as_ref().map_or_else(Vec::new, |j| j.row(i).to_vec()),
                    saturation: sat.next().map_or_else(Vec::new, |s| s.fractions),
                }
            })
            .collect();
        let head_grad_norms = named
            .iter()
            .filter(|(name, _)| name.starts_with("head."))
            .map(|(name, t)| (name.clone(), norm(t)))
            .collect();
        let cell = match config.cell {
            crate::Cell::Rnn => format!("rnn ({})", config.nonlinearity),
            other => other.to_string(),
        };
        Ok(Diagnostics {
            cell,
            num_layers: config.num_layers,
            num_directions: dirs,
            hidden_size: config.hidden_size,
            batch,
            seq_len,
            loss_name: loss.name(),
            loss: value,
            end_points,
            layers,
            head_grad_norms,
        })
    }

    /// The lags a table shows: 0, 1, then roughly doubling, and the longest.
    fn table_lags(longest: usize) -> Vec<usize> {
        let mut lags = vec![0];
        let mut k = 1;
        while k < longest {
            lags.push(k);
            k = if k < 4 { k + 1 } else { k * 2 };
        }
        if longest > 0 {
            lags.push(longest);
        }
        lags.dedup();
        lags
    }

    /// A table a person reads: the gradient's norm at chosen lags per layer and direction,
    /// with its decay from lag 0 to the longest, and the parameter gradients' norms.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::data::TargetView;
    /// use rnn::diagnose::report::{Diagnostics, Options};
    /// use rnn::train::loss::Loss;
    /// use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4).with_cell(Cell::Gru), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((10, 2, 1));
    /// let y = Array3::<f64>::zeros((1, 2, 1));
    /// let d = Diagnostics::compute(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::LastStep, Options::default())?;
    /// let table = d.to_table();
    /// assert!(table.contains("H = 4") && table.contains("lag"), "{table}");
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let dirs = if self.num_directions == 2 { ", bidirectional" } else { "" };
        out += &format!(
            "{} x {} layer(s), H = {}{dirs}; {} sequence(s) x {} steps; {} loss {:.6}\n",
            self.cell, self.num_layers, self.hidden_size, self.batch, self.seq_len, self.loss_name, self.loss
        );
        let points: Vec<String> = self.end_points.iter().map(usize::to_string).collect();
        out += &format!(
            "\ngradient norm by lag k: mean over end points t = {} of ‖dL_t/dh_(t-k)‖ (batch mean)\n",
            points.join(", ")
        );
        let longest = self.layers.iter().map(|l| l.grad_norm_by_lag.len()).max().unwrap_or(1).saturating_sub(1);
        let lags = Self::table_lags(longest);
        let mut header = format!("{:<18}", "layer");
        for k in &lags {
            header += &format!(" {:>9}", format!("k={k}"));
        }
        header += &format!(" {:>12}\n", "last/first");
        out += &header;
        let fmt = |v: Option<&f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2e}"));
        for l in &self.layers {
            let rows =
                std::iter::once(("h", &l.grad_norm_by_lag)).chain(l.cell_grad_norm_by_lag.iter().map(|c| ("c", c)));
            for (what, values) in rows {
                let name = format!("{} {}{}", l.layer, l.direction, if what == "c" { " (c)" } else { "" });
                let mut line = format!("{name:<18}");
                for &k in &lags {
                    line += &format!(" {:>9}", fmt(values.get(k)));
                }
                let ratio = match (values.first(), values.last()) {
                    (Some(&a), Some(&b)) if a > 0.0 => format!("{:.2e}", b / a),
                    _ => "-".into(),
                };
                out += &format!("{line} {ratio:>12}\n");
            }
        }
        out += "\nrecurrent weights: spectral radius / largest singular value per gate block\n";
        for l in &self.layers {
            let blocks: Vec<String> = l
                .spectrum
                .gates
                .iter()
                .map(|g| {
                    let name = if g.gate.is_empty() { String::new() } else { format!("{}: ", g.gate) };
                    let rho = g.spectral_radius.map_or_else(|| "-".to_string(), |r| format!("{r:.3}"));
                    format!("{name}{rho} / {:.3}", g.sigma_max)
                })
                .collect();
            out += &format!("  {:<16} {}\n", format!("{} {}", l.layer, l.direction), blocks.join(", "));
        }
        if self.layers.iter().any(|l| !l.jacobian_norm_by_time.is_empty()) {
            out +=
                "\nstep Jacobian ‖∂s_t/∂s_(t-1)‖ along the batch's trajectory: mean, min, max over time; saturation\n";
            for l in &self.layers {
                let j = &l.jacobian_norm_by_time;
                let mean = j.iter().sum::<f64>() / j.len().max(1) as f64;
                let (lo, hi) = j.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
                let sat: Vec<String> =
                    l.saturation.iter().map(|(name, f)| format!("{name} {:.1}%", 100.0 * f)).collect();
                out += &format!(
                    "  {:<16} {mean:.3} ({lo:.3}..{hi:.3}); {}\n",
                    format!("{} {}", l.layer, l.direction),
                    sat.join(", ")
                );
            }
        }
        out += "\nparameter gradient norms (whole loss)\n";
        for l in &self.layers {
            for (name, v) in &l.param_grad_norms {
                out += &format!("  {name:<28} {v:.3e}\n");
            }
        }
        for (name, v) in &self.head_grad_norms {
            out += &format!("  {name:<28} {v:.3e}\n");
        }
        out
    }
}
