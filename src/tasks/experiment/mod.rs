//! Benchmark experiments on long-memory tasks: every listed model trained under the same budget
//! of optimizer steps on the same data, scored on a fixed held-out test set, with its learning
//! curve, wall time, parameter count and the gradient's norm against the time lag.
//!
//! The tasks ([`Task`]): the adding problem ([`adding_problem`]), the copy-memory task
//! ([`copy_memory`]) and the bundled 8x8 digits read one pixel per step ([`pixel_digits`]);
//! the experiments ([`Experiment`]): one task with a list of models ([`ModelSpec`]), or the
//! depth study (1, 2, 4, 8 layers, with and without residual connections) on one task.
//! Training runs through [`crate::train::Trainer`], fresh synthetic sequences every epoch.
//!
//! # Example
//! ```
//! use rnn::tasks::experiment::{self, Experiment, ModelSpec, Options, Quiet, Task};
//! let options = Options {
//!     experiment: Experiment::Task(Task::Adding),
//!     length: Some(8),
//!     models: ModelSpec::parse_list("rnn,gru")?,
//!     steps: Some(6),
//!     hidden: 8,
//!     batch_size: 4,
//!     test_size: 20,
//!     ..Options::default()
//! };
//! let result = experiment::run(&options, &mut Quiet)?;
//! assert_eq!(result.models.len(), 2);
//! assert_eq!(result.models[1].steps, 6);
//! assert!(result.models[1].score.loss().is_finite());
//! # Ok::<(), rnn::Error>(())
//! ```
//!
//! The files: `spec` (the models and their hyper-parameters), `data` (adding and copy),
//! `pixels` (the digits), `run` (training and scoring one model).

mod data;
mod pixels;
mod run;
mod spec;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use data::{ADDING_BASELINE, COPY_LENGTH, COPY_SYMBOLS, adding_problem, copy_baseline, copy_memory};
pub use pixels::{DIGIT_CLASSES, PIXELS, pixel_digits};
pub use run::{CurvePoint, ModelResult, Quiet, Reporter, Score};
pub use spec::{Hyper, ModelSpec, Variant};

use crate::{Cell, Error, Result};

/// A task a model is trained and scored on.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{Experiment, Task};
/// let task: Task = "copy".parse()?;
/// assert_eq!((task.name(), task.default_length(), task.default_steps()), ("copy", Some(100), 3000));
/// let depth = Experiment::Depth(Task::Adding);
/// assert_eq!((depth.name(), depth.task()), ("depth", Task::Adding));
/// assert_eq!("pixel-digits".parse::<Experiment>()?, Experiment::Task(Task::PixelDigits));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// The adding problem: regression of the sum of two marked values (MSE).
    Adding,
    /// The copy-memory task: recall 10 symbols after a delay (cross-entropy per step).
    Copy,
    /// The 8x8 digits one pixel per step (cross-entropy at the last step).
    PixelDigits,
}

impl Task {
    /// `adding`, `copy` or `pixel-digits`.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::experiment::Task;
    /// assert_eq!(Task::PixelDigits.name(), "pixel-digits");
    /// assert_eq!(Task::PixelDigits.name().parse::<Task>()?, Task::PixelDigits);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Task::Adding => "adding",
            Task::Copy => "copy",
            Task::PixelDigits => "pixel-digits",
        }
    }
    /// The sequence length (adding) or delay (copy) used when none is given.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::experiment::Task;
    /// assert_eq!(Task::Adding.default_length(), Some(200));
    /// assert_eq!(Task::PixelDigits.default_length(), None); // always 64 pixels
    /// ```
    pub fn default_length(self) -> Option<usize> {
        match self {
            Task::Adding => Some(200),
            Task::Copy => Some(100),
            Task::PixelDigits => None,
        }
    }
    /// The optimizer steps used when none are given.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::experiment::{Experiment, Options, Task};
    /// assert_eq!(Task::Adding.default_steps(), 4000);
    /// let options = Options { experiment: Experiment::Task(Task::Adding), steps: None, ..Options::default() };
    /// assert_eq!(options.steps(), Task::Adding.default_steps());
    /// ```
    pub fn default_steps(self) -> usize {
        match self {
            Task::Adding => 4000,
            Task::Copy => 3000,
            Task::PixelDigits => 2000,
        }
    }
}

impl FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "adding" => Ok(Task::Adding),
            "copy" => Ok(Task::Copy),
            "pixel-digits" => Ok(Task::PixelDigits),
            other => Err(Error::Config(format!("unknown task `{other}` (expected adding, copy or pixel-digits)"))),
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to run.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{Experiment, Options, Task};
/// let depth: Experiment = "depth".parse()?; // the depth study, on the adding problem
/// assert_eq!(depth, Experiment::Depth(Task::Adding));
/// assert_eq!(depth.name(), "depth");
/// let options = Options { experiment: Experiment::Task(Task::PixelDigits), ..Options::default() };
/// assert_eq!(options.steps(), Task::PixelDigits.default_steps());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Experiment {
    /// Every listed model on one task.
    Task(Task),
    /// Every listed model with 1, 2, 4, ... layers up to [`Options::layers`] (8 by default),
    /// with and without residual connections, on one task.
    Depth(Task),
}

impl Experiment {
    /// The task trained on.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::experiment::{Experiment, Task};
    /// assert_eq!(Experiment::Depth(Task::Copy).task(), Task::Copy);
    /// assert_eq!(Experiment::Task(Task::Adding).task(), Task::Adding);
    /// ```
    pub fn task(self) -> Task {
        match self {
            Experiment::Task(t) | Experiment::Depth(t) => t,
        }
    }
    /// `adding`, `copy`, `pixel-digits` or `depth`.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::experiment::{Experiment, Task};
    /// assert_eq!(Experiment::Task(Task::Copy).name(), "copy");
    /// assert_eq!(Experiment::Depth(Task::Copy).name(), "depth");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Experiment::Task(t) => t.name(),
            Experiment::Depth(_) => "depth",
        }
    }
}

impl FromStr for Experiment {
    type Err = Error;
    /// `adding`, `copy`, `pixel-digits`, or `depth` (on the adding problem).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "depth" => Ok(Experiment::Depth(Task::Adding)),
            other => other.parse().map(Experiment::Task).map_err(|_| {
                Error::Config(format!("unknown experiment `{other}` (expected adding, copy, pixel-digits or depth)"))
            }),
        }
    }
}

/// How to run an experiment.
///
/// | Name | Default | Meaning |
/// |---|---|---|
/// | `experiment` | adding | the task, or the depth study on a task |
/// | `length` | 200 (adding), 100 (copy) | adding: steps per sequence; copy: the delay `T` (sequences of `T + 20`); none for the digits (64 steps) |
/// | `permuted` | false | digits: read the pixels in one fixed seeded random order |
/// | `models` | see [`ModelSpec::default_list`] (depth: `indrnn`) | the models compared |
/// | `layers` | per model: 2 for an IndRNN, else 1 (depth: up to 8) | stacked layers (depth: the deepest stack) |
/// | `steps` | 4000 (adding), 3000 (copy), 2000 (digits) | optimizer steps per model |
/// | `seed` | 0 | data, initialisation and shuffling |
/// | `hidden` | 128 | units per layer |
/// | `batch_size` | 50 | sequences per step |
/// | `lr` | per model: 1e-3 (LSTM 3e-3, IRNN 1e-4) | Adam's learning rate |
/// | `curve_points` | 25 | test evaluations during training (plus one before) |
/// | `test_size` | 1000 | held-out sequences of the synthetic tasks (the digits: a fixed 20% split) |
/// | `lag_batch` | 32 | test sequences the gradient's norm against the lag is measured on |
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{Experiment, ModelSpec, Options, Task};
/// let options = Options { experiment: Experiment::Depth(Task::Copy), layers: Some(4), ..Options::default() };
/// options.validate()?;
/// assert_eq!(options.model_list(), [ModelSpec::plain(rnn::Cell::IndRnn)]); // the depth study's default
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// What to run.
    pub experiment: Experiment,
    /// Steps per sequence (adding) or the delay (copy); `None` for the task's default.
    pub length: Option<usize>,
    /// Permute the digits' pixels.
    pub permuted: bool,
    /// The models; empty for the default list.
    pub models: Vec<ModelSpec>,
    /// Stacked layers for every model (depth: the deepest); `None` for the defaults.
    pub layers: Option<usize>,
    /// Optimizer steps per model; `None` for the task's default.
    pub steps: Option<usize>,
    /// The seed of everything.
    pub seed: u64,
    /// Units per layer.
    pub hidden: usize,
    /// Sequences per optimizer step.
    pub batch_size: usize,
    /// Adam's learning rate for every model; `None` for each model's default.
    pub lr: Option<f64>,
    /// Test evaluations during training.
    pub curve_points: usize,
    /// Held-out test sequences (synthetic tasks).
    pub test_size: usize,
    /// Test sequences of the gradient-against-lag measurement.
    pub lag_batch: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            experiment: Experiment::Task(Task::Adding),
            length: None,
            permuted: false,
            models: Vec::new(),
            layers: None,
            steps: None,
            seed: 0,
            hidden: 128,
            batch_size: 50,
            lr: None,
            curve_points: 25,
            test_size: 1000,
            lag_batch: 32,
        }
    }
}

impl Options {
    /// Checks every value is usable.
    ///
    /// # Errors
    /// [`Error::Config`] naming the value.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::experiment::{Options, Task, Experiment};
    /// Options::default().validate()?;
    /// assert!(Options { hidden: 0, ..Options::default() }.validate().is_err());
    /// let copy = Options { experiment: Experiment::Task(Task::Copy), ..Options::default() };
    /// assert_eq!((copy.steps(), copy.model_list().len()), (3000, 7)); // the task's default steps and models
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        let task = self.experiment.task();
        let bad = |m: String| Err(Error::Config(m));
        match (task, self.length) {
            (Task::PixelDigits, Some(_)) => return bad("the pixel digits have a fixed length of 64 steps".into()),
            (Task::Adding, Some(l)) if l < 2 => {
                return bad(format!("the adding problem needs a length of at least 2, got {l}"));
            }
            (Task::Copy, Some(0)) => return bad("the copy task needs a delay of at least 1".into()),
            _ => {}
        }
        if self.permuted && task != Task::PixelDigits {
            return bad(format!("only the pixel digits can be permuted, not the {task} task"));
        }
        for (name, v) in [
            ("steps", self.steps.unwrap_or(1)),
            ("layers", self.layers.unwrap_or(1)),
            ("hidden size", self.hidden),
            ("batch size", self.batch_size),
            ("curve points", self.curve_points),
            ("test size", self.test_size),
            ("lag batch", self.lag_batch),
        ] {
            if v == 0 {
                return bad(format!("the {name} must be at least 1"));
            }
        }
        if let Some(lr) = self.lr
            && !(lr.is_finite() && lr > 0.0)
        {
            return bad(format!("the learning rate must be positive, got {lr}"));
        }
        Ok(())
    }

    /// The models compared: the given list or the default one.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::experiment::{ModelSpec, Options};
    /// let given = Options { models: ModelSpec::parse_list("lstm,gru")?, ..Options::default() };
    /// assert_eq!(given.model_list().len(), 2);
    /// assert_eq!(Options::default().model_list(), ModelSpec::default_list());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn model_list(&self) -> Vec<ModelSpec> {
        match (self.models.is_empty(), self.experiment) {
            (false, _) => self.models.clone(),
            (true, Experiment::Depth(_)) => vec![ModelSpec::plain(Cell::IndRnn)],
            (true, Experiment::Task(_)) => ModelSpec::default_list(),
        }
    }

    /// The optimizer steps per model.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::experiment::Options;
    /// assert_eq!(Options { steps: Some(50), ..Options::default() }.steps(), 50);
    /// assert_eq!(Options::default().steps(), 4000); // the adding problem's default
    /// ```
    pub fn steps(&self) -> usize {
        self.steps.unwrap_or(self.experiment.task().default_steps())
    }
}

/// An experiment's results.
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{self, Experiment, ModelSpec, Options, Quiet, Task};
/// let options = Options {
///     experiment: Experiment::Task(Task::Adding),
///     length: Some(6),
///     models: ModelSpec::parse_list("indrnn")?,
///     steps: Some(3),
///     hidden: 4,
///     batch_size: 4,
///     test_size: 8,
///     curve_points: 1,
///     lag_batch: 2,
///     ..Options::default()
/// };
/// let result = experiment::run(&options, &mut Quiet)?;
/// assert_eq!((result.task.as_str(), result.seq_len), ("adding problem, T = 6", 6));
/// let m = &result.models[0];
/// assert_eq!((m.hyper.num_layers, m.steps, m.curve.len()), (2, 3, 2)); // a point before training and one after
/// assert!(m.parameters > 0 && m.diverged.is_none());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentResult {
    /// `adding`, `copy`, `pixel-digits` or `depth`.
    pub experiment: String,
    /// The task trained on, with its length: `adding problem, T = 200`.
    pub task: String,
    /// Steps per sequence.
    pub seq_len: usize,
    /// The test metric: `MSE` or `cross-entropy (nats)`.
    pub metric: String,
    /// What the baseline predicts.
    pub baseline_name: String,
    /// The baseline's test metric.
    pub baseline: f64,
    /// One per model, in the order trained.
    pub models: Vec<ModelResult>,
}

/// Runs the experiment: every model in turn, each told to `reporter` as it trains.
///
/// # Errors
/// [`Error::Config`] for bad options; whatever training fails with other than a divergence (a
/// NaN or infinite loss or gradient ends that model's training and is reported in
/// [`ModelResult::diverged`]).
///
/// # Example
/// ```
/// use rnn::tasks::experiment::{self, CurvePoint, Experiment, ModelResult, ModelSpec, Options, Reporter, Task};
/// /// Counts what the experiment reports.
/// #[derive(Default)]
/// struct Count { models: usize, points: usize }
/// impl Reporter for Count {
///     fn point(&mut self, _: &CurvePoint) {
///         self.points += 1;
///     }
///     fn model_done(&mut self, _: &ModelResult) {
///         self.models += 1;
///     }
/// }
/// let options = Options {
///     experiment: Experiment::Task(Task::Copy),
///     length: Some(3),
///     models: ModelSpec::parse_list("gru")?,
///     steps: Some(4),
///     hidden: 8,
///     batch_size: 4,
///     test_size: 8,
///     curve_points: 2,
///     ..Options::default()
/// };
/// let mut count = Count::default();
/// let result = experiment::run(&options, &mut count)?;
/// assert_eq!((count.models, result.models.len()), (1, 1));
/// assert!(count.points >= 2);
/// assert!(result.models[0].score.accuracy().is_some()); // a classification task
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn run(options: &Options, reporter: &mut dyn Reporter) -> Result<ExperimentResult> {
    options.validate()?;
    let setup = run::Setup::new(options)?;
    let jobs = run::jobs(options, setup.seq_len);
    let mut models = Vec::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        reporter.model_start(i, jobs.len(), &job.label, options.steps());
        let result = run::train_model(job, &setup, options, reporter)?;
        reporter.model_done(&result);
        models.push(result);
    }
    Ok(ExperimentResult {
        experiment: options.experiment.name().to_string(),
        task: setup.description.clone(),
        seq_len: setup.seq_len,
        metric: setup.metric().to_string(),
        baseline_name: setup.baseline_name.to_string(),
        baseline: setup.baseline,
        models,
    })
}
