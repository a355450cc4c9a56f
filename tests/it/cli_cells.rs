//! The `rnn` binary on LSTM, GRU and IndRNN models: PyTorch's fixtures through `forward` (with
//! the LSTM's `--c0`/`--cn`), `init --cell` round trips, `inspect`, an IndRNN trained by
//! `rnn train --cell indrnn`, and one clean error line for states of the wrong shape, a cell
//! state given to a cell without one, or an option of another cell.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::ArrayD;
use rnn::data::npy::{self, NpyArray};

fn rnn(args: &[&dyn AsRef<OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args.iter().map(|a| a.as_ref())).output().expect("the rnn binary runs")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "rnn failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// Exit status 1, one `rnn: ` line on stderr naming `file`, no panic, nothing written.
fn failed(out: &Output, file: &Path) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "expected exit status 1, got {}; stderr: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.ends_with('\n') && stderr.matches('\n').count() == 1, "expected one line, got {stderr:?}");
    let line = stderr.trim_end().to_string();
    assert!(line.starts_with("rnn: ") && line.contains(&file.display().to_string()), "{line}");
    line
}

fn golden(case: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(case).join(file)
}

fn read(path: &Path) -> ArrayD<f64> {
    match npy::read(path).unwrap_or_else(|e| panic!("{e}")) {
        NpyArray::F32(a) => a.mapv(f64::from),
        NpyArray::F64(a) => a,
    }
}

fn max_abs_diff(got: &ArrayD<f64>, want: &ArrayD<f64>) -> f64 {
    assert_eq!(got.shape(), want.shape(), "shapes differ");
    got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

#[test]
fn forward_reproduces_pytorch_lstm_with_cell_states() {
    let case = "lstm_2l_bidir_head";
    let dir = tempfile::tempdir().unwrap();
    let (y, hn, cn) = (dir.path().join("y.npy"), dir.path().join("hn.npy"), dir.path().join("cn.npy"));
    let model = golden(case, "model.safetensors");
    let (x, h0, c0) = (golden(case, "x.npy"), golden(case, "h0.npy"), golden(case, "c0.npy"));
    ok(&rnn(&[
        &"forward",
        &"--model",
        &model,
        &"--input",
        &x,
        &"--h0",
        &h0,
        &"--c0",
        &c0,
        &"--output",
        &y,
        &"--hn",
        &hn,
        &"--cn",
        &cn,
    ]));
    for (ours, theirs) in [(&y, "y.npy"), (&hn, "h_n.npy"), (&cn, "c_n.npy")] {
        let d = max_abs_diff(&read(ours), &read(&golden(case, theirs)));
        assert!(d < 1e-5, "{theirs}: {d:e}");
    }
}

#[test]
fn forward_reproduces_pytorch_gru() {
    let case = "gru_2l_bidir_head";
    let dir = tempfile::tempdir().unwrap();
    let (y, hn) = (dir.path().join("y.npy"), dir.path().join("hn.npy"));
    let (model, x, h0) = (golden(case, "model.safetensors"), golden(case, "x.npy"), golden(case, "h0.npy"));
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--h0", &h0, &"--output", &y, &"--hn", &hn]));
    assert!(max_abs_diff(&read(&y), &read(&golden(case, "y.npy"))) < 1e-5);
    assert!(max_abs_diff(&read(&hn), &read(&golden(case, "h_n.npy"))) < 1e-5);
}

#[test]
fn states_of_the_wrong_shape_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("y.npy");
    let lstm = golden("lstm_2l_bidir_head", "model.safetensors");
    let x = golden("lstm_2l_bidir_head", "x.npy");
    // h0 where c0 belongs: [4, 2, 5] is right for both here, so use the input as a wrong state
    let line = failed(&rnn(&[&"forward", &"--model", &lstm, &"--input", &x, &"--c0", &x, &"--output", &y]), &x);
    assert!(line.contains("c0"), "{line}");
    let gru = golden("gru_2l_bidir_head", "model.safetensors");
    let c0 = golden("lstm_2l_bidir_head", "c0.npy");
    let gx = golden("gru_2l_bidir_head", "x.npy");
    let line = failed(&rnn(&[&"forward", &"--model", &gru, &"--input", &gx, &"--c0", &c0, &"--output", &y]), &c0);
    assert!(line.contains("only an LSTM"), "{line}");
    assert!(!y.exists(), "nothing is written");
}

#[test]
fn init_inspect_forward_for_every_cell() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x.npy");
    let xs = ndarray::Array3::<f32>::from_shape_fn((5, 2, 3), |(t, b, i)| ((t * 7 + b * 3 + i) as f32 * 0.3).sin());
    npy::write(&x, xs.view()).unwrap();
    for (cell, proj, want_mode, hh) in [
        ("lstm", "0", "LSTM", "[16, 4]"),
        ("lstm", "2", "LSTM", "[16, 2]"),
        ("gru", "0", "GRU", "[12, 4]"),
        ("rnn", "0", "RNN_TANH", "[4, 4]"),
        ("indrnn", "0", "INDRNN", "[4]"),
    ] {
        let model = dir.path().join(format!("{cell}{proj}.safetensors"));
        ok(&rnn(&[
            &"init",
            &"--cell",
            &cell,
            &"--proj-size",
            &proj,
            &"--input-size",
            &"3",
            &"--hidden-size",
            &"4",
            &"--num-layers",
            &"2",
            &"--output-size",
            &"1",
            &"--out",
            &model,
        ]));
        let json: serde_json::Value = serde_json::from_str(&ok(&rnn(&[&"inspect", &"--json", &model]))).unwrap();
        assert_eq!(json["config"]["mode"], want_mode);
        let hh_shape = json["tensors"].as_array().unwrap().iter().find(|t| t["name"] == "rnn.weight_hh_l1").unwrap();
        assert_eq!(hh_shape["shape"].to_string().replace(',', ", "), hh);
        let text = ok(&rnn(&[&"inspect", &model]));
        assert!(text.contains(&format!("mode {want_mode}")), "{text}");
        let y = dir.path().join(format!("{cell}{proj}.y.npy"));
        ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--output", &y]));
        assert_eq!(read(&y).shape(), &[5, 2, 1]);
    }
    let bad = dir.path().join("bad.safetensors");
    let out = rnn(&[
        &"init",
        &"--cell",
        &"gru",
        &"--proj-size",
        &"2",
        &"--input-size",
        &"3",
        &"--hidden-size",
        &"4",
        &"--out",
        &bad,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("proj_size"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!bad.exists());
}

/// A delayed echo, `y_t = x_{t-2}`: inputs `[N, T, 1]` and targets `[N, T, 1]`.
fn echo_task(dir: &Path) -> (PathBuf, PathBuf) {
    let x = ndarray::Array3::<f32>::from_shape_fn((64, 12, 1), |(n, t, _)| ((n * 13 + t * 7) as f32 * 0.91).sin());
    let mut y = ndarray::Array3::<f32>::zeros((64, 12, 1));
    y.slice_mut(ndarray::s![.., 2.., ..]).assign(&x.slice(ndarray::s![.., ..10, ..]));
    let paths = (dir.join("x.npy"), dir.join("y.npy"));
    npy::write(&paths.0, x.view()).unwrap();
    npy::write(&paths.1, y.view()).unwrap();
    paths
}

#[test]
fn train_indrnn_learns_and_keeps_u_within_recurrent_max() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = echo_task(dir.path());
    let model = dir.path().join("ind.safetensors");
    #[rustfmt::skip]
    let out = ok(&rnn(&[
        &"train", &"--cell", &"indrnn", &"--recurrent-max", &"1.0", &"--inputs", &x, &"--targets", &y,
        &"--hidden", &"16", &"--epochs", &"15", &"--lr", &"0.01", &"--json", &"-q", &"--out", &model,
    ]));
    let losses: Vec<f64> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["train_loss"].as_f64().unwrap())
        .collect();
    assert_eq!(losses.len(), 15);
    let (first, last) = (losses[0], losses[14]);
    assert!(last < 0.5 * first, "the training loss fell from {first} to {last} only");
    let loaded = rnn::model_file::load::<f64>(&model, &Default::default()).unwrap();
    let c = loaded.model.rnn.config();
    assert_eq!((c.cell, c.nonlinearity, c.recurrent_max), (rnn::Cell::IndRnn, rnn::Nonlinearity::Relu, Some(1.0)));
    for p in loaded.model.rnn.layers() {
        assert!(p.weight_hh_diag.as_ref().unwrap().iter().all(|u| u.abs() <= 1.0));
    }
    let text = ok(&rnn(&[&"inspect", &model]));
    assert!(text.contains("indrnn (IndRNN") && text.contains("mode INDRNN"), "{text}");
    assert!(text.contains("nonlinearity:  relu") && text.contains("recurrent_max: 1"), "{text}");
}

#[test]
fn options_of_another_cell_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = echo_task(dir.path());
    let model = dir.path().join("m.safetensors");
    for (cell, flag, value, needle) in [
        ("gru", "--recurrent-max", "1.0", "recurrent_max is for IndRNN cells only, not gru"),
        ("indrnn", "--proj-size", "2", "proj_size is for LSTM cells only, not indrnn"),
        ("indrnn", "--chrono", "10", "chrono initialisation is for LSTM and GRU cells"),
        ("indrnn", "--recurrent-max", "0", "expected a positive number"),
    ] {
        let out = rnn(&[
            &"train",
            &"--cell",
            &cell,
            &flag,
            &value,
            &"--inputs",
            &x,
            &"--targets",
            &y,
            &"--epochs",
            &"1",
            &"--out",
            &model,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success() && stderr.contains(needle), "{cell} {flag} {value}: {stderr}");
        assert!(!model.exists());
    }
    let help = ok(&rnn(&[&"train", &"--help"]));
    assert!(help.contains("tanh for rnn, relu for indrnn") && help.contains("--recurrent-max"), "{help}");
}
