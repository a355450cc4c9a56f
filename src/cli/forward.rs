//! `rnn forward`: run a model over a `.npy` sequence, as `nn.RNN`, `nn.LSTM` or `nn.GRU` (plus
//! head) would.

use anyhow::{Context, Result, bail};
use ndarray::{Array3, ArrayD, Ix3};
use rnn::io::npy::{self, NpyArray};
use rnn::model_file::{self, LoadOptions};
use rnn::nn::memory::{self, Workload};
use rnn::{Cell, Float, Model};

use super::args::forward::Args;
use super::limits;

/// Runs `rnn forward`: every check happens before anything is computed or written.
pub fn run(args: &Args) -> Result<()> {
    check_destinations(args)?;
    match npy::read(&args.input)? {
        NpyArray::F32(x) => forward::<f32>(args, x),
        NpyArray::F64(x) => forward::<f64>(args, x),
    }
}

/// Refuses output paths that could only fail or clobber each other, so that a failure never
/// leaves one output written and the other not.
fn check_destinations(args: &Args) -> Result<()> {
    let outputs = [("--output", Some(&args.output)), ("--hn", args.hn.as_ref()), ("--cn", args.cn.as_ref())];
    for (flag, path) in outputs.iter().filter_map(|(flag, p)| p.map(|p| (*flag, p))) {
        super::outputs::check_format(flag, path, &["npy"], "a .npy array", "`rnn predict` writes CSV")?;
    }
    super::outputs::check(outputs.iter().filter_map(|(flag, p)| p.map(|p| (*flag, p.as_path()))))
}

fn forward<F: Float>(args: &Args, x: ArrayD<F>) -> Result<()> {
    let input = args.input.display();
    npy::check_finite(&args.input, &x)?;
    let layout = if args.batch_first { "[batch, seq_len, input_size]" } else { "[seq_len, batch, input_size]" };
    if x.ndim() != 3 {
        let hint = super::common::feature_axis_hint(x.shape());
        bail!("{input}: expected {layout}, got shape {}{hint}", shape_str(x.shape()));
    }
    let x = x.into_dimensionality::<Ix3>().with_context(|| format!("{input}: not a 3-D array"))?;
    // the computation runs time-major: a batch-first input is transposed once
    let x = if args.batch_first { x.permuted_axes([1, 0, 2]).as_standard_layout().into_owned() } else { x };
    let (seq_len, batch, features) = x.dim();
    if seq_len == 0 || batch == 0 {
        let what = if seq_len == 0 { "seq_len" } else { "batch" };
        bail!("{input}: {what} must be at least 1, got shape {}", shape_str(x.shape()));
    }

    let options = LoadOptions { nonlinearity: args.nonlinearity.map(Into::into), modules: args.modules.names() };
    let loaded = model_file::load::<F>(&args.model, &options)?;
    super::common::warn_assumed(&args.model, &loaded, true);
    let model: &Model<F> = &loaded.model;
    let config = model.rnn.config();
    if features != config.input_size {
        bail!(
            "{input}: input has {features} features per step but the model expects {} (input_size)",
            config.input_size
        );
    }

    let dirs = config.num_layers * config.num_directions();
    let is_lstm = config.cell == Cell::Lstm;
    if !is_lstm && let Some(path) = args.c0.as_ref().or(args.cn.as_ref()) {
        bail!(
            "{}: the model is {} ({}); only an LSTM has a cell state (--c0, --cn)",
            path.display(),
            config.cell,
            args.model.display()
        );
    }
    // the input and the output, besides the model's working memory
    let data_bytes = (x.len() * size_of::<F>()) as u64;
    let work = Workload { batch_size: batch, seq_len, data_bytes: data_bytes.saturating_mul(2), ..Default::default() };
    limits::check(
        &args.limits,
        memory::estimate(&model.config(), &work, size_of::<F>()),
        "the input's seq_len or batch",
    )?;
    let h0 = read_state::<F>(args.h0.as_ref(), "h0", [dirs, batch, config.state_size()])?;
    let c0 = read_state::<F>(args.c0.as_ref(), "c0", [dirs, batch, config.hidden_size])?;
    // every check passed: a failure stays one line
    say_layout(args, &loaded.metadata, (seq_len, batch, features));
    let (y, h_n, c_n) = model
        .forward_states(x.view(), h0.as_ref().map(Array3::view), c0.as_ref().map(Array3::view))
        .with_context(|| format!("{input}"))?;
    if args.batch_first {
        npy::write(&args.output, y.view().permuted_axes([1, 0, 2]))?;
    } else {
        npy::write(&args.output, y.view())?;
    }
    if let Some(hn) = &args.hn {
        npy::write(hn, h_n.view())?;
    }
    if let (Some(cn), Some(c_n)) = (&args.cn, c_n) {
        npy::write(cn, c_n.view())?;
    }
    Ok(())
}

/// Says on stderr how the input was read, and when the model was trained by a task command
/// (which reads `[N, T, features]`) on a time-major read, how to read it the other way.
fn say_layout(args: &Args, metadata: &std::collections::HashMap<String, String>, (t, b, i): (usize, usize, usize)) {
    let input = args.input.display();
    if args.batch_first {
        eprintln!("{input}: read as [batch {b}, seq_len {t}, input_size {i}] (--batch-first)");
        return;
    }
    eprintln!(
        "{input}: read as [seq_len {t}, batch {b}, input_size {i}] (time-major, PyTorch's default; \
         --batch-first for [batch, seq_len, input_size])"
    );
    if let Some(task) = rnn::tasks::kind(metadata).filter(|k| k == "sequence" || k == "classify") {
        eprintln!(
            "note: {} was trained by `rnn train --task {task}`, whose inputs are [N, T, features]: \
             pass --batch-first for a file in that layout",
            args.model.display()
        );
    }
}

/// Reads an initial state `.npy` of shape `want`, saying which file is wrong if it is not.
fn read_state<F: Float>(path: Option<&std::path::PathBuf>, name: &str, want: [usize; 3]) -> Result<Option<Array3<F>>> {
    let Some(path) = path else { return Ok(None) };
    let state = npy::read(path)?;
    if state.shape() != want {
        bail!(
            "{}: expected {name} of shape [num_layers*dirs, batch, {}] = {}, got {}",
            path.display(),
            if name == "h0" { "state_size" } else { "hidden_size" },
            shape_str(&want),
            shape_str(state.shape())
        );
    }
    let state = state.into_float::<F>();
    npy::check_finite(path, &state)?;
    let state: Array3<F> =
        state.into_dimensionality::<Ix3>().with_context(|| format!("{}: not a 3-D array", path.display()))?;
    Ok(Some(state))
}

/// `[4, 2, 3]`.
fn shape_str(shape: &[usize]) -> String {
    format!("{shape:?}")
}
