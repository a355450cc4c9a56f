//! Arguments of `rnn export` and `rnn import`, and the module names a state_dict's tensors are
//! prefixed with (also taken by `rnn forward` and `rnn inspect`).

use std::path::PathBuf;

use rnn::model_file::ModuleNames;

use super::values::Act;

/// The module names of a state_dict: its tensors `NAME.weight_ih_l0`, ..., `HEAD.weight`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ModuleArgs {
    /// Name of the recurrent module in the state_dict (tensors NAME.weight_ih_l0, ...; a dotted
    /// path such as model.encoder; "" for a bare nn.RNN state_dict) [default: rnn]
    #[arg(long, value_name = "NAME")]
    pub prefix: Option<String>,
    /// Name of the linear head module (tensors NAME.weight, NAME.bias) [default: head]
    #[arg(long, value_name = "NAME")]
    pub head_prefix: Option<String>,
}

impl ModuleArgs {
    /// The names given, `None` when neither flag was (the model file's own `rnn` and `head`,
    /// or a bare state_dict).
    pub fn names(&self) -> Option<ModuleNames> {
        if self.prefix.is_none() && self.head_prefix.is_none() {
            return None;
        }
        let name = |given: &Option<String>, default: &str| {
            given.as_deref().map_or(default, |s| s.trim_end_matches('.')).to_string()
        };
        Some(ModuleNames { rnn: name(&self.prefix, "rnn"), head: name(&self.head_prefix, "head") })
    }
}

/// What `rnn export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An ONNX graph of the standard RNN/LSTM/GRU operators (opset 14), float32
    Onnx,
    /// A plain PyTorch state_dict (.safetensors), modules named by --prefix and --head-prefix
    Pytorch,
}

/// Arguments of `rnn export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Model file (.safetensors) to export
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// The format to write
    #[arg(long, value_enum)]
    pub format: Format,
    /// Where to write it (.onnx, or .safetensors for --format pytorch)
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// ONNX: add graph inputs h0 [num_layers*dirs, batch, state_size] (and an LSTM's c0); without
    /// them every sequence starts from zeros
    #[arg(long)]
    pub initial_state: bool,
    /// ONNX: add graph outputs h_n (and an LSTM's c_n)
    #[arg(long)]
    pub final_state: bool,
    /// PyTorch: the module names to write (default rnn and head)
    #[command(flatten)]
    pub modules: ModuleArgs,
    /// Nonlinearity for model files without `rnn.config` metadata (if omitted: tanh, relu for an IndRNN)
    #[arg(long, value_enum)]
    pub nonlinearity: Option<Act>,
}

/// Arguments of `rnn import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A PyTorch state_dict (.safetensors) holding an nn.RNN/LSTM/GRU (and an nn.Linear head)
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// The model file (.safetensors) to write
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// The module names in the state_dict
    #[command(flatten)]
    pub modules: ModuleArgs,
    /// Nonlinearity for a state_dict without `rnn.config` metadata (if omitted: tanh, relu for an IndRNN)
    #[arg(long, value_enum)]
    pub nonlinearity: Option<Act>,
}
