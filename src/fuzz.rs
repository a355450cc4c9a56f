//! The bodies of the fuzz targets: each takes arbitrary bytes and must return, without
//! panicking and without a huge allocation, whatever they hold. `fuzz/` runs them under
//! libFuzzer (coverage-guided, nightly); `tests/fuzz_smoke.rs` runs them on mutated seeds in
//! the normal test suite. Not an API for users.

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array3;

use crate::io::npy;
use crate::model_file::{self, LoadOptions};
use crate::nn::memory::{self, Workload};
use crate::tasks::charlm::{StreamLayout, Vocab, decode_text, split_tail};
use crate::tasks::forecast::{Columns, Part, Plan, Settings, table};
use crate::{Init, Model, ModelConfig, RnnConfig};

/// What a target may allocate for what it builds from one input (the harnesses fail on any
/// single allocation above 256 MB).
pub const BUDGET: u64 = 32 << 20;

/// A model file's bytes: parsed, and a model that loads is run one step and saved again.
pub fn model_file(data: &[u8]) {
    let path = Path::new("fuzz.safetensors");
    let _ = model_file::read_tensors::<f32>(data, path);
    let Ok(loaded) = model_file::from_bytes::<f32>(data, path, &LoadOptions::default()) else { return };
    let model = loaded.model;
    let input = model.rnn.config().input_size;
    let x = Array3::<f32>::from_elem((2, 1, input), 0.5);
    model.rnn.forward(x.view(), None).expect("a loaded model runs on an input of its size");
    let bytes = model_file::to_bytes(&model, &HashMap::new()).expect("a loaded model saves");
    model_file::from_bytes::<f32>(&bytes, path, &LoadOptions::default()).expect("a saved model loads");
}

/// The `rnn.config` metadata JSON: parsed and validated; a configuration whose estimate fits
/// [`BUDGET`] is built, saved and loaded back; and the JSON is put in the file of a small
/// model, whose loading must check it against the tensors.
pub fn model_config(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else { return };
    if let Ok(config) = serde_json::from_str::<ModelConfig>(json)
        && config.rnn.validate().is_ok()
        && config.output_size != Some(0)
    {
        let work = Workload { batch_size: 1, seq_len: 2, ..Default::default() };
        if let Ok(total) = memory::estimate(&config, &work, 4).and_then(|e| e.total())
            && total <= BUDGET
        {
            let model = Model::<f32>::new(config, Init::PyTorch, 0).expect("a valid configuration builds");
            let bytes = model_file::to_bytes(&model, &HashMap::new()).expect("a model saves");
            let loaded = model_file::from_bytes::<f32>(&bytes, Path::new("fuzz"), &LoadOptions::default());
            assert_eq!(loaded.expect("a saved model loads").model, model);
        }
    }
    let small = Model::<f32>::new(
        ModelConfig { rnn: RnnConfig::new(2, 3).with_num_layers(2), output_size: Some(1) },
        Init::PyTorch,
        0,
    )
    .expect("a small model");
    let Ok(bytes) = model_file::to_bytes(&small, &HashMap::new()) else { return };
    if let Some(bytes) = with_config_json(&bytes, json) {
        let _ = model_file::from_bytes::<f32>(&bytes, Path::new("fuzz"), &LoadOptions::default());
    }
}

/// A safetensors file's bytes with its `rnn.config` metadata replaced by `json`.
fn with_config_json(bytes: &[u8], json: &str) -> Option<Vec<u8>> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(bytes.get(8..8 + n)?).ok()?;
    header.get_mut("__metadata__")?.as_object_mut()?.insert(model_file::CONFIG_KEY.into(), json.into());
    let header = serde_json::to_vec(&header).ok()?;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(bytes.get(8 + n..)?);
    Some(out)
}

/// A `.npy` file's bytes.
pub fn npy(data: &[u8]) {
    if let Ok(array) = npy::parse(data) {
        let shape = array.shape().to_vec();
        assert_eq!(array.into_float::<f32>().shape(), &shape[..]);
    }
}

/// A CSV series: the first byte picks the columns asked for (default, long format with an id,
/// a feature), the rest is the file; a table that reads is planned and, within [`BUDGET`],
/// cut into the training windows.
pub fn csv(data: &[u8]) {
    let Some((&pick, text)) = data.split_first() else { return };
    let columns = match pick % 4 {
        0 => Columns::default(),
        1 => Columns { id: Some("unique_id".into()), target: Some("y".into()), ..Default::default() },
        2 => Columns { features: vec!["x".into()], ..Default::default() },
        _ => Columns { date: Some("ds".into()), ..Default::default() },
    };
    let Ok(table) = table::parse(text, Path::new("fuzz.csv"), &columns) else { return };
    let settings = Settings {
        horizon: 1 + (pick as usize >> 2) % 4,
        window: (pick >= 128).then_some((pick as usize) % 20 + 1),
        ..Settings::default()
    };
    let Ok(plan) = Plan::new(&table, &settings) else { return };
    for &t in &plan.candidates {
        let Ok(meta) = plan.meta(&table, t) else { continue };
        if meta.dataset_bytes(&table, 4).is_ok_and(|b| b <= BUDGET) {
            let _ = meta.dataset::<f32>(&table, Part::Train);
        }
    }
}

/// A text for the character model: decoded, its vocabulary built, encoded, split and, within
/// [`BUDGET`], made into the one-hot training set.
pub fn text(data: &[u8]) {
    let Ok(text) = decode_text(data.to_vec(), Path::new("fuzz.txt")) else { return };
    let Ok(vocab) = Vocab::from_text(&text) else { return };
    let ids = vocab.encode(&text).expect("a text's own vocabulary encodes it");
    assert_eq!(vocab.decode(&ids).expect("and decodes it"), text);
    let Ok((head, _)) = split_tail(&ids, 0.1) else { return };
    let Ok(layout) = StreamLayout::new(head.len(), 4, 25) else { return };
    if layout.dataset_bytes(vocab.len(), 4).is_ok_and(|b| b <= BUDGET) {
        layout.dataset::<f32>(head, vocab.len()).expect("the layout's dataset builds");
    }
}
