//! Sequence classification end to end through the binary: the bundled digits reach > 90% test
//! accuracy, `rnn evaluate` agrees with what training reported, and bad input gets one line
//! naming the file and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array, Array1, Array2, Array3, Axis, Dimension};
use ndarray_npy::{WritableElement, WriteNpyExt};
use rand::{Rng, SeedableRng};
use rnn::data::npy;
use rnn::tasks::classify;
use serde_json::Value;

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn write_npy<A: WritableElement, D: Dimension>(path: &Path, a: &Array<A, D>) {
    a.write_npy(std::fs::File::create(path).unwrap()).unwrap();
}

/// `rnn train --task classify` on `inputs` and `labels`, writing `out`, with space-separated `flags`.
fn train(inputs: &Path, labels: &Path, out: &Path, flags: &str) -> Output {
    let mut args = vec!["train", "--task", "classify", "--inputs", p(inputs), "--labels", p(labels), "--out", p(out)];
    args.extend(flags.split_whitespace());
    rnn(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The bundled digits as `x.npy` [1797, 8, 8] and `y.npy` [1797] int64.
fn write_digits(dir: &Path) -> (PathBuf, PathBuf, Array3<f32>, Array1<usize>) {
    let (x, y) = classify::read_digits(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz")).unwrap();
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    npy::write(&xp, x.view()).unwrap();
    write_npy(&yp, &y.mapv(|c| c as i64));
    (xp, yp, x, y)
}

/// Checks the JSON of a score: key order, sums, accuracy = correct / sequences.
fn check_scores(j: &Value, text: &str) -> (f64, f64) {
    assert!(text.starts_with(r#"{"model":{"accuracy":"#), "{text}");
    assert!(text.contains(r#"},"majority":{"accuracy":"#), "{text}");
    let n = j["sequences"].as_u64().unwrap() as usize;
    let confusion: Vec<Vec<usize>> = serde_json::from_value(j["confusion"].clone()).unwrap();
    assert_eq!(confusion.len(), j["classes"].as_u64().unwrap() as usize);
    assert_eq!(confusion.iter().flatten().sum::<usize>(), n, "the confusion matrix sums to the sequences");
    let diag: usize = (0..confusion.len()).map(|c| confusion[c][c]).sum();
    assert_eq!(diag as u64, j["model"]["correct"].as_u64().unwrap());
    let acc = j["model"]["accuracy"].as_f64().unwrap();
    assert!((acc - diag as f64 / n as f64).abs() < 1e-12);
    for (c, class) in j["per_class"].as_array().unwrap().iter().enumerate() {
        assert_eq!(class["support"].as_u64().unwrap() as usize, confusion[c].iter().sum::<usize>());
    }
    (acc, j["majority"]["accuracy"].as_f64().unwrap())
}

#[test]
fn digits_reach_over_90_percent_test_accuracy_and_evaluate_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, xs, ys) = write_digits(dir.path());
    let out = dir.path().join("digits.safetensors");
    let o = train(&x, &y, &out, "--hidden 64 --epochs 30 --lr 0.003 --seed 0 --json");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    // how the inputs were read, then the split
    assert!(err.starts_with(&format!("{}: read as [N 1797, T 8, input_size 8] (batch-first", x.display())), "{err}");
    assert!(
        err.lines().nth(1).unwrap().starts_with("10 classes; 1293 train, 145 validation, 359 test sequences"),
        "{err}"
    );
    assert!(err.contains("confusion (rows: true class, columns: predicted)"), "{err}");
    let stdout = String::from_utf8(o.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    let j: Value = serde_json::from_str(last).unwrap();
    let test = &j["test"];
    let (acc, majority) = check_scores(test, last.strip_prefix(r#"{"test":"#).unwrap());
    println!("digits: test accuracy {:.2}% (majority class {:.2}%)", acc * 100.0, majority * 100.0);
    assert!(acc > 0.90, "test accuracy {acc}");
    assert_eq!(test["sequences"], 359);
    assert!(majority < 0.11, "digits are balanced: {majority}");

    // the same held-out rows, scored by `rnn evaluate`, give the same numbers
    let (_, test_rows) = classify::stratified_split(ys.as_slice().unwrap(), 0.2, 0).unwrap();
    let (xt, yt) = (dir.path().join("x_test.npy"), dir.path().join("y_test.npy"));
    npy::write(&xt, xs.select(Axis(0), &test_rows).view()).unwrap();
    write_npy(&yt, &ys.select(Axis(0), &test_rows).mapv(|c| c as i32));
    let o = rnn(&["evaluate", "--model", p(&out), "--inputs", p(&xt), "--labels", p(&yt), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let e: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(check_scores(&e, &text), (acc, majority));
    assert_eq!(e["confusion"], test["confusion"]);
    // the table
    let o = rnn(&["evaluate", "--model", p(&out), "--inputs", p(&xt), "--labels", p(&yt)]);
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains(&format!("model {:.2}%", acc * 100.0)), "{table}");
    assert!(table.contains("precision"), "{table}");
}

/// An imbalanced 3-class task (60/30/10%): the class sets the mean of the first feature.
fn write_toy(dir: &Path) -> (PathBuf, PathBuf, Array1<usize>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let n = 200;
    let y = Array1::from_shape_fn(n, |i| match i % 10 {
        0..=5 => 0usize,
        6..=8 => 1,
        _ => 2,
    });
    let x = Array3::from_shape_fn((n, 6, 2), |(i, _, f)| {
        let noise = rng.random::<f64>() - 0.5;
        if f == 0 { y[i] as f64 - 1.0 + 0.5 * noise } else { noise }
    });
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    npy::write(&xp, x.view()).unwrap();
    write_npy(&yp, &y.mapv(|c| c as f32));
    (xp, yp, y)
}

#[test]
fn evaluate_reports_against_the_training_majority_with_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, labels) = write_toy(dir.path());
    let out = dir.path().join("m.safetensors");
    let flags = "--test-split 0 --dtype f64 --class-names low,mid,high --hidden 8 --epochs 30 --lr 0.01";
    let o = train(&x, &y, &out, flags);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no test split (--test-split 0)"), "{}", stderr(&o));
    let o = rnn(&["evaluate", "--model", p(&out), "--inputs", p(&x), "--labels", p(&y), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let j: Value = serde_json::from_str(&text).unwrap();
    let (acc, majority) = check_scores(&j, &text);
    assert_eq!(majority, classify::constant_accuracy(labels.as_slice().unwrap(), 0));
    assert!((majority - 0.6).abs() < 1e-12);
    assert_eq!(j["majority"]["class"], 0);
    assert_eq!(j["per_class"][2]["name"], "high");
    assert!(acc > 0.9, "{acc}");
    let o = rnn(&["evaluate", "--model", p(&out), "--inputs", p(&x), "--labels", p(&y)]);
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("majority class low 60.00%") && table.contains("high"), "{table}");
}

/// A failed command: exit 1, one `rnn: ` line that names `file` (and says `what`), no panic.
fn assert_one_line_error(o: &Output, file: &Path, what: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("rnn: ") && !err.contains("panicked"), "{err}");
    assert!(err.contains(p(file)), "{err} does not name {}", file.display());
    assert!(err.contains(what), "{err} does not say {what}");
}

#[test]
fn bad_input_gets_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, y, _) = write_toy(d);
    let out = d.join("m.safetensors");
    let train = |inputs: &Path, labels: &Path| train(inputs, labels, &out, "--epochs 1");
    let bad = |name: &str, write: &dyn Fn(&Path)| {
        let path = d.join(name);
        write(&path);
        path
    };

    let short = bad("short.npy", &|f| write_npy(f, &Array1::<i64>::zeros(150)));
    assert_one_line_error(&train(&x, &short), &short, "150 labels for 200 input sequences");
    let negative =
        bad("negative.npy", &|f| write_npy(f, &Array1::from_shape_fn(200, |i| if i == 7 { -1i64 } else { 0 })));
    assert_one_line_error(&train(&x, &negative), &negative, "label -1 at index 7 is negative");
    let fraction = bad("fraction.npy", &|f| write_npy(f, &Array1::from_shape_fn(200, |i| i as f64 * 0.5)));
    assert_one_line_error(&train(&x, &fraction), &fraction, "label 0.5 at index 1 is not a whole number");
    let rank = bad("rank.npy", &|f| write_npy(f, &Array2::<i64>::zeros((200, 6))));
    assert_one_line_error(&train(&x, &rank), &rank, "expected labels of shape [N]");
    let x2 = bad("x2.npy", &|f| write_npy(f, &Array2::<f32>::zeros((200, 6))));
    assert_one_line_error(&train(&x2, &y), &x2, "expected [N, T, input_size]");
    let bools = bad("bools.npy", &|f| write_npy(f, &Array1::from_elem(200, true)));
    assert_one_line_error(&train(&x, &bools), &bools, "labels must be integers");
    let o = self::train(&x, &y, &out, "--class-names a,b");
    assert_one_line_error(&o, &y, "labels go up to 2 but --class-names names 2 classes");
    let missing = d.join("missing.npy");
    assert_one_line_error(&train(&x, &missing), &missing, "missing.npy");
    assert!(!out.exists(), "a failed run wrote a model");
    let o = rnn(&["train", "--task", "classify", "--inputs", p(&x), "--epochs", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--labels"), "{}", stderr(&o));

    // evaluate: labels the model has no class for, inputs of another width
    let o = train(&x, &y);
    assert!(o.status.success(), "{}", stderr(&o));
    let seven = bad("seven.npy", &|f| write_npy(f, &Array1::from_elem(200, 7u8)));
    let o = rnn(&["evaluate", "--model", p(&out), "--inputs", p(&x), "--labels", p(&seven)]);
    assert_one_line_error(&o, &seven, "label 7 at index 0 is out of range: the model has 3 classes");
    let wide = bad("wide.npy", &|f| write_npy(f, &Array3::<f32>::zeros((200, 6, 5))));
    let o = rnn(&["evaluate", "--model", p(&out), "--inputs", p(&wide), "--labels", p(&y)]);
    assert_one_line_error(&o, &wide, "5 features per step but the model expects 2");
    let o = rnn(&["evaluate", "--model", p(&out), "--inputs", p(&x), "--labels", p(&short)]);
    assert_one_line_error(&o, &short, "150 labels for 200 input sequences");
    let o = rnn(&["evaluate", "--model", p(&out), "--inputs", p(&x)]);
    assert_one_line_error(&o, &out, "--labels");
}
