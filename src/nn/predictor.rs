//! Batched inference over whole sequences, many times with the same weights: the recurrent
//! weights are packed for the per-step products once, when the predictor is made, as ONNX
//! Runtime packs a model's weights when it opens a session, rather than on every call of
//! [`Model::forward`].
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::{Init, Model, ModelConfig, Predictor, RnnConfig};
//! let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let predictor = Predictor::new(&model);
//! let x = Array3::<f32>::ones((5, 3, 2));
//! assert_eq!(predictor.forward(x.view(), None)?, model.forward(x.view(), None)?);
//! # Ok::<(), rnn::Error>(())
//! ```

use ndarray::{Array3, ArrayView3};

use crate::kernels::{Packed, PackedRef};
use crate::{Cell, Float, Model, Readout, Result};

/// A [`Model`] ready for repeated inference. It borrows the model, so the weights it packed
/// cannot change while it lives; it computes exactly what [`Model::forward`] computes.
///
/// The packed copies take as much memory as the recurrent weights (`H²` per layer and
/// direction); at `H = 1024` packing them is about 7% of a forward over 32 steps of 16
/// sequences.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::{Init, Model, ModelConfig, Predictor, RnnConfig};
/// let config = ModelConfig { rnn: RnnConfig::new(3, 8).with_num_layers(2), output_size: Some(1) };
/// let model = Model::<f32>::new(config, Init::PyTorch, 0)?;
/// let predictor = Predictor::new(&model);
/// let x = Array3::<f32>::ones((10, 4, 3));
/// let (y, h_n) = predictor.forward(x.view(), None)?;
/// assert_eq!((y.dim(), h_n.dim()), ((10, 4, 1), (2, 4, 8)));
/// assert_eq!((y, h_n), model.forward(x.view(), None)?);
/// # Ok::<(), rnn::Error>(())
/// ```
pub struct Predictor<'m, F: Float = f32> {
    model: &'m Model<F>,
    /// `W_hhᵀ` of every layer and direction (index `layer * D + direction`), packed; empty for
    /// an IndRNN.
    recurrent: Vec<Packed<F>>,
}

impl<'m, F: Float> Predictor<'m, F> {
    /// Packs the recurrent weights of `model` (an IndRNN's, element-wise, need no packing).
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Init, Model, ModelConfig, Predictor, RnnConfig};
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let predictor = Predictor::new(&model); // pack once, then predict many batches
    /// for batch in [1, 3] {
    ///     let (y, _) = predictor.forward(Array3::zeros((5, batch, 2)).view(), None)?;
    ///     assert_eq!(y.dim(), (5, batch, 1));
    /// }
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(model: &'m Model<F>) -> Self {
        let recurrent = match model.rnn.config().cell {
            Cell::IndRnn => Vec::new(),
            _ => model.rnn.layers().iter().map(|p| Packed::pack(p.weight_hh.t())).collect(),
        };
        Predictor { model, recurrent }
    }

    /// [`Model::forward`]: `(y, h_n)` for `x [seq_len, batch, input_size]` and `h0` (zeros when
    /// `None`).
    ///
    /// # Errors
    /// [`crate::Error::Shape`] when `x` or `h0` has the wrong shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::Array3;
    /// use rnn::{Cell, Init, Model, ModelConfig, Predictor, RnnConfig};
    /// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(Cell::Lstm), output_size: Some(1) }, Init::PyTorch, 0)?;
    /// let predictor = Predictor::new(&model);
    /// let h0 = Array3::<f64>::from_elem((1, 3, 4), 0.2);
    /// for seq_len in [1, 7] {
    ///     let x = Array3::<f64>::ones((seq_len, 3, 2));
    ///     assert_eq!(predictor.forward(x.view(), Some(h0.view()))?, model.forward(x.view(), Some(h0.view()))?);
    /// }
    /// assert!(predictor.forward(Array3::<f64>::ones((2, 3, 5)).view(), None).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward(&self, x: ArrayView3<'_, F>, h0: Option<ArrayView3<'_, F>>) -> Result<(Array3<F>, Array3<F>)> {
        let packed: Vec<PackedRef<'_, F>> = self.recurrent.iter().map(Packed::view).collect();
        let trace = self.model.rnn.forward_packed(x, h0, None, &packed)?;
        Ok(self.model.trace(trace, Readout::EveryStep)?.into_outputs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cell, Init, ModelConfig, RnnConfig};

    #[test]
    fn an_indrnn_predictor_equals_model_forward() {
        let rnn = RnnConfig::new(3, 6).with_cell(Cell::IndRnn).with_num_layers(2).with_bidirectional(true);
        let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(2) }, Init::PyTorch, 5).unwrap();
        let x = Array3::from_shape_fn((9, 4, 3), |(t, b, i)| ((t * 3 + b * 5 + i) as f32 * 0.4).sin());
        let h0 = Array3::from_shape_fn((4, 4, 6), |(l, b, j)| ((l + b * 2 + j) as f32 * 0.2).cos());
        let want = model.forward(x.view(), Some(h0.view())).unwrap();
        assert_eq!(Predictor::new(&model).forward(x.view(), Some(h0.view())).unwrap(), want);
    }
}
