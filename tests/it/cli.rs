//! End-to-end tests of the `rnn` binary: the real executable on the committed PyTorch fixtures,
//! `init`/`inspect`/`forward` round trips, and one clean error line for every kind of bad input.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array2, Array3, ArrayD, IxDyn};
use rnn::data::npy::{self, NpyArray};
use rnn::model_file::{self, LoadOptions};
use rnn::{Init, Model, ModelConfig, RnnConfig};
use safetensors::{Dtype, SafeTensors};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Runs the binary with `args`.
pub(crate) fn rnn(args: &[&dyn AsRef<OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args.iter().map(|a| a.as_ref())).output().expect("the rnn binary runs")
}

/// Asserts the run succeeded (showing stderr if not) and returns stdout.
fn ok(out: &Output) -> String {
    assert!(out.status.success(), "rnn failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    // nothing on stderr but the note saying how the input was read
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().all(|l| l.contains(": read as [")), "unexpected stderr: {stderr}");
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// As [`ok`] for a model file that does not say its activation: stderr is the one warning
/// saying tanh was assumed.
fn ok_assumed(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rnn failed ({}): {stderr}", out.status);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.contains(": read as [")).collect();
    let warned = lines.len() == 1 && lines[0].starts_with("rnn: warning: ") && lines[0].contains(": assumed tanh; ");
    assert!(warned, "{stderr}");
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// Asserts the run failed the `rnn` way: exit status 1, nothing on stdout, exactly one line on
/// stderr starting `rnn: `, mentioning `file`, and no panic. Returns the line.
pub(crate) fn failed(out: &Output, file: &Path) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "expected exit status 1, got {}; stderr: {stderr}", out.status);
    assert!(out.stdout.is_empty(), "unexpected stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(stderr.ends_with('\n') && stderr.matches('\n').count() == 1, "expected one line, got {stderr:?}");
    let line = stderr.trim_end().to_string();
    assert!(line.starts_with("rnn: "), "{line}");
    let name = file.display().to_string();
    assert!(line.contains(&name), "the error does not name {name}: {line}");
    line
}

pub(crate) fn golden(case: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(case).join(file)
}

/// Reads a `.npy` file, returning it as f64 and whether the file held float64.
fn read(path: &Path) -> (ArrayD<f64>, bool) {
    match npy::read(path).unwrap_or_else(|e| panic!("{e}")) {
        NpyArray::F32(a) => (a.mapv(f64::from), false),
        NpyArray::F64(a) => (a, true),
    }
}

fn max_abs_diff(got: &ArrayD<f64>, want: &ArrayD<f64>) -> f64 {
    assert_eq!(got.shape(), want.shape(), "shapes differ");
    got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
}

/// A tensor of a golden case's `case.safetensors` (all float32).
fn case_tensor(case: &str, name: &str) -> ArrayD<f32> {
    let bytes = std::fs::read(golden(case, "case.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(name).unwrap();
    assert_eq!(t.dtype(), Dtype::F32);
    let values = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    ArrayD::from_shape_vec(IxDyn(t.shape()), values).unwrap()
}

/// A deterministic, non-trivial `[seq_len, batch, features]` input.
pub(crate) fn wavy(seq_len: usize, batch: usize, features: usize, phase: f32) -> Array3<f32> {
    Array3::from_shape_fn((seq_len, batch, features), |(t, b, i)| ((t * 7 + b * 3 + i) as f32 * 0.37 + phase).sin())
}

/// The names in a folder: to check that a failed run left nothing behind (not even a temp file).
pub(crate) fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

// ---------------------------------------------------------------------------------------------
// forward on the PyTorch fixtures
// ---------------------------------------------------------------------------------------------

#[test]
fn forward_reproduces_pytorch_bidirectional_with_head() {
    let case = "tanh_2l_bidir_head";
    let dir = tempfile::tempdir().unwrap();
    let (y, hn) = (dir.path().join("y.npy"), dir.path().join("hn.npy"));
    let (model, x, h0) = (golden(case, "model.safetensors"), golden(case, "x.npy"), golden(case, "h0.npy"));
    let stdout =
        ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--h0", &h0, &"--output", &y, &"--hn", &hn]));
    assert!(stdout.is_empty(), "forward prints nothing: {stdout}");

    let (got_y, y_is_f64) = read(&y);
    let (got_hn, hn_is_f64) = read(&hn);
    assert!(!y_is_f64 && !hn_is_f64, "float32 input gives float32 output");
    assert!(max_abs_diff(&got_y, &read(&golden(case, "y.npy")).0) < 1e-5);
    assert!(max_abs_diff(&got_hn, &read(&golden(case, "h_n.npy")).0) < 1e-5);
    assert_eq!(got_y.shape(), &[4, 2, 2]);
    assert_eq!(got_hn.shape(), &[4, 2, 5]);
}

#[test]
fn forward_converts_a_float64_h0_to_the_inputs_dtype() {
    let case = "tanh_2l_bidir_head";
    let dir = tempfile::tempdir().unwrap();
    let h0_64 = dir.path().join("h0_64.npy");
    npy::write(&h0_64, read(&golden(case, "h0.npy")).0.view()).unwrap();
    let (y, model, x) = (dir.path().join("y.npy"), golden(case, "model.safetensors"), golden(case, "x.npy"));
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--h0", &h0_64, &"--output", &y]));
    let (got, is_f64) = read(&y);
    assert!(!is_f64, "the output follows x (float32), not h0");
    assert!(max_abs_diff(&got, &read(&golden(case, "y.npy")).0) < 1e-5);
}

#[test]
fn forward_reproduces_pytorch_relu_3_layers_in_float32_and_float64() {
    let case = "relu_3l";
    let dir = tempfile::tempdir().unwrap();
    let (model, h0) = (golden(case, "model.safetensors"), golden(case, "h0.npy"));

    let (y, hn) = (dir.path().join("y.npy"), dir.path().join("hn.npy"));
    let x = golden(case, "x.npy");
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--h0", &h0, &"--output", &y, &"--hn", &hn]));
    let (got_y, is_f64) = read(&y);
    assert!(!is_f64);
    assert!(max_abs_diff(&got_y, &read(&golden(case, "output.npy")).0) < 1e-5);
    assert!(max_abs_diff(&read(&hn).0, &read(&golden(case, "h_n.npy")).0) < 1e-5);

    // float64 input: the model runs in float64 (weights upcast exactly), as torch's .double().
    let (y64, hn64) = (dir.path().join("y64.npy"), dir.path().join("hn64.npy"));
    let x64 = golden(case, "x64.npy");
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x64, &"--h0", &h0, &"--output", &y64, &"--hn", &hn64]));
    let (got_y64, is_f64) = read(&y64);
    assert!(is_f64, "float64 input gives a float64 output file");
    assert!(read(&hn64).1, "and a float64 h_n file");
    let diff = max_abs_diff(&got_y64, &read(&golden(case, "output64.npy")).0);
    assert!(diff < 1e-10, "float64 output differs from torch by {diff:e}");
}

#[test]
fn forward_without_h0_starts_from_zeros() {
    // No --h0 must equal an explicit zero h0.
    let case = "relu_3l";
    let dir = tempfile::tempdir().unwrap();
    let (model, x) = (golden(case, "model.safetensors"), golden(case, "x.npy"));
    let zeros = dir.path().join("zeros.npy");
    npy::write(&zeros, Array3::<f32>::zeros((3, 2, 5)).view()).unwrap();
    let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--output", &a]));
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--h0", &zeros, &"--output", &b]));
    assert_eq!(read(&a).0, read(&b).0);
}

#[test]
fn forward_on_a_bare_state_dict() {
    let case = "tanh_2l_bare";
    let dir = tempfile::tempdir().unwrap();
    let model = golden(case, "model.safetensors");

    // The fixture's own data reproduces torch.
    let (x, h0) = (dir.path().join("x.npy"), dir.path().join("h0.npy"));
    npy::write(&x, case_tensor(case, "x").view()).unwrap();
    npy::write(&h0, case_tensor(case, "h0").view()).unwrap();
    let (y, hn) = (dir.path().join("y.npy"), dir.path().join("hn.npy"));
    ok_assumed(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--h0", &h0, &"--output", &y, &"--hn", &hn]));
    assert!(max_abs_diff(&read(&y).0, &case_tensor(case, "output").mapv(f64::from)) < 1e-5);
    assert!(max_abs_diff(&read(&hn).0, &case_tensor(case, "h_n").mapv(f64::from)) < 1e-5);

    // A fresh input: runs (tanh by default, as asked explicitly), and relu changes the result.
    let x2 = dir.path().join("x2.npy");
    npy::write(&x2, wavy(6, 3, 3, 0.5).view()).unwrap();
    let (plain, tanh, relu) = (dir.path().join("plain.npy"), dir.path().join("tanh.npy"), dir.path().join("relu.npy"));
    ok_assumed(&rnn(&[&"forward", &"--model", &model, &"--input", &x2, &"--output", &plain]));
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x2, &"--output", &tanh, &"--nonlinearity", &"tanh"]));
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x2, &"--output", &relu, &"--nonlinearity", &"relu"]));
    let (plain, tanh, relu) = (read(&plain).0, read(&tanh).0, read(&relu).0);
    assert_eq!(plain.shape(), &[6, 3, 5]);
    assert_eq!(plain, tanh);
    assert!(max_abs_diff(&plain, &relu) > 1e-3, "--nonlinearity relu must change the output");
    assert!(relu.iter().all(|&v| v >= 0.0), "relu hidden states are non-negative");
}

// ---------------------------------------------------------------------------------------------
// init, inspect, forward round trip
// ---------------------------------------------------------------------------------------------

/// `init` takes PyTorch's names (`--hidden-size`, `--num-layers`) and `train` short ones
/// (`--hidden`, `--layers`): each also answers to the other's.
#[test]
fn size_flags_answer_to_both_spellings() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    ok(&rnn(&[&"init", &"--input-size", &"2", &"--hidden", &"5", &"--layers", &"2", &"--out", &model]));
    let text = ok(&rnn(&[&"inspect", &model]));
    assert!(text.contains("hidden_size:   5") && text.contains("num_layers:    2"), "{text}");
    // train parses the long spellings: it gets as far as the missing data file
    let missing = dir.path().join("none.npy");
    let o = rnn(&[
        &"train",
        &"--inputs",
        &missing,
        &"--targets",
        &missing,
        &"--hidden-size",
        &"3",
        &"--num-layers",
        &"2",
        &"--out",
        &model,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("none.npy") && !err.contains("unexpected argument"), "{err}");
}

#[test]
fn init_inspect_forward_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let stdout = ok(&rnn(&[
        &"init",
        &"--input-size",
        &"3",
        &"--hidden-size",
        &"4",
        &"--num-layers",
        &"2",
        &"--bidirectional",
        &"--output-size",
        &"2",
        &"--seed",
        &"5",
        &"--out",
        &model,
    ]));
    // layer 0: 2 × (4·3 + 4·4 + 4 + 4) = 72; layer 1: 2 × (4·8 + 4·4 + 8) = 112; head: 2·8 + 2 = 18
    let want = format!(
        "wrote {}: 2 layers, input 3, hidden 4, tanh, bidirectional, head 2 outputs, 202 parameters (f32",
        model.display()
    );
    assert!(stdout.starts_with(&want), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");

    let json: serde_json::Value = serde_json::from_str(&ok(&rnn(&[&"inspect", &model, &"--json"]))).unwrap();
    assert_eq!(json["path"], model.display().to_string());
    assert_eq!(json["dtype"], "f32");
    assert_eq!(json["config_source"], "metadata");
    assert_eq!(json["bare"], false);
    assert_eq!(json["num_params"], 202);
    let config = &json["config"];
    for (key, value) in [
        ("input_size", serde_json::json!(3)),
        ("hidden_size", serde_json::json!(4)),
        ("num_layers", serde_json::json!(2)),
        ("nonlinearity", serde_json::json!("tanh")),
        ("bias", serde_json::json!(true)),
        ("bidirectional", serde_json::json!(true)),
        ("dropout", serde_json::json!(0.0)),
        ("output_size", serde_json::json!(2)),
    ] {
        assert_eq!(config[key], value, "config.{key}");
    }
    let tensors = json["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), 18);
    assert_eq!(tensors[0], serde_json::json!({"name": "rnn.weight_ih_l0", "shape": [4, 3], "numel": 12}));
    assert_eq!(tensors.iter().map(|t| t["numel"].as_u64().unwrap()).sum::<u64>(), 202);

    let text = ok(&rnn(&[&"inspect", &model]));
    for needle in
        ["metadata", "hidden_size:", "bidirectional: true", "rnn.weight_ih_l1_reverse", "[4, 8]", "head.bias", "total"]
    {
        assert!(text.contains(needle), "inspect output lacks {needle:?}:\n{text}");
    }
    assert!(text.lines().last().unwrap().trim_end().ends_with("202"), "{text}");

    // forward agrees with the library on the same file.
    let (x, h0, y, hn) =
        (dir.path().join("x.npy"), dir.path().join("h0.npy"), dir.path().join("y.npy"), dir.path().join("hn.npy"));
    let x_arr = wavy(5, 3, 3, 0.1);
    let h0_arr = wavy(4, 3, 4, 1.0).mapv(|v| 0.5 * v);
    npy::write(&x, x_arr.view()).unwrap();
    npy::write(&h0, h0_arr.view()).unwrap();
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--h0", &h0, &"--output", &y, &"--hn", &hn]));
    let loaded = model_file::load::<f32>(&model, &LoadOptions::default()).unwrap();
    let (want_y, want_hn) = loaded.model.forward(x_arr.view(), Some(h0_arr.view())).unwrap();
    let (got_y, got_hn) = (read(&y).0, read(&hn).0);
    assert_eq!(got_y.shape(), &[5, 3, 2]);
    assert_eq!(got_hn.shape(), &[4, 3, 4]);
    assert!(max_abs_diff(&got_y, &want_y.into_dyn().mapv(f64::from)) < 1e-6);
    assert!(max_abs_diff(&got_hn, &want_hn.into_dyn().mapv(f64::from)) < 1e-6);
}

#[test]
fn init_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let init = |name: &str, seed: &str| {
        let path = dir.path().join(name);
        ok(&rnn(&[
            &"init",
            &"--input-size",
            &"3",
            &"--hidden-size",
            &"8",
            &"--num-layers",
            &"2",
            &"--seed",
            &seed,
            &"--out",
            &path,
        ]));
        std::fs::read(&path).unwrap()
    };
    let a = init("a.safetensors", "42");
    let b = init("b.safetensors", "42");
    let c = init("c.safetensors", "43");
    assert_eq!(a, b, "same seed, same bytes");
    assert_ne!(a, c, "another seed, another model");
}

#[test]
fn init_float64_with_every_option() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m64.safetensors");
    let stdout = ok(&rnn(&[
        &"init",
        &"--input-size",
        &"2",
        &"--hidden-size",
        &"3",
        &"--num-layers",
        &"3",
        &"--nonlinearity",
        &"relu",
        &"--no-bias",
        &"--dropout",
        &"0.25",
        &"--init",
        &"identity",
        &"--seed",
        &"9",
        &"--dtype",
        &"f64",
        &"--out",
        &model,
    ]));
    assert!(stdout.contains("3 layers, input 2, hidden 3, relu, no bias, dropout 0.25"), "{stdout}");
    assert!(stdout.contains("(f64, identity init, seed 9)"), "{stdout}");

    let json: serde_json::Value = serde_json::from_str(&ok(&rnn(&[&"inspect", &"--json", &model]))).unwrap();
    assert_eq!(json["dtype"], "f64");
    assert_eq!(json["config"]["bias"], false);
    assert_eq!(json["config"]["dropout"], 0.25);
    assert_eq!(json["config"]["nonlinearity"], "relu");
    assert_eq!(json["config"]["output_size"], serde_json::Value::Null);
    // layer 0: 3·2 + 3·3; layers 1 and 2: 3·3 + 3·3 each (no biases, no head)
    assert_eq!(json["num_params"], 6 + 9 + 2 * 18);

    // Identity recurrence: weight_hh is I.
    let loaded = model_file::load::<f64>(&model, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.model.rnn.layers()[1].weight_hh, Array2::<f64>::eye(3));

    // A float64 model runs on float32 input (in float32) and float64 input (in float64).
    let (x32, x64, y32, y64) = (
        dir.path().join("x32.npy"),
        dir.path().join("x64.npy"),
        dir.path().join("y32.npy"),
        dir.path().join("y64.npy"),
    );
    npy::write(&x32, wavy(4, 2, 2, 0.0).view()).unwrap();
    npy::write(&x64, wavy(4, 2, 2, 0.0).mapv(f64::from).view()).unwrap();
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x32, &"--output", &y32]));
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x64, &"--output", &y64]));
    let ((a, a64), (b, b64)) = (read(&y32), read(&y64));
    assert!(!a64 && b64);
    assert!(max_abs_diff(&a, &b) < 1e-5);
}

#[test]
fn inspect_reports_inferred_and_bare_configs() {
    let bare = golden("tanh_2l_bare", "model.safetensors");
    let text = ok_assumed(&rnn(&[&"inspect", &bare]));
    assert!(text.contains("bare nn.RNN state_dict"), "{text}");
    assert!(text.contains("weight_hh_l1 "), "bare names are shown as stored:\n{text}");
    assert!(!text.contains("rnn.weight"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&rnn(&[&"inspect", &"--json", &"--nonlinearity", &"relu", &bare]))).unwrap();
    assert_eq!(json["config_source"], "inferred");
    assert_eq!(json["bare"], true);
    assert_eq!(json["config"]["num_layers"], 2);
    assert_eq!(json["config"]["nonlinearity"], "relu");
    assert_eq!(json["tensors"][0]["name"], "weight_ih_l0");

    let nometa = golden("tanh_1l_nometa", "model.safetensors");
    let json: serde_json::Value = serde_json::from_str(&ok_assumed(&rnn(&[&"inspect", &"--json", &nometa]))).unwrap();
    assert_eq!(json["config_source"], "inferred");
    assert_eq!(json["bare"], false);
    assert_eq!(json["tensors"][0]["name"], "rnn.weight_ih_l0");
}

#[test]
fn inspect_lists_extra_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 3), output_size: None }, Init::PyTorch, 0).unwrap();
    let extra = HashMap::from([("norm.mean".to_string(), "[0.5, 1.5]".to_string())]);
    model_file::save_with_metadata(&m, &model, &extra).unwrap();
    let text = ok(&rnn(&[&"inspect", &model]));
    assert!(text.contains("norm.mean: [0.5, 1.5]"), "{text}");
    assert!(!text.contains("input_size\":"), "rnn.config itself is not repeated raw:\n{text}");
    let json: serde_json::Value = serde_json::from_str(&ok(&rnn(&[&"inspect", &"--json", &model]))).unwrap();
    assert_eq!(json["metadata"], serde_json::json!({"norm.mean": "[0.5, 1.5]"}));
}

// ---------------------------------------------------------------------------------------------
// help, version, usage errors
// ---------------------------------------------------------------------------------------------

#[test]
fn help_and_version() {
    let help = ok(&rnn(&[&"--help"]));
    assert!(
        help.contains("Recurrent networks (Elman, LSTM, GRU, IndRNN; stacked, bidirectional) trained by BPTT"),
        "{help}"
    );
    for sub in ["forward", "init", "inspect"] {
        assert!(help.contains(sub), "{help}");
    }
    let version = ok(&rnn(&[&"--version"]));
    assert_eq!(version.trim(), format!("rnn {}", env!("CARGO_PKG_VERSION")));

    for (sub, flags) in [
        ("forward", &["--model", "--input", "--output", "--h0", "--hn", "--nonlinearity"][..]),
        (
            "init",
            &[
                "--input-size",
                "--hidden-size",
                "--num-layers",
                "--nonlinearity",
                "--no-bias",
                "--bidirectional",
                "--dropout",
                "--output-size",
                "--init",
                "--seed",
                "--dtype",
                "--out",
            ][..],
        ),
        ("inspect", &["--nonlinearity", "--json", "MODEL"][..]),
    ] {
        let help = ok(&rnn(&[&sub, &"--help"]));
        for flag in flags {
            assert!(help.contains(flag), "`rnn {sub} --help` lacks {flag}:\n{help}");
        }
    }
}

#[test]
fn usage_errors_keep_clap_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let out = rnn(&[&"forward", &"--model", &model]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input"));
    let out =
        rnn(&[&"init", &"--input-size", &"3", &"--hidden-size", &"4", &"--nonlinearity", &"gelu", &"--out", &model]);
    assert_eq!(out.status.code(), Some(2));
    let out = rnn(&[&"init", &"--input-size", &"-3", &"--hidden-size", &"4", &"--out", &model]);
    assert_eq!(out.status.code(), Some(2));
    assert!(listing(dir.path()).is_empty());
}
