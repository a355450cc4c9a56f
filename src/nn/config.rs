//! The hyper-parameters of a deep RNN ([`RnnConfig`]), with PyTorch's names and defaults, and
//! their spelling in a model file.
//!
//! # Example
//! ```
//! use rnn::{Cell, RnnConfig};
//! // nn.GRU(3, 4, num_layers=2, bidirectional=True)
//! let config = RnnConfig::new(3, 4).with_cell(Cell::Gru).with_num_layers(2).with_bidirectional(true);
//! config.validate()?;
//! assert_eq!(config.output_width(), 8);
//! # Ok::<(), rnn::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::nn::cell::Cell;
use crate::{Error, Nonlinearity, Result};

/// The hyper-parameters of a deep RNN, with the names and defaults of PyTorch's `nn.RNN`,
/// `nn.LSTM` and `nn.GRU`.
///
/// | Name | Default | Meaning |
/// |---|---|---|
/// | `input_size` | required | features per step of the input |
/// | `hidden_size` | required | units per layer and direction (`H`) |
/// | `num_layers` | 1 | stacked layers |
/// | `cell` | rnn | [`Cell::Rnn`] (Elman), [`Cell::Lstm`], [`Cell::Gru`] or [`Cell::IndRnn`]: PyTorch's `mode` |
/// | `nonlinearity` | tanh (relu for IndRNN) | the Elman and IndRNN cells' activation: tanh, relu or sigmoid |
/// | `bias` | true | use `b_ih` and `b_hh` |
/// | `dropout` | 0 | dropout on each layer's output but the last, training only, in `[0, 1)` |
/// | `bidirectional` | false | add a reverse-time direction per layer; outputs are concatenated |
/// | `proj_size` | 0 | LSTM only: project each hidden state to this width with `W_hr` (0 = none) |
/// | `recurrent_max` | none | IndRNN only: the bound on `\|u\|`, kept at initialisation and after every optimizer step |
/// | `residual` | false | each layer whose input is as wide as its output adds that input to its output (not in PyTorch) |
///
/// In a model file it is JSON with these keys and `mode` (`RNN_TANH`, `RNN_RELU`,
/// `RNN_SIGMOID`, `LSTM`, `GRU`, `INDRNN`) for the cell; files without `mode` are Elman
/// models. An IndRNN file without `nonlinearity` is a relu one.
///
/// `recurrent_max` is the IndRNN paper's constraint (Li et al. 2018): an IndRNN unit's gradient
/// through `T` steps is scaled by `u^T` (times the activation's derivatives, 1 for an active
/// relu), so `|u| <= 2^(1/T)` keeps it from growing more than twofold over `T` steps
/// (`2^(1/100) ≈ 1.0069`).
///
/// # Example
/// ```
/// use rnn::{Cell, RnnConfig};
/// let c = RnnConfig::new(3, 8).with_cell(Cell::Lstm).with_num_layers(2).with_bidirectional(true).with_proj_size(4);
/// assert_eq!((c.num_directions(), c.state_size(), c.output_width()), (2, 4, 8));
/// assert_eq!((c.layer_input_size(0), c.layer_input_size(1)), (3, 8));
/// assert!(!c.has_residual());
/// let elman = RnnConfig::new(3, 8)
///     .with_nonlinearity(rnn::Nonlinearity::Relu)
///     .with_bias(false)
///     .with_num_layers(2)
///     .with_dropout(0.1)
///     .with_residual(true);
/// assert_eq!((elman.residual_at(0), elman.residual_at(1), elman.has_residual()), (false, true, true));
/// let indrnn = RnnConfig::new(3, 8).with_cell(Cell::IndRnn).with_recurrent_max(Some(2f64.powf(0.01)));
/// indrnn.validate()?;
/// // the JSON of a model file's `rnn.config` (the head's `output_size` beside it)
/// let json = serde_json::to_value(&c).map_err(|e| rnn::Error::Config(e.to_string()))?;
/// assert_eq!((json["mode"].as_str(), json["proj_size"].as_u64()), (Some("LSTM"), Some(4)));
/// c.validate()?;
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConfigRepr", into = "ConfigRepr")]
pub struct RnnConfig {
    /// Features per step of the input.
    pub input_size: usize,
    /// Units per layer and direction.
    pub hidden_size: usize,
    /// Number of stacked layers.
    pub num_layers: usize,
    /// The recurrent cell.
    pub cell: Cell,
    /// The Elman cell's activation (unused by the gated cells).
    pub nonlinearity: Nonlinearity,
    /// Whether the layers have biases.
    pub bias: bool,
    /// Dropout probability between layers (training only); not written when zero, so the
    /// metadata holds exactly PyTorch's arguments for a model without dropout.
    pub dropout: f64,
    /// Whether each layer also runs backwards in time.
    pub bidirectional: bool,
    /// An LSTM's projection size (`h_t = W_hr (o ⊙ tanh c_t)`), 0 for none.
    pub proj_size: usize,
    /// An IndRNN's bound on its recurrent weights: every `|u_j|` is clamped to it at
    /// initialisation and by the trainer after each optimizer step ([`crate::Rnn::clamp_recurrent`]);
    /// `None` for no bound.
    pub recurrent_max: Option<f64>,
    /// Residual connections between stacked layers: a layer whose input is as wide as its
    /// output ([`RnnConfig::residual_at`]) outputs `h_t + input_t` (before dropout), as in
    /// GNMT (Wu et al. 2016). PyTorch's modules have no such option: a residual model's
    /// parameters load into `nn.RNN`/`nn.LSTM`/`nn.GRU` layer by layer, the additions are the
    /// caller's. Not written when false.
    pub residual: bool,
}

/// [`RnnConfig`] as the model file's JSON spells it.
#[derive(Serialize, Deserialize)]
struct ConfigRepr {
    input_size: usize,
    hidden_size: usize,
    #[serde(default = "one")]
    num_layers: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonlinearity: Option<Nonlinearity>,
    #[serde(default = "yes")]
    bias: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    dropout: f64,
    #[serde(default)]
    bidirectional: bool,
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    proj_size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recurrent_max: Option<f64>,
    #[serde(default, skip_serializing_if = "is_false")]
    residual: bool,
}

impl TryFrom<ConfigRepr> for RnnConfig {
    type Error = Error;
    fn try_from(r: ConfigRepr) -> Result<Self> {
        let (cell, act) = match &r.mode {
            Some(mode) => Cell::from_mode(mode)?,
            None => (Cell::Rnn, None),
        };
        let nonlinearity = match (act, r.nonlinearity) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::Config(format!("mode {} disagrees with nonlinearity {b}", cell.mode(a))));
            }
            (a, b) => a.or(b).unwrap_or(cell.default_nonlinearity()),
        };
        Ok(RnnConfig {
            input_size: r.input_size,
            hidden_size: r.hidden_size,
            num_layers: r.num_layers,
            cell,
            nonlinearity,
            bias: r.bias,
            dropout: r.dropout,
            bidirectional: r.bidirectional,
            proj_size: r.proj_size,
            recurrent_max: r.recurrent_max,
            residual: r.residual,
        })
    }
}

impl From<RnnConfig> for ConfigRepr {
    fn from(c: RnnConfig) -> Self {
        ConfigRepr {
            input_size: c.input_size,
            hidden_size: c.hidden_size,
            num_layers: c.num_layers,
            mode: Some(c.cell.mode(c.nonlinearity).to_string()),
            nonlinearity: c.cell.has_nonlinearity().then_some(c.nonlinearity),
            bias: c.bias,
            dropout: c.dropout,
            bidirectional: c.bidirectional,
            proj_size: c.proj_size,
            recurrent_max: c.recurrent_max,
            residual: c.residual,
        }
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}
fn is_zero_usize(v: &usize) -> bool {
    *v == 0
}
fn is_false(v: &bool) -> bool {
    !*v
}
fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}

impl RnnConfig {
    /// A one-layer, unidirectional tanh RNN with biases and no dropout.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Nonlinearity, RnnConfig};
    /// let c = RnnConfig::new(3, 4); // nn.RNN(3, 4)
    /// assert_eq!((c.input_size, c.hidden_size, c.num_layers), (3, 4, 1));
    /// assert_eq!((c.cell, c.nonlinearity, c.bias, c.bidirectional), (Cell::Rnn, Nonlinearity::Tanh, true, false));
    /// ```
    pub fn new(input_size: usize, hidden_size: usize) -> Self {
        RnnConfig {
            input_size,
            hidden_size,
            num_layers: 1,
            cell: Cell::Rnn,
            nonlinearity: Nonlinearity::Tanh,
            bias: true,
            dropout: 0.0,
            bidirectional: false,
            proj_size: 0,
            recurrent_max: None,
            residual: false,
        }
    }
    /// Sets the cell (Elman, LSTM, GRU or IndRNN) and the nonlinearity to that cell's default
    /// ([`Cell::default_nonlinearity`]: relu for the IndRNN, tanh for the others); call
    /// [`RnnConfig::with_nonlinearity`] after it for another.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Nonlinearity, RnnConfig};
    /// assert_eq!(RnnConfig::new(3, 8).with_cell(Cell::IndRnn).nonlinearity, Nonlinearity::Relu);
    /// let tanh = RnnConfig::new(3, 8).with_cell(Cell::IndRnn).with_nonlinearity(Nonlinearity::Tanh);
    /// assert_eq!(tanh.nonlinearity, Nonlinearity::Tanh);
    /// ```
    pub fn with_cell(mut self, cell: Cell) -> Self {
        self.cell = cell;
        self.nonlinearity = cell.default_nonlinearity();
        self
    }
    /// Sets an IndRNN's bound on `|u|` (`None` for none); `2^(1/T)` for dependencies over `T`
    /// steps, as the paper does.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let bound = 2f64.powf(1.0 / 5.0); // dependencies over 5 steps
    /// let c = RnnConfig::new(1, 4).with_cell(Cell::IndRnn).with_recurrent_max(Some(bound));
    /// let rnn = Rnn::<f64>::new(c, Init::PyTorch, 0)?;
    /// let u = rnn.layers()[0].weight_hh_diag.as_ref().expect("an IndRNN layer has u");
    /// assert!(u.iter().all(|v| v.abs() <= bound)); // kept at initialisation
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn with_recurrent_max(mut self, recurrent_max: Option<f64>) -> Self {
        self.recurrent_max = recurrent_max;
        self
    }
    /// Sets an LSTM's `proj_size` (0 for none).
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let c = RnnConfig::new(3, 8).with_cell(Cell::Lstm).with_proj_size(2); // nn.LSTM(3, 8, proj_size=2)
    /// let lstm = Rnn::<f32>::new(c, Init::PyTorch, 0)?;
    /// assert_eq!(lstm.layers()[0].weight_hr.as_ref().map(|w| w.dim()), Some((2, 8)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn with_proj_size(mut self, proj_size: usize) -> Self {
        self.proj_size = proj_size;
        self
    }
    /// The width of each direction's state and output: `proj_size` when set, else
    /// `hidden_size`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, RnnConfig};
    /// assert_eq!(RnnConfig::new(3, 8).state_size(), 8);
    /// assert_eq!(RnnConfig::new(3, 8).with_cell(Cell::Lstm).with_proj_size(2).state_size(), 2);
    /// ```
    pub fn state_size(&self) -> usize {
        if self.proj_size > 0 { self.proj_size } else { self.hidden_size }
    }
    /// Sets `num_layers`.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f32>::new(RnnConfig::new(2, 4).with_num_layers(3), Init::PyTorch, 0)?;
    /// let (_, h_n) = rnn.forward(Array3::zeros((5, 1, 2)).view(), None)?;
    /// assert_eq!(h_n.dim(), (3, 1, 4)); // one final state per layer
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn with_num_layers(mut self, num_layers: usize) -> Self {
        self.num_layers = num_layers;
        self
    }
    /// Sets the activation.
    ///
    /// # Example
    /// ```
    /// use rnn::{Nonlinearity, RnnConfig};
    /// let c = RnnConfig::new(2, 4).with_nonlinearity(Nonlinearity::Relu); // nn.RNN(2, 4, nonlinearity="relu")
    /// assert_eq!(c.cell.mode(c.nonlinearity), "RNN_RELU");
    /// ```
    pub fn with_nonlinearity(mut self, nonlinearity: Nonlinearity) -> Self {
        self.nonlinearity = nonlinearity;
        self
    }
    /// Sets whether the layers have biases.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f32>::new(RnnConfig::new(2, 4).with_bias(false), Init::PyTorch, 0)?;
    /// assert!(rnn.layers()[0].bias_ih.is_none() && rnn.layers()[0].bias_hh.is_none());
    /// assert_eq!(rnn.num_params(), 4 * 2 + 4 * 4); // W_ih and W_hh only
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// Sets the dropout between layers.
    ///
    /// # Example
    /// ```
    /// use rnn::RnnConfig;
    /// let c = RnnConfig::new(2, 4).with_num_layers(2).with_dropout(0.2); // between layers 0 and 1
    /// assert_eq!(c.dropout, 0.2);
    /// c.validate()?;
    /// assert!(RnnConfig::new(2, 4).with_dropout(1.0).validate().is_err()); // must be in [0, 1)
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }
    /// Sets residual connections between layers ([`RnnConfig::residual`]).
    ///
    /// # Example
    /// ```
    /// use rnn::RnnConfig;
    /// let c = RnnConfig::new(3, 8).with_num_layers(4).with_residual(true);
    /// // layer 0 reads 3 features and outputs 8: no residual there
    /// assert_eq!((0..4).map(|l| c.residual_at(l)).collect::<Vec<_>>(), [false, true, true, true]);
    /// ```
    pub fn with_residual(mut self, residual: bool) -> Self {
        self.residual = residual;
        self
    }
    /// Sets bidirectionality.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f32>::new(RnnConfig::new(2, 4).with_bidirectional(true), Init::PyTorch, 0)?;
    /// let (y, h_n) = rnn.forward(Array3::zeros((5, 1, 2)).view(), None)?;
    /// assert_eq!((y.dim(), h_n.dim()), ((5, 1, 8), (2, 1, 4))); // both directions' outputs side by side
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn with_bidirectional(mut self, bidirectional: bool) -> Self {
        self.bidirectional = bidirectional;
        self
    }
    /// 2 when bidirectional, else 1.
    ///
    /// # Example
    /// ```
    /// use rnn::RnnConfig;
    /// assert_eq!(RnnConfig::new(2, 4).num_directions(), 1);
    /// assert_eq!(RnnConfig::new(2, 4).with_bidirectional(true).num_directions(), 2);
    /// ```
    pub fn num_directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }
    /// Width of the RNN's output, `num_directions * state_size` (`hidden_size` unless an
    /// LSTM projects).
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, RnnConfig};
    /// assert_eq!(RnnConfig::new(2, 4).with_bidirectional(true).output_width(), 8);
    /// let projected = RnnConfig::new(2, 4).with_cell(Cell::Lstm).with_proj_size(3).with_bidirectional(true);
    /// assert_eq!(projected.output_width(), 6);
    /// ```
    pub fn output_width(&self) -> usize {
        self.num_directions() * self.state_size()
    }
    /// The input width of layer `layer`.
    ///
    /// # Example
    /// ```
    /// use rnn::RnnConfig;
    /// let c = RnnConfig::new(3, 4).with_num_layers(2).with_bidirectional(true);
    /// assert_eq!(c.layer_input_size(0), 3); // the input's features
    /// assert_eq!(c.layer_input_size(1), 8); // the layer below's two directions
    /// ```
    pub fn layer_input_size(&self, layer: usize) -> usize {
        if layer == 0 { self.input_size } else { self.output_width() }
    }
    /// Whether layer `layer` adds its input to its output: [`RnnConfig::residual`] is set and
    /// the layer's input is as wide as its output (every layer but the first; the first too
    /// when `input_size` equals the output width).
    ///
    /// # Example
    /// ```
    /// use rnn::RnnConfig;
    /// let c = RnnConfig::new(4, 4).with_num_layers(2).with_residual(true);
    /// assert!(c.residual_at(0) && c.residual_at(1)); // 4 features in, 4 out: the first layer too
    /// assert!(!RnnConfig::new(3, 4).with_residual(true).residual_at(0));
    /// ```
    pub fn residual_at(&self, layer: usize) -> bool {
        self.residual && self.layer_input_size(layer) == self.output_width()
    }
    /// Whether any layer adds its input to its output ([`RnnConfig::residual_at`]).
    ///
    /// # Example
    /// ```
    /// use rnn::RnnConfig;
    /// assert!(RnnConfig::new(3, 4).with_num_layers(2).with_residual(true).has_residual());
    /// // one layer reading 3 features and writing 4 cannot add its input
    /// assert!(!RnnConfig::new(3, 4).with_residual(true).has_residual());
    /// ```
    pub fn has_residual(&self) -> bool {
        (0..self.num_layers).any(|l| self.residual_at(l))
    }
    /// Checks every value is in range.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad value.
    ///
    /// # Example
    /// ```
    /// use rnn::RnnConfig;
    /// RnnConfig::new(3, 8).with_dropout(0.2).validate()?;
    /// let err = RnnConfig::new(3, 0).validate().unwrap_err();
    /// assert!(err.to_string().contains("hidden_size"));
    /// assert!(RnnConfig::new(3, 8).with_dropout(1.5).validate().is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        for (name, v) in
            [("input_size", self.input_size), ("hidden_size", self.hidden_size), ("num_layers", self.num_layers)]
        {
            if v == 0 {
                return Err(Error::Config(format!("{name} must be at least 1")));
            }
        }
        if self.num_layers > crate::nn::memory::MAX_LAYERS {
            return Err(Error::Config(format!(
                "num_layers must be at most {}, got {}",
                crate::nn::memory::MAX_LAYERS,
                self.num_layers
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Config(format!("dropout must be in [0, 1), got {}", self.dropout)));
        }
        if let Some(m) = self.recurrent_max {
            if self.cell != Cell::IndRnn {
                return Err(Error::Config(format!("recurrent_max is for IndRNN cells only, not {}", self.cell)));
            }
            if !(m.is_finite() && m > 0.0) {
                return Err(Error::Config(format!("recurrent_max must be positive and finite, got {m}")));
            }
        }
        if self.proj_size > 0 && self.cell != Cell::Lstm {
            return Err(Error::Config(format!("proj_size is for LSTM cells only, not {}", self.cell)));
        }
        if self.proj_size >= self.hidden_size && self.proj_size > 0 {
            return Err(Error::Config(format!(
                "proj_size ({}) must be smaller than hidden_size ({})",
                self.proj_size, self.hidden_size
            )));
        }
        Ok(())
    }
}
