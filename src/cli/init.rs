//! `rnn init`: write a freshly initialised model file.

use anyhow::{Context, Result};
use rnn::nn::memory::{self, Workload};
use rnn::{Float, Init, Model, ModelConfig, RnnConfig, model_file};

use super::args::Dtype;
use super::args::init::Args;
use super::common::{plural, print_stdout, thousands};
use super::limits;

/// Runs `rnn init`.
pub fn run(args: &Args) -> Result<()> {
    super::outputs::check([("--out", args.out.as_path())])?;
    super::outputs::check_model_name("--out", &args.out)?;
    let rnn = RnnConfig {
        input_size: args.input_size,
        hidden_size: args.hidden_size,
        num_layers: args.num_layers,
        cell: args.recurrence.cell,
        nonlinearity: args.recurrence.nonlinearity(),
        bias: !args.no_bias,
        dropout: args.dropout,
        bidirectional: args.bidirectional,
        proj_size: args.recurrence.proj_size,
        recurrent_max: args.recurrence.recurrent_max,
        residual: args.residual,
    };
    let config = ModelConfig { rnn, output_size: args.output_size };
    let float_bytes = match args.dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    };
    let estimate = memory::estimate(&config, &Workload::default(), float_bytes);
    limits::check(&args.limits, estimate, "--hidden-size, --num-layers, --input-size or --output-size")?;
    let num_params = match args.dtype {
        Dtype::F32 => create::<f32>(args, config.clone())?,
        Dtype::F64 => create::<f64>(args, config.clone())?,
    };
    print_stdout(&format!("wrote {}: {}\n", args.out.display(), summary(args, &config, num_params)))
}

/// Builds and saves the model; returns its parameter count.
fn create<F: Float>(args: &Args, config: ModelConfig) -> Result<usize> {
    let mut model =
        Model::<F>::new(config, args.init.into(), args.seed).with_context(|| args.out.display().to_string())?;
    super::common::gate_init(&mut model, &args.recurrence, args.seed)
        .with_context(|| args.out.display().to_string())?;
    model_file::save(&model, &args.out)?;
    Ok(model.num_params())
}

/// `2 layers, input 3, hidden 16, tanh, bidirectional, head 1 output, 1,234 parameters (f32, ...)`.
fn summary(args: &Args, config: &ModelConfig, num_params: usize) -> String {
    let c = &config.rnn;
    let mut parts = vec![
        plural(c.num_layers, "layer"),
        format!("input {}", c.input_size),
        format!("hidden {}", c.hidden_size),
        match c.cell {
            rnn::Cell::Rnn => c.nonlinearity.to_string(),
            rnn::Cell::IndRnn => format!("IndRNN {}", c.nonlinearity),
            cell => cell.mode(c.nonlinearity).to_string(),
        },
    ];
    if let Some(m) = c.recurrent_max {
        parts.push(format!("|u| <= {m}"));
    }
    if c.proj_size > 0 {
        parts.push(format!("proj_size {}", c.proj_size));
    }
    if !c.bias {
        parts.push("no bias".into());
    }
    if c.bidirectional {
        parts.push("bidirectional".into());
    }
    if c.has_residual() {
        parts.push("residual".into());
    }
    if c.dropout > 0.0 {
        parts.push(format!("dropout {}", c.dropout));
    }
    if let Some(o) = config.output_size {
        parts.push(format!("head {}", plural(o, "output")));
    }
    let dtype = match args.dtype {
        Dtype::F32 => "f32",
        Dtype::F64 => "f64",
    };
    let init: Init = args.init.into();
    parts.push(format!("{} parameters ({dtype}, {init} init, seed {})", thousands(num_params), args.seed));
    parts.join(", ")
}
