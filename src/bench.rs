//! What `rnn bench` and the criterion benches measure: a training step (forward, MSE on every
//! step's head output, backward, Adam) of a deep RNN, an inference forward, one streaming step,
//! and the machine's GEMM rate, with one FLOP count shared with the Python peers
//! (`bench/flops.py`).

use std::time::{Duration, Instant};

use ndarray::{Array2, Array3, ArrayViewD};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::data::TargetView;
use crate::train::loss::Loss;
use crate::train::optim::{Optimizer, OptimizerConfig};
use crate::{Cell, Float, Init, Model, ModelConfig, Predictor, Readout, Result, RnnConfig, Stepper};

/// One benchmark configuration (the peers use the same): input size, hidden size, batch,
/// sequence length and layers; a linear head with one output on every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BenchShape {
    /// Units per layer (`H`).
    pub hidden_size: usize,
    /// Sequences per step (`B`).
    pub batch: usize,
    /// Steps per sequence (`T`).
    pub seq_len: usize,
    /// Stacked layers (`L`).
    pub num_layers: usize,
    /// Features per step.
    pub input_size: usize,
}

/// The four configurations, input size 32: `(H, B, T, L)` = (32, 1, 100, 1),
/// (128, 32, 64, 2), (512, 64, 64, 2), (1024, 16, 32, 1).
pub const SHAPES: [BenchShape; 4] = [
    BenchShape { hidden_size: 32, batch: 1, seq_len: 100, num_layers: 1, input_size: 32 },
    BenchShape { hidden_size: 128, batch: 32, seq_len: 64, num_layers: 2, input_size: 32 },
    BenchShape { hidden_size: 512, batch: 64, seq_len: 64, num_layers: 2, input_size: 32 },
    BenchShape { hidden_size: 1024, batch: 16, seq_len: 32, num_layers: 1, input_size: 32 },
];

impl BenchShape {
    /// FLOPs of an inference forward of `cell`'s model: per layer `2 T B G H (in_l + H)` for a
    /// cell of `G` gates ([`Cell::gates`]: 1 Elman, 4 LSTM, 3 GRU), `2 T B H (in_l + 1)` for an
    /// IndRNN (its recurrence is element-wise), plus the head `2 T B H` (a multiply-add counts
    /// 2; the element-wise gate math is not counted).
    pub fn forward_flops(&self, cell: Cell) -> f64 {
        let (t, b, h) = (self.seq_len as f64, self.batch as f64, self.hidden_size as f64);
        let g = cell.gates() as f64;
        let recurrent = if cell == Cell::IndRnn { 1.0 } else { h };
        let layers: f64 = (0..self.num_layers)
            .map(|l| {
                let input = if l == 0 { self.input_size as f64 } else { h };
                2.0 * t * b * g * h * (input + recurrent)
            })
            .sum();
        layers + 2.0 * t * b * h
    }

    /// FLOPs of a training step: three forwards' worth (the backward pass computes the input
    /// gradient and both weight gradients, twice the forward's products).
    pub fn train_flops(&self, cell: Cell) -> f64 {
        3.0 * self.forward_flops(cell)
    }
}

/// A model, data and optimizer for timing training steps.
pub struct TrainBench<F: Float = f32> {
    model: Model<F>,
    optimizer: Optimizer<F>,
    x: Array3<F>,
    target: Array3<F>,
    rng: ChaCha8Rng,
}

impl<F: Float> TrainBench<F> {
    /// Random model of `cell` (PyTorch init), input and target for `shape`.
    ///
    /// # Errors
    /// [`crate::Error::Config`] for a zero size.
    pub fn new(shape: BenchShape, cell: Cell, seed: u64) -> Result<Self> {
        let rnn = RnnConfig::new(shape.input_size, shape.hidden_size).with_num_layers(shape.num_layers).with_cell(cell);
        let model = Model::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, seed)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = Array3::from_shape_simple_fn((shape.seq_len, shape.batch, shape.input_size), || {
            F::of(rng.random::<f64>() * 2.0 - 1.0)
        });
        let target = Array3::from_shape_simple_fn((shape.seq_len, shape.batch, 1), || F::of(rng.random::<f64>()));
        Ok(TrainBench { model, optimizer: Optimizer::new(OptimizerConfig::adam())?, x, target, rng })
    }

    /// One training step: forward, MSE, backward, Adam (lr 1e-3). Returns the loss.
    ///
    /// # Errors
    /// Never for a bench built by [`TrainBench::new`].
    pub fn train_step(&mut self) -> Result<f64> {
        let trace = self.model.forward_train(self.x.view(), None, Readout::EveryStep, &mut self.rng)?;
        let v = Loss::Mse.compute(trace.y(), TargetView::Values(self.target.view()), None)?;
        let mut grads = self.model.backward_owned(trace, v.grad.view(), None, false)?;
        let views = grads.tensors_mut();
        let grad_views: Vec<ArrayViewD<'_, F>> = views.iter().map(|g| g.view()).collect();
        let mut params: Vec<_> = self.model.named_tensors_mut().into_iter().map(|(_, t)| t).collect();
        self.optimizer.step(1e-3, &mut params, &grad_views)?;
        Ok(v.loss)
    }

    /// Bytes a training step must hold, the yardstick of its peak memory: what the forward pass
    /// of every layer and direction keeps for the backward pass and the input (per layer
    /// `T B H` for the Elman cell and the IndRNN; the states, the activated gates and the cell
    /// states, `T B (S + 4H + H)`, for an LSTM; the states, gates and `W_hn h + b_hn`, `T B 5H`,
    /// for a GRU; `T B in`), and per parameter its value, its gradient and Adam's two moments.
    pub fn required_bytes(&self) -> usize {
        let c = self.model.config().rnn;
        let (t, b, _) = self.x.dim();
        let per_step = match c.cell {
            Cell::Rnn | Cell::IndRnn => c.hidden_size,
            cell => c.state_size() + (cell.gates() + 1) * c.hidden_size,
        };
        let states = t * b * per_step * c.num_layers * c.num_directions();
        (states + self.x.len() + 4 * self.model.num_params()) * size_of::<F>()
    }

    /// One inference forward over the batch by [`Model::forward`] (the recurrent weights
    /// packed in the call).
    ///
    /// # Errors
    /// Never for a bench built by [`TrainBench::new`].
    pub fn forward(&self) -> Result<Array3<F>> {
        Ok(self.model.forward(self.x.view(), None)?.0)
    }

    /// A [`Predictor`] of the model, for [`TrainBench::predict`].
    pub fn predictor(&self) -> Predictor<'_, F> {
        Predictor::new(&self.model)
    }

    /// One inference forward over the batch by `predictor` (the weights packed beforehand).
    ///
    /// # Errors
    /// Never for a predictor of this bench's model.
    pub fn predict(&self, predictor: &Predictor<'_, F>) -> Result<Array3<F>> {
        Ok(predictor.forward(self.x.view(), None)?.0)
    }
}

/// Median seconds per call of `f`, after `warmup` calls, repeating until `min_time` has passed
/// and at least `min_reps` calls were timed (at most `max_reps`).
pub fn median_secs(mut f: impl FnMut(), warmup: usize, min_reps: usize, max_reps: usize, min_time: Duration) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < max_reps && (times.len() < min_reps || start.elapsed() < min_time) {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// GFLOP/s of a 1024 × 1024 × 1024 f32 matrix product by the fastest GEMM in the process:
/// this crate's kernels ([`crate::kernels::matmul`]) or `ndarray`'s (`matrixmultiply`),
/// median of repeats each. The reference that "fraction of peak" figures divide by.
pub fn gemm_gflops() -> f64 {
    let n = 1024;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let a = Array2::<f32>::from_shape_simple_fn((n, n), || rng.random());
    let b = Array2::<f32>::from_shape_simple_fn((n, n), || rng.random());
    let mut c = Array2::<f32>::zeros((n, n));
    let time = |f: &mut dyn FnMut()| median_secs(f, 1, 5, 50, Duration::from_millis(500));
    let ours = time(&mut || crate::kernels::matmul(&a.view(), &b.view(), &mut c.view_mut(), false));
    let theirs = time(&mut || ndarray::linalg::general_mat_mul(1.0, &a, &b, 0.0, &mut c));
    2.0 * (n * n * n) as f64 / ours.min(theirs) / 1e9
}

/// Median microseconds of one streaming step (batch 1) of a one-layer model of `cell` (tanh
/// for the Elman cell) with `hidden_size` units, `input_size` inputs and a one-output head,
/// stepped by [`Stepper::new`] (split across the pool's threads when it has two or more).
///
/// # Errors
/// [`crate::Error::Config`] for a zero size.
pub fn stream_step_us(cell: Cell, hidden_size: usize, input_size: usize) -> Result<f64> {
    let model = Model::<f32>::new(
        ModelConfig { rnn: RnnConfig::new(input_size, hidden_size).with_cell(cell), output_size: Some(1) },
        Init::PyTorch,
        3,
    )?;
    let mut stepper = Stepper::new(&model, 1)?;
    let x = Array2::<f32>::from_elem((1, input_size), 0.5);
    let block = 1000;
    let secs = median_secs(
        || {
            for _ in 0..block {
                let _ = std::hint::black_box(stepper.step(x.view()).map(|y| y[[0, 0]]));
            }
        },
        2,
        10,
        200,
        Duration::from_millis(500),
    );
    Ok(secs / block as f64 * 1e6)
}
