//! `rnn inspect`: describe a model file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, Result};
use rnn::model_file::{self, CONFIG_KEY, ConfigSource, LoadOptions};
use safetensors::Dtype;
use serde::Serialize;

use super::args::inspect::Args;
use super::common::{print_stdout, thousands};

/// What `inspect` reports; serialised as is for `--json`.
#[derive(Debug, Serialize)]
struct Report {
    path: String,
    dtype: String,
    config: Config,
    /// `metadata` or `inferred`.
    config_source: &'static str,
    /// The file is a bare `nn.RNN` state_dict (names without `rnn.`).
    bare: bool,
    tensors: Vec<Tensor>,
    num_params: usize,
    /// Metadata entries other than `rnn.config`.
    metadata: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct Config {
    /// PyTorch's mode: RNN_TANH, RNN_RELU, RNN_SIGMOID, LSTM, GRU, or INDRNN.
    mode: String,
    cell: String,
    input_size: usize,
    hidden_size: usize,
    proj_size: usize,
    num_layers: usize,
    nonlinearity: Option<String>,
    bias: bool,
    bidirectional: bool,
    dropout: f64,
    output_size: Option<usize>,
    /// An IndRNN's bound on |u|.
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrent_max: Option<f64>,
    /// Residual connections between layers (not a PyTorch option).
    residual: bool,
}

#[derive(Debug, Serialize)]
struct Tensor {
    name: String,
    shape: Vec<usize>,
    numel: usize,
}

/// Runs `rnn inspect`.
pub fn run(args: &Args) -> Result<()> {
    let options = LoadOptions { nonlinearity: args.nonlinearity.map(Into::into), modules: args.modules.names() };
    // f64 holds both stored dtypes exactly.
    let loaded = model_file::load::<f64>(args.model(), &options)?;
    super::common::warn_assumed(args.model(), &loaded, true);
    let config = loaded.model.config();
    let c = &config.rnn;
    let tensors: Vec<Tensor> = loaded
        .model
        .named_tensors()
        .into_iter()
        .map(|(name, t)| {
            // The names as in the file: under the modules it was read with (`encoder.`, `fc.`),
            // or a bare state_dict's, the RNN's own without the module prefix.
            let name = match (&options.modules, name.strip_prefix("rnn.")) {
                (Some(modules), _) => modules.rename(&name),
                (None, Some(bare)) if loaded.bare => bare.to_string(),
                _ => name,
            };
            Tensor { name, shape: t.shape().to_vec(), numel: t.len() }
        })
        .collect();
    let report = Report {
        path: args.model().display().to_string(),
        dtype: dtype_name(loaded.dtype),
        config: Config {
            mode: c.cell.mode(c.nonlinearity).to_string(),
            cell: c.cell.to_string(),
            input_size: c.input_size,
            hidden_size: c.hidden_size,
            proj_size: c.proj_size,
            num_layers: c.num_layers,
            nonlinearity: c.cell.has_nonlinearity().then(|| c.nonlinearity.to_string()),
            bias: c.bias,
            bidirectional: c.bidirectional,
            dropout: c.dropout,
            output_size: config.output_size,
            recurrent_max: c.recurrent_max,
            residual: c.residual,
        },
        config_source: match loaded.config_source {
            ConfigSource::Metadata => "metadata",
            ConfigSource::Inferred => "inferred",
        },
        bare: loaded.bare,
        num_params: tensors.iter().map(|t| t.numel).sum(),
        tensors,
        metadata: loaded.metadata.into_iter().filter(|(k, _)| k != CONFIG_KEY).collect(),
    };
    let text = if args.json {
        let mut json = serde_json::to_string(&report).context("<stdout>: cannot encode the report as JSON")?;
        json.push('\n');
        json
    } else {
        render(&report, args.nonlinearity.is_some())
    };
    print_stdout(&text)
}

fn dtype_name(dtype: Dtype) -> String {
    match dtype {
        Dtype::F32 => "f32".into(),
        Dtype::F64 => "f64".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// The human-readable report.
fn render(r: &Report, nonlinearity_given: bool) -> String {
    let c = &r.config;
    let inferred = r.config_source == "inferred";
    let source = match (inferred, r.bare) {
        (false, _) => format!("metadata (`{CONFIG_KEY}`)"),
        (true, false) => "inferred from tensor names and shapes (no `rnn.config` metadata)".to_string(),
        (true, true) => {
            let module = match c.cell.as_str() {
                "lstm" => "nn.LSTM",
                "gru" => "nn.GRU",
                "indrnn" => "IndRNN",
                _ => "nn.RNN",
            };
            format!("inferred from tensor names and shapes (bare {module} state_dict, no metadata)")
        }
    };
    let nonlinearity = match (&c.nonlinearity, inferred, nonlinearity_given) {
        (None, _, _) => None,
        (Some(n), false, _) => Some(n.clone()),
        (Some(n), true, true) => Some(format!("{n} (from --nonlinearity; not stored in the file)")),
        (Some(n), true, false) => Some(format!("{n} (assumed; not stored in the file, set with --nonlinearity)")),
    };
    let cell = match c.cell.as_str() {
        "lstm" => "lstm (torch.nn.LSTM)",
        "gru" => "gru (torch.nn.GRU)",
        "indrnn" => "indrnn (IndRNN, Li et al. 2018: h' = act(W_ih x + b_ih + u ⊙ h + b_hh))",
        _ => "rnn (Elman, torch.nn.RNN)",
    };
    let output_size = c.output_size.map_or_else(|| "none (no head)".to_string(), |o| o.to_string());
    let fields = [
        ("file", r.path.clone()),
        ("dtype", r.dtype.clone()),
        ("config", source),
        ("cell", format!("{cell}, mode {}", c.mode)),
        ("input_size", c.input_size.to_string()),
        ("hidden_size", c.hidden_size.to_string()),
        ("proj_size", if c.proj_size > 0 { c.proj_size.to_string() } else { String::new() }),
        ("num_layers", c.num_layers.to_string()),
        ("nonlinearity", nonlinearity.unwrap_or_default()),
        ("bias", c.bias.to_string()),
        ("bidirectional", c.bidirectional.to_string()),
        ("dropout", c.dropout.to_string()),
        ("output_size", output_size),
        ("recurrent_max", c.recurrent_max.map_or_else(String::new, |m| format!("{m} (|u| <= {m})"))),
        ("residual", if c.residual { "true (each layer as wide as its input adds it)".into() } else { String::new() }),
    ];
    let mut out = String::new();
    for (key, value) in fields.into_iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(out, "{:<15}{value}", format!("{key}:"));
    }

    let shapes: Vec<String> = r.tensors.iter().map(|t| format!("{:?}", t.shape)).collect();
    let counts: Vec<String> = r.tensors.iter().map(|t| thousands(t.numel)).collect();
    let total = thousands(r.num_params);
    let name_w = r.tensors.iter().map(|t| t.name.len()).chain([6]).max().unwrap_or(6);
    let shape_w = shapes.iter().map(String::len).chain([5]).max().unwrap_or(5);
    let count_w = counts.iter().map(String::len).chain([total.len(), 10]).max().unwrap_or(10);
    let _ = writeln!(out, "\n{:<name_w$}  {:<shape_w$}  {:>count_w$}", "tensor", "shape", "parameters");
    for ((t, shape), count) in r.tensors.iter().zip(&shapes).zip(&counts) {
        let _ = writeln!(out, "{:<name_w$}  {shape:<shape_w$}  {count:>count_w$}", t.name);
    }
    let _ = writeln!(out, "{:<name_w$}  {:<shape_w$}  {total:>count_w$}", "total", "");

    // the task's settings readably; anything else as it is stored
    let task = r.metadata.get(rnn::tasks::TASK_KEY).and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok());
    if let Some(serde_json::Value::Object(task)) = &task {
        let kind = task.get("kind").and_then(|k| k.as_str()).unwrap_or("unknown");
        let _ = writeln!(out, "\ntask: {kind} (rnn train --task {kind})");
        let width = task.keys().map(String::len).max().unwrap_or(0) + 1;
        for (key, value) in task.iter().filter(|(k, _)| *k != "kind") {
            let _ = writeln!(out, "  {:<width$} {}", format!("{key}:"), readable(key, value));
        }
    }
    let others: Vec<_> = r.metadata.iter().filter(|(k, _)| task.is_none() || *k != rnn::tasks::TASK_KEY).collect();
    if !others.is_empty() {
        let _ = writeln!(out, "\nother metadata:");
        for (key, value) in others {
            let _ = writeln!(out, "  {key}: {value}");
        }
    }
    out
}

/// A task setting on one line: numbers short, a vocabulary as its size and characters (escaped),
/// objects as `key value` pairs, lists of objects (one per series) each in parentheses.
fn readable(key: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) if key == "vocab" => {
            format!("{} characters: {}", s.chars().count(), s.escape_debug())
        }
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            // tiny and huge numbers in exponent form (an Adam epsilon of 1e-8 is not 0)
            Some(v) if n.is_f64() && v != 0.0 && !(1e-4..1e9).contains(&v.abs()) => {
                let e = format!("{v:.4e}");
                let (mantissa, exponent) = e.split_once('e').unwrap_or((&e, "0"));
                format!("{}e{exponent}", mantissa.trim_end_matches('0').trim_end_matches('.'))
            }
            Some(v) if n.is_f64() => format!("{v:.6}").trim_end_matches('0').trim_end_matches('.').to_string(),
            _ => n.to_string(),
        },
        // a forecast's further networks: each one's seed and transformation
        Value::Array(items) if key == "ensemble" && items.iter().all(|m| m.get("seed").is_some()) => {
            let member = |m: &Value| {
                let t = &m["transform"];
                let kind = t["kind"].as_str().unwrap_or("?");
                let kind = if t["log"].as_bool() == Some(true) { format!("log-{kind}") } else { kind.to_string() };
                format!("seed {} {kind}", readable("seed", &m["seed"]))
            };
            let n = items.len();
            format!(
                "{n} more network{}: {}",
                if n == 1 { "" } else { "s" },
                items.iter().map(member).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Null => "none".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) if items.iter().all(Value::is_object) => {
            let parts: Vec<String> = items.iter().map(|v| format!("({})", readable(key, v))).collect();
            parts.join(" ")
        }
        Value::Array(items) => items.iter().map(|v| readable(key, v)).collect::<Vec<_>>().join(", "),
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| match v {
                    Value::Array(_) => format!("{k} [{}]", readable(k, v)),
                    _ => format!("{k} {}", readable(k, v)),
                })
                .collect();
            parts.join(", ")
        }
    }
}
