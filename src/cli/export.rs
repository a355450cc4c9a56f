//! `rnn export`: a model as ONNX (standard RNN/LSTM/GRU operators) or as a PyTorch state_dict
//! whose modules are named as asked.

use anyhow::{Context, Result, bail};
use rnn::io::onnx::{self, OnnxOptions};
use rnn::model_file::{self, LoadOptions, LoadedModel, ModuleNames};
use rnn::{Cell, Float, Model};
use safetensors::Dtype;

use super::args::interop::{ExportArgs, Format};
use super::common::print_stdout;

/// Runs `rnn export`: the flags, the output path and the model are checked before anything is
/// written.
pub fn run(args: &ExportArgs) -> Result<()> {
    match args.format {
        Format::Onnx if args.modules.names().is_some() => {
            bail!("--prefix and --head-prefix name a state_dict's modules; they go with --format pytorch")
        }
        Format::Pytorch if args.initial_state || args.final_state => {
            bail!("--initial-state and --final-state are ONNX graph inputs and outputs; they go with --format onnx")
        }
        _ => {}
    }
    super::outputs::check([("--output", args.output.as_path())])?;
    match args.format {
        Format::Onnx => super::outputs::check_format("--output", &args.output, &["onnx"], "an ONNX graph", "")?,
        Format::Pytorch => super::outputs::check_format(
            "--output",
            &args.output,
            &["safetensors"],
            "a safetensors state_dict",
            "PyTorch loads it with safetensors.torch.load_file",
        )?,
    }
    let bytes = std::fs::read(&args.model).map_err(|err| rnn::Error::Io { path: args.model.clone(), err })?;
    let options = LoadOptions { nonlinearity: args.nonlinearity.map(Into::into), modules: None };
    let loaded = model_file::from_bytes::<f64>(&bytes, &args.model, &options)?;
    super::common::warn_assumed(&args.model, &loaded, true);
    if let Some(w) = forecast_warning(args, &loaded) {
        eprintln!("rnn: warning: {w}");
    }
    let what = match args.format {
        Format::Onnx => to_onnx(args, &loaded)?,
        Format::Pytorch => {
            let names = args.modules.names().unwrap_or_default();
            // in the file's own dtype; half precision (F16, BF16) as f32, which holds it exactly
            let out = match loaded.dtype {
                Dtype::F64 => state_dict(&loaded.model, &names),
                _ => state_dict(&model_file::from_bytes::<f32>(&bytes, &args.model, &options)?.model, &names),
            }?;
            rnn::io::write_atomic(&args.output, &out)?;
            let module = |m: &str| if m.is_empty() { "(none)".to_string() } else { format!("`{m}`") };
            let head =
                if loaded.model.head.is_some() { format!(", head {}", module(&names.head)) } else { String::new() };
            format!("PyTorch state_dict, RNN module {}{head}", module(&names.rnn))
        }
    };
    print_stdout(&format!("wrote {}: {what}\n", args.output.display()))
}

/// What an export of a forecasting model leaves out: it holds the file's first network alone.
fn forecast_warning(args: &ExportArgs, loaded: &LoadedModel<f64>) -> Option<String> {
    if rnn::tasks::kind(&loaded.metadata).as_deref() != Some("forecast") {
        return None;
    }
    let meta = rnn::tasks::forecast::ForecastMeta::from_metadata(&loaded.metadata, &args.model).ok()?;
    let networks = meta.ensemble.len() + 1;
    let combined = [meta.combine, meta.combine_log, meta.combine_hw].iter().any(Option::is_some);
    let mut left_out = Vec::new();
    if networks > 1 {
        left_out.push("the other networks");
    }
    left_out.push("the transformation");
    if combined {
        left_out.push("the combination with the statistical forecasts");
    }
    let left_out = match left_out.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    Some(format!(
        "{} is a forecasting model: the export holds its first network alone (1 of {networks}), which reads \
         windows of {} values of the series as transformed ({}) and writes transformed forecasts; {left_out} \
         {} not in it (`rnn forecast` applies them)",
        args.model.display(),
        meta.window,
        meta.transform,
        if left_out.contains(" and ") { "are" } else { "is" },
    ))
}

fn state_dict<F: Float>(model: &Model<F>, names: &ModuleNames) -> Result<Vec<u8>> {
    Ok(model_file::state_dict_bytes(model, names)?)
}

/// Writes the ONNX file; returns what it holds, for the report.
fn to_onnx(args: &ExportArgs, loaded: &LoadedModel<f64>) -> Result<String> {
    let config = loaded.model.config();
    onnx::check_exportable(&config).with_context(|| args.model.display().to_string())?;
    let options = OnnxOptions { initial_state: args.initial_state, final_state: args.final_state };
    onnx::save(&loaded.model, &args.output, &options)?;
    let c = &config.rnn;
    let lstm = c.cell == Cell::Lstm;
    let mut inputs = vec!["input"];
    if options.initial_state {
        inputs.extend(if lstm { &["h0", "c0"][..] } else { &["h0"][..] });
    }
    let mut outputs = vec!["output"];
    if options.final_state {
        outputs.extend(if lstm { &["h_n", "c_n"][..] } else { &["h_n"][..] });
    }
    let op = onnx::operator(c.cell);
    Ok(format!(
        "ONNX opset {}, {} {op} layer(s){}{}, float32; inputs {}, outputs {}",
        onnx::OPSET,
        c.num_layers,
        if c.bidirectional { " bidirectional" } else { "" },
        if config.output_size.is_some() { " + MatMul/Add head" } else { "" },
        inputs.join(", "),
        outputs.join(", ")
    ))
}
