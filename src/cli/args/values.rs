//! The value types shared by several commands' flags.

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

/// Parses `--cell`: rnn (Elman), lstm or gru.
pub fn parse_cell(s: &str) -> Result<Cell, String> {
    s.parse().map_err(|e: rnn::Error| e.to_string())
}

/// The recurrent cell and its options, shared by `rnn init` and `rnn train`.
#[derive(Debug, clap::Args)]
pub struct RecurrenceArgs {
    /// Recurrent cell: rnn (Elman, with --nonlinearity), lstm or gru (PyTorch's nn.RNN, nn.LSTM, nn.GRU)
    #[arg(long, value_parser = parse_cell, default_value = "rnn")]
    pub cell: rnn::Cell,
    /// Activation of the recurrence (rnn cells)
    #[arg(long, value_enum, default_value_t = Act::Tanh)]
    pub nonlinearity: Act,
    /// LSTM only: project each hidden state to this many features (weight_hr), smaller than H
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub proj_size: usize,
    /// LSTM only: set every forget-gate bias to this value (1.0 is the usual choice)
    #[arg(long, value_name = "B")]
    pub forget_bias: Option<f64>,
    /// LSTM/GRU: chrono initialisation of the gate biases for dependencies up to T steps
    #[arg(long, value_name = "T")]
    pub chrono: Option<f64>,
}
