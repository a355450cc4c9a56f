//! The `rnn` binary on bad input: one clean line naming the file or tensor, exit status 1, and
//! nothing written (moved out of `cli.rs`, whose fixtures and helpers it uses).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::Path;

use ndarray::{Array2, Array3};
use rnn::data::npy;
use rnn::model_file;
use rnn::{Init, Model, ModelConfig, RnnConfig};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use tempfile::TempDir;

use super::cli::{failed, golden, listing, rnn, wavy};

/// Writes a `.npy` (version 1.0) by hand, so any dtype or header can be produced.
fn write_raw_npy(path: &Path, descr: &str, shape: &str, data: &[u8]) {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

/// A small model file written by the library: 2 layers, I = 3, H = 4, bidirectional, head 2.
fn library_model_bytes() -> Vec<u8> {
    let config =
        ModelConfig { rnn: RnnConfig::new(3, 4).with_num_layers(2).with_bidirectional(true), output_size: Some(2) };
    let model = Model::<f32>::new(config, Init::PyTorch, 11).unwrap();
    model_file::to_bytes(&model, &HashMap::new()).unwrap()
}

/// Re-serialises safetensors `bytes` (keeping the metadata) after `edit` changed the tensor list.
fn rewrite_safetensors<'a>(bytes: &'a [u8], edit: impl FnOnce(&mut Vec<(String, TensorView<'a>)>)) -> Vec<u8> {
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let metadata = header.metadata().clone();
    let st = SafeTensors::deserialize(bytes).unwrap();
    let mut tensors = st.tensors();
    edit(&mut tensors);
    safetensors::serialize(tensors, metadata).unwrap()
}

/// Runs `rnn forward` expecting a clean failure that names `culprit` and writes nothing into
/// `dir` (outputs go to `dir/y.npy` and `dir/hn.npy`). Returns the error line.
fn forward_fails(dir: &TempDir, model: &Path, input: &Path, extra: &[&dyn AsRef<OsStr>], culprit: &Path) -> String {
    let before = listing(dir.path());
    let (y, hn) = (dir.path().join("y.npy"), dir.path().join("hn.npy"));
    let mut args: Vec<&dyn AsRef<OsStr>> =
        vec![&"forward", &"--model", &model, &"--input", &input, &"--output", &y, &"--hn", &hn];
    args.extend_from_slice(extra);
    let line = failed(&rnn(&args), culprit);
    assert_eq!(listing(dir.path()), before, "a failed run left files behind");
    line
}

/// Runs `rnn forward` of the relu_3l fixture on an input file `name` that `write` makes in a
/// fresh folder, expecting a clean failure that names it (see [`forward_fails`]).
fn input_fails(name: &str, write: impl FnOnce(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    write(&input);
    forward_fails(&dir, &golden("relu_3l", "model.safetensors"), &input, &[], &input)
}

#[test]
fn missing_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("no-such-model.safetensors");
    let line = forward_fails(&dir, &model, &golden("relu_3l", "x.npy"), &[], &model);
    assert!(line.contains("No such file"), "{line}");
    failed(&rnn(&[&"inspect", &model]), &model);
}

#[test]
fn missing_input_file() {
    let line = input_fails("no-such-input.npy", |_| {});
    assert!(line.contains("No such file"), "{line}");
}

#[test]
fn model_file_that_is_not_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("garbage.safetensors");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(&model, bytes).unwrap();
    let line = forward_fails(&dir, &model, &golden("relu_3l", "x.npy"), &[], &model);
    assert!(line.contains("not a valid safetensors file"), "{line}");
    failed(&rnn(&[&"inspect", &model]), &model);

    // Also a .npy given as the model, and a model given as the input.
    let npy_as_model = golden("relu_3l", "x.npy");
    forward_fails(&dir, &npy_as_model, &golden("relu_3l", "x.npy"), &[], &npy_as_model);
    let model_as_npy = golden("relu_3l", "model.safetensors");
    let line = forward_fails(&dir, &model_as_npy, &model_as_npy, &[], &model_as_npy);
    assert!(line.contains(".npy"), "{line}");
}

#[test]
fn input_of_dtype_int64() {
    let line = input_fails("ints.npy", |input| {
        let data: Vec<u8> = (0..6i64).flat_map(i64::to_le_bytes).collect();
        write_raw_npy(input, "<i8", "(2, 1, 3)", &data);
    });
    assert!(line.contains("<i8") && line.contains("float32 or float64"), "{line}");
}

#[test]
fn truncated_input() {
    let line = input_fails("short.npy", |input| {
        write_raw_npy(input, "<f4", "(2, 1, 3)", &[0; 8]);
    });
    assert!(line.contains("truncated"), "{line}");
}

#[test]
fn input_of_rank_2() {
    let line = input_fails("x2d.npy", |input| {
        npy::write(input, Array2::<f32>::zeros((4, 3)).view()).unwrap();
    });
    assert!(line.contains("expected [seq_len, batch, input_size], got shape [4, 3]"), "{line}");
}

#[test]
fn input_with_zero_steps() {
    let line = input_fails("empty.npy", |input| {
        npy::write(input, Array3::<f32>::zeros((0, 2, 3)).view()).unwrap();
    });
    assert!(line.contains("seq_len must be at least 1"), "{line}");
}

#[test]
fn input_with_the_wrong_input_size() {
    let line = input_fails("x4.npy", |input| {
        npy::write(input, wavy(4, 2, 4, 0.0).view()).unwrap();
    });
    assert!(line.ends_with("input has 4 features per step but the model expects 3 (input_size)"), "{line}");
}

#[test]
fn h0_of_the_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let h0 = dir.path().join("h0.npy");
    // relu_3l wants [3, 2, 5]; give it the batch of another input.
    npy::write(&h0, Array3::<f32>::zeros((3, 4, 5)).view()).unwrap();
    let line =
        forward_fails(&dir, &golden("relu_3l", "model.safetensors"), &golden("relu_3l", "x.npy"), &[&"--h0", &h0], &h0);
    assert!(line.contains("[3, 2, 5]") && line.contains("[3, 4, 5]"), "{line}");

    // rank 2 too
    npy::write(&h0, Array2::<f32>::zeros((3, 5)).view()).unwrap();
    forward_fails(&dir, &golden("relu_3l", "model.safetensors"), &golden("relu_3l", "x.npy"), &[&"--h0", &h0], &h0);
}

#[test]
fn model_with_a_missing_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("partial.safetensors");
    let bytes = rewrite_safetensors(&library_model_bytes(), |tensors| {
        tensors.retain(|(name, _)| name != "rnn.weight_hh_l1_reverse")
    });
    assert!(SafeTensors::read_metadata(&bytes).unwrap().1.metadata().as_ref().unwrap().contains_key("rnn.config"));
    std::fs::write(&model, bytes).unwrap();
    let input = dir.path().join("x.npy");
    npy::write(&input, wavy(3, 2, 3, 0.0).view()).unwrap();
    let line = forward_fails(&dir, &model, &input, &[], &model);
    assert!(line.contains("`rnn.weight_hh_l1_reverse`") && line.contains("missing"), "{line}");
    let line = failed(&rnn(&[&"inspect", &model]), &model);
    assert!(line.contains("rnn.weight_hh_l1_reverse"), "{line}");
}

#[test]
fn model_with_an_integer_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("int.safetensors");
    let ints = vec![0u8; 4 * 3 * 4]; // rnn.weight_ih_l0 is [4, 3]
    let bytes = rewrite_safetensors(&library_model_bytes(), |tensors| {
        for (name, view) in tensors.iter_mut() {
            if name == "rnn.weight_ih_l0" {
                *view = TensorView::new(Dtype::I32, vec![4, 3], &ints).unwrap();
            }
        }
    });
    std::fs::write(&model, bytes).unwrap();
    let input = dir.path().join("x.npy");
    npy::write(&input, wavy(3, 2, 3, 0.0).view()).unwrap();
    let line = forward_fails(&dir, &model, &input, &[], &model);
    assert!(line.contains("I32") && line.contains("only F32, F64 and the half precisions"), "{line}");
    failed(&rnn(&[&"inspect", &model]), &model);
}

#[test]
fn nonlinearity_that_contradicts_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let model = golden("tanh_2l_bidir_head", "model.safetensors");
    let line =
        forward_fails(&dir, &model, &golden("tanh_2l_bidir_head", "x.npy"), &[&"--nonlinearity", &"relu"], &model);
    assert!(line.contains("tanh") && line.contains("relu"), "{line}");
    failed(&rnn(&[&"inspect", &"--nonlinearity", &"relu", &model]), &model);
}

#[test]
fn unwritable_or_clashing_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (model, x) = (golden("relu_3l", "model.safetensors"), golden("relu_3l", "x.npy"));
    let y = dir.path().join("missing-folder").join("y.npy");
    failed(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--output", &y]), &y);

    // h_n's folder is missing: caught before y is written.
    let (ok_y, bad_hn) = (dir.path().join("y.npy"), dir.path().join("missing-folder").join("hn.npy"));
    failed(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--output", &ok_y, &"--hn", &bad_hn]), &bad_hn);
    assert!(!ok_y.exists());

    let same = dir.path().join("same.npy");
    failed(&rnn(&[&"forward", &"--model", &model, &"--input", &x, &"--output", &same, &"--hn", &same]), &same);
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn init_with_an_invalid_size() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    for (flag, value, needle) in [
        ("--hidden-size", "0", "hidden_size must be at least 1"),
        ("--num-layers", "0", "num_layers must be at least 1"),
        ("--output-size", "0", "output_size must be at least 1"),
        ("--dropout", "1", "dropout must be in [0, 1)"),
    ] {
        let mut args: Vec<&dyn AsRef<OsStr>> = vec![&"init", &"--input-size", &"3", &"--out", &model, &flag, &value];
        if flag != "--hidden-size" {
            args.extend_from_slice(&[&"--hidden-size", &"4"]);
        }
        let line = failed(&rnn(&args), &model);
        assert!(line.contains(needle), "{line}");
        assert!(listing(dir.path()).is_empty(), "no model file written");
    }
}

/// Regression: a tiny file whose header claims a huge shape once made `npy::read` allocate the
/// claimed array and abort; the header is now checked against the file length first.
#[test]
fn input_claiming_a_huge_shape() {
    input_fails("huge.npy", |input| {
        write_raw_npy(input, "<f4", "(1099511627776, 1, 3)", &[0; 12]);
    });
}
