//! `rnn experiment NAME`: every listed model trained under the same budget of optimizer steps on
//! a long-memory task; a table (or JSON lines) on stdout, progress on stderr, and two plots:
//! the learning curves and the gradient's norm against the lag.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rnn::plot::{LinePlot, LineStyle, NonPositive, Series};
use rnn::tasks::experiment::{
    self, CurvePoint, Experiment, ExperimentResult, ModelResult, ModelSpec, Options, Reporter, Task,
};

use super::args::experiment::{Args, Name, TaskName};
use super::common::{print_stdout, thousands};

/// Runs `rnn experiment`.
pub fn run(args: &Args) -> Result<()> {
    let options = options(args)?;
    check_memory(args, &options)?;
    let stem = plot_stem(args)?;
    let steps = options.steps();
    let mut progress = Progress::new(args.json);
    let result = experiment::run(&options, &mut progress);
    progress.finish();
    let result = result?;
    if !args.json {
        eprintln!("{}", summary(&result, steps, &options));
        print_stdout(&table(&result))?;
    }
    if let Some(stem) = stem {
        let written = plots(&result, &stem)?;
        let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        eprintln!("plots: {}", names.join(", "));
    }
    Ok(())
}

/// Refuses sizes whose largest model (an LSTM of --layers layers, 10 outputs) would not fit
/// `--max-memory` when trained on a batch of the task's sequences.
fn check_memory(args: &Args, options: &Options) -> Result<()> {
    let length = options.length.or(options.experiment.task().default_length()).unwrap_or(64);
    let rnn = rnn::RnnConfig::new(2, args.hidden).with_cell(rnn::Cell::Lstm).with_num_layers(args.layers.unwrap_or(1));
    let model = rnn::ModelConfig { rnn, output_size: Some(10) };
    let work = rnn::nn::memory::Workload {
        batch_size: args.batch_size,
        seq_len: length,
        optimizer_slots: 2,
        training: true,
        data_bytes: 0,
    };
    let estimate = rnn::nn::memory::estimate(&model, &work, 4);
    super::limits::check(&args.limits, estimate, "--hidden, --layers, --length or --batch-size")
}

/// The library's options from the flags, every misuse named by its flag.
fn options(args: &Args) -> Result<Options> {
    let task = |t: TaskName| match t {
        TaskName::Adding => Task::Adding,
        TaskName::Copy => Task::Copy,
        TaskName::PixelDigits => Task::PixelDigits,
    };
    let experiment = match args.name {
        Name::Adding => Experiment::Task(Task::Adding),
        Name::Copy => Experiment::Task(Task::Copy),
        Name::PixelDigits => Experiment::Task(Task::PixelDigits),
        Name::Depth => Experiment::Depth(task(args.task.unwrap_or(TaskName::Adding))),
    };
    if args.task.is_some() && args.name != Name::Depth {
        bail!("--task is for the depth experiment (the others are their own task)");
    }
    let on = experiment.task();
    if args.permuted && on != Task::PixelDigits {
        bail!("--permuted is for the pixel digits, not the {on} task");
    }
    if args.length.is_some() && on == Task::PixelDigits {
        bail!("--length: the pixel digits have a fixed length of 64 steps");
    }
    let models = match &args.cells {
        Some(list) => ModelSpec::parse_list(list).context("--cells")?,
        None => Vec::new(),
    };
    let options = Options {
        experiment,
        length: args.length,
        permuted: args.permuted,
        models,
        layers: args.layers,
        steps: args.steps,
        seed: args.seed,
        hidden: args.hidden,
        batch_size: args.batch_size,
        lr: args.lr,
        ..Options::default()
    };
    for (flag, v) in [
        ("--length", args.length.unwrap_or(2)),
        ("--steps", args.steps.unwrap_or(1)),
        ("--layers", args.layers.unwrap_or(1)),
        ("--hidden", args.hidden),
        ("--batch-size", args.batch_size),
    ] {
        if v == 0 || (flag == "--length" && on == Task::Adding && v < 2) {
            bail!("{flag} must be at least {}, got {v}", if flag == "--length" && on == Task::Adding { 2 } else { 1 });
        }
    }
    if let Some(lr) = args.lr
        && !(lr.is_finite() && lr > 0.0)
    {
        bail!("--lr must be positive, got {lr}");
    }
    options.validate()?;
    Ok(options)
}

/// Where the plots go (checked before any training: its folder must exist), or `None`.
fn plot_stem(args: &Args) -> Result<Option<PathBuf>> {
    if args.no_plot {
        return Ok(None);
    }
    let name = match args.name {
        Name::Adding => "adding",
        Name::Copy => "copy",
        Name::PixelDigits => "pixel-digits",
        Name::Depth => "depth",
    };
    let stem = args.plot.clone().unwrap_or_else(|| PathBuf::from(format!("experiment-{name}")));
    let plots = [".curves", ".lag"].map(|s| super::outputs::plot_pair(&stem, s));
    super::outputs::check(plots.iter().flatten().map(|p| ("--plot", p.as_path())))?;
    Ok(Some(stem))
}

/// The line above the table.
fn summary(r: &ExperimentResult, steps: usize, o: &Options) -> String {
    format!(
        "{}: {} optimizer steps of {} sequences per model, hidden {}, seed {}; baseline ({}): {} {:.4}",
        r.task,
        thousands(steps),
        o.batch_size,
        o.hidden,
        o.seed,
        r.baseline_name,
        r.metric,
        r.baseline
    )
}

/// One row per model: layers, parameters, steps, wall time, the test metric and its ratio to
/// the baseline.
fn table(r: &ExperimentResult) -> String {
    let width = r.models.iter().map(|m| m.model.len()).max().unwrap_or(5).max(5);
    let classify = r.models.iter().any(|m| m.score.accuracy().is_some());
    let metric = if classify { "test loss" } else { "test MSE" };
    let mut out = format!(
        "{:<width$} {:>6} {:>10} {:>6} {:>9} {:>10} {:>9}{}\n",
        "model",
        "layers",
        "params",
        "steps",
        "time (s)",
        metric,
        "/baseline",
        if classify { "  accuracy" } else { "" }
    );
    for m in &r.models {
        let accuracy = m.score.accuracy().map(|a| format!("  {:>7.2}%", a * 100.0)).unwrap_or_default();
        let diverged = if m.diverged.is_some() { "  (diverged)" } else { "" };
        out.push_str(&format!(
            "{:<width$} {:>6} {:>10} {:>6} {:>9.1} {:>10.6} {:>9.3}{accuracy}{diverged}\n",
            m.model,
            m.hyper.num_layers,
            thousands(m.parameters),
            m.steps,
            m.seconds,
            m.score.loss(),
            m.score.loss() / m.baseline,
        ));
    }
    out
}

/// Colour and style of each model's lines: in the depth study a colour per model and depth and
/// residual stacks dash-dotted; else a colour per model. Palette entry 7 (grey) is left to the
/// baseline.
fn looks(r: &ExperimentResult) -> Vec<(usize, LineStyle)> {
    let depth = r.experiment == "depth";
    let mut keys: Vec<(String, usize)> = Vec::new();
    let mut index = |j: usize, m: &ModelResult| {
        if !depth {
            return j;
        }
        let key = (m.cell.clone(), m.hyper.num_layers);
        keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        })
    };
    let mut out = Vec::with_capacity(r.models.len());
    for (j, m) in r.models.iter().enumerate() {
        let i = index(j, m);
        let colour = if i >= 7 { i + 1 } else { i };
        out.push((colour, if m.hyper.residual { LineStyle::DashDot } else { LineStyle::Solid }));
    }
    out
}

/// `STEM.curves` and `STEM.lag` (PNG and SVG); returns the files written.
fn plots(r: &ExperimentResult, stem: &Path) -> Result<Vec<PathBuf>> {
    let name = |suffix: &str| {
        let mut s = stem.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let looks = looks(r);
    let first_step = r.models.iter().filter_map(|m| m.curve.get(1)).map(|p| p.step).min().unwrap_or(0) as f64;
    let last_step = r.models.iter().filter_map(|m| m.curve.last()).map(|p| p.step).max().unwrap_or(1) as f64;
    let mut curves = LinePlot::new(
        format!("{}: test {}", r.task, r.metric.trim_end_matches(" (nats)")),
        "optimizer step",
        format!("test {}", r.metric),
    )
    .with_log_y(true)
    .with_nonpositive(NonPositive::Skip);
    for (m, &(colour, style)) in r.models.iter().zip(&looks) {
        // from the first evaluation after training started: the untrained model's loss (in
        // the JSON) would squash the rest of the scale
        let points = m.curve.iter().filter(|p| p.step > 0).map(|p: &CurvePoint| (p.step as f64, p.test_loss)).collect();
        curves = curves.with_series([Series::solid(&m.model, points).with_style(style).with_color(colour)]);
    }
    curves = curves.with_series([Series::dashed(
        format!("baseline ({})", r.baseline_name),
        vec![(first_step, r.baseline), (last_step, r.baseline)],
    )
    .with_color(7)]);
    let mut lag = LinePlot::new(
        format!("Trained models' gradient against lag, {}", r.task),
        "lag k (steps back from the loss)",
        "‖dL_t/dh_(t-k)‖, bottom layer",
    )
    .with_log_y(true)
    .with_nonpositive(NonPositive::Skip);
    for (m, &(colour, style)) in r.models.iter().zip(&looks) {
        if let Some(bottom) = m.grad_norm_by_lag.first() {
            let points = bottom.iter().enumerate().map(|(k, &v)| (k as f64, v)).collect();
            lag = lag.with_series([Series::solid(&m.model, points).with_style(style).with_color(colour)]);
        }
    }
    let (a, b) = curves.save(&name(".curves"))?;
    let (c, d) = lag.save(&name(".lag"))?;
    Ok(vec![a, b, c, d])
}

/// Progress on stderr: a bar per model on a terminal, a line per model otherwise; with
/// `--json`, one JSON object per model on stdout as each finishes.
struct Progress {
    json: bool,
    tty: bool,
    bar: Option<ProgressBar>,
    label: String,
}

impl Progress {
    fn new(json: bool) -> Self {
        Progress { json, tty: std::io::stderr().is_terminal(), bar: None, label: String::new() }
    }
    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Reporter for Progress {
    fn model_start(&mut self, index: usize, count: usize, label: &str, steps: usize) {
        self.finish();
        self.label = format!("{label} ({}/{count})", index + 1);
        if self.tty {
            let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps, ETA {eta} | {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(self.label.clone());
            self.bar = Some(bar);
        } else {
            eprintln!("training {}", self.label);
        }
    }
    fn step(&mut self, step: usize, _train_loss: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
        }
    }
    fn point(&mut self, p: &CurvePoint) {
        if let Some(bar) = &self.bar {
            let train = p.train_loss.map(|l| format!("train {l:.5}  ")).unwrap_or_default();
            bar.set_message(format!("{train}test {:.5}", p.test_loss));
        }
    }
    fn model_done(&mut self, result: &ModelResult) {
        self.finish();
        if self.json {
            // stdout gone (e.g. `| head`): nothing useful left to print
            let _ = print_stdout(&format!("{}\n", serde_json::to_string(result).unwrap_or_default()));
        } else {
            eprintln!(
                "{}: test {:.6} after {} steps in {:.1} s{}",
                result.model,
                result.score.loss(),
                result.steps,
                result.seconds,
                result.diverged.as_ref().map(|d| format!(" (stopped: {d})")).unwrap_or_default()
            );
        }
    }
}
