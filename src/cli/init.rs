//! `rnn init`: write a freshly initialised model file.

use std::path::PathBuf;

use anyhow::{Context, Result};
use rnn::{Cell, Float, Init, Model, ModelConfig, RnnConfig, model_file};

use super::{Act, Dtype, InitArg, plural, print_stdout, thousands};

/// Parses `--cell`.
pub(super) fn parse_cell(s: &str) -> std::result::Result<Cell, String> {
    s.parse().map_err(|e: rnn::Error| e.to_string())
}

/// Arguments of `rnn init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Features per step of the input
    #[arg(long, value_name = "I")]
    input_size: usize,
    /// Hidden units per layer and direction
    #[arg(long, value_name = "H")]
    hidden_size: usize,
    /// Number of stacked layers
    #[arg(long, value_name = "L", default_value_t = 1)]
    num_layers: usize,
    /// Recurrent cell: rnn (Elman, with --nonlinearity), lstm or gru (PyTorch's nn.RNN, nn.LSTM, nn.GRU)
    #[arg(long, value_parser = parse_cell, default_value = "rnn")]
    cell: Cell,
    /// Activation of the recurrence (rnn cells)
    #[arg(long, value_enum, default_value_t = Act::Tanh)]
    nonlinearity: Act,
    /// LSTM only: project each hidden state to this many features (weight_hr), smaller than H
    #[arg(long, value_name = "P", default_value_t = 0)]
    proj_size: usize,
    /// Leave out the biases b_ih and b_hh
    #[arg(long)]
    no_bias: bool,
    /// Add a reverse-time direction to every layer
    #[arg(long)]
    bidirectional: bool,
    /// Dropout between layers during training, in [0, 1)
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    dropout: f64,
    /// Add a linear head with this many outputs per step
    #[arg(long, value_name = "O")]
    output_size: Option<usize>,
    /// Initialisation scheme
    #[arg(long, value_enum, default_value_t = InitArg::Pytorch)]
    init: InitArg,
    /// Random seed: the same seed gives the same file
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Floating-point type the parameters are stored in
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    dtype: Dtype,
    /// Model file (.safetensors) to write
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
}

/// Runs `rnn init`.
pub fn run(args: &Args) -> Result<()> {
    let rnn = RnnConfig {
        input_size: args.input_size,
        hidden_size: args.hidden_size,
        num_layers: args.num_layers,
        cell: args.cell,
        nonlinearity: args.nonlinearity.into(),
        bias: !args.no_bias,
        dropout: args.dropout,
        bidirectional: args.bidirectional,
        proj_size: args.proj_size,
    };
    let config = ModelConfig { rnn, output_size: args.output_size };
    let num_params = match args.dtype {
        Dtype::F32 => create::<f32>(args, config.clone())?,
        Dtype::F64 => create::<f64>(args, config.clone())?,
    };
    print_stdout(&format!("wrote {}: {}\n", args.out.display(), summary(args, &config, num_params)))
}

/// Builds and saves the model; returns its parameter count.
fn create<F: Float>(args: &Args, config: ModelConfig) -> Result<usize> {
    let model = Model::<F>::new(config, args.init.into(), args.seed).with_context(|| args.out.display().to_string())?;
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
        c.nonlinearity.to_string(),
    ];
    if !c.bias {
        parts.push("no bias".into());
    }
    if c.bidirectional {
        parts.push("bidirectional".into());
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
