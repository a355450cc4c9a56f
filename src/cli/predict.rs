//! `rnn predict`: a trained model's predictions for new sequences, in the layout `rnn train`
//! reads (`[N, T, features]`): a regression's outputs, a classifier's class probabilities and
//! predicted classes, as `.npy` or CSV.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, bail};
use ndarray::{Array3, ArrayD, Axis};
use rnn::io::npy::{self, NpyArray};
use rnn::model_file::{self, LoadOptions, LoadedModel};
use rnn::nn::memory::{self, Workload};
use rnn::tasks::classify::{self, ClassifySettings};
use rnn::{Float, Readout};

use super::args::predict::{Args, ReadoutArg};
use super::common::{note_layout, read_inputs};
use super::limits;

/// The metadata key of a sequence model's readout (`"last"` or `"every"`), inside its task JSON.
pub const READOUT_FIELD: &str = "readout";

/// Runs `rnn predict`: the outputs are checked before anything is computed.
pub fn run(args: &Args) -> Result<()> {
    let outputs = [("--output", Some(&args.output)), ("--classes", args.classes.as_ref())];
    super::outputs::check_format("--output", &args.output, &["npy", "csv"], "a .npy array or CSV", "")?;
    if let Some(path) = &args.classes {
        super::outputs::check_format("--classes", path, &["npy"], "an int64 .npy array", "")?;
    }
    super::outputs::check(outputs.iter().filter_map(|(flag, p)| p.map(|p| (*flag, p.as_path()))))?;
    match npy::read(&args.inputs)? {
        NpyArray::F32(_) => predict::<f32>(args),
        NpyArray::F64(_) => predict::<f64>(args),
    }
}

/// Whether `path` names a CSV file (else `.npy`).
fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

fn predict<F: Float>(args: &Args) -> Result<()> {
    let loaded = model_file::load::<F>(&args.model, &LoadOptions::default())?;
    super::common::warn_assumed(&args.model, &loaded, false);
    let kind = rnn::tasks::kind(&loaded.metadata);
    let model = args.model.display();
    match kind.as_deref() {
        Some("forecast") => bail!(
            "{model} is a forecasting model: `rnn forecast --model {model} --data FILE.csv` predicts past the \
             end of a series, `rnn evaluate` over its test split"
        ),
        Some("charlm") => {
            bail!("{model} is a character model: `rnn generate --model {model}` writes text with it")
        }
        _ => {}
    }
    if loaded.model.head.is_none() {
        bail!("{model}: the model has no head (output layer): `rnn forward` gives its hidden states");
    }
    let x = read_inputs::<F>(&args.inputs)?;
    let (n, t, features) = x.dim();
    if n == 0 || t == 0 {
        bail!("{}: no sequences to predict (shape [{n}, {t}, {features}])", args.inputs.display());
    }
    let input_size = loaded.model.rnn.config().input_size;
    if features != input_size {
        bail!("{}: input has {features} features per step but the model expects {input_size}", args.inputs.display());
    }
    let work =
        Workload { batch_size: n, seq_len: t, data_bytes: (x.len() * size_of::<F>() * 2) as u64, ..Default::default() };
    limits::check(&args.limits, memory::estimate(&loaded.model.config(), &work, size_of::<F>()), "")?;
    note_layout(&args.inputs, x.dim());
    if kind.as_deref() == Some("classify") {
        if args.readout.is_some() {
            bail!("--readout applies to a regression; a classifier reads the last step");
        }
        classes(args, &loaded, &x)
    } else {
        if let Some(path) = &args.classes {
            bail!("{}: --classes is for a classifier; {model} is a regression model", path.display());
        }
        regression(args, &loaded, &x)
    }
}

/// A classifier: probabilities `[N, C]` (CSV: `predicted` then one column per class) and, with
/// `--classes`, the arg-max.
fn classes<F: Float>(args: &Args, loaded: &LoadedModel<F>, x: &Array3<F>) -> Result<()> {
    let settings = ClassifySettings::from_metadata(&loaded.metadata, &args.model)?;
    let p = classify::probabilities(&loaded.model, x.view())?;
    let predicted: Vec<usize> = p.rows().into_iter().map(classify::argmax).collect();
    if is_csv(&args.output) {
        let names: Vec<String> = (0..p.ncols()).map(|c| settings.name(c)).collect();
        let mut csv = csv::Writer::from_writer(Vec::new());
        let header = ["predicted".to_string()].into_iter().chain(names.iter().map(|n| format!("p_{n}")));
        csv.write_record(header)?;
        for (row, &c) in p.rows().into_iter().zip(&predicted) {
            let fields = std::iter::once(names[c].clone()).chain(row.iter().map(|v| format!("{v}")));
            csv.write_record(fields)?;
        }
        rnn::io::write_atomic(&args.output, &csv.into_inner()?)?;
    } else {
        npy::write(&args.output, p.view())?;
    }
    if let Some(path) = &args.classes {
        npy::write_indices(path, &predicted)?;
    }
    let what = if args.classes.is_some() { "class probabilities; predicted classes" } else { "class probabilities" };
    eprintln!("wrote {} ({what}) for {} sequences", args.output.display(), p.nrows());
    Ok(())
}

/// A regression: the head's outputs, `[N, T, O]` or the last step's `[N, O]`.
fn regression<F: Float>(args: &Args, loaded: &LoadedModel<F>, x: &Array3<F>) -> Result<()> {
    let trained_last = rnn::tasks::task_json(&loaded.metadata)
        .and_then(|j| j.get(READOUT_FIELD).and_then(|v| v.as_str()).map(|r| r == "last"))
        .unwrap_or(false);
    let last = match args.readout {
        Some(r) => r == ReadoutArg::Last,
        None => trained_last,
    };
    let readout = if last { Readout::LastStep } else { Readout::EveryStep };
    let trace = loaded.model.forward_eval(x.view().permuted_axes([1, 0, 2]), None, readout)?;
    // [T or 1, N, O] -> [N, T, O] / [N, O]
    let y: ArrayD<F> = if last {
        trace.y().index_axis(Axis(0), 0).to_owned().into_dyn()
    } else {
        trace.y().permuted_axes([1, 0, 2]).as_standard_layout().into_owned().into_dyn()
    };
    if is_csv(&args.output) {
        rnn::io::write_atomic(&args.output, regression_csv(&y)?.as_bytes())?;
    } else {
        npy::write(&args.output, y.view())?;
    }
    eprintln!("wrote {} (outputs of shape {:?})", args.output.display(), y.shape());
    Ok(())
}

/// `sequence,output_0,...` (last step, `y` `[N, O]`) or `sequence,step,output_0,...` (every
/// step, `y` `[N, T, O]`): one line per row of outputs, in order.
fn regression_csv<F: Float>(y: &ArrayD<F>) -> Result<String> {
    let every_step = y.ndim() == 3;
    let last = Axis(y.ndim() - 1);
    let steps = if every_step { y.shape()[1] } else { 1 };
    let header: Vec<String> = (0..y.len_of(last)).map(|o| format!("output_{o}")).collect();
    let mut out = format!("sequence,{}{}\n", if every_step { "step," } else { "" }, header.join(","));
    for (i, row) in y.lanes(last).into_iter().enumerate() {
        let values: Vec<String> = row.iter().map(|v| format!("{v}")).collect();
        let values = values.join(",");
        if every_step {
            writeln!(out, "{},{},{values}", i / steps, i % steps)?;
        } else {
            writeln!(out, "{i},{values}")?;
        }
    }
    Ok(out)
}
