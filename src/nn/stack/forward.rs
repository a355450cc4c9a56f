//! The stack's forward pass: each layer and direction in turn over the whole sequence, keeping
//! what the backward pass (`backward.rs`, beside it) needs: every state, the gated cells'
//! activations, the dropout masks and the residual outputs.

use ndarray::{Array3, ArrayView3, Axis, CowArray, s};
use rand::Rng;

use super::{GateCache, Outputs, Rnn, RnnTrace};
use crate::kernels::PackedRef;
use crate::nn::cell::Cell;
use crate::nn::gru::{self, GruOut};
use crate::nn::layer::Recurrence;
use crate::nn::lstm::{self, LstmOut};
use crate::{Error, Float, Result};

impl<F: Float> Rnn<F> {
    /// Inference: runs the stack without dropout, returning `(output, h_n)` as `nn.RNN` and
    /// `nn.GRU` do (an LSTM starts from zero cell states; see [`Rnn::forward_states`]).
    ///
    /// # Shapes
    /// `x [seq_len, batch, input_size]`, `h0 [num_layers * D, batch, S]` (zeros when `None`);
    /// `output [seq_len, batch, D * S]`, `h_n [num_layers * D, batch, S]`, with `D = 2` when
    /// bidirectional and `S` the [`RnnConfig::state_size`](crate::RnnConfig::state_size).
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `h0` has the wrong shape, or `seq_len` or `batch` is 0.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array3, s};
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4).with_num_layers(2), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::from_shape_fn((5, 3, 2), |(t, b, i)| (t + b + i) as f64 * 0.1);
    /// let (output, h_n) = rnn.forward(x.view(), None)?;
    /// // the top layer's last output is its final state
    /// assert_eq!(output.slice(s![4, .., ..]), h_n.slice(s![1, .., ..]));
    /// assert!(rnn.forward(x.slice(s![..0, .., ..]), None).is_err()); // seq_len 0
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 8).with_num_layers(2).with_dropout(0.5), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((4, 3, 2));
    /// let trace = rnn.forward_train(x.view(), None, &mut rand::rng())?;
    /// let (output, _) = rnn.forward(x.view(), None)?;
    /// assert_ne!(trace.output(), output); // dropout between the layers in training only
    /// let grads = rnn.backward(&trace, Array3::ones((4, 3, 8)).view(), None)?;
    /// assert_eq!(grads.layers.len(), 2);
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let lstm = Rnn::<f64>::new(RnnConfig::new(2, 4).with_cell(Cell::Lstm), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 2, 2));
    /// let c0 = Array3::<f64>::from_elem((1, 2, 4), 1.0);
    /// let trace = lstm.forward_train_states(x.view(), None, Some(c0.view()), &mut rand::rng())?;
    /// let (output, _, _) = lstm.forward_states(x.view(), None, Some(c0.view()))?;
    /// assert!((&trace.output() - &output).iter().all(|d| d.abs() < 1e-12)); // no dropout configured
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Rnn, RnnConfig};
    /// let rnn = Rnn::<f64>::new(RnnConfig::new(2, 4), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 2, 2));
    /// let h0 = Array3::<f64>::from_elem((1, 2, 4), 0.1);
    /// let trace = rnn.forward_trace(x.view(), Some(h0.view()))?;
    /// let (output, _) = rnn.forward(x.view(), Some(h0.view()))?;
    /// assert!((&trace.output() - &output).iter().all(|d| d.abs() < 1e-12));
    /// let grads = rnn.backward(&trace, Array3::ones((3, 2, 4)).view(), None)?;
    /// assert_eq!(grads.h0.dim(), (1, 2, 4));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward_trace<'a>(&self, x: ArrayView3<'a, F>, h0: Option<ArrayView3<'_, F>>) -> Result<RnnTrace<'a, F>> {
        self.run(x, h0, None, None::<&mut rand_chacha::ChaCha8Rng>, &[])
    }

    /// [`Rnn::forward_trace`] from given LSTM cell states `c0` (see [`Rnn::forward_states`]).
    ///
    /// # Errors
    /// As [`Rnn::forward_states`].
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let lstm = Rnn::<f64>::new(RnnConfig::new(2, 4).with_cell(Cell::Lstm), Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::ones((3, 2, 2));
    /// let c0 = Array3::<f64>::from_elem((1, 2, 4), 1.0);
    /// let trace = lstm.forward_trace_states(x.view(), None, Some(c0.view()))?;
    /// let grads = lstm.backward_states(&trace, Array3::ones((3, 2, 4)).view(), None, None)?;
    /// assert_eq!(grads.c0.map(|d| d.dim()), Some((1, 2, 4)));
    /// // a GRU has no cell state to start from
    /// let gru = Rnn::<f64>::new(RnnConfig::new(2, 4).with_cell(Cell::Gru), Init::PyTorch, 0)?;
    /// assert!(gru.forward_trace_states(x.view(), None, Some(c0.view())).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
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
                let mut hs = zeros3((seq_len, batch, state));
                let (x, h0) = (trace.layer_input(l), trace.h0.index_axis(Axis(0), i));
                let packed = packed.get(i).copied();
                let mut cache = match c.cell {
                    Cell::Rnn | Cell::IndRnn => None,
                    Cell::Lstm | Cell::Gru => Some(GateCache {
                        gates: zeros3((seq_len, batch, c.cell.gates() * hidden)),
                        extra: zeros3((seq_len, batch, hidden)),
                    }),
                };
                let p = &self.layers[i];
                let rec = Recurrence { nonlinearity: c.nonlinearity, reverse };
                match (&mut cache, &trace.c0) {
                    (None, _) if c.cell == Cell::IndRnn => crate::nn::indrnn::forward(p, rec, x, h0, hs.view_mut())?,
                    (None, _) => p.forward_with(rec, x, h0, hs.view_mut(), packed)?,
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
            let residual = c.residual_at(l);
            let output = if dirs == 1 && mask.is_none() && !residual {
                None
            } else {
                let mut out = Array3::zeros((seq_len, batch, c.output_width()));
                for d in 0..dirs {
                    out.slice_mut(s![.., .., d * state..(d + 1) * state]).assign(&trace.hs[l * dirs + d]);
                }
                // a residual layer outputs h_t + its input (which is as wide), then dropout
                if residual {
                    out += &trace.layer_input(l);
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
}

/// A fresh array of zeros, cleared by the pool's threads when large ([`crate::compute::pool::zeros`]).
fn zeros3<F: Float>(shape: (usize, usize, usize)) -> Array3<F> {
    let v = crate::compute::pool::zeros(shape.0 * shape.1 * shape.2);
    Array3::from_shape_vec(shape, v).expect("as many zeros as the shape holds")
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
