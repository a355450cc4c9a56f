//! Forecasting with a trained model: rolling-origin evaluation against the baselines, and
//! forecasts past the end of a series (recursive beyond the horizon).

use ndarray::{Array3, Axis};
use serde::Serialize;

use super::{ForecastMeta, Part, Scores, SeriesStats, Table, metrics};
use crate::{Error, Float, Model, Readout, Result};

/// The most steps [`ForecastMeta::forecast`] makes: far past any horizon worth forecasting
/// recursively, few enough to finish in minutes.
pub const MAX_FORECAST_STEPS: usize = 100_000;

/// One series' rolling-origin forecasts over a part.
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
/// let (_, forecasts) = meta.evaluate(std::slice::from_ref(&model), &table, Part::Test, None)?;
/// let f = &forecasts[0];
/// assert_eq!((f.series, f.model.len(), f.model[0].len()), (0, f.origins.len(), 2));
/// // persistence repeats the value at the origin
/// let y = &table.series[0].values;
/// assert_eq!(f.persistence[0], [y[f.origins[0]]; 2]);
/// # Ok::<(), rnn::Error>(())
/// ```
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
    /// The statistical baseline's (`statistical`), once added.
    pub statistical: Option<Vec<Vec<f64>>>,
    /// The prediction intervals' half-widths `[origin][step][80%, 95%]`, original units, once
    /// added.
    pub half_widths: Option<Vec<Vec<[f64; 2]>>>,
}

/// The scores of step k of a multi-step forecast.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Part, Plan, Settings, table};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let csv: String = std::iter::once("t,y".to_string()).chain((0..50).map(|t| format!("{t},{}", (t as f64 * 0.4).sin()))).collect::<Vec<_>>().join("\n");
/// let table = table::parse(csv.as_bytes(), "s.csv".as_ref(), &Default::default())?;
/// let plan = Plan::new(&table, &Settings { horizon: 3, window: Some(6), season: Some(1), ..Settings::default() })?;
/// let meta = plan.meta(&table, plan.candidates[0])?;
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(3) }, Init::PyTorch, 0)?;
/// let (ev, _) = meta.evaluate(std::slice::from_ref(&model), &table, Part::Test, None)?;
/// let steps: Vec<usize> = ev.per_step.iter().map(|s| s.step).collect();
/// assert_eq!(steps, [1, 2, 3]);
/// // persistence gets worse the further ahead on a sine
/// assert!(ev.per_step[2].persistence.mae > ev.per_step[0].persistence.mae);
/// # Ok::<(), rnn::Error>(())
/// ```
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
    /// The statistical baseline, once added.
    #[serde(rename = "auto_ets", skip_serializing_if = "Option::is_none")]
    pub statistical: Option<Scores>,
    /// The Theta method, once added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theta: Option<Scores>,
}

/// A rolling-origin evaluation: from every origin of a part where the whole horizon lies in
/// the part, over every step.
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
/// let (ev, _) = meta.evaluate(std::slice::from_ref(&model), &table, Part::Validation, None)?;
/// assert_eq!((ev.season, ev.per_step.len()), (1, 2)); // per step ahead: H = 2
/// assert_eq!(ev.per_step[1].step, 2);
/// assert!(ev.statistical.is_none()); // the CLI adds the ETS baseline
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// The model.
    pub model: Scores,
    /// Persistence (last value).
    pub persistence: Scores,
    /// Seasonal naive (value one season back).
    pub seasonal_naive: Scores,
    /// The statistical baseline (`statistical`), when added and every fit succeeded.
    #[serde(rename = "auto_ets", skip_serializing_if = "Option::is_none")]
    pub statistical: Option<Scores>,
    /// Its name, e.g. `MSTL(12)+AutoETS`.
    #[serde(rename = "auto_ets_model", skip_serializing_if = "Option::is_none")]
    pub statistical_name: Option<String>,
    /// The Theta method ([`super::statistical::theta`]), when added and every fit succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theta: Option<Scores>,
    /// The prediction intervals' coverage (`intervals`), once added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<super::intervals::Coverage>,
    /// The season of the seasonal naive baseline and of MASE's scale.
    pub season: usize,
    /// Forecast origins scored (over all series).
    pub origins: usize,
    /// Per step ahead (only when the horizon is above 1).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_step: Vec<StepScores>,
    /// Whether the networks scored were trained again on the rows before the scored part
    /// ([`ForecastMeta::refit_through`]) rather than the saved ones (set by the caller).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refitted: bool,
}

impl ForecastMeta {
    /// The model's forecasts (original scale) of the H steps after each origin of a series
    /// whose transformed values are `z` and features `features`.
    ///
    /// # Errors
    /// Shape errors when the model does not fit the metadata.
    #[doc(hidden)] // the building block of `evaluate` and `forecast`
    pub fn predict<F: Float>(
        &self,
        model: &Model<F>,
        z: &super::smooth::Filtered,
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
    /// As [`ForecastMeta::dataset`]; shape errors when the model does not fit the metadata; [`Error::Config`] when the
    /// part has no origin.
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
    /// let (evaluation, forecasts) = meta.evaluate(std::slice::from_ref(&model), &table, Part::Test, None)?;
    /// assert_eq!(forecasts.len(), 1); // one series
    /// assert_eq!(forecasts[0].model.len(), evaluation.origins);
    /// assert!(evaluation.model.rmse.is_finite() && evaluation.persistence.mase.is_finite());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn evaluate<F: Float>(
        &self,
        models: &[Model<F>],
        table: &Table,
        part: Part,
        season: Option<usize>,
    ) -> Result<(Evaluation, Vec<SeriesForecasts>)> {
        self.check_networks(models)?;
        let metas: Vec<ForecastMeta> = (0..models.len()).map(|i| self.member(i)).collect();
        let m = season.unwrap_or(self.season).max(1);
        let h = self.horizon;
        let mut total = [metrics::Accumulator::default(); 3];
        let mut steps = vec![[metrics::Accumulator::default(); 3]; h];
        let mut all = Vec::new();
        for k in 0..table.series.len() {
            let s = &table.series[k];
            let sizes = self.split.sizes(s.len());
            let scale = metrics::mase_scale(&s.values[..sizes[0]], m);
            let origins: Vec<usize> = self.origins(sizes, part).collect();
            let feats: Vec<&[f64]> = s.features.iter().map(Vec::as_slice).collect();
            let each = metas
                .iter()
                .zip(models)
                .map(|(meta, model)| {
                    let stats = meta.stats_for(table, k)?;
                    meta.predict(model, &meta.z(table, k, stats)?, &feats, &origins, stats)
                })
                .collect::<Result<Vec<_>>>()?;
            let mut model_fc = super::ensemble::mean(&each);
            self.combined(&s.values, &origins, h, &mut model_fc);
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
                statistical: None,
                half_widths: None,
            });
        }
        if total[0].is_empty() {
            let msg = format!(
                "the {} split has no forecast origin (window {}, horizon {h}): too few rows",
                part.name(),
                self.window
            );
            return Err(Error::data(&table.path, None, Some(table.target_column()), msg));
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
                    statistical: None,
                    theta: None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let evaluation = Evaluation {
            model: total[0].scores(),
            persistence: total[1].scores(),
            seasonal_naive: total[2].scores(),
            statistical: None,
            statistical_name: None,
            theta: None,
            coverage: None,
            season: m,
            origins: all.iter().map(|f| f.origins.len()).sum(),
            per_step,
            refitted: false,
        };
        Ok((evaluation, all))
    }

    /// Adds the statistical baselines ([`super::statistical`]: AutoETS and the Theta method,
    /// season `ev.season`) to an evaluation of `table` made by [`ForecastMeta::evaluate`],
    /// scored on the same origins and steps; each left out (`None`) when a fit fails on some
    /// series.
    #[doc(hidden)] // for the `rnn` binary
    pub fn add_statistical(&self, table: &Table, ev: &mut Evaluation, forecasts: &mut [SeriesForecasts]) {
        let (h, m) = (self.horizon, ev.season);
        let fit = |f: super::statistical::Baseline| -> Option<Vec<Vec<Vec<f64>>>> {
            forecasts.iter().map(|fc| f(&table.series[fc.series].values, &fc.origins, h, m)).collect()
        };
        let (ets, theta) = (fit(super::statistical::auto_ets), fit(super::statistical::theta));
        // the scores of `all[series][origin][step]` over every series, and per step
        let score = |all: &[Vec<Vec<f64>>]| {
            let mut total = metrics::Accumulator::default();
            let mut steps = vec![metrics::Accumulator::default(); h];
            for (fc, f) in forecasts.iter().zip(all) {
                let s = &table.series[fc.series];
                let scale = metrics::mase_scale(&s.values[..self.split.sizes(s.len())[0]], m);
                for (o, &t) in fc.origins.iter().enumerate() {
                    for step in 0..h {
                        total.add(s.values[t + 1 + step], f[o][step], scale);
                        steps[step].add(s.values[t + 1 + step], f[o][step], scale);
                    }
                }
            }
            (total.scores(), steps.iter().map(metrics::Accumulator::scores).collect::<Vec<_>>())
        };
        if let Some(theta) = &theta {
            let (total, steps) = score(theta);
            ev.theta = Some(total);
            for (s, a) in ev.per_step.iter_mut().zip(steps) {
                s.theta = Some(a);
            }
        }
        if let Some(ets) = ets {
            let (total, steps) = score(&ets);
            ev.statistical = Some(total);
            ev.statistical_name = Some(super::statistical::name(m));
            for (s, a) in ev.per_step.iter_mut().zip(steps) {
                s.statistical = Some(a);
            }
            for (fc, f) in forecasts.iter_mut().zip(ets) {
                fc.statistical = Some(f);
            }
        }
    }

    /// Forecasts `steps` values past the end of every series of `table` (original scale):
    /// directly for up to H steps, recursively beyond (feeding forecasts back as inputs).
    ///
    /// # Errors
    /// [`Error::Config`] when `steps` exceeds H for a model with features (their future is
    /// unknown) or [`MAX_FORECAST_STEPS`]; as [`ForecastMeta::predict`].
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
    /// let next = meta.forecast(std::slice::from_ref(&model), &table, 5)?; // 2 steps directly, then recursively
    /// assert_eq!((next.len(), next[0].len()), (1, 5));
    /// assert!(meta.forecast(std::slice::from_ref(&model), &table, rnn::tasks::forecast::MAX_FORECAST_STEPS + 1).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forecast<F: Float>(&self, models: &[Model<F>], table: &Table, steps: usize) -> Result<Vec<Vec<f64>>> {
        self.check_networks(models)?;
        if steps > MAX_FORECAST_STEPS {
            return Err(Error::Config(format!("steps must be at most {MAX_FORECAST_STEPS}, got {steps}")));
        }
        if steps > self.horizon && !self.columns.features.is_empty() {
            return Err(Error::Config(format!(
                "this model reads the features {} whose future is unknown: it forecasts at most {} step{} (its \
                 horizon), not {steps}",
                self.columns.features.join(", "),
                self.horizon,
                if self.horizon == 1 { "" } else { "s" }
            )));
        }
        let metas: Vec<ForecastMeta> = (0..models.len()).map(|i| self.member(i)).collect();
        let mut out = Vec::with_capacity(table.series.len());
        for k in 0..table.series.len() {
            let s = &table.series[k];
            if s.len() < self.window {
                return Err(Error::data(
                    &table.path,
                    s.lines.last().copied(),
                    Some(table.target_column()),
                    format!("{} has {} rows but the model reads windows of {}", s.name(), s.len(), self.window),
                ));
            }
            let stats = metas.iter().map(|meta| meta.stats_for(table, k)).collect::<Result<Vec<_>>>()?;
            let mut zs = metas.iter().zip(&stats).map(|(meta, st)| meta.z(table, k, st)).collect::<Result<Vec<_>>>()?;
            // a forecast fed back to a log network must stay positive: at least the series' smallest value
            let floor = s.values.iter().copied().filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
            let feats: Vec<&[f64]> = s.features.iter().map(Vec::as_slice).collect();
            let mut values = Vec::with_capacity(steps);
            while values.len() < steps {
                let t = zs[0].len() - 1;
                let each = metas
                    .iter()
                    .zip(models)
                    .zip(zs.iter().zip(&stats))
                    .map(|((meta, model), (z, st))| meta.predict(model, z, &feats, &[t], st))
                    .collect::<Result<Vec<_>>>()?;
                let next = super::ensemble::mean(&each).remove(0);
                for y in next.into_iter().take(steps - values.len()) {
                    for (z, meta) in zs.iter_mut().zip(&metas) {
                        let v = if meta.transform.log && y <= 0.0 { floor } else { y };
                        z.push(meta.transform.forward(v));
                    }
                    values.push(y);
                }
            }
            let mut one = vec![values];
            self.combined(&s.values, &[s.len() - 1], steps, &mut one);
            values = one.remove(0);
            out.push(values);
        }
        Ok(out)
    }
}
