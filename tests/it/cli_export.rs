//! `rnn export` and `rnn import` end to end: an ONNX file that decodes as the graph expected, a
//! PyTorch state_dict with modules named `encoder`/`fc` that `rnn forward` and `rnn inspect`
//! read with the same names and `rnn import` turns back into the same model file, and one
//! clean line (exit status 1, nothing written) for a model ONNX cannot express, flags of the
//! other format, an output folder that does not exist and modules looked for under the wrong
//! name. ONNX Runtime's numbers are checked by `tests/onnx/check.py`.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use prost::Message;
use rnn::io::onnx::proto::ModelProto;

fn rnn(args: &[&dyn AsRef<OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args.iter().map(|a| a.as_ref())).output().expect("the rnn binary runs")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "rnn failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// Exit status 1 and one `rnn: ` line on stderr containing `needle`.
fn failed(out: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "expected exit status 1, got {}; stderr: {stderr}", out.status);
    assert!(stderr.ends_with('\n') && stderr.matches('\n').count() == 1, "expected one line, got {stderr:?}");
    assert!(stderr.starts_with("rnn: ") && stderr.contains(needle), "{stderr}");
    stderr.trim_end().to_string()
}

fn init(dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut args: Vec<&dyn AsRef<OsStr>> =
        vec![&"init", &"--input-size", &"3", &"--hidden-size", &"4", &"--out", &path];
    args.extend(extra.iter().map(|a| a as &dyn AsRef<OsStr>));
    ok(&rnn(&args));
    path
}

#[test]
fn onnx_export_writes_one_operator_node_per_layer() {
    let dir = tempfile::tempdir().unwrap();
    let model = init(dir.path(), "g.safetensors", &["--cell", "gru", "--num-layers", "3", "--output-size", "2"]);
    let out = dir.path().join("g.onnx");
    let text = ok(&rnn(&[&"export", &"--model", &model, &"--format", &"onnx", &"--output", &out, &"--final-state"]));
    assert!(text.contains("opset 14") && text.contains("outputs output, h_n"), "{text}");
    let proto = ModelProto::decode(std::fs::read(&out).unwrap().as_slice()).unwrap();
    let graph = proto.graph.unwrap();
    let ops: Vec<&str> = graph.node.iter().filter_map(|n| n.op_type.as_deref()).collect();
    assert_eq!(ops.iter().filter(|o| **o == "GRU").count(), 3, "{ops:?}");
    assert_eq!(graph.input.len(), 1);
    assert_eq!(graph.output.len(), 2);
}

#[test]
fn pytorch_export_with_module_names_loads_with_the_same_names_and_imports_back() {
    let dir = tempfile::tempdir().unwrap();
    let model = init(dir.path(), "m.safetensors", &["--cell", "lstm", "--bidirectional", "--output-size", "1"]);
    let sd = dir.path().join("sd.safetensors");
    let names: [&dyn AsRef<OsStr>; 4] = [&"--prefix", &"encoder", &"--head-prefix", &"fc"];
    let mut args: Vec<&dyn AsRef<OsStr>> =
        vec![&"export", &"--model", &model, &"--format", &"pytorch", &"--output", &sd];
    args.extend(names);
    ok(&rnn(&args));
    // the tensors are named after the modules
    let bytes = std::fs::read(&sd).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensor_names: Vec<&str> = st.names();
    tensor_names.sort_unstable();
    assert_eq!(tensor_names[0], "encoder.bias_hh_l0");
    assert!(tensor_names.contains(&"fc.weight") && !tensor_names.iter().any(|n| n.starts_with("rnn.")));

    // refused without the names, in one line that says what the module is called
    failed(&rnn(&[&"inspect", &sd]), "its RNN module is named `encoder`");
    // inspect read with them shows the names as in the file, in text and in JSON
    let mut args: Vec<&dyn AsRef<OsStr>> = vec![&"inspect", &sd];
    args.extend(names);
    let text = ok(&rnn(&args));
    let rows: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().next()).collect();
    for name in ["encoder.weight_ih_l0", "encoder.weight_hh_l0_reverse", "fc.weight", "fc.bias"] {
        assert!(rows.contains(&name), "no row {name} in:\n{text}");
    }
    assert!(!rows.iter().any(|r| r.starts_with("rnn.") || r.starts_with("head.")), "{text}");
    args.push(&"--json");
    let json: serde_json::Value = serde_json::from_str(&ok(&rnn(&args))).unwrap();
    let json_names: Vec<&str> = json["tensors"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    let text_names: Vec<&str> =
        rows.iter().copied().filter(|r| r.starts_with("encoder.") || r.starts_with("fc.")).collect();
    assert_eq!(json_names, text_names);
    // read with them: forward gives the model's own output
    let x = dir.path().join("x.npy");
    ndarray_npy::write_npy(&x, &ndarray::Array3::<f32>::from_shape_fn((4, 2, 3), |(t, b, i)| (t + b * i) as f32 * 0.1))
        .unwrap();
    let (y1, y2) = (dir.path().join("y1.npy"), dir.path().join("y2.npy"));
    ok(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--output", &y1]));
    let mut args: Vec<&dyn AsRef<OsStr>> = vec![&"forward", &"--model", &sd, &"--input", &x, &"--output", &y2];
    args.extend(names);
    ok(&rnn(&args));
    assert_eq!(std::fs::read(&y1).unwrap(), std::fs::read(&y2).unwrap());

    // import writes the same model file
    let back = dir.path().join("back.safetensors");
    let mut args: Vec<&dyn AsRef<OsStr>> = vec![&"import", &"--input", &sd, &"--output", &back];
    args.extend(names);
    ok(&rnn(&args));
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&model).unwrap());
}

#[test]
fn bad_requests_get_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let proj = init(dir.path(), "p.safetensors", &["--cell", "lstm", "--proj-size", "2"]);
    let out = dir.path().join("p.onnx");
    let line = failed(&rnn(&[&"export", &"--model", &proj, &"--format", &"onnx", &"--output", &out]), "proj_size 2");
    assert!(line.contains("p.safetensors"), "{line}");
    assert!(!out.exists());

    let model = init(dir.path(), "m.safetensors", &[]);
    let sd = dir.path().join("sd.safetensors");
    failed(
        &rnn(&[&"export", &"--model", &model, &"--format", &"pytorch", &"--output", &sd, &"--final-state"]),
        "--format onnx",
    );
    failed(
        &rnn(&[&"export", &"--model", &model, &"--format", &"onnx", &"--output", &out, &"--prefix", &"enc"]),
        "--format pytorch",
    );
    let missing = dir.path().join("no/such/folder/m.onnx");
    failed(&rnn(&[&"export", &"--model", &model, &"--format", &"onnx", &"--output", &missing]), "does not exist");
    assert!(!out.exists() && !sd.exists());

    // a state_dict read under names it does not have
    let back = dir.path().join("back.safetensors");
    failed(
        &rnn(&[&"import", &"--input", &model, &"--output", &back, &"--prefix", &"encoder"]),
        "no tensor `encoder.weight_ih_l0`",
    );
    assert!(!back.exists());
}
