//! Silent acceptance becomes a clear message: each class of doubtful input gets one line on
//! stderr (a warning, the run going on, or an error and exit status 1). The lines are the
//! README's table "Interruption, resume and bad input".

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array1, Array3};
use rnn::data::npy;

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// What a command printed on stderr, less the note saying how an input was read.
fn stderr(o: &Output) -> String {
    let all = String::from_utf8_lossy(&o.stderr).to_string();
    all.lines().filter(|l| !l.contains(": read as [")).map(|l| format!("{l}\n")).collect()
}

/// `x.npy` = `y.npy` [12, 3, 1].
fn task(dir: &Path) -> (PathBuf, PathBuf) {
    let x = Array3::<f32>::from_shape_fn((12, 3, 1), |(n, t, _)| ((n * 3 + t) as f32).sin());
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    npy::write(&xp, x.view()).unwrap();
    npy::write(&yp, x.view()).unwrap();
    (xp, yp)
}

fn quick_train<'a>(x: &'a Path, y: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec!["train", "--inputs", p(x), "--targets", p(y), "--out", p(out), "--hidden", "2", "--quiet"]
}

#[test]
fn a_bare_state_dict_says_which_activation_was_assumed() {
    let dir = tempfile::tempdir().unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tanh_2l_bare/model.safetensors");
    let x = dir.path().join("x.npy");
    npy::write(&x, Array3::<f32>::zeros((2, 1, 3)).view()).unwrap();
    let y = dir.path().join("y.npy");
    let o = rnn(&["forward", "--model", p(&model), "--input", p(&x), "--output", p(&y)]);
    assert!(o.status.success());
    assert_eq!(
        stderr(&o).trim_end(),
        format!(
            "rnn: warning: {}: the file does not say its activation (no `rnn.config` metadata): assumed tanh; if it is \
             not, give --nonlinearity relu",
            p(&model)
        )
    );
    let o = rnn(&["forward", "--model", p(&model), "--input", p(&x), "--output", p(&y), "--nonlinearity", "relu"]);
    assert!(o.status.success() && stderr(&o).is_empty(), "{}", stderr(&o));
    // a model written by rnn names its activation: no warning
    let own = dir.path().join("m.safetensors");
    assert!(rnn(&["init", "--input-size", "3", "--hidden-size", "2", "--out", p(&own)]).status.success());
    let o = rnn(&["forward", "--model", p(&own), "--input", p(&x), "--output", p(&y)]);
    assert!(o.status.success() && stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn flags_of_another_task_are_named_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = task(dir.path());
    let out = dir.path().join("m.safetensors");
    let mut args = quick_train(&x, &y, &out);
    args.extend(["--epochs", "1", "--sample", "5", "--window", "3"]);
    let o = rnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).lines().collect::<Vec<_>>(),
        [
            "rnn: warning: --window does not apply to --task sequence (only to --task forecast): ignored",
            "rnn: warning: --sample does not apply to --task sequence (only to --task charlm): ignored",
        ]
    );
}

#[test]
fn single_class_labels_are_refused_and_missing_classes_named() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = task(dir.path());
    let out = dir.path().join("c.safetensors");
    let labels = dir.path().join("l.npy");
    let train = |labels: &Path| {
        rnn(&[
            "train",
            "--task",
            "classify",
            "--inputs",
            p(&x),
            "--labels",
            p(labels),
            "--out",
            p(&out),
            "--hidden",
            "2",
            "--epochs",
            "1",
            "--quiet",
        ])
    };
    npy::write(&labels, Array1::<f32>::from_elem(12, 1.0).view()).unwrap();
    let o = train(&labels);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim_end(),
        format!("rnn: {}: all 12 labels are class 1: a classifier needs examples of at least two classes", p(&labels))
    );
    // classes 0, 2 and 3 only: 1 has no example
    npy::write(&labels, Array1::<f32>::from_shape_fn(12, |i| [0.0, 2.0, 3.0][i % 3]).view()).unwrap();
    let o = train(&labels);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim_end(),
        format!(
            "rnn: warning: {}: no example of class 1 (classes run 0..3): the model gets an output for each, never \
             trained to fire",
            p(&labels)
        )
    );
}

#[test]
fn nan_and_infinite_values_are_refused_with_their_index() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = task(dir.path());
    let out = dir.path().join("m.safetensors");
    let mut bad = Array3::<f32>::zeros((12, 3, 1));
    bad[[4, 2, 0]] = f32::NAN;
    let xn = dir.path().join("xnan.npy");
    npy::write(&xn, bad.view()).unwrap();
    let o = rnn(&quick_train(&xn, &y, &out));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim_end(),
        format!("rnn: {}: NaN at index [4, 2, 0]: NaN and infinite values are not accepted", p(&xn))
    );
    bad[[4, 2, 0]] = 0.0;
    bad[[0, 1, 0]] = f32::NEG_INFINITY;
    let yi = dir.path().join("yinf.npy");
    npy::write(&yi, bad.view()).unwrap();
    let o = rnn(&quick_train(&x, &yi, &out));
    assert_eq!(
        stderr(&o).trim_end(),
        format!("rnn: {}: -inf at index [0, 1, 0]: NaN and infinite values are not accepted", p(&yi))
    );
    // rnn forward's input too
    assert!(rnn(&["init", "--input-size", "1", "--hidden-size", "2", "--out", p(&out)]).status.success());
    let o = rnn(&["forward", "--model", p(&out), "--input", p(&xn), "--output", p(&dir.path().join("o.npy"))]);
    assert!(stderr(&o).contains("NaN at index [4, 2, 0]"), "{}", stderr(&o));
}

#[test]
fn resume_with_no_epochs_left_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = task(dir.path());
    let out = dir.path().join("m.safetensors");
    let mut two = quick_train(&x, &y, &out);
    two.extend(["--epochs", "2"]);
    assert!(rnn(&two).status.success());
    let last = dir.path().join("m.last.safetensors");
    let mut fewer = quick_train(&x, &y, &out);
    fewer.extend(["--epochs", "1", "--resume", p(&last)]);
    let o = rnn(&fewer);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim_end(),
        format!(
            "rnn: {}: the checkpoint already did 2 epochs and --epochs is 1: nothing to train; give --epochs above 2 \
             to train further",
            p(&last)
        )
    );
    // as many: the model is written from the checkpoint, and that is said
    std::fs::remove_file(&out).unwrap();
    let mut same = quick_train(&x, &y, &out);
    same.extend(["--epochs", "2", "--resume", p(&last)]);
    let o = rnn(&same);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim_end(),
        format!(
            "rnn: note: {}: the checkpoint already did all 2 epochs: writing its model without training (give \
             --epochs above 2 to train further)",
            p(&last)
        )
    );
    assert!(out.exists());
}

/// `rnn evaluate` given a file of another task's (`--labels` for a sequence model) refuses it,
/// naming it and what the model is evaluated with, instead of ignoring it.
#[test]
fn evaluate_refuses_another_tasks_file() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = task(dir.path());
    let model = dir.path().join("m.safetensors");
    assert!(rnn(&quick_train(&x, &y, &model)).status.success());
    let labels = dir.path().join("labels.npy");
    npy::write_indices(&labels, &[0; 12]).unwrap();
    let o = rnn(&["evaluate", "--model", p(&model), "--inputs", p(&x), "--targets", p(&y), "--labels", p(&labels)]);
    assert_eq!(o.status.code(), Some(1));
    let want = format!(
        "rnn: {}: a sequence model is evaluated with --inputs X.npy --targets Y.npy; --labels does not apply\n",
        p(&model)
    );
    assert_eq!(stderr(&o), want);
}

/// `rnn inspect` names its model as every other command does (`--model M`) or as its argument;
/// both at once is a usage error.
#[test]
fn inspect_takes_the_model_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    assert!(rnn(&["init", "--input-size", "2", "--hidden-size", "3", "--out", p(&model)]).status.success());
    let (flag, arg) = (rnn(&["inspect", "--model", p(&model)]), rnn(&["inspect", p(&model)]));
    assert!(flag.status.success() && arg.status.success(), "{}", String::from_utf8_lossy(&flag.stderr));
    assert_eq!(flag.stdout, arg.stdout);
    assert!(String::from_utf8_lossy(&flag.stdout).contains("hidden_size:   3"));
    assert_eq!(rnn(&["inspect", p(&model), "--model", p(&model)]).status.code(), Some(2));
}
