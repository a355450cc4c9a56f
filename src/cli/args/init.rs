//! Arguments of `rnn init`.

use std::path::PathBuf;

use super::values::{Dtype, InitArg, RecurrenceArgs};

/// Arguments of `rnn init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Features per step of the input
    #[arg(long, value_name = "I")]
    pub input_size: usize,
    /// Hidden units per layer and direction
    #[arg(long, value_name = "H", visible_alias = "hidden")]
    pub hidden_size: usize,
    /// Number of stacked layers
    #[arg(long, value_name = "L", default_value_t = 1, visible_alias = "layers")]
    pub num_layers: usize,
    /// The cell and its options
    #[command(flatten)]
    pub recurrence: RecurrenceArgs,
    /// Leave out the biases b_ih and b_hh
    #[arg(long)]
    pub no_bias: bool,
    /// Add a reverse-time direction to every layer
    #[arg(long)]
    pub bidirectional: bool,
    /// Residual connections: a layer whose input is as wide as its output adds that input to
    /// its output (helps deep stacks train)
    #[arg(long)]
    pub residual: bool,
    /// Dropout between layers during training, in [0, 1)
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    pub dropout: f64,
    /// Add a linear head with this many outputs per step
    #[arg(long, value_name = "O")]
    pub output_size: Option<usize>,
    /// Initialisation scheme
    #[arg(long, value_enum, default_value_t = InitArg::Pytorch)]
    pub init: InitArg,
    /// Random seed: the same seed gives the same file
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Floating-point type the parameters are stored in
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    pub dtype: Dtype,
    /// Model file (.safetensors) to write
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}
