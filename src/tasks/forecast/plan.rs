//! The choices made before training: the split by time, the window, the season and the
//! transformations to try.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{ForecastMeta, KIND, Kind, ReadOptions, SeriesStats, Table, Transformation, metrics};
use crate::{Error, Result};

/// How each series is split by time: fractions for training, validation and test.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Part, Split};
/// let split: Split = "70/20/10".parse()?;
/// assert_eq!(split.sizes(100), [70, 20, 10]);
/// assert_eq!(Split::default().sizes(20), [14, 3, 3]);
/// assert_eq!(Part::Validation.range(split.sizes(100)), 70..90);
/// assert_eq!(Part::Test.name(), "test");
/// assert_eq!("0.8/0.1/0.1".parse::<Split>()?.sizes(10), [8, 1, 1]);
/// // every part is needed; the parts add up to 100 (or 1)
/// assert!("50/50/0".parse::<Split>().unwrap_err().to_string().contains("every part must be above 0"));
/// assert!("70/20/20".parse::<Split>().unwrap_err().to_string().contains("adds up to 110"));
/// assert!("70/30".parse::<Split>().unwrap_err().to_string().contains("such as 70/15/15"));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Fraction of the rows for training (the earliest).
    pub train: f64,
    /// Fraction for validation (early stopping, model selection).
    pub val: f64,
    /// Fraction for the final test (the latest).
    pub test: f64,
}

impl Default for Split {
    fn default() -> Self {
        Split { train: 0.7, val: 0.15, test: 0.15 }
    }
}

impl Split {
    /// Rows of each part for a series of `n` rows: validation and test are rounded, training
    /// takes the rest.
    pub fn sizes(&self, n: usize) -> [usize; 3] {
        let val = (n as f64 * self.val).round() as usize;
        let test = (n as f64 * self.test).round() as usize;
        [n.saturating_sub(val + test), val.min(n), test.min(n.saturating_sub(val))]
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pc = |v: f64| format!("{}", (v * 1000.0).round() / 10.0);
        write!(f, "{}/{}/{}", pc(self.train), pc(self.val), pc(self.test))
    }
}

impl FromStr for Split {
    type Err = Error;
    /// `70/15/15` (percent) or `0.7/0.15/0.15`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::Config(format!("split `{s}`: expected TRAIN/VAL/TEST percentages such as 70/15/15"));
        let parts: Vec<f64> =
            s.split('/').map(|p| p.trim().parse::<f64>().map_err(|_| bad())).collect::<Result<_>>()?;
        let [a, b, c] = parts[..] else { return Err(bad()) };
        let total = a + b + c;
        if !parts.iter().all(|v| v.is_finite() && *v > 0.0) {
            return Err(Error::Config(format!(
                "split `{s}`: every part must be above 0 (validation stops training and chooses, test scores)"
            )));
        }
        if (total - 100.0).abs() > 1e-6 && (total - 1.0).abs() > 1e-9 {
            return Err(Error::Config(format!("split `{s}` adds up to {total}, not 100")));
        }
        Ok(Split { train: a / total, val: b / total, test: c / total })
    }
}

/// A part of each series.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Part, Split};
/// let sizes = Split::default().sizes(100);
/// assert_eq!((Part::Train.range(sizes), Part::Test.range(sizes)), (0..70, 85..100));
/// assert_eq!(Part::Train.name(), "training");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The earliest rows.
    Train,
    /// The rows after training.
    Validation,
    /// The latest rows.
    Test,
}

impl Part {
    /// `training`, `validation` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "training",
            Part::Validation => "validation",
            Part::Test => "test",
        }
    }

    /// The rows whose values are targets in this part, for split sizes `sizes`.
    pub fn range(self, sizes: [usize; 3]) -> std::ops::Range<usize> {
        let [tr, va, te] = sizes;
        match self {
            Part::Train => 0..tr,
            Part::Validation => tr..tr + va,
            Part::Test => tr + va..tr + va + te,
        }
    }
}

/// What is asked for; `None` means "choose from the data".
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Settings, Transformation};
/// let settings = Settings { horizon: 3, season: Some(12), transform: Some("zscore".parse::<Transformation>()?), ..Settings::default() };
/// assert_eq!((settings.window, settings.horizon), (None, 3)); // the window chosen from the data
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Input steps; default max(2 × season, 2 × horizon, 12), capped at half the training rows.
    pub window: Option<usize>,
    /// Steps predicted at once.
    pub horizon: usize,
    /// The season; `None` detects it ([`metrics::detect_season`]), 1 means none.
    pub season: Option<usize>,
    /// The transformation; `None` tries every suitable one and keeps the best on validation.
    pub transform: Option<Transformation>,
    /// The split by time.
    pub split: Split,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { window: None, horizon: 1, season: None, transform: None, split: Split::default() }
    }
}

/// The data-driven choices made before training: window, season and the transformations to try.
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
/// assert_eq!((plan.window, plan.horizon, plan.season, plan.season_detected), (6, 2, 1, false));
/// assert_eq!(plan.split.sizes(60), [42, 9, 9]);
/// let detected = Plan::new(&table, &Settings::default())?; // window, season, transformations chosen
/// assert!(detected.window >= 2 && !detected.candidates.is_empty());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Input steps.
    pub window: usize,
    /// Output steps.
    pub horizon: usize,
    /// The season (1: none).
    pub season: usize,
    /// Whether the season was detected (rather than given).
    pub season_detected: bool,
    /// The transformations to try, in order.
    pub candidates: Vec<Transformation>,
    /// The split.
    pub split: Split,
}

impl Plan {
    /// Checks the table against the settings and makes the choices left open.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero window or horizon; [`Error::Data`] naming the file, the
    /// last line and the target column when a series is too short for the window, horizon and
    /// split, or a log transformation is asked for a series with values ≤ 0.
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
    /// assert_eq!((plan.window, plan.horizon, plan.season), (6, 2, 1));
    /// assert!(!plan.candidates.is_empty());
    /// // a window longer than the training split is refused, naming the file
    /// let long = Settings { window: Some(100), ..Settings::default() };
    /// assert!(Plan::new(&table, &long).unwrap_err().to_string().contains("sine.csv"));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(table: &Table, settings: &Settings) -> Result<Plan> {
        let h = settings.horizon;
        if h == 0 || settings.window == Some(0) || settings.season == Some(0) {
            return Err(Error::Config("window, horizon and season must be at least 1".into()));
        }
        let longest = table.series.iter().map(|s| s.len()).max().unwrap_or(0);
        for (name, value) in [("window", settings.window), ("horizon", Some(h)), ("season", settings.season)] {
            if let Some(v) = value.filter(|&v| v >= longest) {
                let msg = format!("{name} {v} is not shorter than the longest series ({longest} rows)");
                return Err(Error::data(&table.path, None, Some(table.target_column()), msg));
            }
        }
        let split = settings.split;
        let sizes: Vec<[usize; 3]> = table.series.iter().map(|s| split.sizes(s.len())).collect();
        let shortest_train = sizes.iter().map(|s| s[0]).min().unwrap_or(0);
        let (season, season_detected) = match settings.season {
            Some(m) => (m, false),
            None => {
                let trains: Vec<&[f64]> = table.series.iter().zip(&sizes).map(|(s, z)| &s.values[..z[0]]).collect();
                (metrics::detect_season(&trains).unwrap_or(1), true)
            }
        };
        let window = settings.window.unwrap_or_else(|| {
            let want = (2 * season).max(2 * h).max(12);
            want.min(shortest_train.saturating_sub(h) / 2).max(1)
        });
        for (s, z) in table.series.iter().zip(&sizes) {
            if z[0] < window + h || z[1] < h || z[2] < h {
                // window + h < 2 * longest: any split with parts of at least 1% fits well before this
                let need = (1..=window.saturating_add(h).saturating_mul(200).saturating_add(100)).find(|&n| {
                    let z = split.sizes(n);
                    z[0] >= window + h && z[1] >= h && z[2] >= h
                });
                return Err(Error::data(
                    &table.path,
                    s.lines.last().copied(),
                    Some(table.target_column()),
                    format!(
                        "{} has {} rows (lines {}-{}): too few for window {window} + horizon {h} \
                         with split {split}, which needs at least {} rows",
                        s.name(),
                        s.len(),
                        s.lines.first().copied().unwrap_or(0),
                        s.lines.last().copied().unwrap_or(0),
                        need.unwrap_or(usize::MAX),
                    ),
                ));
            }
        }
        let positive = table.series.iter().all(|s| s.values.iter().all(|&v| v > 0.0));
        let candidates: Vec<Transformation> = match settings.transform {
            Some(t) => {
                if t.log && !positive {
                    let (s, i) = first_non_positive(table).unwrap_or((0, 0));
                    return Err(Error::data(
                        &table.path,
                        table.series[s].lines.get(i).copied(),
                        Some(table.target_column()),
                        format!("{t} needs positive values, found {}", table.series[s].values[i]),
                    ));
                }
                if t.kind == Kind::Seasonal && (season < 2 || window < season) {
                    return Err(Error::Config(format!(
                        "the seasonal transformation needs a season of at least 2 and a window of at least \
                         one season (season {season}, window {window})"
                    )));
                }
                vec![t]
            }
            None => Transformation::ALL
                .into_iter()
                .filter(|t| (positive || !t.log) && (t.kind != Kind::Seasonal || (season >= 2 && window >= season)))
                .collect(),
        };
        Ok(Plan { window, horizon: h, season, season_detected, candidates, split })
    }

    /// The metadata of a model using transformation `t`: statistics fitted on each series'
    /// training part.
    ///
    /// # Errors
    /// [`Error::Data`] when `t` takes logs of a value ≤ 0.
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
    /// for &t in &plan.candidates {
    ///     let meta = plan.meta(&table, t)?;
    ///     assert_eq!((meta.transform, meta.series.len()), (t, 1));
    /// }
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn meta(&self, table: &Table, t: Transformation) -> Result<ForecastMeta> {
        if t.log
            && let Some((s, i)) = first_non_positive(table)
        {
            return Err(Error::data(
                &table.path,
                table.series[s].lines.get(i).copied(),
                Some(table.target_column()),
                format!("{t} needs positive values, found {}", table.series[s].values[i]),
            ));
        }
        let series = table
            .series
            .iter()
            .map(|s| {
                let sizes = self.split.sizes(s.len());
                let feats: Vec<&[f64]> = s.features.iter().map(|f| &f[..sizes[0]]).collect();
                let stats = SeriesStats::fit(s.id.clone(), sizes, &s.values[..sizes[0]], &feats, t, self.season);
                SeriesStats { checksum: Some(super::fingerprint::checksum(&s.values)), ..stats }
            })
            .collect();
        Ok(ForecastMeta {
            kind: KIND.to_string(),
            columns: table.columns(),
            window: self.window,
            horizon: self.horizon,
            season: self.season,
            season_detected: self.season_detected,
            transform: t,
            split: self.split,
            series,
            selection: Vec::new(),
            read: ReadOptions::default(),
            combine: None,
            combine_log: None,
            combine_hw: None,
            ensemble: Vec::new(),
            refit: None,
        })
    }
}

fn first_non_positive(table: &Table) -> Option<(usize, usize)> {
    table.series.iter().enumerate().find_map(|(k, s)| s.values.iter().position(|&v| v <= 0.0).map(|i| (k, i)))
}
