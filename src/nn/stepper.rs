//! Streaming inference: advance a (unidirectional) model one time step per call, for one or
//! many streams, holding the hidden state between calls and allocating nothing per step.

use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis, concatenate};

use crate::kernels::{Aligned, Mat, Packed, gemm, gemm_packed, transposed_aligned};
use crate::nn::cell::{gru_gates, lstm_gates};

use crate::{Cell, Error, Float, Model, Result};

/// One layer's weights as a step uses them.
struct StepLayer<F: Float> {
    /// `[W_ihᵀ; W_hhᵀ]` stacked `[input + state, gates · H]` and packed, so that a step's whole
    /// product is one pass over `[x, h]`; a GRU's `W_ihᵀ` alone (its `W_hh h` stays apart, as
    /// the reset gate multiplies it).
    w: Packed<F>,
    /// A GRU's `W_hhᵀ`, packed.
    w_hh: Option<Packed<F>>,
    /// `b_ih + b_hh` (a GRU's `b_ih` alone).
    bias: Option<Array1<F>>,
    /// A GRU's `b_hh`.
    b_hh: Option<Array1<F>>,
    /// An LSTM's `W_hrᵀ`, with proj_size.
    w_hr_t: Option<Aligned<F>>,
    /// An IndRNN's element-wise recurrent weight `u`.
    u: Option<Array1<F>>,
}

/// What a gated cell's step needs beyond [`StepLayer`].
struct Gated<F: Float> {
    /// LSTM cell states `[num_layers, batch, hidden]`.
    c: Array3<F>,
    /// Scratch: a GRU's recurrent side `[batch, 3H]`; the new `c` or `h` and `o ⊙ tanh c`
    /// `[batch, H]` each.
    ah: Vec<F>,
    new: Vec<F>,
    m: Vec<F>,
}

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
    /// Per layer, the weights packed for the step's products.
    layers: Vec<StepLayer<F>>,
    /// The head's `Vᵀ`.
    head_t: Option<Aligned<F>>,
    /// `[num_layers, batch, state]`.
    h: Array3<F>,
    /// The product's left-hand side `[batch, input + state]`: each stream's `[x, h]`.
    xh: Vec<F>,
    /// Pre-activation scratch `[batch, gates · hidden]`.
    a: Array2<F>,
    /// Head output `[batch, output_size]` (empty without a head).
    y: Array2<F>,
    /// The gated cells' extras (`None` for the Elman cell).
    gated: Option<Gated<F>>,
    /// A residual stack's layer outputs `[num_layers, batch, state]` (`h_t`, plus the layer's
    /// input where it is residual); `None` when every layer's output is its state.
    outputs: Option<Array3<F>>,
}

impl<'m, F: Float> Stepper<'m, F> {
    /// A stepper for `batch` streams starting from zero states.
    ///
    /// # Errors
    /// [`Error::Config`] for a bidirectional model (it needs the whole sequence) or `batch` 0.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Model, ModelConfig, RnnConfig, Stepper};
    /// let uni = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: None }, Init::PyTorch, 0)?;
    /// assert!(Stepper::new(&uni, 3).is_ok());
    /// let bi = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_bidirectional(true), output_size: None }, Init::PyTorch, 0)?;
    /// assert!(Stepper::new(&bi, 3).is_err()); // the reverse direction needs the whole sequence
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(model: &'m Model<F>, batch: usize) -> Result<Self> {
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
        let gru = c.cell == Cell::Gru;
        let layers = model
            .rnn
            .layers()
            .iter()
            .map(|p| {
                let bias = match (&p.bias_ih, &p.bias_hh) {
                    (Some(a), _) if gru => Some(a.clone()),
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
                // a GRU's and an IndRNN's recurrent products stay apart (r multiplies one, the
                // other is element-wise: a += u ⊙ h)
                let w = if gru || c.cell == Cell::IndRnn {
                    Packed::pack(p.weight_ih.t())
                } else {
                    let stacked = concatenate(Axis(0), &[p.weight_ih.t(), p.weight_hh.t()]);
                    Packed::pack(stacked.expect("W_ih and W_hh have one row per gate unit").view())
                };
                StepLayer {
                    w,
                    w_hh: gru.then(|| Packed::pack(p.weight_hh.t())),
                    bias,
                    b_hh: p.bias_hh.clone().filter(|_| gru),
                    w_hr_t: p.weight_hr.as_ref().map(|w| transposed_aligned(w.view())),
                    u: p.weight_hh_diag.clone(),
                }
            })
            .collect();
        let (hidden, gates, state) = (c.hidden_size, c.cell.gates() * c.hidden_size, c.state_size());
        let gated = matches!(c.cell, Cell::Lstm | Cell::Gru).then(|| Gated {
            c: Array3::zeros(if c.cell == Cell::Lstm { (c.num_layers, batch, hidden) } else { (0, 0, 0) }),
            ah: vec![F::zero(); if gru { batch * gates } else { 0 }],
            new: vec![F::zero(); batch * hidden],
            m: vec![F::zero(); batch * hidden],
        });
        Ok(Stepper {
            model,
            layers,
            head_t: model.head.as_ref().map(|h| transposed_aligned(h.weight.view())),
            h: Array3::zeros((c.num_layers, batch, state)),
            xh: vec![F::zero(); batch * (c.input_size.max(state) + state)],
            a: Array2::zeros((batch, gates)),
            y: Array2::zeros((batch, out)),
            gated,
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
        if let Some(g) = &mut self.gated {
            g.c.fill(F::zero());
        }
    }

    /// The states `[num_layers, batch, state_size]` (PyTorch's `h_n` layout).
    pub fn state(&self) -> ArrayView3<'_, F> {
        self.h.view()
    }

    /// An LSTM's cell states `[num_layers, batch, hidden_size]` (PyTorch's `c_n` layout);
    /// `None` for the other cells.
    pub fn cell_state(&self) -> Option<ArrayView3<'_, F>> {
        self.gated.as_ref().filter(|_| self.model.rnn.config().cell == Cell::Lstm).map(|g| g.c.view())
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
        match &mut self.gated {
            Some(g) if self.model.rnn.config().cell == Cell::Lstm && g.c.shape() == c.shape() => {
                g.c.assign(&c);
                Ok(())
            }
            Some(g) if self.model.rnn.config().cell == Cell::Lstm => {
                Err(Error::shape("cell state", format!("{:?}", g.c.shape()), c.shape()))
            }
            _ => Err(Error::shape("cell state", "nothing: only an LSTM has one", c.shape())),
        }
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
        let width = c.cell.gates() * hidden;
        let bs = batch * state;
        for (l, layer) in self.layers.iter().enumerate() {
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
            // xh = [x, h_l] per stream (a GRU's product reads x alone)
            let k = layer.w.view().rows();
            let xh = &mut self.xh[..batch * k];
            for (b, row) in xh.chunks_exact_mut(k).enumerate() {
                row[..in_size].copy_from_slice(&input[b * in_size..(b + 1) * in_size]);
                if k > in_size {
                    row[in_size..].copy_from_slice(&h_l[b * state..(b + 1) * state]);
                }
            }
            // a = bias + [x, h] [W_ihᵀ; W_hhᵀ]   (a GRU: bias + x W_ihᵀ)
            let a = self.a.as_slice_mut().expect("contiguous scratch");
            match &layer.bias {
                Some(b) => a.chunks_exact_mut(width).for_each(|r| r.copy_from_slice(b.as_slice().expect("contiguous"))),
                None => a.fill(F::zero()),
            }
            gemm_packed(Mat::new(xh, batch, k), layer.w.view(), a, width, true, None);
            let Some(g) = self.gated.as_mut() else {
                // an IndRNN: a += u ⊙ h_l; then h_l = act(a)
                if let Some(u) = layer.u.as_ref().and_then(|u| u.as_slice()) {
                    for (a, h) in a.chunks_exact_mut(width).zip(h_l.chunks_exact(state)) {
                        a.iter_mut().zip(u).zip(h).for_each(|((a, &u), &h)| *a += u * h);
                    }
                }
                h_l.copy_from_slice(a);
                c.nonlinearity.apply_slice(h_l);
                residual_output(out_l, h_l, c.residual_at(l).then_some(input));
                continue;
            };
            match c.cell {
                Cell::Gru => {
                    // A_h = b_hh + h W_hhᵀ, then r, z, n and h = n + z ⊙ (h_prev - n)
                    match &layer.b_hh {
                        Some(b) => {
                            g.ah.chunks_exact_mut(width)
                                .for_each(|r| r.copy_from_slice(b.as_slice().expect("contiguous")))
                        }
                        None => g.ah.fill(F::zero()),
                    }
                    let w_hh = layer.w_hh.as_ref().expect("a GRU layer").view();
                    gemm_packed(Mat::new(h_l, batch, state), w_hh, &mut g.ah, width, true, None);
                    gru_gates(a, &g.ah, &mut g.m, h_l, &mut g.new, hidden);
                    h_l.copy_from_slice(&g.new);
                }
                _ => {
                    // the gates, c = f ⊙ c + i ⊙ g, h = o ⊙ tanh c (then W_hr h with proj_size)
                    let bh = batch * hidden;
                    let c_l = &mut g.c.as_slice_mut().expect("contiguous state")[l * bh..(l + 1) * bh];
                    match &layer.w_hr_t {
                        None => lstm_gates(a, c_l, &mut g.new, h_l, hidden),
                        Some(w_hr_t) => {
                            lstm_gates(a, c_l, &mut g.new, &mut g.m, hidden);
                            gemm(
                                Mat::new(&g.m, batch, hidden),
                                Mat::new(w_hr_t.as_slice(), hidden, state),
                                h_l,
                                state,
                                false,
                            );
                        }
                    }
                    c_l.copy_from_slice(&g.new);
                }
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

    /// Steps `rnn` (with a head of `head` outputs) through 6 steps of 2 streams and checks every
    /// output, the final states and an LSTM's cell states against the whole-sequence forward
    /// pass to 1e-12, then that `reset` zeroes the states.
    fn steps_match_the_sequence(rnn: RnnConfig, head: Option<usize>) {
        let what = format!("{rnn:?}");
        let input = rnn.input_size;
        let model = Model::<f64>::new(ModelConfig { rnn, output_size: head }, Init::PyTorch, 4).unwrap();
        let x = Array3::from_shape_fn((6, 2, input), |(t, b, i)| ((t * 5 + b * 3 + i) as f64 * 0.7).sin());
        let (y, h_n, c_n) = model.forward_states(x.view(), None, None).unwrap();
        let mut st = Stepper::new(&model, 2).unwrap();
        for t in 0..6 {
            let y_t = st.step(x.index_axis(Axis(0), t)).unwrap().to_owned();
            let diff = (&y_t - &y.slice(s![t, .., ..])).mapv(f64::abs).fold(0.0, |a: f64, &b| a.max(b));
            assert!(diff < 1e-12, "{what} step {t}: {diff}");
        }
        assert!((&st.state() - &h_n).iter().all(|d| d.abs() < 1e-12), "{what}");
        assert_eq!(st.cell_state().is_some(), c_n.is_some());
        if let (Some(a), Some(b)) = (st.cell_state(), c_n) {
            assert!((&a - &b).iter().all(|d| d.abs() < 1e-12), "{what}");
        }
        st.reset();
        assert!(st.state().iter().all(|&v| v == 0.0));
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
