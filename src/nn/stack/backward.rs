//! Backpropagation through time through the whole stack: layers top-down, each direction's
//! BPTT handing its input gradient to the layer below through the same dropout mask.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, s};

use super::{GateCache, Rnn, RnnGrads, RnnTrace};
use crate::kernels::matmul;
use crate::nn::flow::GradFlow;
use crate::nn::gated::GatedGradsOut;
use crate::nn::gru;
use crate::nn::layer::{InputGrad, LayerGradsOut, LayerParams, Recurrence, Tape, Upstream};
use crate::nn::lstm;
use crate::{Cell, Error, Float, Result};

impl<F: Float> Rnn<F> {
    /// Backpropagation through time through the whole stack.
    ///
    /// `d_output` is dL/d(output) `[seq_len, batch, D * hidden_size]`; `d_hn` is dL/d(h_n)
    /// `[num_layers * D, batch, hidden_size]` (zero when `None`). Layers run top-down, each
    /// handing its input gradient to the layer below (through the same dropout mask). The
    /// trace is left as it was; [`Rnn::backward_owned`] reuses its memory instead.
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape does not match the trace.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(1, 4), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::from_elem((3, 1, 1), 0.5);
    /// let trace = rnn.forward_trace(x.view(), None)?;
    /// let grads = rnn.backward(&trace, Array3::ones((3, 1, 4)).view(), None)?; // L = Σ output
    /// // dL/dx at step 0 against a finite difference
    /// let eps = 1e-6;
    /// let mut x1 = x.clone();
    /// x1[[0, 0, 0]] += eps;
    /// let sum = |x: &Array3<f64>| rnn.forward(x.view(), None).map(|(o, _)| o.sum());
    /// let numeric = (sum(&x1)? - sum(&x)?) / eps;
    /// let analytic = grads.input.as_ref().map_or(0.0, |d| d[[0, 0, 0]]);
    /// assert!((analytic - numeric).abs() < 1e-5, "{analytic} vs {numeric}");
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let lstm = Rnn::<f64>::new(RnnConfig::new(2, 4).with_cell(Cell::Lstm), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 2, 2));
    /// let trace = lstm.forward_trace(x.view(), None)?;
    /// let d_cn = Array3::<f64>::ones((1, 2, 4)); // L = Σ c_n
    /// let grads = lstm.backward_states(&trace, Array3::zeros((3, 2, 4)).view(), None, Some(d_cn.view()))?;
    /// assert!(grads.c0.is_some_and(|d| d.iter().all(|v| *v > 0.0))); // c flows on through the forget gate
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn backward_states(
        &self,
        trace: &RnnTrace<'_, F>,
        d_output: ArrayView3<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
        d_cn: Option<ArrayView3<'_, F>>,
    ) -> Result<RnnGrads<F>> {
        let d_output = OutputGrad::Dense(d_output.as_standard_layout().into_owned());
        self.backward_stack(
            trace,
            Backward { states: Vec::new(), caches: None, d_cn, input_grad: true, flow: None },
            d_output,
            d_hn,
        )
    }

    /// [`Rnn::backward`] that consumes the trace (as PyTorch frees its graph in `backward()`)
    /// and works in its memory and in `d_output`'s: a unidirectional stack allocates no
    /// `[seq_len, batch, hidden_size]` array. Given the gradient through a head
    /// ([`OutputGrad::Head`]), the top layer's `dA` overwrites its own hidden states; each
    /// layer's input gradient then overwrites its `dA` and becomes the next layer's upstream
    /// gradient, in which that layer's `dA` is written in turn. A gated stack works in its gate
    /// activations, an IndRNN stack over the hidden states of each direction no layer above
    /// reads.
    ///
    /// `input_grad = false` skips dL/dx ([`RnnGrads::input`] is `None`), as a training step
    /// wants.
    ///
    /// # Errors
    /// As [`Rnn::backward`].
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, OutputGrad, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 2, 2));
    /// let d = Array3::<f64>::ones((3, 2, 4));
    /// let kept = rnn.backward(&rnn.forward_trace(x.view(), None)?, d.view(), None)?;
    /// let owned = rnn.backward_owned(rnn.forward_trace(x.view(), None)?, OutputGrad::Dense(d), None, false)?;
    /// assert!(owned.input.is_none());
    /// let diff = (&owned.layers[0].weight_hh - &kept.layers[0].weight_hh).mapv(f64::abs).sum();
    /// assert!(diff < 1e-12);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn backward_owned(
        &self,
        trace: RnnTrace<'_, F>,
        d_output: OutputGrad<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
        input_grad: bool,
    ) -> Result<RnnGrads<F>> {
        self.backward_owned_flow(trace, d_output, d_hn, input_grad, None)
    }

    /// [`Rnn::backward_owned`] that records the gradient's norm at every step into `flow`
    /// when given (see [`GradFlow`]).
    ///
    /// # Errors
    /// As [`Rnn::backward_owned`]; [`Error::Shape`] when `flow` is not sized for the trace.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::nn::flow::GradFlow;
    /// use rnn::{Init, OutputGrad, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4).with_num_layers(2), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((6, 2, 2));
    /// let trace = rnn.forward_trace(x.view(), None)?;
    /// let mut flow = GradFlow::new(rnn.config(), 6);
    /// let mut d = Array3::<f64>::zeros((6, 2, 4));
    /// d.slice_mut(ndarray::s![5, .., ..]).fill(1.0); // a loss on the last step only
    /// rnn.backward_owned_flow(trace, OutputGrad::Dense(d), None, false, Some(&mut flow))?;
    /// assert_eq!(flow.h.dim(), (2, 6));
    /// assert!(flow.h[[1, 5]] > 0.0); // where the loss is read
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn backward_owned_flow(
        &self,
        mut trace: RnnTrace<'_, F>,
        d_output: OutputGrad<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
        input_grad: bool,
        flow: Option<&mut GradFlow>,
    ) -> Result<RnnGrads<F>> {
        let c = &self.config;
        let top = c.num_layers - 1;
        let (seq_len, batch, _) = trace.x.dim();
        let in_top = trace.layer_input(top).shape()[2];
        // a gated cell's backward pass works in its gate activations
        if matches!(c.cell, Cell::Lstm | Cell::Gru) {
            let caches = std::mem::take(&mut trace.caches);
            let how = Backward { states: Vec::new(), caches: Some(caches), d_cn: None, input_grad, flow };
            return self.backward_stack(&trace, how, d_output, d_hn);
        }
        let dirs = c.num_directions();
        let states = if c.cell == Cell::IndRnn {
            // every IndRNN direction's dA goes over its own states (the layer above reads them
            // as its input first)
            trace.hs.iter_mut().map(|h| Some(std::mem::take(h))).collect()
        } else {
            // the Elman top layer works over its states when W_hh can be packed without a new
            // H × H array (into the gradient of a square W_ih), or that array is smaller than
            // the states
            let over_states = matches!(d_output, OutputGrad::Head { .. })
                && dirs == 1
                && !c.has_residual()
                && (in_top >= c.hidden_size || c.hidden_size <= seq_len * batch);
            let mut states: Vec<_> = (0..top).map(|_| None).collect();
            states.push(over_states.then(|| std::mem::take(&mut trace.hs[top])));
            states
        };
        self.backward_stack(&trace, Backward { states, caches: None, d_cn: None, input_grad, flow }, d_output, d_hn)
    }

    /// The backward pass of [`Rnn::backward`] and [`Rnn::backward_owned`], as `how` says.
    pub(crate) fn backward_stack(
        &self,
        trace: &RnnTrace<'_, F>,
        how: Backward<'_, F>,
        d_output: OutputGrad<'_, F>,
        d_hn: Option<ArrayView3<'_, F>>,
    ) -> Result<RnnGrads<F>> {
        let Backward { mut states, caches, d_cn, input_grad, mut flow } = how;
        let c = &self.config;
        let (dirs, hidden, state) = (c.num_directions(), c.hidden_size, c.state_size());
        if let Some(f) = &flow
            && f.h.dim() != (c.num_layers * dirs, trace.x.dim().0)
        {
            let want = format!("[{}, {}]", c.num_layers * dirs, trace.x.dim().0);
            return Err(Error::shape("gradient flow", want, f.h.shape()));
        }
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
        if c.cell == Cell::IndRnn {
            return self.backward_indrnn(trace, states, d_output, d_hn, input_grad, flow);
        }
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

        // a residual stack hands each layer's output gradient on to the layer below as well:
        // the dense path below keeps it
        if dirs == 1 && c.cell == Cell::Rnn && !c.has_residual() {
            // the top layer's dA goes over its own states, its upstream gradient formed step by
            // step from the head's; otherwise over the dense gradient of the output
            let top_states = states.get_mut(c.num_layers - 1).and_then(Option::take);
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
                    norms: flow.as_deref_mut().map(|f| f.slot(l)),
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
                        norms: flow.as_deref_mut().map(|f| f.slot(i)),
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
                    norms: flow.as_deref_mut().map(|f| f.slot(i)),
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
                    // a residual layer's output is h_t + input_t: its output gradient reaches
                    // the input unchanged too
                    if c.residual_at(l) {
                        d_in += &d_above.as_ref().unwrap_or(&d_output).view();
                    }
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

/// How [`Rnn::backward_stack`] runs.
pub(crate) struct Backward<'a, F> {
    /// Hidden states taken out of the trace, per layer and direction (`None` where they stay
    /// in it): the backward pass works over them. An Elman stack gives only its top layer's
    /// (with [`OutputGrad::Head`], unidirectional), an IndRNN stack every one.
    pub states: Vec<Option<Array3<F>>>,
    /// The gated cells' tapes, taken out of the trace: the backward pass works in them.
    pub caches: Option<Vec<Option<GateCache<F>>>>,
    /// dL/dc_n of an LSTM (zero when `None`).
    pub d_cn: Option<ArrayView3<'a, F>>,
    /// Whether dL/dx is wanted.
    pub input_grad: bool,
    /// Where to record the gradient's norm at every step of every direction.
    pub flow: Option<&'a mut GradFlow>,
}

/// dL/d(output) of a deep RNN, as [`Rnn::backward_owned`] takes it.
///
/// # Example
/// ```
/// use ndarray::{Array2, Array3};
/// use rnn::{Init, Linear, OutputGrad, Rnn, RnnConfig};
/// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4), Init::PyTorch, 0)?;
/// let head = Linear::<f64>::init(4, 1, Init::PyTorch, &mut rand::rng());
/// let x = Array3::<f64>::ones((3, 2, 2));
/// // a loss on the head's output at the last step: dz [1 * batch, out]
/// let dz = Array2::<f64>::ones((2, 1));
/// let through_head = OutputGrad::Head { dz: dz.view(), weight: head.weight.view(), first: 2 };
/// let a = rnn.backward_owned(rnn.forward_trace(x.view(), None)?, through_head, None, true)?;
/// // the same gradient written out densely: dz V on the last step, zero elsewhere
/// let mut dense = Array3::<f64>::zeros((3, 2, 4));
/// dense.slice_mut(ndarray::s![2, .., ..]).assign(&dz.dot(&head.weight));
/// let b = rnn.backward_owned(rnn.forward_trace(x.view(), None)?, OutputGrad::Dense(dense), None, true)?;
/// assert!((&a.layers[0].weight_ih - &b.layers[0].weight_ih).mapv(f64::abs).sum() < 1e-12);
/// # Ok::<(), rnn::Error>(())
/// ```
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
    pub(super) fn into_dense(self, shape: (usize, usize, usize)) -> Result<Array3<F>> {
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
