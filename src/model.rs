//! A deep RNN with an optional output head: the unit a model file holds.

use ndarray::{Array3, ArrayView3, ArrayViewD, ArrayViewMutD, Axis, s};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::deep::{RnnGrads, RnnTrace};
use crate::head::Linear;
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
/// assert_eq!(grads.input().shape(), &[10, 4, 3]);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Model<F = f32> {
    /// The recurrent stack.
    pub rnn: Rnn<F>,
    /// The output head, reading `num_directions * hidden_size` features.
    pub head: Option<Linear<F>>,
}

/// What [`Model::forward_train`] kept for [`Model::backward`].
#[derive(Clone, Debug)]
pub struct ModelTrace<F = f32> {
    rnn: RnnTrace<F>,
    readout: Readout,
    y: Array3<F>,
}

impl<F: Float> ModelTrace<F> {
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
    /// The RNN's trace.
    pub fn rnn(&self) -> &RnnTrace<F> {
        &self.rnn
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

    /// dL/dx `[seq_len, batch, input_size]`.
    pub fn input(&self) -> ArrayView3<'_, F> {
        self.rnn.input.view()
    }
    /// dL/dh0 `[num_layers * D, batch, hidden_size]`.
    pub fn h0(&self) -> ArrayView3<'_, F> {
        self.rnn.h0.view()
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
        let trace = self.trace(self.rnn.forward_trace(x, h0)?, Readout::EveryStep)?;
        Ok((trace.y, trace.rnn.h_n().to_owned()))
    }

    /// Inference that keeps a trace, reading the steps `readout` names (no dropout).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape.
    pub fn forward_eval(
        &self,
        x: ArrayView3<'_, F>,
        h0: Option<ArrayView3<'_, F>>,
        readout: Readout,
    ) -> Result<ModelTrace<F>> {
        self.trace(self.rnn.forward_trace(x, h0)?, readout)
    }

    /// Training forward pass (dropout drawn from `rng`), keeping what [`Model::backward`] needs.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape.
    pub fn forward_train<R: Rng + ?Sized>(
        &self,
        x: ArrayView3<'_, F>,
        h0: Option<ArrayView3<'_, F>>,
        readout: Readout,
        rng: &mut R,
    ) -> Result<ModelTrace<F>> {
        self.trace(self.rnn.forward_train(x, h0, rng)?, readout)
    }

    fn trace(&self, rnn: RnnTrace<F>, readout: Readout) -> Result<ModelTrace<F>> {
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
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace.
    pub fn backward(
        &self,
        trace: &ModelTrace<F>,
        d_y: ArrayView3<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
    ) -> Result<ModelGrads<F>> {
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
        // dL/d(rnn output): zero on steps the head does not read.
        let (d_out, head) = match &self.head {
            None => {
                let mut d_out = Array3::zeros(out.raw_dim());
                d_out.slice_mut(s![first.., .., ..]).assign(&d_y);
                (d_out, None)
            }
            Some(head) => {
                let read = out.slice(s![first.., .., ..]);
                let read = read.as_standard_layout();
                let x2 = read
                    .view()
                    .into_shape_with_order((steps * batch, width))
                    .map_err(|_| Error::shape("rnn output", "standard layout", out.shape()))?;
                let dz = d_y.as_standard_layout();
                let dz = dz
                    .view()
                    .into_shape_with_order((steps * batch, head.out_features()))
                    .map_err(|_| Error::shape("grad of y", "standard layout", d_y.shape()))?;
                let (g, dx) = head.backward(x2, dz)?;
                let d_out = if first == 0 {
                    // every step read: the head's input gradient is the whole buffer
                    dx.into_shape_with_order(out.raw_dim())
                        .map_err(|_| Error::shape("grad of rnn output", "standard layout", &[seq_len, batch, width]))?
                } else {
                    let mut d_out = Array3::zeros(out.raw_dim());
                    for (k, row) in dx.axis_chunks_iter(Axis(0), batch).enumerate() {
                        d_out.index_axis_mut(Axis(0), first + k).assign(&row);
                    }
                    d_out
                };
                (d_out, Some(g))
            }
        };
        let rnn = self.rnn.backward_owned(&trace.rnn, d_out, d_hn)?;
        Ok(ModelGrads { rnn, head })
    }
}
