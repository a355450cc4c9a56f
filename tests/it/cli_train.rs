//! `rnn train` end to end: the files it writes, its output modes, resume, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array2, Array3, s};
use rand::{Rng, SeedableRng};
use rnn::data::npy;

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A delayed-echo task written as `x.npy` [N, T, 1], `y.npy` [N, T, 1] and `ylast.npy` [N, 1].
fn write_task(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let x = Array3::<f32>::from_shape_simple_fn((60, 12, 1), || rng.random::<f32>() * 2.0 - 1.0);
    let mut y = Array3::<f32>::zeros((60, 12, 1));
    y.slice_mut(s![.., 2.., ..]).assign(&x.slice(s![.., ..10, ..]));
    let last: Array2<f32> = y.slice(s![.., 11, ..]).to_owned();
    let paths = (dir.join("x.npy"), dir.join("y.npy"), dir.join("ylast.npy"));
    npy::write(&paths.0, x.view()).unwrap();
    npy::write(&paths.1, y.view()).unwrap();
    npy::write(&paths.2, last.view()).unwrap();
    paths
}

#[test]
fn train_writes_a_model_that_forward_runs_and_all_run_files() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, _) = write_task(dir.path());
    let out = dir.path().join("m.safetensors");
    let o = rnn(&["train", "--inputs", p(&x), "--targets", p(&y), "--epochs", "3", "--hidden", "8", "--out", p(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8(o.stderr).unwrap();
    let stdout = String::from_utf8(o.stdout).unwrap();
    // not a terminal: plain lines, no control characters
    assert!(!stderr.chars().any(|c| c.is_control() && c != '\n'), "{stderr:?}");
    let first = stderr.lines().find(|l| !l.contains(": read as [")).unwrap();
    assert!(first.starts_with("training on 54 sequences (+6 for validation) of 12 steps"), "{first}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("epoch ")).count(), 3);
    for f in
        ["m.last.safetensors", "m.best.safetensors", "m.history.csv", "m.history.jsonl", "m.loss.png", "m.loss.svg"]
    {
        assert!(dir.path().join(f).exists(), "{f} missing");
        // the run's summary is a result: on stdout
        assert!(stdout.contains(f), "{f} not printed");
    }
    // the loss plot names the loss and marks the epoch whose weights were kept
    let history = std::fs::read_to_string(dir.path().join("m.history.csv")).unwrap();
    let best = history.lines().skip(1).filter(|l| l.split(',').nth(9) == Some("true")).last().unwrap();
    let svg = std::fs::read_to_string(dir.path().join("m.loss.svg")).unwrap();
    assert!(svg.contains("MSE loss (mean squared error)"), "{svg}");
    assert!(svg.contains(&format!("best: epoch {}", best.split(',').next().unwrap())), "{history}\n{svg}");
    let y_out = dir.path().join("y_out.npy");
    let o = rnn(&["forward", "--model", p(&out), "--input", p(&x), "--output", p(&y_out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(npy::read(&y_out).unwrap().shape(), &[60, 12, 1]);
}

#[test]
fn json_and_quiet_modes() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _, ylast) = write_task(dir.path());
    let out = dir.path().join("m.safetensors");
    let o =
        rnn(&["train", "--inputs", p(&x), "--targets", p(&ylast), "--epochs", "2", "--out", p(&out), "--json", "-q"]);
    assert!(o.status.success());
    assert!(o.stderr.is_empty(), "--quiet printed {:?}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["epoch"], 2);
    assert!(lines[0]["train_loss"].as_f64().unwrap() > 0.0 && lines[0]["val_loss"].is_number());
    // a many-to-one model: [N, O] targets
    let y_out = dir.path().join("y_out.npy");
    assert!(rnn(&["forward", "--model", p(&out), "--input", p(&x), "--output", p(&y_out)]).status.success());
}

#[test]
fn resume_continues_to_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, _) = write_task(dir.path());
    let common = ["--inputs", p(&x), "--targets", p(&y), "--hidden", "6", "--layers", "2", "--dropout", "0.1", "-q"];
    let a = dir.path().join("a.safetensors");
    let b = dir.path().join("b.safetensors");
    let run = |extra: &[&str]| {
        let o = rnn(&[&["train"], &common[..], extra].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["--epochs", "4", "--out", p(&a)]);
    run(&["--epochs", "2", "--out", p(&b)]);
    run(&["--epochs", "4", "--out", p(&b), "--resume", p(&dir.path().join("b.last.safetensors"))]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let history = std::fs::read_to_string(dir.path().join("b.history.csv")).unwrap();
    assert_eq!(history.lines().count(), 5);
    // a flag typed that would shape another model is refused, not ignored
    let last = dir.path().join("b.last.safetensors");
    let c = dir.path().join("c.safetensors");
    let args = ["train", "--inputs", p(&x), "--targets", p(&y), "--hidden", "8", "--residual", "--epochs", "6"];
    let o = rnn(&[&args[..], &["--out", p(&c), "--resume", p(&last)]].concat());
    assert_eq!(o.status.code(), Some(1));
    let want = format!(
        "rnn: {}: --hidden 8 (the checkpoint's: 6), --residual (not so in the checkpoint): a checkpoint resumes its own \
         model; drop the flag, or train a new model without --resume\n",
        p(&last)
    );
    assert_eq!(String::from_utf8_lossy(&o.stderr), want);
    assert!(!c.exists());
}

fn fails(args: &[&str], needle: &str) {
    let o = rnn(args);
    assert!(!o.status.success(), "{args:?} succeeded");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().filter(|l| !l.contains(": read as [")).count(), 1, "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"));
}

#[test]
fn bad_training_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, _) = write_task(dir.path());
    let out = dir.path().join("m.safetensors");
    let short = dir.path().join("short.npy");
    npy::write(&short, Array3::<f32>::zeros((5, 12, 1)).view()).unwrap();
    fails(&["train", "--inputs", p(&x), "--targets", p(&short), "--out", p(&out)], "short.npy: 5 target rows for 60");
    let nan = dir.path().join("nan.npy");
    let mut v = Array3::<f32>::zeros((60, 12, 1));
    v[[3, 4, 0]] = f32::NAN;
    npy::write(&nan, v.view()).unwrap();
    fails(
        &["train", "--inputs", p(&nan), "--targets", p(&y), "--out", p(&out)],
        "nan.npy: NaN at index [3, 4, 0]: NaN and infinite values are not accepted",
    );
    fails(&["train", "--inputs", p(&x), "--targets", p(&y), "--momentum", "0.9"], "--momentum applies to sgd");
    fails(&["train", "--inputs", p(&x), "--targets", p(&y), "--lr=-1"], "lr must be positive");
    fails(&["train", "--inputs", p(&x), "--targets", p(&y), "--schedule", "wavy"], "unknown schedule `wavy`");
    fails(&["train", "--inputs", p(&x), "--targets", p(&y), "--resume", p(&x)], "x.npy");
    assert!(!out.exists());
}

/// A mask may be bool (NumPy's `y != 0`), integers or floats: the same 0/1 trains the same
/// weights; one of the wrong shape is named as the mask's error.
#[test]
fn a_bool_or_integer_mask_trains_as_the_float_one() {
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let (x, y, _) = write_task(dir.path());
    // the first two steps hold no echo yet
    let keep = Array2::from_shape_fn((60, 12), |(_, t)| t >= 2);
    let masks = [dir.path().join("mf.npy"), dir.path().join("mb.npy"), dir.path().join("mi.npy")];
    npy::write(&masks[0], keep.mapv(|k| if k { 1.0f32 } else { 0.0 }).view()).unwrap();
    keep.write_npy(std::fs::File::create(&masks[1]).unwrap()).unwrap();
    keep.mapv(i64::from).write_npy(std::fs::File::create(&masks[2]).unwrap()).unwrap();
    let mut weights = Vec::new();
    for (k, mask) in masks.iter().enumerate() {
        let out = dir.path().join(format!("m{k}.safetensors"));
        let args = ["train", "--inputs", p(&x), "--targets", p(&y), "--mask", p(mask), "--epochs", "2"];
        let o = rnn(&[&args[..], &["--hidden", "4", "--quiet", "--out", p(&out)]].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        weights.push(rnn::model_file::load::<f32>(&out, &Default::default()).unwrap().model);
    }
    assert!(weights[0] == weights[1] && weights[0] == weights[2]);
    let short = dir.path().join("short.npy");
    npy::write(&short, Array2::<f32>::ones((60, 11)).view()).unwrap();
    let o = rnn(&[
        "train",
        "--inputs",
        p(&x),
        "--targets",
        p(&y),
        "--mask",
        p(&short),
        "--out",
        p(&dir.path().join("s.safetensors")),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains(&format!("{}: expected a mask of shape [60, 12]", p(&short))), "{stderr}");
}
