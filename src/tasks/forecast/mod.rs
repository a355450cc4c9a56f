//! Time-series forecasting: CSV series in, a direct multi-step forecaster out, scored by
//! rolling-origin evaluation against persistence and seasonal naive.
//!
//! A series (or many, in the long format) is split by time into training, validation and test
//! parts (70/15/15 by default, per series). From every origin t (the last step known) a window
//! of the last W steps is the input `[W, features]` and the next H values the target `[H]`:
//! a many-to-one model with `output_size = H` predicts all steps at once. What the network
//! sees and predicts is a [`Transformation`] of the values, fitted on the training part only:
//! z-scores, the change over persistence, over seasonal naive, or over exponential smoothing's
//! level and season ([`smooth`], an ES-RNN hybrid), optionally on logs. By default every transformation that suits the data is trained and the one with the
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

mod clean;
mod combine;
// Not API: helpers of `rnn train --task forecast`'s reading and report (dates, delimiters,
// fingerprints, the ETS baseline, conformal intervals), public for the binary and the tests.
#[doc(hidden)]
pub mod dates;
pub mod ensemble;
mod evaluate;
#[doc(hidden)]
pub mod fingerprint;
#[doc(hidden)]
pub mod intervals;
pub mod metrics;
mod plan;
#[doc(hidden)]
pub mod read;
pub mod refit;
mod report;
mod select;
pub mod smooth;
#[doc(hidden)]
pub mod statistical;
pub mod table;
pub mod transform;

use std::collections::HashMap;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

#[doc(hidden)] // for the `rnn` binary
pub use combine::{Combination, MEMBERS};
pub use ensemble::{Member, select};
pub use evaluate::{Evaluation, MAX_FORECAST_STEPS, SeriesForecasts, StepScores};
pub use metrics::Scores;
pub use plan::{Part, Plan, Settings, Split};
pub use read::{Fill, ReadOptions};
pub use refit::Refit;
#[cfg(feature = "plot")]
#[doc(hidden)] // for the `rnn` binary
pub use report::Ahead;
pub use select::Candidate;
pub use table::{Columns, Series, Table};
pub use transform::{Kind, SeriesStats, Transformation};

use self::smooth::Filtered;
use crate::data::{Dataset, Targets};
use crate::{Error, Float, Result};

/// The `"kind"` of a forecasting model's task metadata.
pub const KIND: &str = "forecast";

/// Everything a forecasting model needs besides its weights; stored as JSON in the model file.
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
/// // what a forecasting model file carries, and all that is needed to use it on new data
/// let stored = meta.to_metadata();
/// let back = rnn::tasks::forecast::ForecastMeta::from_metadata(&stored, "m.safetensors".as_ref())?;
/// assert_eq!(back, meta);
/// assert_eq!((meta.window, meta.horizon, meta.input_size()), (6, 2, 1));
/// assert_eq!(meta.columns().target.as_deref(), Some("value"));
/// # Ok::<(), rnn::Error>(())
/// ```
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
    /// How the training file was read (its date format and fill), the default for later reads.
    #[serde(default)]
    pub read: ReadOptions,
    /// The networks' weight w in the combination with the statistical forecasters
    /// ([`ForecastMeta::weights`]: w·networks + v·baseline(ln y) + u·Holt-Winters and the rest
    /// on baseline(y), season [`ForecastMeta::season`]), chosen on the validation split;
    /// `None`: the networks alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combine: Option<f64>,
    /// The weight v of the statistical baseline fitted on ln y in the combination; `None`: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combine_log: Option<f64>,
    /// The weight u of Holt-Winters in the combination; `None`: 0 (and in files written before
    /// it took part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combine_hw: Option<f64>,
    /// The further networks of the ensemble ([`ensemble`]): the forecast is the mean of every
    /// network's (before the combination); empty: the model's network alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ensemble: Vec<Member>,
    /// How every network was trained and for how many epochs, for the final refit on all the
    /// rows ([`refit`]); `None`: a model trained before it was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refit: Option<Refit>,
}

impl ForecastMeta {
    /// The metadata entry of a model file.
    ///
    /// # Example
    /// ```
    /// # use rnn::tasks::forecast::{Plan, Settings, table};
    /// # let csv: String = std::iter::once("year,value".to_string())
    /// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
    /// #     .collect::<Vec<_>>()
    /// #     .join("\n");
    /// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
    /// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
    /// # let meta = plan.meta(&table, plan.candidates[0])?;
    /// use rnn::tasks::forecast::ForecastMeta;
    /// use rnn::{Init, Model, ModelConfig, RnnConfig, model_file};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, 0)?;
    /// // saved with the weights, so the file alone can forecast from a CSV file
    /// let bytes = model_file::to_bytes(&model, &meta.to_metadata())?;
    /// let loaded = model_file::from_bytes::<f32>(&bytes, "m.safetensors".as_ref(), &Default::default())?;
    /// assert_eq!(ForecastMeta::from_metadata(&loaded.metadata, "m.safetensors".as_ref())?, meta);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn to_metadata(&self) -> HashMap<String, String> {
        let json = serde_json::to_string(self).unwrap_or_default();
        HashMap::from([(crate::tasks::TASK_KEY.to_string(), json)])
    }

    /// Reads the metadata of a forecasting model file; `path` names it in errors.
    ///
    /// # Errors
    /// [`Error::ModelFile`] when the entry is missing, not a forecasting model's, or malformed.
    ///
    /// # Example
    /// ```
    /// use std::collections::HashMap;
    /// use rnn::tasks::forecast::ForecastMeta;
    /// let err = ForecastMeta::from_metadata(&HashMap::new(), "m.safetensors".as_ref()).unwrap_err();
    /// assert!(err.to_string().contains("not a forecasting model"));
    /// ```
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
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Columns, Plan, Settings, table};
    /// let csv: String = std::iter::once("year,value,price".to_string())
    ///     .chain((0..40).map(|t| format!("{},{},{}", 1900 + t, 10.0 + (t as f64).sin(), 1.0 + t as f64 / 40.0)))
    ///     .collect::<Vec<_>>()
    ///     .join("\n");
    /// let columns = Columns { target: Some("value".into()), features: vec!["price".into()], ..Columns::default() };
    /// let table = table::parse(csv.as_bytes(), "shop.csv".as_ref(), &columns)?;
    /// let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(4), season: Some(1), ..Settings::default() })?;
    /// let meta = plan.meta(&table, plan.candidates[0])?;
    /// assert_eq!(meta.input_size(), 2); // the value and the price at every step
    /// // so a network for it reads 2 features
    /// let model = rnn::Model::<f32>::new(rnn::ModelConfig { rnn: rnn::RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, rnn::Init::PyTorch, 0)?;
    /// assert_eq!(meta.dataset::<f32>(&table, rnn::tasks::forecast::Part::Train)?.input_size(), model.config().rnn.input_size);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn input_size(&self) -> usize {
        1 + self.columns.features.len()
    }

    /// The columns to read from a CSV file for this model.
    ///
    /// # Example
    /// ```
    /// # use rnn::tasks::forecast::{Plan, Settings, table};
    /// # let csv: String = std::iter::once("year,value".to_string())
    /// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
    /// #     .collect::<Vec<_>>()
    /// #     .join("\n");
    /// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
    /// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
    /// # let meta = plan.meta(&table, plan.candidates[0])?;
    /// // a new file is read with the columns the model was trained on
    /// let later = table::parse(b"year,value\n1960,10.1\n1961,10.4\n", "new.csv".as_ref(), meta.columns())?;
    /// assert_eq!(later.target, "value");
    /// assert_eq!(meta.columns().date.as_deref(), Some("year"));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The training statistics of series `k` of `table` (matched by id in the long format).
    ///
    /// # Errors
    /// [`Error::Data`] naming the series' first line when its id was not trained on.
    #[doc(hidden)] // for the `rnn` binary
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

    /// The transformed values z of series `k`, checked finite (logs need positive values), with
    /// the `smoothed` transformation's states filtered along them (`stats`: the series' own).
    fn z(&self, table: &Table, k: usize, stats: &SeriesStats) -> Result<Filtered> {
        let s = &table.series[k];
        let z = s
            .values
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
            .collect::<Result<Vec<f64>>>()?;
        Ok(Filtered::new(z, stats.smoothing.as_ref()))
    }

    /// The origins of `part` in a series of split sizes `sizes`: every t with a full window
    /// before it and its whole horizon inside the part.
    #[doc(hidden)] // for the `rnn` binary
    pub fn origins(&self, sizes: [usize; 3], part: Part) -> std::ops::Range<usize> {
        let range = part.range(sizes);
        let first = range.start.saturating_sub(1).max(self.window - 1);
        let end = range.end.saturating_sub(self.horizon - 1).saturating_sub(1).max(first);
        first..end
    }

    /// An upper bound on the bytes [`ForecastMeta::dataset`] allocates for any part of `table`
    /// in floats of `float_bytes` (a window and its targets for every row), so that a window too
    /// large for memory is refused before it is built.
    ///
    /// # Errors
    /// [`Error::Config`] when the count overflows `u64`.
    #[doc(hidden)] // for the `rnn` binary
    pub fn dataset_bytes(&self, table: &Table, float_bytes: usize) -> Result<u64> {
        let rows: u64 = table.series.iter().map(|s| s.len() as u64).sum();
        (self.window as u64)
            .checked_mul(self.input_size() as u64)
            .and_then(|x| x.checked_add(self.horizon as u64))
            .and_then(|per_row| per_row.checked_mul(rows))
            .and_then(|n| n.checked_mul(float_bytes as u64))
            .ok_or_else(|| Error::Config(format!("windows of {} steps over {rows} rows overflow 64 bits", self.window)))
    }

    /// The windows of `part` of every series, as a dataset: inputs `[N, W, input_size]`,
    /// targets `[N, 1, H]` (the last step's output predicts all H).
    ///
    /// # Errors
    /// [`Error::Data`] for an unknown series or a value the transformation cannot take;
    /// [`Error::Config`] when the part has no window.
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
    /// let train = meta.dataset::<f32>(&table, Part::Train)?;
    /// let val = meta.dataset::<f32>(&table, Part::Validation)?;
    /// // one window of 6 inputs per origin, 2 targets (the next values, transformed)
    /// assert_eq!((train.seq_len(), train.input_size()), (6, 1));
    /// assert!(matches!(train.targets(), rnn::data::Targets::Values(t) if t.shape()[1..] == [1, 2]));
    /// assert!(val.len() < train.len());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn dataset<F: Float>(&self, table: &Table, part: Part) -> Result<Dataset<F>> {
        self.windows(table, |n| self.origins(self.split.sizes(n), part), part.name())
    }

    /// The windows from the origins `origins(rows)` of every series, as a dataset; `name`
    /// names the part in errors.
    fn windows<F: Float>(
        &self,
        table: &Table,
        origins: impl Fn(usize) -> std::ops::Range<usize>,
        name: &str,
    ) -> Result<Dataset<F>> {
        self.dataset_bytes(table, size_of::<F>())?;
        let (w, h, width) = (self.window, self.horizon, self.input_size());
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for k in 0..table.series.len() {
            let stats = self.stats_for(table, k)?;
            let z = self.z(table, k, stats)?;
            let feats: Vec<&[f64]> = table.series[k].features.iter().map(Vec::as_slice).collect();
            for t in origins(z.len()) {
                xs.extend(self.transform.inputs(&z, &feats, t, w, stats).into_iter().map(F::of));
                ys.extend(self.transform.targets(&z, t, h, self.season, stats).into_iter().map(F::of));
            }
        }
        let n = ys.len() / h;
        if n == 0 {
            let msg = format!("the {name} split has no window of {w} + {h} steps: too few rows");
            return Err(Error::data(&table.path, None, Some(table.target_column()), msg));
        }
        let x = Array3::from_shape_vec((n, w, width), xs).map_err(|e| Error::Config(e.to_string()))?;
        let y = Array3::from_shape_vec((n, 1, h), ys).map_err(|e| Error::Config(e.to_string()))?;
        Dataset::new(x, Targets::Values(y), None)
    }
}
