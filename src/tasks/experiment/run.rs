//! Training and scoring one model of an experiment through [`Trainer::train_epoch`], with fresh
//! training data every epoch and the test set evaluated after each.

use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::spec::{Hyper, ModelSpec, Variant};
use super::{Experiment, Options, Task, data, pixels};
use crate::data::Dataset;
use crate::diagnose::lag::grad_norm_by_lag;
use crate::train::loss::Loss;
use crate::train::{BatchProgress, Observer, StateReset, TrainConfig, Trainer, evaluate};
use crate::{Error, Model, ModelConfig, Result, RnnConfig};

/// Receives an experiment's progress (the command line draws bars with it).
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{self, ModelSpec, Options, Reporter};
/// /// Logs which model is training.
/// #[derive(Default)]
/// struct Log(Vec<String>);
/// impl Reporter for Log {
///     fn model_start(&mut self, index: usize, count: usize, label: &str, steps: usize) {
///         self.0.push(format!("{}/{count} {label} ({steps} steps)", index + 1));
///     }
/// }
/// let options = Options { length: Some(5), models: ModelSpec::parse_list("rnn")?, steps: Some(2), hidden: 4, batch_size: 2, test_size: 4, curve_points: 1, lag_batch: 2, ..Options::default() };
/// let mut log = Log::default();
/// experiment::run(&options, &mut log)?;
/// assert_eq!(log.0, ["1/1 rnn (2 steps)"]);
/// # Ok::<(), rnn::Error>(())
/// ```
pub trait Reporter {
    /// Before model `index` of `count` (0-based) starts training for `steps` optimizer steps.
    fn model_start(&mut self, _index: usize, _count: usize, _label: &str, _steps: usize) {}
    /// After every optimizer step: the steps done and the epoch's running training loss.
    fn step(&mut self, _step: usize, _train_loss: f64) {}
    /// After every test evaluation.
    fn point(&mut self, _point: &CurvePoint) {}
    /// When a model is trained and scored.
    fn model_done(&mut self, _result: &ModelResult) {}
}

/// A reporter that ignores everything.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{self, ModelSpec, Options, Quiet};
/// let options = Options { length: Some(4), models: ModelSpec::parse_list("gru")?, steps: Some(2), hidden: 4, batch_size: 2, test_size: 4, curve_points: 1, lag_batch: 2, ..Options::default() };
/// let result = experiment::run(&options, &mut Quiet)?; // no progress, only the result
/// let m = &result.models[0];
/// // CurvePoint: the test loss before training and after the last step
/// assert_eq!((m.curve[0].step, m.curve[0].train_loss, m.curve[1].step), (0, None, 2));
/// assert!(m.curve.iter().all(|p| p.test_loss.is_finite() && p.test_accuracy.is_none()));
/// // ModelResult: the score against the task's baseline, and the gradient's norm against the lag
/// assert!(m.score.loss().is_finite() && m.baseline > 0.0 && !m.grad_norm_by_lag.is_empty());
/// # Ok::<(), rnn::Error>(())
/// ```
pub struct Quiet;
impl Reporter for Quiet {}

/// One test evaluation during training.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{self, ModelSpec, Options, Quiet};
/// let options = Options { length: Some(4), models: ModelSpec::parse_list("rnn")?, steps: Some(4), hidden: 4, batch_size: 2, test_size: 4, curve_points: 2, lag_batch: 2, ..Options::default() };
/// let curve = &experiment::run(&options, &mut Quiet)?.models[0].curve;
/// let steps: Vec<usize> = curve.iter().map(|p| p.step).collect();
/// assert_eq!(steps, [0, 2, 4]);
/// assert!(curve[1].train_loss.is_some() && curve[2].seconds >= curve[1].seconds);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Optimizer steps taken.
    pub step: usize,
    /// Wall time since the model's training started.
    pub seconds: f64,
    /// The mean training loss since the previous point (`None` before training).
    pub train_loss: Option<f64>,
    /// The test loss: MSE or cross-entropy in nats.
    pub test_loss: f64,
    /// The test accuracy (classification tasks).
    pub test_accuracy: Option<f64>,
}

/// A model's final score on the test set.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::Score;
/// let s = Score::CrossEntropy { test_loss: 0.5, test_accuracy: 0.9 };
/// assert_eq!((s.loss(), s.accuracy()), (0.5, Some(0.9)));
/// assert_eq!(Score::Mse { test_mse: 0.1 }.accuracy(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Score {
    /// A regression task.
    Mse {
        /// The test mean squared error.
        test_mse: f64,
    },
    /// A classification task.
    CrossEntropy {
        /// The test cross-entropy in nats per target step.
        test_loss: f64,
        /// The fraction of target steps classified right.
        test_accuracy: f64,
    },
}

impl Score {
    /// The test loss: the MSE or the cross-entropy.
    pub fn loss(&self) -> f64 {
        match *self {
            Score::Mse { test_mse } => test_mse,
            Score::CrossEntropy { test_loss, .. } => test_loss,
        }
    }
    /// The test accuracy of a classification task.
    pub fn accuracy(&self) -> Option<f64> {
        match *self {
            Score::Mse { .. } => None,
            Score::CrossEntropy { test_accuracy, .. } => Some(test_accuracy),
        }
    }
}

/// One model's results.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{self, ModelSpec, Options, Quiet};
/// let options = Options { length: Some(4), models: ModelSpec::parse_list("lstm")?, steps: Some(2), hidden: 4, batch_size: 2, test_size: 4, curve_points: 1, lag_batch: 2, ..Options::default() };
/// let m = &experiment::run(&options, &mut Quiet)?.models[0];
/// assert_eq!((m.model.as_str(), m.cell.as_str(), m.steps), ("lstm", "lstm", 2));
/// assert_eq!(m.parameters, 16 * 2 + 16 * 4 + 2 * 16 + 4 + 1); // the LSTM (2 inputs: value, marker) and its head
/// assert!(m.diverged.is_none());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct ModelResult {
    /// The model's label: its spec, and in the depth study its layers (`indrnn 4 layers
    /// residual`).
    pub model: String,
    /// The spec it was built from (`lstm:forget-bias`).
    pub cell: String,
    /// The hyper-parameters it was trained with.
    pub hyper: Hyper,
    /// Trainable parameters, head included.
    pub parameters: usize,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Wall time of training, test evaluations included.
    pub seconds: f64,
    /// The final test score.
    #[serde(flatten)]
    pub score: Score,
    /// The baseline's score on the same metric.
    pub baseline: f64,
    /// Why training stopped before the budget (a NaN or infinite loss or gradient); the score
    /// is then that of the last weights before it.
    pub diverged: Option<String>,
    /// Test evaluations: before training, then every so many steps and at the end.
    pub curve: Vec<CurvePoint>,
    /// The trained model's gradient norm `‖dL_t/dh_(t-k)‖` against the lag `k`, on test
    /// sequences: per layer, bottom first.
    pub grad_norm_by_lag: Vec<Vec<f64>>,
}

/// One model to train: its spec, label and hyper-parameters.
pub(super) struct Job {
    pub(super) spec: ModelSpec,
    pub(super) label: String,
    pub(super) hyper: Hyper,
}

/// Where an experiment's training sequences come from.
enum Source {
    /// Generated afresh for every epoch.
    Fresh(Task, usize),
    /// Drawn from a fixed set, reshuffled at every pass.
    Fixed(Box<Dataset<f32>>),
}

/// The data and scoring of an experiment, shared by its models.
pub(super) struct Setup {
    source: Source,
    test: Dataset<f32>,
    loss: Loss,
    output_size: usize,
    pub(super) seq_len: usize,
    pub(super) baseline: f64,
    pub(super) baseline_name: &'static str,
    pub(super) description: String,
}

/// A seed for stream `stream`, item `index` of an experiment seeded with `seed` (SplitMix64).
fn mix(seed: u64, stream: u64, index: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const TEST_STREAM: u64 = 1;
const TRAIN_STREAM: u64 = 2;
const PERMUTATION_STREAM: u64 = 3;

impl Setup {
    pub(super) fn new(o: &Options) -> Result<Self> {
        let task = o.experiment.task();
        let length = o.length.or(task.default_length()).unwrap_or(0);
        let test_seed = mix(o.seed, TEST_STREAM, 0);
        Ok(match task {
            Task::Adding => Setup {
                source: Source::Fresh(task, length),
                test: data::adding_problem(o.test_size, length, test_seed)?,
                loss: Loss::Mse,
                output_size: 1,
                seq_len: length,
                baseline: data::ADDING_BASELINE,
                baseline_name: "predict 1",
                description: format!("adding problem, T = {length}"),
            },
            Task::Copy => Setup {
                source: Source::Fresh(task, length),
                test: data::copy_memory(o.test_size, length, test_seed)?,
                loss: Loss::CrossEntropy,
                output_size: data::COPY_SYMBOLS,
                seq_len: length + 2 * data::COPY_LENGTH,
                baseline: data::copy_baseline(length),
                baseline_name: "blanks, then a uniform guess",
                description: format!("copy task, delay T = {length}"),
            },
            Task::PixelDigits => {
                let permutation = o.permuted.then(|| mix(o.seed, PERMUTATION_STREAM, 0));
                let (train, test) = pixels::pixel_digits(permutation)?;
                Setup {
                    source: Source::Fixed(Box::new(train)),
                    test,
                    loss: Loss::CrossEntropy,
                    output_size: pixels::DIGIT_CLASSES,
                    seq_len: pixels::PIXELS,
                    baseline: (pixels::DIGIT_CLASSES as f64).ln(),
                    baseline_name: "a uniform guess",
                    description: format!("{}8x8 digits, pixel by pixel", if o.permuted { "permuted " } else { "" }),
                }
            }
        })
    }

    /// `MSE` or `cross-entropy (nats)`.
    pub(super) fn metric(&self) -> &'static str {
        if self.loss == Loss::Mse { "MSE" } else { "cross-entropy (nats)" }
    }

    /// The training sequences of epoch `epoch` (0-based): `n` of them, the same for every model.
    fn chunk(&self, epoch: usize, n: usize, seed: u64) -> Result<Dataset<f32>> {
        let seed_k = mix(seed, TRAIN_STREAM, epoch as u64);
        match &self.source {
            Source::Fresh(Task::Copy, delay) => data::copy_memory(n, *delay, seed_k),
            Source::Fresh(_, length) => data::adding_problem(n, *length, seed_k),
            Source::Fixed(train) => {
                // position p of an endless stream of passes, each a fresh shuffle of the set
                let len = train.len();
                let mut rows = Vec::with_capacity(n);
                let (mut pass, mut order) = (usize::MAX, Vec::new());
                for p in epoch * n..(epoch + 1) * n {
                    if p / len != pass {
                        pass = p / len;
                        order = (0..len).collect();
                        order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(seed, TRAIN_STREAM, pass as u64)));
                    }
                    rows.push(order[p % len]);
                }
                Ok(train.subset(&rows))
            }
        }
    }
}

/// The models of an experiment: the list, or in the depth study each model at every depth,
/// plain and (from 2 layers) residual.
pub(super) fn jobs(o: &Options, seq_len: usize) -> Vec<Job> {
    let hyper = |spec: &ModelSpec, layers| spec.hyper(seq_len, o.hidden, o.batch_size, layers, o.lr);
    let mut jobs = Vec::new();
    for spec in o.model_list() {
        match o.experiment {
            Experiment::Task(_) => jobs.push(Job { spec, label: spec.to_string(), hyper: hyper(&spec, o.layers) }),
            Experiment::Depth(_) => {
                let deepest = o.layers.unwrap_or(8);
                let depths = std::iter::successors(Some(1usize), |d| d.checked_mul(2)).take_while(|&d| d <= deepest);
                for layers in depths {
                    for residual in [false, true] {
                        if residual && layers == 1 {
                            continue;
                        }
                        let mut h = hyper(&spec, Some(layers));
                        h.residual = residual;
                        let label = format!(
                            "{spec} {layers} layer{}{}",
                            if layers == 1 { "" } else { "s" },
                            if residual { " residual" } else { "" }
                        );
                        jobs.push(Job { spec, label, hyper: h });
                    }
                }
            }
        }
    }
    jobs
}

/// A fresh model for `job`.
fn build(job: &Job, setup: &Setup, seed: u64) -> Result<Model<f32>> {
    let h = &job.hyper;
    let mut rnn = RnnConfig::new(setup.test.input_size(), h.hidden_size)
        .with_cell(job.spec.cell)
        .with_num_layers(h.num_layers)
        .with_residual(h.residual)
        .with_recurrent_max(h.recurrent_max);
    if let Some(act) = h.nonlinearity {
        rnn = rnn.with_nonlinearity(act);
    }
    let mut model = Model::new(ModelConfig { rnn, output_size: Some(setup.output_size) }, h.init, seed)?;
    if let Some(b) = h.forget_bias {
        model.rnn.set_forget_bias(b)?;
    }
    if let (Variant::Chrono, Some(t)) = (job.spec.variant, h.chrono) {
        model.rnn.chrono_init(t, &mut ChaCha8Rng::seed_from_u64(mix(seed, 4, 0)))?;
    }
    Ok(model)
}

/// Forwards the trainer's batches to the reporter as global step counts.
struct Steps<'a> {
    reporter: &'a mut dyn Reporter,
    before: usize,
    budget: usize,
}
impl Observer for Steps<'_> {
    fn batch(&mut self, p: &BatchProgress) {
        self.reporter.step((self.before + p.batch).min(self.budget), p.loss);
    }
}

/// Trains and scores one model.
pub(super) fn train_model(job: &Job, setup: &Setup, o: &Options, reporter: &mut dyn Reporter) -> Result<ModelResult> {
    let steps = o.steps();
    let model = build(job, setup, o.seed)?;
    let parameters = model.num_params();
    let h = &job.hyper;
    let config = TrainConfig {
        epochs: 1,
        batch_size: h.batch_size,
        lr: h.lr,
        clip_norm: h.clip_norm,
        loss: setup.loss,
        seed: o.seed,
        max_steps: Some(steps),
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(model, config)?;
    let started = Instant::now();
    let eval = |m: &Model<f32>| evaluate(m, &setup.test, setup.loss, 500, StateReset::Sequence);
    let (loss0, acc0) = eval(trainer.model())?;
    let first = CurvePoint { step: 0, seconds: 0.0, train_loss: None, test_loss: loss0, test_accuracy: acc0 };
    reporter.point(&first);
    let mut curve = vec![first];
    let every = steps.div_ceil(o.curve_points);
    let mut diverged = None;
    let mut epoch = 0;
    while !trainer.out_of_steps() {
        let before = trainer.steps_done();
        let chunk = setup.chunk(epoch, every * h.batch_size, o.seed)?;
        let mut observer = Steps { reporter: &mut *reporter, before, budget: steps };
        match trainer.train_epoch(&chunk, Some(&setup.test), &mut observer) {
            Ok(r) => {
                let point = CurvePoint {
                    step: r.step,
                    seconds: started.elapsed().as_secs_f64(),
                    train_loss: Some(r.train_loss),
                    test_loss: r.val_loss.unwrap_or(f64::NAN),
                    test_accuracy: r.val_accuracy,
                };
                reporter.point(&point);
                curve.push(point);
            }
            Err(Error::Training(msg)) => {
                diverged = Some(msg);
                break;
            }
            Err(e) => return Err(e),
        }
        epoch += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let model = trainer.model();
    // after a divergence the weights are those of the last finite step
    let (loss, accuracy) = match (&diverged, curve.last()) {
        (None, Some(p)) => (p.test_loss, p.test_accuracy),
        _ => eval(model)?,
    };
    let score = match accuracy {
        Some(a) => Score::CrossEntropy { test_loss: loss, test_accuracy: a },
        None => Score::Mse { test_mse: loss },
    };
    let rows: Vec<usize> = (0..setup.test.len().min(o.lag_batch)).collect();
    let batch = setup.test.batch(&rows);
    let target = batch.target_view(0..batch.target_steps());
    let lag = grad_norm_by_lag(model, batch.x.view(), target, setup.loss, setup.test.readout(), 4)?;
    Ok(ModelResult {
        model: job.label.clone(),
        cell: job.spec.to_string(),
        hyper: job.hyper.clone(),
        parameters,
        steps: trainer.steps_done(),
        seconds,
        score,
        baseline: setup.baseline,
        diverged,
        curve,
        grad_norm_by_lag: lag.h,
    })
}
