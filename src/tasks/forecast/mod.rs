//! Time-series forecasting: CSV series in, a direct multi-step forecaster out, scored by
//! rolling-origin evaluation against persistence and seasonal naive.
//!
//! A series (or many, in the long format) is split by time into training, validation and test
//! parts (70/15/15 by default, per series). From every origin t (the last step known) a window
//! of the last W steps is the input `[W, features]` and the next H values the target `[H]`:
//! a many-to-one model with `output_size = H` predicts all steps at once. What the network
//! sees and predicts is a [`Transformation`] of the values, fitted on the training part only:
//! z-scores, the change over persistence, or the change over seasonal naive, optionally on
//! logs. By default every transformation that suits the data is trained and the one with the
//! lowest validation MASE is kept: the test part is never looked at before the final score.
//!
//! The model file carries a [`ForecastMeta`] (JSON under [`crate::tasks::TASK_KEY`], `"kind":
//! "forecast"`): columns, window, horizon, season, transformation, split and per-series
//! statistics, all that is needed to rebuild inputs from a CSV file and to undo the
//! transformation.
//!
//! ```
//! use rnn::tasks::forecast::{Plan, Settings, table};
//! let csv: String = std::iter::once("date,value".to_string())
//!     .chain((0..120).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
//!     .collect::<Vec<_>>()
//!     .join("\n");
//! let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
//! let plan = Plan::new(&table, &Settings { horizon: 2, ..Settings::default() })?;
//! let meta = plan.meta(&table, plan.candidates[0])?;
//! let train = meta.dataset::<f32>(&table, rnn::tasks::forecast::Part::Train)?;
//! assert_eq!(train.inputs().shape()[1..], [plan.window, 1]);
//! # Ok::<(), rnn::Error>(())
//! ```

pub mod dates;
pub mod metrics;
mod report;
mod select;
pub mod table;
pub mod transform;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use ndarray::{Array3, Axis};
use serde::{Deserialize, Serialize};

pub use metrics::Scores;
pub use select::{Candidate, select};
pub use table::{Columns, Series, Table};
pub use transform::{Kind, SeriesStats, Transformation};

use crate::data::{Dataset, Targets};
use crate::{Error, Float, Model, Readout, Result};

/// The `"kind"` of a forecasting model's task metadata.
pub const KIND: &str = "forecast";

/// How each series is split by time: fractions for training, validation and test.
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
        if !(parts.iter().all(|v| v.is_finite() && *v >= 0.0) && a > 0.0 && b > 0.0 && c > 0.0) {
            return Err(bad());
        }
        if (total - 100.0).abs() > 1e-6 && (total - 1.0).abs() > 1e-9 {
            return Err(Error::Config(format!("split `{s}` adds up to {total}, not 100")));
        }
        Ok(Split { train: a / total, val: b / total, test: c / total })
    }
}

/// A part of each series.
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
    pub fn new(table: &Table, settings: &Settings) -> Result<Plan> {
        let h = settings.horizon;
        if h == 0 || settings.window == Some(0) || settings.season == Some(0) {
            return Err(Error::Config("window, horizon and season must be at least 1".into()));
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
                let need = (1..).find(|&n| {
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
                SeriesStats::fit(s.id.clone(), sizes, &s.values[..sizes[0]], &feats, t)
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
        })
    }
}

fn first_non_positive(table: &Table) -> Option<(usize, usize)> {
    table.series.iter().enumerate().find_map(|(k, s)| s.values.iter().position(|&v| v <= 0.0).map(|i| (k, i)))
}

/// Everything a forecasting model needs besides its weights; stored as JSON in the model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastMeta {
    /// Always [`KIND`].
    pub kind: String,
    /// The columns read (target, features, date, id).
    pub columns: Columns,
    /// Input steps W.
    pub window: usize,
    /// Output steps H.
    pub horizon: usize,
    /// The season m (1: none) of the seasonal transformation and baseline.
    pub season: usize,
    /// Whether m was detected from the training data.
    pub season_detected: bool,
    /// What the network predicts.
    pub transform: Transformation,
    /// The split by time.
    pub split: Split,
    /// Per series: split sizes and training statistics.
    pub series: Vec<SeriesStats>,
    /// The transformations tried and their validation scores (empty when one was asked for).
    #[serde(default)]
    pub selection: Vec<Candidate>,
}

/// One series' rolling-origin forecasts over a part.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesForecasts {
    /// Index of the series in the table.
    pub series: usize,
    /// The origins (index of the last known row).
    pub origins: Vec<usize>,
    /// The model's forecasts `[origin][step]`, original scale.
    pub model: Vec<Vec<f64>>,
    /// Persistence's.
    pub persistence: Vec<Vec<f64>>,
    /// Seasonal naive's.
    pub seasonal_naive: Vec<Vec<f64>>,
}

/// The scores of step k of a multi-step forecast.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StepScores {
    /// Steps ahead (1-based).
    pub step: usize,
    /// The model.
    pub model: Scores,
    /// Persistence.
    pub persistence: Scores,
    /// Seasonal naive.
    pub seasonal_naive: Scores,
}

/// A rolling-origin evaluation: from every origin of a part where the whole horizon lies in
/// the part, over every step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// The model.
    pub model: Scores,
    /// Persistence (last value).
    pub persistence: Scores,
    /// Seasonal naive (value one season back).
    pub seasonal_naive: Scores,
    /// The season of the seasonal naive baseline and of MASE's scale.
    pub season: usize,
    /// Forecast origins scored (over all series).
    pub origins: usize,
    /// Per step ahead (only when the horizon is above 1).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_step: Vec<StepScores>,
}

impl ForecastMeta {
    /// The metadata entry of a model file.
    pub fn to_metadata(&self) -> HashMap<String, String> {
        let json = serde_json::to_string(self).unwrap_or_default();
        HashMap::from([(crate::tasks::TASK_KEY.to_string(), json)])
    }

    /// Reads the metadata of a forecasting model file; `path` names it in errors.
    ///
    /// # Errors
    /// [`Error::ModelFile`] when the entry is missing, not a forecasting model's, or malformed.
    pub fn from_metadata(metadata: &HashMap<String, String>, path: &std::path::Path) -> Result<Self> {
        let key = crate::tasks::TASK_KEY;
        let json = metadata
            .get(key)
            .ok_or_else(|| Error::model_file(path, format!("no `{key}` metadata: not a forecasting model")))?;
        let meta: ForecastMeta = serde_json::from_str(json)
            .map_err(|e| Error::model_file(path, format!("metadata `{key}` is not a forecasting model's ({e})")))?;
        if meta.kind != KIND || meta.window == 0 || meta.horizon == 0 || meta.series.is_empty() {
            return Err(Error::model_file(path, format!("metadata `{key}` is not a valid forecasting model's")));
        }
        Ok(meta)
    }

    /// Features per input step: the target and each feature column.
    pub fn input_size(&self) -> usize {
        1 + self.columns.features.len()
    }

    /// The columns to read from a CSV file for this model.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The training statistics of series `k` of `table` (matched by id in the long format).
    ///
    /// # Errors
    /// [`Error::Data`] naming the series' first line when its id was not trained on.
    pub fn stats_for(&self, table: &Table, k: usize) -> Result<&SeriesStats> {
        let s = &table.series[k];
        match &s.id {
            None => Ok(&self.series[0]),
            Some(id) => self.series.iter().find(|st| st.id.as_deref() == Some(id)).ok_or_else(|| {
                Error::data(
                    &table.path,
                    s.lines.first().copied(),
                    table.id.clone(),
                    format!("series \"{id}\" was not in the model's training data"),
                )
            }),
        }
    }

    /// The transformed values z of series `k`, checked finite (logs need positive values).
    fn z(&self, table: &Table, k: usize) -> Result<Vec<f64>> {
        let s = &table.series[k];
        s.values
            .iter()
            .zip(&s.lines)
            .map(|(&y, &line)| {
                let z = self.transform.forward(y);
                if z.is_finite() {
                    Ok(z)
                } else {
                    Err(Error::data(
                        &table.path,
                        Some(line),
                        Some(table.target_column()),
                        format!(
                            "{y} cannot be used: the model ({}) takes logs, so values must be positive",
                            self.transform
                        ),
                    ))
                }
            })
            .collect()
    }

    /// The origins of `part` in a series of split sizes `sizes`: every t with a full window
    /// before it and its whole horizon inside the part.
    pub fn origins(&self, sizes: [usize; 3], part: Part) -> std::ops::Range<usize> {
        let range = part.range(sizes);
        let first = range.start.saturating_sub(1).max(self.window - 1);
        let end = range.end.saturating_sub(self.horizon - 1).saturating_sub(1).max(first);
        first..end
    }

    /// The windows of `part` of every series, as a dataset: inputs `[N, W, input_size]`,
    /// targets `[N, 1, H]` (the last step's output predicts all H).
    ///
    /// # Errors
    /// [`Error::Data`] for an unknown series or a value the transformation cannot take;
    /// [`Error::Config`] when the part has no window.
    pub fn dataset<F: Float>(&self, table: &Table, part: Part) -> Result<Dataset<F>> {
        let (w, h, width) = (self.window, self.horizon, self.input_size());
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for k in 0..table.series.len() {
            let stats = self.stats_for(table, k)?;
            let z = self.z(table, k)?;
            let feats: Vec<&[f64]> = table.series[k].features.iter().map(Vec::as_slice).collect();
            for t in self.origins(self.split.sizes(z.len()), part) {
                xs.extend(self.transform.inputs(&z, &feats, t, w, stats).into_iter().map(F::of));
                ys.extend(self.transform.targets(&z, t, h, self.season, stats).into_iter().map(F::of));
            }
        }
        let n = ys.len() / h;
        if n == 0 {
            return Err(Error::Config(format!("the {part:?} split has no window of {w} + {h} steps")));
        }
        let x = Array3::from_shape_vec((n, w, width), xs).map_err(|e| Error::Config(e.to_string()))?;
        let y = Array3::from_shape_vec((n, 1, h), ys).map_err(|e| Error::Config(e.to_string()))?;
        Dataset::new(x, Targets::Values(y), None)
    }

    /// The model's forecasts (original scale) of the H steps after each origin of a series
    /// whose transformed values are `z` and features `features`.
    ///
    /// # Errors
    /// Shape errors when the model does not fit the metadata.
    pub fn predict<F: Float>(
        &self,
        model: &Model<F>,
        z: &[f64],
        features: &[&[f64]],
        origins: &[usize],
        stats: &SeriesStats,
    ) -> Result<Vec<Vec<f64>>> {
        let (w, width) = (self.window, self.input_size());
        let mut out = Vec::with_capacity(origins.len());
        for chunk in origins.chunks(256) {
            let mut x = Array3::<F>::zeros((w, chunk.len(), width));
            for (b, &t) in chunk.iter().enumerate() {
                let rows = self.transform.inputs(z, features, t, w, stats);
                for (i, v) in rows.into_iter().enumerate() {
                    x[[i / width, b, i % width]] = F::of(v);
                }
            }
            let trace = model.forward_eval(x.view(), None, Readout::LastStep)?;
            let y = trace.y().index_axis(Axis(0), 0).to_owned();
            if y.shape()[1] != self.horizon {
                return Err(Error::shape(
                    "model output",
                    format!("[batch, {}] (the horizon)", self.horizon),
                    y.shape(),
                ));
            }
            for (b, &t) in chunk.iter().enumerate() {
                let o: Vec<f64> = y.row(b).iter().map(|v| v.to_f64_lossless()).collect();
                out.push(self.transform.decode(z, t, &o, self.season, stats));
            }
        }
        Ok(out)
    }

    /// Rolling-origin evaluation of `model` over `part` of every series of `table`, with the
    /// baselines; `season` is the seasonal naive's and MASE's m (the model's own by default).
    ///
    /// # Errors
    /// As [`ForecastMeta::dataset`] and [`ForecastMeta::predict`]; [`Error::Config`] when the
    /// part has no origin.
    pub fn evaluate<F: Float>(
        &self,
        model: &Model<F>,
        table: &Table,
        part: Part,
        season: Option<usize>,
    ) -> Result<(Evaluation, Vec<SeriesForecasts>)> {
        let m = season.unwrap_or(self.season).max(1);
        let h = self.horizon;
        let mut total = [metrics::Accumulator::default(); 3];
        let mut steps = vec![[metrics::Accumulator::default(); 3]; h];
        let mut all = Vec::new();
        for k in 0..table.series.len() {
            let stats = self.stats_for(table, k)?;
            let z = self.z(table, k)?;
            let s = &table.series[k];
            let sizes = self.split.sizes(s.len());
            let scale = metrics::mase_scale(&s.values[..sizes[0]], m);
            let origins: Vec<usize> = self.origins(sizes, part).collect();
            let feats: Vec<&[f64]> = s.features.iter().map(Vec::as_slice).collect();
            let model_fc = self.predict(model, &z, &feats, &origins, stats)?;
            let pers: Vec<Vec<f64>> = origins.iter().map(|&t| metrics::persistence(&s.values, t, h)).collect();
            let snaive: Vec<Vec<f64>> = origins.iter().map(|&t| metrics::seasonal_naive(&s.values, t, h, m)).collect();
            for (o, &t) in origins.iter().enumerate() {
                for step in 0..h {
                    let actual = s.values[t + 1 + step];
                    for (j, fc) in [&model_fc, &pers, &snaive].into_iter().enumerate() {
                        total[j].add(actual, fc[o][step], scale);
                        steps[step][j].add(actual, fc[o][step], scale);
                    }
                }
            }
            all.push(SeriesForecasts {
                series: k,
                origins,
                model: model_fc,
                persistence: pers,
                seasonal_naive: snaive,
            });
        }
        if total[0].is_empty() {
            return Err(Error::Config(format!("the {part:?} split has no forecast origin")));
        }
        let per_step = if h > 1 {
            steps
                .iter()
                .enumerate()
                .map(|(i, a)| StepScores {
                    step: i + 1,
                    model: a[0].scores(),
                    persistence: a[1].scores(),
                    seasonal_naive: a[2].scores(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let evaluation = Evaluation {
            model: total[0].scores(),
            persistence: total[1].scores(),
            seasonal_naive: total[2].scores(),
            season: m,
            origins: all.iter().map(|f| f.origins.len()).sum(),
            per_step,
        };
        Ok((evaluation, all))
    }

    /// Forecasts `steps` values past the end of every series of `table` (original scale):
    /// directly for up to H steps, recursively beyond (feeding forecasts back as inputs).
    ///
    /// # Errors
    /// [`Error::Config`] when `steps` exceeds H for a model with features (their future is
    /// unknown); as [`ForecastMeta::predict`].
    pub fn forecast<F: Float>(&self, model: &Model<F>, table: &Table, steps: usize) -> Result<Vec<Vec<f64>>> {
        if steps > self.horizon && !self.columns.features.is_empty() {
            return Err(Error::Config(format!(
                "this model reads the features {} whose future is unknown: it forecasts at most {} steps (its horizon)",
                self.columns.features.join(", "),
                self.horizon
            )));
        }
        let mut out = Vec::with_capacity(table.series.len());
        for k in 0..table.series.len() {
            let stats = self.stats_for(table, k)?;
            let mut z = self.z(table, k)?;
            if z.len() < self.window {
                let s = &table.series[k];
                return Err(Error::data(
                    &table.path,
                    s.lines.last().copied(),
                    Some(table.target_column()),
                    format!("{} has {} rows but the model reads windows of {}", s.name(), s.len(), self.window),
                ));
            }
            let feats: Vec<&[f64]> = table.series[k].features.iter().map(Vec::as_slice).collect();
            let mut values = Vec::with_capacity(steps);
            while values.len() < steps {
                let t = z.len() - 1;
                let next = self.predict(model, &z, &feats, &[t], stats)?.remove(0);
                for y in next.into_iter().take(steps - values.len()) {
                    z.push(self.transform.forward(y));
                    values.push(y);
                }
            }
            out.push(values);
        }
        Ok(out)
    }
}
