//! Forecast accuracy and the baselines a forecaster must beat.
//!
//! | metric | formula (over every forecast value y, ŷ) |
//! |---|---|
//! | RMSE | √(1/n Σ (y − ŷ)²) |
//! | MAE | 1/n Σ \|y − ŷ\| |
//! | sMAPE | 200/n Σ \|y − ŷ\| / (\|y\| + \|ŷ\|), with 0/0 := 0 (percent, 0 to 200) |
//! | MASE | 1/n Σ \|y − ŷ\| / s, s = the in-sample seasonal-naive MAE of the series' training window, 1/(T−m) Σ_{t>m} \|y_t − y_{t−m}\| |
//!
//! Baselines from an origin t (the last value known) for steps k = 1..H: persistence
//! ŷ_{t+k} = y_t; seasonal naive ŷ_{t+k} = y_{t+k−m⌈k/m⌉} (the value one season back).
//!
//! # Example
//! ```
//! use rnn::tasks::forecast::metrics::{mase_scale, scores};
//! let train = [10.0, 12.0, 11.0, 13.0, 12.0];
//! let (actual, forecast) = ([14.0, 13.0], [13.0, 13.5]);
//! let s = scores(&actual, &forecast, mase_scale(&train, 1));
//! assert_eq!(s.mae, 0.75);
//! assert!(s.mase < 1.0); // better than the naive forecast was in sample
//! # Ok::<(), rnn::Error>(())
//! ```

use serde::{Deserialize, Serialize};

/// The four accuracy figures of one forecaster.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::metrics::scores;
/// let s = scores(&[10.0, 20.0], &[12.0, 18.0], 4.0);
/// assert_eq!((s.rmse, s.mae, s.mase), (2.0, 2.0, 0.5));
/// ```
///
/// A score that is not a number (the MASE of a series whose seasonal naive forecast is exact
/// in-sample: constant or exactly periodic) is written to JSON as `null` and read back as NaN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Root mean squared error, original units.
    #[serde(deserialize_with = "nan_if_null")]
    pub rmse: f64,
    /// Mean absolute error, original units.
    #[serde(deserialize_with = "nan_if_null")]
    pub mae: f64,
    /// Symmetric MAPE in percent (0 to 200).
    #[serde(deserialize_with = "nan_if_null")]
    pub smape: f64,
    /// Mean absolute scaled error (below 1: better than in-sample seasonal naive).
    #[serde(deserialize_with = "nan_if_null")]
    pub mase: f64,
}

/// A number, or NaN for the `null` serde_json writes for NaN and infinities.
pub(crate) fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Sums from which [`Scores`] are computed.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::metrics::{Accumulator, scores};
/// let mut acc = Accumulator::default();
/// assert!(acc.is_empty());
/// acc.add(1.0, 1.0, 2.0);
/// acc.add(2.0, 4.0, 2.0);
/// assert_eq!(acc.len(), 2);
/// assert_eq!(acc.scores(), scores(&[1.0, 2.0], &[1.0, 4.0], 2.0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Accumulator {
    sq: f64,
    abs: f64,
    smape: f64,
    scaled: f64,
    n: usize,
}

impl Accumulator {
    /// Adds one forecast value `pred` of `actual`; `scale` is the series' MASE denominator.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::metrics::{Accumulator, mase_scale};
    /// let train = [10.0, 12.0, 11.0, 13.0];
    /// let scale = mase_scale(&train, 1); // (2 + 1 + 2) / 3
    /// let mut acc = Accumulator::default();
    /// for (actual, pred) in [(14.0, 13.0), (15.0, 13.0)] {
    ///     acc.add(actual, pred, scale);
    /// }
    /// assert_eq!(acc.scores().mae, 1.5);
    /// assert!((acc.scores().mase - 1.5 / scale).abs() < 1e-12);
    /// ```
    pub fn add(&mut self, actual: f64, pred: f64, scale: f64) {
        let e = actual - pred;
        self.sq += e * e;
        self.abs += e.abs();
        let denom = actual.abs() + pred.abs();
        self.smape += if denom == 0.0 { 0.0 } else { 2.0 * e.abs() / denom };
        self.scaled += e.abs() / scale;
        self.n += 1;
    }

    /// Values added.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::metrics::Accumulator;
    /// let mut acc = Accumulator::default();
    /// acc.add(1.0, 0.5, 1.0);
    /// acc.add(2.0, 2.5, 1.0);
    /// assert_eq!(acc.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether nothing was added.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::metrics::Accumulator;
    /// let mut acc = Accumulator::default();
    /// assert!(acc.is_empty() && acc.scores().mae.is_nan());
    /// acc.add(1.0, 0.5, 1.0);
    /// assert!(!acc.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The scores (NaN when nothing was added; MASE infinite or NaN when a scale was 0).
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::metrics::Accumulator;
    /// let mut acc = Accumulator::default();
    /// acc.add(100.0, 90.0, 5.0);
    /// acc.add(100.0, 110.0, 5.0);
    /// let s = acc.scores();
    /// assert_eq!((s.rmse, s.mae, s.mase), (10.0, 10.0, 2.0));
    /// ```
    pub fn scores(&self) -> Scores {
        let n = self.n as f64;
        Scores { rmse: (self.sq / n).sqrt(), mae: self.abs / n, smape: 100.0 * self.smape / n, mase: self.scaled / n }
    }
}

/// Scores of `pred` against `actual` with one MASE `scale`.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::metrics::scores;
/// let s = scores(&[1.0, 2.0], &[1.0, 4.0], 2.0);
/// assert_eq!((s.mae, s.rmse, s.mase), (1.0, 2f64.sqrt(), 0.5));
/// assert!((s.smape - 100.0 / 3.0).abs() < 1e-12); // 200/2 · (0 + 2/6)
/// ```
pub fn scores(actual: &[f64], pred: &[f64], scale: f64) -> Scores {
    let mut acc = Accumulator::default();
    for (&a, &p) in actual.iter().zip(pred) {
        acc.add(a, p, scale);
    }
    acc.scores()
}

/// The MASE denominator: the mean absolute error of the seasonal naive forecast (lag `m`; lag 1
/// when the window holds no more than `m` values) over a training window.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::metrics::mase_scale;
/// assert_eq!(mase_scale(&[1.0, 3.0, 2.0, 5.0], 1), 2.0); // mean |y_t - y_(t-1)| = (2 + 1 + 3) / 3
/// assert_eq!(mase_scale(&[1.0, 3.0, 2.0, 5.0], 2), 1.5); // (|2 - 1| + |5 - 3|) / 2
/// ```
pub fn mase_scale(train: &[f64], m: usize) -> f64 {
    let m = if train.len() > m { m.max(1) } else { 1 };
    let n = train.len().saturating_sub(m);
    if n == 0 {
        return f64::NAN;
    }
    (m..train.len()).map(|t| (train[t] - train[t - m]).abs()).sum::<f64>() / n as f64
}

/// Persistence from origin `t` (index of the last value known) for `h` steps: `y_t` each time.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::metrics::persistence;
/// assert_eq!(persistence(&[1.0, 2.0, 3.0, 4.0], 1, 3), [2.0, 2.0, 2.0]);
/// ```
pub fn persistence(y: &[f64], t: usize, h: usize) -> Vec<f64> {
    vec![y[t]; h]
}

/// Seasonal naive from origin `t` for `h` steps: `ŷ_{t+k} = y_{t+k−m⌈k/m⌉}` (persistence when
/// `m` is 1 or reaches before the start).
///
/// # Example
/// ```
/// use rnn::tasks::forecast::metrics::seasonal_naive;
/// let y = [1.0, 2.0, 3.0, 10.0, 20.0, 30.0];
/// assert_eq!(seasonal_naive(&y, 5, 4, 3), [10.0, 20.0, 30.0, 10.0]);
/// ```
pub fn seasonal_naive(y: &[f64], t: usize, h: usize, m: usize) -> Vec<f64> {
    (1..=h)
        .map(|k| {
            let back = m.max(1) * k.div_ceil(m.max(1));
            if back > t + k { y[t] } else { y[t + k - back] }
        })
        .collect()
}

/// The season of some series: the first clear peak of the autocorrelation of their first
/// differences (pooled over the series, lags 2 to a third of the shortest), if it reaches 0.3;
/// `None` for no season.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::metrics::detect_season;
/// let monthly: Vec<f64> = (0..120).map(|t| (t as f64 * std::f64::consts::PI / 6.0).sin() + t as f64 * 0.01).collect();
/// assert_eq!(detect_season(&[&monthly]), Some(12));
/// let trend: Vec<f64> = (0..120).map(|t| t as f64).collect();
/// assert_eq!(detect_season(&[&trend]), None);
/// ```
pub fn detect_season(series: &[&[f64]]) -> Option<usize> {
    let diffs: Vec<Vec<f64>> = series.iter().map(|s| s.windows(2).map(|w| w[1] - w[0]).collect()).collect();
    let shortest = diffs.iter().map(Vec::len).min()?;
    let max_lag = shortest / 3;
    if max_lag < 3 {
        return None;
    }
    let mut acf = vec![0.0; max_lag + 1];
    let mut var = 0.0;
    for d in &diffs {
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let c: Vec<f64> = d.iter().map(|v| v - mean).collect();
        var += c.iter().map(|v| v * v).sum::<f64>();
        for (k, a) in acf.iter_mut().enumerate().skip(1) {
            *a += c[k..].iter().zip(&c).map(|(x, y)| x * y).sum::<f64>();
        }
    }
    if var <= 0.0 {
        return None;
    }
    let acf: Vec<f64> = acf.iter().map(|a| a / var).collect();
    let peaks: Vec<(usize, f64)> = (2..max_lag)
        .filter(|&k| acf[k] >= 0.3 && acf[k] > acf[k - 1] && acf[k] >= acf[k + 1])
        .map(|k| (k, acf[k]))
        .collect();
    let top = peaks.iter().map(|p| p.1).fold(0.0, f64::max);
    peaks.iter().find(|p| p.1 >= 0.6 * top).map(|p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_scores() {
        // errors 1, -2, 0; |y|+|ŷ| = 5, 8, 0 (0/0 counts 0)
        let s = scores(&[3.0, 3.0, 0.0], &[2.0, 5.0, 0.0], 0.5);
        assert!((s.rmse - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((s.mae - 1.0).abs() < 1e-12);
        assert!((s.smape - 200.0 / 3.0 * (1.0 / 5.0 + 2.0 / 8.0)).abs() < 1e-12);
        assert!((s.mase - 2.0).abs() < 1e-12);
    }

    #[test]
    fn baselines_and_scale() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(persistence(&y, 3, 2), [4.0, 4.0]);
        // m = 2 from t = 3: k=1 → y[2], k=2 → y[3], k=3 → y[2]
        assert_eq!(seasonal_naive(&y, 3, 3, 2), [3.0, 4.0, 3.0]);
        assert_eq!(mase_scale(&[1.0, 3.0, 2.0, 6.0], 1), (2.0 + 1.0 + 4.0) / 3.0);
        assert_eq!(mase_scale(&[1.0, 3.0, 2.0, 6.0], 2), (1.0 + 3.0) / 2.0);
    }

    #[test]
    fn finds_a_season() {
        let s: Vec<f64> = (0..240).map(|t| (t as f64 * std::f64::consts::TAU / 12.0).sin() * 10.0 + t as f64).collect();
        assert_eq!(detect_season(&[&s]), Some(12));
        let noise: Vec<f64> = (0..200).map(|t| ((t * 7919 % 101) as f64).sqrt()).collect();
        assert_eq!(detect_season(&[&[1.0, 2.0, 3.0]]), None);
        assert!(detect_season(&[&noise]).is_none_or(|m| m > 1));
    }
}
