//! Combining the networks with the statistical baselines, the lesson of the M4 competition:
//! w·network + v·[`super::statistical`] on ln y + (1 − w − v)·[`super::statistical`] on y,
//! the weights chosen on the validation split and shrunk toward equal weights ([`SHRINKAGE`]). The baseline on ln y (positive series only)
//! turns MSTL's additive season into a multiplicative one (airline passengers).

use super::{ForecastMeta, Part, Table, metrics, statistical};
use crate::{Float, Model, Result};

/// The weights tried are multiples of 1 / STEPS.
const STEPS: usize = 10;

/// Replaces `network[o][k]` by w·network + Σ weight·baseline over `parts` (each weighted
/// baseline's forecasts `[origin][step]`).
pub(super) fn mix(network: &mut [Vec<f64>], parts: &[(&[Vec<f64>], f64)], w: f64) {
    for (o, n) in network.iter_mut().enumerate() {
        for (k, x) in n.iter_mut().enumerate() {
            *x = w * *x + parts.iter().map(|(b, v)| v * b[o][k]).sum::<f64>();
        }
    }
}

/// What [`ForecastMeta::choose_combination`] found on the validation split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Combination {
    /// The networks' weight w: the validation's best, shrunk toward equal weights.
    pub weight: f64,
    /// The weight v of the baseline on ln y (0 when the series is not positive), shrunk alike.
    pub log_weight: f64,
    /// The (w, v) of the lowest validation MASE, before the shrinkage.
    pub best: (f64, f64),
    /// The validation MASE of the networks alone.
    pub network: f64,
    /// The validation MASE of the baseline alone.
    pub baseline: f64,
    /// The validation MASE of the baseline on ln y alone (`None`: not fitted).
    pub log_baseline: Option<f64>,
    /// The validation MASE of the combination chosen (after the shrinkage).
    pub combined: f64,
}

/// How much of the weights chosen on the validation split is kept, the rest going to equal
/// weights: the forecast-combination puzzle (equal weights are hard to beat, weights estimated
/// on a few values are noisy; Smith & Wallis 2009), and here the networks' validation errors
/// flatter them (they were early-stopped on the same split).
pub const SHRINKAGE: f64 = 0.5;

/// A validation value and the forecasts combined for it: (y, network, baseline on ln y,
/// baseline on y, the series' MASE scale).
type Point = (f64, f64, f64, f64, f64);

/// The MASE of w·network + v·log + (1 − w − v)·baseline over `points`.
fn mase_of(points: &[Point], w: f64, v: f64) -> f64 {
    let mut acc = metrics::Accumulator::default();
    for &(y, net, log, ets, scale) in points {
        acc.add(y, w * net + v * log + (1.0 - w - v) * ets, scale);
    }
    if acc.is_empty() { f64::INFINITY } else { acc.scores().mase }
}

impl ForecastMeta {
    /// The weights (w, v) of the networks and of the baseline on ln y; (1, 0) without a
    /// combination.
    pub fn weights(&self) -> (f64, f64) {
        (self.combine.unwrap_or(1.0), self.combine_log.unwrap_or(0.0))
    }

    /// Mixes the networks' forecasts `net` from `origins` of the series `y` (h steps each) with
    /// the baselines refitted at each origin, by [`ForecastMeta::weights`]; unchanged when a
    /// baseline it needs cannot be fitted.
    pub(super) fn combined(&self, y: &[f64], origins: &[usize], h: usize, net: &mut [Vec<f64>]) {
        let (w, v) = self.weights();
        let raw_weight = 1.0 - w - v;
        let raw = (raw_weight > 1e-9).then(|| statistical::auto_ets(y, origins, h, self.season));
        let log = (v > 1e-9).then(|| statistical::auto_ets_log(y, origins, h, self.season));
        let mut parts: Vec<(&[Vec<f64>], f64)> = Vec::new();
        for (f, weight) in [(&raw, raw_weight), (&log, v)] {
            match f {
                Some(Some(f)) => parts.push((f, weight)),
                Some(None) => return,
                None => {}
            }
        }
        if w < 1.0 {
            mix(net, &parts, w);
        }
    }

    /// Chooses the networks' weight w and the weight v of the baseline on ln y: the multiples
    /// of 0.1 with w + v ≤ 1 (the baseline on y gets the rest) of the lowest MASE over every
    /// validation origin and step of every series (ties: the larger w, then the smaller v),
    /// then shrunk halfway ([`SHRINKAGE`]) toward equal weights over the forecasters (the
    /// networks and one or two baselines). The test split is not looked at. `None` when the
    /// baseline on y cannot be fitted on some series; v is 0 when the one on ln y cannot.
    ///
    /// # Errors
    /// As [`ForecastMeta::evaluate`].
    #[doc(hidden)] // for the `rnn` binary
    pub fn choose_combination<F: Float>(&self, models: &[Model<F>], table: &Table) -> Result<Option<Combination>> {
        let alone = ForecastMeta { combine: None, combine_log: None, ..self.clone() };
        let (_, val) = alone.evaluate(models, table, Part::Validation, None)?;
        let mut logs = Vec::with_capacity(val.len());
        for fc in &val {
            let s = &table.series[fc.series];
            let Some(ets) = statistical::auto_ets(&s.values, &fc.origins, self.horizon, self.season) else {
                return Ok(None);
            };
            logs.push((ets, statistical::auto_ets_log(&s.values, &fc.origins, self.horizon, self.season)));
        }
        let with_log = logs.iter().all(|l| l.1.is_some());
        let mut points: Vec<Point> = Vec::new();
        for (fc, (ets, log)) in val.iter().zip(&logs) {
            let s = &table.series[fc.series];
            let scale = metrics::mase_scale(&s.values[..self.split.sizes(s.len())[0]], self.season.max(1));
            for (o, (&t, net)) in fc.origins.iter().zip(&fc.model).enumerate() {
                for k in 0..self.horizon {
                    let l = log.as_ref().filter(|_| with_log).map_or(0.0, |l| l[o][k]);
                    points.push((s.values[t + 1 + k], net[k], l, ets[o][k], scale));
                }
            }
        }
        let step = 1.0 / STEPS as f64;
        let grid: Vec<(f64, f64)> = (0..=STEPS)
            .rev()
            .flat_map(|i| (0..=STEPS - i).map(move |j| (i, j)))
            .filter(|&(_, j)| j == 0 || with_log)
            .map(|(i, j)| (i as f64 * step, j as f64 * step))
            .collect();
        let mase: Vec<f64> = grid.iter().map(|&(w, v)| mase_of(&points, w, v)).collect();
        let (network, baseline) = (mase_of(&points, 1.0, 0.0), mase_of(&points, 0.0, 0.0));
        if !network.is_finite() || !baseline.is_finite() {
            return Ok(None);
        }
        // the first lowest in grid order: larger w first, then smaller v
        let best = (0..grid.len()).fold(0, |b, p| if mase[p] < mase[b] { p } else { b });
        let (w, v) = grid[best];
        let equal = if with_log { 1.0 / 3.0 } else { 0.5 };
        let weight = SHRINKAGE * w + (1.0 - SHRINKAGE) * equal;
        let log_weight = if with_log { SHRINKAGE * v + (1.0 - SHRINKAGE) * equal } else { 0.0 };
        Ok(Some(Combination {
            weight,
            log_weight,
            best: (w, v),
            network,
            baseline,
            log_baseline: with_log.then(|| mase_of(&points, 0.0, 1.0)),
            combined: mase_of(&points, weight, log_weight),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes() {
        let mut n = vec![vec![1.0, 2.0]];
        mix(&mut n, &[(&[vec![3.0, 4.0]], 0.5)], 0.5);
        assert_eq!(n, [vec![2.0, 3.0]]);
        mix(&mut n, &[(&[vec![0.0, 0.0]], 0.25), (&[vec![4.0, 4.0]], 0.25)], 0.5);
        assert_eq!(n, [vec![2.0, 2.5]]);
    }

    #[test]
    fn scores_a_weighting() {
        // y = 2: the network says 1, the log baseline 4, the baseline 2; scale 1
        let points = [(2.0, 1.0, 4.0, 2.0, 1.0)];
        assert_eq!(mase_of(&points, 1.0, 0.0), 1.0);
        assert_eq!(mase_of(&points, 0.0, 1.0), 2.0);
        assert_eq!(mase_of(&points, 0.0, 0.0), 0.0);
        assert!((mase_of(&points, 2.0 / 3.0, 1.0 / 3.0) - 0.0).abs() < 1e-12);
        assert_eq!(mase_of(&[], 1.0, 0.0), f64::INFINITY);
    }
}
