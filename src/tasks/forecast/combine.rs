//! Combining the network with the statistical baseline, the lesson of the M4 competition:
//! w·network + (1 − w)·[`super::statistical`], w chosen on the validation split.

use super::{ForecastMeta, Part, Table, metrics, statistical};
use crate::{Float, Model, Result};

/// The weights tried: 0, 0.1, ..., 1.
const STEPS: usize = 10;

/// Replaces `network[o][k]` by w·network + (1 − w)·baseline; nothing without a baseline.
pub(super) fn mix(network: &mut [Vec<f64>], baseline: Option<&[Vec<f64>]>, w: f64) {
    let Some(b) = baseline else { return };
    for (n, b) in network.iter_mut().zip(b) {
        for (x, y) in n.iter_mut().zip(b) {
            *x = w * *x + (1.0 - w) * y;
        }
    }
}

/// What [`ForecastMeta::choose_combination`] found on the validation split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Combination {
    /// The network's weight.
    pub weight: f64,
    /// The validation MASE of the network alone.
    pub network: f64,
    /// The validation MASE of the baseline alone.
    pub baseline: f64,
    /// The validation MASE of the combination chosen.
    pub combined: f64,
}

impl ForecastMeta {
    /// Chooses the network's weight w in w·network + (1 − w)·baseline, from 0, 0.1, ..., 1, by
    /// the lowest MASE over every validation origin and step of every series (ties: the larger
    /// w). The test split is not looked at. `None` when the baseline cannot be fitted on some
    /// series.
    ///
    /// # Errors
    /// As [`ForecastMeta::evaluate`].
    #[doc(hidden)] // for the `rnn` binary
    pub fn choose_combination<F: Float>(&self, model: &Model<F>, table: &Table) -> Result<Option<Combination>> {
        let alone = ForecastMeta { combine: None, ..self.clone() };
        let (_, val) = alone.evaluate(model, table, Part::Validation, None)?;
        let mut acc = vec![metrics::Accumulator::default(); STEPS + 1];
        for fc in &val {
            let s = &table.series[fc.series];
            let scale = metrics::mase_scale(&s.values[..self.split.sizes(s.len())[0]], self.season.max(1));
            let Some(ets) = statistical::auto_ets(&s.values, &fc.origins, self.horizon, self.season) else {
                return Ok(None);
            };
            for ((&t, net), base) in fc.origins.iter().zip(&fc.model).zip(&ets) {
                for k in 0..self.horizon {
                    let y = s.values[t + 1 + k];
                    for (i, a) in acc.iter_mut().enumerate() {
                        let w = i as f64 / STEPS as f64;
                        a.add(y, w * net[k] + (1.0 - w) * base[k], scale);
                    }
                }
            }
        }
        let mase: Vec<f64> = acc.iter().map(|a| a.scores().mase).collect();
        if mase.iter().any(|m| !m.is_finite()) {
            return Ok(None);
        }
        let best = (0..=STEPS).rev().min_by(|&a, &b| mase[a].total_cmp(&mase[b])).unwrap_or(STEPS);
        Ok(Some(Combination {
            weight: best as f64 / STEPS as f64,
            network: mase[STEPS],
            baseline: mase[0],
            combined: mase[best],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixes() {
        let mut n = vec![vec![1.0, 2.0]];
        mix(&mut n, Some(&[vec![3.0, 4.0]]), 0.5);
        assert_eq!(n, [vec![2.0, 3.0]]);
        mix(&mut n, None, 0.0);
        assert_eq!(n, [vec![2.0, 3.0]]);
    }
}
