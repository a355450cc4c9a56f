//! Reproduces PyTorch's own numbers: outputs, final states and the gradients of a fixed loss for
//! every case in `tests/golden/` (made by `tests/golden/make_golden.py` with `torch.nn.RNN`).

use crate::common;

use std::path::{Path, PathBuf};

use common::{max_scaled_diff, read_tensors};
use ndarray::{Array3, ArrayD, Ix3};
use rnn::model_file::{self, ConfigSource, LoadOptions};
use rnn::{Float, Readout};

/// The contract: f32 results agree with PyTorch's to 1e-5.
const TOL: f64 = 1e-5;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn case_names() -> Vec<String> {
    let json = std::fs::read_to_string(golden_dir().join("cases.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    cases.iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
}

fn to3<F: Float>(a: &ArrayD<f64>) -> Array3<F> {
    a.mapv(F::of).into_dimensionality::<Ix3>().unwrap()
}

fn widen<F: Float>(a: ndarray::ArrayViewD<'_, F>) -> ArrayD<f64> {
    a.mapv(|v| v.to_f64_lossless())
}

/// Runs one case in precision `F` and returns the worst scaled difference to PyTorch.
fn check_case<F: Float>(name: &str) -> f64 {
    let dir = golden_dir().join(name);
    let loaded = model_file::load::<F>(&dir.join("model.safetensors"), &LoadOptions::default()).unwrap();
    let model = loaded.model;
    let t = read_tensors(&dir.join("case.safetensors"));
    let x = to3::<F>(&t["x"]);
    let h0 = to3::<F>(&t["h0"]);
    let c0 = t.get("c0").map(to3::<F>);

    let trace = model
        .forward_train_states(
            x.view(),
            Some(h0.view()),
            c0.as_ref().map(|c| c.view()),
            Readout::EveryStep,
            &mut rand::rng(),
        )
        .unwrap();
    let mut worst = 0.0f64;
    let mut check = |what: &str, ours: ArrayD<f64>, theirs: &ArrayD<f64>| {
        let d = max_scaled_diff(&ours, theirs, what);
        assert!(d < TOL, "{name}: {what} differs from PyTorch by {d:e}");
        worst = worst.max(d);
    };
    check("output", widen(trace.rnn().output().into_dyn()), &t["output"]);
    check("h_n", widen(trace.h_n().into_dyn()), &t["h_n"]);
    assert_eq!(trace.c_n().is_some(), t.contains_key("c_n"), "{name}: c_n");
    if let (Some(c_n), Some(theirs)) = (trace.c_n(), t.get("c_n")) {
        check("c_n", widen(c_n.into_dyn()), theirs);
    }
    if let Some(y) = t.get("y") {
        check("y", widen(trace.y().into_dyn()), y);
    }

    let d_y = to3::<F>(&t["loss_weight_y"]);
    let d_hn = to3::<F>(&t["loss_weight_h_n"]);
    let d_cn = t.get("loss_weight_c_n").map(to3::<F>);
    // both backward passes: the one that keeps the trace and the one that works in its memory
    // (which takes no dL/dc_n: a training loss never reads c_n)
    let kept = model.backward_states(&trace, d_y.view(), Some(d_hn.view()), d_cn.as_ref().map(|d| d.view())).unwrap();
    let consumed = d_cn.is_none().then(|| model.backward_owned(trace, d_y.view(), Some(d_hn.view()), true).unwrap());
    let mut n_params = 0;
    for grads in std::iter::once(kept).chain(consumed) {
        check("grad.x", widen(grads.input().expect("input gradient").into_dyn()), &t["grad.x"]);
        check("grad.h0", widen(grads.h0().into_dyn()), &t["grad.h0"]);
        assert_eq!(grads.c0().is_some(), t.contains_key("grad.c0"), "{name}: grad.c0");
        if let (Some(g), Some(theirs)) = (grads.c0(), t.get("grad.c0")) {
            check("grad.c0", widen(g.into_dyn()), theirs);
        }
        let named = grads.named_tensors(model.rnn.config());
        n_params = named.len();
        for (pname, g) in named {
            let key = if loaded.bare {
                format!("grad.{}", pname.trim_start_matches("rnn."))
            } else {
                format!("grad.{pname}")
            };
            let theirs = t.get(&key).unwrap_or_else(|| panic!("{name}: fixture lacks {key}"));
            check(&key, widen(g), theirs);
        }
    }
    // every parameter gradient of the fixture was compared
    let expected =
        t.keys().filter(|k| k.starts_with("grad.") && !["grad.x", "grad.h0", "grad.c0"].contains(&k.as_str())).count();
    assert_eq!(n_params, expected, "{name}: parameter count");
    worst
}

#[test]
fn f32_matches_pytorch_outputs_and_gradients() {
    let names = case_names();
    assert!(names.len() >= 10);
    for name in &names {
        let worst = check_case::<f32>(name);
        eprintln!("{name:<24} f32 max scaled diff {worst:.2e}");
    }
}

#[test]
fn f64_matches_pytorch_outputs_and_gradients() {
    for name in &case_names() {
        let worst = check_case::<f64>(name);
        eprintln!("{name:<24} f64 max scaled diff {worst:.2e}");
    }
}

#[test]
fn files_without_metadata_are_inferred() {
    let nometa =
        model_file::load::<f32>(&golden_dir().join("tanh_1l_nometa/model.safetensors"), &LoadOptions::default())
            .unwrap();
    assert_eq!(nometa.config_source, ConfigSource::Inferred);
    assert!(!nometa.bare);
    let bare =
        model_file::load::<f32>(&golden_dir().join("tanh_2l_bare/model.safetensors"), &LoadOptions::default()).unwrap();
    assert!(bare.bare);
    let c = bare.model.config();
    assert_eq!(
        (c.rnn.input_size, c.rnn.hidden_size, c.rnn.num_layers, c.rnn.bidirectional, c.output_size),
        (3, 5, 2, false, None)
    );
    let with_meta =
        model_file::load::<f32>(&golden_dir().join("tanh_2l_bidir_head/model.safetensors"), &LoadOptions::default())
            .unwrap();
    assert_eq!(with_meta.config_source, ConfigSource::Metadata);
    assert_eq!(with_meta.model.config().output_size, Some(2));
}

#[test]
fn saved_model_reads_back_identically_with_pytorch_names() {
    let src = golden_dir().join("tanh_3l_head_bidir_b1/model.safetensors");
    let loaded = model_file::load::<f32>(&src, &LoadOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("copy.safetensors");
    model_file::save(&loaded.model, &out).unwrap();
    let again = model_file::load::<f32>(&out, &LoadOptions::default()).unwrap();
    assert_eq!(again.model, loaded.model);
    // same tensor names, shapes and values as the file PyTorch wrote
    let (a, b) = (read_tensors(&src), read_tensors(&out));
    let mut names_a: Vec<_> = a.keys().collect();
    let mut names_b: Vec<_> = b.keys().collect();
    names_a.sort();
    names_b.sort();
    assert_eq!(names_a, names_b);
    for (k, v) in &a {
        assert_eq!(v, &b[k], "{k}");
    }
}

/// A state_dict saved in half precision (`module.half()`, `.bfloat16()`) by PyTorch loads with
/// its values widened exactly, and runs to PyTorch's float64 outputs of the same weights
/// (`tests/golden/half/make_half.py`).
#[test]
fn half_precision_state_dicts_run_to_pytorchs_numbers() {
    use rnn::Nonlinearity;
    let dir = golden_dir().join("half");
    let cases = [("lstm_2l_f16", None), ("gru_1l_bidir_bf16", None), ("rnn_1l_relu_f16", Some(Nonlinearity::Relu))];
    for (name, nonlinearity) in cases {
        let options = LoadOptions { nonlinearity, ..Default::default() };
        let loaded = model_file::load::<f64>(&dir.join(format!("{name}.safetensors")), &options).unwrap();
        let half = if name.ends_with("bf16") { safetensors::Dtype::BF16 } else { safetensors::Dtype::F16 };
        assert_eq!((loaded.dtype, loaded.bare), (half, true), "{name}");
        let t = read_tensors(&dir.join(format!("{name}.io.safetensors")));
        let (x, h0, c0) = (to3::<f64>(&t["x"]), to3::<f64>(&t["h0"]), t.get("c0").map(to3::<f64>));
        let (y, h_n, _) =
            loaded.model.rnn.forward_states(x.view(), Some(h0.view()), c0.as_ref().map(|c| c.view())).unwrap();
        let dy = max_scaled_diff(&y.into_dyn(), &t["output"], "output");
        let dh = max_scaled_diff(&h_n.into_dyn(), &t["h_n"], "h_n");
        assert!(dy < 1e-12 && dh < 1e-12, "{name}: output {dy:e}, h_n {dh:e}");
    }
}
