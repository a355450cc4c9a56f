//! Nothing lost: every output path is checked before any work (one line naming it, exit status
//! 1), devices are written in place and never replaced, write errors are reported, symbolic
//! links keep pointing at the file they name.

use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::Array3;
use rnn::data::npy;

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The one line a failed command printed (asserting it failed with status 1).
fn error_line(o: &Output) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> =
        stderr.lines().filter(|l| !l.starts_with("rnn: warning:") && !l.contains(": read as [")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0].to_string()
}

/// A model `m.safetensors` and an input `x.npy` [5, 2, 1].
fn model_and_input(dir: &Path) -> (PathBuf, PathBuf) {
    let model = dir.join("m.safetensors");
    let o = rnn(&["init", "--input-size", "1", "--hidden-size", "3", "--output-size", "1", "--out", p(&model)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let x = dir.join("x.npy");
    npy::write(&x, Array3::<f32>::from_elem((5, 2, 1), 0.5).view()).unwrap();
    (model, x)
}

#[test]
fn a_missing_output_folder_fails_first_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (model, x) = model_and_input(dir.path());
    let gone = dir.path().join("gone");
    let target = |name: &str| gone.join(name).to_str().unwrap().to_string();
    let folder_line = |path: &str| format!("rnn: {path}: cannot write: folder {} does not exist", p(&gone));
    // inputs that do not exist either: the output is checked before anything is read
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![
                "train".into(),
                "--inputs".into(),
                "no.npy".into(),
                "--targets".into(),
                "no.npy".into(),
                "--out".into(),
                target("m.safetensors"),
            ],
            target("m.safetensors"),
        ),
        (
            vec![
                "train".into(),
                "--task".into(),
                "charlm".into(),
                "--data".into(),
                "no.txt".into(),
                "--out".into(),
                target("m.safetensors"),
            ],
            target("m.safetensors"),
        ),
        (
            ["init", "--input-size", "1", "--hidden-size", "2", "--out"]
                .map(String::from)
                .into_iter()
                .chain([target("i.safetensors")])
                .collect(),
            target("i.safetensors"),
        ),
        (
            ["forward", "--model", "no.safetensors", "--input", "no.npy", "--output"]
                .map(String::from)
                .into_iter()
                .chain([target("y.npy")])
                .collect(),
            target("y.npy"),
        ),
        (
            vec![
                "forward".into(),
                "--model".into(),
                p(&model).into(),
                "--input".into(),
                p(&x).into(),
                "--output".into(),
                "/dev/null".into(),
                "--hn".into(),
                target("hn.npy"),
            ],
            target("hn.npy"),
        ),
        (
            ["forecast", "--model", "no.safetensors", "--data", "no.csv", "--output"]
                .map(String::from)
                .into_iter()
                .chain([target("f.csv")])
                .collect(),
            target("f.csv"),
        ),
        (
            ["diagnose", "--model", "no.safetensors", "--plot"]
                .map(String::from)
                .into_iter()
                .chain([target("d")])
                .collect(),
            target("d.lag.png"),
        ),
        (
            ["experiment", "adding", "--plot"].map(String::from).into_iter().chain([target("e")]).collect(),
            target("e.curves.png"),
        ),
    ];
    for (args, path) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(error_line(&rnn(&args)), folder_line(&path), "{args:?}");
    }
    assert!(!gone.exists());
}

#[test]
fn a_folder_given_as_an_output_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (model, x) = model_and_input(dir.path());
    let d = p(dir.path());
    let line = format!("rnn: {d}: is a directory, expected a file path to write");
    assert_eq!(error_line(&rnn(&["forward", "--model", p(&model), "--input", p(&x), "--output", d])), line);
    assert_eq!(error_line(&rnn(&["init", "--input-size", "1", "--hidden-size", "2", "--out", d])), line);
    assert_eq!(error_line(&rnn(&["train", "--inputs", p(&x), "--targets", p(&x), "--out", d])), line);
    assert_eq!(
        error_line(&rnn(&["train", "--inputs", p(&x), "--targets", p(&x), "--out", "-"])),
        "rnn: -: --out names the model file, with its checkpoints beside it; standard output cannot hold them"
    );
}

#[test]
fn dev_full_is_an_error_and_dev_null_stays_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let (model, x) = model_and_input(dir.path());
    let forward = |out: &str| rnn(&["forward", "--model", p(&model), "--input", p(&x), "--output", out]);
    if Path::new("/dev/full").exists() {
        let line = error_line(&forward("/dev/full"));
        assert!(line.starts_with("rnn: /dev/full: No space left on device"), "{line}");
        assert!(std::fs::metadata("/dev/full").unwrap().file_type().is_char_device());
    }
    if Path::new("/dev/null").exists() {
        let o = forward("/dev/null");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }
}

#[test]
fn dash_writes_the_npy_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let (model, x) = model_and_input(dir.path());
    let o = rnn(&["forward", "--model", p(&model), "--input", p(&x), "--output", "-"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let y = npy::parse(&o.stdout).unwrap();
    assert_eq!(y.shape(), &[5, 2, 1]);
    assert!(!dir.path().join("-").exists());
}

#[test]
fn a_symlinked_output_replaces_its_target_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let (model, x) = model_and_input(dir.path());
    let (target, link) = (dir.path().join("real.npy"), dir.path().join("link.npy"));
    std::fs::write(&target, b"old").unwrap();
    symlink(&target, &link).unwrap();
    let o = rnn(&["forward", "--model", p(&model), "--input", p(&x), "--output", p(&link)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(npy::read(&target).unwrap().shape(), &[5, 2, 1]);
}

#[test]
fn a_name_of_another_format_fails_first_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (model, x) = model_and_input(dir.path());
    let d = p(dir.path());
    // each command line ({m} the model, {x} the input, {d} the folder), the path refused, what it says
    let cases = [
        (
            "init --input-size 1 --hidden-size 2 --out {d}/m.onnx",
            "m.onnx",
            "--out is written as a safetensors model file, not .onnx",
        ),
        (
            "train --inputs {x} --targets {x} --out {d}/t.pt",
            "t.pt",
            "--out is written as a safetensors model file, not .pt",
        ),
        (
            "export --model {m} --format onnx --output {d}/e.safetensors",
            "e.safetensors",
            "--output is written as an ONNX graph, not .safetensors",
        ),
        (
            "export --model {m} --format pytorch --output {d}/e.pt",
            "e.pt",
            "--output is written as a safetensors state_dict, not .pt",
        ),
        (
            "forward --model {m} --input {x} --output {d}/y.csv",
            "y.csv",
            "--output is written as a .npy array, not .csv",
        ),
        (
            "forward --model {m} --input {x} --output {d}/y.npy --hn {d}/h.txt",
            "h.txt",
            "--hn is written as a .npy array, not .txt",
        ),
        (
            "predict --model {m} --inputs {x} --output {d}/p.json",
            "p.json",
            "--output is written as a .npy array or CSV, not .json",
        ),
    ];
    for (line, name, says) in cases {
        let line = line.replace("{m}", p(&model)).replace("{x}", p(&x)).replace("{d}", d);
        let o = rnn(&line.split(' ').collect::<Vec<_>>());
        let path = format!("{d}/{name}");
        let error = error_line(&o);
        assert!(error.starts_with(&format!("rnn: {path}: {says}: give it a name ending in .")), "{error}");
        assert!(!Path::new(&path).exists(), "{path} was written");
    }
    // the listing: nothing but the model and the input
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
