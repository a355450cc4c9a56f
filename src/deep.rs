//! The deep (stacked) RNN: `num_layers` Elman layers, layer k reading layer k-1's hidden
//! states, optional inverted dropout between layers (training only) and optional
//! bidirectionality, laid out exactly as PyTorch's `nn.RNN`.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMutD, Axis, CowArray, Ix3, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::kernels::{PackedRef, matmul};
use crate::layer::{InputGrad, LayerGradsOut, LayerParams, Recurrence, Tape, Upstream};
use crate::nn::cell::Cell;
use crate::nn::gated::GatedGradsOut;
use crate::nn::gru::{self, GruOut};
use crate::nn::lstm::{self, LstmOut};
use crate::{Error, Float, Init, Nonlinearity, Result};

/// The hyper-parameters of a deep RNN, with the names and defaults of PyTorch's `nn.RNN`,
/// `nn.LSTM` and `nn.GRU`.
///
/// | Name | Default | Meaning |
/// |---|---|---|
/// | `input_size` | required | features per step of the input |
/// | `hidden_size` | required | units per layer and direction (`H`) |
/// | `num_layers` | 1 | stacked layers |
/// | `cell` | rnn | [`Cell::Rnn`] (Elman), [`Cell::Lstm`] or [`Cell::Gru`]: PyTorch's `mode` |
/// | `nonlinearity` | tanh | the Elman cell's activation: tanh, relu or sigmoid |
/// | `bias` | true | use `b_ih` and `b_hh` |
/// | `dropout` | 0 | dropout on each layer's output but the last, training only, in `[0, 1)` |
/// | `bidirectional` | false | add a reverse-time direction per layer; outputs are concatenated |
/// | `proj_size` | 0 | LSTM only: project each hidden state to this width with `W_hr` (0 = none) |
///
/// In a model file it is JSON with these keys and `mode` (`RNN_TANH`, `RNN_RELU`,
/// `RNN_SIGMOID`, `LSTM`, `GRU`) for the cell; files without `mode` are Elman models.
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
            (a, b) => a.or(b).unwrap_or_default(),
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
            nonlinearity: (c.cell == Cell::Rnn).then_some(c.nonlinearity),
            bias: c.bias,
            dropout: c.dropout,
            bidirectional: c.bidirectional,
            proj_size: c.proj_size,
        }
    }
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}
fn is_zero_usize(v: &usize) -> bool {
    *v == 0
}
fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}

impl RnnConfig {
    /// A one-layer, unidirectional tanh RNN with biases and no dropout.
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
        }
    }
    /// Sets the cell (Elman, LSTM or GRU).
    pub fn with_cell(mut self, cell: Cell) -> Self {
        self.cell = cell;
        self
    }
    /// Sets an LSTM's `proj_size` (0 for none).
    pub fn with_proj_size(mut self, proj_size: usize) -> Self {
        self.proj_size = proj_size;
        self
    }
    /// The width of each direction's state and output: `proj_size` when set, else
    /// `hidden_size`.
    pub fn state_size(&self) -> usize {
        if self.proj_size > 0 { self.proj_size } else { self.hidden_size }
    }
    /// Sets `num_layers`.
    pub fn with_num_layers(mut self, num_layers: usize) -> Self {
        self.num_layers = num_layers;
        self
    }
    /// Sets the activation.
    pub fn with_nonlinearity(mut self, nonlinearity: Nonlinearity) -> Self {
        self.nonlinearity = nonlinearity;
        self
    }
    /// Sets whether the layers have biases.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// Sets the dropout between layers.
    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }
    /// Sets bidirectionality.
    pub fn with_bidirectional(mut self, bidirectional: bool) -> Self {
        self.bidirectional = bidirectional;
        self
    }
    /// 2 when bidirectional, else 1.
    pub fn num_directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }
    /// Width of the RNN's output, `num_directions * state_size` (`hidden_size` unless an
    /// LSTM projects).
    pub fn output_width(&self) -> usize {
        self.num_directions() * self.state_size()
    }
    /// The input width of layer `layer`.
    pub fn layer_input_size(&self, layer: usize) -> usize {
        if layer == 0 { self.input_size } else { self.output_width() }
    }
    /// Checks every value is in range.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad value.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in
            [("input_size", self.input_size), ("hidden_size", self.hidden_size), ("num_layers", self.num_layers)]
        {
            if v == 0 {
                return Err(Error::Config(format!("{name} must be at least 1")));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Config(format!("dropout must be in [0, 1), got {}", self.dropout)));
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

/// The PyTorch name of a layer parameter, e.g. `weight_hh_l1_reverse`.
pub fn param_name(stem: &str, layer: usize, reverse: bool) -> String {
    format!("{stem}_l{layer}{}", if reverse { "_reverse" } else { "" })
}

/// A deep, optionally bidirectional Elman RNN: PyTorch's `nn.RNN`.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::{Init, Rnn, RnnConfig};
/// let rnn = Rnn::<f64>::new(RnnConfig::new(3, 8).with_num_layers(2), Init::PyTorch, 42)?;
/// let x = Array3::<f64>::zeros((5, 4, 3)); // [seq_len, batch, input_size]
/// let (output, h_n) = rnn.forward(x.view(), None)?;
/// assert_eq!(output.shape(), &[5, 4, 8]);
/// assert_eq!(h_n.shape(), &[2, 4, 8]);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Rnn<F = f32> {
    config: RnnConfig,
    /// Index `layer * num_directions + direction`, as PyTorch lays out `h_n`.
    layers: Vec<LayerParams<F>>,
}

/// Everything the forward pass of a deep RNN kept for its backward pass. It borrows the input
/// (`'a`) rather than copying it.
#[derive(Clone, Debug)]
pub struct RnnTrace<'a, F = f32> {
    x: CowArray<'a, F, Ix3>,
    h0: Array3<F>,
    /// An LSTM's initial cell states `[L * D, batch, hidden_size]`.
    c0: Option<Array3<F>>,
    /// Hidden states per layer and direction, `[seq_len, batch, state_size]` each.
    hs: Vec<Array3<F>>,
    /// What a gated cell's backward pass needs besides the states, per layer and direction.
    caches: Vec<Option<GateCache<F>>>,
    /// Per layer: its output as the next layer (or the caller) sees it, when that is not simply
    /// `hs[layer * D]` (bidirectional concatenation and/or dropout).
    outputs: Vec<Option<Array3<F>>>,
    /// Per layer below the top: the dropout mask (already scaled by `1 / (1 - p)`).
    masks: Vec<Option<Array3<F>>>,
    h_n: Array3<F>,
    c_n: Option<Array3<F>>,
}

/// A gated direction's tape: the activated gates `[seq_len, batch, G * hidden_size]` and, for
/// an LSTM, its cell states, for a GRU the candidate's recurrent part `W_hn h + b_hn`
/// (`[seq_len, batch, hidden_size]`).
#[derive(Clone, Debug)]
pub(crate) struct GateCache<F> {
    gates: Array3<F>,
    extra: Array3<F>,
}

impl<F: Float> RnnTrace<'_, F> {
    /// The top layer's hidden states, `[seq_len, batch, num_directions * state_size]`.
    pub fn output(&self) -> ArrayView3<'_, F> {
        self.layer_output(self.outputs.len() - 1)
    }
    /// The final states `[num_layers * num_directions, batch, state_size]`.
    pub fn h_n(&self) -> ArrayView3<'_, F> {
        self.h_n.view()
    }
    /// An LSTM's final cell states `[num_layers * num_directions, batch, hidden_size]`
    /// (`None` for the other cells).
    pub fn c_n(&self) -> Option<ArrayView3<'_, F>> {
        self.c_n.as_ref().map(|c| c.view())
    }
    fn layer_output(&self, layer: usize) -> ArrayView3<'_, F> {
        let d = self.hs.len() / self.outputs.len();
        match &self.outputs[layer] {
            Some(o) => o.view(),
            None => self.hs[layer * d].view(),
        }
    }
    fn layer_input(&self, layer: usize) -> ArrayView3<'_, F> {
        if layer == 0 { self.x.view() } else { self.layer_output(layer - 1) }
    }
}

/// Gradients of a deep RNN's parameters, input and initial state.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnGrads<F = f32> {
    /// Parameter gradients, same layout as the parameters.
    pub layers: Vec<LayerParams<F>>,
    /// dL/dx, `[seq_len, batch, input_size]`; `None` when not asked for
    /// ([`Rnn::backward_owned`]).
    pub input: Option<Array3<F>>,
    /// dL/dh0, `[num_layers * num_directions, batch, state_size]`.
    pub h0: Array3<F>,
    /// dL/dc0 of an LSTM, `[num_layers * num_directions, batch, hidden_size]`.
    pub c0: Option<Array3<F>>,
}

impl<F: Float> RnnGrads<F> {
    /// Parameter gradients by PyTorch name (without a module prefix), in `state_dict` order.
    pub fn named_tensors(&self, config: &RnnConfig) -> Vec<(String, ArrayViewD<'_, F>)> {
        named(&self.layers, config.num_directions())
    }
}

fn named<F: Float>(layers: &[LayerParams<F>], dirs: usize) -> Vec<(String, ArrayViewD<'_, F>)> {
    layers
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.tensors().into_iter().map(move |(stem, t)| (param_name(stem, i / dirs, i % dirs == 1), t)))
        .collect()
}

impl<F: Float> Rnn<F> {
    /// A freshly initialised RNN; `seed` makes it reproducible.
    ///
    /// Parameters are drawn layer by layer, direction by direction, in `state_dict` order.
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration is out of range.
    pub fn new(config: RnnConfig, init: Init, seed: u64) -> Result<Self> {
        use rand::SeedableRng;
        Self::with_rng(config, init, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed))
    }

    /// As [`Rnn::new`], drawing from the given generator.
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration is out of range.
    pub fn with_rng<R: Rng + ?Sized>(config: RnnConfig, init: Init, rng: &mut R) -> Result<Self> {
        config.validate()?;
        let mut layers = Vec::new();
        for l in 0..config.num_layers {
            for _ in 0..config.num_directions() {
                let proj = (config.proj_size > 0).then_some(config.proj_size);
                let (i, h) = (config.layer_input_size(l), config.hidden_size);
                layers.push(LayerParams::init(config.cell, i, h, proj, config.bias, init, rng));
            }
        }
        Ok(Rnn { config, layers })
    }

    /// Builds an RNN from existing parameters (index `layer * num_directions + direction`).
    ///
    /// # Errors
    /// [`Error::Config`] when the count, shapes or bias presence disagree with `config`.
    pub fn from_parts(config: RnnConfig, layers: Vec<LayerParams<F>>) -> Result<Self> {
        config.validate()?;
        let dirs = config.num_directions();
        if layers.len() != config.num_layers * dirs {
            return Err(Error::Config(format!(
                "expected {} layer-directions, got {}",
                config.num_layers * dirs,
                layers.len()
            )));
        }
        for (i, p) in layers.iter().enumerate() {
            let (l, rev) = (i / dirs, i % dirs == 1);
            let (h, st, g) = (config.hidden_size, config.state_size(), config.cell.gates() * config.hidden_size);
            let want_ih = [g, config.layer_input_size(l)];
            let hr_ok = match &p.weight_hr {
                Some(w) => config.proj_size > 0 && w.shape() == [config.proj_size, h],
                None => config.proj_size == 0,
            };
            let checks = [
                ("weight_ih", p.weight_ih.shape() == want_ih),
                ("weight_hh", p.weight_hh.shape() == [g, st]),
                ("weight_hr", hr_ok),
            ];
            for (stem, ok) in checks {
                if !ok {
                    return Err(Error::Config(format!(
                        "{} has the wrong shape for this configuration",
                        param_name(stem, l, rev)
                    )));
                }
            }
            let bias_ok = match (&p.bias_ih, &p.bias_hh) {
                (Some(a), Some(b)) => config.bias && a.len() == g && b.len() == g,
                (None, None) => !config.bias,
                _ => false,
            };
            if !bias_ok {
                return Err(Error::Config(format!(
                    "biases of layer {l}{} disagree with bias = {}",
                    if rev { " (reverse)" } else { "" },
                    config.bias
                )));
            }
        }
        Ok(Rnn { config, layers })
    }

    /// The configuration.
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    /// Parameters per layer and direction (index `layer * num_directions + direction`).
    pub fn layers(&self) -> &[LayerParams<F>] {
        &self.layers
    }

    /// Mutable parameters (shapes must not change).
    pub fn layers_mut(&mut self) -> &mut [LayerParams<F>] {
        &mut self.layers
    }

    /// Sets the dropout probability used by [`Rnn::forward_train`].
    ///
    /// # Errors
    /// [`Error::Config`] when `p` is not in `[0, 1)`.
    pub fn set_dropout(&mut self, p: f64) -> Result<()> {
        let config = self.config.clone().with_dropout(p);
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Parameters by PyTorch name (without a module prefix), in `state_dict` order.
    pub fn named_tensors(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        named(&self.layers, self.config.num_directions())
    }

    /// Mutable parameters by PyTorch name, in `state_dict` order.
    pub fn named_tensors_mut(&mut self) -> Vec<(String, ArrayViewMutD<'_, F>)> {
        let dirs = self.config.num_directions();
        self.layers
            .iter_mut()
            .enumerate()
            .flat_map(|(i, p)| {
                p.tensors_mut().into_iter().map(move |(stem, t)| (param_name(stem, i / dirs, i % dirs == 1), t))
            })
            .collect()
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.named_tensors().iter().map(|(_, t)| t.len()).sum()
    }

    /// Inference: runs the stack without dropout, returning `(output, h_n)` as `nn.RNN` and
    /// `nn.GRU` do (an LSTM starts from zero cell states; see [`Rnn::forward_states`]).
    ///
    /// # Shapes
    /// `x [seq_len, batch, input_size]`, `h0 [num_layers * D, batch, S]` (zeros when `None`);
    /// `output [seq_len, batch, D * S]`, `h_n [num_layers * D, batch, S]`, with `D = 2` when
    /// bidirectional and `S` the [`RnnConfig::state_size`].
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape, or `seq_len` or `batch` is 0.
    pub fn forward(&self, x: ArrayView3<'_, F>, h0: Option<ArrayView3<'_, F>>) -> Result<(Array3<F>, Array3<F>)> {
        let trace = self.run(x, h0, None, None::<&mut rand_chacha::ChaCha8Rng>, &[])?;
        Ok((trace.output().to_owned(), trace.h_n))
    }

    /// Inference with every state, as `nn.LSTM` returns `output, (h_n, c_n)`: `c0` and `c_n`
    /// are an LSTM's cell states `[num_layers * D, batch, hidden_size]` (`c_n` is `None` for
    /// the other cells, which take no `c0`).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let lstm = Rnn::<f64>::new(RnnConfig::new(3, 8).with_cell(Cell::Lstm).with_proj_size(4), Init::PyTorch, 1)?;
    /// let x = Array3::<f64>::zeros((5, 2, 3));
    /// let (output, h_n, c_n) = lstm.forward_states(x.view(), None, None)?;
    /// assert_eq!((output.dim(), h_n.dim()), ((5, 2, 4), (1, 2, 4)));
    /// assert_eq!(c_n.map(|c| c.dim()), Some((1, 2, 8)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Rnn::forward`]; [`Error::Shape`] also for a `c0` of the wrong shape or given to a
    /// cell without one.
    pub fn forward_states(
        &self,
        x: ArrayView3<'_, F>,
        h0: Option<ArrayView3<'_, F>>,
        c0: Option<ArrayView3<'_, F>>,
    ) -> Result<Outputs<F>> {
        let trace = self.run(x, h0, c0, None::<&mut rand_chacha::ChaCha8Rng>, &[])?;
        Ok((trace.output().to_owned(), trace.h_n, trace.c_n))
    }

    /// Training forward pass: as [`Rnn::forward`] but with dropout between layers (drawn from
    /// `rng`) and keeping what [`Rnn::backward`] needs.
    ///
    /// # Errors
    /// As [`Rnn::forward`].
    pub fn forward_train<'a, R: Rng + ?Sized>(
        &self,
        x: ArrayView3<'a, F>,
        h0: Option<ArrayView3<'_, F>>,
        rng: &mut R,
    ) -> Result<RnnTrace<'a, F>> {
        self.run(x, h0, None, Some(rng), &[])
    }

    /// [`Rnn::forward_train`] from given LSTM cell states `c0` (see [`Rnn::forward_states`]).
    ///
    /// # Errors
    /// As [`Rnn::forward_states`].
    pub fn forward_train_states<'a, R: Rng + ?Sized>(
        &self,
        x: ArrayView3<'a, F>,
        h0: Option<ArrayView3<'_, F>>,
        c0: Option<ArrayView3<'_, F>>,
        rng: &mut R,
    ) -> Result<RnnTrace<'a, F>> {
        self.run(x, h0, c0, Some(rng), &[])
    }

    /// Forward pass without dropout that keeps what [`Rnn::backward`] needs.
    ///
    /// # Errors
    /// As [`Rnn::forward`].
    pub fn forward_trace<'a>(&self, x: ArrayView3<'a, F>, h0: Option<ArrayView3<'_, F>>) -> Result<RnnTrace<'a, F>> {
        self.run(x, h0, None, None::<&mut rand_chacha::ChaCha8Rng>, &[])
    }

    /// [`Rnn::forward_trace`] from given LSTM cell states `c0` (see [`Rnn::forward_states`]).
    ///
    /// # Errors
    /// As [`Rnn::forward_states`].
    pub fn forward_trace_states<'a>(
        &self,
        x: ArrayView3<'a, F>,
        h0: Option<ArrayView3<'_, F>>,
        c0: Option<ArrayView3<'_, F>>,
    ) -> Result<RnnTrace<'a, F>> {
        self.run(x, h0, c0, None::<&mut rand_chacha::ChaCha8Rng>, &[])
    }

    /// Forward pass without dropout that reads each layer's `W_hhᵀ` from `packed` (index
    /// `layer * D + direction`, made by [`Packed::pack`]) instead of packing it again.
    ///
    /// [`Packed::pack`]: crate::kernels::Packed::pack
    pub(crate) fn forward_packed<'a>(
        &self,
        x: ArrayView3<'a, F>,
        h0: Option<ArrayView3<'_, F>>,
        c0: Option<ArrayView3<'_, F>>,
        packed: &[PackedRef<'_, F>],
    ) -> Result<RnnTrace<'a, F>> {
        self.run(x, h0, c0, None::<&mut rand_chacha::ChaCha8Rng>, packed)
    }

    fn run<'a, R: Rng + ?Sized>(
        &self,
        x: ArrayView3<'a, F>,
        h0: Option<ArrayView3<'_, F>>,
        c0: Option<ArrayView3<'_, F>>,
        rng: Option<&mut R>,
        packed: &[PackedRef<'_, F>],
    ) -> Result<RnnTrace<'a, F>> {
        let c = &self.config;
        let (seq_len, batch, input_size) = x.dim();
        if input_size != c.input_size || seq_len == 0 || batch == 0 {
            return Err(Error::shape("input", format!("[seq_len >= 1, batch >= 1, {}]", c.input_size), x.shape()));
        }
        let (dirs, hidden, state) = (c.num_directions(), c.hidden_size, c.state_size());
        let n = c.num_layers * dirs;
        let h0 = match h0 {
            Some(h) if h.shape() == [n, batch, state] => h.to_owned(),
            Some(h) => return Err(Error::shape("h0", format!("[{n}, {batch}, {state}]"), h.shape())),
            None => Array3::zeros((n, batch, state)),
        };
        let lstm = c.cell == Cell::Lstm;
        let c0 = match c0 {
            Some(v) if lstm && v.shape() == [n, batch, hidden] => Some(v.to_owned()),
            Some(v) if lstm => return Err(Error::shape("c0", format!("[{n}, {batch}, {hidden}]"), v.shape())),
            Some(v) => {
                return Err(Error::shape("c0", format!("nothing: a {} cell has no cell state", c.cell), v.shape()));
            }
            None => lstm.then(|| Array3::zeros((n, batch, hidden))),
        };
        let mut trace = RnnTrace {
            // borrowed: the trace does not copy the input
            x: if x.is_standard_layout() {
                CowArray::from(x)
            } else {
                CowArray::from(x.as_standard_layout().into_owned())
            },
            h0,
            c_n: c0.as_ref().map(|c| Array3::zeros(c.raw_dim())),
            c0,
            hs: Vec::new(),
            caches: Vec::new(),
            outputs: Vec::new(),
            masks: Vec::new(),
            h_n: Array3::zeros((n, batch, state)),
        };
        let mut rng = rng;
        for l in 0..c.num_layers {
            for d in 0..dirs {
                let i = l * dirs + d;
                let reverse = d == 1;
                let mut hs = Array3::zeros((seq_len, batch, state));
                let (x, h0) = (trace.layer_input(l), trace.h0.index_axis(Axis(0), i));
                let packed = packed.get(i).copied();
                let mut cache = match c.cell {
                    Cell::Rnn => None,
                    Cell::Lstm | Cell::Gru => Some(GateCache {
                        gates: Array3::zeros((seq_len, batch, c.cell.gates() * hidden)),
                        extra: Array3::zeros((seq_len, batch, hidden)),
                    }),
                };
                let p = &self.layers[i];
                match (&mut cache, &trace.c0) {
                    (None, _) => {
                        let rec = Recurrence { nonlinearity: c.nonlinearity, reverse };
                        p.forward_with(rec, x, h0, hs.view_mut(), packed)?;
                    }
                    (Some(GateCache { gates, extra }), Some(c0)) => {
                        let out = LstmOut { hs: flat(&mut hs)?, gates: flat(gates)?, cs: flat(extra)? };
                        lstm::forward(p, reverse, x, h0, c0.index_axis(Axis(0), i), out, packed)?;
                    }
                    (Some(GateCache { gates, extra }), None) => {
                        let out = GruOut { hs: flat(&mut hs)?, gates: flat(gates)?, hn: flat(extra)? };
                        gru::forward(p, reverse, x, h0, out, packed)?;
                    }
                }
                let last = if reverse { 0 } else { seq_len - 1 };
                trace.h_n.index_axis_mut(Axis(0), i).assign(&hs.index_axis(Axis(0), last));
                if let (Some(c_n), Some(cache)) = (&mut trace.c_n, &cache) {
                    c_n.index_axis_mut(Axis(0), i).assign(&cache.extra.index_axis(Axis(0), last));
                }
                trace.hs.push(hs);
                trace.caches.push(cache);
            }
            let top = l + 1 == c.num_layers;
            let mask = match rng.as_deref_mut() {
                Some(r) if !top && c.dropout > 0.0 => {
                    Some(dropout_mask::<F, R>(c.dropout, (seq_len, batch, c.output_width()), r))
                }
                _ => None,
            };
            let output = if dirs == 1 && mask.is_none() {
                None
            } else {
                let mut out = Array3::zeros((seq_len, batch, c.output_width()));
                for d in 0..dirs {
                    out.slice_mut(s![.., .., d * state..(d + 1) * state]).assign(&trace.hs[l * dirs + d]);
                }
                if let Some(m) = &mask {
                    out *= m;
                }
                Some(out)
            };
            trace.outputs.push(output);
            trace.masks.push(mask);
        }
        Ok(trace)
    }

    /// Backpropagation through time through the whole stack.
    ///
    /// `d_output` is dL/d(output) `[seq_len, batch, D * hidden_size]`; `d_hn` is dL/d(h_n)
    /// `[num_layers * D, batch, hidden_size]` (zero when `None`). Layers run top-down, each
    /// handing its input gradient to the layer below (through the same dropout mask). The
    /// trace is left as it was; [`Rnn::backward_owned`] reuses its memory instead.
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace.
    pub fn backward(
        &self,
        trace: &RnnTrace<'_, F>,
        d_output: ArrayView3<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
    ) -> Result<RnnGrads<F>> {
        self.backward_states(trace, d_output, d_hn, None)
    }

    /// [`Rnn::backward`] with the gradient of an LSTM's final cell states `d_cn`
    /// `[num_layers * D, batch, hidden_size]` too (zero when `None`); [`RnnGrads::c0`] holds
    /// dL/dc0.
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace.
    pub fn backward_states(
        &self,
        trace: &RnnTrace<'_, F>,
        d_output: ArrayView3<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
        d_cn: Option<ArrayView3<'_, F>>,
    ) -> Result<RnnGrads<F>> {
        let d_output = OutputGrad::Dense(d_output.as_standard_layout().into_owned());
        self.backward_stack(trace, Backward { top_states: None, caches: None, d_cn, input_grad: true }, d_output, d_hn)
    }

    /// [`Rnn::backward`] that consumes the trace (as PyTorch frees its graph in `backward()`)
    /// and works in its memory and in `d_output`'s: a unidirectional stack allocates no
    /// `[seq_len, batch, hidden_size]` array. Given the gradient through a head
    /// ([`OutputGrad::Head`]), the top layer's `dA` overwrites its own hidden states; each
    /// layer's input gradient then overwrites its `dA` and becomes the next layer's upstream
    /// gradient, in which that layer's `dA` is written in turn.
    ///
    /// `input_grad = false` skips dL/dx ([`RnnGrads::input`] is `None`), as a training step
    /// wants.
    ///
    /// # Errors
    /// As [`Rnn::backward`].
    pub fn backward_owned(
        &self,
        mut trace: RnnTrace<'_, F>,
        d_output: OutputGrad<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
        input_grad: bool,
    ) -> Result<RnnGrads<F>> {
        let c = &self.config;
        let top = c.num_layers - 1;
        let (seq_len, batch, _) = trace.x.dim();
        let in_top = trace.layer_input(top).shape()[2];
        // the top layer works over its states when W_hh can be packed without a new H × H
        // array (into the gradient of a square W_ih), or that array is smaller than the states
        // a gated cell's backward pass works in its gate activations
        if c.cell != Cell::Rnn {
            let caches = std::mem::take(&mut trace.caches);
            let how = Backward { top_states: None, caches: Some(caches), d_cn: None, input_grad };
            return self.backward_stack(&trace, how, d_output, d_hn);
        }
        let over_states = matches!(d_output, OutputGrad::Head { .. })
            && c.num_directions() == 1
            && (in_top >= c.hidden_size || c.hidden_size <= seq_len * batch);
        let states = over_states.then(|| std::mem::take(&mut trace.hs[top]));
        self.backward_stack(
            &trace,
            Backward { top_states: states, caches: None, d_cn: None, input_grad },
            d_output,
            d_hn,
        )
    }

    /// The backward pass of [`Rnn::backward`] and [`Rnn::backward_owned`], as `how` says.
    pub(crate) fn backward_stack(
        &self,
        trace: &RnnTrace<'_, F>,
        how: Backward<'_, F>,
        d_output: OutputGrad<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
    ) -> Result<RnnGrads<F>> {
        let Backward { top_states, caches, d_cn, input_grad } = how;
        let c = &self.config;
        let (dirs, hidden, state) = (c.num_directions(), c.hidden_size, c.state_size());
        let (seq_len, batch, _) = trace.x.dim();
        let out_shape = (seq_len, batch, c.output_width());
        let zeros;
        let d_hn = match &d_hn {
            Some(d) if d.shape() == trace.h_n.shape() => d.view(),
            Some(d) => {
                return Err(Error::shape("grad of h_n", format!("{:?}", trace.h_n.shape()), d.shape()));
            }
            None => {
                zeros = Array3::zeros(trace.h_n.raw_dim());
                zeros.view()
            }
        };
        let mut grads: Vec<LayerParams<F>> = self.layers.iter().map(LayerParams::zeros_like).collect();
        let mut dh0 = Array3::zeros(trace.h0.raw_dim());
        let mut dc0 = trace.c0.as_ref().map(|c| Array3::zeros(c.raw_dim()));
        let zeros_c;
        let d_cn = match (&d_cn, &trace.c_n) {
            (Some(d), Some(c_n)) if d.shape() == c_n.shape() => Some(d.view()),
            (Some(d), Some(c_n)) => return Err(Error::shape("grad of c_n", format!("{:?}", c_n.shape()), d.shape())),
            (Some(d), None) => {
                return Err(Error::shape("grad of c_n", "nothing: the cell has no cell state", d.shape()));
            }
            (None, Some(c_n)) => {
                zeros_c = Array3::zeros(c_n.raw_dim());
                Some(zeros_c.view())
            }
            (None, None) => None,
        };
        let mut caches = caches;
        let recurrence = |d: usize| Recurrence { nonlinearity: c.nonlinearity, reverse: d == 1 };
        let tape = |l: usize, i: usize| Tape {
            x: trace.layer_input(l),
            h0: trace.h0.index_axis(Axis(0), i),
            hs: trace.hs[i].view(),
        };
        // the gradient of a layer's input: not wanted below the first layer when `input_grad`
        // is false
        let skip_input = |l: usize| l == 0 && !input_grad;

        if dirs == 1 && c.cell == Cell::Rnn {
            // the top layer's dA goes over its own states, its upstream gradient formed step by
            // step from the head's; otherwise over the dense gradient of the output
            let (mut buf, mut over_states) = match (top_states, d_output) {
                (Some(states), OutputGrad::Head { dz, weight, first }) => {
                    (states, Some(Upstream::Head { dz, weight, first }))
                }
                (_, d_output) => (d_output.into_dense(out_shape)?, None),
            };
            for l in (0..c.num_layers).rev() {
                // through the dropout of this layer's output: the same mask
                if let Some(m) = &trace.masks[l] {
                    buf *= m;
                }
                let in_size = trace.layer_input(l).shape()[2];
                // the input gradient goes over dA when it has dA's shape (every layer but the
                // first, and the first too when input_size == hidden_size)
                let mut d_in = (in_size != hidden && !skip_input(l)).then(|| Array2::zeros((seq_len * batch, in_size)));
                let out = LayerGradsOut {
                    params: &mut grads[l],
                    dx: match &mut d_in {
                        _ if skip_input(l) => InputGrad::Skip,
                        Some(d) => InputGrad::Write(d.view_mut()),
                        None => InputGrad::OverDa,
                    },
                    dh0: dh0.index_axis_mut(Axis(0), l),
                    da: buf.view_mut(),
                };
                let d_hn = d_hn.index_axis(Axis(0), l);
                match over_states.take() {
                    Some(up) => {
                        let (x, h0) = (trace.layer_input(l), trace.h0.index_axis(Axis(0), l));
                        self.layers[l].backward_over_states(recurrence(0), x, h0, up, d_hn, out)?;
                    }
                    None => self.layers[l].backward(recurrence(0), tape(l, l), Upstream::InDa, d_hn, out)?,
                }
                if let Some(d_in) = d_in {
                    buf = d_in
                        .into_shape_with_order((seq_len, batch, in_size))
                        .map_err(|_| Error::shape("grad of input", "standard layout", &[seq_len, batch, in_size]))?;
                }
            }
            let input = (!skip_input(0)).then_some(buf);
            return Ok(RnnGrads { layers: grads, input, h0: dh0, c0: None });
        }

        let d_output = d_output.into_dense(out_shape)?;
        let mut da = Array3::zeros(if c.cell == Cell::Rnn { (seq_len, batch, hidden) } else { (0, 0, 0) });
        let mut d_above: Option<Array3<F>> = None;
        for l in (0..c.num_layers).rev() {
            let in_size = trace.layer_input(l).shape()[2];
            let mut d_in = (!skip_input(l)).then(|| Array2::zeros((seq_len * batch, in_size)));
            for d in 0..dirs {
                let i = l * dirs + d;
                let d_out = match &d_above {
                    Some(a) => a.view(),
                    None => d_output.view(),
                };
                let dx = match &mut d_in {
                    None => InputGrad::Skip,
                    Some(d_in) if d > 0 => InputGrad::Add(d_in.view_mut()),
                    Some(d_in) => InputGrad::Write(d_in.view_mut()),
                };
                let d_hs = Upstream::Given(d_out.slice(s![.., .., d * state..(d + 1) * state]));
                let d_hn_i = d_hn.index_axis(Axis(0), i);
                if c.cell == Cell::Rnn {
                    let out = LayerGradsOut {
                        params: &mut grads[i],
                        dx,
                        dh0: dh0.index_axis_mut(Axis(0), i),
                        da: da.view_mut(),
                    };
                    self.layers[i].backward(recurrence(d), tape(l, i), d_hs, d_hn_i, out)?;
                    continue;
                }
                // the gate activations: the trace's own when it was given up, else a copy
                let mut cache = match caches.as_mut().and_then(|cs| cs.get_mut(i)).and_then(Option::take) {
                    Some(cache) => cache,
                    None => trace.caches[i]
                        .clone()
                        .ok_or_else(|| Error::Config("the trace holds no gate activations".into()))?,
                };
                let out = GatedGradsOut {
                    params: &mut grads[i],
                    dx,
                    dh0: dh0.index_axis_mut(Axis(0), i),
                    dc0: dc0.as_mut().map(|d| d.index_axis_mut(Axis(0), i)),
                };
                let (x, h0, p, reverse) =
                    (trace.layer_input(l), trace.h0.index_axis(Axis(0), i), &self.layers[i], d == 1);
                let hs = trace.hs[i].as_slice().ok_or_else(|| Error::shape("states", "standard layout", &[seq_len]))?;
                let gates =
                    cache.gates.as_slice_mut().ok_or_else(|| Error::shape("gates", "standard layout", &[seq_len]))?;
                let extra =
                    cache.extra.as_slice_mut().ok_or_else(|| Error::shape("gates", "standard layout", &[seq_len]))?;
                match (&trace.c0, &d_cn) {
                    (Some(c0), Some(d_cn)) => {
                        let (c0, d_cn) = (c0.index_axis(Axis(0), i), d_cn.index_axis(Axis(0), i));
                        lstm::backward(p, reverse, x, h0, c0, hs, extra, gates, d_hs, d_hn_i, d_cn, out)?;
                    }
                    _ => gru::backward(p, reverse, x, h0, hs, gates, extra, d_hs, d_hn_i, out)?,
                }
            }
            d_above = match d_in {
                None => None,
                Some(d_in) => {
                    let mut d_in = d_in.into_shape_with_order((seq_len, batch, in_size)).map_err(|_| {
                        Error::shape("grad of layer input", "standard layout", &[seq_len, batch, in_size])
                    })?;
                    // through the dropout of the layer below: the same mask
                    if let Some(Some(m)) = l.checked_sub(1).map(|k| &trace.masks[k]) {
                        d_in *= m;
                    }
                    Some(d_in)
                }
            };
        }
        Ok(RnnGrads { layers: grads, input: d_above, h0: dh0, c0: dc0 })
    }
}

/// `(output, h_n, c_n)`: what [`Rnn::forward_states`] returns (`c_n` only for an LSTM).
pub type Outputs<F> = (Array3<F>, Array3<F>, Option<Array3<F>>);

/// How [`Rnn::backward_stack`] runs.
pub(crate) struct Backward<'a, F> {
    /// The top layer's states, taken out of the trace (given only with [`OutputGrad::Head`] to
    /// a unidirectional Elman stack): the top layer works over them.
    pub top_states: Option<Array3<F>>,
    /// The gated cells' tapes, taken out of the trace: the backward pass works in them.
    pub caches: Option<Vec<Option<GateCache<F>>>>,
    /// dL/dc_n of an LSTM (zero when `None`).
    pub d_cn: Option<ArrayView3<'a, F>>,
    /// Whether dL/dx is wanted.
    pub input_grad: bool,
}

/// dL/d(output) of a deep RNN, as [`Rnn::backward_owned`] takes it.
#[derive(Debug)]
pub enum OutputGrad<'a, F> {
    /// The gradient itself, `[seq_len, batch, D * hidden_size]`, given to the backward pass
    /// to work in.
    Dense(Array3<F>),
    /// Through a linear head `z = output Vᵀ + c` read on the steps from `first` on:
    /// `dL/d(output_t) = dZ_t V`. `dz` is `[(seq_len - first) * batch, out]`, `weight` (`V`)
    /// `[out, D * hidden_size]`.
    Head {
        /// dL/dz of the steps read, step-major.
        dz: ArrayView2<'a, F>,
        /// The head's weight `V`.
        weight: ArrayView2<'a, F>,
        /// The first step the head read (`seq_len - 1` for a many-to-one model).
        first: usize,
    },
}

impl<F: Float> OutputGrad<'_, F> {
    /// The gradient as one `shape` array (zero on the steps a head did not read).
    fn into_dense(self, shape: (usize, usize, usize)) -> Result<Array3<F>> {
        let (dz, weight, first) = match self {
            OutputGrad::Dense(d) if d.dim() == shape => {
                return Ok(if d.is_standard_layout() { d } else { d.as_standard_layout().into_owned() });
            }
            OutputGrad::Dense(d) => {
                let want = format!("{:?}", [shape.0, shape.1, shape.2]);
                return Err(Error::shape("grad of output", want, d.shape()));
            }
            OutputGrad::Head { dz, weight, first } => (dz, weight, first),
        };
        let (seq_len, batch, width) = shape;
        let rows = seq_len.saturating_sub(first) * batch;
        if weight.ncols() != width || first > seq_len || dz.shape() != [rows, weight.nrows()] {
            let want = format!("[{rows}, {}] and a weight [{}, {width}]", weight.nrows(), weight.nrows());
            return Err(Error::shape("grad of head output", want, dz.shape()));
        }
        let mut d = Array3::zeros(shape);
        let mut read = d.slice_mut(s![first.., .., ..]);
        let mut read = read
            .view_mut()
            .into_shape_with_order((rows, width))
            .map_err(|_| Error::shape("grad of output", "standard layout", &[rows, width]))?;
        matmul(&dz, &weight, &mut read, false);
        Ok(d)
    }
}

/// A fresh array's elements as one slice.
fn flat<F>(a: &mut Array3<F>) -> Result<&mut [F]> {
    let shape = a.shape().to_vec();
    a.as_slice_mut().ok_or_else(|| Error::shape("states", "standard layout", &shape))
}

/// An inverted-dropout mask: each entry is 0 with probability `p`, else `1 / (1 - p)`.
fn dropout_mask<F: Float, R: Rng + ?Sized>(p: f64, shape: (usize, usize, usize), rng: &mut R) -> Array3<F> {
    let keep = F::of(1.0 / (1.0 - p));
    Array3::from_shape_simple_fn(shape, || if rng.random::<f64>() < p { F::zero() } else { keep })
}
