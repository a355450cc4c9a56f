//! The optimizers, clipping and schedules reproduce `torch.optim`: 20 training steps of a 2-layer
//! tanh RNN with a linear head under an MSE loss, for every case in `tests/optim_golden/` (made by
//! `tests/optim_golden/make_optim_golden.py`), give PyTorch's losses and final weights; replaying
//! PyTorch's own gradients through our updates gives PyTorch's weights to the last bits; and a run
//! resumed from a saved optimizer state is bit-identical to an uninterrupted one.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{max_scaled_diff, read_tensors};
use ndarray::{Array3, ArrayD, Ix3, Zip};
use rand::SeedableRng;
use rnn::model_file::{self, LoadOptions};
use rnn::optim::{self, Optimizer, OptimizerConfig, OptimizerState};
use rnn::schedule::Schedule;
use rnn::{Float, Model, Readout};
use serde::Deserialize;

/// The contract: final weights and per-step losses agree with PyTorch's to 1e-5.
const TOL: f64 = 1e-5;
/// Replaying PyTorch's gradients leaves only the rounding of our float operations against
/// PyTorch's kernels' (its float32 `sqrt` is not always correctly rounded).
const REPLAY_TOL: f64 = 1e-6;

#[derive(Deserialize)]
struct Manifest {
    torch: String,
    steps: usize,
    replay_steps: usize,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    optimizer: OptimizerConfig,
    lr: f64,
    schedule: Option<Schedule>,
    clip_grad_norm: Option<f64>,
    clip_grad_value: Option<f64>,
    losses: Vec<f64>,
}

impl Case {
    /// The learning rate of optimizer step `step`.
    fn lr(&self, step: usize) -> f64 {
        self.schedule.as_ref().map_or(self.lr, |s| s.lr(self.lr, step))
    }

    /// Clips as `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_` when the case says so.
    fn clip<F: Float>(&self, grads: &mut [ArrayD<F>]) {
        let mut views: Vec<_> = grads.iter_mut().map(|g| g.view_mut()).collect();
        if let Some(max_norm) = self.clip_grad_norm {
            optim::clip_grad_norm(&mut views, max_norm);
        }
        if let Some(clip) = self.clip_grad_value {
            optim::clip_grad_value(&mut views, clip);
        }
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/optim_golden")
}

fn manifest() -> Manifest {
    let json = std::fs::read_to_string(golden_dir().join("cases.json")).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn initial_model<F: Float>() -> Model<F> {
    let path = golden_dir().join("initial.safetensors");
    model_file::load::<F>(&path, &LoadOptions::default()).unwrap().model
}

fn to3<F: Float>(a: &ArrayD<f64>) -> Array3<F> {
    a.mapv(F::of).into_dimensionality::<Ix3>().unwrap()
}

fn widen<F: Float>(a: ndarray::ArrayViewD<'_, F>) -> ArrayD<f64> {
    a.mapv(|v| v.to_f64_lossless())
}

/// Worst scaled difference between the model's weights and the tensors `{prefix}{name}`.
fn weight_diff<F: Float>(model: &Model<F>, theirs: &HashMap<String, ArrayD<f64>>, prefix: &str) -> f64 {
    let named = model.named_tensors();
    assert_eq!(named.len(), 10, "2 layers x 4 tensors + head weight and bias");
    named
        .into_iter()
        .map(|(name, ours)| {
            let key = format!("{prefix}{name}");
            let t = theirs.get(&key).unwrap_or_else(|| panic!("fixture lacks {key}"));
            max_scaled_diff(&widen(ours), t, &key)
        })
        .fold(0.0, f64::max)
}

/// One training step as the fixture script takes it: forward, `nn.MSELoss`, backward, clip,
/// `optimizer.step()`. Returns the loss before the step.
fn train_step<F: Float>(
    case: &Case,
    step: usize,
    model: &mut Model<F>,
    opt: &mut Optimizer<F>,
    x: &Array3<F>,
    target: &Array3<F>,
) -> f64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0); // no dropout: never drawn from
    let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rng).unwrap();
    let y = trace.y();
    let n = y.len() as f64;
    let loss = Zip::from(&y).and(target).fold(0.0, |acc, &a, &b| acc + (a - b).to_f64_lossless().powi(2)) / n;
    // nn.MSELoss (mean) backward: dL/dy = (y - target) * (2 / numel)
    let scale = F::of(2.0 / n);
    let dy = Zip::from(&y).and(target).map_collect(|&a, &b| (a - b) * scale);
    let grads = model.backward(&trace, dy.view(), None).unwrap();
    let mut grads: Vec<ArrayD<F>> =
        grads.named_tensors(model.rnn.config()).into_iter().map(|(_, g)| g.to_owned()).collect();
    case.clip(&mut grads);
    let grad_views: Vec<_> = grads.iter().map(|g| g.view()).collect();
    let mut params: Vec<_> = model.named_tensors_mut().into_iter().map(|(_, p)| p).collect();
    opt.step(case.lr(step), &mut params, &grad_views).unwrap();
    loss
}

/// Runs every case for the fixture's number of steps in precision `F`; returns, per case, the
/// worst relative loss difference and the worst scaled final-weight difference.
fn run_all<F: Float>() -> Vec<(String, f64, f64)> {
    let m = manifest();
    let data = read_tensors(&golden_dir().join("data.safetensors"));
    let (x, target) = (to3::<F>(&data["x"]), to3::<F>(&data["target"]));
    let mut out = Vec::new();
    for case in &m.cases {
        assert_eq!(case.losses.len(), m.steps, "{}", case.name);
        let mut model = initial_model::<F>();
        let mut opt = Optimizer::<F>::new(case.optimizer.clone()).unwrap();
        let mut worst_loss = 0.0f64;
        for (step, theirs) in case.losses.iter().enumerate() {
            let ours = train_step(case, step, &mut model, &mut opt, &x, &target);
            let d = (ours - theirs).abs() / theirs.abs();
            assert!(d < TOL, "{}: step {step}: loss {ours} vs PyTorch's {theirs}", case.name);
            worst_loss = worst_loss.max(d);
        }
        let theirs = read_tensors(&golden_dir().join(format!("{}.safetensors", case.name)));
        let worst_w = weight_diff(&model, &theirs, "");
        assert!(worst_w < TOL, "{}: final weights differ from PyTorch's by {worst_w:e}", case.name);
        out.push((case.name.clone(), worst_loss, worst_w));
    }
    out
}

fn report(title: &str, rows: &[(String, f64, f64)]) {
    println!("{title} (torch {}):", manifest().torch);
    for (name, loss, w) in rows {
        println!("  {name:32} losses {loss:.1e}  final weights {w:.1e}");
    }
}

#[test]
fn twenty_steps_match_pytorch_in_f32() {
    let rows = run_all::<f32>();
    report("f32, worst relative loss / scaled weight difference", &rows);
    assert_eq!(rows.len(), 10);
}

#[test]
fn twenty_steps_match_pytorch_in_f64() {
    let rows = run_all::<f64>();
    report("f64 (vs PyTorch's f32), worst relative loss / scaled weight difference", &rows);
}

/// The optimizer alone: PyTorch's raw gradients of the first steps, clipped and applied by our
/// optimizer, give PyTorch's weights after those steps.
#[test]
fn replaying_pytorch_gradients_gives_pytorch_weights() {
    let m = manifest();
    println!("f32, PyTorch's gradients replayed for {} steps:", m.replay_steps);
    for case in &m.cases {
        let theirs = read_tensors(&golden_dir().join(format!("{}.safetensors", case.name)));
        let mut model = initial_model::<f32>();
        let names: Vec<String> = model.named_tensors().into_iter().map(|(n, _)| n).collect();
        let mut opt = Optimizer::<f32>::new(case.optimizer.clone()).unwrap();
        for step in 0..m.replay_steps {
            let mut grads: Vec<ArrayD<f32>> =
                names.iter().map(|n| theirs[&format!("grad.{step}.{n}")].mapv(|v| v as f32)).collect();
            case.clip(&mut grads);
            let grad_views: Vec<_> = grads.iter().map(|g| g.view()).collect();
            let mut params: Vec<_> = model.named_tensors_mut().into_iter().map(|(_, p)| p).collect();
            opt.step(case.lr(step), &mut params, &grad_views).unwrap();
        }
        let d = weight_diff(&model, &theirs, "replay.");
        let ulps = model
            .named_tensors()
            .into_iter()
            .flat_map(|(n, ours)| {
                let t = &theirs[&format!("replay.{n}")];
                ours.iter()
                    .zip(t.iter())
                    .map(|(&a, &b)| (a.to_bits() as i64 - (b as f32).to_bits() as i64).unsigned_abs())
                    .collect::<Vec<_>>()
            })
            .max()
            .unwrap();
        println!("  {:32} scaled {d:.1e}, {ulps} ulp", case.name);
        assert!(d < REPLAY_TOL, "{}: replayed weights differ by {d:e}", case.name);
    }
}

/// Saving the optimizer's state after 10 steps (JSON + tensors) and resuming from it gives the
/// same weights, to the bit, as 20 uninterrupted steps.
#[test]
fn resuming_from_a_saved_state_is_bit_identical() {
    let m = manifest();
    let data = read_tensors(&golden_dir().join("data.safetensors"));
    let (x, target) = (to3::<f32>(&data["x"]), to3::<f32>(&data["target"]));
    for case in &m.cases {
        let mut straight = initial_model::<f32>();
        let mut opt = Optimizer::new(case.optimizer.clone()).unwrap();
        for step in 0..m.steps {
            train_step(case, step, &mut straight, &mut opt, &x, &target);
        }

        let mut resumed = initial_model::<f32>();
        let mut opt = Optimizer::new(case.optimizer.clone()).unwrap();
        let half = m.steps / 2;
        for step in 0..half {
            train_step(case, step, &mut resumed, &mut opt, &x, &target);
        }
        let json = serde_json::to_string(&opt.state()).unwrap();
        let tensors = opt.state_tensors();
        drop(opt);
        let state: OptimizerState = serde_json::from_str(&json).unwrap();
        let mut opt = Optimizer::from_state(state, tensors).unwrap();
        assert_eq!(opt.steps_taken(), half as u64);
        for step in half..m.steps {
            train_step(case, step, &mut resumed, &mut opt, &x, &target);
        }
        assert_eq!(resumed, straight, "{}", case.name);
    }
}
