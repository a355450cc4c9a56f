//! The models an experiment compares ([`ModelSpec`]: a cell and an initialisation variant, named
//! as `lstm:forget-bias`), and the hyper-parameters each is trained with ([`Hyper`]).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::{Cell, Error, Init, Nonlinearity, Result};

/// How a cell is initialised and trained, beyond its defaults.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{ModelSpec, Variant};
/// let variants: Vec<Variant> = ModelSpec::parse_list("rnn:orthogonal, irnn, gru:chrono")?.iter().map(|m| m.variant).collect();
/// assert_eq!(variants, [Variant::Orthogonal, Variant::Irnn, Variant::Chrono]);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The cell's defaults: PyTorch's initialisation (an IndRNN: `u` from U(0, 1), bounded by
    /// `2^(1/T)`, relu).
    Plain,
    /// Elman tanh with an orthogonal recurrent matrix (Saxe et al. 2014) and gradient clipping.
    Orthogonal,
    /// IRNN (Le, Jaitly and Hinton 2015): Elman relu with an identity recurrent matrix, zero
    /// biases, a lower learning rate and clipping.
    Irnn,
    /// LSTM with its forget-gate bias set to 1 (Gers et al. 2000; Jozefowicz et al. 2015).
    ForgetBias,
    /// LSTM or GRU with chrono initialisation (Tallec and Ollivier 2018) for the task's length.
    Chrono,
}

/// One model of an experiment: a cell and a variant, parsed from names such as `rnn`, `lstm`,
/// `gru`, `indrnn`, `rnn:orthogonal`, `irnn` (or `rnn:irnn`), `lstm:forget-bias`,
/// `lstm:chrono`, `gru:chrono`.
///
/// # Example
/// ```
/// use rnn::Cell;
/// use rnn::tasks::experiment::{ModelSpec, Variant};
/// let spec: ModelSpec = "lstm:forget-bias".parse()?;
/// assert_eq!((spec.cell, spec.variant), (Cell::Lstm, Variant::ForgetBias));
/// assert_eq!("irnn".parse::<ModelSpec>()?.to_string(), "rnn:irnn");
/// assert!("gru:forget-bias".parse::<ModelSpec>().is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// The recurrent cell.
    pub cell: Cell,
    /// Its initialisation and training variant.
    pub variant: Variant,
}

/// The names every variant is spelled with (after `cell:`).
const VARIANTS: &str = "rnn:orthogonal, rnn:irnn (or irnn), lstm:forget-bias, lstm:chrono, gru:chrono";

impl ModelSpec {
    /// The cell with its defaults.
    ///
    /// # Example
    /// ```
    /// use rnn::Cell;
    /// use rnn::tasks::experiment::{ModelSpec, Variant};
    /// assert_eq!(ModelSpec::plain(Cell::Gru).variant, Variant::Plain);
    /// assert_eq!(ModelSpec::default_list().len(), 7);
    /// assert_eq!(ModelSpec::parse_list("rnn, lstm:chrono")?.len(), 2);
    /// assert!(ModelSpec::parse_list("").is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn plain(cell: Cell) -> Self {
        ModelSpec { cell, variant: Variant::Plain }
    }

    /// The default comparison: Elman tanh (PyTorch init), Elman tanh orthogonal with clipping,
    /// IRNN, IndRNN, LSTM, LSTM with forget-gate bias 1, GRU.
    pub fn default_list() -> Vec<ModelSpec> {
        let v = |cell, variant| ModelSpec { cell, variant };
        vec![
            v(Cell::Rnn, Variant::Plain),
            v(Cell::Rnn, Variant::Orthogonal),
            v(Cell::Rnn, Variant::Irnn),
            v(Cell::IndRnn, Variant::Plain),
            v(Cell::Lstm, Variant::Plain),
            v(Cell::Lstm, Variant::ForgetBias),
            v(Cell::Gru, Variant::Plain),
        ]
    }

    /// Parses a comma-separated list such as `rnn,lstm:forget-bias,gru` (spaces allowed).
    ///
    /// # Errors
    /// [`Error::Config`] naming the first unknown model, or for an empty list.
    ///
    /// # Example
    /// ```
    /// use rnn::Cell;
    /// use rnn::tasks::experiment::ModelSpec;
    /// let specs = ModelSpec::parse_list("rnn, lstm:forget-bias,gru")?;
    /// let cells: Vec<Cell> = specs.iter().map(|s| s.cell).collect();
    /// assert_eq!(cells, [Cell::Rnn, Cell::Lstm, Cell::Gru]);
    /// let err = ModelSpec::parse_list("rnn,transformer").unwrap_err();
    /// assert!(err.to_string().contains("transformer"));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn parse_list(list: &str) -> Result<Vec<ModelSpec>> {
        let specs =
            list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::parse).collect::<Result<Vec<_>>>()?;
        if specs.is_empty() {
            return Err(Error::Config("the list of models is empty".into()));
        }
        Ok(specs)
    }

    /// The hyper-parameters this model is trained with on sequences of `seq_len` steps, given the
    /// experiment's hidden size, batch size, layers (`None`: the model's default, 2 for an
    /// IndRNN as in Li et al. 2018, else 1) and learning rate (`None`: the model's default).
    ///
    /// # Example
    /// ```
    /// use rnn::Cell;
    /// use rnn::tasks::experiment::ModelSpec;
    /// let h = "indrnn".parse::<ModelSpec>()?.hyper(100, 32, 16, None, None);
    /// assert_eq!((h.cell, h.num_layers, h.hidden_size), (Cell::IndRnn, 2, 32)); // 2 layers, as Li et al.
    /// assert!(h.recurrent_max.is_some_and(|m| (m - 2f64.powf(0.01)).abs() < 1e-12));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn hyper(
        &self,
        seq_len: usize,
        hidden: usize,
        batch_size: usize,
        layers: Option<usize>,
        lr: Option<f64>,
    ) -> Hyper {
        let (init, nonlinearity, base_lr, clip_norm) = match (self.cell, self.variant) {
            (Cell::Rnn, Variant::Orthogonal) => (Init::Orthogonal, Nonlinearity::Tanh, 1e-3, Some(1.0)),
            // Le et al. use a small learning rate and clipping: relu with identity weights
            // explodes easily
            (Cell::Rnn, Variant::Irnn) => (Init::Identity, Nonlinearity::Relu, 1e-4, Some(1.0)),
            // measured on the adding problem at T = 200 (seed 0, 3,000 steps): at 1e-3 the LSTM
            // (with or without forget-gate bias) stays at the baseline (test MSE 0.162), at 3e-3
            // it leaves it after ~2,700 steps and reaches 0.0063
            (Cell::Lstm, _) => (Init::PyTorch, Nonlinearity::Tanh, 3e-3, None),
            (cell, _) => (Init::PyTorch, cell.default_nonlinearity(), 1e-3, None),
        };
        let t = seq_len.max(2) as f64;
        Hyper {
            cell: self.cell,
            init,
            nonlinearity: self.cell.has_nonlinearity().then_some(nonlinearity),
            hidden_size: hidden,
            num_layers: layers.unwrap_or(if self.cell == Cell::IndRnn { 2 } else { 1 }),
            residual: false,
            lr: lr.unwrap_or(base_lr),
            clip_norm,
            batch_size,
            recurrent_max: (self.cell == Cell::IndRnn).then(|| 2f64.powf(1.0 / t)),
            forget_bias: (self.variant == Variant::ForgetBias).then_some(1.0),
            chrono: (self.variant == Variant::Chrono).then_some(t),
        }
    }
}

impl FromStr for ModelSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let name = s.trim().to_ascii_lowercase();
        if name == "irnn" {
            return Ok(ModelSpec { cell: Cell::Rnn, variant: Variant::Irnn });
        }
        let unknown = || {
            Error::Config(format!(
                "unknown model `{}` (expected rnn, lstm, gru, indrnn or a variant: {VARIANTS})",
                s.trim()
            ))
        };
        let (cell, variant) = name.split_once(':').unwrap_or((&name, "plain"));
        let cell: Cell = cell.parse().map_err(|_| unknown())?;
        let variant = match (cell, variant) {
            (_, "plain") => Variant::Plain,
            (Cell::Rnn, "orthogonal") => Variant::Orthogonal,
            (Cell::Rnn, "irnn" | "identity") => Variant::Irnn,
            (Cell::Lstm, "forget-bias") => Variant::ForgetBias,
            (Cell::Lstm | Cell::Gru, "chrono") => Variant::Chrono,
            _ => return Err(unknown()),
        };
        Ok(ModelSpec { cell, variant })
    }
}

impl fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = match self.variant {
            Variant::Plain => "",
            Variant::Orthogonal => ":orthogonal",
            Variant::Irnn => ":irnn",
            Variant::ForgetBias => ":forget-bias",
            Variant::Chrono => ":chrono",
        };
        write!(f, "{}{variant}", self.cell.name())
    }
}

/// The hyper-parameters a model was trained with, as the results report them.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::ModelSpec;
/// let h = "lstm:forget-bias".parse::<ModelSpec>()?.hyper(50, 16, 8, Some(2), Some(1e-3));
/// assert_eq!((h.num_layers, h.hidden_size, h.batch_size, h.lr, h.forget_bias), (2, 16, 8, 1e-3, Some(1.0)));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hyper {
    /// The cell (`rnn`, `lstm`, `gru` or `indrnn` in JSON).
    pub cell: Cell,
    /// The initialisation scheme.
    pub init: Init,
    /// The Elman or IndRNN activation (`None` for the gated cells).
    pub nonlinearity: Option<Nonlinearity>,
    /// Units per layer.
    pub hidden_size: usize,
    /// Stacked layers.
    pub num_layers: usize,
    /// Residual connections between layers.
    pub residual: bool,
    /// Adam's learning rate.
    pub lr: f64,
    /// Gradient-norm clipping.
    pub clip_norm: Option<f64>,
    /// Sequences per optimizer step.
    pub batch_size: usize,
    /// An IndRNN's bound on `|u|`, `2^(1/T)`.
    pub recurrent_max: Option<f64>,
    /// An LSTM's forget-gate bias.
    pub forget_bias: Option<f64>,
    /// Chrono initialisation's `T_max`.
    pub chrono: Option<f64>,
}
