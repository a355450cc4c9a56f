//! Combining the networks with statistical forecasters, the lesson of the M4 competition
//! (combinations win; equal weights are hard to beat).
//!
//! The members, in [`MEMBERS`] order: the networks (the ensemble's mean), [`statistical`]'s
//! MSTL+AutoETS on y, the same on ln y (a multiplicative season and trend; positive series
//! only) and Holt-Winters with a multiplicative season (positive seasonal series only). On the
//! validation split each member's scaled error is measured; with three or more members the
//! worst is dropped and the rest get equal weights (a trimmed mean: Jose & Winkler 2008, and
//! the trimming of the worst forecasters of Aiolfi & Timmermann 2006); with two, the weights
//! are inverse to their validation mean squared scaled errors. The test split is not looked at.
//!
//! Why not weights fitted on the validation split: with 20 to 40 validation values per series
//! they are noisy, and the networks' validation errors flatter them (they were early-stopped on
//! the same split). Measured on four bundled and six held-aside series (README, "Forecasting"),
//! the trimmed mean beat the fitted weights (even shrunk halfway to equal) on both sets.

use super::{ForecastMeta, Part, Table, metrics, statistical};
use crate::{Float, Model, Result};

/// The members of the combination, in the order of [`Combination::weights`] and
/// [`ForecastMeta::weights`].
pub const MEMBERS: [&str; 4] = ["networks", "baseline on y", "baseline on ln y", "Holt-Winters"];

/// Members with a weight below this are not computed.
const NEGLIGIBLE: f64 = 1e-9;

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
#[doc(hidden)] // for the `rnn` binary, as `choose_combination`
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Combination {
    /// The weight of each member, in [`MEMBERS`] order (0: not fitted or dropped); they sum to 1.
    pub weights: [f64; 4],
    /// Each member's validation root mean squared scaled error (`None`: it could not be fitted).
    pub scores: [Option<f64>; 4],
    /// The member dropped as the worst on validation (with three or more members).
    pub dropped: Option<usize>,
    /// The validation root mean squared scaled error of the combination.
    pub combined: f64,
}

/// The weights of members whose validation mean squared scaled errors are `mse` (`None`: not
/// fitted): with three or more, the worst is dropped (the first of equals) and the rest share
/// equally; with two, weights inverse to the errors (equal when both are 0); one gets all.
/// Returns the weights and the member dropped.
pub(super) fn choose(mse: &[Option<f64>; 4]) -> ([f64; 4], Option<usize>) {
    let present: Vec<usize> = (0..4).filter(|&i| mse[i].is_some_and(f64::is_finite)).collect();
    let mut weights = [0.0; 4];
    let mut dropped = None;
    match present.len() {
        0 => {}
        1 => weights[present[0]] = 1.0,
        2 => {
            let (a, b) = (present[0], present[1]);
            let (ea, eb) = (mse[a].unwrap_or(0.0), mse[b].unwrap_or(0.0));
            // inverse to the errors: w_a = e_b / (e_a + e_b)
            let wa = if ea + eb > 0.0 { eb / (ea + eb) } else { 0.5 };
            (weights[a], weights[b]) = (wa, 1.0 - wa);
        }
        n => {
            let worst = present.iter().copied().fold(present[0], |w, i| if mse[i] > mse[w] { i } else { w });
            dropped = Some(worst);
            for &i in present.iter().filter(|&&i| i != worst) {
                weights[i] = 1.0 / (n - 1) as f64;
            }
        }
    }
    (weights, dropped)
}

/// A validation value, each member's forecast of it (NaN: not fitted) and the series' scale.
type Point = (f64, [f64; 4], f64);

/// The mean squared scaled error of `weights`·members over `points`.
fn mse_of(points: &[Point], weights: &[f64; 4]) -> f64 {
    if points.is_empty() {
        return f64::INFINITY;
    }
    let sum: f64 = points
        .iter()
        .map(|(y, f, scale)| {
            let combined: f64 = (0..4).filter(|&i| weights[i] > 0.0).map(|i| weights[i] * f[i]).sum();
            ((y - combined) / scale).powi(2)
        })
        .sum();
    sum / points.len() as f64
}

impl ForecastMeta {
    /// The weights of the combination's members in [`MEMBERS`] order: the networks, the
    /// baseline on y, on ln y and Holt-Winters; `[1, 0, 0, 0]` without a combination.
    pub fn weights(&self) -> [f64; 4] {
        let Some(w) = self.combine else { return [1.0, 0.0, 0.0, 0.0] };
        let (v, u) = (self.combine_log.unwrap_or(0.0), self.combine_hw.unwrap_or(0.0));
        [w, (1.0 - w - v - u).max(0.0), v, u]
    }

    /// Stores `weights` (in [`MEMBERS`] order) as the model's combination: none when the
    /// networks have them all.
    #[doc(hidden)] // for the `rnn` binary
    pub fn set_weights(&mut self, weights: &[f64; 4]) {
        let some = |x: f64| (x > NEGLIGIBLE).then_some(x);
        self.combine = (weights[0] < 1.0 - NEGLIGIBLE).then_some(weights[0]);
        self.combine_log = self.combine.and(some(weights[2]));
        self.combine_hw = self.combine.and(some(weights[3]));
    }

    /// Mixes the networks' forecasts `net` from `origins` of the series `y` (h steps each) with
    /// the baselines refitted at each origin, by [`ForecastMeta::weights`]; unchanged when a
    /// baseline it needs cannot be fitted.
    pub(super) fn combined(&self, y: &[f64], origins: &[usize], h: usize, net: &mut [Vec<f64>]) {
        let weights = self.weights();
        if weights[0] >= 1.0 {
            return;
        }
        let m = self.season;
        let fits: [Option<Option<Vec<Vec<f64>>>>; 3] = [
            (weights[1] > NEGLIGIBLE).then(|| statistical::auto_ets(y, origins, h, m)),
            (weights[2] > NEGLIGIBLE).then(|| statistical::auto_ets_log(y, origins, h, m)),
            (weights[3] > NEGLIGIBLE).then(|| statistical::holt_winters(y, origins, h, m)),
        ];
        let mut parts: Vec<(&[Vec<f64>], f64)> = Vec::new();
        for (f, &weight) in fits.iter().zip(&weights[1..]) {
            match f {
                Some(Some(f)) => parts.push((f, weight)),
                Some(None) => return,
                None => {}
            }
        }
        mix(net, &parts, weights[0]);
    }

    /// Chooses the combination's weights on the validation split ([`choose`]'s rule over every
    /// validation origin and step of every series; the test split is not looked at). `None`
    /// when the baseline on y cannot be fitted on some series; the baseline on ln y and
    /// Holt-Winters take part only when they can be fitted on every series.
    ///
    /// # Errors
    /// As [`ForecastMeta::evaluate`].
    #[doc(hidden)] // for the `rnn` binary
    pub fn choose_combination<F: Float>(&self, models: &[Model<F>], table: &Table) -> Result<Option<Combination>> {
        let alone = ForecastMeta { combine: None, combine_log: None, combine_hw: None, ..self.clone() };
        let (_, val) = alone.evaluate(models, table, Part::Validation, None)?;
        let (h, m) = (self.horizon, self.season);
        let mut fits = Vec::with_capacity(val.len());
        for fc in &val {
            let y = &table.series[fc.series].values;
            let Some(ets) = statistical::auto_ets(y, &fc.origins, h, m) else {
                return Ok(None);
            };
            fits.push([
                Some(ets),
                statistical::auto_ets_log(y, &fc.origins, h, m),
                statistical::holt_winters(y, &fc.origins, h, m),
            ]);
        }
        // a member takes part when it is fitted on every series
        let everywhere: Vec<bool> = (0..3).map(|j| fits.iter().all(|f| f[j].is_some())).collect();
        let mut points: Vec<Point> = Vec::new();
        for (fc, fit) in val.iter().zip(&fits) {
            let s = &table.series[fc.series];
            let scale = metrics::mase_scale(&s.values[..self.split.sizes(s.len())[0]], m.max(1));
            for (o, (&t, net)) in fc.origins.iter().zip(&fc.model).enumerate() {
                for k in 0..h {
                    let mut f = [net[k], f64::NAN, f64::NAN, f64::NAN];
                    for j in 0..3 {
                        if let (true, Some(b)) = (everywhere[j], &fit[j]) {
                            f[j + 1] = b[o][k];
                        }
                    }
                    points.push((s.values[t + 1 + k], f, scale));
                }
            }
        }
        let mut mse = [None; 4];
        for (i, e) in mse.iter_mut().enumerate() {
            if i == 0 || everywhere[i - 1] {
                let mut alone = [0.0; 4];
                alone[i] = 1.0;
                *e = Some(mse_of(&points, &alone)).filter(|x| x.is_finite());
            }
        }
        if mse[0].is_none() || mse[1].is_none() {
            return Ok(None);
        }
        let (weights, dropped) = choose(&mse);
        Ok(Some(Combination {
            weights,
            scores: mse.map(|e| e.map(f64::sqrt)),
            dropped,
            combined: mse_of(&points, &weights).sqrt(),
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
    fn drops_the_worst_of_three_or_more_and_weights_two_by_their_errors() {
        // four members: the third is the worst
        let (w, d) = choose(&[Some(1.0), Some(2.0), Some(5.0), Some(1.5)]);
        assert_eq!((w, d), ([1.0 / 3.0, 1.0 / 3.0, 0.0, 1.0 / 3.0], Some(2)));
        // three: the networks are the worst
        let (w, d) = choose(&[Some(4.0), Some(2.0), None, Some(1.0)]);
        assert_eq!((w, d), ([0.0, 0.5, 0.0, 0.5], Some(0)));
        // two: inverse to the errors (1 and 3: 3/4 and 1/4)
        let (w, d) = choose(&[Some(1.0), Some(3.0), None, None]);
        assert_eq!((w, d), ([0.75, 0.25, 0.0, 0.0], None));
        assert_eq!(choose(&[Some(0.0), Some(0.0), None, None]).0, [0.5, 0.5, 0.0, 0.0]);
        assert_eq!(choose(&[Some(2.0), None, None, None]).0, [1.0, 0.0, 0.0, 0.0]);
        // a member that is not finite does not take part
        assert_eq!(choose(&[Some(1.0), Some(1.0), Some(f64::INFINITY), None]).1, None);
    }

    #[test]
    fn scores_a_weighting_and_stores_it() {
        // y = 2, scale 2: the networks say 1, the baseline 2, on ln y 4, Holt-Winters not fitted
        let points = [(2.0, [1.0, 2.0, 4.0, f64::NAN], 2.0)];
        assert_eq!(mse_of(&points, &[1.0, 0.0, 0.0, 0.0]), 0.25);
        assert_eq!(mse_of(&points, &[0.0, 0.0, 1.0, 0.0]), 1.0);
        assert_eq!(mse_of(&points, &[0.5, 0.5, 0.0, 0.0]), 0.0625);
        assert_eq!(mse_of(&[], &[1.0, 0.0, 0.0, 0.0]), f64::INFINITY);
        let table = crate::tasks::forecast::table::parse(
            "t,y\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,10\n11,11\n12,12\n".as_bytes(),
            "t.csv".as_ref(),
            &Default::default(),
        )
        .unwrap();
        let settings = crate::tasks::forecast::Settings { window: Some(2), season: Some(1), ..Default::default() };
        let plan = crate::tasks::forecast::Plan::new(&table, &settings).unwrap();
        let mut meta = plan.meta(&table, plan.candidates[0]).unwrap();
        assert_eq!(meta.weights(), [1.0, 0.0, 0.0, 0.0]);
        meta.set_weights(&[0.25, 0.25, 0.0, 0.5]);
        assert_eq!((meta.combine, meta.combine_log, meta.combine_hw), (Some(0.25), None, Some(0.5)));
        assert_eq!(meta.weights(), [0.25, 0.25, 0.0, 0.5]);
        meta.set_weights(&[1.0, 0.0, 0.0, 0.0]);
        assert_eq!(meta.weights(), [1.0, 0.0, 0.0, 0.0]);
    }
}
