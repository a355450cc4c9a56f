//! Sizes from the command line or a file that no machine can hold, or that overflow, are
//! refused early in one line with a non-zero exit (1; 2 for a malformed flag value, as clap's
//! usage errors): never an aborted allocation (134), a panic (101) or a long wait.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::Array3;
use tempfile::TempDir;

const MAX: &str = "18446744073709551615";

fn rnn(args: &[&dyn AsRef<OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args.iter().map(|a| a.as_ref())).output().expect("the rnn binary runs")
}

/// The one line on stderr of a run that must fail with `code`.
fn refused(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    if code == 1 {
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("rnn: "), "{err}");
    }
    err
}

/// `x.npy` [8, 5, 2] and `y.npy` [8, 5, 1] in a new folder.
fn data() -> (TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    rnn::io::npy::write(&x, Array3::<f32>::from_elem((8, 5, 2), 0.5).view()).unwrap();
    rnn::io::npy::write(&y, Array3::<f32>::from_elem((8, 5, 1), 0.1).view()).unwrap();
    (dir, x, y)
}

fn train_seq(extra: &[&str]) -> Output {
    let (dir, x, y) = data();
    let out = dir.path().join("m.safetensors");
    let mut args: Vec<&dyn AsRef<OsStr>> =
        vec![&"train", &"--inputs", &x, &"--targets", &y, &"--out", &out, &"-q", &"--epochs", &"1"];
    args.extend(extra.iter().map(|a| a as &dyn AsRef<OsStr>));
    rnn(&args)
}

#[test]
fn a_model_too_large_for_memory_is_refused_with_the_estimate() {
    // was: "memory allocation of 40000000000 bytes failed", exit 134
    let err = refused(&train_seq(&["--hidden", "100000"]), 1);
    assert!(err.starts_with("rnn: refused: this needs about "), "{err}");
    assert!(
        err.contains("parameters ") && err.contains("--max-memory is ") && err.contains("raise --max-memory"),
        "{err}"
    );
    let err = refused(&train_seq(&["--hidden", "2000", "--max-memory", "100M"]), 1);
    assert!(err.contains("but --max-memory is 100.0 MB; lower --hidden"), "{err}");
}

#[test]
fn sizes_that_overflow_are_refused_not_panicking() {
    // was: a panic in ndarray, exit 101
    let err = refused(&train_seq(&["--hidden", MAX]), 1);
    assert!(err.contains("more memory than 64 bits can count"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("i.safetensors");
    let err = refused(&rnn(&[&"init", &"--input-size", &MAX, &"--hidden-size", &"4", &"--out", &out]), 1);
    assert!(err.contains("64 bits"), "{err}");
    let err = refused(&rnn(&[&"experiment", &"adding", &"--length", &MAX, &"--no-plot"]), 1);
    assert!(err.contains("64 bits") && err.contains("--length"), "{err}");
}

#[test]
fn max_memory_is_on_every_command_that_allocates_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("i.safetensors");
    let err = refused(
        &rnn(&[&"init", &"--input-size", &"3", &"--hidden-size", &"64", &"--out", &out, &"--max-memory", &"10K"]),
        1,
    );
    assert!(err.contains("--max-memory is 10.0 KB"), "{err}");
    assert!(!out.exists());
    let err = refused(&rnn(&[&"bench", &"--max-memory", &"1M"]), 1);
    assert!(err.starts_with("rnn: refused: this needs about") && err.ends_with("raise --max-memory"), "{err}");
    let err = refused(&rnn(&[&"experiment", &"copy", &"--hidden", &"100000", &"--no-plot"]), 1);
    assert!(err.contains("refused"), "{err}");

    let (dir, x, _) = data();
    let model = dir.path().join("m.safetensors");
    rnn(&[&"init", &"--input-size", &"2", &"--hidden-size", &"3", &"--out", &model]);
    let o = dir.path().join("o.npy");
    let err =
        refused(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--output", &o, &"--max-memory", &"1K"]), 1);
    assert!(err.contains("seq_len or batch or raise --max-memory"), "{err}");
    assert!(!o.exists());
    // a malformed size is a usage error
    let err =
        refused(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--output", &o, &"--max-memory", &"4X"]), 2);
    assert!(err.contains("`4X` is not a size"), "{err}");
}

#[test]
fn a_layer_count_far_beyond_sense_is_refused() {
    let err = refused(&train_seq(&["--hidden", "1", "--layers", "2000"]), 1);
    assert!(err.contains("num_layers must be at most 1024, got 2000"), "{err}");
    // large enough to be refused by the estimate before anything is built
    let err = refused(&train_seq(&["--layers", "100000000"]), 1);
    assert!(err.contains("refused"), "{err}");
}

fn series(dir: &Path, rows: usize) -> PathBuf {
    let path = dir.join("s.csv");
    let body: String = (0..rows).map(|i| format!("{},{}\n", 2000 + i, (i as f64 * 0.7).sin())).collect();
    std::fs::write(&path, format!("year,value\n{body}")).unwrap();
    path
}

#[test]
fn a_window_or_horizon_longer_than_the_series_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = series(dir.path(), 20);
    let out = dir.path().join("f.safetensors");
    for (flag, value) in [("--window", "100"), ("--horizon", MAX), ("--window", MAX), ("--season", "50")] {
        // was: the horizon of 2^64 - 1 never returned
        let err = refused(&rnn(&[&"train", &"--task", &"forecast", &"--data", &csv, &flag, &value, &"--out", &out]), 1);
        let name = flag.trim_start_matches("--");
        assert!(err.contains(&format!("{name} {value} is not shorter than the longest series (20 rows)")), "{err}");
    }
}

#[test]
fn forecast_steps_beyond_sense_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = series(dir.path(), 60);
    let model = dir.path().join("f.safetensors");
    let out = rnn(&[
        &"train",
        &"--task",
        &"forecast",
        &"--data",
        &csv,
        &"--epochs",
        &"1",
        &"--transform",
        &"zscore",
        &"-q",
        &"--out",
        &model,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // was: "capacity overflow", exit 101
    let err = refused(&rnn(&[&"forecast", &"--model", &model, &"--data", &csv, &"--steps", &MAX]), 1);
    assert!(err.contains("--steps must be between 1 and 100000"), "{err}");
}

/// A safetensors file with this JSON header and `body`.
fn safetensors(path: &Path, header: &str, body: &[u8]) {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(body);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn model_file_headers_with_huge_or_overflowing_shapes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let w = |shape: &str| format!(r#"{{"rnn.weight_ih_l0":{{"dtype":"F32","shape":{shape},"data_offsets":[0,16]}}}}"#);
    let config = r#"{"__metadata__":{"rnn.config":"{\"input_size\":2,\"hidden_size\":18446744073709551615}"},"rnn.weight_ih_l0":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
    let cases = [
        (w("[100000000,100000000]"), "invalid shape, data type, or offset"),
        (w("[18446744073709551615,2]"), "overflow"),
        (config.to_string(), "expected [18446744073709551615, 2]"),
    ];
    for (header, want) in cases {
        safetensors(&path, &header, &[0; 16]);
        let err = refused(&rnn(&[&"inspect", &path]), 1);
        assert!(err.contains(want), "{err}");
    }
    // a header length of 2^63
    let mut bytes = (1u64 << 63).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, bytes).unwrap();
    assert!(refused(&rnn(&[&"inspect", &path]), 1).contains("header too large"));
}

/// A `.npy` file whose header claims `shape` over a 16-byte body.
fn npy(path: &Path, shape: &str) {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    header.push_str(&" ".repeat(118 - header.len()));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 16]);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn npy_headers_claiming_huge_shapes_are_refused_before_allocating() {
    let (dir, _, y) = data();
    let x = dir.path().join("huge.npy");
    let out = dir.path().join("m.safetensors");
    for (shape, want) in
        [("(1000000000, 1000000000)", "the file is truncated"), (&format!("({MAX}, 2)")[..], "too large")]
    {
        npy(&x, shape);
        let err = refused(&rnn(&[&"train", &"--inputs", &x, &"--targets", &y, &"--out", &out]), 1);
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn a_character_model_too_large_is_refused_before_its_data_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("t.txt");
    std::fs::write(&text, "hello world, this is a text. ".repeat(20)).unwrap();
    let out = dir.path().join("c.safetensors");
    let err =
        refused(&rnn(&[&"train", &"--task", &"charlm", &"--data", &text, &"--hidden", &"3000000", &"--out", &out]), 1);
    assert!(err.contains("refused: this needs about") && err.contains("data "), "{err}");
    let err = refused(&rnn(&[&"train", &"--task", &"charlm", &"--data", &text, &"--sample", &MAX, &"--out", &out]), 1);
    assert!(err.contains("--sample must be at most 1000000"), "{err}");
}

/// `RNN_ISA` narrows the kernels' instruction set (never widens it), and a value that names
/// none is refused in one line before any work.
#[test]
fn the_instruction_set_can_be_narrowed_and_a_wrong_one_is_refused() {
    let bench = |isa: &str| {
        Command::new(env!("CARGO_BIN_EXE_rnn"))
            .args(["bench", "--stream-only", "--json", "--min-time", "0.01"])
            .env("RNN_ISA", isa)
            .output()
            .expect("the rnn binary runs")
    };
    let err = refused(&bench("sse9"), 1);
    assert_eq!(err, "rnn: invalid configuration: RNN_ISA=sse9 is not an instruction set: avx512, avx2 or portable");
    let isa_of = |out: Output| {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        json["isa"].as_str().expect("an isa key").to_string()
    };
    assert_eq!(isa_of(bench("Portable")), "portable");
    let widest = isa_of(bench("avx512"));
    let avx2 = isa_of(bench("avx2"));
    match widest.as_str() {
        "avx512" | "avx2" => assert_eq!(avx2, "avx2"),
        _ => assert_eq!(avx2, "portable"),
    }
}
