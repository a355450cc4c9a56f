//! The statistical forecaster a forecaster would reach for, scored beside the model on the same
//! origins: automatic exponential smoothing from Grafana's `augurs` crates.
//!
//! `augurs-ets` searches the non-seasonal ETS models (additive or multiplicative error; no,
//! additive or damped trend) by AICc, as R's `forecast::ets` and statsforecast's `AutoETS` do;
//! it has no seasonal ETS. With a season m ≥ 2 the series is first decomposed by MSTL
//! (`augurs-mstl`, the STL of R's `stl`) and AutoETS forecasts the seasonally adjusted part, the
//! season being repeated: statsforecast's `MSTL(season_length=m, trend_forecaster=AutoETS(model="ZZN"))`.
//! The model is refitted at every origin on the series up to it (an expanding window).
//!
//! [`theta_at`] is the Theta method (Assimakopoulos and Nikolopoulos 2000, the M3 competition's
//! winner; Hyndman and Billah 2003 showed it is exponential smoothing with drift), from
//! `anofox-forecast`: the report's second baseline.
//!
//! [`holt_winters_at`] is the seasonal exponential smoothing augurs lacks: Holt-Winters with an
//! additive trend and a multiplicative season (`u-analytics`, constants by least squares), a
//! member of the combination (`combine.rs`) for positive seasonal series.

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_ets::trend::AutoETSTrendModel;
use augurs_mstl::MSTLModel;

/// A baseline's forecasts from every origin of `origins` of a series, `[origin][step]`: called
/// as `f(y, origins, h, m)`; `None` when a fit fails ([`auto_ets`], [`theta`]).
pub type Baseline = fn(&[f64], &[usize], usize, usize) -> Option<Vec<Vec<f64>>>;

/// The name of the statistical baseline for season `m`: `AutoETS` or `MSTL(12)+AutoETS`.
pub fn name(m: usize) -> String {
    if m >= 2 { format!("MSTL({m})+AutoETS") } else { "AutoETS".to_string() }
}

/// The `h`-step forecasts of AutoETS (MSTL + AutoETS for `m` ≥ 2) fitted on `y[..=t]`;
/// `None` when the fit fails (too few values, no admissible model).
pub fn auto_ets_at(y: &[f64], t: usize, h: usize, m: usize) -> Option<Vec<f64>> {
    let history = y.get(..=t)?;
    let ets = AutoETS::non_seasonal();
    let point = if m >= 2 && history.len() > 2 * m {
        let model = MSTLModel::new(vec![m], AutoETSTrendModel::from(ets));
        model.fit(history).ok()?.predict(h, None).ok()?.point
    } else {
        ets.fit(history).ok()?.predict(h, None).ok()?.point
    };
    (point.len() == h && point.iter().all(|v| v.is_finite())).then_some(point)
}

/// [`auto_ets_at`] fitted on ln y and forecasts exp'ed back: a multiplicative season and trend;
/// `None` when a value up to `t` is not positive or the fit fails.
pub fn auto_ets_log_at(y: &[f64], t: usize, h: usize, m: usize) -> Option<Vec<f64>> {
    let history = y.get(..=t)?;
    if !history.iter().all(|&v| v > 0.0) {
        return None;
    }
    let logs: Vec<f64> = history.iter().map(|v| v.ln()).collect();
    let point: Vec<f64> = auto_ets_at(&logs, t, h, m)?.into_iter().map(f64::exp).collect();
    point.iter().all(|v| v.is_finite()).then_some(point)
}

/// The `h`-step forecasts of Holt-Winters (additive trend, multiplicative season m, smoothing
/// constants by least squares on the one-step errors) fitted on `y[..=t]`; `None` without a
/// season (m < 2), with fewer than two seasons of history, a value up to `t` not positive, or
/// a fit that fails.
pub fn holt_winters_at(y: &[f64], t: usize, h: usize, m: usize) -> Option<Vec<f64>> {
    use u_analytics::smoothing::{HoltWinters, Seasonality};
    let history = y.get(..=t)?;
    if m < 2 || history.len() < 2 * m || !history.iter().all(|&v| v > 0.0 && v.is_finite()) {
        return None;
    }
    let fitted = HoltWinters::fit(history, None, None, None, m, Seasonality::Multiplicative)?.smooth(history)?;
    let point: Vec<f64> = (1..=h).map(|k| fitted.forecast(k)).collect();
    point.iter().all(|v| v.is_finite()).then_some(point)
}

/// The `h`-step forecasts of the standard Theta method fitted on `y[..=t]` (`anofox-forecast`'s
/// `Theta`, as statsforecast's `Theta` and R's `forecast::thetaf`: simple exponential smoothing
/// with a drift of half the slope of the linear trend, its α fitted; with a season m ≥ 2 the
/// series is tested for seasonality and, when seasonal, adjusted by a classical multiplicative
/// decomposition first); `None` when the fit fails (too few values, or a forecast that is not
/// finite).
///
/// Not the crate's `AutoTheta`: its dynamic models forecast a straight line 3 + 2t, t < 40, as
/// flat (82.8, 82.8) and chose it, where `Theta` gives 82.0, 83.0 and statsforecast's
/// `AutoTheta` 83.0, 85.0 (anofox-forecast 0.19.0).
pub fn theta_at(y: &[f64], t: usize, h: usize, m: usize) -> Option<Vec<f64>> {
    use anofox_forecast::core::TimeSeries;
    use anofox_forecast::models::Forecaster;
    use anofox_forecast::models::theta::Theta;
    let history = y.get(..=t)?;
    // the crate's series carry timestamps; the model reads only the order of the values
    let start = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let stamps = (0..history.len() as i64).map(|i| start + chrono::TimeDelta::days(i)).collect();
    let series = TimeSeries::univariate(stamps, history.to_vec()).ok()?;
    let mut model = if m >= 2 { Theta::seasonal(m) } else { Theta::new() };
    model.fit(&series).ok()?;
    let point = model.predict(h).ok()?.primary().to_vec();
    (point.len() == h && point.iter().all(|v| v.is_finite())).then_some(point)
}

/// [`theta_at`] from every origin of `origins`; `None` when any fit fails.
pub fn theta(y: &[f64], origins: &[usize], h: usize, m: usize) -> Option<Vec<Vec<f64>>> {
    origins.iter().map(|&t| theta_at(y, t, h, m)).collect()
}

/// [`holt_winters_at`] from every origin of `origins`; `None` when any fit fails.
pub fn holt_winters(y: &[f64], origins: &[usize], h: usize, m: usize) -> Option<Vec<Vec<f64>>> {
    origins.iter().map(|&t| holt_winters_at(y, t, h, m)).collect()
}

/// [`auto_ets_log_at`] from every origin of `origins`; `None` when any fit fails.
pub fn auto_ets_log(y: &[f64], origins: &[usize], h: usize, m: usize) -> Option<Vec<Vec<f64>>> {
    origins.iter().map(|&t| auto_ets_log_at(y, t, h, m)).collect()
}

/// [`auto_ets_at`] from every origin of `origins`; `None` when any fit fails.
pub fn auto_ets(y: &[f64], origins: &[usize], h: usize, m: usize) -> Option<Vec<Vec<f64>>> {
    origins.iter().map(|&t| auto_ets_at(y, t, h, m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_a_trend_and_a_season() {
        let y: Vec<f64> = (0..60).map(|t| 10.0 + 0.5 * t as f64 + [0.0, 3.0, -1.0, -2.0][t % 4]).collect();
        let f = auto_ets_at(&y, 55, 4, 4).unwrap();
        for (k, v) in f.iter().enumerate() {
            assert!((v - y[56 + k]).abs() < 1.5, "step {k}: {v} vs {}", y[56 + k]);
        }
        let trend = auto_ets_at(&y, 55, 2, 1).unwrap();
        assert!(trend[1] > trend[0]);
        assert!(auto_ets(&y, &[1], 1, 1).is_none());
        assert_eq!(name(12), "MSTL(12)+AutoETS");
    }

    #[test]
    fn theta_follows_a_trend_and_a_season() {
        let y: Vec<f64> = (0..60).map(|t| (20.0 + t as f64) * [1.2, 0.8, 1.1, 0.9][t % 4]).collect();
        let f = theta_at(&y, 55, 4, 4).unwrap();
        for (k, v) in f.iter().enumerate() {
            assert!((v - y[56 + k]).abs() < 0.1 * y[56 + k], "step {k}: {v} vs {}", y[56 + k]);
        }
        let line: Vec<f64> = (0..40).map(|t| 3.0 + 2.0 * t as f64).collect();
        let f = theta_at(&line, 39, 2, 1).unwrap();
        // level 81 plus half the slope 2 a step (α near 1): 82, 83
        assert!((f[0] - 82.0).abs() < 0.01 && (f[1] - 83.0).abs() < 0.01, "{f:?}");
        assert_eq!(theta(&y, &[20, 30], 3, 4).unwrap().len(), 2);
        assert!(theta_at(&y, 0, 1, 1).is_none(), "one value is too few");
    }

    #[test]
    fn holt_winters_follows_a_growing_multiplicative_season() {
        let y: Vec<f64> = (0..60).map(|t| (20.0 + t as f64) * [1.2, 0.8, 1.1, 0.9][t % 4]).collect();
        let f = holt_winters_at(&y, 55, 4, 4).unwrap();
        for (k, v) in f.iter().enumerate() {
            assert!((v - y[56 + k]).abs() < 0.05 * y[56 + k], "step {k}: {v} vs {}", y[56 + k]);
        }
        assert_eq!(holt_winters(&y, &[20, 30], 2, 4).unwrap().len(), 2);
        // no season, too short a history, a value not positive
        assert!(holt_winters_at(&y, 55, 1, 1).is_none());
        assert!(holt_winters_at(&y, 6, 1, 4).is_none());
        let mut z = y.clone();
        z[3] = 0.0;
        assert!(holt_winters_at(&z, 55, 1, 4).is_none());
    }
}
