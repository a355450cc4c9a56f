//! Arguments of `rnn forward`.

use std::path::PathBuf;

use super::values::Act;

/// Arguments of `rnn forward`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Model file (.safetensors) from `rnn init` or a PyTorch state_dict
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Input sequence .npy, float32 or float64, shape [seq_len, batch, input_size] (PyTorch's
    /// default), or [batch, seq_len, input_size] with --batch-first
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// Where to write the output .npy (head output, else top-layer hidden states), in the input's
    /// dtype and layout
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// The input and output are [batch, seq_len, features], as with PyTorch's batch_first=True
    /// and as `rnn train` reads its inputs (states stay [num_layers*dirs, batch, hidden_size])
    #[arg(long)]
    pub batch_first: bool,
    /// Initial hidden state .npy, shape [num_layers*dirs, batch, hidden_size] (proj_size for a projected LSTM; zeros if omitted)
    #[arg(long, value_name = "PATH")]
    pub h0: Option<PathBuf>,
    /// Also write the final hidden state h_n [num_layers*dirs, batch, hidden_size] to this .npy
    #[arg(long, value_name = "PATH")]
    pub hn: Option<PathBuf>,
    /// LSTM only: initial cell state .npy, shape [num_layers*dirs, batch, hidden_size] (zeros if omitted)
    #[arg(long, value_name = "PATH")]
    pub c0: Option<PathBuf>,
    /// LSTM only: also write the final cell state c_n [num_layers*dirs, batch, hidden_size] to this .npy
    #[arg(long, value_name = "PATH")]
    pub cn: Option<PathBuf>,
    /// Nonlinearity for model files without `rnn.config` metadata (if omitted: tanh, relu for an IndRNN)
    #[arg(long, value_enum)]
    pub nonlinearity: Option<Act>,
    /// The module names, for a state_dict whose modules are not named rnn and head
    #[command(flatten)]
    pub modules: super::interop::ModuleArgs,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}
