//! Showing an evaluation: the metrics table and the actual-versus-forecast chart.

use super::{Evaluation, ForecastMeta, Part, Scores};
// the chart (only with the `plot` feature)
#[cfg(feature = "plot")]
use {
    super::{SeriesForecasts, Table},
    crate::Result,
    crate::plot::{Band, LinePlot, Series as Line},
    std::path::{Path, PathBuf},
};

impl Evaluation {
    /// The metrics table, one row per forecaster, then a per-step breakdown when H > 1 (here
    /// airline passengers' test split at h = 1):
    ///
    /// ```text
    ///                      RMSE        MAE   sMAPE %     MASE
    /// model              14.454     11.589      2.54    0.395
    /// persistence        53.725     46.364     10.05    1.580
    /// seasonal naive     51.783     49.909     11.59    1.701
    /// MSTL(12)+AutoETS   23.587     18.642      4.01    0.635
    /// Theta              20.523     16.062      3.49    0.547
    /// ```
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
    /// let (evaluation, _) = meta.evaluate(std::slice::from_ref(&model), &table, Part::Validation, None)?;
    /// let text = evaluation.table();
    /// assert!(text.contains("RMSE") && text.contains("persistence") && text.contains("seasonal naive"));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn table(&self) -> String {
        let row = |name: &str, s: &Scores| {
            format!("{name:<16} {:>10} {:>10} {:>9.2} {:>8.3}\n", num(s.rmse), num(s.mae), s.smape, s.mase)
        };
        let mut out = format!("{:<16} {:>10} {:>10} {:>9} {:>8}\n", "", "RMSE", "MAE", "sMAPE %", "MASE");
        out += &row("model", &self.model);
        out += &row("persistence", &self.persistence);
        out += &row(&format!("seasonal naive{}", if self.season > 1 { "" } else { "*" }), &self.seasonal_naive);
        if let (Some(s), Some(name)) = (&self.statistical, &self.statistical_name) {
            out += &row(name, s);
        }
        if let Some(s) = &self.theta {
            out += &row("Theta", s);
        }
        if !self.per_step.is_empty() {
            let ets = self.statistical_name.as_deref().filter(|_| self.statistical.is_some());
            let theta = self.theta.is_some().then_some("Theta");
            out += &format!("\n{:<6} {:>21} {:>21} {:>21}", "step", "model", "persistence", "seasonal naive");
            for n in [ets, theta].into_iter().flatten() {
                out += &format!(" {n:>21}");
            }
            let head = format!("{:>12} {:>8}", "RMSE", "MASE");
            out += &format!("\n{:<6} {head} {head} {head}", "");
            for _ in [ets, theta].into_iter().flatten() {
                out += &format!(" {head}");
            }
            out += "\n";
            for s in &self.per_step {
                let cell = |x: &Scores| format!("{:>12} {:>8.3}", num(x.rmse), x.mase);
                out +=
                    &format!("{:<6} {} {} {}", s.step, cell(&s.model), cell(&s.persistence), cell(&s.seasonal_naive));
                for x in [&s.statistical, &s.theta].into_iter().flatten() {
                    out += &format!(" {}", cell(x));
                }
                out += "\n";
            }
        }
        out
    }

    /// What the table measured, in one paragraph.
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
    /// let (evaluation, _) = meta.evaluate(std::slice::from_ref(&model), &table, Part::Test, None)?;
    /// assert!(evaluation.legend(Part::Test, meta.horizon).contains("test"));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn legend(&self, part: Part, horizon: usize) -> String {
        let part = part.name();
        let none = if self.season > 1 { "" } else { " (*no season: seasonal naive is persistence)" };
        format!(
            "{part} split, rolling origin: {} forecasts of {horizon} step{} on the original scale\n\
             sMAPE = 200/n Σ|y-ŷ|/(|y|+|ŷ|) (0/0 = 0); MASE = MAE / in-sample MAE of seasonal naive \
             on the training split (m = {}){none}{}{}",
            self.origins,
            if horizon == 1 { "" } else { "s" },
            self.season,
            match (&self.statistical_name, self.statistical.is_some()) {
                (Some(n), true) => format!(
                    "\n{n}: augurs, refitted at every origin on the series up to it{}",
                    if self.season > 1 { " (MSTL takes the season out; AutoETS forecasts the rest)" } else { "" }
                ),
                _ => String::new(),
            } + if self.theta.is_some() {
                "\nTheta: the standard Theta method (anofox-forecast; SES with drift, on the seasonally adjusted \
                 series when seasonal), refitted at every origin"
            } else {
                ""
            },
            match &self.coverage {
                Some(c) => format!(
                    "\nprediction intervals (adaptive conformal, from {} validation forecasts per step and the \
                     test forecasts known at each origin): test coverage {:.1}% at 80%, {:.1}% at 95% ({} values)",
                    c.calibration, c.empirical[0], c.empirical[1], c.values
                ),
                None => String::new(),
            }
        )
    }
}

/// Four significant digits at least, no exponent for ordinary magnitudes.
fn num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if a >= 1e6 || (a < 1e-3 && a > 0.0) {
        format!("{v:.3e}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

impl ForecastMeta {
    /// Draws series `fc.series` of `table` over the `part` split (with one window of context
    /// before it) and the `step`-ahead forecasts of the model and both baselines, to
    /// `<stem>.png` and `<stem>.svg`.
    ///
    /// # Errors
    /// [`crate::Error::Plot`] when a file cannot be written.
    #[cfg(feature = "plot")]
    #[doc(hidden)] // for the `rnn` binary
    pub fn plot(&self, table: &Table, fc: &SeriesForecasts, step: usize, stem: &Path) -> Result<(PathBuf, PathBuf)> {
        let s = &table.series[fc.series];
        let sizes = self.split.sizes(s.len());
        let first_target = sizes[0] + sizes[1];
        let start = first_target.saturating_sub(self.window.max(8));
        let x = |i: usize| (i - start) as f64;
        let actual: Vec<(f64, f64)> = (start..s.len()).map(|i| (x(i), s.values[i])).collect();
        let line = |f: &Vec<Vec<f64>>| -> Vec<(f64, f64)> {
            fc.origins.iter().zip(f).map(|(&t, v)| (x(t + step), v[step - 1])).collect()
        };
        let season = if self.season > 1 {
            format!("seasonal naive (m = {})", self.season)
        } else {
            "seasonal naive (= persistence)".into()
        };
        let ahead = if step == 1 { "1-step-ahead".to_string() } else { format!("{step}-steps-ahead") };
        let (file, name) = title_parts(table, s);
        let mut plot = LinePlot::new(
            format!("{file}: {name}, {ahead} forecasts ({})", self.transform),
            if s.dates.is_some() { table.date.clone().unwrap_or_default() } else { "row".to_string() },
            table.target.clone(),
        )
        .with_series([
            Line::solid("actual", actual),
            Line::solid("model", line(&fc.model)),
            Line::dashed("persistence", line(&fc.persistence)),
            Line::dotted(season, line(&fc.seasonal_naive)),
        ])
        .with_bands(fc.half_widths.as_ref().into_iter().flat_map(|w| {
            let band = |level: usize| -> Vec<(f64, f64, f64)> {
                fc.origins
                    .iter()
                    .zip(&fc.model)
                    .zip(w)
                    .map(|((&t, v), w)| {
                        (x(t + step), v[step - 1] - w[step - 1][level], v[step - 1] + w[step - 1][level])
                    })
                    .collect()
            };
            interval_bands("model, ", band(1), band(0))
        }))
        .with_series(fc.statistical.as_ref().map(|f| Line::dashed(super::statistical::name(self.season), line(f))))
        .with_marker(x(first_target), "test split");
        if let Some(dates) = &s.dates {
            plot = plot.with_dates(dates[start..].to_vec());
        }
        plot.save(stem)
    }
}

/// A forecast past the end of one series, as [`ForecastMeta::plot_ahead`] draws it.
#[cfg(feature = "plot")]
#[doc(hidden)] // for the `rnn` binary
pub struct Ahead<'a> {
    /// The forecasts, one per step.
    pub values: &'a [f64],
    /// Per step `[lo80, hi80, lo95, hi95]`, when there are intervals.
    pub bounds: Option<&'a [[f64; 4]]>,
    /// The steps' dates, when the series' dates continue.
    pub dates: Option<&'a [String]>,
    /// Which weights forecast (for the title), e.g. "refitted on all rows".
    pub weights: &'a str,
}

#[cfg(feature = "plot")]
impl ForecastMeta {
    /// Draws the end of series `series` of `table` (the last three seasons, at least 24 rows
    /// and four times the forecast's length, when it has them) and the forecast `ahead` past it
    /// with its 80% and 95% bands, to `<stem>.png` and `<stem>.svg`.
    ///
    /// # Errors
    /// [`crate::Error::Plot`] when a file cannot be written.
    #[doc(hidden)] // for the `rnn` binary
    pub fn plot_ahead(
        &self,
        table: &Table,
        series: usize,
        ahead: &Ahead<'_>,
        stem: &Path,
    ) -> Result<(PathBuf, PathBuf)> {
        let s = &table.series[series];
        let (n, steps) = (s.len(), ahead.values.len());
        let start = n.saturating_sub((3 * self.season).max(24).max(4 * steps));
        let x = |i: usize| (i - start) as f64;
        let actual: Vec<(f64, f64)> = (start..n).map(|i| (x(i), s.values[i])).collect();
        // the forecast line starts at the last value, so that it continues the series
        let last = n.checked_sub(1).map(|i| (x(i), s.values[i]));
        let forecast: Vec<(f64, f64)> =
            last.into_iter().chain(ahead.values.iter().enumerate().map(|(k, &v)| (x(n + k), v))).collect();
        let band = |lo: usize, hi: usize| -> Vec<(f64, f64, f64)> {
            ahead
                .bounds
                .map_or_else(Vec::new, |b| b.iter().enumerate().map(|(k, b)| (x(n + k), b[lo], b[hi])).collect())
        };
        let (file, name) = title_parts(table, s);
        let mut plot = LinePlot::new(
            format!("{file}: {name}, {steps} step{} ahead ({})", if steps == 1 { "" } else { "s" }, ahead.weights),
            if s.dates.is_some() && ahead.dates.is_some() {
                table.date.clone().unwrap_or_default()
            } else {
                "row".to_string()
            },
            table.target.clone(),
        )
        .with_bands(ahead.bounds.into_iter().flat_map(|_| interval_bands("", band(2, 3), band(0, 1))))
        .with_series([Line::solid("actual", actual), Line::solid("forecast", forecast).with_color(1)]);
        if let Some(mark) = last {
            plot = plot.with_marker(mark.0, "forecast");
        }
        if let (Some(dates), Some(next)) = (&s.dates, ahead.dates) {
            plot = plot.with_dates(dates[start..].iter().chain(next).cloned().collect());
        }
        plot.save(stem)
    }
}

/// A chart title's file name and series: `y`, or `y "ID"` in a long file.
#[cfg(feature = "plot")]
fn title_parts(table: &Table, s: &super::Series) -> (String, String) {
    let name = match &s.id {
        Some(id) => format!("{} \"{id}\"", table.target),
        None => table.target.clone(),
    };
    (table.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), name)
}

/// The model's 95% band (`x, lower, upper`) and its 80% one drawn over it, darker where both
/// are, in the model's colour; the legend entries begin with `prefix`.
#[cfg(feature = "plot")]
fn interval_bands(prefix: &str, b95: Vec<(f64, f64, f64)>, b80: Vec<(f64, f64, f64)>) -> [Band; 2] {
    [
        Band::new(format!("{prefix}95% interval"), b95, 1),
        Band::new(format!("{prefix}80% interval"), b80, 1).with_opacity(0.25),
    ]
}
