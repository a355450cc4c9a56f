//! The model file's unit tests (a file of their own, beside `model_file.rs`).

use super::*;
use crate::{Init, ModelConfig};

/// A model's tensors as a bare state_dict (no `rnn.` prefix, no head, no metadata).
fn bare_bytes(model: &Model<f64>) -> Vec<u8> {
    let tensors: Vec<(String, Raw)> = model
        .rnn
        .named_tensors()
        .into_iter()
        .map(|(name, t)| {
            let mut data = Vec::new();
            t.iter().for_each(|v| v.push_le_bytes(&mut data));
            (name, Raw { shape: t.shape().to_vec(), dtype: Dtype::F64, data })
        })
        .collect();
    safetensors::serialize(tensors.iter().map(|(n, r)| (n.as_str(), r)), None).unwrap()
}

fn indrnn(act: Nonlinearity, recurrent_max: Option<f64>, output_size: Option<usize>) -> Model<f64> {
    let rnn = RnnConfig::new(3, 5)
        .with_cell(Cell::IndRnn)
        .with_nonlinearity(act)
        .with_num_layers(2)
        .with_bidirectional(true)
        .with_recurrent_max(recurrent_max);
    Model::new(ModelConfig { rnn, output_size }, Init::PyTorch, 3).unwrap()
}

#[test]
fn a_layer_missing_a_tensor_is_named() {
    assert_eq!((layer_of("weight_ih_l0"), layer_of("bias_hh_l12_reverse")), (Some(0), Some(12)));
    assert_eq!((layer_of("weight"), layer_of("weight_ih_lx"), layer_of("foo_l1")), (None, None, None));
    let model = Model::<f64>::new(
        ModelConfig { rnn: RnnConfig::new(3, 4).with_cell(Cell::Gru).with_num_layers(3), output_size: None },
        Init::PyTorch,
        5,
    )
    .unwrap();
    let bytes = bare_bytes(&model);
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<_> = st.tensors().into_iter().filter(|(n, _)| !n.ends_with("weight_ih_l2")).collect();
    let bytes = safetensors::serialize(kept, None).unwrap();
    let err = from_bytes::<f64>(&bytes, Path::new("m.safetensors"), &LoadOptions::default()).unwrap_err();
    assert!(err.to_string().ends_with("weight_ih_l2` is missing"), "{err}");
}

#[test]
fn half_precision_is_widened_exactly() {
    // 1, -2 and 65504 (its largest) in f16; 1 and 3.140625 in bf16, little-endian
    let f16 = decode::<f64>(Dtype::F16, &[0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]).unwrap();
    assert_eq!(f16, [1.0, -2.0, 65504.0]);
    assert_eq!(decode::<f32>(Dtype::BF16, &[0x80, 0x3f, 0x49, 0x40]).unwrap(), [1.0, 3.140625]);
    assert_eq!(decode::<f32>(Dtype::I32, &[0; 4]), None);
    // a GRU state_dict saved with `.half()`: each weight loads as its f16 value
    let model = Model::<f64>::new(
        ModelConfig { rnn: RnnConfig::new(3, 4).with_cell(Cell::Gru), output_size: None },
        Init::PyTorch,
        5,
    )
    .unwrap();
    let tensors: Vec<(String, Raw)> = model
        .rnn
        .named_tensors()
        .into_iter()
        .map(|(name, t)| {
            let data = t.iter().flat_map(|&v| half::f16::from_f64(v).to_le_bytes()).collect();
            (name, Raw { shape: t.shape().to_vec(), dtype: Dtype::F16, data })
        })
        .collect();
    let bytes = safetensors::serialize(tensors.iter().map(|(n, r)| (n.as_str(), r)), None).unwrap();
    let loaded = from_bytes::<f32>(&bytes, Path::new("half.safetensors"), &LoadOptions::default()).unwrap();
    assert_eq!((loaded.dtype, loaded.model.config().rnn.cell), (Dtype::F16, Cell::Gru));
    for ((name, want), (_, got)) in model.rnn.named_tensors().iter().zip(loaded.model.rnn.named_tensors()) {
        let rounded = want.mapv(|v| half::f16::from_f64(v).to_f32());
        assert_eq!(got, rounded, "{name}");
    }
}

#[test]
fn indrnn_files_round_trip_with_a_vector_weight_hh() {
    let model = indrnn(Nonlinearity::Tanh, Some(0.8), Some(2));
    let bytes = to_bytes(&model, &HashMap::new()).unwrap();
    let loaded = from_bytes::<f64>(&bytes, Path::new("m.safetensors"), &LoadOptions::default()).unwrap();
    assert_eq!(loaded.model, model);
    let json: serde_json::Value = serde_json::from_str(&loaded.metadata[CONFIG_KEY]).unwrap();
    assert_eq!((json["mode"].as_str(), json["nonlinearity"].as_str()), (Some("INDRNN"), Some("tanh")));
    assert_eq!(json["recurrent_max"].as_f64(), Some(0.8));
    let names = model.named_tensors();
    let u = names.iter().find(|(n, _)| n == "rnn.weight_hh_l1_reverse").unwrap();
    assert_eq!(u.1.shape(), &[5]);
    assert!(u.1.iter().all(|v| (0.0..=0.8).contains(v)), "U(0, 1) clamped to 0.8");
    // asking for another activation than the file's is refused, naming both
    let tanh = LoadOptions { nonlinearity: Some(Nonlinearity::Relu), ..Default::default() };
    let err = from_bytes::<f64>(&bytes, Path::new("m.safetensors"), &tanh).unwrap_err().to_string();
    assert!(err.contains("tanh (INDRNN)") && err.contains("relu was asked for"), "{err}");
}

#[test]
fn residual_survives_the_file_and_is_left_out_when_off() {
    for residual in [true, false] {
        let rnn = RnnConfig::new(4, 4).with_cell(Cell::Gru).with_num_layers(3).with_residual(residual);
        let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 3).unwrap();
        let bytes = to_bytes(&model, &HashMap::new()).unwrap();
        let loaded = from_bytes::<f64>(&bytes, Path::new("m.safetensors"), &LoadOptions::default()).unwrap();
        assert_eq!(loaded.model, model);
        let json: serde_json::Value = serde_json::from_str(&loaded.metadata[CONFIG_KEY]).unwrap();
        // off: exactly PyTorch's arguments, no key of ours
        assert_eq!(json.get("residual").and_then(|v| v.as_bool()), residual.then_some(true));
    }
}

#[test]
fn a_bare_state_dict_with_a_vector_weight_hh_is_an_indrnn() {
    let model = indrnn(Nonlinearity::Relu, None, None);
    let bytes = bare_bytes(&model);
    let loaded = from_bytes::<f64>(&bytes, Path::new("b.safetensors"), &LoadOptions::default()).unwrap();
    assert_eq!(loaded.config_source, ConfigSource::Inferred);
    assert!(loaded.bare);
    let c = loaded.model.rnn.config();
    assert_eq!(
        (c.cell, c.nonlinearity, c.hidden_size, c.num_layers, c.bidirectional),
        (Cell::IndRnn, Nonlinearity::Relu, 5, 2, true)
    );
    assert_eq!(loaded.model.rnn, model.rnn);
    // the activation is not in the file: relu unless asked for, and said to be assumed
    assert_eq!(loaded.assumed_nonlinearity, Some(Nonlinearity::Relu));
    let tanh = LoadOptions { nonlinearity: Some(Nonlinearity::Tanh), ..Default::default() };
    let loaded = from_bytes::<f64>(&bytes, Path::new("b.safetensors"), &tanh).unwrap();
    assert_eq!(loaded.model.rnn.config().nonlinearity, Nonlinearity::Tanh);
    assert_eq!(loaded.assumed_nonlinearity, None);
}

#[test]
fn a_weight_hh_that_fits_no_cell_is_named_in_one_line() {
    let mut model = indrnn(Nonlinearity::Relu, None, None);
    // layer 0's recurrent weight [7, 5]: neither [H] nor [G*H, H] for H = 5
    model.rnn.layers_mut()[0].weight_hh_diag = None;
    model.rnn.layers_mut()[0].weight_hh = Array2::zeros((7, 5));
    let err = from_bytes::<f64>(&bare_bytes(&model), Path::new("x.safetensors"), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("[7, 5], which fits no cell") && err.contains("[H] (IndRNN)"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn modules_named_otherwise_load_with_their_names_and_are_pointed_at_without() {
    let rnn = RnnConfig::new(3, 4).with_cell(Cell::Gru).with_num_layers(2);
    let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(2) }, Init::PyTorch, 1).unwrap();
    let names = ModuleNames { rnn: "model.encoder".into(), head: "fc".into() };
    let bytes = state_dict_bytes(&model, &names).unwrap();
    let options = LoadOptions { modules: Some(names.clone()), ..Default::default() };
    let loaded = from_bytes::<f64>(&bytes, Path::new("sd.safetensors"), &options).unwrap();
    assert_eq!(loaded.model, model);
    assert_eq!(loaded.metadata.get("format").map(String::as_str), Some("pt"));
    // without metadata: the head is found under its name too
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    assert!(header.tensors().keys().any(|k| k == "fc.weight"));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let plain: Vec<(String, Raw)> = st
        .iter()
        .map(|(n, t)| (n.to_string(), Raw { shape: t.shape().to_vec(), dtype: t.dtype(), data: t.data().to_vec() }))
        .collect();
    let plain = safetensors::serialize(plain.iter().map(|(n, r)| (n.as_str(), r)), None).unwrap();
    let loaded = from_bytes::<f64>(&plain, Path::new("sd.safetensors"), &options).unwrap();
    assert_eq!((loaded.config_source, loaded.model.config().output_size), (ConfigSource::Inferred, Some(2)));
    assert_eq!(loaded.model, model);
    // without the names: one line saying what the module is called
    let err = from_bytes::<f64>(&bytes, Path::new("sd.safetensors"), &LoadOptions::default()).unwrap_err();
    let err = err.to_string();
    assert!(err.contains("its RNN module is named `model.encoder`"), "{err}");
    assert_eq!(err.lines().count(), 1);
    // a wrong head name: the head's tensors are not the model's
    let wrong = LoadOptions { modules: Some(ModuleNames { head: "head".into(), ..names }), ..Default::default() };
    let err = from_bytes::<f64>(&bytes, Path::new("sd.safetensors"), &wrong).unwrap_err().to_string();
    assert!(err.contains("`head.weight` is missing"), "{err}");
}
