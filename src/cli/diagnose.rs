//! `rnn diagnose`: how the gradient flows back through time in trained models, measured on the
//! data their task reads: tables (or JSON) on stdout, plots beside the first model.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ndarray::Array2;
use rnn::data::Dataset;
use rnn::diagnose::report::LayerReport;
use rnn::diagnose::report::{Diagnostics, Options};
use rnn::model_file::{self, LoadOptions, LoadedModel};
use rnn::plot::{Heatmap, LinePlot, LineStyle, NonPositive, Series};
use rnn::tasks::charlm::{StreamLayout, read_text};
use rnn::tasks::forecast::{ForecastMeta, Part, table};
use rnn::train::loss::Loss;

use super::args::diagnose::Args;
use super::common::print_stdout;

/// Runs `rnn diagnose`.
pub fn run(args: &Args) -> Result<()> {
    if args.batch == 0 || args.seq_len == 0 {
        bail!("--batch and --seq-len must be at least 1");
    }
    let stem = plot_stem(args)?;
    let mut reports = Vec::new();
    for path in &args.model {
        let loaded = model_file::load::<f64>(path, &LoadOptions::default())?;
        super::common::warn_assumed(path, &loaded, false);
        let work = rnn::nn::memory::Workload {
            batch_size: args.batch,
            seq_len: args.seq_len,
            training: true,
            ..Default::default()
        };
        let estimate = rnn::nn::memory::estimate(&loaded.model.config(), &work, 8);
        super::limits::check(&args.limits, estimate, "--batch or --seq-len")?;
        let (data, loss) = dataset(args, path, &loaded)?;
        let rows: Vec<usize> = (0..data.len().min(args.batch)).collect();
        let batch = data.batch(&rows);
        let options = Options { end_points: args.end_points, jacobian_batch: args.jacobian_batch };
        // the step Jacobians cost one SVD of an S x S matrix per step and sequence: say so when
        // that is long
        let c = loaded.model.rnn.config();
        let width = c.state_size() + if c.cell == rnn::Cell::Lstm { c.hidden_size } else { 0 };
        let svds = args.jacobian_batch.min(rows.len()) * batch.x.shape()[0] * c.num_layers * c.num_directions();
        if width >= 256 && svds > 0 {
            eprintln!(
                "{}: {svds} step Jacobians of {width} x {width} to decompose; this can take minutes (--jacobian-batch 0 skips them)",
                path.display()
            );
        }
        let target = batch.target_view(0..batch.target_steps());
        let d = Diagnostics::compute(&loaded.model, batch.x.view(), target, loss, data.readout(), options)
            .with_context(|| path.display().to_string())?;
        if args.json {
            let mut j = serde_json::to_value(&d)?;
            j["model"] = serde_json::Value::String(path.display().to_string());
            print_stdout(&format!("{j}\n"))?;
        } else {
            print_stdout(&format!("{}\n{}\n", path.display(), d.to_table()))?;
        }
        reports.push((path.clone(), d));
    }
    if let Some(stem) = stem {
        let written = plots(&reports, &stem)?;
        if !args.json {
            let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            eprintln!("plots: {}", names.join(", "));
        }
    }
    Ok(())
}

/// Where the plots go (checked before any work: its folder must exist), or `None`.
fn plot_stem(args: &Args) -> Result<Option<PathBuf>> {
    if args.no_plot {
        return Ok(None);
    }
    let stem = match &args.plot {
        Some(stem) => stem.clone(),
        None => args.model[0].with_extension("diagnose"),
    };
    let plots = [".lag", ".time"].map(|s| super::outputs::plot_pair(&stem, s));
    super::outputs::check(plots.iter().flatten().map(|p| ("--plot", p.as_path())))?;
    Ok(Some(stem))
}

/// The data the model's task reads and the loss it was trained with.
fn dataset(args: &Args, path: &Path, loaded: &LoadedModel<f64>) -> Result<(Dataset<f64>, Loss)> {
    let need = |flag: &str, given: bool, what: &str| -> Result<()> {
        if !given {
            bail!("{}: a {what} model is diagnosed with {flag}", path.display());
        }
        Ok(())
    };
    match rnn::tasks::kind(&loaded.metadata).as_deref() {
        Some("forecast") => {
            need("--data FILE.csv", args.files.data.is_some(), "forecasting")?;
            let data = args.files.data.as_deref().unwrap_or(Path::new(""));
            let meta = ForecastMeta::from_metadata(&loaded.metadata, path)?;
            let options = super::forecast::read_options(&args.csv, Some(&meta.read), Some(meta.season))?;
            let table = table::read_with(data, meta.columns(), &options)?;
            for w in &table.warnings {
                eprintln!("rnn: warning: {w}");
            }
            Ok((meta.dataset::<f64>(&table, Part::Train).with_context(|| data.display().to_string())?, Loss::Mse))
        }
        Some("charlm") => {
            need("--data FILE.txt", args.files.data.is_some(), "character")?;
            let data = args.files.data.as_deref().unwrap_or(Path::new(""));
            let task = super::charlm::task_of(path, &loaded.metadata)?;
            let ids = task.vocab.encode_file(data, &read_text(data)?)?;
            let layout = StreamLayout::new(ids.len(), args.batch, args.seq_len)?;
            let set = layout.dataset::<f64>(&ids, task.vocab.len()).with_context(|| data.display().to_string())?;
            Ok((set, Loss::CrossEntropy))
        }
        Some("classify") => {
            let (Some(inputs), Some(labels)) = (&args.files.inputs, &args.files.labels) else {
                bail!("{}: a classifier is diagnosed with --inputs X.npy --labels Y.npy", path.display());
            };
            let l = super::classify::read_labelled::<f64>(inputs, labels)?;
            let y = l.y.insert_axis(ndarray::Axis(1));
            let set = Dataset::new(l.x, rnn::data::Targets::Classes(y), None)
                .with_context(|| inputs.display().to_string())?;
            Ok((set, Loss::CrossEntropy))
        }
        _ => {
            let (Some(inputs), Some(targets)) = (&args.files.inputs, &args.files.targets) else {
                bail!("{}: a sequence model is diagnosed with --inputs X.npy --targets Y.npy", path.display());
            };
            Ok((super::sequence::read_dataset::<f64>(inputs, targets, None)?, Loss::Mse))
        }
    }
}

/// The gradient's norm against the lag (a colour per model, layer and direction, a line style
/// per model; the cell state dotted), and a heatmap of its norm over time x layer under the whole
/// loss (the models' rows stacked); returns the files written.
fn plots(reports: &[(PathBuf, Diagnostics)], stem: &Path) -> Result<Vec<PathBuf>> {
    let several = reports.len() > 1;
    let model_name = |path: &Path| {
        if several { format!("{}: ", path.file_stem().unwrap_or_default().to_string_lossy()) } else { String::new() }
    };
    let label = |path: &Path, l: &LayerReport, what: &str| {
        let dir = if l.direction == "reverse" { " reverse" } else { "" };
        format!("{}layer {}{dir}{what}", model_name(path), l.layer)
    };
    let points =
        |values: &[f64]| -> Vec<(f64, f64)> { values.iter().enumerate().map(|(k, &v)| (k as f64, v)).collect() };
    let styles = [LineStyle::Solid, LineStyle::Dashed, LineStyle::DashDot];
    let mut lag =
        LinePlot::new("Gradient norm against time lag", "lag k (steps back from the loss)", "‖dL_t/dh_(t-k)‖")
            .with_log_y(true)
            .with_nonpositive(NonPositive::Skip);
    // a colour per model, layer and direction (its cell state dotted in the same colour)
    let mut i = 0;
    for (m, (path, d)) in reports.iter().enumerate() {
        for l in &d.layers {
            let style = styles[m % styles.len()];
            lag = lag.with_series([Series::solid(label(path, l, ""), points(&l.grad_norm_by_lag))
                .with_style(style)
                .with_color(i)]);
            if let Some(c) = &l.cell_grad_norm_by_lag {
                lag = lag.with_series([Series::solid(label(path, l, " (cell state)"), points(c))
                    .with_style(LineStyle::Dotted)
                    .with_color(i)]);
            }
            i += 1;
        }
    }
    // the heatmap: one row per model, layer and direction; a shorter model's missing steps NaN
    let steps = reports.iter().map(|(_, d)| d.seq_len).max().unwrap_or(0);
    let rows: Vec<(String, &[f64])> = reports
        .iter()
        .flat_map(|(path, d)| d.layers.iter().map(move |l| (label(path, l, ""), &l.grad_norm_by_time[..])))
        .collect();
    let values = Array2::from_shape_fn((rows.len(), steps), |(r, t)| rows[r].1.get(t).copied().unwrap_or(f64::NAN));
    let heat = Heatmap::new("Gradient norm over time and layer (whole loss)", values)
        .with_row_labels(rows.iter().map(|(name, _)| name.clone()))
        .with_axis_labels("time step t", "layer")
        .with_value_label("‖dL/dh_t‖");
    let name = |suffix: &str| {
        let mut s = stem.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let (a, b) = lag.save(&name(".lag"))?;
    let (c, e) = heat.save(&name(".time"))?;
    Ok(vec![a, b, c, e])
}
