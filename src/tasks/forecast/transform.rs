//! What the network sees and predicts: the target transformation.
//!
//! Writing z for the series (ln y with `log`), t for the origin (the last known step), W for
//! the window and k = 1..H for the steps ahead, the inputs at steps i = t−W+1..t and the
//! targets are:
//!
//! | kind | input i | target k | handles |
//! |---|---|---|---|
//! | `zscore` | (z_i − μ)/σ | (z_{t+k} − μ)/σ | stationary series (ordinary practice) |
//! | `residual` | (z_i − z_t)/s | (z_{t+k} − z_t)/s | trends, level shifts: predicts the change over persistence |
//! | `seasonal` | (z_i − z_t)/s | (z_{t+k} − z_{t+k−m⌈k/m⌉})/s | seasons: predicts the change over seasonal naive |
//! | `smoothed` | (z_i − S_i − L_t)/s | (z_{t+k} − L_t − S_{t+k\|t})/s | noisy levels, seasons: an ES-RNN hybrid |
//!
//! μ, σ are the mean and standard deviation of z over the training split and s the standard
//! deviation of its first differences there; features (covariates) are z-scored with their
//! training mean and deviation. `log` (ln y, for positive series whose swings grow with their
//! level) turns differences into ratios. In `smoothed`, L_t is the level and S_i the seasonal
//! component of exponential smoothing after step t or i ([`smooth`](super::smooth), fitted on
//! the training split), S_{t+k|t} that of step t+k's phase as known at t: the network sees the
//! window deseasonalised and relative to the smoothed level, and forecasts what the smoothing's
//! own forecast (L_t + S_{t+k|t}) leaves, as in Smyl's ES-RNN.
//!
//! # Example
//! ```
//! use rnn::tasks::forecast::{Kind, Transformation};
//! let t: Transformation = "log-residual".parse()?;
//! assert_eq!((t.kind, t.log), (Kind::Residual, true));
//! assert!((t.inverse(t.forward(120.0)) - 120.0).abs() < 1e-9);
//! # Ok::<(), rnn::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::smooth::{Filtered, Smoothing};
use crate::{Error, Result};

/// The three ways of forming targets.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Kind, Transformation};
/// let kinds: Vec<Kind> = Transformation::ALL.iter().filter(|t| !t.log).map(|t| t.kind).collect();
/// assert_eq!(kinds, [Kind::Zscore, Kind::Residual, Kind::Seasonal, Kind::Smoothed]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Values z-scored with training statistics.
    Zscore,
    /// The change over the window's last value (the residual over persistence).
    Residual,
    /// The change over the value one season back (the residual over seasonal naive).
    Seasonal,
    /// The change over exponential smoothing's forecast (level and season; see
    /// [`smooth`](super::smooth)).
    Smoothed,
}

/// A target transformation: a [`Kind`], optionally on log values.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Kind, Transformation};
/// let t: Transformation = "log-seasonal".parse()?;
/// assert_eq!((t.kind, t.log), (Kind::Seasonal, true));
/// assert_eq!(t.describe(12), "change over the value one season back (seasonal naive, m = 12) of ln y");
/// assert_eq!(Transformation::ALL.len(), 8);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transformation {
    /// What the targets are.
    pub kind: Kind,
    /// Work on ln y (positive series only).
    pub log: bool,
}

impl Transformation {
    /// Every transformation.
    pub const ALL: [Transformation; 8] = [
        Transformation { kind: Kind::Zscore, log: false },
        Transformation { kind: Kind::Residual, log: false },
        Transformation { kind: Kind::Seasonal, log: false },
        Transformation { kind: Kind::Smoothed, log: false },
        Transformation { kind: Kind::Zscore, log: true },
        Transformation { kind: Kind::Residual, log: true },
        Transformation { kind: Kind::Seasonal, log: true },
        Transformation { kind: Kind::Smoothed, log: true },
    ];

    /// In words, e.g. `change over seasonal naive (m = 12) of ln y`.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Kind, Transformation};
    /// let t = Transformation { kind: Kind::Residual, log: false };
    /// assert!(t.describe(1).contains("persistence"));
    /// ```
    pub fn describe(&self, season: usize) -> String {
        let what = match self.kind {
            Kind::Zscore => "z-scored values".to_string(),
            Kind::Residual => "change over the last value (persistence)".to_string(),
            Kind::Seasonal => format!("change over the value one season back (seasonal naive, m = {season})"),
            Kind::Smoothed if season >= 2 => {
                format!("change over exponential smoothing's level and season (m = {season}; ES-RNN hybrid)")
            }
            Kind::Smoothed => "change over exponential smoothing's level (ES-RNN hybrid)".to_string(),
        };
        if self.log { format!("{what} of ln y") } else { what }
    }
}

impl fmt::Display for Transformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Zscore => "zscore",
            Kind::Residual => "residual",
            Kind::Seasonal => "seasonal",
            Kind::Smoothed => "smoothed",
        };
        if self.log { write!(f, "log-{kind}") } else { f.write_str(kind) }
    }
}

impl FromStr for Transformation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Transformation::ALL.into_iter().find(|t| t.to_string() == s).ok_or_else(|| {
            let names: Vec<String> = Transformation::ALL.iter().map(ToString::to_string).collect();
            Error::Config(format!("unknown transformation `{s}` (expected auto, {})", names.join(", ")))
        })
    }
}

/// What a series' training split says about it: the statistics the transformation uses.
///
/// # Example
/// ```
/// # use rnn::tasks::forecast::{Part, Plan, Settings, table};
/// # use rnn::{Init, Model, ModelConfig, RnnConfig};
/// # let csv: String = std::iter::once("year,value".to_string())
/// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
/// #     .collect::<Vec<_>>()
/// #     .join("\n");
/// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
/// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
/// # let meta = plan.meta(&table, plan.candidates[0])?;
/// # let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, 0)?;
/// let stats = &meta.series[0];
/// assert_eq!(stats.split, [42, 9, 9]);
/// assert!(stats.std > 0.0 && stats.id.is_none() && stats.feature_mean.is_empty());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesStats {
    /// The series' id (long format).
    pub id: Option<String>,
    /// Rows in the training, validation and test splits.
    pub split: [usize; 3],
    /// Mean of z over the training split.
    pub mean: f64,
    /// Standard deviation of z over the training split.
    pub std: f64,
    /// Standard deviation of the first differences of z over the training split.
    pub scale: f64,
    /// Mean of each feature over the training split.
    pub feature_mean: Vec<f64>,
    /// Standard deviation of each feature over the training split.
    pub feature_std: Vec<f64>,
    /// `fingerprint::checksum` of the whole series trained on (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<u64>,
    /// The `smoothed` transformation's exponential smoothing, fitted on z over the training split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<Smoothing>,
}

/// Mean and standard deviation (1 when the values are constant).
pub(crate) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    (mean, if std > 0.0 && std.is_finite() { std } else { 1.0 })
}

impl SeriesStats {
    /// Statistics of z over `train` (the training split's values) and of the features; for the
    /// `smoothed` transformation, the smoothing with season `season`.
    #[doc(hidden)] // a building block of `Plan::meta`
    pub fn fit(
        id: Option<String>,
        split: [usize; 3],
        train: &[f64],
        features: &[&[f64]],
        t: Transformation,
        season: usize,
    ) -> Self {
        let z: Vec<f64> = train.iter().map(|&y| t.forward(y)).collect();
        let (mean, std) = mean_std(&z);
        let diffs: Vec<f64> = z.windows(2).map(|w| w[1] - w[0]).collect();
        let scale =
            if diffs.is_empty() { 1.0 } else { (diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64).sqrt() };
        let scale = if scale > 0.0 && scale.is_finite() { scale } else { std };
        let (feature_mean, feature_std) = features.iter().map(|f| mean_std(f)).unzip();
        let smoothing = if t.kind == Kind::Smoothed { Smoothing::fit(&z, season) } else { None };
        SeriesStats { id, split, mean, std, scale, feature_mean, feature_std, checksum: None, smoothing }
    }
}

impl Transformation {
    /// y → z.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Kind, Transformation};
    /// let log = Transformation { kind: Kind::Zscore, log: true };
    /// assert_eq!(log.forward(1.0), 0.0);
    /// assert!((log.inverse(log.forward(42.0)) - 42.0).abs() < 1e-12);
    /// ```
    pub fn forward(&self, y: f64) -> f64 {
        if self.log { y.ln() } else { y }
    }

    /// z → y.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Kind, Transformation};
    /// let log = Transformation { kind: Kind::Residual, log: true };
    /// assert!((log.inverse(2.0) - 2f64.exp()).abs() < 1e-12); // a forecast of ln y back to y
    /// let plain = Transformation { kind: Kind::Zscore, log: false };
    /// assert_eq!(plain.inverse(3.5), 3.5);
    /// ```
    pub fn inverse(&self, z: f64) -> f64 {
        if self.log { z.exp() } else { z }
    }

    /// The input rows `[window][1 + features]` for origin `t` (the window ends at `t`).
    ///
    /// `s` holds the transformed series (at least up to `t`) and its smoothing,
    /// `features[f]` the raw features.
    #[doc(hidden)] // a building block of `ForecastMeta::dataset` and `forecast`
    pub fn inputs(&self, s: &Filtered, features: &[&[f64]], t: usize, window: usize, stats: &SeriesStats) -> Vec<f64> {
        let z = &s.z;
        let width = 1 + features.len();
        let mut out = Vec::with_capacity(window * width);
        for i in t + 1 - window..=t {
            out.push(match self.kind {
                Kind::Zscore => (z[i] - stats.mean) / stats.std,
                Kind::Residual | Kind::Seasonal => (z[i] - z[t]) / stats.scale,
                Kind::Smoothed => (z[i] - s.seasonal_at(i) - s.level(t)) / stats.scale,
            });
            for (f, v) in features.iter().enumerate() {
                out.push((v[i] - stats.feature_mean[f]) / stats.feature_std[f]);
            }
        }
        out
    }

    /// The value each target is measured from, for steps 1..=h from origin `t` (0 for zscore).
    fn anchors(&self, s: &Filtered, t: usize, h: usize, season: usize) -> Vec<f64> {
        let (z, m) = (&s.z, season.max(1));
        (1..=h)
            .map(|k| match self.kind {
                Kind::Zscore => 0.0,
                Kind::Residual => z[t],
                Kind::Seasonal => z[t + k - m * k.div_ceil(m)],
                Kind::Smoothed => s.level(t) + s.seasonal_for(t, k),
            })
            .collect()
    }

    /// The targets for steps 1..=h from origin `t`.
    #[doc(hidden)] // a building block of `ForecastMeta::dataset` and `forecast`
    pub fn targets(&self, s: &Filtered, t: usize, h: usize, season: usize, stats: &SeriesStats) -> Vec<f64> {
        let (z, anchors) = (&s.z, self.anchors(s, t, h, season));
        (1..=h)
            .map(|k| match self.kind {
                Kind::Zscore => (z[t + k] - stats.mean) / stats.std,
                _ => (z[t + k] - anchors[k - 1]) / stats.scale,
            })
            .collect()
    }

    /// The network's outputs for origin `t` back on the original scale (y).
    #[doc(hidden)] // a building block of `ForecastMeta::dataset` and `forecast`
    pub fn decode(&self, s: &Filtered, t: usize, outputs: &[f64], season: usize, stats: &SeriesStats) -> Vec<f64> {
        let anchors = self.anchors(s, t, outputs.len(), season);
        outputs
            .iter()
            .zip(anchors)
            .map(|(&o, a)| {
                self.inverse(match self.kind {
                    Kind::Zscore => o * stats.std + stats.mean,
                    _ => a + o * stats.scale,
                })
            })
            .collect()
    }

    /// The first steps of a series that a window plus the seasonal anchor need: inputs need
    /// `window` steps; a seasonal target needs the value one season back inside them.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Kind, Transformation};
    /// let seasonal = Transformation { kind: Kind::Seasonal, log: false };
    /// assert!(seasonal.min_window(12) >= 12); // the value one season back must be in the window
    /// ```
    pub fn min_window(&self, season: usize) -> usize {
        if self.kind == Kind::Seasonal { season.max(1) } else { 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_decode_back_to_the_values() {
        let y: Vec<f64> = (0..40).map(|t| 100.0 + t as f64 * 3.0 + (t % 4) as f64 * 7.0).collect();
        for t in Transformation::ALL {
            let stats = SeriesStats::fit(None, [30, 5, 5], &y[..30], &[], t, 4);
            assert_eq!(stats.smoothing.is_some(), t.kind == Kind::Smoothed);
            let z = Filtered::new(y.iter().map(|&v| t.forward(v)).collect(), stats.smoothing.as_ref());
            let target = t.targets(&z, 20, 6, 4, &stats);
            let back = t.decode(&z, 20, &target, 4, &stats);
            for (a, b) in back.iter().zip(&y[21..27]) {
                assert!((a - b).abs() < 1e-9, "{t}: {a} vs {b}");
            }
            assert_eq!(t.inputs(&z, &[], 20, 8, &stats).len(), 8);
            assert_eq!(t.to_string().parse::<Transformation>().unwrap(), t);
        }
        assert!("log".parse::<Transformation>().is_err());
    }
}
