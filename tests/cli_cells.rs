//! The `rnn` binary on LSTM and GRU models: PyTorch's fixtures through `forward` (with the
//! LSTM's `--c0`/`--cn`), `init --cell` round trips, `inspect`, and one clean error line for
//! states of the wrong shape or a cell state given to a cell without one.

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
