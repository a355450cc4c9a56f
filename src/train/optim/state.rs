//! One parameter's optimizer state, the buffers the update rules keep between steps.

use ndarray::ArrayD;

/// One parameter's state, PyTorch's `optimizer.state[p]` (only the buffers the optimizer uses are
/// `Some`).
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct ParamState<F> {
    pub(super) momentum_buffer: Option<ArrayD<F>>,
    pub(super) exp_avg: Option<ArrayD<F>>,
    pub(super) exp_avg_sq: Option<ArrayD<F>>,
    pub(super) max_exp_avg_sq: Option<ArrayD<F>>,
    pub(super) sum: Option<ArrayD<F>>,
    pub(super) square_avg: Option<ArrayD<F>>,
    pub(super) grad_avg: Option<ArrayD<F>>,
}

impl<F> ParamState<F> {
    pub(super) fn slots(&mut self) -> [(&'static str, &mut Option<ArrayD<F>>); 7] {
        [
            ("momentum_buffer", &mut self.momentum_buffer),
            ("exp_avg", &mut self.exp_avg),
            ("exp_avg_sq", &mut self.exp_avg_sq),
            ("max_exp_avg_sq", &mut self.max_exp_avg_sq),
            ("sum", &mut self.sum),
            ("square_avg", &mut self.square_avg),
            ("grad_avg", &mut self.grad_avg),
        ]
    }
}
