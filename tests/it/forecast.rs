//! Forecasting end to end on the bundled real series (`data/`): the trained forecaster beats
//! persistence on the test split, the metrics' formulas, the long format, `rnn forecast`'s CSV,
//! `rnn evaluate --json`, `rnn demo`, and one clear line for every kind of bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rnn::tasks::forecast::metrics::{self, scores};
use rnn::tasks::forecast::{Plan, Settings, table};

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(name)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Trains with the defaults (plus `extra`) but one network per transformation (the ensemble
/// has its own tests, in `forecast_checks.rs`), then returns `rnn evaluate --json`'s object.
fn train_and_evaluate(csv: &Path, dir: &Path, extra: &[&str]) -> serde_json::Value {
    train_and_evaluate_with_log(csv, dir, extra).0
}

/// [`train_and_evaluate`] and the training's stderr.
fn train_and_evaluate_with_log(csv: &Path, dir: &Path, extra: &[&str]) -> (serde_json::Value, String) {
    let model = dir.join("m.safetensors");
    let mut args =
        vec!["train", "--task", "forecast", "--data", p(csv), "--layers", "2", "--ensemble", "1", "--out", p(&model)];
    args.extend_from_slice(extra);
    let o = rnn(&args);
    ok(&o);
    // the choices are progress (stderr), the test-split table a result (stdout)
    let (stderr, stdout) = (String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout));
    assert!(stderr.contains("<- kept") || stderr.contains("(asked for)"), "{stderr}");
    assert!(stdout.contains("seasonal naive") && !stderr.contains("sMAPE %"), "{stdout}");
    assert!(dir.join("m.forecast.png").exists() && dir.join("m.forecast.svg").exists());
    let out = ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(csv), "--json"]));
    assert_eq!(out.lines().count(), 1, "{out}");
    (serde_json::from_str(&out).unwrap(), stderr.into_owned())
}

fn beats_persistence(ev: &serde_json::Value) {
    for key in ["model", "persistence", "seasonal_naive"] {
        for m in ["rmse", "mae", "smape", "mase"] {
            assert!(ev[key][m].as_f64().is_some_and(f64::is_finite), "{key}.{m} in {ev}");
        }
    }
    // the statistical baselines and the intervals' test coverage are reported
    assert!(ev["auto_ets"]["rmse"].as_f64().is_some_and(f64::is_finite), "{ev}");
    assert!(ev["theta"]["rmse"].as_f64().is_some_and(f64::is_finite), "{ev}");
    let coverage = &ev["coverage"]["empirical"];
    assert!(coverage[0].as_f64() <= coverage[1].as_f64() && coverage[1].as_f64().is_some_and(|c| c > 50.0), "{ev}");
    let (m, base) = (&ev["model"], &ev["persistence"]);
    for metric in ["rmse", "mase"] {
        let (a, b) = (m[metric].as_f64().unwrap(), base[metric].as_f64().unwrap());
        assert!(a < 0.8 * b, "{metric}: model {a} vs persistence {b}");
    }
}

#[test]
fn beats_persistence_on_yearly_sunspots() {
    let dir = tempfile::tempdir().unwrap();
    let csv = data("sunspots_yearly.csv");
    let ev = train_and_evaluate(&csv, dir.path(), &[]);
    beats_persistence(&ev);
    assert_eq!(ev["season"], 11);
    // beyond the horizon the forecast is recursive; the dates go on yearly
    let model = dir.path().join("m.safetensors");
    let args = ["forecast", "--model", p(&model), "--data", p(&csv), "--steps", "15"];
    let o = rnn(&args);
    let out = ok(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 16);
    assert_eq!(lines[0], "date,value,value_lo80,value_hi80,value_lo95,value_hi95");
    assert!(lines[1].starts_with("2009,") && lines[15].starts_with("2023,"), "{out}");
    assert!(lines[1..].iter().all(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap().is_finite()));
    // the final refit on all 309 rows, by default, said on stderr; seeded, so the same twice
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("weights: refitted on all 309 rows"), "{stderr}");
    assert_eq!(ok(&rnn(&args)), out);
    // --no-refit: the saved weights (trained on the training split), another forecast
    let o = rnn(&[&args[..], &["--no-refit"]].concat());
    let saved = ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("weights: as saved"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(saved.lines().count(), 16);
    assert_ne!(saved.lines().nth(1), lines.get(1).copied(), "the refit changed nothing");
    // evaluate --refit: the networks trained again on training + validation (263 of 309 rows)
    // before the test split is scored; the same origins, other forecasts, the same intervals' widths
    let o = rnn(&["evaluate", "--model", p(&model), "--data", p(&csv), "--json", "--refit"]);
    let refitted: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("on the 263 training + validation rows"), "{stderr}");
    assert_eq!((&refitted["refitted"], &refitted["origins"]), (&serde_json::json!(true), &ev["origins"]));
    assert!(ev.get("refitted").is_none(), "{ev}");
    assert_ne!(refitted["model"]["rmse"], ev["model"]["rmse"]);
    assert!(refitted["model"]["rmse"].as_f64() < ev["persistence"]["rmse"].as_f64(), "{refitted}");
    assert_eq!(refitted["coverage"]["calibration"], ev["coverage"]["calibration"]);
}

#[test]
fn beats_persistence_and_seasonal_naive_on_airline_passengers() {
    let dir = tempfile::tempdir().unwrap();
    let (ev, log) = train_and_evaluate_with_log(&data("airline_passengers.csv"), dir.path(), &[]);
    beats_persistence(&ev);
    assert!(ev["model"]["rmse"].as_f64() < ev["seasonal_naive"]["rmse"].as_f64(), "{ev}");
    assert_eq!(ev["season"], 12);
    // a positive seasonal series: all four members of the combination are scored on validation,
    // the worst is dropped and the other three share equally
    let line = log.lines().find(|l| l.starts_with("combination: ")).expect("a combination line");
    for member in ["networks ", "MSTL(12)+AutoETS ", "MSTL(12)+AutoETS on ln y ", "Holt-Winters(12) "] {
        assert!(line.contains(member), "{member} in {line}");
    }
    assert_eq!(line.matches("(dropped: the worst)").count(), 1, "{line}");
    assert_eq!(line.split(" (validation").next().unwrap().matches(" 0.33").count(), 3, "{line}");
}

#[test]
fn multi_step_reports_every_step_and_plots_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let csv = data("nottem.csv");
    let args = ["--horizon", "3", "--transform", "seasonal", "--epochs", "20"];
    let ev = train_and_evaluate(&csv, dir.path(), &args);
    assert_eq!(ev["per_step"].as_array().unwrap().len(), 3);
    assert!(dir.path().join("m.forecast.step3.png").exists());
    let model = dir.path().join("m.safetensors");
    let table = ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(&csv), "--season", "6"]));
    assert!(table.contains("m = 6") && table.contains("step"), "{table}");
    // the report says what its "model" row is
    assert!(table.contains("\nmodel: one network"), "{table}");
    let out = ok(&rnn(&["forecast", "--model", p(&model), "--data", p(&csv)]));
    assert_eq!(out.lines().count(), 4, "{out}"); // the header and the horizon
    assert!(out.starts_with("date,value,value_lo80,value_hi80,value_lo95,value_hi95\n"), "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("1940-01,"), "{out}");
}

#[test]
fn the_smoothed_hybrid_learns_what_smoothing_leaves_and_forecasts_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let csv = data("airline_passengers.csv");
    // the network alone, on ln y relative to exponential smoothing's level and season
    let args = ["--transform", "log-smoothed", "--no-combine", "--epochs", "60", "--horizon", "2"];
    let (ev, log) = train_and_evaluate_with_log(&csv, dir.path(), &args);
    assert!(log.contains("log-smoothed") && log.contains("ES-RNN hybrid"), "{log}");
    for baseline in ["persistence", "seasonal_naive"] {
        assert!(ev["model"]["rmse"].as_f64() < ev[baseline]["rmse"].as_f64(), "{baseline}: {ev}");
    }
    // the smoothing's constants are stored with the series' statistics
    let model = dir.path().join("m.safetensors");
    let bytes = std::fs::read(&model).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let task: serde_json::Value = serde_json::from_str(&meta.metadata().as_ref().unwrap()["rnn.task"]).unwrap();
    let smoothing = &task["series"][0]["smoothing"];
    assert_eq!(smoothing["seasonal"].as_array().map(Vec::len), Some(12), "{smoothing}");
    assert!((0.0..=1.0).contains(&smoothing["alpha"].as_f64().unwrap()), "{smoothing}");
    // recursive forecasts two years past the end: the states filter the forecasts fed back
    let out = ok(&rnn(&["forecast", "--model", p(&model), "--data", p(&csv), "--steps", "24", "--no-refit"]));
    let values: Vec<f64> = out.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert_eq!(values.len(), 24, "{out}");
    // the season survives: each July above the November after it, the level near the last year's
    for year in 0..2 {
        assert!(values[12 * year + 6] > values[12 * year + 10], "{out}");
    }
    assert!(values.iter().all(|v| (300.0..900.0).contains(v)), "{out}");
}

#[test]
fn long_format_trains_one_global_model_over_two_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("unique_id,ds,y\n");
    for (id, file) in [("sun", "sunspots_yearly.csv"), ("lynx", "lynx.csv")] {
        let text = std::fs::read_to_string(data(file)).unwrap();
        for line in text.lines().skip(1) {
            csv += &format!("{id},{line}\n");
        }
    }
    let path = dir.path().join("long.csv");
    std::fs::write(&path, csv).unwrap();
    let t = table::read(&path, &table::Columns { id: Some("unique_id".into()), ..Default::default() }).unwrap();
    assert_eq!((t.series.len(), t.target.as_str(), t.date.as_deref()), (2, "y", Some("ds")));
    let plan = Plan::new(&t, &Settings::default()).unwrap();
    let meta = plan.meta(&t, plan.candidates[1]).unwrap();
    assert_eq!(meta.series.len(), 2);
    assert_eq!(meta.series[1].split, [80, 17, 17]);

    let model = dir.path().join("m.safetensors");
    let o = rnn(&[
        "train",
        "--task",
        "forecast",
        "--data",
        p(&path),
        "--id-column",
        "unique_id",
        "--transform",
        "residual",
        "--ensemble",
        "1",
        "--epochs",
        "40",
        "--out",
        p(&model),
    ]);
    ok(&o);
    assert!(dir.path().join("m.forecast.sun.png").exists() && dir.path().join("m.forecast.lynx.png").exists());
    let ev: serde_json::Value =
        serde_json::from_str(&ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(&path), "--json"]))).unwrap();
    assert_eq!(ev["origins"], 46 + 17);
    let ahead = dir.path().join("ahead");
    let out = ok(&rnn(&["forecast", "--model", p(&model), "--data", p(&path), "--steps", "2", "--plot", p(&ahead)]));
    // one plot per series, named by its id
    for id in ["sun", "lynx"] {
        let svg = std::fs::read_to_string(dir.path().join(format!("ahead.{id}.svg"))).unwrap();
        assert!(svg.contains(&format!("long.csv: y &quot;{id}&quot;, 2 steps ahead")), "{svg}");
        assert!(dir.path().join(format!("ahead.{id}.png")).exists());
    }
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0], "unique_id,ds,y,y_lo80,y_hi80,y_lo95,y_hi95");
    assert!(lines[1].starts_with("sun,2009,") && lines[4].starts_with("lynx,1936,"), "{out}");
}

#[test]
fn metrics_match_hand_computed_values() {
    // y = [2, 4, 0], ŷ = [1, 4, 0]: RMSE √(1/3), MAE 1/3, sMAPE 200/3 · (1/3 + 0 + 0/0 := 0)
    let s = scores(&[2.0, 4.0, 0.0], &[1.0, 4.0, 0.0], 0.5);
    assert!((s.rmse - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
    assert!((s.mae - 1.0 / 3.0).abs() < 1e-12);
    assert!((s.smape - 200.0 / 3.0 / 3.0).abs() < 1e-12);
    assert!((s.mase - 2.0 / 3.0).abs() < 1e-12);
    // in-sample seasonal naive MAE, m = 2: |3-1|, |6-2| → 3
    assert_eq!(metrics::mase_scale(&[1.0, 2.0, 3.0, 6.0], 2), 3.0);
    assert_eq!(metrics::seasonal_naive(&[1.0, 2.0, 3.0, 6.0], 3, 3, 2), [3.0, 6.0, 3.0]);
    assert_eq!(metrics::persistence(&[1.0, 2.0], 1, 2), [2.0, 2.0]);
}

#[test]
fn demo_runs_with_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rnn")).arg("demo").current_dir(dir.path()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (stderr, stdout) = (String::from_utf8_lossy(&o.stderr), String::from_utf8_lossy(&o.stdout));
    // the results on stdout (`rnn demo > log` keeps them), the progress on stderr
    assert!(stderr.contains("choosing the transformation"), "{stderr}");
    assert!(stdout.contains("persistence") && stdout.contains("next 11 years"), "{stdout}");
    assert!(!stderr.contains("sMAPE %") && !stderr.contains("next 11 years"), "{stderr}");
    for f in ["sunspots_yearly.csv", "model.safetensors", "model.forecast.png", "model.forecast.svg"] {
        assert!(dir.path().join("rnn-demo").join(f).exists(), "{f}");
    }
    // a file where the folder should be: one line, before any work
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rnn")).args(["demo", "--dir", file.to_str().unwrap()]).output().unwrap();
    let want =
        format!("rnn: {}: exists and is not a folder (--dir names the folder the demo writes into)\n", file.display());
    assert_eq!((o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned()), (Some(1), want));
}

#[test]
fn bad_input_gets_one_line_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good: String = std::iter::once("date,value\n".to_string())
        .chain((0..60).map(|t| format!("{},{}\n", 1900 + t, (t as f64 * 0.7).sin())))
        .collect();
    let cases: Vec<(&str, String, Vec<&str>, &str)> = vec![
        ("empty.csv", String::new(), vec![], "line 1: the file is empty"),
        ("missing.csv", good.clone(), vec!["--column", "sales"], "line 1: no target column \"sales\""),
        ("text.csv", good.replacen("1903,", "1903,abc", 1), vec![], "line 5, column 2 (value): \"abc"),
        (
            "nan.csv",
            good.replacen("\n1904,", "\n1904,NaN\n1904.5,", 1),
            vec![],
            "line 6, column 2 (value): \"NaN\": a missing value",
        ),
        ("hole.csv", "date,value\n2000,1\n2001,\n2002,3\n".into(), vec![], "line 3, column 2 (value): empty cell"),
        ("ragged.csv", "date,value\n2000,1\n2001,2,3\n".into(), vec![], "line 3: 3 cells but the header has 2"),
        (
            "short.csv",
            good.lines().take(16).collect::<Vec<_>>().join("\n"),
            vec!["--window", "12"],
            "line 16, column 2 (value): the series has 15 rows",
        ),
        ("feature.csv", good.clone(), vec!["--features", "temp"], "line 1: no feature column \"temp\""),
    ];
    for (name, text, extra, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = dir.path().join("m.safetensors");
        let mut args = vec!["train", "--task", "forecast", "--data", p(&path), "--out", p(&out)];
        args.extend(extra);
        let o = rnn(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.starts_with(&format!("rnn: {}: ", path.display())), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: a model was written");
    }
}
