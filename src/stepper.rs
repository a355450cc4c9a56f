//! Streaming inference: advance a (unidirectional) model one time step per call, for one or
//! many streams, holding the hidden state between calls and allocating nothing per step.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};

use crate::kernels::{Aligned, Mat, gemm, transposed_aligned};

use crate::{Error, Float, Model, Result};

/// One layer's weights as a step uses them: `W_ihᵀ`, `W_hhᵀ`, `b_ih + b_hh`.
type StepLayer<F> = (Aligned<F>, Aligned<F>, Option<ndarray::Array1<F>>);

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
    /// Per layer `(W_ihᵀ, W_hhᵀ, b_ih + b_hh)`, row-major, so a step is two kernel calls.
    layers: Vec<StepLayer<F>>,
    /// The head's `Vᵀ`.
    head_t: Option<Aligned<F>>,
    /// `[num_layers, batch, hidden]`.
    h: Array3<F>,
    /// Pre-activation scratch `[batch, hidden]`.
    a: Array2<F>,
    /// Head output `[batch, output_size]` (empty without a head).
    y: Array2<F>,
}

impl<'m, F: Float> Stepper<'m, F> {
    /// A stepper for `batch` streams starting from zero states.
    ///
    /// # Errors
    /// [`Error::Config`] for a bidirectional model (it needs the whole sequence) or `batch` 0.
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
        let layers = model
            .rnn
            .layers()
            .iter()
            .map(|p| {
                let bias = match (&p.bias_ih, &p.bias_hh) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
                (transposed_aligned(p.weight_ih.view()), transposed_aligned(p.weight_hh.view()), bias)
            })
            .collect();
        Ok(Stepper {
            model,
            layers,
            head_t: model.head.as_ref().map(|h| transposed_aligned(h.weight.view())),
            h: Array3::zeros((c.num_layers, batch, c.hidden_size)),
            a: Array2::zeros((batch, c.hidden_size)),
            y: Array2::zeros((batch, out)),
        })
    }

    /// Sets every state back to zeros.
    pub fn reset(&mut self) {
        self.h.fill(F::zero());
    }

    /// The states `[num_layers, batch, hidden_size]` (PyTorch's `h_n` layout).
    pub fn state(&self) -> ArrayView3<'_, F> {
        self.h.view()
    }

    /// Replaces the states.
    ///
    /// # Errors
    /// [`Error::Shape`] when `h` is not `[num_layers, batch, hidden_size]`.
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
    pub fn step(&mut self, x: ArrayView2<'_, F>) -> Result<ArrayView2<'_, F>> {
        let c = self.model.rnn.config();
        let batch = self.h.shape()[1];
        if x.shape() != [batch, c.input_size] {
            return Err(Error::shape("step input", format!("[{batch}, {}]", c.input_size), x.shape()));
        }
        let x_std = x.as_standard_layout();
        let x_slice = x_std.as_slice().expect("standard layout");
        let (batch, hidden) = (batch, c.hidden_size);
        for (l, (w_ih_t, w_hh_t, bias)) in self.layers.iter().enumerate() {
            let a = self.a.as_slice_mut().expect("contiguous scratch");
            // a = b_ih + b_hh (or 0), then a += x W_ihᵀ and a += h_l W_hhᵀ,
            // x being the input or the layer below's new state
            match bias {
                Some(b) => {
                    a.chunks_exact_mut(hidden).for_each(|row| row.copy_from_slice(b.as_slice().expect("contiguous")))
                }
                None => a.fill(F::zero()),
            }
            let h = self.h.as_slice().expect("contiguous state");
            let state = |k: usize| &h[k * batch * hidden..(k + 1) * batch * hidden];
            let in_size = if l == 0 { c.input_size } else { hidden };
            let input = if l == 0 { Mat::new(x_slice, batch, in_size) } else { Mat::new(state(l - 1), batch, hidden) };
            gemm(input, Mat::new(w_ih_t.as_slice(), in_size, hidden), a, hidden, true);
            gemm(Mat::new(state(l), batch, hidden), Mat::new(w_hh_t.as_slice(), hidden, hidden), a, hidden, true);
            // h_l = act(a)
            let act = c.nonlinearity;
            let h_l =
                &mut self.h.as_slice_mut().expect("contiguous state")[l * batch * hidden..(l + 1) * batch * hidden];
            h_l.copy_from_slice(a);
            act.apply_slice(h_l);
        }
        let top = self.h.index_axis(Axis(0), c.num_layers - 1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Init, ModelConfig, Nonlinearity, RnnConfig};
    use ndarray::s;

    #[test]
    fn stepping_equals_the_whole_sequence() {
        for (layers, head, act) in [(1, None, Nonlinearity::Tanh), (3, Some(2), Nonlinearity::Relu)] {
            let rnn = RnnConfig::new(3, 5).with_num_layers(layers).with_nonlinearity(act);
            let model = Model::<f64>::new(ModelConfig { rnn, output_size: head }, Init::PyTorch, 4).unwrap();
            let x = Array3::from_shape_fn((6, 2, 3), |(t, b, i)| ((t * 5 + b * 3 + i) as f64 * 0.7).sin());
            let (y, h_n) = model.forward(x.view(), None).unwrap();
            let mut st = Stepper::new(&model, 2).unwrap();
            for t in 0..6 {
                let y_t = st.step(x.index_axis(Axis(0), t)).unwrap().to_owned();
                let diff = (&y_t - &y.slice(s![t, .., ..])).mapv(f64::abs).fold(0.0, |a: f64, &b| a.max(b));
                assert!(diff < 1e-12, "step {t}: {diff}");
            }
            assert!((&st.state() - &h_n).iter().all(|d| d.abs() < 1e-12));
        }
    }

    #[test]
    fn bidirectional_is_refused() {
        let rnn = RnnConfig::new(3, 5).with_bidirectional(true);
        let model = Model::<f32>::new(ModelConfig { rnn, output_size: None }, Init::PyTorch, 0).unwrap();
        assert!(Stepper::new(&model, 1).is_err());
    }
}
