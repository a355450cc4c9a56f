//! Every path a command will write, checked before any work starts: a folder given where a
//! file is expected, a missing or read-only folder, or one path given for two outputs fails at
//! once, in one line naming the path (so a long training run never ends unable to save).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use rnn::train::RunPaths;

use super::args::train::{Args as TrainArgs, Task};

/// Checks that each `(flag, path)` can be written and that no path is given twice.
pub fn check<'a>(outputs: impl IntoIterator<Item = (&'a str, &'a Path)>) -> Result<()> {
    let outputs: Vec<(&str, &Path)> = outputs.into_iter().collect();
    for (i, (a, p)) in outputs.iter().enumerate() {
        if let Some((b, _)) = outputs[i + 1..].iter().find(|(_, q)| q == p && p.as_os_str() != "-") {
            bail!("{}: given as both {a} and {b}", p.display());
        }
    }
    for (_, path) in outputs {
        rnn::io::check_writable(path)?;
    }
    Ok(())
}

/// `STEM.png` and `STEM.svg` with `suffix` put before the extension (`.lag` → `STEM.lag.png`).
pub fn plot_pair(stem: &Path, suffix: &str) -> [PathBuf; 2] {
    let with = |ext: &str| {
        let mut s = OsString::from(stem.as_os_str());
        s.push(suffix);
        s.push(ext);
        PathBuf::from(s)
    };
    [with(".png"), with(".svg")]
}

/// The files `rnn train` writes: the model, its checkpoints, history and loss plots (and the
/// gradient-flow plot with `--diagnose`, the forecast plot for `--task forecast`).
pub fn train_paths(args: &TrainArgs) -> Vec<PathBuf> {
    let run = RunPaths::from_model_path(&args.output.out);
    let mut paths = vec![run.model, run.last, run.best, run.history_csv, run.history_jsonl];
    paths.extend(plot_pair(&run.plot_stem, ""));
    if args.training.diagnose {
        paths.extend(plot_pair(&run.plot_stem, ".gradflow"));
    }
    if args.task == Task::Forecast {
        paths.extend(plot_pair(&args.output.out.with_extension(""), ".forecast"));
    }
    paths
}

/// Checks every file `rnn train` will write (see [`train_paths`]).
pub fn check_train(args: &TrainArgs) -> Result<()> {
    if args.output.out.as_os_str() == "-" {
        bail!("-: --out names the model file, with its checkpoints beside it; standard output cannot hold them");
    }
    let paths = train_paths(args);
    check(paths.iter().map(|p| ("--out", p.as_path())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_given_twice_is_refused() {
        let err = check([("--output", Path::new("a.npy")), ("--hn", Path::new("a.npy"))]).unwrap_err();
        assert_eq!(err.to_string(), "a.npy: given as both --output and --hn");
    }

    #[test]
    fn plot_pairs_append_the_suffix() {
        let [png, svg] = plot_pair(Path::new("d/m.loss"), ".gradflow");
        assert_eq!((png.to_str(), svg.to_str()), (Some("d/m.loss.gradflow.png"), Some("d/m.loss.gradflow.svg")));
    }
}
