//! `rnn diagnose` through the binary: the JSON holds, per layer and direction, the gradient's
//! norm against every lag the data reaches; several models compare in one run; the plots are
//! written; a missing plot folder is one clean error before any work.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use ndarray::Array3;
use rnn::data::npy;

fn rnn(args: &[&dyn AsRef<OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args.iter().map(|a| a.as_ref())).output().expect("the rnn binary runs")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "rnn failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn init(dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut args: Vec<&dyn AsRef<OsStr>> =
        vec![&"init", &"--input-size", &"2", &"--hidden-size", &"6", &"--output-size", &"1", &"--out", &path];
    args.extend(extra.iter().map(|a| a as &dyn AsRef<OsStr>));
    ok(&rnn(&args));
    path
}

#[test]
fn json_has_the_gradient_norm_by_lag_of_every_layer_and_direction() {
    let dir = tempfile::tempdir().unwrap();
    let elman = init(dir.path(), "elman.safetensors", &["--num-layers", "2"]);
    let lstm = init(dir.path(), "lstm.safetensors", &["--cell", "lstm", "--bidirectional"]);
    let (x, y) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    npy::write(
        &x,
        Array3::<f32>::from_shape_fn((5, 20, 2), |(n, t, i)| ((n * 7 + t * 3 + i) as f32 * 0.3).sin()).view(),
    )
    .unwrap();
    npy::write(&y, Array3::<f32>::from_shape_fn((5, 20, 1), |(n, t, _)| ((n + t) as f32 * 0.2).cos()).view()).unwrap();
    let stem = dir.path().join("plots").join("both");
    std::fs::create_dir(dir.path().join("plots")).unwrap();
    let out = ok(&rnn(&[
        &"diagnose",
        &"--model",
        &elman,
        &"--model",
        &lstm,
        &"--inputs",
        &x,
        &"--targets",
        &y,
        &"--json",
        &"--plot",
        &stem,
    ]));
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "one object per model");
    for (j, (layers, dirs, lstm)) in lines.iter().zip([(2, 1, false), (1, 2, true)]) {
        let reports = j["layers"].as_array().unwrap();
        assert_eq!(reports.len(), layers * dirs);
        for r in reports {
            let by_lag = r["grad_norm_by_lag"].as_array().unwrap();
            // 4 end points: a unidirectional model's are steps 19..16, so every one reaches
            // lags 0..=16; a bidirectional one's 19, 18 (forwards: lags 0..=18) and 1, 0 (the
            // reverse direction: 0..=18)
            let want = if lstm { 19 } else { 17 };
            assert_eq!(by_lag.len(), want, "{r}");
            assert!(by_lag.iter().all(|v| v.as_f64().is_some_and(|v| v.is_finite() && v >= 0.0)));
            assert!(by_lag[0].as_f64().unwrap() > 0.0);
            assert_eq!(r.get("cell_grad_norm_by_lag").is_some(), lstm);
            assert_eq!(r["grad_norm_by_time"].as_array().unwrap().len(), 20);
        }
        assert_eq!(j["batch"], 5);
    }
    for suffix in ["both.lag.png", "both.lag.svg", "both.time.png", "both.time.svg"] {
        assert!(dir.path().join("plots").join(suffix).is_file(), "{suffix}");
    }
}

#[test]
fn a_missing_plot_folder_is_reported_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let model = init(dir.path(), "m.safetensors", &[]);
    let missing = dir.path().join("nowhere").join("p");
    let out = rnn(&[
        &"diagnose",
        &"--model",
        &model,
        &"--inputs",
        &"absent.npy",
        &"--targets",
        &"absent.npy",
        &"--plot",
        &missing,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nowhere") && stderr.lines().count() == 1, "{stderr}");
}

#[test]
fn train_with_diagnose_records_the_gradient_flow_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y, out) = (dir.path().join("x.npy"), dir.path().join("y.npy"), dir.path().join("m.safetensors"));
    npy::write(
        &x,
        Array3::<f32>::from_shape_fn((20, 12, 2), |(n, t, i)| ((n * 5 + t * 3 + i) as f32 * 0.3).sin()).view(),
    )
    .unwrap();
    npy::write(&y, Array3::<f32>::from_shape_fn((20, 12, 1), |(n, t, _)| ((n + t) as f32 * 0.2).cos()).view()).unwrap();
    ok(&rnn(&[
        &"train",
        &"--inputs",
        &x,
        &"--targets",
        &y,
        &"--hidden",
        &"5",
        &"--layers",
        &"2",
        &"--epochs",
        &"3",
        &"--diagnose",
        &"--out",
        &out,
    ]));
    let csv = std::fs::read_to_string(dir.path().join("m.history.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for column in ["grad_lag_first_l0", "grad_lag_last_l0", "grad_lag_first_l1", "grad_lag_last_l1"] {
        assert!(header.split(',').any(|c| c == column), "{header}");
    }
    let jsonl = std::fs::read_to_string(dir.path().join("m.history.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 3);
    for r in &records {
        let layers = r["grad_flow"]["grad_norm_by_lag"].as_array().unwrap();
        assert_eq!(layers.len(), 2, "{r}");
        // [name, norms by lag]: end points 11..8 all reach lags 0..=8
        assert_eq!(layers[0][1].as_array().unwrap().len(), 9, "{r}");
    }
    assert!(dir.path().join("m.loss.gradflow.png").is_file());
}
