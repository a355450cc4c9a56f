//! The deep (stacked) RNN: `num_layers` layers of one cell (Elman, LSTM, GRU or IndRNN), layer
//! k reading layer k-1's hidden states, optional inverted dropout between layers (training
//! only) and optional bidirectionality, laid out exactly as PyTorch's `nn.RNN`; optionally,
//! residual connections ([`RnnConfig::residual`]): a layer whose input is as wide as its
//! output outputs `h_t + input_t`, dropout applying to the sum.
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::{Init, Rnn, RnnConfig};
//! let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4).with_num_layers(2), Init::PyTorch, 0)?;
//! let x = Array3::<f64>::ones((5, 3, 2)); // [seq_len, batch, input_size]
//! let trace = rnn.forward_trace(x.view(), None)?;
//! let grads = rnn.backward(&trace, Array3::ones(trace.output().raw_dim()).view(), None)?; // L = Σ output
//! assert_eq!(grads.layers.len(), 2);
//! assert_eq!(grads.layers[0].weight_ih.dim(), (4, 2));
//! # Ok::<(), rnn::Error>(())
//! ```

use ndarray::{Array3, ArrayView3, ArrayViewD, ArrayViewMutD, CowArray, Ix3};
use rand::Rng;

mod backward;
mod forward;
mod indrnn;

pub(crate) use backward::Backward;
pub use backward::OutputGrad;

use crate::nn::cell::Cell;
use crate::nn::layer::LayerParams;
use crate::{Error, Float, Init, Result, RnnConfig};

/// The PyTorch name of a layer parameter, e.g. `weight_hh_l1_reverse`.
///
/// # Example
/// ```
/// assert_eq!(rnn::stack::param_name("weight_hh", 1, true), "weight_hh_l1_reverse");
/// assert_eq!(rnn::stack::param_name("bias_ih", 0, false), "bias_ih_l0");
/// ```
pub fn param_name(stem: &str, layer: usize, reverse: bool) -> String {
    format!("{stem}_l{layer}{}", if reverse { "_reverse" } else { "" })
}

/// A deep, optionally bidirectional RNN of one [`Cell`]: PyTorch's `nn.RNN`, `nn.LSTM` or
/// `nn.GRU`, or an IndRNN.
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
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::{Init, Rnn, RnnConfig};
/// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4), Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((3, 2, 2));
/// let trace = rnn.forward_trace(x.view(), None)?; // borrows x until the backward pass
/// let grads = rnn.backward(&trace, Array3::ones(trace.output().raw_dim()).view(), None)?;
/// assert_eq!(grads.layers[0].weight_ih.dim(), (4, 2));
/// # Ok::<(), rnn::Error>(())
/// ```
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
    /// `hs[layer * D]` (bidirectional concatenation, a residual connection and/or dropout).
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4).with_cell(Cell::Lstm).with_bidirectional(true), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 5, 2));
    /// let trace = rnn.forward_trace(x.view(), None)?;
    /// assert_eq!(trace.output().dim(), (3, 5, 8)); // both directions side by side
    /// assert_eq!(trace.h_n().dim(), (2, 5, 4));
    /// assert_eq!(trace.c_n().map(|c| c.dim()), Some((2, 5, 4)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn output(&self) -> ArrayView3<'_, F> {
        self.layer_output(self.outputs.len() - 1)
    }
    /// The final states `[num_layers * num_directions, batch, state_size]`.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4).with_num_layers(2), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((5, 3, 2));
    /// let trace = rnn.forward_trace(x.view(), None)?;
    /// assert_eq!(trace.h_n().dim(), (2, 3, 4));
    /// // the top layer's final state is its output at the last step
    /// assert_eq!(trace.h_n().index_axis(ndarray::Axis(0), 1), trace.output().index_axis(ndarray::Axis(0), 4));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn h_n(&self) -> ArrayView3<'_, F> {
        self.h_n.view()
    }
    /// An LSTM's final cell states `[num_layers * num_directions, batch, hidden_size]`
    /// (`None` for the other cells).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let x = Array3::<f64>::ones((5, 3, 2));
    /// let lstm = Rnn::<f64>::new(RnnConfig::new(2, 4).with_cell(Cell::Lstm), Init::PyTorch, 0)?;
    /// assert_eq!(lstm.forward_trace(x.view(), None)?.c_n().map(|c| c.dim()), Some((1, 3, 4)));
    /// let gru = Rnn::<f64>::new(RnnConfig::new(2, 4).with_cell(Cell::Gru), Init::PyTorch, 0)?;
    /// assert!(gru.forward_trace(x.view(), None)?.c_n().is_none());
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::{Init, Rnn, RnnConfig};
/// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4).with_bidirectional(true), Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((3, 2, 2));
/// let trace = rnn.forward_trace(x.view(), None)?;
/// let grads = rnn.backward(&trace, Array3::ones((3, 2, 8)).view(), None)?;
/// assert_eq!(grads.layers.len(), 2); // forward and reverse, as LayerParams
/// assert_eq!((grads.h0.dim(), grads.input.map(|d| d.dim())), ((2, 2, 4), Some((3, 2, 2))));
/// assert!(grads.c0.is_none());
/// # Ok::<(), rnn::Error>(())
/// ```
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4).with_bias(false), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 1, 2));
    /// let trace = rnn.forward_trace(x.view(), None)?;
    /// let grads = rnn.backward(&trace, Array3::ones((3, 1, 4)).view(), None)?;
    /// let names: Vec<String> = grads.named_tensors(rnn.config()).into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["weight_ih_l0", "weight_hh_l0"]);
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    /// Parameters are drawn layer by layer, direction by direction, in `state_dict` order (see
    /// [`LayerParams::init`]); an IndRNN's recurrent weights are then clamped to
    /// `±recurrent_max` ([`Rnn::clamp_recurrent`]).
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration is out of range.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let a = Rnn::<f32>::new(RnnConfig::new(3, 8), Init::PyTorch, 1)?;
    /// assert_eq!(a, Rnn::new(RnnConfig::new(3, 8), Init::PyTorch, 1)?); // reproducible
    /// assert_ne!(a, Rnn::new(RnnConfig::new(3, 8), Init::PyTorch, 2)?);
    /// assert!(a.layers()[0].weight_hh.iter().all(|w| w.abs() as f64 <= 1.0 / 8f64.sqrt() + 1e-7)); // U(±1/√H)
    /// assert!(Rnn::<f32>::new(RnnConfig::new(3, 8).with_num_layers(0), Init::PyTorch, 1).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(config: RnnConfig, init: Init, seed: u64) -> Result<Self> {
        use rand::SeedableRng;
        Self::with_rng(config, init, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed))
    }

    /// As [`Rnn::new`], drawing from the given generator.
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration is out of range.
    ///
    /// # Example
    /// ```
    /// use rand::SeedableRng;
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    /// let a = Rnn::<f32>::with_rng(RnnConfig::new(2, 4), Init::Orthogonal, &mut rng)?;
    /// let b = Rnn::<f32>::with_rng(RnnConfig::new(2, 4), Init::Orthogonal, &mut rng)?;
    /// assert_ne!(a, b); // the second draws on from where the first stopped
    /// assert_eq!(Rnn::<f32>::new(RnnConfig::new(2, 4), Init::Orthogonal, 3)?, a);
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
        let mut rnn = Rnn { config, layers };
        rnn.clamp_recurrent();
        Ok(rnn)
    }

    /// Builds an RNN from existing parameters (index `layer * num_directions + direction`).
    ///
    /// # Errors
    /// [`Error::Config`] when the count, shapes or bias presence disagree with `config`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4).with_num_layers(2), Init::PyTorch, 0)?;
    /// let rebuilt = Rnn::from_parts(rnn.config().clone(), rnn.layers().to_vec())?;
    /// assert_eq!(rebuilt, rnn);
    /// // one layer's parameters for a 2-layer configuration are refused
    /// assert!(Rnn::from_parts(rnn.config().clone(), rnn.layers()[..1].to_vec()).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
            // an IndRNN's recurrent weight is the vector u [H], its W_hh matrix empty
            let hh_ok = match &p.weight_hh_diag {
                Some(u) => config.cell == Cell::IndRnn && u.len() == h && p.weight_hh.is_empty(),
                None => config.cell != Cell::IndRnn && p.weight_hh.shape() == [g, st],
            };
            let checks = [("weight_ih", p.weight_ih.shape() == want_ih), ("weight_hh", hh_ok), ("weight_hr", hr_ok)];
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
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f32>::new(RnnConfig::new(2, 4).with_num_layers(3), Init::PyTorch, 0)?;
    /// assert_eq!(rnn.config(), &RnnConfig::new(2, 4).with_num_layers(3));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    /// Parameters per layer and direction (index `layer * num_directions + direction`).
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f32>::new(RnnConfig::new(2, 4).with_num_layers(2).with_bidirectional(true), Init::PyTorch, 0)?;
    /// assert_eq!(rnn.layers().len(), 4); // l0, l0_reverse, l1, l1_reverse
    /// assert_eq!(rnn.layers()[2].input_size(), 8); // layer 1 reads both directions of layer 0
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn layers(&self) -> &[LayerParams<F>] {
        &self.layers
    }

    /// Mutable parameters (shapes must not change).
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let mut rnn = Rnn::<f32>::new(RnnConfig::new(2, 4).with_bidirectional(true), Init::PyTorch, 0)?;
    /// assert_eq!(rnn.layers().len(), 2); // layer 0 forward, layer 0 reverse
    /// rnn.layers_mut()[1].weight_hh.fill(0.0);
    /// assert!(rnn.named_tensors().iter().any(|(n, t)| n == "weight_hh_l0_reverse" && t.iter().all(|w| *w == 0.0)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn layers_mut(&mut self) -> &mut [LayerParams<F>] {
        &mut self.layers
    }

    /// Sets the dropout probability used by [`Rnn::forward_train`].
    ///
    /// # Errors
    /// [`Error::Config`] when `p` is not in `[0, 1)`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let mut rnn = Rnn::<f32>::new(RnnConfig::new(2, 4).with_num_layers(2), Init::PyTorch, 0)?;
    /// rnn.set_dropout(0.25)?;
    /// assert_eq!(rnn.config().dropout, 0.25);
    /// assert!(rnn.set_dropout(1.0).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn set_dropout(&mut self, p: f64) -> Result<()> {
        let config = self.config.clone().with_dropout(p);
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Parameters by PyTorch name (without a module prefix), in `state_dict` order.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f32>::new(RnnConfig::new(2, 4).with_bidirectional(true).with_bias(false), Init::PyTorch, 0)?;
    /// let names: Vec<String> = rnn.named_tensors().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse"]);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn named_tensors(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        named(&self.layers, self.config.num_directions())
    }

    /// Mutable parameters by PyTorch name, in `state_dict` order.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let mut rnn = Rnn::<f32>::new(RnnConfig::new(2, 4), Init::PyTorch, 0)?;
    /// assert_eq!(rnn.num_params(), 4 * 2 + 4 * 4 + 4 + 4);
    /// for (name, mut t) in rnn.named_tensors_mut() {
    ///     if name.starts_with("bias") {
    ///         t.fill(0.0);
    ///     }
    /// }
    /// let names: Vec<String> = rnn.named_tensors().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]);
    /// assert!(rnn.layers()[0].bias_hh.as_ref().is_some_and(|b| b.iter().all(|v| *v == 0.0)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// // nn.GRU(2, 4): 3 gate blocks of W_ih 4x2, W_hh 4x4 and two biases of 4
    /// let gru = Rnn::<f32>::new(RnnConfig::new(2, 4).with_cell(Cell::Gru), Init::PyTorch, 0)?;
    /// assert_eq!(gru.num_params(), 3 * (8 + 16 + 4 + 4));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn num_params(&self) -> usize {
        self.named_tensors().iter().map(|(_, t)| t.len()).sum()
    }
}

/// `(output, h_n, c_n)`: what [`Rnn::forward_states`] returns (`c_n` only for an LSTM).
pub type Outputs<F> = (Array3<F>, Array3<F>, Option<Array3<F>>);
