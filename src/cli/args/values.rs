//! The value types shared by several commands' flags.

use std::path::PathBuf;

use clap::ValueEnum;
use rnn::{Cell, Init, Nonlinearity};

/// The recurrence's activation, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Act {
    /// Hyperbolic tangent (PyTorch's default)
    Tanh,
    /// Rectified linear unit
    Relu,
    /// Logistic sigmoid
    Sigmoid,
}

impl From<Act> for Nonlinearity {
    fn from(act: Act) -> Self {
        match act {
            Act::Tanh => Nonlinearity::Tanh,
            Act::Relu => Nonlinearity::Relu,
            Act::Sigmoid => Nonlinearity::Sigmoid,
        }
    }
}

/// The initialisation schemes, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InitArg {
    /// PyTorch's nn.RNN default, U(-1/sqrt(H), 1/sqrt(H))
    Pytorch,
    /// Glorot (Xavier) uniform weights, zero biases
    Glorot,
    /// Orthogonal recurrent weights, Glorot input weights, zero biases
    Orthogonal,
    /// Identity recurrent weights (IRNN, for relu), zero biases
    Identity,
}

impl From<InitArg> for Init {
    fn from(init: InitArg) -> Self {
        match init {
            InitArg::Pytorch => Init::PyTorch,
            InitArg::Glorot => Init::GlorotUniform,
            InitArg::Orthogonal => Init::Orthogonal,
            InitArg::Identity => Init::Identity,
        }
    }
}

/// The stored floating-point type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dtype {
    /// 32-bit floats (PyTorch's default)
    F32,
    /// 64-bit floats
    F64,
}

/// Parses `--cell`: rnn (Elman), lstm, gru or indrnn.
pub fn parse_cell(s: &str) -> Result<Cell, String> {
    s.parse().map_err(|e: rnn::Error| e.to_string())
}

/// Parses `--recurrent-max`: a positive number.
fn parse_recurrent_max(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("expected a positive number, e.g. 1.0069 (2^(1/100)), got `{s}`")),
    }
}

/// The recurrent cell and its options, shared by `rnn init` and `rnn train`.
#[derive(Debug, clap::Args)]
pub struct RecurrenceArgs {
    /// Recurrent cell: rnn (Elman, with --nonlinearity), lstm or gru (PyTorch's nn.RNN, nn.LSTM,
    /// nn.GRU), or indrnn (IndRNN, Li et al. 2018: h' = act(W_ih x + b_ih + u ⊙ h + b_hh), one
    /// recurrent weight per unit)
    #[arg(long, value_parser = parse_cell, default_value = "rnn")]
    pub cell: rnn::Cell,
    /// Activation of the recurrence (rnn and indrnn cells) [default: tanh for rnn, relu for indrnn]
    #[arg(long, value_enum)]
    pub nonlinearity: Option<Act>,
    /// LSTM only: project each hidden state to this many features (weight_hr), smaller than H
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub proj_size: usize,
    /// LSTM only: set every forget-gate bias to this value (1.0 is the usual choice)
    #[arg(long, value_name = "B")]
    pub forget_bias: Option<f64>,
    /// LSTM/GRU: chrono initialisation of the gate biases for dependencies up to T steps
    #[arg(long, value_name = "T")]
    pub chrono: Option<f64>,
    /// IndRNN only: keep every recurrent weight within ±MAX, at initialisation and after every
    /// optimizer step; the paper's 2^(1/T) keeps gradients over T steps from more than doubling
    /// (1.0069 for T = 100) [default: no bound]
    #[arg(long, value_name = "MAX", value_parser = parse_recurrent_max)]
    pub recurrent_max: Option<f64>,
}

impl RecurrenceArgs {
    /// `--nonlinearity`, or the cell's default: tanh, relu for an IndRNN.
    pub fn nonlinearity(&self) -> Nonlinearity {
        self.nonlinearity.map_or(self.cell.default_nonlinearity(), Into::into)
    }
}

/// The data a trained model is scored or diagnosed on, as its task reads it (`rnn evaluate`,
/// `rnn diagnose`).
#[derive(Debug, clap::Args)]
pub struct DataFiles {
    /// Data file: the CSV series (forecast) or the text (charlm)
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Input sequences .npy [N, T, I] (sequence and classify models)
    #[arg(long, value_name = "PATH")]
    pub inputs: Option<PathBuf>,
    /// Targets .npy [N, T, O] or [N, O] (sequence models)
    #[arg(long, value_name = "PATH")]
    pub targets: Option<PathBuf>,
    /// Class labels .npy [N] (classify models)
    #[arg(long, value_name = "PATH")]
    pub labels: Option<PathBuf>,
}

/// A `--plot STEM` as given, less a trailing `.png` or `.svg` (any case): `--plot next.png`
/// writes `next.png` and `next.svg`, not `next.png.png`. Not UTF-8 is kept as it is.
pub fn plot_stem(given: std::ffi::OsString) -> PathBuf {
    let path = PathBuf::from(given);
    match path.extension() {
        Some(e) if e.eq_ignore_ascii_case("png") || e.eq_ignore_ascii_case("svg") => path.with_extension(""),
        _ => path,
    }
}

/// The parser of a `--plot STEM` flag (see [`plot_stem`]).
pub fn plot_stem_parser() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), plot_stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plot_stem_loses_an_image_extension_only() {
        let stem = |s: &str| plot_stem(s.into());
        assert_eq!(stem("d/next.png"), PathBuf::from("d/next"));
        assert_eq!(stem("next.SVG"), PathBuf::from("next"));
        assert_eq!(stem("d/m.forecast"), PathBuf::from("d/m.forecast"));
        assert_eq!(stem("next"), PathBuf::from("next"));
        assert_eq!(stem(".png"), PathBuf::from(".png"));
    }
}
