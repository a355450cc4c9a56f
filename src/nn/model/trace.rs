//! What a forward pass keeps ([`ModelTrace`]), the state carried between chunks of a sequence
//! ([`State`]) and the gradients of a backward pass ([`ModelGrads`]).

use ndarray::{Array3, ArrayView3, ArrayViewD, ArrayViewMutD, s};

use super::Readout;
#[cfg(doc)]
use crate::Model;
use crate::nn::head::Linear;
use crate::nn::stack::{RnnGrads, RnnTrace};
use crate::{Float, RnnConfig}; // the links below

/// The recurrent state a sequence leaves and the next chunk of it starts from: the hidden
/// states `h` `[num_layers * D, batch, state_size]` and an LSTM's cell states `c`
/// `[num_layers * D, batch, hidden_size]` (PyTorch's `(h_n, c_n)`).
///
/// # Example
/// ```
/// use ndarray::{Array3, s};
/// use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4).with_cell(Cell::Lstm), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((6, 2, 1));
/// let state = model.forward_eval(x.slice(s![..3, .., ..]), None, Readout::EveryStep)?.state();
/// assert_eq!((state.h.dim(), state.c.as_ref().map(|c| c.dim())), ((1, 2, 4), Some((1, 2, 4))));
/// let rest = model.forward_eval_from(x.slice(s![3.., .., ..]), Some(&state), Readout::EveryStep)?;
/// assert_eq!(rest.y().dim(), (3, 2, 1));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct State<F = f32> {
    /// Hidden states.
    pub h: Array3<F>,
    /// An LSTM's cell states (`None` for the other cells).
    pub c: Option<Array3<F>>,
}

impl<F: Float> State<F> {
    /// The states of the first `n` sequences of the batch (a last, smaller batch).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::State;
    /// let state = State { h: Array3::<f32>::zeros((2, 5, 4)), c: None };
    /// assert_eq!(state.first(3).h.dim(), (2, 3, 4));
    /// assert_eq!(state.first(9).h.dim(), (2, 5, 4)); // never more than the batch
    /// ```
    pub fn first(&self, n: usize) -> Self {
        let cut = |a: &Array3<F>| a.slice(s![.., ..n.min(a.shape()[1]), ..]).to_owned();
        State { h: cut(&self.h), c: self.c.as_ref().map(cut) }
    }
}

/// What [`Model::forward_train`] kept for [`Model::backward`].
/// It borrows the input (`'a`).
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((4, 3, 2));
/// let trace = model.forward_train(x.view(), None, Readout::LastStep, &mut rand::rng())?;
/// let grads = model.backward_owned(trace, Array3::ones((1, 3, 1)).view(), None, true)?; // consumes it
/// assert_eq!(grads.input().map(|d| d.dim()), Some((4, 3, 2)));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ModelTrace<'a, F = f32> {
    pub(super) rnn: RnnTrace<'a, F>,
    pub(super) readout: Readout,
    pub(super) y: Array3<F>,
}

impl<'a, F: Float> ModelTrace<'a, F> {
    /// The model's output: the head's output `[steps, batch, output_size]`, or without a head
    /// the RNN's output `[steps, batch, D * hidden_size]`; `steps` is `seq_len` or 1
    /// ([`Readout::LastStep`]).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Lstm).with_num_layers(2), output_size: Some(3) };
    /// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((6, 5, 2));
    /// let trace = model.forward_eval(x.view(), None, Readout::LastStep)?;
    /// assert_eq!(trace.y().dim(), (1, 5, 3)); // the last step only
    /// assert_eq!(trace.h_n().dim(), (2, 5, 4));
    /// assert_eq!(trace.c_n().map(|c| c.dim()), Some((2, 5, 4)));
    /// assert_eq!(trace.state().h, trace.h_n());
    /// assert_eq!(trace.rnn().output().dim(), (6, 5, 4));
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((4, 3, 2));
/// let trace = model.forward_eval(x.view(), None, Readout::EveryStep)?;
/// let grads = model.backward(&trace, Array3::ones((4, 3, 1)).view(), None)?;
/// // one gradient per parameter, in the order and under the names of Model::named_tensors
/// let names: Vec<String> = grads.named_tensors(model.rnn.config()).into_iter().map(|(n, _)| n).collect();
/// let params: Vec<String> = model.named_tensors().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, params);
/// assert_eq!(grads.head.as_ref().map(|h| h.weight.dim()), Some((1, 4)));
/// # Ok::<(), rnn::Error>(())
/// ```
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 2, 2));
    /// let trace = model.forward_train(x.view(), None, rnn::Readout::EveryStep, &mut rand::rng())?;
    /// let mut grads = model.backward(&trace, Array3::ones((3, 2, 1)).view(), None)?;
    /// let names: Vec<String> = grads.named_tensors(model.rnn.config()).into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.weight", "head.bias"]);
    /// assert_eq!(grads.h0().dim(), (1, 2, 4));
    /// assert!(grads.c0().is_none()); // not an LSTM
    /// for mut g in grads.tensors_mut() {
    ///     g.fill(0.0); // e.g. what an optimizer's zero_grad does
    /// }
    /// assert!(grads.named_tensors(model.rnn.config()).iter().all(|(_, g)| g.iter().all(|v| *v == 0.0)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
