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

/// Where a model in another format comes from, for [`check_model_name`]'s message.
const MODEL_HINT: &str = "`rnn export` writes ONNX or a PyTorch state_dict from it";

/// Refuses a file name whose extension names another format than the one written (`--out
/// m.onnx` for a safetensors model, `--output y.csv` for a `.npy` array): the bytes would not
/// be what the name promises, and the next program to open the file would fail on them. A name
/// without an extension passes (`-`, `/dev/stdout`, `model`), as does any case of an allowed
/// extension. `formats` lists the allowed extensions, the first being the one suggested;
/// `what` says what is written and `hint` (may be empty) where the other format comes from.
pub fn check_format(flag: &str, path: &Path, formats: &[&str], what: &str, hint: &str) -> Result<()> {
    let Some(ext) = path.extension() else { return Ok(()) };
    if formats.iter().any(|f| ext.eq_ignore_ascii_case(f)) {
        return Ok(());
    }
    let names = formats.iter().map(|f| format!(".{f}")).collect::<Vec<_>>().join(" or ");
    let hint = if hint.is_empty() { String::new() } else { format!(" ({hint})") };
    bail!(
        "{}: {flag} is written as {what}, not .{}: give it a name ending in {names}{hint}",
        path.display(),
        ext.to_string_lossy()
    )
}

/// [`check_format`] for a model file written by `flag` (`--out m.safetensors`).
pub fn check_model_name(flag: &str, path: &Path) -> Result<()> {
    check_format(flag, path, &["safetensors"], "a safetensors model file", MODEL_HINT)
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
    check_model_name("--out", &args.output.out)?;
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
    fn a_name_of_another_format_is_refused() {
        let npy = |p: &str| check_format("--output", Path::new(p), &["npy"], "a .npy array", "");
        assert!(npy("y.npy").is_ok() && npy("Y.NPY").is_ok() && npy("y").is_ok() && npy("-").is_ok());
        assert!(npy("/dev/stdout").is_ok() && npy("d.v2/y").is_ok());
        assert_eq!(
            npy("y.csv").unwrap_err().to_string(),
            "y.csv: --output is written as a .npy array, not .csv: give it a name ending in .npy"
        );
        let err =
            check_format("--out", Path::new("m.onnx"), &["safetensors"], "a model file", "rnn export writes ONNX");
        assert_eq!(
            err.unwrap_err().to_string(),
            "m.onnx: --out is written as a model file, not .onnx: give it a name ending in .safetensors (rnn export writes ONNX)"
        );
        let both = check_format("--output", Path::new("p.txt"), &["npy", "csv"], "a .npy array or CSV", "");
        assert!(both.unwrap_err().to_string().ends_with("ending in .npy or .csv"));
    }

    #[test]
    fn plot_pairs_append_the_suffix() {
        let [png, svg] = plot_pair(Path::new("d/m.loss"), ".gradflow");
        assert_eq!((png.to_str(), svg.to_str()), (Some("d/m.loss.gradflow.png"), Some("d/m.loss.gradflow.svg")));
    }
}
