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
