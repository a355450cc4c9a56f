//! `rnn train`: fit a model with backpropagation through time; dispatches to the task.

use anyhow::{Context, Result, bail};
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
    check_resumed_shape(args, given)?;
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

/// With `--resume`, refuses a flag typed that shapes a model (`--hidden 64`) whose value is not
/// the checkpoint's: the checkpoint resumes its own model, and the flag would be ignored. The
/// same command line with `--resume` added (what an interrupted run prints) passes.
fn check_resumed_shape(args: &Args, given: &dyn Fn(&str) -> bool) -> Result<()> {
    let Some(ckpt) = &args.output.resume else { return Ok(()) };
    // a file that is no model: the trainer's own check says so
    let Ok(loaded) = rnn::model_file::load::<f64>(ckpt, &Default::default()) else { return Ok(()) };
    let c = loaded.model.config().rnn;
    let m = &args.model;
    let shape = [
        ("hidden", "--hidden", m.hidden.to_string(), c.hidden_size.to_string()),
        ("layers", "--layers", m.layers.to_string(), c.num_layers.to_string()),
        ("cell", "--cell", format!("{:?}", m.recurrence.cell), format!("{:?}", c.cell)),
        ("proj_size", "--proj-size", m.recurrence.proj_size.to_string(), c.proj_size.to_string()),
        ("no_bias", "--no-bias", (!m.no_bias).to_string(), c.bias.to_string()),
        ("bidirectional", "--bidirectional", m.bidirectional.to_string(), c.bidirectional.to_string()),
        ("residual", "--residual", m.residual.to_string(), c.residual.to_string()),
        ("dropout", "--dropout", m.dropout.to_string(), c.dropout.to_string()),
    ];
    let differ: Vec<String> = shape
        .iter()
        .filter(|(id, _, typed, kept)| given(id) && typed != kept)
        .map(|(id, flag, typed, kept)| match *id {
            // a switch typed is on (`--no-bias`: the bias off)
            "no_bias" | "bidirectional" | "residual" => format!("{flag} (not so in the checkpoint)"),
            _ => format!("{flag} {typed} (the checkpoint's: {kept})"),
        })
        .collect();
    if !differ.is_empty() {
        bail!(
            "{}: {}: a checkpoint resumes its own model; drop the flag, or train a new model without --resume",
            ckpt.display(),
            differ.join(", ")
        );
    }
    Ok(())
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
