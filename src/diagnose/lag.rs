//! How much of a loss's gradient reaches back in time: `‖dL_t/dh_{t-k}‖` against the lag `k`,
//! per layer and direction, recorded inside BPTT ([`crate::nn::flow::GradFlow`]).
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::data::TargetView;
//! use rnn::diagnose::lag::grad_norm_by_lag;
//! use rnn::train::loss::Loss;
//! use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
//! let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let x = Array3::<f64>::from_shape_fn((5, 2, 1), |(t, b, _)| ((t + b) as f64).sin());
//! let y = Array3::<f64>::zeros((5, 2, 1));
//! let lag = grad_norm_by_lag(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, 2)?;
//! let h = &lag.h[0]; // layer 0, by lag
//! assert!(h[h.len() - 1] < h[0]); // the gradient fades with the lag
//! # Ok::<(), rnn::Error>(())
//! ```

use ndarray::ArrayView3;
use serde::Serialize;

use crate::data::TargetView;
pub use crate::nn::flow::end_points;
use crate::nn::flow::{GradFlow, LagFlow, flow_by_lag};
use crate::train::loss::Loss;
use crate::{Error, Float, Model, ModelGrads, Readout, Result};

/// The gradient's norm against the time lag, for one batch.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::TargetView;
/// use rnn::diagnose::lag::grad_norm_by_lag;
/// use rnn::train::loss::Loss;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::from_shape_fn((10, 3, 1), |(t, b, _)| ((t * 3 + b) as f64).cos());
/// let y = Array3::<f64>::zeros((10, 3, 1));
/// let p = grad_norm_by_lag(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, 2)?;
/// assert_eq!(p.end_points, [9, 8]);
/// assert_eq!((p.h.len(), p.by_time[0].len()), (1, 10));
/// assert!(p.c.is_none() && p.loss > 0.0);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LagProfile {
    /// The steps `t_e` whose loss was back-propagated alone (one backward pass each).
    pub end_points: Vec<usize>,
    /// Per layer and direction (`l * D + d`), per lag `k` (see [`LagFlow::h`]): the mean over
    /// the direction's end points of the batch mean of `‖dL_{t_e}/dh_{t_e - k}‖₂`.
    pub h: Vec<Vec<f64>>,
    /// The same for an LSTM's cell state `c` (`None` for the other cells).
    pub c: Option<Vec<Vec<f64>>>,
    /// The gradient's norm at every step under the whole loss (every step's loss at once):
    /// per layer and direction, per time step, as [`GradFlow::h`].
    pub by_time: Vec<Vec<f64>>,
    /// The whole loss of the batch.
    pub loss: f64,
}

/// [`LagProfile`] of `model` on the batch `x [T, B, input_size]` with its targets: one
/// backward pass of the whole `loss` (for [`LagProfile::by_time`]), then one per end point
/// ([`end_points`] with `count`) with the loss of that step alone, the gradient of the step's
/// mean loss (the whole loss's gradient on that step, times the number of steps read).
///
/// # Errors
/// [`Error::Shape`] when `x` or the targets do not fit the model; [`Error::Config`] for an
/// empty batch.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::TargetView;
/// use rnn::diagnose::lag::grad_norm_by_lag;
/// use rnn::train::loss::Loss;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 8), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::from_shape_fn((30, 4, 2), |(t, b, i)| ((t + 3 * b + i) as f64).sin());
/// let y = Array3::<f64>::zeros((30, 4, 1));
/// let lag = grad_norm_by_lag(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, 4)?;
/// assert_eq!(lag.h[0].len(), 27); // lags 0..=26: reached from every end point, 29 to 26
/// assert!(lag.h[0][26] < lag.h[0][0]); // a default tanh RNN forgets
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn grad_norm_by_lag<F: Float>(
    model: &Model<F>,
    x: ArrayView3<'_, F>,
    target: TargetView<'_, F>,
    loss: Loss,
    readout: Readout,
    count: usize,
) -> Result<LagProfile> {
    Ok(profile_and_grads(model, x, target, loss, readout, count)?.0)
}

/// [`grad_norm_by_lag`] and the parameters' gradients of the whole loss, which its first
/// backward pass computes anyway.
pub(crate) fn profile_and_grads<F: Float>(
    model: &Model<F>,
    x: ArrayView3<'_, F>,
    target: TargetView<'_, F>,
    loss: Loss,
    readout: Readout,
    count: usize,
) -> Result<(LagProfile, ModelGrads<F>)> {
    let config = model.rnn.config();
    let (seq_len, batch, _) = x.dim();
    if seq_len == 0 || batch == 0 {
        return Err(Error::Config("the diagnostics need at least one sequence of at least one step".into()));
    }
    let trace = model.forward_eval(x, None, readout)?;
    let whole = loss.compute(trace.y(), target, None)?;
    let mut by_time = GradFlow::new(config, seq_len);
    let grads = model.backward_flow(&trace, whole.grad.view(), &mut by_time)?;

    let LagFlow { end_points, h, c } = flow_by_lag(model, &trace, whole.grad.view(), readout, count)?;
    let profile = LagProfile {
        end_points,
        h,
        c,
        by_time: by_time.h.rows().into_iter().map(|r| r.to_vec()).collect(),
        loss: whole.loss,
    };
    Ok((profile, grads))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cell, Init, ModelConfig, RnnConfig};
    use ndarray::Array3;

    #[test]
    fn end_points_cover_what_each_direction_reaches() {
        assert_eq!(end_points(10, 4, false, Readout::EveryStep), vec![9, 8, 7, 6]);
        assert_eq!(end_points(10, 4, true, Readout::EveryStep), vec![9, 8, 1, 0]);
        assert_eq!(end_points(3, 8, true, Readout::EveryStep), vec![2, 1, 0]);
        assert_eq!(end_points(10, 4, false, Readout::LastStep), vec![9]);
        assert_eq!(end_points(1, 4, false, Readout::EveryStep), vec![0]);
        assert_eq!(end_points(0, 4, false, Readout::EveryStep), Vec::<usize>::new());
    }

    /// Lag 0 of a one-layer model with the loss on one step equals the norm of the head's
    /// gradient at that step, `‖dL/dy_t V‖`; the profile has one entry per lag each
    /// direction reaches.
    #[test]
    fn lag_zero_is_the_gradient_through_the_head() {
        for (cell, bidirectional) in [(Cell::Rnn, false), (Cell::Lstm, true), (Cell::Gru, false)] {
            let rnn = RnnConfig::new(3, 6).with_cell(cell).with_bidirectional(bidirectional);
            let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(2) }, Init::PyTorch, 5).unwrap();
            let x = Array3::from_shape_fn((12, 3, 3), |(t, b, i)| ((t * 7 + b * 3 + i) as f64 * 0.37).sin());
            let y = Array3::from_shape_fn((12, 3, 2), |(t, b, o)| ((t + b + o) as f64 * 0.5).cos());
            let lag =
                grad_norm_by_lag(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, 1)
                    .unwrap();
            assert_eq!(lag.end_points, if bidirectional { vec![11, 0] } else { vec![11] });
            assert_eq!(lag.h.len(), if bidirectional { 2 } else { 1 });
            assert_eq!(lag.h[0].len(), 12, "{cell}: the forward direction reaches back 11 steps");
            if bidirectional {
                assert_eq!(lag.h[1].len(), 12, "the reverse direction reaches forward from step 0");
            }
            assert_eq!(lag.c.is_some(), cell == Cell::Lstm);
            // dL_11/dy_11 = 2 (y - t) / (B O) for the step's mean squared error
            let trace = model.forward_eval(x.view(), None, Readout::EveryStep).unwrap();
            let head = model.head.as_ref().unwrap();
            let state = model.rnn.config().state_size();
            let mut want = 0.0;
            for b in 0..3 {
                let dy: Vec<f64> = (0..2).map(|o| 2.0 * (trace.y()[[11, b, o]] - y[[11, b, o]]) / 6.0).collect();
                let dh: Vec<f64> = (0..state).map(|j| (0..2).map(|o| dy[o] * head.weight[[o, j]]).sum()).collect();
                want += dh.iter().map(|v| v * v).sum::<f64>().sqrt() / 3.0;
            }
            assert!((lag.h[0][0] - want).abs() < 1e-12 * want.max(1.0), "{cell}: {} vs {want}", lag.h[0][0]);
            assert!(lag.loss > 0.0 && lag.by_time.len() == lag.h.len() && lag.by_time[0].len() == 12);
        }
    }
}
