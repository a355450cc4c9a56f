//! Backpropagation through the head and the stack: [`Model::backward`] and its variants, each
//! the adjoint of a forward pass in `model.rs` beside it.

use ndarray::{Array3, ArrayView3, s};

use super::{Model, ModelGrads, ModelTrace, Readout};
use crate::nn::flow::GradFlow;
use crate::nn::head::Linear;
use crate::nn::stack::{Backward, OutputGrad};
use crate::{Error, Float, Result};

impl<F: Float> Model<F> {
    /// Backpropagation through the head and the stack.
    ///
    /// `d_y = dL/dy` (same shape as [`ModelTrace::y`]), `d_hn = dL/dh_n` (zero when `None`).
    /// The trace is left as it was; [`Model::backward_owned`] reuses its memory instead.
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::from_elem((3, 1, 2), 0.5);
    /// let trace = model.forward_eval(x.view(), None, Readout::LastStep)?;
    /// let grads = model.backward(&trace, Array3::ones((1, 1, 1)).view(), None)?; // L = y at the last step
    /// // check dL/db of the head against a finite difference
    /// let eps = 1e-6;
    /// let mut moved = model.clone();
    /// if let Some(b) = moved.head.as_mut().and_then(|h| h.bias.as_mut()) {
    ///     b[0] += eps;
    /// }
    /// let (y0, y1) = (model.forward(x.view(), None)?.0[[2, 0, 0]], moved.forward(x.view(), None)?.0[[2, 0, 0]]);
    /// let db = grads.head.as_ref().and_then(|h| h.bias.as_ref()).map(|b| b[0]);
    /// assert!((db.unwrap_or(0.0) - (y1 - y0) / eps).abs() < 1e-6);
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Lstm), output_size: None };
    /// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 2, 2));
    /// let trace = model.forward_eval(x.view(), None, Readout::EveryStep)?;
    /// // L = Σ c_n: only the final cell states carry a gradient
    /// let d_cn = Array3::<f64>::ones((1, 2, 4));
    /// let grads = model.backward_states(&trace, Array3::zeros((3, 2, 4)).view(), None, Some(d_cn.view()))?;
    /// assert!(grads.c0().is_some_and(|d| d.iter().any(|v| *v != 0.0)));
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    /// allocates no array the size of its hidden states (see
    /// [`Rnn::backward_owned`](crate::Rnn::backward_owned)). With `input_grad = false`, dL/dx
    /// is not computed ([`ModelGrads::input`] is `None`).
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::nn::flow::GradFlow;
    /// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((5, 2, 2));
    /// let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rand::rng())?;
    /// let mut flow = GradFlow::new(model.rnn.config(), 5);
    /// let dy = Array3::<f64>::ones((5, 2, 1));
    /// model.backward_owned_flow(trace, dy.view(), None, false, Some(&mut flow))?;
    /// assert_eq!(flow.h.dim(), (1, 5)); // one row per layer and direction, one column per step
    /// assert!(flow.h.iter().all(|n| *n > 0.0));
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::nn::flow::GradFlow;
    /// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_num_layers(2), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((8, 2, 2));
    /// let trace = model.forward_eval(x.view(), None, Readout::LastStep)?;
    /// let mut flow = GradFlow::new(model.rnn.config(), 8);
    /// model.backward_flow(&trace, Array3::ones((1, 2, 1)).view(), &mut flow)?;
    /// // a loss on the last step: the gradient reaches back from step 7 and shrinks on the way
    /// assert!(flow.h[[1, 7]] > flow.h[[1, 0]] && flow.h[[1, 0]] > 0.0);
    /// assert!(model.backward_flow(&trace, Array3::ones((1, 2, 1)).view(), &mut GradFlow::new(model.rnn.config(), 5)).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
