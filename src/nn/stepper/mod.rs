//! Streaming inference: advance a (unidirectional) model one time step per call, for one or
//! many streams, holding the hidden state between calls and allocating nothing per step.
//!
//! # Example
//! ```
//! use ndarray::Array2;
//! use rnn::{Init, Model, ModelConfig, RnnConfig, Stepper};
//! let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let mut stepper = Stepper::new(&model, 1)?; // one stream
//! for t in 0..5 {
//!     let x_t = Array2::from_elem((1, 2), t as f32); // the input as it arrives
//!     let y_t = stepper.step(x_t.view())?;
//!     assert_eq!(y_t.dim(), (1, 1));
//! }
//! # Ok::<(), rnn::Error>(())
//! ```

mod pair;
mod part;

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};

use self::pair::Pair;
use self::part::{PartWeights, Scratch, StepInput, run_part, split_units};
use crate::compute::pool;
use crate::kernels::{Aligned, Mat, gemm, transposed_aligned};

use crate::{Cell, Error, Float, Model, Result};

/// Multiply-adds of one layer's step below which it runs as one part on the calling thread:
/// sharing it costs a few tenths of a microsecond (one job on the pool). Measured on the
/// 2-core AMD EPYC (Zen 4, `RNN_ISA=avx2`) at H = 128, input 32, batch 1 (`examples/
/// stream_step`, processes alternating): the GRU's step (61k multiply-adds, two products per
/// part) took 3.01-3.05 µs whole and 2.22-2.39 µs split (six of seven runs; the pool's offer
/// without its lock, 2026-12-04), the LSTM's (82k) 4.0 µs whole and 2.75-2.81 µs split; the
/// Elman step (20k) lost when split (1.39-2.18 against 1.10-1.44 µs whole).
const SPLIT_MIN_MACS: usize = 1 << 15;

/// The same threshold for a step split between the calling thread and its partner (two
/// threads, see [`pair`]), whose hand-offs cost less than a pool job's.
/// Measured as above (before the pair's books): the Elman step at H = 128 (20k multiply-adds)
/// 0.80-0.93 µs paired against 1.08-1.09 whole; at H = 96 (12k) 1.00-1.02 against 0.77; at
/// H = 64 (8k) 0.45-0.48 against 0.41.
const PAIR_MIN_MACS: usize = 1 << 14;

/// Steps a model through time one input at a time (text generation, real-time forecasting).
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use rnn::{Init, Model, ModelConfig, RnnConfig, Stepper};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 8).with_num_layers(2), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let mut stepper = Stepper::new(&model, 4)?; // 4 streams
/// let x_t = Array2::<f32>::ones((4, 3));
/// let y_t = stepper.step(x_t.view())?; // [4, 1]
/// assert_eq!(y_t.shape(), &[4, 1]);
/// # Ok::<(), rnn::Error>(())
/// ```
pub struct Stepper<'m, F: Float = f32> {
    model: &'m Model<F>,
    /// Per layer, per part, the part's weights (see [`part`]).
    layers: Vec<Vec<PartWeights<F>>>,
    /// Each part's working memory (the parts of every layer share it, layer after layer).
    scratch: Vec<Mutex<Scratch<F>>>,
    /// Whether the parts run on the pool (one part per thread, more than two threads) or in
    /// order on this thread.
    on_pool: bool,
    /// With two threads, the second half of every layer's step and the partner thread that
    /// runs it (`layers` then holds the first halves).
    pair: Option<Pair<F>>,
    /// An LSTM's `W_hrᵀ` per layer, with proj_size.
    w_hr_t: Vec<Option<Aligned<F>>>,
    /// The head's `Vᵀ`.
    head_t: Option<Aligned<F>>,
    /// `[num_layers, batch, state]`.
    h: Array3<F>,
    /// An LSTM's cell states `[num_layers, batch, hidden]` (empty for the other cells).
    c: Array3<F>,
    /// The product's left-hand side `[batch, input + state]`: each stream's `[x, h]`.
    xh: Vec<F>,
    /// With proj_size, an LSTM's `o ⊙ tanh c` gathered from the parts `[batch, hidden]`.
    m: Vec<F>,
    /// Head output `[batch, output_size]` (empty without a head).
    y: Array2<F>,
    /// A residual stack's layer outputs `[num_layers, batch, state]` (`h_t`, plus the layer's
    /// input where it is residual); `None` when every layer's output is its state.
    outputs: Option<Array3<F>>,
}

impl<'m, F: Float> Stepper<'m, F> {
    /// A stepper for `batch` streams starting from zero states. A layer large enough to repay
    /// it (at H = 128, input 32 every cell but the IndRNN is) is split by hidden units: with
    /// two threads (see [`crate::threads`]) into halves, the second run by a partner thread of
    /// the stepper's own that steps in lockstep with the caller (`src/nn/stepper/pair.rs`);
    /// with more, into one part per thread on the pool. Each thread computes its units' gates
    /// and states, from the weights in its own core's cache. Measured on 2 AMD cores (AVX2) at
    /// H = 128, input 32: the Elman step 0.78-0.82 µs against 1.07 on one thread, the LSTM
    /// 2.39-2.56 against 3.97, the GRU 1.84-1.87 against 3.00; the pair keeps the faster of the
    /// two ways by the clock, so with another process busy on one of the cores it keeps
    /// 0.95-0.98x of one thread's speed. Smaller steps, or one thread, run on the calling thread
    /// ([`Stepper::on_one_thread`] always does). A paired stepper starts its partner thread
    /// here and joins it when dropped; between steps the partner spins for about a millisecond,
    /// then sleeps. A program that runs many steppers on threads of its own wants
    /// [`Stepper::on_one_thread`].
    ///
    /// # Errors
    /// [`Error::Config`] for a bidirectional model (it needs the whole sequence) or `batch` 0.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array3, s};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::from_shape_fn((5, 1, 2), |(t, _, i)| (t + i) as f64 / 5.0); // [T, B, I]
    /// let mut stepper = Stepper::new(&model, 1)?;
    /// let mut last = Vec::new();
    /// for t in 0..5 {
    ///     last = stepper.step(x.slice(s![t, .., ..]))?.iter().copied().collect();
    /// }
    /// // five steps give what one pass over the sequence gives at its last step
    /// let (y, _) = model.forward(x.view(), None)?;
    /// assert!((last[0] - y[[4, 0, 0]]).abs() < 1e-12);
    /// let bidirectional = RnnConfig::new(2, 4).with_bidirectional(true);
    /// let model = Model::<f64>::new(ModelConfig { rnn: bidirectional, output_size: None }, Init::PyTorch, 0)?;
    /// assert!(Stepper::new(&model, 1).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(model: &'m Model<F>, batch: usize) -> Result<Self> {
        let c = model.rnn.config();
        // the widest layer's product: the first reads the input, the others the state below
        let input = if c.num_layers > 1 { c.input_size.max(c.state_size()) } else { c.input_size };
        // an IndRNN's product reads the input alone (its recurrence is element-wise)
        let k = input + if c.cell == Cell::IndRnn { 0 } else { c.state_size() };
        let macs = batch * k * c.cell.gates() * c.hidden_size;
        let threads = pool::threads();
        // two threads pair up from PAIR_MIN_MACS when each half's gate columns fill whole
        // panels of the packed weights (the product's narrower last panel runs a plain loop:
        // the Elman step at H = 160, halves of 80 columns, took 1.61-1.63 µs paired against
        // 1.53 whole; at H = 192, 96 columns, 1.32 against 2.0)
        let whole_panels = split_units(c.hidden_size, 2)
            .iter()
            .all(|u| (u.len() * c.cell.gates()).is_multiple_of(crate::kernels::PANEL));
        let parts = match threads {
            2 if macs >= SPLIT_MIN_MACS || (macs >= PAIR_MIN_MACS && whole_panels) => 2,
            t if t > 2 && macs >= SPLIT_MIN_MACS => t,
            _ => 1,
        };
        Self::with_parts(model, batch, parts)
    }

    /// [`Stepper::new`], but every step on the calling thread whatever the layer's size: for a
    /// caller that runs many steppers on threads of its own.
    ///
    /// # Errors
    /// As [`Stepper::new`].
    ///
    /// # Example
    /// ```
    /// use ndarray::Array2;
    /// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let rnn = RnnConfig::new(32, 128).with_cell(Cell::Lstm);
    /// let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let (mut split, mut whole) = (Stepper::new(&model, 1)?, Stepper::on_one_thread(&model, 1)?);
    /// let x = Array2::<f32>::from_elem((1, 32), 0.5);
    /// let (a, b) = (split.step(x.view())?.to_owned(), whole.step(x.view())?.to_owned());
    /// assert_eq!(a, b); // the same products and gate math, per unit
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn on_one_thread(model: &'m Model<F>, batch: usize) -> Result<Self> {
        Self::with_parts(model, batch, 1)
    }

    /// [`Stepper::new`] with each layer split into (at most) `parts` parts: two halves on the
    /// calling thread and a partner thread (see [`pair`]) when the pool has two threads or
    /// more, more parts on the pool when that is one per thread, else in order on the calling
    /// thread.
    fn with_parts(model: &'m Model<F>, batch: usize, parts: usize) -> Result<Self> {
        Self::build(model, batch, parts, true)
    }

    /// [`Stepper::with_parts`]; a pair without its partner thread unless `partner` (the calling
    /// thread then runs both halves, as when the partner is never scheduled).
    fn build(model: &'m Model<F>, batch: usize, parts: usize, partner: bool) -> Result<Self> {
        let c = model.rnn.config();
        if c.bidirectional {
            return Err(Error::Config(
                "a bidirectional model cannot be stepped: it reads the sequence backwards too".into(),
            ));
        }
        if batch == 0 {
            return Err(Error::Config("batch must be at least 1".into()));
        }
        let out = model.head.as_ref().map_or(0, |h| h.out_features());
        let (hidden, gates, state) = (c.hidden_size, c.cell.gates(), c.state_size());
        let units = split_units(hidden, parts);
        let mut layers: Vec<Vec<PartWeights<F>>> = model
            .rnn
            .layers()
            .iter()
            .map(|p| units.iter().map(|u| PartWeights::new(p, c.cell, u.clone())).collect())
            .collect();
        let widest = units.iter().map(|u| u.len()).max().unwrap_or(0);
        let lstm = c.cell == Cell::Lstm;
        let xh = batch * (c.input_size.max(state) + state);
        // (the test path without a partner builds the pair whatever the pool's threads)
        let pair = (units.len() == 2 && (!partner || pool::threads() >= 2)).then(|| {
            let second = layers.iter_mut().filter_map(Vec::pop).collect();
            Pair::new(second, c.cell, c.nonlinearity, batch, (xh, state, hidden), (widest, gates), partner)
        });
        let own = if pair.is_some() { 1 } else { units.len() };
        Ok(Stepper {
            model,
            layers,
            scratch: (0..own).map(|_| Mutex::new(Scratch::new(batch, widest, gates))).collect(),
            on_pool: pair.is_none() && units.len() > 1 && units.len() == pool::threads(),
            pair,
            w_hr_t: model
                .rnn
                .layers()
                .iter()
                .map(|p| p.weight_hr.as_ref().map(|w| transposed_aligned(w.view())))
                .collect(),
            head_t: model.head.as_ref().map(|h| transposed_aligned(h.weight.view())),
            h: Array3::zeros((c.num_layers, batch, state)),
            c: Array3::zeros(if lstm { (c.num_layers, batch, hidden) } else { (0, 0, 0) }),
            xh: vec![F::zero(); xh],
            m: vec![F::zero(); if c.proj_size > 0 { batch * hidden } else { 0 }],
            y: Array2::zeros((batch, out)),
            outputs: c.has_residual().then(|| Array3::zeros((c.num_layers, batch, state))),
        })
    }

    /// Sets every state back to zeros.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array2;
    /// use rnn::{Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: None }, Init::PyTorch, 0)?;
    /// let mut stepper = Stepper::new(&model, 1)?;
    /// stepper.step(Array2::ones((1, 2)).view())?;
    /// assert!(stepper.state().iter().any(|h| *h != 0.0));
    /// stepper.reset(); // a new sequence
    /// assert!(stepper.state().iter().all(|h| *h == 0.0));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn reset(&mut self) {
        self.h.fill(F::zero());
        self.c.fill(F::zero());
    }

    /// The states `[num_layers, batch, state_size]` (PyTorch's `h_n` layout).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array2;
    /// use rnn::{Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_num_layers(2), output_size: None }, Init::PyTorch, 0)?;
    /// let mut stepper = Stepper::new(&model, 3)?;
    /// let x = Array2::<f64>::ones((3, 2));
    /// stepper.step(x.view())?;
    /// assert_eq!(stepper.state().dim(), (2, 3, 4));
    /// // what a one-step sequence leaves as h_n
    /// let (_, h_n) = model.forward(x.view().insert_axis(ndarray::Axis(0)), None)?;
    /// assert!((&stepper.state() - &h_n).iter().all(|d| d.abs() < 1e-12));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn state(&self) -> ArrayView3<'_, F> {
        self.h.view()
    }

    /// An LSTM's cell states `[num_layers, batch, hidden_size]` (PyTorch's `c_n` layout);
    /// `None` for the other cells.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let lstm = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Lstm), output_size: None }, Init::PyTorch, 0)?;
    /// assert_eq!(Stepper::new(&lstm, 3)?.cell_state().map(|c| c.dim()), Some((1, 3, 4)));
    /// let gru = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Gru), output_size: None }, Init::PyTorch, 0)?;
    /// assert!(Stepper::new(&gru, 3)?.cell_state().is_none());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn cell_state(&self) -> Option<ArrayView3<'_, F>> {
        (self.model.rnn.config().cell == Cell::Lstm).then(|| self.c.view())
    }

    /// Replaces an LSTM's cell states.
    ///
    /// # Errors
    /// [`Error::Shape`] when `c` is not `[num_layers, batch, hidden_size]` or the model is not
    /// an LSTM.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array2, Array3};
    /// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Lstm), output_size: None }, Init::PyTorch, 0)?;
    /// let mut stepper = Stepper::new(&model, 2)?;
    /// let c0 = Array3::<f64>::from_elem((1, 2, 4), 0.5);
    /// stepper.set_cell_state(c0.view())?;
    /// assert_eq!(stepper.cell_state(), Some(c0.view()));
    /// let x = Array2::<f64>::ones((2, 2));
    /// stepper.step(x.view())?;
    /// // the same step as a one-step sequence from (h0 = 0, c0)
    /// let (_, h_n, c_n) = model.rnn.forward_states(x.view().insert_axis(ndarray::Axis(0)), None, Some(c0.view()))?;
    /// assert!((&stepper.state() - &h_n).iter().all(|d| d.abs() < 1e-12));
    /// assert!(c_n.is_some_and(|c| (&stepper.cell_state().unwrap() - &c).iter().all(|d| d.abs() < 1e-12)));
    /// assert!(stepper.set_cell_state(Array3::zeros((1, 3, 4)).view()).is_err()); // 3 streams, not 2
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn set_cell_state(&mut self, c: ArrayView3<'_, F>) -> Result<()> {
        if self.model.rnn.config().cell != Cell::Lstm {
            return Err(Error::shape("cell state", "nothing: only an LSTM has one", c.shape()));
        }
        if self.c.shape() != c.shape() {
            return Err(Error::shape("cell state", format!("{:?}", self.c.shape()), c.shape()));
        }
        self.c.assign(&c);
        Ok(())
    }

    /// Replaces the states.
    ///
    /// # Errors
    /// [`Error::Shape`] when `h` is not `[num_layers, batch, state_size]`.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array2, Array3};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_num_layers(2), output_size: None }, Init::PyTorch, 0)?;
    /// let mut stepper = Stepper::new(&model, 1)?;
    /// let h0 = Array3::<f64>::from_elem((2, 1, 4), 0.1); // e.g. a forward pass's h_n
    /// stepper.set_state(h0.view())?;
    /// assert_eq!(stepper.state(), h0.view());
    /// assert!(stepper.set_state(Array3::zeros((1, 1, 4)).view()).is_err()); // 2 layers, not 1
    /// assert!(stepper.cell_state().is_none()); // not an LSTM
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn set_state(&mut self, h: ArrayView3<'_, F>) -> Result<()> {
        if h.shape() != self.h.shape() {
            return Err(Error::shape("state", format!("{:?}", self.h.shape()), h.shape()));
        }
        self.h.assign(&h);
        Ok(())
    }

    /// Advances every stream by one step with input `x [batch, input_size]`; returns the head's
    /// output `[batch, output_size]`, or without a head the top layer's state.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::{Array3, s};
    /// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let config = ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Gru).with_num_layers(2), output_size: Some(1) };
    /// let model = Model::<f64>::new(config, Init::PyTorch, 0)?;
    /// let x = Array3::<f64>::from_shape_fn((5, 3, 2), |(t, b, i)| ((t * 3 + b + i) as f64 * 0.37).sin());
    /// let (y, _) = model.forward(x.view(), None)?;
    /// let mut stepper = Stepper::new(&model, 3)?;
    /// for t in 0..5 {
    ///     let y_t = stepper.step(x.slice(s![t, .., ..]))?; // step by step: what forward computes
    ///     assert!((&y_t - &y.slice(s![t, .., ..])).iter().all(|d| d.abs() < 1e-12));
    /// }
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn step(&mut self, x: ArrayView2<'_, F>) -> Result<ArrayView2<'_, F>> {
        let c = self.model.rnn.config();
        let batch = self.h.shape()[1];
        if x.shape() != [batch, c.input_size] {
            return Err(Error::shape("step input", format!("[{batch}, {}]", c.input_size), x.shape()));
        }
        let x_std = x.as_standard_layout();
        let x_slice = x_std.as_slice().expect("standard layout");
        let (state, hidden) = (c.state_size(), c.hidden_size);
        let (bs, bh) = (batch * state, batch * hidden);
        for l in 0..c.num_layers {
            let h = self.h.as_slice_mut().expect("contiguous state");
            let (below, rest) = h.split_at_mut(l * bs);
            let h_l = &mut rest[..bs];
            // a residual stack's layer outputs, split as the states are
            let (outs_below, out_l) = match self.outputs.as_mut() {
                Some(o) => {
                    let (below, rest) = o.as_slice_mut().expect("contiguous outputs").split_at_mut(l * bs);
                    (Some(below), Some(&mut rest[..bs]))
                }
                None => (None, None),
            };
            // the layer's input: x, or the output of the layer below (its state unless residual)
            let (input, in_size) = match outs_below {
                _ if l == 0 => (x_slice, c.input_size),
                Some(o) => (&o[(l - 1) * bs..l * bs], state),
                None => (&below[(l - 1) * bs..], state),
            };
            // xh = [x, h_l] per stream
            let k = in_size + state;
            let xh = &mut self.xh[..batch * k];
            for (b, row) in xh.chunks_exact_mut(k).enumerate() {
                row[..in_size].copy_from_slice(&input[b * in_size..(b + 1) * in_size]);
                row[in_size..].copy_from_slice(&h_l[b * state..(b + 1) * state]);
            }
            let c_l = self.c.as_slice_mut().expect("contiguous cell state");
            let c_l = if c_l.is_empty() { c_l } else { &mut c_l[l * bh..(l + 1) * bh] };
            // every part's units: gates and new states, into its scratch
            let parts = &self.layers[l];
            let step = StepInput {
                cell: c.cell,
                act: c.nonlinearity,
                batch,
                xh,
                in_size,
                state,
                hidden,
                h_prev: h_l,
                c_prev: c_l,
            };
            let scratch = &self.scratch;
            let run = |p: usize| {
                if let (Some(w), Some(s)) = (parts.get(p), scratch.get(p)) {
                    run_part(w, &step, &mut s.lock().unwrap_or_else(PoisonError::into_inner));
                }
            };
            // with a pair: the second half's units and its results
            let mut second = None;
            if let Some(pair) = self.pair.as_mut() {
                let units = pair.weights(l).units.clone();
                second = Some((units, pair.run(l, &step, || run(0))));
            } else if self.on_pool {
                // the step's multiply-adds: every stream's [x, h] times every gate of every unit
                pool::run(batch * k * hidden * c.cell.gates(), &run);
            } else {
                (0..parts.len()).for_each(run);
            }
            // gather the parts' units into the layer's states
            let lstm = c.cell == Cell::Lstm;
            let w_hr_t = self.w_hr_t[l].as_ref();
            let (h_dst, h_ld) = match w_hr_t {
                Some(_) => (&mut self.m[..], hidden),
                None => (&mut h_l[..], state),
            };
            let mut gather = |u: Range<usize>, s: &Scratch<F>| {
                let n = u.len();
                for b in 0..batch {
                    h_dst[b * h_ld + u.start..b * h_ld + u.end]
                        .copy_from_slice(&s.h(c.cell, batch * n)[b * n..(b + 1) * n]);
                    if lstm {
                        c_l[b * hidden + u.start..b * hidden + u.end]
                            .copy_from_slice(&s.c(batch * n)[b * n..(b + 1) * n]);
                    }
                }
            };
            for (w, s) in parts.iter().zip(scratch) {
                gather(w.units.clone(), &s.lock().unwrap_or_else(PoisonError::into_inner));
            }
            if let Some((units, s)) = second {
                gather(units, s);
            }
            // with proj_size: h = m W_hrᵀ
            if let Some(w_hr_t) = w_hr_t {
                gemm(Mat::new(&self.m, batch, hidden), Mat::new(w_hr_t.as_slice(), hidden, state), h_l, state, false);
            }
            residual_output(out_l, h_l, c.residual_at(l).then_some(input));
        }
        self.read_out()
    }

    /// The head's output on the top layer's new state, or that state.
    fn read_out(&mut self) -> Result<ArrayView2<'_, F>> {
        let c = self.model.rnn.config();
        let (batch, hidden) = (self.h.shape()[1], c.state_size());
        let top = self.outputs.as_ref().unwrap_or(&self.h).index_axis(Axis(0), c.num_layers - 1);
        match (&self.model.head, &self.head_t) {
            (Some(head), Some(v_t)) => {
                let y = self.y.as_slice_mut().expect("contiguous output");
                match &head.bias {
                    Some(b) => y
                        .chunks_exact_mut(b.len())
                        .for_each(|row| row.copy_from_slice(b.as_slice().expect("contiguous"))),
                    None => y.fill(F::zero()),
                }
                let top = top.to_slice().expect("contiguous state");
                let out = head.out_features();
                gemm(Mat::new(top, batch, hidden), Mat::new(v_t.as_slice(), hidden, out), y, out, true);
                Ok(self.y.view())
            }
            _ => Ok(top),
        }
    }
}

/// A residual stack's layer output: the state `h`, plus the layer's `input` (as wide) when
/// the layer is residual. Nothing without an output buffer (no layer is residual).
fn residual_output<F: Float>(out: Option<&mut [F]>, h: &[F], input: Option<&[F]>) {
    let Some(out) = out else { return };
    out.copy_from_slice(h);
    if let Some(input) = input {
        out.iter_mut().zip(&input[..h.len()]).for_each(|(o, &x)| *o += x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cell, Init, ModelConfig, Nonlinearity, RnnConfig};
    use ndarray::s;

    /// Steps `rnn` (with a head of `head` outputs) through 6 steps of 1 and 2 streams, as one
    /// part and split into 2 (a pair, with and without its partner thread) and 3 parts (and as
    /// `Stepper::new` splits it), and checks every output, the final states and an LSTM's cell
    /// states against the whole-sequence forward pass to 1e-12, then that `reset` zeroes the
    /// states.
    fn steps_match_the_sequence(rnn: RnnConfig, head: Option<usize>) {
        let what = format!("{rnn:?}");
        let input = rnn.input_size;
        let model = Model::<f64>::new(ModelConfig { rnn, output_size: head }, Init::PyTorch, 4).unwrap();
        for batch in [1, 2] {
            let x = Array3::from_shape_fn((6, batch, input), |(t, b, i)| ((t * 5 + b * 3 + i) as f64 * 0.7).sin());
            let (y, h_n, c_n) = model.forward_states(x.view(), None, None).unwrap();
            // 4: two halves without the partner thread (the caller runs both)
            for parts in [0, 1, 2, 3, 4] {
                let mut st = match parts {
                    0 => Stepper::new(&model, batch).unwrap(),
                    4 => Stepper::build(&model, batch, 2, false).unwrap(),
                    p => Stepper::with_parts(&model, batch, p).unwrap(),
                };
                let what = format!("{what}, batch {batch}, {parts} parts");
                for t in 0..6 {
                    let y_t = st.step(x.index_axis(Axis(0), t)).unwrap().to_owned();
                    let diff = (&y_t - &y.slice(s![t, .., ..])).mapv(f64::abs).fold(0.0, |a: f64, &b| a.max(b));
                    assert!(diff < 1e-12, "{what} step {t}: {diff}");
                }
                assert!((&st.state() - &h_n).iter().all(|d| d.abs() < 1e-12), "{what}");
                assert_eq!(st.cell_state().is_some(), c_n.is_some());
                if let (Some(a), Some(b)) = (st.cell_state(), &c_n) {
                    assert!((&a - b).iter().all(|d| d.abs() < 1e-12), "{what}");
                }
                st.reset();
                assert!(st.state().iter().all(|&v| v == 0.0));
            }
        }
    }

    #[test]
    fn wide_layers_split_into_whole_vectors() {
        // 20 units in 3 parts: 8 + 8 + 4; an IndRNN and an LSTM with proj_size
        for (cell, proj) in [(Cell::Rnn, 0), (Cell::Lstm, 0), (Cell::Lstm, 6), (Cell::Gru, 0), (Cell::IndRnn, 0)] {
            let rnn = RnnConfig::new(7, 20).with_num_layers(2).with_cell(cell).with_proj_size(proj);
            steps_match_the_sequence(rnn, Some(3));
        }
    }

    #[test]
    fn stepping_equals_the_whole_sequence() {
        for (layers, head, act) in [(1, None, Nonlinearity::Tanh), (3, Some(2), Nonlinearity::Relu)] {
            steps_match_the_sequence(RnnConfig::new(3, 5).with_num_layers(layers).with_nonlinearity(act), head);
        }
    }

    #[test]
    fn gated_stepping_equals_the_whole_sequence() {
        for (cell, layers, head, proj) in
            [(Cell::Lstm, 1, None, 0), (Cell::Lstm, 2, Some(2), 3), (Cell::Gru, 3, Some(1), 0), (Cell::Gru, 1, None, 0)]
        {
            let rnn = RnnConfig::new(3, 5).with_num_layers(layers).with_cell(cell).with_proj_size(proj);
            steps_match_the_sequence(rnn, head);
        }
    }

    #[test]
    fn residual_stepping_equals_the_whole_sequence() {
        // input 5 = hidden: every layer residual (the first too)
        for cell in [Cell::Rnn, Cell::Lstm, Cell::Gru, Cell::IndRnn] {
            for input in [3, 5] {
                let rnn = RnnConfig::new(input, 5).with_num_layers(3).with_cell(cell).with_residual(true);
                steps_match_the_sequence(rnn, Some(2));
            }
        }
    }

    #[test]
    fn bidirectional_is_refused() {
        let rnn = RnnConfig::new(3, 5).with_bidirectional(true);
        let model = Model::<f32>::new(ModelConfig { rnn, output_size: None }, Init::PyTorch, 0).unwrap();
        assert!(Stepper::new(&model, 1).is_err());
    }
}
