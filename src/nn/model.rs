//! A deep RNN with an optional output head: the unit a model file holds.
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! // nn.RNN(3, 4) followed by nn.Linear(4, 2)
//! let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(2) }, Init::PyTorch, 0)?;
//! let (y, h_n) = model.forward(Array3::zeros((5, 1, 3)).view(), None)?;
//! assert_eq!((y.dim(), h_n.dim()), ((5, 1, 2), (1, 1, 4)));
//! # Ok::<(), rnn::Error>(())
//! ```

use ndarray::{Array3, ArrayView3, ArrayViewD, ArrayViewMutD, s};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::nn::head::Linear;
use crate::nn::stack::RnnTrace;
use crate::{Error, Float, Init, Result, Rnn, RnnConfig};

mod backward;
mod trace;
pub use trace::{ModelGrads, ModelTrace, State};

/// A model's sizes: the RNN's configuration plus the head's width, if any. This is the JSON
/// stored under `rnn.config` in a model file.
///
/// # Example
/// ```
/// use rnn::{Cell, ModelConfig, RnnConfig};
/// let config = ModelConfig { rnn: RnnConfig::new(3, 8).with_cell(Cell::Gru), output_size: Some(2) };
/// // the JSON of a model file's `rnn.config`: the RNN's keys and the head's width, flat
/// let json = serde_json::to_string(&config).map_err(|e| rnn::Error::Config(e.to_string()))?;
/// assert!(json.contains("\"mode\":\"GRU\"") && json.contains("\"output_size\":2"));
/// let back: ModelConfig = serde_json::from_str(&json).map_err(|e| rnn::Error::Config(e.to_string()))?;
/// assert_eq!(back, config);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The RNN.
    #[serde(flatten)]
    pub rnn: RnnConfig,
    /// `out_features` of the head `y = V h + c`; `None` for no head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_size: Option<usize>,
}

/// Which steps the head reads.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(3) }, Init::PyTorch, 0)?;
/// let x = Array3::<f32>::ones((10, 5, 2));
/// let many = model.forward_eval(x.view(), None, Readout::EveryStep)?; // many-to-many
/// let one = model.forward_eval(x.view(), None, Readout::LastStep)?; // many-to-one
/// assert_eq!((many.y().dim(), one.y().dim()), ((10, 5, 3), (1, 5, 3)));
/// assert_eq!(Readout::default(), Readout::EveryStep);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Readout {
    /// Many-to-many: an output for every step.
    #[default]
    EveryStep,
    /// Many-to-one: the output of the last step only (`output[seq_len - 1]`, as `out[-1]` in
    /// PyTorch).
    LastStep,
}

/// An RNN (`rnn`) and an optional linear head (`head`), PyTorch's module layout.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let config = ModelConfig { rnn: RnnConfig::new(3, 16).with_num_layers(2), output_size: Some(1) };
/// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((10, 4, 3));
/// let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rand::rng())?;
/// let dy = Array3::<f64>::ones(trace.y().raw_dim()); // dL/dy for L = Σ y
/// let grads = model.backward(&trace, dy.view(), None)?;
/// assert_eq!(grads.input().map(|d| d.dim()), Some((10, 4, 3)));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Model<F = f32> {
    /// The recurrent stack.
    pub rnn: Rnn<F>,
    /// The output head, reading `num_directions * hidden_size` features.
    pub head: Option<Linear<F>>,
}

impl<F: Float> Model<F> {
    /// A freshly initialised model (the RNN's parameters are drawn first, then the head's).
    ///
    /// # Errors
    /// [`Error::Config`] when a size is out of range.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(3, 8), output_size: Some(2) };
    /// let a = Model::<f32>::new(config.clone(), Init::PyTorch, 7)?;
    /// assert_eq!(a, Model::new(config.clone(), Init::PyTorch, 7)?); // the seed decides every weight
    /// assert_eq!(a.config(), config);
    /// // 8*3 + 8*8 + 8 + 8 in the RNN, 2*8 + 2 in the head
    /// assert_eq!(a.num_params(), 104 + 18);
    /// assert_eq!(a.named_tensors().last().map(|(n, _)| n.as_str()), Some("head.bias"));
    /// assert!(Model::<f32>::new(ModelConfig { output_size: Some(0), ..config }, Init::PyTorch, 7).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(config: ModelConfig, init: Init, seed: u64) -> Result<Self> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let rnn = Rnn::with_rng(config.rnn.clone(), init, &mut rng)?;
        let head = match config.output_size {
            Some(0) => return Err(Error::Config("output_size must be at least 1".into())),
            Some(o) => Some(Linear::init(config.rnn.output_width(), o, init, &mut rng)),
            None => None,
        };
        Ok(Model { rnn, head })
    }

    /// The sizes of this model.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4).with_num_layers(2), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let config = model.config();
    /// assert_eq!((config.rnn.num_layers, config.output_size), (2, Some(1)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn config(&self) -> ModelConfig {
        ModelConfig { rnn: self.rnn.config().clone(), output_size: self.head.as_ref().map(Linear::out_features) }
    }

    /// Parameters by model-file name (`rnn.weight_ih_l0`, ..., `head.weight`, `head.bias`).
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let names: Vec<String> = model.named_tensors().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.weight", "head.bias"]);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn named_tensors(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        let mut out: Vec<_> = self.rnn.named_tensors().into_iter().map(|(n, t)| (format!("rnn.{n}"), t)).collect();
        if let Some(h) = &self.head {
            out.extend(h.tensors().into_iter().map(|(n, t)| (format!("head.{n}"), t)));
        }
        out
    }

    /// Mutable parameters by model-file name.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let mut model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// for (name, mut t) in model.named_tensors_mut() {
    ///     if name.starts_with("head.") {
    ///         t.fill(0.0);
    ///     }
    /// }
    /// let head = model.head.as_ref().expect("a head");
    /// assert!(head.weight.iter().all(|w| *w == 0.0));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn named_tensors_mut(&mut self) -> Vec<(String, ArrayViewMutD<'_, F>)> {
        let mut out: Vec<_> = self.rnn.named_tensors_mut().into_iter().map(|(n, t)| (format!("rnn.{n}"), t)).collect();
        if let Some(h) = &mut self.head {
            out.extend(h.tensors_mut().into_iter().map(|(n, t)| (format!("head.{n}"), t)));
        }
        out
    }

    /// Total number of parameters.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// // W_ih 4x3, W_hh 4x4, two biases of 4; head 1x4 and 1
    /// assert_eq!(model.num_params(), 12 + 16 + 8 + 4 + 1);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn num_params(&self) -> usize {
        self.named_tensors().iter().map(|(_, t)| t.len()).sum()
    }

    /// Inference over every step: returns `(y, h_n)`, `y` being the head's output
    /// `[seq_len, batch, output_size]` or, without a head, the RNN's output.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(3, 8), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((5, 2, 3)); // [seq_len, batch, input_size]
    /// let (y, h_n) = model.forward(x.view(), None)?;
    /// assert_eq!((y.dim(), h_n.dim()), ((5, 2, 1), (1, 2, 8)));
    /// // two chunks, the second from the first's final state, give the same outputs as one pass
    /// let (y1, h1) = model.forward(x.slice(ndarray::s![..2, .., ..]), None)?;
    /// let (y2, _) = model.forward(x.slice(ndarray::s![2.., .., ..]), Some(h1.view()))?;
    /// assert!((y2[[2, 1, 0]] - y[[4, 1, 0]]).abs() < 1e-12 && (y1[[1, 0, 0]] - y[[1, 0, 0]]).abs() < 1e-12);
    /// assert!(model.forward(Array3::<f64>::ones((5, 2, 4)).view(), None).is_err()); // 4 features, not 3
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward(&self, x: ArrayView3<'_, F>, h0: Option<ArrayView3<'_, F>>) -> Result<(Array3<F>, Array3<F>)> {
        Ok(self.trace(self.rnn.forward_trace(x, h0)?, Readout::EveryStep)?.into_outputs())
    }

    /// Inference that keeps a trace, reading the steps `readout` names (no dropout).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(3, 8), output_size: Some(2) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((5, 4, 3));
    /// let every = model.forward_eval(x.view(), None, Readout::EveryStep)?;
    /// let last = model.forward_eval(x.view(), None, Readout::LastStep)?;
    /// assert_eq!(last.y().dim(), (1, 4, 2));
    /// let diff = &last.y().index_axis(ndarray::Axis(0), 0) - &every.y().index_axis(ndarray::Axis(0), 4);
    /// assert!(diff.iter().all(|d| d.abs() < 1e-12));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward_eval<'a>(
        &self,
        x: ArrayView3<'a, F>,
        h0: Option<ArrayView3<'_, F>>,
        readout: Readout,
    ) -> Result<ModelTrace<'a, F>> {
        self.trace(self.rnn.forward_trace(x, h0)?, readout)
    }

    /// Inference over every step from given states: `(y, h_n, c_n)`, with an LSTM's cell
    /// states `c0` and `c_n` (see [`Rnn::forward_states`]).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x`, `h0` or `c0` has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Lstm), output_size: Some(1) };
    /// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((6, 3, 2));
    /// let (y, _, _) = model.forward_states(x.view(), None, None)?;
    /// // the same sequences in two chunks, carrying (h, c) across
    /// let (_, h, c) = model.forward_states(x.slice(ndarray::s![..3, .., ..]), None, None)?;
    /// let c = c.expect("an LSTM has cell states");
    /// let (y2, _, _) = model.forward_states(x.slice(ndarray::s![3.., .., ..]), Some(h.view()), Some(c.view()))?;
    /// assert!((y2[[2, 0, 0]] - y[[5, 0, 0]]).abs() < 1e-12);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward_states(
        &self,
        x: ArrayView3<'_, F>,
        h0: Option<ArrayView3<'_, F>>,
        c0: Option<ArrayView3<'_, F>>,
    ) -> Result<crate::nn::stack::Outputs<F>> {
        let trace = self.rnn.forward_trace_states(x, h0, c0)?;
        let trace = self.trace(trace, Readout::EveryStep)?;
        let c_n = trace.c_n().map(|c| c.to_owned());
        let (y, h_n) = trace.into_outputs();
        Ok((y, h_n, c_n))
    }

    /// [`Model::forward_train`] from given states, with an LSTM's cell states `c0`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x`, `h0` or `c0` has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Lstm), output_size: Some(1) };
    /// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 2, 2));
    /// let (h0, c0) = (Array3::<f64>::zeros((1, 2, 4)), Array3::<f64>::from_elem((1, 2, 4), 0.5));
    /// let trace = model.forward_train_states(x.view(), Some(h0.view()), Some(c0.view()), Readout::EveryStep, &mut rand::rng())?;
    /// let from_zero = model.forward_train(x.view(), None, Readout::EveryStep, &mut rand::rng())?;
    /// assert_ne!(trace.y(), from_zero.y()); // the cell state carried in changes the outputs
    /// let grads = model.backward_states(&trace, Array3::ones((3, 2, 1)).view(), None, None)?;
    /// assert_eq!(grads.c0().map(|d| d.dim()), Some((1, 2, 4)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward_train_states<'a, R: Rng + ?Sized>(
        &self,
        x: ArrayView3<'a, F>,
        h0: Option<ArrayView3<'_, F>>,
        c0: Option<ArrayView3<'_, F>>,
        readout: Readout,
        rng: &mut R,
    ) -> Result<ModelTrace<'a, F>> {
        self.trace(self.rnn.forward_train_states(x, h0, c0, rng)?, readout)
    }

    /// [`Model::forward_eval`] from a carried [`State`] (zeros when `None`).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or the state has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array3, s};
    /// use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Gru), output_size: Some(1) };
    /// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::from_shape_fn((8, 2, 2), |(t, b, i)| (t + b + i) as f64 * 0.1);
    /// let whole = model.forward_eval_from(x.view(), None, Readout::EveryStep)?;
    /// let first = model.forward_eval_from(x.slice(s![..4, .., ..]), None, Readout::EveryStep)?;
    /// let second = model.forward_eval_from(x.slice(s![4.., .., ..]), Some(&first.state()), Readout::EveryStep)?;
    /// assert!((second.y()[[3, 1, 0]] - whole.y()[[7, 1, 0]]).abs() < 1e-12);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward_eval_from<'a>(
        &self,
        x: ArrayView3<'a, F>,
        state: Option<&State<F>>,
        readout: Readout,
    ) -> Result<ModelTrace<'a, F>> {
        let (h0, c0) = split(state);
        self.trace(self.rnn.forward_trace_states(x, h0, c0)?, readout)
    }

    /// [`Model::forward_train`] from a carried [`State`] (zeros when `None`).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or the state has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array3, s};
    /// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((8, 2, 2));
    /// let mut rng = rand::rng();
    /// // truncated BPTT: each chunk starts from the state the previous one left
    /// let first = model.forward_train_from(x.slice(s![..4, .., ..]), None, Readout::EveryStep, &mut rng)?;
    /// let state = first.state();
    /// let second = model.forward_train_from(x.slice(s![4.., .., ..]), Some(&state), Readout::EveryStep, &mut rng)?;
    /// let whole = model.forward(x.view(), None)?.0;
    /// assert!((second.y()[[3, 0, 0]] - whole[[7, 0, 0]]).abs() < 1e-12); // no dropout configured
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward_train_from<'a, R: Rng + ?Sized>(
        &self,
        x: ArrayView3<'a, F>,
        state: Option<&State<F>>,
        readout: Readout,
        rng: &mut R,
    ) -> Result<ModelTrace<'a, F>> {
        let (h0, c0) = split(state);
        self.trace(self.rnn.forward_train_states(x, h0, c0, rng)?, readout)
    }

    /// Training forward pass (dropout drawn from `rng`), keeping what [`Model::backward`] needs.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(2, 8).with_num_layers(2).with_dropout(0.5), output_size: Some(1) };
    /// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((4, 3, 2));
    /// let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rand::rng())?;
    /// let (y, _) = model.forward(x.view(), None)?; // inference: no dropout
    /// assert_eq!(trace.y().dim(), y.dim());
    /// assert_ne!(trace.y(), y); // dropout between the two layers changed the outputs
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward_train<'a, R: Rng + ?Sized>(
        &self,
        x: ArrayView3<'a, F>,
        h0: Option<ArrayView3<'_, F>>,
        readout: Readout,
        rng: &mut R,
    ) -> Result<ModelTrace<'a, F>> {
        self.trace(self.rnn.forward_train(x, h0, rng)?, readout)
    }

    pub(crate) fn trace<'a>(&self, rnn: RnnTrace<'a, F>, readout: Readout) -> Result<ModelTrace<'a, F>> {
        let out = rnn.output();
        let (seq_len, batch, width) = out.dim();
        let read = match readout {
            Readout::EveryStep => out,
            Readout::LastStep => out.slice_move(s![seq_len - 1.., .., ..]),
        };
        let y = match &self.head {
            None => read.to_owned(),
            Some(head) => {
                let steps = read.shape()[0];
                let flat = read.as_standard_layout();
                let flat = flat
                    .view()
                    .into_shape_with_order((steps * batch, width))
                    .map_err(|_| Error::shape("rnn output", "standard layout", read.shape()))?;
                let z = head.forward(flat)?;
                z.into_shape_with_order((steps, batch, head.out_features()))
                    .map_err(|_| Error::shape("head output", "standard layout", &[steps, batch]))?
            }
        };
        Ok(ModelTrace { rnn, readout, y })
    }
}

/// Views of a state's `h` and `c`.
#[allow(clippy::type_complexity)]
fn split<F>(state: Option<&State<F>>) -> (Option<ArrayView3<'_, F>>, Option<ArrayView3<'_, F>>) {
    (state.map(|s| s.h.view()), state.and_then(|s| s.c.as_ref()).map(|c| c.view()))
}
