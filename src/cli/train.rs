//! `rnn train`: fit a model with backpropagation through time; dispatches to the task.

use anyhow::Result;

use super::args::Dtype;
use super::args::train::{Args, Task};

/// Runs `rnn train`.
pub fn run(args: &Args) -> Result<()> {
    match args.task {
        Task::Sequence => match args.model.dtype {
            Dtype::F32 => super::sequence::train::<f32>(args),
            Dtype::F64 => super::sequence::train::<f64>(args),
        },
        Task::Forecast => super::forecast::train(args),
        Task::Charlm => super::charlm::train(args),
        Task::Classify => super::classify::train(args),
    }
}
