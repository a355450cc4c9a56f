//! `rnn experiment` through the binary: JSON lines with each model's cell and test MSE, the
//! plots written; a bad model name or an unwritable plot folder is one clean error line before
//! any training.

use std::ffi::OsStr;
use std::process::{Command, Output};

fn rnn(args: &[&dyn AsRef<OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args.iter().map(|a| a.as_ref())).output().expect("the rnn binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn json_has_every_models_cell_and_test_mse_and_the_plots_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("adding");
    let out = rnn(&[
        &"experiment",
        &"adding",
        &"--length",
        &"10",
        &"--steps",
        &"20",
        &"--cells",
        &"rnn,lstm",
        &"--json",
        &"--hidden",
        &"16",
        &"--threads",
        &"1",
        &"--plot",
        &stem,
    ]);
    assert!(out.status.success(), "rnn failed: {}", stderr(&out));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "one object per model");
    for (j, cell) in lines.iter().zip(["rnn", "lstm"]) {
        assert_eq!(j["cell"], cell);
        let mse = j["test_mse"].as_f64().expect("a test MSE");
        assert!(mse.is_finite() && mse > 0.0, "{mse}");
        assert_eq!(j["steps"], 20);
        assert_eq!(j["hyper"]["hidden_size"], 16);
        assert!(j["parameters"].as_u64().unwrap() > 0 && j["seconds"].as_f64().unwrap() > 0.0);
        assert_eq!(j["curve"].as_array().unwrap().last().unwrap()["step"], 20);
        assert!((j["baseline"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-12);
    }
    for suffix in ["curves.png", "curves.svg", "lag.png", "lag.svg"] {
        assert!(dir.path().join(format!("adding.{suffix}")).is_file(), "{suffix} written");
    }
}

#[test]
fn a_table_by_default() {
    let out = rnn(&[
        &"experiment",
        &"copy",
        &"--length",
        &"5",
        &"--steps",
        &"3",
        &"--cells",
        &"gru",
        &"--hidden",
        &"8",
        &"--threads",
        &"1",
        &"--no-plot",
    ]);
    assert!(out.status.success(), "rnn failed: {}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].contains("test loss") && lines[0].contains("accuracy"), "{table}");
    assert!(lines[1].starts_with("gru "), "{table}");
}

#[test]
fn a_bad_model_name_is_one_error_line() {
    let out = rnn(&[&"experiment", &"adding", &"--cells", &"rnn,lstm:forgetbias", &"--no-plot"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("rnn: --cells: ") && err.contains("`lstm:forgetbias`"), "{err}");
}

#[test]
fn a_missing_plot_folder_fails_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("missing").join("plots");
    let started = std::time::Instant::now();
    // a budget that would take long: the check must come first
    let out = rnn(&[&"experiment", &"adding", &"--steps", &"100000", &"--cells", &"lstm", &"--plot", &stem]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("missing") && err.contains("does not exist"), "{err}");
    assert!(started.elapsed().as_secs() < 20, "no training happened");
}

#[test]
fn flags_of_other_tasks_are_refused() {
    for args in [
        &["experiment", "adding", "--permuted", "--no-plot"][..],
        &["experiment", "pixel-digits", "--length", "10", "--no-plot"],
        &["experiment", "copy", "--task", "adding", "--no-plot"],
        &["experiment", "adding", "--steps", "0", "--no-plot"],
    ] {
        let args: Vec<&dyn AsRef<OsStr>> = args.iter().map(|a| a as &dyn AsRef<OsStr>).collect();
        let out = rnn(&args);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.starts_with("rnn: --") && err.lines().count() == 1, "{err}");
    }
}
