//! Prediction intervals by split conformal prediction on the validation split, per horizon step.
//!
//! For step k, the absolute validation errors |y − ŷ| of every origin, each divided by its
//! series' scale s (the mean absolute first difference of its training split, so that series of
//! the long format pool), are sorted; the half-width at level 1 − α is the ⌈(n + 1)(1 − α)⌉-th
//! smallest (the finite-sample conformal quantile; the largest when that index passes n), times s.
//! The interval of a forecast ŷ is ŷ ± that. The validation split was not trained on (it only
//! stopped training and chose the transformation), and the test split is not looked at, so the
//! empirical coverage on the test split is an honest check. Beyond the horizon (recursive
//! forecasts) the last step's half-width grows with √(k/H), an approximation.

use serde::Serialize;

use super::{Evaluation, ForecastMeta, Part, SeriesForecasts, Table, metrics};
use crate::{Float, Model, Result};

/// The nominal levels of the intervals: 80% and 95%.
pub const LEVELS: [f64; 2] = [0.8, 0.95];

/// The conformal quantiles, per step and level, in units of a series' scale.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conformal {
    /// `[step][level]` scaled half-widths.
    pub quantiles: Vec<[f64; 2]>,
    /// Validation forecasts per step they come from.
    pub calibration: usize,
}

/// How often the test values fell inside the intervals.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Coverage {
    /// The nominal levels, in percent.
    pub nominal: [f64; 2],
    /// The fraction of test values inside, in percent, per level.
    pub empirical: [f64; 2],
    /// Test values counted.
    pub values: usize,
    /// Validation forecasts per step the intervals were calibrated on.
    pub calibration: usize,
}

/// A series' scale: the mean absolute first difference of its training split (1 when 0).
pub fn scale(train: &[f64]) -> f64 {
    let s = metrics::mase_scale(train, 1);
    if s.is_finite() && s > 0.0 { s } else { 1.0 }
}

impl Conformal {
    /// The half-width of step `step` (1-based) at level index `level` for a series of scale `s`.
    pub fn half_width(&self, step: usize, level: usize, s: f64) -> f64 {
        let h = self.quantiles.len();
        let q = self.quantiles[step.clamp(1, h) - 1][level];
        let grow = if step > h { (step as f64 / h as f64).sqrt() } else { 1.0 };
        q * grow * s
    }
}

impl ForecastMeta {
    /// Calibrates the intervals of the networks `models` on the validation split of `table`.
    ///
    /// # Errors
    /// As [`ForecastMeta::evaluate`] (e.g. a validation split with no origin).
    #[doc(hidden)] // for the `rnn` binary
    pub fn conformal<F: Float>(&self, models: &[Model<F>], table: &Table) -> Result<Conformal> {
        let (_, val) = self.evaluate(models, table, Part::Validation, None)?;
        let mut errors: Vec<Vec<f64>> = vec![Vec::new(); self.horizon];
        for fc in &val {
            let s = &table.series[fc.series];
            let sc = scale(&s.values[..self.split.sizes(s.len())[0]]);
            for (&t, f) in fc.origins.iter().zip(&fc.model) {
                for (k, e) in errors.iter_mut().enumerate() {
                    e.push((s.values[t + 1 + k] - f[k]).abs() / sc);
                }
            }
        }
        let quantiles = errors
            .iter_mut()
            .map(|e| {
                e.sort_by(f64::total_cmp);
                let n = e.len();
                LEVELS.map(|level| {
                    let rank = ((n as f64 + 1.0) * level).ceil() as usize;
                    e.get(rank.clamp(1, n.max(1)) - 1).copied().unwrap_or(f64::NAN)
                })
            })
            .collect();
        Ok(Conformal { quantiles, calibration: errors.first().map_or(0, Vec::len) })
    }

    /// Calibrates the intervals on the validation split, stores each series' half-widths in
    /// `forecasts` and the empirical coverage of `ev`'s forecasts in `ev`.
    ///
    /// # Errors
    /// As [`ForecastMeta::conformal`].
    #[doc(hidden)] // for the `rnn` binary
    pub fn add_intervals<F: Float>(
        &self,
        models: &[Model<F>],
        table: &Table,
        ev: &mut Evaluation,
        forecasts: &mut [SeriesForecasts],
    ) -> Result<Conformal> {
        let c = self.conformal(models, table)?;
        let (mut inside, mut n) = ([0usize; 2], 0usize);
        for fc in forecasts.iter_mut() {
            let s = &table.series[fc.series];
            let sc = scale(&s.values[..self.split.sizes(s.len())[0]]);
            let widths: Vec<[f64; 2]> =
                (1..=self.horizon).map(|k| [c.half_width(k, 0, sc), c.half_width(k, 1, sc)]).collect();
            for (&t, f) in fc.origins.iter().zip(&fc.model) {
                for (k, w) in widths.iter().enumerate() {
                    let e = (s.values[t + 1 + k] - f[k]).abs();
                    n += 1;
                    for l in 0..2 {
                        inside[l] += usize::from(e <= w[l]);
                    }
                }
            }
            fc.half_widths = Some(widths);
        }
        ev.coverage = Some(Coverage {
            nominal: LEVELS.map(|l| l * 100.0),
            empirical: inside.map(|i| 100.0 * i as f64 / n.max(1) as f64),
            values: n,
            calibration: c.calibration,
        });
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_grow_beyond_the_horizon() {
        let c = Conformal { quantiles: vec![[1.0, 2.0], [1.5, 3.0]], calibration: 10 };
        assert_eq!(c.half_width(1, 1, 2.0), 4.0);
        assert_eq!(c.half_width(8, 0, 1.0), 1.5 * 2.0);
        assert_eq!(scale(&[1.0, 3.0, 2.0]), 1.5);
        assert_eq!(scale(&[1.0, 1.0]), 1.0);
    }
}
