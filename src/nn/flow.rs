//! Gradient flow through time: the norm of the gradient at every hidden state, as a backward
//! pass computes it ([`GradFlow`]), the measurement behind vanishing and exploding gradients.

use ndarray::Array2;

use crate::RnnConfig;
use crate::nn::layer::StepNorms;

/// Per layer and direction, per time step, the batch mean of `‖dL/dh_t‖₂` (each sequence's
/// norm over its units), and for an LSTM of `‖dL/dc_t‖₂`, recorded by a backward pass
/// ([`crate::Model::backward_flow`]).
///
/// Row `l * D + d` is direction `d` of layer `l` (PyTorch's order, as in `h_n`); column `t` is
/// time step `t`, whichever way the direction runs. With the loss on one step `t_e` only, row
/// entries at `t_e - k` (forward direction) are `‖dL_{t_e}/dh_{t_e - k}‖` against the lag `k`:
/// how much of the loss's gradient reaches `k` steps back.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::nn::flow::GradFlow;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 8), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((20, 3, 2));
/// let trace = model.forward_eval(x.view(), None, Readout::EveryStep)?;
/// let mut dy = Array3::<f64>::zeros(trace.y().raw_dim());
/// dy[[19, 0, 0]] = 1.0; // the loss on the last step of the first sequence
/// let mut flow = GradFlow::new(model.rnn.config(), 20);
/// model.backward_flow(&trace, dy.view(), &mut flow)?;
/// // the gradient reaching 19 steps back is smaller than at the loss
/// assert!(flow.h[[0, 0]] < flow.h[[0, 19]]);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradFlow {
    /// `[num_layers * D, seq_len]`: the state's gradient norm.
    pub h: Array2<f64>,
    /// `[num_layers * D, seq_len]`: an LSTM's cell-state gradient norm (`None` for the other
    /// cells).
    pub c: Option<Array2<f64>>,
}

impl GradFlow {
    /// Zeros for a stack of `config` run over `seq_len` steps.
    pub fn new(config: &RnnConfig, seq_len: usize) -> Self {
        let n = config.num_layers * config.num_directions();
        let c = (config.cell == crate::Cell::Lstm).then(|| Array2::zeros((n, seq_len)));
        GradFlow { h: Array2::zeros((n, seq_len)), c }
    }

    /// Steps recorded.
    pub fn seq_len(&self) -> usize {
        self.h.ncols()
    }

    /// Where direction `i` (`l * D + d`) records.
    pub(crate) fn slot(&mut self, i: usize) -> StepNorms<'_> {
        let h = self.h.row_mut(i).into_slice().expect("rows of a standard-layout array are contiguous");
        let c = self.c.as_mut().map(|c| c.row_mut(i).into_slice().expect("contiguous row"));
        StepNorms { h, c }
    }
}
