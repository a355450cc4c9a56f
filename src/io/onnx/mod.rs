//! ONNX export: a model as a graph of the standard `RNN`, `LSTM` and `GRU` operators, one node
//! per layer as PyTorch's exporter emits them, for ONNX Runtime, Triton and other runtimes.
//!
//! The graph (opset [`OPSET`], IR version [`IR_VERSION`], float32):
//!
//! - input `input` `[seq_len, batch, input_size]`, both `seq_len` and `batch` dynamic, and with
//!   [`OnnxOptions::initial_state`] `h0` `[num_layers * D, batch, S]` (and an LSTM's `c0`
//!   `[num_layers * D, batch, hidden_size]`), sliced per layer;
//! - per layer one `RNN` (its activation as `activations`), `LSTM` or `GRU`
//!   (`linear_before_reset = 1`, PyTorch's GRU) node with `W`, `R` and `B` as the operator
//!   defines them (gate blocks reordered: LSTM i,f,g,o to i,o,f,c, GRU r,z,n to z,r,n), `layout = 0`; its `Y`
//!   `[seq_len, D, batch, H]` squeezed (one direction) or transposed and reshaped
//!   (bidirectional) to `[seq_len, batch, D*H]`, and, for a residual layer
//!   ([`crate::RnnConfig::residual_at`]), added to the layer's input;
//! - an IndRNN layer, which has no operator, as one `Scan` per direction over
//!   `h = act(a_t + u ⊙ h)` with `a = x W_ih^T + b_ih + b_hh` computed for every step first;
//! - the head as `MatMul` + `Add`;
//! - output `output` `[seq_len, batch, output_size]` (without a head, the top layer's
//!   `[seq_len, batch, D*S]`), and with [`OnnxOptions::final_state`] `h_n` (and `c_n`).
//!
//! Dropout is a training-time operation and is left out. An LSTM with `proj_size` cannot be
//! expressed (ONNX's `LSTM` has no projection) and is refused.
//!
//! # Example
//! ```
//! use rnn::io::onnx::{self, OnnxOptions};
//! use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
//! let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4).with_cell(Cell::Lstm), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let path = std::env::temp_dir().join(format!("rnn-doc-onnx-{}.onnx", std::process::id()));
//! onnx::save(&model, &path, &OnnxOptions::default())?; // onnxruntime.InferenceSession(path) runs it
//! assert!(std::fs::metadata(&path)?.len() > 0);
//! std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod graph;
mod layers;
// Not API: the encoding ([`to_bytes`] and [`save`] are); public for tests/it/cli_export.rs, which
// decodes the graph, and tests/onnx.
#[doc(hidden)]
pub mod proto;
#[doc(hidden)]
pub mod weights;

use std::path::Path;

use prost::Message;

use crate::{Cell, Error, Float, Model, ModelConfig, Result, io};
use graph::{Dim, Graph, tensor_value};
use proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto};

/// The opset the exported graph imports (the `ai.onnx` domain).
pub const OPSET: i64 = 14;
/// The IR version of the exported file (ONNX 1.9, the first with opset 14).
pub const IR_VERSION: i64 = 7;

/// What an exported graph takes and gives besides `input` and `output`.
///
/// # Example
/// ```
/// use rnn::io::onnx::{self, OnnxOptions};
/// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4).with_cell(Cell::Lstm), output_size: None }, Init::PyTorch, 0)?;
/// let plain = onnx::to_bytes(&model, &OnnxOptions::default())?;
/// let stateful = onnx::to_bytes(&model, &OnnxOptions { initial_state: true, final_state: true })?;
/// let text = String::from_utf8_lossy(&stateful);
/// assert!(text.contains("c0") && text.contains("c_n") && !String::from_utf8_lossy(&plain).contains("c_n"));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OnnxOptions {
    /// Graph inputs `h0` (and an LSTM's `c0`), as `rnn forward` takes them; without it every
    /// sequence starts from zeros.
    pub initial_state: bool,
    /// Graph outputs `h_n` (and an LSTM's `c_n`).
    pub final_state: bool,
}

/// The ONNX operator a layer of this cell becomes: `RNN`, `LSTM`, `GRU`, or `Scan` for the
/// IndRNN.
///
/// # Example
/// ```
/// use rnn::Cell;
/// use rnn::io::onnx::operator;
/// assert_eq!((operator(Cell::Lstm), operator(Cell::IndRnn)), ("LSTM", "Scan"));
/// ```
pub fn operator(cell: Cell) -> &'static str {
    match cell {
        Cell::Rnn => "RNN",
        Cell::Lstm => "LSTM",
        Cell::Gru => "GRU",
        Cell::IndRnn => "Scan",
    }
}

/// Checks that a model of this configuration can be exported.
///
/// # Errors
/// [`Error::Unsupported`] for an LSTM with `proj_size` (ONNX's `LSTM` has no projection).
///
/// # Example
/// ```
/// use rnn::io::onnx::check_exportable;
/// use rnn::{Cell, ModelConfig, RnnConfig};
/// let lstm = RnnConfig::new(3, 8).with_cell(Cell::Lstm);
/// check_exportable(&ModelConfig { rnn: lstm.clone(), output_size: Some(1) })?;
/// let err = check_exportable(&ModelConfig { rnn: lstm.with_proj_size(4), output_size: None }).unwrap_err();
/// assert!(matches!(err, rnn::Error::Unsupported(_)));
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn check_exportable(config: &ModelConfig) -> Result<()> {
    let c = &config.rnn;
    if c.cell == Cell::Lstm && c.proj_size > 0 {
        return Err(Error::Unsupported(format!(
            "cannot export an LSTM with proj_size {} to ONNX: the ONNX LSTM operator has no projection (W_hr)",
            c.proj_size
        )));
    }
    Ok(())
}

/// The model as an ONNX file's bytes (see the module's documentation for the graph).
///
/// # Example
/// ```
/// use rnn::io::onnx::{self, OnnxOptions};
/// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
/// let rnn = RnnConfig::new(3, 8).with_cell(Cell::Gru).with_num_layers(2).with_bidirectional(true);
/// let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 0)?;
/// let bytes = onnx::to_bytes(&model, &OnnxOptions { initial_state: true, final_state: true })?;
/// assert!(bytes.len() > 4 * model.num_params());
/// # Ok::<(), rnn::Error>(())
/// ```
///
/// # Errors
/// As [`check_exportable`].
pub fn to_bytes<F: Float>(model: &Model<F>, options: &OnnxOptions) -> Result<Vec<u8>> {
    Ok(to_proto(model, options)?.encode_to_vec())
}

/// Writes the model as an ONNX file, atomically.
///
/// # Errors
/// As [`to_bytes`]; [`Error::Io`] naming `path` when it cannot be written.
///
/// # Example
/// ```
/// use rnn::io::onnx::{self, OnnxOptions};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let path = std::env::temp_dir().join(format!("rnn-doc-onnx-{}.onnx", std::process::id()));
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// onnx::save(&model, &path, &OnnxOptions::default())?;
/// assert_eq!(std::fs::read(&path)?, onnx::to_bytes(&model, &OnnxOptions::default())?);
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save<F: Float>(model: &Model<F>, path: &Path, options: &OnnxOptions) -> Result<()> {
    io::write_atomic(path, &to_bytes(model, options)?)
}

/// The model as an ONNX `ModelProto` (not API: the message types are the encoding's).
#[doc(hidden)]
///
/// # Errors
/// As [`check_exportable`].
pub fn to_proto<F: Float>(model: &Model<F>, options: &OnnxOptions) -> Result<ModelProto> {
    let config = model.config();
    check_exportable(&config)?;
    let c = &config.rnn;
    let (dirs, s) = (c.num_directions(), c.state_size());
    let mut g = Graph::default();
    let state_dims = |width| [Dim::Fixed(c.num_layers * dirs), Dim::Named("batch"), Dim::Fixed(width)];
    let mut inputs = vec![tensor_value(
        "input",
        &[Dim::Named("seq_len"), Dim::Named("batch"), Dim::Fixed(c.input_size)],
        "the input sequence [seq_len, batch, input_size]",
    )];
    let is_lstm = c.cell == Cell::Lstm;
    if options.initial_state {
        inputs.push(tensor_value("h0", &state_dims(s), "initial hidden states [num_layers*D, batch, S]"));
        if is_lstm {
            inputs.push(tensor_value("c0", &state_dims(c.hidden_size), "initial cell states"));
        }
    }

    let mut x = "input".to_string();
    let (mut h_n, mut c_n) = (Vec::new(), Vec::new());
    for l in 0..c.num_layers {
        let params = &model.rnn.layers()[l * dirs..(l + 1) * dirs];
        let out = layers::layer(&mut g, c, l, params, &x, options)?;
        h_n.extend(out.h_n);
        c_n.extend(out.c_n);
        x = if c.residual_at(l) {
            let sum = format!("residual_l{l}");
            g.node("Add", &[&out.y, &x], &[&sum], vec![]);
            sum
        } else {
            out.y
        };
    }
    let mut width = c.output_width();
    if let Some(head) = &model.head {
        width = head.out_features();
        let wt: Vec<f32> = head.weight.t().iter().map(|v| v.to_f64_lossless() as f32).collect();
        let w = g.floats("head.weight_t", &[head.in_features(), width], &wt);
        g.node("MatMul", &[&x, &w], &["head_matmul"], vec![]);
        x = "head_matmul".into();
        if let Some(bias) = &head.bias {
            let b: Vec<f32> = bias.iter().map(|v| v.to_f64_lossless() as f32).collect();
            let b = g.floats("head.bias", &[width], &b);
            g.node("Add", &[&x, &b], &["head_add"], vec![]);
            x = "head_add".into();
        }
    }
    let seq_dims = [Dim::Named("seq_len"), Dim::Named("batch"), Dim::Fixed(width)];
    let mut outputs = vec![tensor_value("output", &seq_dims, "the head's output, else the top layer's")];
    output_as(&mut g, &x, "output");
    if options.final_state {
        concat_as(&mut g, &h_n, "h_n");
        outputs.push(tensor_value("h_n", &state_dims(s), "final hidden states [num_layers*D, batch, S]"));
        if is_lstm {
            concat_as(&mut g, &c_n, "c_n");
            outputs.push(tensor_value("c_n", &state_dims(c.hidden_size), "final cell states"));
        }
    }
    let json = serde_json::to_string(&config).map_err(|e| Error::Unsupported(e.to_string()))?;
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("rnn".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(format!("{} exported by rnn", c.cell.mode(c.nonlinearity))),
        graph: Some(g.finish("rnn", inputs, outputs)),
        metadata_props: vec![StringStringEntryProto {
            key: Some(crate::model_file::CONFIG_KEY.into()),
            value: Some(json),
        }],
    })
}

/// Makes the value `x` the graph output `name`: renamed where it is made, or through an
/// `Identity` when `x` is a graph input.
fn output_as(g: &mut Graph, x: &str, name: &str) {
    if g.nodes.iter().any(|n| n.output.iter().any(|o| o == x)) {
        g.rename(x, name);
    } else {
        g.node("Identity", &[x], &[name], vec![]);
    }
}

/// The per-layer final states `[D, batch, ·]` concatenated along the first axis as `name`.
fn concat_as(g: &mut Graph, parts: &[String], name: &str) {
    match parts {
        [one] => output_as(g, one, name),
        _ => {
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            g.node("Concat", &refs, &[name], vec![graph::int("axis", 0)]);
        }
    }
}

#[cfg(test)]
mod tests;
