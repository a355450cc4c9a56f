//! `rnn train --task forecast --folds K`: backtesting over K rolling folds, as darts'
//! `historical_forecasts` with retraining. Fold i of K (i = 1..K) is the whole pipeline (the
//! transformations, the ensemble, the combination, all chosen on that fold's own validation
//! split) run on the series cut after its first n − (K − i)·T rows, T the full series' test
//! rows, and scored on that cut series' test split; fold K is the ordinary run on every row.
//! Nothing is written for folds 1..K−1.

use anyhow::{Context, Result, bail};
use rnn::Float;
use rnn::tasks::forecast::{Evaluation, Part, Plan, Scores, Settings, Table};
use rnn::train::TrainConfig;

use super::args::train::Args as Train;

/// The series of `table` without their last `cut` rows each (`cut` = the rows dropped from a
/// series of that length).
fn truncated(table: &Table, cut: impl Fn(usize) -> usize) -> Table {
    let mut t = table.clone();
    for s in &mut t.series {
        let keep = s.len().saturating_sub(cut(s.len()));
        s.values.truncate(keep);
        s.lines.truncate(keep);
        if let Some(d) = &mut s.dates {
            d.truncate(keep);
        }
        s.features.iter_mut().for_each(|f| f.truncate(keep));
    }
    t
}

/// Scores of folds 1..K−1 (K = `folds`), trained quietly in memory with the settings of the
/// full run.
pub fn earlier_folds<F: Float>(
    args: &Train,
    config: &TrainConfig,
    table: &Table,
    settings: &Settings,
    folds: usize,
) -> Result<Vec<Evaluation>> {
    let mut out = Vec::new();
    for i in 1..folds {
        let back = folds - i;
        let cut = truncated(table, |n| back * settings.split.sizes(n)[2]);
        eprintln!("backtest: fold {i} of {folds} (the series without its last {back} test splits)");
        let ev = fold::<F>(args, config, &cut, settings)
            .with_context(|| format!("backtest fold {i} of {folds} (the series cut {back} test splits earlier)"))?;
        out.push(ev);
    }
    Ok(out)
}

fn fold<F: Float>(args: &Train, config: &TrainConfig, table: &Table, settings: &Settings) -> Result<Evaluation> {
    let plan = Plan::new(table, settings)?;
    let (mut meta, models) = super::forecast::choose::<F>(args, config, table, &plan, &|_| {})?;
    if !args.forecast.no_combine
        && let Some(c) = meta.choose_combination(&models, table)?
    {
        meta.set_weights(&c.weights);
    }
    let (mut ev, mut forecasts) = meta.evaluate(&models, table, Part::Test, None)?;
    meta.add_statistical(table, &mut ev, &mut forecasts);
    Ok(ev)
}

/// The table of every fold's test RMSE and MASE, model and baselines, and their means.
pub fn table(folds: &[Evaluation]) -> Result<String> {
    if folds.is_empty() {
        bail!("no fold to report");
    }
    let cell = |s: Option<&Scores>| match s {
        Some(s) => format!("{:>10.4} {:>6.3}", s.rmse, s.mase),
        None => format!("{:>10} {:>6}", "-", "-"),
    };
    // the season is detected on each fold's own training split: name the class, not m
    let seasonal = folds.iter().any(|f| f.statistical_name.as_deref().is_some_and(|n| n.starts_with("MSTL")));
    let stat_name = if seasonal { "MSTL+AutoETS" } else { "AutoETS" };
    let mut out = format!(
        "backtest: {} rolling folds, each trained anew and scored on its own test split (RMSE, MASE)\n\
         {:<6} {:>7} {:>17} {:>17} {:>17} {:>17} {:>17}\n",
        folds.len(),
        "fold",
        "origins",
        "model",
        "persistence",
        "seasonal naive",
        stat_name,
        "Theta"
    );
    let rows = |f: &Evaluation| [Some(f.model), Some(f.persistence), Some(f.seasonal_naive), f.statistical, f.theta];
    for (i, f) in folds.iter().enumerate() {
        let cells: Vec<String> = rows(f).iter().map(|s| cell(s.as_ref())).collect();
        out += &format!("{:<6} {:>7} {}\n", i + 1, f.origins, cells.join(" "));
    }
    let mean = |j: usize| -> Option<Scores> {
        let all: Option<Vec<Scores>> = folds.iter().map(|f| rows(f)[j]).collect();
        let all = all?;
        let n = all.len() as f64;
        let avg = |g: fn(&Scores) -> f64| all.iter().map(g).sum::<f64>() / n;
        Some(Scores { rmse: avg(|s| s.rmse), mae: avg(|s| s.mae), smape: avg(|s| s.smape), mase: avg(|s| s.mase) })
    };
    let cells: Vec<String> = (0..5).map(|j| cell(mean(j).as_ref())).collect();
    out += &format!("{:<6} {:>7} {}\n", "mean", "", cells.join(" "));
    Ok(out)
}
