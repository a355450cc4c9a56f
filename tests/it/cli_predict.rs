//! `rnn predict` (a regression's outputs and a classifier's probabilities and classes, in the
//! training layout [N, T, features], as .npy or CSV) and `rnn forward --batch-first`, checked
//! against `rnn forward` and `rnn evaluate` on the same models.

use std::path::Path;
use std::process::{Command, Output};

use ndarray::{Array1, Array2, Array3, ArrayD, Axis};
use rnn::data::npy;

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> Output {
    let o = rnn(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn read(path: &Path) -> ArrayD<f32> {
    npy::read(path).unwrap().into_float::<f32>()
}

/// 40 sequences of 6 steps and 2 features, their sums (one target per sequence) and a label
/// (whether the first feature's sum is positive).
fn data(dir: &Path) -> (Array3<f32>, Array2<f32>, Array1<i64>) {
    let x = Array3::from_shape_fn((40, 6, 2), |(n, t, i)| (((n * 13 + t * 7 + i * 5) % 11) as f32 - 5.0) / 5.0);
    let y = x.sum_axis(Axis(2)).sum_axis(Axis(1)).insert_axis(Axis(1));
    let labels = x.index_axis(Axis(2), 0).sum_axis(Axis(1)).mapv(|s| i64::from(s > 0.0));
    npy::write(&dir.join("x.npy"), x.view()).unwrap();
    npy::write(&dir.join("y.npy"), y.view()).unwrap();
    ndarray_npy::write_npy(dir.join("labels.npy"), &labels).unwrap();
    (x, y, labels)
}

#[test]
fn a_regression_predicts_what_forward_computes_in_the_training_layout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, _, _) = data(d);
    let model = d.join("m.safetensors");
    let (xs, ys) = (d.join("x.npy"), d.join("y.npy"));
    let train = ["train", "--inputs", p(&xs), "--targets", p(&ys)];
    ok(&[&train[..], &["--epochs", "2", "--hidden", "5", "--quiet", "--out", p(&model)]].concat());

    // trained on one target per sequence: [N, O] by default
    let o = ok(&["predict", "--model", p(&model), "--inputs", p(&xs), "--output", p(&d.join("p.npy"))]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("read as [N 40, T 6, input_size 2]"), "{stderr}");
    let last = read(&d.join("p.npy"));
    assert_eq!(last.shape(), &[40, 1]);

    // every step, against `rnn forward --batch-first` on the same file
    let every = ["predict", "--model", p(&model), "--inputs", p(&xs), "--readout", "every"];
    ok(&[&every[..], &["--output", p(&d.join("pe.npy"))]].concat());
    let pe = read(&d.join("pe.npy"));
    ok(&["forward", "--model", p(&model), "--input", p(&xs), "--output", p(&d.join("f.npy")), "--batch-first"]);
    let f = read(&d.join("f.npy"));
    assert_eq!(pe.shape(), &[40, 6, 1]);
    assert_eq!(pe, f);
    assert_eq!(last, f.index_axis(Axis(1), 5).to_owned().into_dyn());

    // --batch-first is the time-major forward on the transposed input, transposed back
    let xt = x.view().permuted_axes([1, 0, 2]).as_standard_layout().into_owned();
    npy::write(&d.join("xt.npy"), xt.view()).unwrap();
    let o = ok(&["forward", "--model", p(&model), "--input", p(&d.join("xt.npy")), "--output", p(&d.join("ft.npy"))]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("read as [seq_len 6, batch 40, input_size 2]") && stderr.contains("--batch-first"),
        "{stderr}"
    );
    let ft = read(&d.join("ft.npy"));
    assert_eq!(ft.permuted_axes(vec![1, 0, 2]), f);

    // CSV: one row per sequence and step
    let csv = d.join("pe.csv");
    ok(&[&every[..], &["--output", p(&csv)]].concat());
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "sequence,step,output_0");
    assert_eq!(lines.len(), 1 + 40 * 6);
    let v: f32 = lines[1 + 6 + 2].rsplit(',').next().unwrap().parse().unwrap();
    assert_eq!(v, pe[[1, 2, 0]]);

    // a classifier's flag on a regression, wrong features: one line each, nothing written
    let o = rnn(&[&every[..], &["--output", p(&d.join("c.npy")), "--classes", p(&d.join("k.npy"))]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--classes is for a classifier"));
    assert!(!d.join("c.npy").exists() && !d.join("k.npy").exists());
}

#[test]
fn a_classifier_predicts_probabilities_and_classes_that_evaluate_agrees_with() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, _, labels) = data(d);
    let model = d.join("c.safetensors");
    let (xs, ls) = (d.join("x.npy"), d.join("labels.npy"));
    let train = ["train", "--task", "classify", "--inputs", p(&xs), "--labels", p(&ls)];
    ok(&[&train[..], &["--epochs", "3", "--hidden", "6", "--quiet", "--out", p(&model)]].concat());
    let base = ["predict", "--model", p(&model), "--inputs", p(&xs)];
    ok(&[&base[..], &["--output", p(&d.join("prob.npy")), "--classes", p(&d.join("k.npy"))]].concat());
    let prob = read(&d.join("prob.npy"));
    assert_eq!(prob.shape(), &[40, 2]);
    for row in prob.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5 && row.iter().all(|&v| (0.0..=1.0).contains(&v)), "{row}");
    }
    let k: Array1<i64> = ndarray_npy::read_npy(d.join("k.npy")).unwrap();
    let argmax: Vec<i64> = prob.rows().into_iter().map(|r| i64::from(r[1] > r[0])).collect();
    assert_eq!(k.to_vec(), argmax);

    // the accuracy of these classes is the one `rnn evaluate` reports
    let correct = k.iter().zip(&labels).filter(|(a, b)| a == b).count();
    let o = ok(&["evaluate", "--model", p(&model), "--inputs", p(&xs), "--labels", p(&ls), "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let accuracy = j["accuracy"].as_f64().or_else(|| j["model"]["accuracy"].as_f64()).unwrap_or_else(|| panic!("{j}"));
    assert!((accuracy - correct as f64 / 40.0).abs() < 1e-9, "{j} vs {correct}/40");

    // `rnn inspect` shows the task's settings readably, not as a JSON blob
    let o = ok(&["inspect", p(&model)]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("task: classify (rnn train --task classify)"), "{text}");
    assert!(text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["num_classes:", "2"]), "{text}");
    assert!(!text.contains("{\"kind\""), "{text}");

    // CSV: the predicted class first, then a probability per class
    ok(&[&base[..], &["--output", p(&d.join("prob.csv"))]].concat());
    let text = std::fs::read_to_string(d.join("prob.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "predicted,p_0,p_1");
    assert_eq!(lines.len(), 41);
    assert!(lines[1].starts_with(&format!("{},", k[0])), "{}", lines[1]);
}
