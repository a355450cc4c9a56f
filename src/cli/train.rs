//! `rnn train`: fit a model with backpropagation through time; dispatches to the task.

use anyhow::{Context, Result};
use rnn::train::TensorBoard;

use super::args::Dtype;
use super::args::train::{Args, Task};

/// Runs `rnn train`. The TensorBoard directory and its event file are made first, so a bad
/// `--tensorboard` fails before any data is read or any model trained.
pub fn run(args: &Args) -> Result<()> {
    super::outputs::check_train(args)?;
    let tensorboard =
        args.output.tensorboard.as_deref().map(TensorBoard::create).transpose().context("--tensorboard")?;
    super::interrupt::install();
    match args.task {
        Task::Sequence => match args.model.dtype {
            Dtype::F32 => super::sequence::train::<f32>(args, tensorboard),
            Dtype::F64 => super::sequence::train::<f64>(args, tensorboard),
        },
        Task::Forecast => super::forecast::train(args, tensorboard),
        Task::Charlm => super::charlm::train(args, tensorboard),
        Task::Classify => super::classify::train(args, tensorboard),
    }
}
