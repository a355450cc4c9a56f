//! `rnn forecast`: the final refit on all rows, then the forecast past the end of the series as
//! CSV with its intervals.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rnn::model_file::{self, LoadOptions};
use rnn::tasks::forecast::{self, ForecastMeta, Part, Table, dates};

use super::args::forecast::ForecastArgs;
use super::common::print_stdout;
use super::forecast::{read_options, read_table};

/// `rnn forecast`.
pub fn forecast(args: &ForecastArgs) -> Result<()> {
    super::outputs::check(args.output.as_deref().map(|p| ("--output", p)))?;
    if let Some(path) = &args.output {
        super::outputs::check_format("--output", path, &["csv"], "CSV", "")?;
    }
    let loaded = model_file::load::<f64>(&args.model, &LoadOptions::default())?;
    let meta = ForecastMeta::from_metadata(&loaded.metadata, &args.model)?;
    let table = read_table(&args.data, meta.columns(), &read_options(&args.csv, Some(&meta.read), Some(meta.season))?)?;
    // the plots' names depend on the series' ids: checked once the file is read, before any work
    if let Some(stem) = &args.plot {
        let plots = plot_paths(stem, &table);
        let output = args.output.as_deref().map(|p| ("--output", p));
        super::outputs::check(output.into_iter().chain(plots.iter().map(|p| ("--plot", p.as_path()))))?;
    }
    for w in meta.data_warnings(&table, false) {
        eprintln!("rnn: warning: {w}");
    }
    let steps = args.steps.unwrap_or(meta.horizon);
    if steps == 0 || steps > forecast::MAX_FORECAST_STEPS {
        bail!("--steps must be between 1 and {}, got {steps}", forecast::MAX_FORECAST_STEPS);
    }
    let saved = meta.load_networks(&args.model, &loaded.model)?;
    let refitted = if args.no_refit { None } else { refit(&meta, &saved, &table)? };
    let rows: usize = table.series.iter().map(|s| s.len()).sum();
    let trained: usize = meta.series.iter().map(|s| s.split[0]).sum();
    match &refitted {
        Some(_) => eprintln!(
            "rnn forecast: weights: refitted on all {rows} rows of {} (train + validation + test)",
            args.data.display()
        ),
        None => eprintln!(
            "rnn forecast: weights: as saved in {} (trained on the training split, {trained} rows)",
            args.model.display()
        ),
    }
    let models = refitted.as_ref().unwrap_or(&saved);
    let ahead =
        forecast_ahead(&meta, models, &saved, &table, steps).with_context(|| args.model.display().to_string())?;
    if let Some(stem) = &args.plot {
        let weights = if refitted.is_some() { "refitted on all rows" } else { "saved weights" };
        for (k, a) in ahead.iter().enumerate().take(3) {
            let bounds = a.bounds.as_deref();
            let view = forecast::Ahead { values: &a.values, bounds, dates: a.dates.as_deref(), weights };
            let (png, svg) = meta.plot_ahead(&table, k, &view, &plot_stem(stem, &table, k))?;
            eprintln!("forecast plot:   {}, {}", png.display(), svg.display());
        }
    }
    let csv = to_csv(&table, &ahead);
    match &args.output {
        Some(path) => Ok(rnn::io::write_atomic(path, csv.as_bytes())?),
        None => print_stdout(&csv),
    }
}

/// The plot's stem for series `k`: `STEM`, or `STEM.ID` in a long file.
fn plot_stem(stem: &Path, table: &Table, k: usize) -> PathBuf {
    let mut s = stem.as_os_str().to_owned();
    s.push(super::forecast::id_suffix(table, k));
    PathBuf::from(s)
}

/// The paths `--plot` writes for the first three series of `table`.
fn plot_paths(stem: &Path, table: &Table) -> Vec<PathBuf> {
    (0..table.series.len().min(3)).flat_map(|k| super::outputs::plot_pair(&plot_stem(stem, table, k), "")).collect()
}

/// The networks trained again on all the rows of `table` ([`ForecastMeta::refit`]), with
/// progress on stderr; `None` (with a warning) for a model that stores no refit settings.
fn refit(meta: &ForecastMeta, saved: &[rnn::Model<f64>], table: &Table) -> Result<Option<Vec<rnn::Model<f64>>>> {
    if meta.refit.is_none() {
        eprintln!(
            "rnn: warning: the model stores no refit settings (trained by an older version): its saved weights are used"
        );
        return Ok(None);
    }
    let context = "the final refit on all rows (--no-refit forecasts with the saved weights)";
    super::forecast::refit_networks(meta, saved, table, Part::Test, "rnn forecast", "all rows", context).map(Some)
}

/// One series' forecast past its end.
struct SeriesAhead {
    /// The forecasts, one per step.
    values: Vec<f64>,
    /// Per step `[lo80, hi80, lo95, hi95]`, when there are intervals.
    bounds: Option<Vec<[f64; 4]>>,
    /// The steps' dates, when every series' dates continue.
    dates: Option<Vec<String>>,
}

/// Each series' forecast of `steps` past its end: `models` forecast; the intervals' widths
/// are `saved`'s errors on the validation and test splits (the networks trained on the
/// training split alone, the same as `models` without a refit).
fn forecast_ahead(
    meta: &ForecastMeta,
    models: &[rnn::Model<f64>],
    saved: &[rnn::Model<f64>],
    table: &Table,
    steps: usize,
) -> Result<Vec<SeriesAhead>> {
    let values = meta.forecast(models, table, steps)?;
    // intervals need the file's validation split; without one (a short file) the columns stay empty
    let conformal = match meta.series_conformal(saved, table) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("rnn: warning: no prediction intervals ({e})");
            None
        }
    };
    let continued: Vec<Option<Vec<String>>> = table
        .series
        .iter()
        .map(|s| s.dates.as_ref().and_then(|d| dates::continue_dates(d, steps, table.date_format.as_deref())))
        .collect();
    let with_dates = continued.iter().all(Option::is_some);
    Ok(table
        .series
        .iter()
        .zip(values)
        .zip(continued)
        .enumerate()
        .map(|(k, ((s, values), dates))| {
            let bounds = conformal.as_ref().map(|c| {
                let sc = forecast::intervals::scale(&s.values[..meta.split.sizes(s.len())[0]]);
                let widths = |i: usize| (c[k].half_width(i + 1, 0, sc), c[k].half_width(i + 1, 1, sc));
                values
                    .iter()
                    .enumerate()
                    .map(|(i, y)| {
                        let (w80, w95) = widths(i);
                        [y - w80, y + w80, y - w95, y + w95]
                    })
                    .collect()
            });
            SeriesAhead { values, bounds, dates: dates.filter(|_| with_dates) }
        })
        .collect())
}

/// The forecasts as CSV: `[id,]date,column,column_lo80,..` with the dates continued at the
/// series' step, or `[id,]step,column,..` when the dates' step cannot be inferred.
fn to_csv(table: &Table, ahead: &[SeriesAhead]) -> String {
    let with_dates = ahead.iter().all(|a| a.dates.is_some());
    let mut out = String::new();
    if let Some(id) = &table.id {
        out += &format!("{id},");
    }
    let first = if with_dates { table.date.clone().unwrap_or_else(|| "date".into()) } else { "step".into() };
    out += &format!("{first},{0},{0}_lo80,{0}_hi80,{0}_lo95,{0}_hi95\n", table.target);
    for (s, a) in table.series.iter().zip(ahead) {
        for (i, y) in a.values.iter().enumerate() {
            if let Some(id) = &s.id {
                out += &format!("{id},");
            }
            let when = match &a.dates {
                Some(d) => d[i].clone(),
                None => (i + 1).to_string(),
            };
            let bounds = match &a.bounds {
                Some(b) => format!("{},{},{},{}", b[i][0], b[i][1], b[i][2], b[i][3]),
                None => ",,,".to_string(),
            };
            out += &format!("{when},{y},{bounds}\n");
        }
    }
    out
}
