//! Gradient flow through time: the norm of the gradient at every hidden state, as a backward
//! pass computes it ([`GradFlow`]), the measurement behind vanishing and exploding gradients.
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::nn::flow::GradFlow;
//! use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
//! let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let x = Array3::<f64>::ones((5, 1, 1));
//! let trace = model.forward_eval(x.view(), None, Readout::EveryStep)?;
//! let mut dy = Array3::<f64>::zeros(trace.y().raw_dim());
//! dy[[4, 0, 0]] = 1.0; // a loss on the last step only
//! let mut flow = GradFlow::new(model.rnn.config(), 5);
//! model.backward_flow(&trace, dy.view(), &mut flow)?;
//! assert!(flow.h[[0, 0]] < flow.h[[0, 4]]); // smaller 4 steps back
//! # Ok::<(), rnn::Error>(())
//! ```

use ndarray::{Array2, Array3, ArrayView3, Axis, s};

use crate::nn::layer::StepNorms;
use crate::{Float, Model, ModelTrace, Readout, Result, RnnConfig};

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
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, RnnConfig};
    /// use rnn::nn::flow::GradFlow;
    /// let flow = GradFlow::new(&RnnConfig::new(2, 4).with_cell(Cell::Lstm).with_num_layers(3), 10);
    /// assert_eq!((flow.h.dim(), flow.seq_len()), ((3, 10), 10));
    /// assert!(flow.c.is_some()); // an LSTM's cell state too
    /// ```
    pub fn new(config: &RnnConfig, seq_len: usize) -> Self {
        let n = config.num_layers * config.num_directions();
        let c = (config.cell == crate::Cell::Lstm).then(|| Array2::zeros((n, seq_len)));
        GradFlow { h: Array2::zeros((n, seq_len)), c }
    }

    /// Steps recorded.
    ///
    /// # Example
    /// ```
    /// use rnn::RnnConfig;
    /// use rnn::nn::flow::GradFlow;
    /// let flow = GradFlow::new(&RnnConfig::new(2, 4), 5);
    /// assert_eq!(flow.seq_len(), 5);
    /// ```
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

/// The gradient's norm against the time lag (see [`flow_by_lag`]).
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::nn::flow::flow_by_lag;
/// use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4).with_cell(Cell::Lstm), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((6, 2, 1));
/// let trace = model.forward_eval(x.view(), None, Readout::EveryStep)?;
/// let lag = flow_by_lag(&model, &trace, Array3::ones((6, 2, 1)).view(), Readout::EveryStep, 2)?;
/// assert_eq!(lag.end_points, [5, 4]);
/// assert!(lag.c.is_some()); // an LSTM's cell state too
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LagFlow {
    /// The steps `t_e` whose loss was back-propagated alone.
    pub end_points: Vec<usize>,
    /// Per layer and direction (`l * D + d`), per lag `k = 0, 1, ...` up to the longest that
    /// all of the direction's end points reach: the mean over them of the batch mean of
    /// `‖dL_{t_e}/dh_{t_e - k}‖₂` (for the reverse direction, of `h_{t_e + k}`: the states it
    /// processed `k` steps before `t_e`; it averages over the early end points, the forward
    /// direction over the late ones).
    pub h: Vec<Vec<f64>>,
    /// The same for an LSTM's cell state `c` (`None` for the other cells).
    pub c: Option<Vec<Vec<f64>>>,
}

/// The end points of a `seq_len`-step batch: the last `count` steps (at most `seq_len`), the
/// last first; for a bidirectional model the last `⌈count/2⌉` and the first `⌈count/2⌉` (its
/// reverse direction reaches back from early steps). A many-to-one readout has one: the last.
/// Clustered at the ends so that every lag a direction reports is averaged over all of its end
/// points (a lag reached by fewer would make the mean jump where one drops out).
///
/// # Example
/// ```
/// use rnn::Readout;
/// use rnn::nn::flow::end_points;
/// assert_eq!(end_points(10, 3, false, Readout::EveryStep), [9, 8, 7]);
/// assert_eq!(end_points(10, 4, true, Readout::EveryStep), [9, 8, 1, 0]);
/// assert_eq!(end_points(10, 4, false, Readout::LastStep), [9]);
/// ```
pub fn end_points(seq_len: usize, count: usize, bidirectional: bool, readout: Readout) -> Vec<usize> {
    if seq_len == 0 || count == 0 {
        return Vec::new();
    }
    if readout == Readout::LastStep {
        return vec![seq_len - 1];
    }
    if !bidirectional {
        return (0..count.min(seq_len)).map(|j| seq_len - 1 - j).collect();
    }
    let half = count.div_ceil(2).min(seq_len);
    let mut points: Vec<usize> = (0..half).map(|j| seq_len - 1 - j).chain(0..half).collect();
    points.sort_unstable_by(|a, b| b.cmp(a));
    points.dedup();
    points
}

/// Which end points direction `reverse` averages over: the late ones forwards, the early ones
/// in reverse (all of them for a unidirectional model, or when the two halves meet).
fn own_points(points: &[usize], seq_len: usize, reverse: bool, bidirectional: bool) -> Vec<usize> {
    if !bidirectional || points.len() < 2 {
        return points.to_vec();
    }
    let mid = seq_len / 2;
    let own: Vec<usize> = points.iter().copied().filter(|&t| if reverse { t < mid } else { t >= mid }).collect();
    if own.is_empty() { points.to_vec() } else { own }
}

/// [`LagFlow`] of `model` on the batch `trace` ran (an inference trace, so no dropout), given
/// `d_y`, the gradient of the whole loss: one backward pass per end point ([`end_points`] with
/// `count`), each with the loss of that step alone (`d_y` on that step, times the number of
/// steps read: the gradient of the step's mean loss when the whole loss is the mean over steps).
///
/// # Errors
/// [`crate::Error::Shape`] when `d_y` does not have the shape of the trace's output.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::nn::flow::flow_by_lag;
/// use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(2, 8), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::from_shape_fn((12, 4, 2), |(t, b, i)| ((t + b * 2 + i) as f64).sin());
/// let trace = model.forward_eval(x.view(), None, Readout::EveryStep)?;
/// let d_y = Array3::<f64>::from_elem((12, 4, 1), 1.0 / 48.0); // L = mean of y
/// let lag = flow_by_lag(&model, &trace, d_y.view(), Readout::EveryStep, 3)?;
/// assert_eq!(lag.end_points, [11, 10, 9]);
/// let h = &lag.h[0];
/// assert_eq!(h.len(), 10); // lags 0..=9 reached from every end point
/// assert!(h[9] < h[0]); // a tanh RNN at PyTorch's init: the gradient vanishes with the lag
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn flow_by_lag<F: Float>(
    model: &Model<F>,
    trace: &ModelTrace<'_, F>,
    d_y: ArrayView3<'_, F>,
    readout: Readout,
    count: usize,
) -> Result<LagFlow> {
    let config = model.rnn.config();
    let seq_len = trace.rnn().output().dim().0;
    let (dirs, rows) = (config.num_directions(), config.num_layers * config.num_directions());
    let points = end_points(seq_len, count, config.bidirectional, readout);
    let read = d_y.shape()[0];
    let (mut sum_h, mut sum_c, mut n) = (
        Array2::<f64>::zeros((rows, seq_len)),
        Array2::<f64>::zeros((rows, seq_len)),
        Array2::<f64>::zeros((rows, seq_len)),
    );
    let mut flow = GradFlow::new(config, seq_len);
    let scale = F::of(read as f64);
    for &te in &points {
        // the loss of step te alone: the whole loss's gradient there, scaled to that step's mean
        let mut dy = Array3::zeros(d_y.raw_dim());
        let k = if readout == Readout::LastStep { 0 } else { te };
        dy.slice_mut(s![k, .., ..]).assign(&d_y.index_axis(Axis(0), k).mapv(|v| v * scale));
        flow.h.fill(0.0);
        if let Some(c) = &mut flow.c {
            c.fill(0.0);
        }
        model.backward_flow(trace, dy.view(), &mut flow)?;
        for i in 0..rows {
            let reverse = i % dirs == 1;
            if !own_points(&points, seq_len, reverse, config.bidirectional).contains(&te) {
                continue;
            }
            // the states the loss reaches: up to te forwards, from te on in reverse
            let times = if reverse { te..seq_len } else { 0..te + 1 };
            for t in times {
                let lag = te.abs_diff(t);
                sum_h[[i, lag]] += flow.h[[i, t]];
                if let Some(c) = &flow.c {
                    sum_c[[i, lag]] += c[[i, t]];
                }
                n[[i, lag]] += 1.0;
            }
        }
    }
    // the lags every one of a direction's end points reaches
    let reach = |i: usize| {
        let own = own_points(&points, seq_len, i % dirs == 1, config.bidirectional);
        own.iter().map(|&te| if i % dirs == 1 { seq_len - te } else { te + 1 }).min().unwrap_or(0)
    };
    let mean = |sum: &Array2<f64>| -> Vec<Vec<f64>> {
        (0..rows).map(|i| (0..reach(i)).map(|k| sum[[i, k]] / n[[i, k]]).collect()).collect()
    };
    let (h, c) = (mean(&sum_h), flow.c.is_some().then(|| mean(&sum_c)));
    Ok(LagFlow { end_points: points, h, c })
}
