//! `rnn train`: fit a model with backpropagation through time; dispatches to the task.

use anyhow::{Context, Result};
use clap::ValueEnum;
use rnn::train::TensorBoard;

use super::args::Dtype;
use super::args::train::{Args, Task};

/// Runs `rnn train`. The TensorBoard directory and its event file are made first, so a bad
/// `--tensorboard` fails before any data is read or any model trained.
/// `given(id)` says whether the flag of that argument id was typed (not a default).
pub fn run(args: &Args, given: &dyn Fn(&str) -> bool) -> Result<()> {
    super::common::set_quiet(args.output.quiet);
    warn_ignored_flags(args.task, given);
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

/// The task-specific flags: (argument id, flag, the tasks it applies to).
const TASK_FLAGS: [(&str, &str, &[Task]); 24] = {
    use Task::{Charlm, Classify, Forecast, Sequence};
    [
        ("inputs", "--inputs", &[Sequence, Classify]),
        ("targets", "--targets", &[Sequence]),
        ("labels", "--labels", &[Classify]),
        ("data", "--data", &[Forecast, Charlm]),
        ("mask", "--mask", &[Sequence]),
        ("val_inputs", "--val-inputs", &[Sequence, Classify]),
        ("val_split", "--val-split", &[Sequence, Classify, Charlm]),
        ("loss", "--loss", &[Sequence, Forecast]),
        ("column", "--column", &[Forecast]),
        ("features", "--features", &[Forecast]),
        ("date_column", "--date-column", &[Forecast]),
        ("id_column", "--id-column", &[Forecast]),
        ("window", "--window", &[Forecast]),
        ("horizon", "--horizon", &[Forecast]),
        ("season", "--season", &[Forecast]),
        ("split", "--split", &[Forecast]),
        ("transform", "--transform", &[Forecast]),
        ("delimiter", "--delimiter", &[Forecast]),
        ("date_format", "--date-format", &[Forecast]),
        ("fill", "--fill", &[Forecast]),
        ("decimal", "--decimal", &[Forecast]),
        ("sample", "--sample", &[Charlm]),
        ("test_split", "--test-split", &[Classify]),
        ("class_names", "--class-names", &[Classify]),
    ]
};

/// One warning line on stderr for each flag given that `task` does not read.
fn warn_ignored_flags(task: Task, given: &dyn Fn(&str) -> bool) {
    for line in ignored_flags(task, given) {
        eprintln!("rnn: warning: {line}");
    }
}

/// The flags a task refuses with an error of its own (no warning is added).
fn refused(task: Task, id: &str) -> bool {
    match task {
        Task::Charlm => ["inputs", "targets", "labels", "mask", "val_inputs"].contains(&id),
        Task::Classify => ["targets", "mask"].contains(&id),
        Task::Sequence | Task::Forecast => false,
    }
}

fn ignored_flags(task: Task, given: &dyn Fn(&str) -> bool) -> Vec<String> {
    let name = |t: &Task| t.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default();
    TASK_FLAGS
        .iter()
        .filter(|(id, _, tasks)| !tasks.contains(&task) && !refused(task, id) && given(id))
        .map(|(_, flag, tasks)| {
            let to: Vec<String> = tasks.iter().map(|t| format!("--task {}", name(t))).collect();
            format!("{flag} does not apply to --task {} (only to {}): ignored", name(&task), to.join(", "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flags_the_task_ignores_are_named() {
        let given = |id: &str| ["sample", "epochs", "data", "window"].contains(&id);
        assert_eq!(
            ignored_flags(Task::Forecast, &given),
            vec!["--sample does not apply to --task forecast (only to --task charlm): ignored"]
        );
        assert_eq!(ignored_flags(Task::Charlm, &given).len(), 1); // --window
        // charlm refuses --inputs itself, with an error: no warning on top
        assert!(ignored_flags(Task::Charlm, &|id: &str| id == "inputs").is_empty());
    }
}
