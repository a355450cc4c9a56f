//! A deep RNN with an optional output head: the unit a model file holds.

use ndarray::{Array3, ArrayView3, ArrayViewD, ArrayViewMutD, s};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::nn::flow::GradFlow;
use crate::nn::head::Linear;
use crate::nn::stack::{Backward, OutputGrad, RnnGrads, RnnTrace};
use crate::{Error, Float, Init, Result, Rnn, RnnConfig};

/// A model's sizes: the RNN's configuration plus the head's width, if any. This is the JSON
/// stored under `rnn.config` in a model file.
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

/// The recurrent state a sequence leaves and the next chunk of it starts from: the hidden
/// states `h` `[num_layers * D, batch, state_size]` and an LSTM's cell states `c`
/// `[num_layers * D, batch, hidden_size]` (PyTorch's `(h_n, c_n)`).
#[derive(Clone, Debug, PartialEq)]
pub struct State<F = f32> {
    /// Hidden states.
    pub h: Array3<F>,
    /// An LSTM's cell states (`None` for the other cells).
    pub c: Option<Array3<F>>,
}

impl<F: Float> State<F> {
    /// The states of the first `n` sequences of the batch (a last, smaller batch).
    pub fn first(&self, n: usize) -> Self {
        let cut = |a: &Array3<F>| a.slice(s![.., ..n.min(a.shape()[1]), ..]).to_owned();
        State { h: cut(&self.h), c: self.c.as_ref().map(cut) }
    }
}

/// What [`Model::forward_train`] kept for [`Model::backward`].
/// It borrows the input (`'a`).
#[derive(Clone, Debug)]
pub struct ModelTrace<'a, F = f32> {
    rnn: RnnTrace<'a, F>,
    readout: Readout,
    y: Array3<F>,
}

impl<'a, F: Float> ModelTrace<'a, F> {
    /// The model's output: the head's output `[steps, batch, output_size]`, or without a head
    /// the RNN's output `[steps, batch, D * hidden_size]`; `steps` is `seq_len` or 1
    /// ([`Readout::LastStep`]).
    pub fn y(&self) -> ArrayView3<'_, F> {
        self.y.view()
    }
    /// The final states `[num_layers * D, batch, hidden_size]`.
    pub fn h_n(&self) -> ArrayView3<'_, F> {
        self.rnn.h_n()
    }
    /// An LSTM's final cell states `[num_layers * D, batch, hidden_size]`.
    pub fn c_n(&self) -> Option<ArrayView3<'_, F>> {
        self.rnn.c_n()
    }
    /// The final state, `(h_n, c_n)`, to start the next chunk of the sequences from.
    pub fn state(&self) -> State<F> {
        State { h: self.h_n().to_owned(), c: self.c_n().map(|c| c.to_owned()) }
    }
    /// The RNN's trace.
    pub fn rnn(&self) -> &RnnTrace<'a, F> {
        &self.rnn
    }
    /// `(y, h_n)`, as [`Model::forward`] returns them.
    pub(crate) fn into_outputs(self) -> (Array3<F>, Array3<F>) {
        let h_n = self.rnn.h_n().to_owned();
        (self.y, h_n)
    }
}

/// Gradients of a [`Model`].
#[derive(Clone, Debug, PartialEq)]
pub struct ModelGrads<F = f32> {
    /// The RNN's parameter, input and `h0` gradients.
    pub rnn: RnnGrads<F>,
    /// The head's gradients.
    pub head: Option<Linear<F>>,
}

impl<F: Float> ModelGrads<F> {
    /// Mutable parameter gradients in the order of [`Model::named_tensors`] (for clipping and
    /// optimizers).
    pub fn tensors_mut(&mut self) -> Vec<ArrayViewMutD<'_, F>> {
        let mut out: Vec<_> =
            self.rnn.layers.iter_mut().flat_map(|p| p.tensors_mut().into_iter().map(|(_, t)| t)).collect();
        if let Some(h) = &mut self.head {
            out.extend(h.tensors_mut().into_iter().map(|(_, t)| t));
        }
        out
    }

    /// dL/dx `[seq_len, batch, input_size]`, unless [`Model::backward_owned`] was told not to
    /// compute it.
    pub fn input(&self) -> Option<ArrayView3<'_, F>> {
        self.rnn.input.as_ref().map(|a| a.view())
    }
    /// dL/dh0 `[num_layers * D, batch, state_size]`.
    pub fn h0(&self) -> ArrayView3<'_, F> {
        self.rnn.h0.view()
    }
    /// dL/dc0 of an LSTM `[num_layers * D, batch, hidden_size]`.
    pub fn c0(&self) -> Option<ArrayView3<'_, F>> {
        self.rnn.c0.as_ref().map(|c| c.view())
    }
    /// Parameter gradients by model-file name (`rnn.weight_ih_l0`, `head.weight`, ...).
    pub fn named_tensors(&self, config: &RnnConfig) -> Vec<(String, ArrayViewD<'_, F>)> {
        let mut out: Vec<_> =
            self.rnn.named_tensors(config).into_iter().map(|(n, t)| (format!("rnn.{n}"), t)).collect();
        if let Some(h) = &self.head {
            out.extend(h.tensors().into_iter().map(|(n, t)| (format!("head.{n}"), t)));
        }
        out
    }
}

impl<F: Float> Model<F> {
    /// A freshly initialised model (the RNN's parameters are drawn first, then the head's).
    ///
    /// # Errors
    /// [`Error::Config`] when a size is out of range.
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
    pub fn config(&self) -> ModelConfig {
        ModelConfig { rnn: self.rnn.config().clone(), output_size: self.head.as_ref().map(Linear::out_features) }
    }

    /// Parameters by model-file name (`rnn.weight_ih_l0`, ..., `head.weight`, `head.bias`).
    pub fn named_tensors(&self) -> Vec<(String, ArrayViewD<'_, F>)> {
        let mut out: Vec<_> = self.rnn.named_tensors().into_iter().map(|(n, t)| (format!("rnn.{n}"), t)).collect();
        if let Some(h) = &self.head {
            out.extend(h.tensors().into_iter().map(|(n, t)| (format!("head.{n}"), t)));
        }
        out
    }

    /// Mutable parameters by model-file name.
    pub fn named_tensors_mut(&mut self) -> Vec<(String, ArrayViewMutD<'_, F>)> {
        let mut out: Vec<_> = self.rnn.named_tensors_mut().into_iter().map(|(n, t)| (format!("rnn.{n}"), t)).collect();
        if let Some(h) = &mut self.head {
            out.extend(h.tensors_mut().into_iter().map(|(n, t)| (format!("head.{n}"), t)));
        }
        out
    }

    /// Total number of parameters.
    pub fn num_params(&self) -> usize {
        self.named_tensors().iter().map(|(_, t)| t.len()).sum()
    }

    /// Inference over every step: returns `(y, h_n)`, `y` being the head's output
    /// `[seq_len, batch, output_size]` or, without a head, the RNN's output.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape.
    pub fn forward(&self, x: ArrayView3<'_, F>, h0: Option<ArrayView3<'_, F>>) -> Result<(Array3<F>, Array3<F>)> {
        Ok(self.trace(self.rnn.forward_trace(x, h0)?, Readout::EveryStep)?.into_outputs())
    }

    /// Inference that keeps a trace, reading the steps `readout` names (no dropout).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape.
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

    /// Backpropagation through the head and the stack.
    ///
    /// `d_y = dL/dy` (same shape as [`ModelTrace::y`]), `d_hn = dL/dh_n` (zero when `None`).
    /// The trace is left as it was; [`Model::backward_owned`] reuses its memory instead.
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace.
    pub fn backward(
        &self,
        trace: &ModelTrace<'_, F>,
        d_y: ArrayView3<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
    ) -> Result<ModelGrads<F>> {
        let d_y = d_y.as_standard_layout();
        let (head, d_out) = self.output_grad(trace, d_y.view())?;
        let how = Backward { states: Vec::new(), caches: None, d_cn: None, input_grad: true, flow: None };
        let rnn = self.rnn.backward_stack(&trace.rnn, how, d_out, d_hn)?;
        Ok(ModelGrads { rnn, head })
    }

    /// [`Model::backward`] with the gradient of an LSTM's final cell states `d_cn` too (zero
    /// when `None`); [`ModelGrads::c0`] holds dL/dc0.
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace.
    pub fn backward_states(
        &self,
        trace: &ModelTrace<'_, F>,
        d_y: ArrayView3<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
        d_cn: Option<ArrayView3<'_, F>>,
    ) -> Result<ModelGrads<F>> {
        let d_y = d_y.as_standard_layout();
        let (head, d_out) = self.output_grad(trace, d_y.view())?;
        let how = Backward { states: Vec::new(), caches: None, d_cn, input_grad: true, flow: None };
        let rnn = self.rnn.backward_stack(&trace.rnn, how, d_out, d_hn)?;
        Ok(ModelGrads { rnn, head })
    }

    /// [`Model::backward`] for a training step: consumes the trace (as PyTorch frees its graph
    /// in `backward()`) and works in its memory, so a unidirectional model's backward pass
    /// allocates no array the size of its hidden states (see [`Rnn::backward_owned`]). With
    /// `input_grad = false`, dL/dx is not computed ([`ModelGrads::input`] is `None`).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(3, 16).with_num_layers(2), output_size: Some(1) };
    /// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((10, 4, 3));
    /// let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rand::rng())?;
    /// let dy = Array3::<f64>::ones(trace.y().raw_dim());
    /// let from_copy = model.backward(&trace, dy.view(), None)?;
    /// let grads = model.backward_owned(trace, dy.view(), None, false)?;
    /// assert!(grads.input().is_none());
    /// let config = model.rnn.config();
    /// for ((_, a), (_, b)) in grads.named_tensors(config).iter().zip(&from_copy.named_tensors(config)) {
    ///     assert!(a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-12)); // the same up to rounding
    /// }
    /// # Ok::<(), rnn::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace.
    pub fn backward_owned(
        &self,
        trace: ModelTrace<'_, F>,
        d_y: ArrayView3<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
        input_grad: bool,
    ) -> Result<ModelGrads<F>> {
        self.backward_owned_flow(trace, d_y, d_hn, input_grad, None)
    }

    /// [`Model::backward_owned`] that also records the gradient's norm at every step of every
    /// layer and direction into `flow` (see [`GradFlow`]) when given: the diagnostics of a
    /// training step, at the cost of one norm per `[batch, H]` row block per step.
    ///
    /// # Errors
    /// As [`Model::backward_owned`]; [`Error::Shape`] when `flow` is not sized for the trace.
    pub fn backward_owned_flow(
        &self,
        trace: ModelTrace<'_, F>,
        d_y: ArrayView3<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
        input_grad: bool,
        flow: Option<&mut GradFlow>,
    ) -> Result<ModelGrads<F>> {
        let d_y = d_y.as_standard_layout();
        let (head, d_out) = self.output_grad(&trace, d_y.view())?;
        let rnn = self.rnn.backward_owned_flow(trace.rnn, d_out, d_hn, input_grad, flow)?;
        Ok(ModelGrads { rnn, head })
    }

    /// [`Model::backward`] (zero `d_hn`, `d_cn`) that records the gradient's norm at every step
    /// of every layer and direction into `flow` (see [`GradFlow`], whose example this is).
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace or `flow` is not
    /// sized for it.
    pub fn backward_flow(
        &self,
        trace: &ModelTrace<'_, F>,
        d_y: ArrayView3<'_, F>,
        flow: &mut GradFlow,
    ) -> Result<ModelGrads<F>> {
        let d_y = d_y.as_standard_layout();
        let (head, d_out) = self.output_grad(trace, d_y.view())?;
        let how = Backward { states: Vec::new(), caches: None, d_cn: None, input_grad: true, flow: Some(flow) };
        let rnn = self.rnn.backward_stack(&trace.rnn, how, d_out, None)?;
        Ok(ModelGrads { rnn, head })
    }

    /// The head's parameter gradients and the gradient of the RNN's output, given `d_y`
    /// (standard layout).
    fn output_grad<'a>(
        &'a self,
        trace: &ModelTrace<'_, F>,
        d_y: ArrayView3<'a, F>,
    ) -> Result<(Option<Linear<F>>, OutputGrad<'a, F>)> {
        if d_y.shape() != trace.y.shape() {
            return Err(Error::shape("grad of y", format!("{:?}", trace.y.shape()), d_y.shape()));
        }
        let out = trace.rnn.output();
        let (seq_len, batch, width) = out.dim();
        let first = match trace.readout {
            Readout::EveryStep => 0,
            Readout::LastStep => seq_len - 1,
        };
        let steps = seq_len - first;
        let Some(head) = &self.head else {
            // dL/d(rnn output): zero on steps the caller's loss does not read
            let mut d_out = Array3::zeros(out.raw_dim());
            d_out.slice_mut(s![first.., .., ..]).assign(&d_y);
            return Ok((None, OutputGrad::Dense(d_out)));
        };
        let read = out.slice(s![first.., .., ..]);
        let read = read.as_standard_layout();
        let x2 = read
            .view()
            .into_shape_with_order((steps * batch, width))
            .map_err(|_| Error::shape("rnn output", "standard layout", out.shape()))?;
        let dz = d_y
            .into_shape_with_order((steps * batch, head.out_features()))
            .map_err(|_| Error::shape("grad of y", "standard layout", trace.y.shape()))?;
        let g = head.param_grads(x2, dz)?;
        Ok((Some(g), OutputGrad::Head { dz, weight: head.weight.view(), first }))
    }
}

/// Views of a state's `h` and `c`.
#[allow(clippy::type_complexity)]
fn split<F>(state: Option<&State<F>>) -> (Option<ArrayView3<'_, F>>, Option<ArrayView3<'_, F>>) {
    (state.map(|s| s.h.view()), state.and_then(|s| s.c.as_ref()).map(|c| c.view()))
}
