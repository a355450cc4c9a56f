//! What a forecaster expects besides point forecasts, through the binary: the statistical
//! baseline and the prediction intervals' coverage in `rnn evaluate --json`, interval columns in
//! `rnn forecast`'s CSV and its plot, and warnings when a model is evaluated on another, shorter or rescaled
//! series.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn ok(o: &Output) -> (String, String) {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    (String::from_utf8_lossy(&o.stdout).into_owned(), err)
}

fn airline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/airline_passengers.csv")
}

#[test]
fn baseline_intervals_and_other_series() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, model) = (airline(), dir.path().join("m.safetensors"));
    // the training report's results are on stdout
    let (report, _) = ok(&rnn(&[
        "train",
        "--task",
        "forecast",
        "--data",
        p(&csv),
        "--out",
        p(&model),
        "--epochs",
        "30",
        "--hidden",
        "8",
        "--transform",
        "log-residual",
        "--ensemble",
        "1",
        "--seed",
        "3",
    ]));
    assert!(report.contains("MSTL(12)+AutoETS") && report.contains("test coverage"), "{report}");
    let (json, err) = ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(&csv), "--json"]));
    assert!(!err.contains("warning"), "{err}");
    let ev: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(ev["auto_ets_model"], "MSTL(12)+AutoETS");
    // the reference figure of tests/forecast/baselines.json (statsforecast 23.586)
    assert!((ev["auto_ets"]["rmse"].as_f64().unwrap() - 23.586).abs() < 0.5, "{ev}");
    let cov = &ev["coverage"];
    assert_eq!((cov["values"].as_u64(), cov["calibration"].as_u64()), (Some(22), Some(22)), "{ev}");
    let [c80, c95] = [0, 1].map(|i| cov["empirical"][i].as_f64().unwrap());
    assert!((0.0..=100.0).contains(&c80) && c80 <= c95, "{cov}");
    eprintln!("airline, log-residual, 30 epochs: coverage {c80:.1}% at 80%, {c95:.1}% at 95%");

    // intervals in the forecast's CSV, nested around the forecast
    let (out, _) = ok(&rnn(&["forecast", "--model", p(&model), "--data", p(&csv), "--steps", "3"]));
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("date,value,value_lo80,value_hi80,value_lo95,value_hi95"));
    for line in lines {
        let v: Vec<f64> = line.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
        assert!(v[3] < v[1] && v[1] < v[0] && v[0] < v[2] && v[2] < v[4], "{line}");
    }

    // evaluate --plot: the test split's plots (1 step ahead; H = 1 here)
    let (_, err) =
        ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(&csv), "--plot", p(&dir.path().join("ev"))]));
    assert!(err.contains("forecast plot:") && dir.path().join("ev.forecast.svg").exists(), "{err}");
    let svg = std::fs::read_to_string(dir.path().join("ev.forecast.svg")).unwrap();
    assert!(svg.contains("model, 80% interval") && svg.matches("<polygon").count() == 2, "{svg}");
    // the forecasting flags on another kind of model: refused, naming them
    let plain = dir.path().join("plain.safetensors");
    ok(&rnn(&["init", "--input-size", "1", "--hidden-size", "2", "--out", p(&plain)]));
    let o =
        rnn(&["evaluate", "--model", p(&plain), "--inputs", "x.npy", "--targets", "y.npy", "--refit", "--season", "4"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--season, --refit apply to forecasting models"), "{err}");

    // --plot: the series' end and the forecast with both bands; the same CSV as without it
    let (stem, written) = (dir.path().join("ahead"), dir.path().join("ahead.csv"));
    let args = ["forecast", "--model", p(&model), "--data", p(&csv), "--steps", "3", "--no-refit"];
    let (_, err) = ok(&rnn(&[&args[..], &["--plot", p(&stem), "--output", p(&written)]].concat()));
    assert!(err.contains("forecast plot:   ") && err.contains("ahead.png"), "{err}");
    let svg = std::fs::read_to_string(dir.path().join("ahead.svg")).unwrap();
    assert!(svg.contains("airline_passengers.csv: value, 3 steps ahead (saved weights)"), "{svg}");
    assert!(svg.contains("80% interval") && svg.contains("95% interval") && svg.matches("<polygon").count() == 2);
    let (plain, _) = ok(&rnn(&args));
    assert_eq!(std::fs::read_to_string(&written).unwrap(), plain);
    // a plot into a missing folder fails before the refit, naming the path, and writes nothing
    let (missing, out2) = (dir.path().join("no/ahead"), dir.path().join("out2.csv"));
    let o = rnn(&["forecast", "--model", p(&model), "--data", p(&csv), "--plot", p(&missing), "--output", p(&out2)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no/ahead.png") && !err.contains("refitting"), "{err}");
    assert!(!out2.exists());

    // a shorter file: its test split is training data; a rescaled one: another scale
    let text = std::fs::read_to_string(&csv).unwrap();
    let short = dir.path().join("short.csv");
    std::fs::write(&short, text.lines().take(100).collect::<Vec<_>>().join("\n")).unwrap();
    let (_, err) = ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(&short)]));
    assert!(
        err.contains(
            "has 99 rows but the model was trained on a series of 144: its test split (rows 85-99) includes rows"
        ),
        "{err}"
    );
    let big = dir.path().join("big.csv");
    let scaled: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| match l.split_once(',') {
            Some((d, v)) if i > 0 => format!("{d},{}", v.parse::<f64>().unwrap() * 100.0),
            _ => l.to_string(),
        })
        .collect();
    std::fs::write(&big, scaled.join("\n")).unwrap();
    let (_, err) = ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(&big)]));
    assert!(err.contains("but other values") && err.contains("on another scale"), "{err}");
    let (_, err) = ok(&rnn(&["forecast", "--model", p(&model), "--data", p(&big)]));
    assert!(err.contains("on another scale") && !err.contains("other values"), "{err}");
    // the last 25 rows only: a forecast, but no validation split to calibrate intervals on
    let tail = dir.path().join("tail.csv");
    let rows: Vec<&str> = text.lines().collect();
    std::fs::write(&tail, format!("{}\n{}\n", rows[0], rows[rows.len() - 25..].join("\n"))).unwrap();
    let bare = dir.path().join("bare");
    let (out, err) =
        ok(&rnn(&["forecast", "--model", p(&model), "--data", p(&tail), "--steps", "2", "--plot", p(&bare)]));
    assert!(err.contains("warning: no prediction intervals"), "{err}");
    let svg = std::fs::read_to_string(dir.path().join("bare.svg")).unwrap();
    assert!(!svg.contains("<polygon") && !svg.contains("interval"), "no bands without intervals");
    assert!(out.lines().nth(1).is_some_and(|l| l.starts_with("1961-01,") && l.ends_with(",,,,")), "{out}");
}

/// `--folds K` retrains on the series cut earlier and reports every fold and the mean; the
/// ensemble's networks are stored in the model file and used by `evaluate` and `forecast`.
#[test]
fn backtest_folds_and_an_ensemble_in_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, model) = (airline(), dir.path().join("m.safetensors"));
    let base = ["train", "--task", "forecast", "--data", p(&csv), "--out", p(&model), "--epochs", "15"];
    let args: Vec<&str> = base.iter().copied().chain(["--transform", "log-residual", "--ensemble", "3"]).collect();
    let (report, log) = ok(&rnn(&[&args[..], &["--folds", "2", "--hidden", "8"]].concat()));
    assert!(log.contains("ensemble: the mean of 3 networks (log-residual ×3)"), "{log}");
    assert!(report.contains("backtest: 2 rolling folds"), "{report}");
    let rows: Vec<&str> = report.lines().skip_while(|l| !l.starts_with("backtest:")).skip(2).collect();
    assert_eq!(rows.len(), 3, "{report}");
    assert!(rows[0].starts_with("1 ") && rows[1].starts_with("2 ") && rows[2].starts_with("mean"), "{report}");
    // fold 2 is the full run: its origins are the test split's (22 rows of 144)
    assert!(rows[1].split_whitespace().nth(1) == Some("22"), "{report}");
    let (json, _) = ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(&csv), "--json"]));
    let ev: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(ev["model"]["rmse"].as_f64().is_some_and(f64::is_finite), "{json}");
    // the file is still a single network to other tools; its extra tensors are the ensemble's
    let bytes = std::fs::read(&model).unwrap();
    let names = rnn::model_file::read_tensors::<f32>(&bytes, &model).unwrap();
    assert!(names.keys().any(|n| n.starts_with("ensemble.2.rnn.")), "{:?}", names.keys());
    assert!(!names.keys().any(|n| n.starts_with("ensemble.3.")), "{:?}", names.keys());
    // inspect names the further networks and keeps small numbers (Adam's epsilon)
    let (text, _) = ok(&rnn(&["inspect", p(&model)]));
    assert!(text.contains("2 more networks: seed 1 log-residual, seed 2 log-residual"), "{text}");
    assert!(text.contains("eps 1e-8"), "{text}");
    // an export holds the first network alone, and says so
    let onnx = dir.path().join("m.onnx");
    let (_, err) = ok(&rnn(&["export", "--model", p(&model), "--format", "onnx", "--output", p(&onnx)]));
    assert!(err.contains("the export holds its first network alone (1 of 3)"), "{err}");
    assert!(
        err.contains("(log-residual)")
            && err.contains(
                "the other networks, the transformation and the combination with the statistical forecasts are"
            ),
        "{err}"
    );
    // resuming is refused with --folds; a missing network is named
    let o = rnn(&[&args[..], &["--folds", "2", "--resume", p(&dir.path().join("m.last.safetensors"))]].concat());
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--folds"));
}

/// `rnn diagnose` reads a forecasting model's CSV as the model was trained (its fill), or as told.
#[test]
fn diagnose_reads_the_csv_as_trained() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(airline()).unwrap().replace(",112\n", ",NA\n").replace(',', ";");
    let (csv, model) = (dir.path().join("semi.csv"), dir.path().join("m.safetensors"));
    std::fs::write(&csv, text).unwrap();
    let train = ["train", "--task", "forecast", "--data", p(&csv), "--out", p(&model), "--epochs", "2"];
    ok(&rnn(&[&train[..], &["--fill", "linear", "--ensemble", "1", "--transform", "residual"]].concat()));
    let diag = ["diagnose", "--model", p(&model), "--data", p(&csv), "--no-plot", "--jacobian-batch", "0"];
    ok(&rnn(&diag));
    ok(&rnn(&[&diag[..], &["--fill", "previous", "--delimiter", ";"]].concat()));
    let o = rnn(&[&diag[..], &["--fill", "none"]].concat());
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("NA"), "{o:?}");
}

/// A constant series and an exactly periodic one (MASE is 0/0 or x/0: not a number) train,
/// and their model files load again in `evaluate` and `forecast` (NaN scores are stored as
/// JSON `null`).
#[test]
fn constant_and_exactly_periodic_series_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let periodic = |t: usize| 1e12 * (1.0 + 0.1 * (t % 7) as f64);
    for (name, values) in [("constant", vec![5.0; 80]), ("periodic", (0..80).map(periodic).collect())] {
        let csv = dir.path().join(format!("{name}.csv"));
        let rows: Vec<String> = values.iter().enumerate().map(|(t, v)| format!("{t},{v}")).collect();
        std::fs::write(&csv, format!("t,v\n{}\n", rows.join("\n"))).unwrap();
        let model = dir.path().join(format!("{name}.safetensors"));
        let train = ["train", "--task", "forecast", "--data", p(&csv), "--column", "v", "--out", p(&model)];
        ok(&rnn(&[&train[..], &["--epochs", "5", "--ensemble", "1", "--quiet"]].concat()));
        let (json, _) = ok(&rnn(&["evaluate", "--model", p(&model), "--data", p(&csv), "--json"]));
        let ev: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(ev["model"]["rmse"].as_f64().is_some_and(f64::is_finite), "{name}: {ev}");
        let (out, _) = ok(&rnn(&["forecast", "--model", p(&model), "--data", p(&csv), "--steps", "2", "--no-refit"]));
        assert_eq!(out.lines().count(), 3, "{name}: {out}");
    }
}
