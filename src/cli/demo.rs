//! `rnn demo`: the forecasting task's defaults (an ensemble of 2-layer RNNs, several seeds per
//! transformation, combined with the statistical baseline) on a bundled real series (yearly
//! sunspot numbers, 1700-2008), scored against the baselines on the test split, with plots; no
//! arguments and no files needed.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use rnn::tasks::forecast::dates;

use super::args::demo::DemoArgs;
use super::args::{Cli, Command};

/// The demo's series, embedded in the binary (`data/sunspots_yearly.csv`: statsmodels'
/// `sunspots` dataset, public domain).
const SUNSPOTS: &str = include_str!("../../data/sunspots_yearly.csv");

/// `rnn demo`: writes the series to DIR, runs the equivalent of `rnn train --task forecast
/// --data DIR/sunspots_yearly.csv --layers 2 --out DIR/model.safetensors` (the forecasting
/// defaults choose the window, season and transformation), prints the test-split table and the
/// next 11 years.
pub fn demo(args: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    let dir = &args.dir;
    if dir.exists() && !dir.is_dir() {
        bail!("{}: exists and is not a folder (--dir names the folder the demo writes into)", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot make the folder", dir.display()))?;
    let data = dir.join("sunspots_yearly.csv");
    rnn::io::write_atomic(&data, SUNSPOTS.as_bytes())?;
    let model = dir.join("model.safetensors");
    let (data_s, model_s) = (data.display().to_string(), model.display().to_string());
    let argv = ["rnn", "train", "--task", "forecast", "--data", &data_s, "--layers", "2", "--out", &model_s];
    eprintln!(
        "rnn demo: forecasting yearly sunspot numbers (1700-2008, public domain) one year ahead with an ensemble of\n\
         2-layer RNNs (several seeds per transformation) combined with MSTL+AutoETS, files in {}/; the same as: {}\n",
        dir.display(),
        argv.join(" ")
    );
    let cli = Cli::try_parse_from(argv.iter().copied().chain(["--quiet"]))?;
    let Command::Train(train) = cli.command else { bail!("rnn demo: internal error: not a train command") };
    super::outputs::check_train(&train)?;
    let outcome = super::forecast::run(&train, true, None)?;
    let r = &outcome.report;
    let mut results = format!(
        "\nmodel: {} ({} epochs, weights of epoch {}); loss plot: {}.png\n",
        model.display(),
        r.history.len(),
        r.final_epoch,
        rnn::train::RunPaths::from_model_path(&model).plot_stem.display()
    );
    let loaded = rnn::model_file::load::<f64>(&model, &Default::default())?;
    let models = outcome.meta.load_networks(&model, &loaded.model)?;
    let next = outcome.meta.forecast(&models, &outcome.table, 11)?.remove(0);
    let years =
        outcome.table.series[0].dates.as_deref().and_then(|d| dates::continue_dates(d, 11, None)).unwrap_or_default();
    let shown: Vec<String> = years.iter().zip(&next).map(|(d, v)| format!("{d} {v:.0}")).collect();
    results.push_str(&format!("next 11 years (recursive, the saved weights): {}\n", shown.join(", ")));
    super::common::print_stdout(&results)?;
    eprintln!(
        "\ndone in {:.1} s. Next:\n  rnn evaluate --model {model_s} --data {data_s}\n  \
         rnn forecast --model {model_s} --data {data_s} --steps 11 --plot {next_s}",
        started.elapsed().as_secs_f64(),
        next_s = dir.join("next").display()
    );
    Ok(())
}
