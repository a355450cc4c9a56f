//! `--task forecast`, `rnn evaluate` on a forecasting model and `rnn forecast`: thin over
//! [`rnn::tasks::forecast`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rnn::Float;
use rnn::model_file::{self, LoadOptions, LoadedModel};
use rnn::tasks::forecast::{
    self, Evaluation, ForecastMeta, Part, Plan, ReadOptions, Settings, Split, Table, Transformation, table,
};
use rnn::train::{Silent, TensorBoard, TrainConfig, TrainReport};

use super::args::Dtype;
use super::args::evaluate::Args as EvalArgs;
use super::args::forecast::CsvArgs;
use super::args::train::Args as Train;
use super::common::print_stdout;
use super::fit::{fit, trainer, trainer_seeded};
use super::limits;

/// The reading options of `--delimiter`, `--date-format`, `--fill` and `--decimal`, else those `stored` in
/// the model; `season` is the seasonal fill's.
pub fn read_options(csv: &CsvArgs, stored: Option<&ReadOptions>, season: Option<usize>) -> Result<ReadOptions> {
    let mut options = stored.cloned().unwrap_or_default();
    if let Some(d) = &csv.delimiter {
        options.delimiter = Some(match d.as_str() {
            "tab" | "\\t" | "\t" => b'\t',
            d if d.len() == 1 && d.is_ascii() && !d.starts_with(['"', '\n', '\r']) => d.as_bytes()[0],
            _ => bail!("--delimiter: expected one character such as , ; | or the word tab, got `{d}`"),
        });
    }
    if let Some(f) = &csv.date_format {
        options.date_format = Some(f.clone());
    }
    if let Some(fill) = &csv.fill {
        options.fill = fill.parse::<forecast::Fill>().context("--fill")?;
    }
    if let Some(mark) = &csv.decimal {
        options.decimal = Some(mark.parse::<forecast::read::Decimal>().context("--decimal")?);
    }
    options.season = season.filter(|&m| m > 1);
    Ok(options)
}

/// Reads the series and prints what the reader warns of.
pub fn read_table(path: &Path, columns: &forecast::Columns, options: &ReadOptions) -> Result<Table> {
    let table = table::read_with(path, columns, options)?;
    for w in &table.warnings {
        eprintln!("rnn: warning: {w}");
    }
    Ok(table)
}

/// `rnn train --task forecast`.
pub fn train(args: &Train, tensorboard: Option<TensorBoard>) -> Result<()> {
    run(args, !args.output.quiet, tensorboard).map(|_| ())
}

/// What a forecasting run made.
pub struct Outcome {
    /// The metadata of the model written.
    pub meta: ForecastMeta,
    /// The series read.
    pub table: Table,
    /// How training went.
    pub report: TrainReport,
}

/// Trains, evaluates on the test split and plots; `verbose` prints the choices and the table
/// (whatever `--quiet` says of the epochs). `tensorboard` logs the final model's training (not
/// the candidates trained to choose the transformation).
pub fn run(args: &Train, verbose: bool, tensorboard: Option<TensorBoard>) -> Result<Outcome> {
    match args.model.dtype {
        Dtype::F32 => run_as::<f32>(args, verbose, tensorboard),
        Dtype::F64 => run_as::<f64>(args, verbose, tensorboard),
    }
}

fn run_as<F: Float>(args: &Train, verbose: bool, tensorboard: Option<TensorBoard>) -> Result<Outcome> {
    let Some(data) = &args.data.data else {
        bail!("--task forecast needs --data FILE.csv (and --column NAME unless the file has one value column)")
    };
    let f = &args.forecast;
    let say = |s: String| {
        if verbose {
            eprintln!("{s}");
        }
    };
    let config = args.training.config(None)?;
    let mut backtest = Vec::new();
    let (table, meta, mut models) = match &args.output.resume {
        Some(_) if f.folds > 1 => bail!("--folds backtests a new run; it cannot resume a checkpoint"),
        Some(ckpt) => {
            let loaded = model_file::load::<f64>(ckpt, &LoadOptions::default())?;
            let meta = ForecastMeta { ensemble: Vec::new(), ..ForecastMeta::from_metadata(&loaded.metadata, ckpt)? };
            let options = read_options(&f.csv, Some(&meta.read), Some(meta.season))?;
            (read_table(data, meta.columns(), &options)?, meta, Vec::new())
        }
        None => {
            let columns = forecast::Columns {
                target: f.column.clone(),
                features: f.features.clone(),
                date: f.date_column.clone(),
                id: f.id_column.clone(),
            };
            let options = read_options(&f.csv, None, f.season)?;
            let table = read_table(data, &columns, &options)?;
            let transform = match f.transform.as_str() {
                "auto" => None,
                t => Some(t.parse::<Transformation>().context("--transform")?),
            };
            let settings = Settings {
                window: f.window,
                horizon: f.horizon,
                season: f.season,
                transform,
                split: f.split.parse::<Split>().context("--split")?,
            };
            let plan = Plan::new(&table, &settings)?;
            if let Some(&first) = plan.candidates.first() {
                check_memory::<F>(args, &config, &table, &plan.meta(&table, first)?)?;
            }
            say(describe_plan(&table, &plan));
            if f.folds > 1 {
                backtest = super::backtest::earlier_folds::<F>(args, &config, &table, &settings, f.folds as usize)?;
            }
            let (mut meta, models) = choose::<F>(args, &config, &table, &plan, &say)?;
            meta.read = ReadOptions { delimiter: None, season: None, ..options };
            (table, meta, models)
        }
    };
    check_memory::<F>(args, &config, &table, &meta)?;
    let train_set = meta.dataset::<F>(&table, Part::Train)?;
    let val_set = meta.dataset::<F>(&table, Part::Validation)?;
    // the files written while training (checkpoints) hold the first network alone
    let single = ForecastMeta { ensemble: Vec::new(), refit: meta.refit.clone().map(|r| r.first()), ..meta.clone() };
    let mut trainer = trainer::<F>(args, config.clone(), meta.input_size(), meta.horizon, single.to_metadata())?;
    let report = fit(&mut trainer, &train_set, Some(&val_set), args, tensorboard)?;
    let mut meta = meta;
    // network 0 as written (also after --resume): its seed and the epoch kept
    let mut refit = meta
        .refit
        .take()
        .unwrap_or_else(|| refit_settings(args, &config, vec![0; meta.networks()], vec![0; meta.networks()]));
    if let (Some(s), Some(e)) = (refit.seeds.first_mut(), refit.epochs.first_mut()) {
        (*s, *e) = (args.training.seed, report.final_epoch);
    }
    // a resumed checkpoint is one network, whatever its run had
    if meta.ensemble.is_empty() {
        refit = refit.first();
    }
    meta.refit = Some(refit);
    let loaded = model_file::load::<F>(&args.output.out, &LoadOptions::default())?;
    match models.first_mut() {
        Some(first) => *first = loaded.model,
        None => models.push(loaded.model),
    }
    // the ensemble's networks and the refit settings beside network 0
    save(&args.output.out, &models, &meta, &loaded.metadata)?;
    if models.len() > 1 {
        say(format!(
            "ensemble: the mean of {} networks ({}), in {}",
            models.len(),
            ensemble_summary(&meta),
            args.output.out.display()
        ));
    }
    if !f.no_combine {
        combine::<F>(&args.output.out, &models, &mut meta, &table, &say)?;
    }
    let loaded = model_file::load::<f64>(&args.output.out, &LoadOptions::default())?;
    let models = meta.load_networks(&args.output.out, &loaded.model)?;
    let (mut test, mut forecasts) = meta.evaluate(&models, &table, Part::Test, None)?;
    meta.add_statistical(&table, &mut test, &mut forecasts);
    if let Err(e) = meta.add_intervals(&models, &table, &mut test, &mut forecasts) {
        say(format!("no prediction intervals: {e}"));
    }
    let stem = args.output.out.with_extension("");
    let plots = plots(&meta, &table, &forecasts, &stem)?;
    if verbose {
        // the results on stdout (the choices above were progress, on stderr)
        let mut text = format!("\n{}\n{}\n", test.legend(Part::Test, meta.horizon), test.table());
        for (png, svg) in &plots {
            text.push_str(&format!("forecast plot:   {}, {}\n", png.display(), svg.display()));
        }
        if !backtest.is_empty() {
            backtest.push(test.clone());
            text.push_str(&format!("\n{}", super::backtest::table(&backtest)?));
        }
        super::common::print_result(&text, args.output.json)?;
    }
    Ok(Outcome { meta, table, report })
}

/// Writes the forecaster: network 0 as the model, the others under [`forecast::ensemble::PREFIX`],
/// with `metadata` (the file's) and `meta`.
fn save<F: Float>(
    path: &Path,
    models: &[rnn::Model<F>],
    meta: &ForecastMeta,
    metadata: &std::collections::HashMap<String, String>,
) -> Result<()> {
    let bytes = meta.to_bytes(models, metadata)?;
    Ok(rnn::io::write_atomic(path, &bytes)?)
}

/// The transformations of an ensemble and their networks, e.g. `residual ×5, zscore ×5`.
fn ensemble_summary(meta: &ForecastMeta) -> String {
    let mut groups: Vec<(Transformation, usize)> = Vec::new();
    for t in std::iter::once(meta.transform).chain(meta.ensemble.iter().map(|m| m.transform)) {
        match groups.iter_mut().find(|g| g.0 == t) {
            Some(g) => g.1 += 1,
            None => groups.push((t, 1)),
        }
    }
    groups.iter().map(|(t, n)| format!("{t} ×{n}")).collect::<Vec<_>>().join(", ")
}

/// Chooses the combination with the statistical baseline on the validation split and, when it
/// is not the networks alone, stores its weight in `meta` and in the model file's metadata.
fn combine<F: Float>(
    path: &Path,
    models: &[rnn::Model<F>],
    meta: &mut ForecastMeta,
    table: &Table,
    say: &dyn Fn(String),
) -> Result<()> {
    let Some(c) = meta.choose_combination(models, table)? else {
        say("no combination: the statistical baseline could not be fitted on the validation origins".into());
        return Ok(());
    };
    let names = member_names(meta.season);
    let scores: Vec<String> = (0..4)
        .filter_map(|i| {
            c.scores[i].map(|e| {
                format!("{} {e:.3}{}", names[i], if c.dropped == Some(i) { " (dropped: the worst)" } else { "" })
            })
        })
        .collect();
    say(format!(
        "combination: {} (validation RMSSE: {}; combined {:.3})",
        weights_text(meta.season, &c.weights),
        scores.join(", "),
        c.combined
    ));
    meta.set_weights(&c.weights);
    if meta.combine.is_some() {
        let loaded = model_file::load::<F>(path, &LoadOptions::default())?;
        save(path, models, meta, &loaded.metadata)?;
    }
    Ok(())
}

/// The combination's members as a report names them: networks, MSTL(12)+AutoETS, the same on
/// ln y, Holt-Winters(12).
pub fn member_names(season: usize) -> [String; 4] {
    let baseline = forecast::statistical::name(season);
    ["networks".into(), baseline.clone(), format!("{baseline} on ln y"), format!("Holt-Winters({season})")]
}

/// Refuses a model and windows that would not fit `--max-memory` (before any window is made).
fn check_memory<F: Float>(args: &Train, config: &TrainConfig, table: &Table, meta: &ForecastMeta) -> Result<()> {
    // the training and validation windows, at most a window per row each
    let data_bytes = meta.dataset_bytes(table, size_of::<F>())?.saturating_mul(2);
    let rows = table.series.iter().map(|s| s.len()).sum();
    let model = args.model.config(meta.input_size(), meta.horizon);
    limits::check_training::<F>(&args.limits, &model, config, meta.window, rows, data_bytes)
}

/// The table, season, window and the transformations to try, in a few lines.
fn describe_plan(table: &Table, plan: &Plan) -> String {
    let s = &table.series;
    let rows: usize = s.iter().map(|s| s.len()).sum();
    let sizes: Vec<[usize; 3]> = s.iter().map(|x| plan.split.sizes(x.len())).collect();
    let part = |i: usize| sizes.iter().map(|z| z[i]).sum::<usize>();
    let series = if s.len() > 1 { format!("{} series ({} rows)", s.len(), rows) } else { format!("{rows} rows") };
    let season = match (plan.season, plan.season_detected) {
        (1, true) => "none detected (no clear peak in the autocorrelation of the training split's differences)".into(),
        (m, true) => format!("{m} (detected: autocorrelation peak of the training split's differences)"),
        (m, false) => format!("{m} (given)"),
    };
    format!(
        "{}: column \"{}\", {series}: {} train / {} validation / {} test (split {} by time)\n\
         season {season}; window {}, horizon {}",
        table.path.display(),
        table.target,
        part(0),
        part(1),
        part(2),
        plan.split,
        plan.window,
        plan.horizon
    )
}

/// The metadata and networks of the forecaster: `--ensemble` seeds of every candidate
/// transformation trained quietly in memory, the k best transformations' networks kept (k and
/// the ranking by validation MASE).
pub fn choose<F: Float>(
    args: &Train,
    config: &TrainConfig,
    table: &Table,
    plan: &Plan,
    say: &dyn Fn(String),
) -> Result<(ForecastMeta, Vec<rnn::Model<F>>)> {
    let n = args.forecast.ensemble;
    let seeds: Vec<u64> = (0..n).map(|i| args.training.seed.wrapping_add(i)).collect();
    let networks = if n == 1 { String::new() } else { format!(", {n} seeds each") };
    if plan.candidates.len() == 1 {
        let t = plan.candidates[0];
        say(format!("transformation: {t} = {} (asked for){networks}", t.describe(plan.season)));
    } else {
        say(format!(
            "choosing the transformations on the validation split (networks per candidate{networks}, {} epochs at most):",
            config.epochs
        ));
    }
    // each network trained in memory: nothing to write or clean up
    let mut done = 0;
    // (transformation, seed, the epoch kept) of every network trained
    let mut epochs: Vec<(Transformation, u64, usize)> = Vec::new();
    let selected = forecast::select::<F>(plan, table, &seeds, |meta, seed, train, val| {
        done += 1;
        let metadata = meta.to_metadata();
        let mut trainer = trainer_seeded::<F>(args, config.clone(), meta.input_size(), meta.horizon, metadata, seed)
            .map_err(|e| rnn::Error::Training(format!("{e:#}")))?;
        let report = trainer.fit_in_memory(train, Some(val), &mut Silent)?;
        if report.interrupted {
            return Err(rnn::Error::Training("interrupted".into()));
        }
        epochs.push((meta.transform, seed, report.final_epoch));
        Ok(trainer.into_final_model())
    });
    let (meta, models) = match selected {
        Err(_) if super::interrupt::requested() => {
            eprintln!(
                "rnn: training interrupted while choosing the transformation (network {done} of {}): the networks \
                 are not kept, nothing to resume; run again, or name one with --transform and --ensemble 1",
                plan.candidates.len() * seeds.len()
            );
            return Err(super::interrupt::Interrupted.into());
        }
        other => other?,
    };
    let kept: Vec<Transformation> =
        std::iter::once(meta.transform).chain(meta.ensemble.iter().map(|m| m.transform)).collect();
    for c in &meta.selection {
        say(format!(
            "  {:<14} validation RMSE {:>10}  MASE {:.3}  (persistence: RMSE {}, MASE {:.3}){}",
            c.transform.to_string(),
            format!("{:.4}", c.validation.rmse),
            c.validation.mase,
            format_args!("{:.4}", c.persistence.rmse),
            c.persistence.mase,
            if kept.contains(&c.transform) { "  <- kept" } else { "" }
        ));
    }
    say(format!("transformation: {} = {}", meta.transform, meta.transform.describe(meta.season)));
    let mut meta = meta;
    let nets = std::iter::once((meta.transform, args.training.seed))
        .chain(meta.ensemble.iter().map(|m| (m.transform, m.seed)))
        .collect::<Vec<_>>();
    let kept = nets
        .iter()
        .map(|&(t, s)| epochs.iter().find(|e| e.0 == t && e.1 == s).map_or(config.epochs, |e| e.2))
        .collect();
    meta.refit = Some(refit_settings(args, config, nets.iter().map(|n| n.1).collect(), kept));
    Ok((meta, models))
}

/// The settings of the final refit ([`forecast::Refit`]): the run's, and per network its seed
/// and the epoch kept.
fn refit_settings(args: &Train, config: &TrainConfig, seeds: Vec<u64>, epochs: Vec<usize>) -> forecast::Refit {
    let r = &args.model.recurrence;
    forecast::Refit {
        config: config.clone(),
        init: args.model.init.into(),
        forget_bias: r.forget_bias,
        chrono: r.chrono,
        seeds,
        epochs,
    }
}

/// `.ID` for series `series` of a long file, its id's characters other than letters, digits and
/// `-` written `_` (a file name part); empty for a file of one series.
pub fn id_suffix(table: &Table, series: usize) -> String {
    table.series[series].id.as_ref().map_or_else(String::new, |id| {
        format!(".{}", id.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '_' }).collect::<String>())
    })
}

/// The stems of the test-split plots of series `series`: `STEM.forecast` (1 step ahead) and,
/// when H > 1, `STEM.forecast.stepH`, with `.ID` after `forecast` in the long format.
fn plot_stems(meta: &ForecastMeta, table: &Table, series: usize, stem: &Path) -> Vec<(usize, PathBuf)> {
    let id = id_suffix(table, series);
    let steps = if meta.horizon > 1 { vec![1, meta.horizon] } else { vec![1] };
    steps
        .into_iter()
        .map(|step| {
            let suffix = if step == 1 { String::new() } else { format!(".step{step}") };
            (step, PathBuf::from(format!("{}.forecast{id}{suffix}", stem.display())))
        })
        .collect()
}

/// The files [`plots`] writes (for the first three series with test origins, at most).
fn plot_paths(meta: &ForecastMeta, table: &Table, stem: &Path) -> Vec<PathBuf> {
    (0..table.series.len().min(3))
        .flat_map(|k| plot_stems(meta, table, k, stem))
        .flat_map(|(_, s)| super::outputs::plot_pair(&s, ""))
        .collect()
}

/// `STEM.forecast.png/.svg` (1 step ahead) and, when H > 1, `STEM.forecast.stepH.png/.svg`;
/// for the long format, the first three series, `STEM.forecast.ID...`.
fn plots(
    meta: &ForecastMeta,
    table: &Table,
    forecasts: &[forecast::SeriesForecasts],
    stem: &Path,
) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut out = Vec::new();
    for fc in forecasts.iter().take(3) {
        for (step, path) in plot_stems(meta, table, fc.series, stem) {
            out.push(meta.plot(table, fc, step, &path)?);
        }
    }
    Ok(out)
}

/// `rnn evaluate` on a forecast model.
pub fn evaluate(args: &EvalArgs, loaded: &LoadedModel<f64>) -> Result<()> {
    let meta = ForecastMeta::from_metadata(&loaded.metadata, &args.model)?;
    let Some(data) = &args.files.data else {
        bail!("{}: a forecasting model is evaluated with --data FILE.csv", args.model.display());
    };
    let table =
        read_table(data, meta.columns(), &read_options(&args.forecast.csv, Some(&meta.read), Some(meta.season))?)?;
    if let Some(stem) = &args.forecast.plot {
        let paths = plot_paths(&meta, &table, stem);
        super::outputs::check(paths.iter().map(|p| ("--plot", p.as_path())))?;
    }
    for w in meta.data_warnings(&table, true) {
        eprintln!("rnn: warning: {w}");
    }
    let saved = meta.load_networks(&args.model, &loaded.model)?;
    let refitted = if args.forecast.refit { Some(refit_before_test(&meta, &saved, &table)?) } else { None };
    let models = refitted.as_ref().unwrap_or(&saved);
    let (mut ev, mut forecasts) = meta.evaluate(models, &table, Part::Test, args.forecast.season)?;
    ev.refitted = refitted.is_some();
    meta.add_statistical(&table, &mut ev, &mut forecasts);
    // the widths come from the saved networks' validation errors: the refitted ones saw those rows
    if let Err(e) = meta.add_intervals(&saved, &table, &mut ev, &mut forecasts) {
        eprintln!("rnn: warning: no prediction intervals ({e})");
    }
    if let Some(stem) = &args.forecast.plot {
        for (png, svg) in plots(&meta, &table, &forecasts, stem)? {
            eprintln!("forecast plot:   {}, {}", png.display(), svg.display());
        }
    }
    if args.json {
        print_stdout(&format!("{}\n", json(&ev)))
    } else {
        let legend = ev.legend(Part::Test, meta.horizon);
        let weights = if ev.refitted { "; networks refitted on training + validation" } else { "" };
        print_stdout(&format!("{legend}\n{}{weights}\n{}", model_line(&meta, models.len()), ev.table()))
    }
}

/// The networks trained again on the training + validation rows of `table`
/// ([`ForecastMeta::refit_through`]), with progress on stderr.
fn refit_before_test(meta: &ForecastMeta, saved: &[rnn::Model<f64>], table: &Table) -> Result<Vec<rnn::Model<f64>>> {
    if meta.refit.is_none() {
        bail!("the model stores no refit settings (trained by an older version): evaluate it without --refit");
    }
    let rows: usize = table.series.iter().map(|s| meta.split.sizes(s.len())[..2].iter().sum::<usize>()).sum();
    let rows = format!("the {rows} training + validation rows");
    let context = "the refit on training + validation";
    refit_networks(meta, saved, table, Part::Validation, "rnn evaluate", &rows, context)
}

/// [`ForecastMeta::refit_through`] `part`, each network announced on stderr as
/// `{who}: refitting network k of n on {rows} (e epochs)`; an interrupt ends it as
/// [`super::interrupt::Interrupted`], any other error gets `context`. The model must store
/// refit settings (the callers check).
pub fn refit_networks(
    meta: &ForecastMeta,
    saved: &[rnn::Model<f64>],
    table: &Table,
    part: Part,
    who: &str,
    rows: &str,
    context: &'static str,
) -> Result<Vec<rnn::Model<f64>>> {
    let epochs = meta.refit.as_ref().map(|r| r.epochs.clone()).unwrap_or_default();
    let n = saved.len();
    let mut say = |k: usize| {
        let e = epochs.get(k).copied().unwrap_or(0).max(1);
        let s = if e == 1 { "" } else { "s" };
        eprintln!("{who}: refitting network {} of {n} on {rows} ({e} epoch{s})", k + 1)
    };
    match meta.refit_through(saved, table, part, Some(super::interrupt::flag()), &mut say) {
        Err(_) if super::interrupt::requested() => Err(super::interrupt::Interrupted.into()),
        other => Ok(other.context(context)?),
    }
}

/// What the report's "model" row is: `model: the mean of 5 networks, combined: networks 0.33,
/// MSTL(12)+AutoETS on ln y 0.33, Holt-Winters(12) 0.33 (chosen on the validation split)`.
fn model_line(meta: &ForecastMeta, networks: usize) -> String {
    let nets = if networks == 1 { "one network".to_string() } else { format!("the mean of {networks} networks") };
    let weights = meta.weights();
    if weights[0] >= 1.0 {
        return format!("model: {nets} alone (no combination)");
    }
    format!("model: {nets}, combined: {} (chosen on the validation split)", weights_text(meta.season, &weights))
}

/// The members with a weight, and their weights: `networks 0.33, Holt-Winters(12) 0.33, ...`.
fn weights_text(season: usize, weights: &[f64; 4]) -> String {
    let names = member_names(season);
    let parts: Vec<String> =
        (0..4).filter(|&i| weights[i] > 1e-9).map(|i| format!("{} {:.2}", names[i], weights[i])).collect();
    parts.join(", ")
}

/// `{"model":{..},"persistence":{..},"seasonal_naive":{..},"season":m,"origins":n[,"per_step":[..]]}`.
fn json(ev: &Evaluation) -> String {
    serde_json::to_string(ev).unwrap_or_default()
}
