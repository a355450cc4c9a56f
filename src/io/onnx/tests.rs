//! The encoding and the graph's structure, checked without a runtime (`tests/onnx/check.py`
//! runs the graphs in ONNX Runtime).

use prost::Message;

use super::proto::{AttributeProto, GraphProto, ModelProto, OperatorSetIdProto, TensorProto};
use super::*;
use crate::{Init, Nonlinearity, RnnConfig};

fn model(rnn: RnnConfig, output_size: Option<usize>) -> Model<f64> {
    Model::new(ModelConfig { rnn, output_size }, Init::PyTorch, 5).unwrap()
}

fn graph_of(m: &Model<f64>, options: OnnxOptions) -> GraphProto {
    let bytes = to_bytes(m, &options).unwrap();
    let proto = ModelProto::decode(bytes.as_slice()).unwrap();
    assert_eq!((proto.ir_version, proto.opset_import[0].version), (Some(IR_VERSION), Some(OPSET)));
    proto.graph.unwrap()
}

fn ops(g: &GraphProto) -> Vec<&str> {
    g.node.iter().map(|n| n.op_type.as_deref().unwrap_or("")).collect()
}

fn initializer<'a>(g: &'a GraphProto, name: &str) -> &'a TensorProto {
    g.initializer.iter().find(|t| t.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("no {name}"))
}

fn f32s(t: &TensorProto) -> Vec<f32> {
    t.raw_data.as_ref().unwrap().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

fn attr<'a>(g: &'a GraphProto, op: &str, name: &str) -> &'a AttributeProto {
    let node = g.node.iter().find(|n| n.op_type.as_deref() == Some(op)).unwrap();
    node.attribute.iter().find(|a| a.name.as_deref() == Some(name)).unwrap()
}

#[test]
fn messages_encode_as_protobuf_does() {
    // field 1 (domain, length-delimited) "" and field 2 (version, varint) 14
    let opset = OperatorSetIdProto { domain: Some(String::new()), version: Some(14) };
    assert_eq!(opset.encode_to_vec(), [0x0a, 0x00, 0x10, 0x0e]);
    // name = 1 "axis", i = 3 (varint) 0, type = 20 (varint, key 0xa0 0x01) INT = 2
    assert_eq!(graph::int("axis", 0).encode_to_vec(), [0x0a, 4, b'a', b'x', b'i', b's', 0x18, 0x00, 0xa0, 0x01, 0x02]);
    // ints are unpacked, as proto2 writes `repeated int64 ints = 8`
    assert_eq!(graph::ints("p", &[0, 2]).encode_to_vec(), [0x0a, 1, b'p', 0x40, 0, 0x40, 2, 0xa0, 0x01, 0x07]);
    let t = TensorProto {
        dims: vec![2],
        data_type: Some(proto::data_type::FLOAT),
        name: Some("w".into()),
        raw_data: Some([1f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    };
    let bytes = t.encode_to_vec();
    assert_eq!(&bytes[..7], [0x08, 2, 0x10, 1, 0x42, 1, b'w']);
    assert_eq!(&bytes[7..9], [0x4a, 8]);
    assert_eq!(TensorProto::decode(bytes.as_slice()).unwrap(), t);
}

#[test]
fn one_node_per_layer_with_the_operators_weights() {
    let rnn = RnnConfig::new(3, 4).with_cell(Cell::Lstm).with_num_layers(2).with_bidirectional(true);
    let m = model(rnn, Some(2));
    let g = graph_of(&m, OnnxOptions { initial_state: true, final_state: true });
    assert_eq!(
        ops(&g),
        [
            "Slice",
            "Slice",
            "LSTM",
            "Transpose",
            "Reshape",
            "Slice",
            "Slice",
            "LSTM",
            "Transpose",
            "Reshape",
            "MatMul",
            "Add",
            "Concat",
            "Concat"
        ]
    );
    let names = |v: &[proto::ValueInfoProto]| v.iter().map(|i| i.name.clone().unwrap()).collect::<Vec<_>>();
    assert_eq!(names(&g.input), ["input", "h0", "c0"]);
    assert_eq!(names(&g.output), ["output", "h_n", "c_n"]);
    // dynamic seq_len and batch
    let dims = &g.input[0].r#type.as_ref().unwrap().tensor_type.as_ref().unwrap().shape.as_ref().unwrap().dim;
    assert_eq!(dims[0].dim_param.as_deref(), Some("seq_len"));
    assert_eq!(dims[1].dim_param.as_deref(), Some("batch"));
    assert_eq!(dims[2].dim_value, Some(3));
    // W [D, 4H, in]: layer 1 reads 2H; its first rows are PyTorch's i gate, then o
    let w = initializer(&g, "W_l1");
    assert_eq!(w.dims, [2, 16, 8]);
    let p = &m.rnn.layers()[2].weight_ih;
    let got = f32s(w);
    assert_eq!(got[0], p[[0, 0]] as f32);
    assert_eq!(got[4 * 8], p[[12, 0]] as f32, "ONNX's second block is PyTorch's o (rows 12..16)");
    assert_eq!(initializer(&g, "B_l0").dims, [2, 32]);
    assert_eq!(initializer(&g, "head.weight_t").dims, [8, 2]);
    assert_eq!(attr(&g, "LSTM", "direction").s.as_deref(), Some(&b"bidirectional"[..]));
    assert_eq!(attr(&g, "LSTM", "layout").i, Some(0));
}

#[test]
fn elman_gru_residual_and_no_state() {
    let rnn = RnnConfig::new(4, 4).with_nonlinearity(Nonlinearity::Sigmoid).with_num_layers(2).with_residual(true);
    let g = graph_of(&model(rnn.clone(), None), OnnxOptions::default());
    assert_eq!(ops(&g), ["RNN", "Squeeze", "Add", "RNN", "Squeeze", "Add"]);
    assert_eq!(attr(&g, "RNN", "activations").strings, [b"Sigmoid".to_vec()]);
    assert_eq!(names_out(&g), ["output"]);
    assert_eq!(g.node.last().unwrap().output, ["output"]);

    let gru = RnnConfig::new(3, 5).with_cell(Cell::Gru).with_bias(false);
    let g = graph_of(&model(gru, None), OnnxOptions { initial_state: true, final_state: false });
    assert_eq!(attr(&g, "GRU", "linear_before_reset").i, Some(1));
    let node = g.node.iter().find(|n| n.op_type.as_deref() == Some("GRU")).unwrap();
    // no bias: B and sequence_lens left out, initial_h given
    assert_eq!(node.input[3..], ["", "", "h0_0_1"]);
}

fn names_out(g: &GraphProto) -> Vec<String> {
    g.output.iter().map(|o| o.name.clone().unwrap()).collect()
}

#[test]
fn an_indrnn_is_a_scan_per_direction() {
    let rnn = RnnConfig::new(3, 4).with_cell(Cell::IndRnn).with_bidirectional(true);
    let g = graph_of(&model(rnn, Some(1)), OnnxOptions { initial_state: false, final_state: true });
    let scans: Vec<_> = g.node.iter().filter(|n| n.op_type.as_deref() == Some("Scan")).collect();
    assert_eq!(scans.len(), 2);
    let dirs = |n: &proto::NodeProto| {
        n.attribute.iter().find(|a| a.name.as_deref() == Some("scan_input_directions")).unwrap().ints.clone()
    };
    assert_eq!((dirs(scans[0]), dirs(scans[1])), (vec![0], vec![1]));
    assert!(ops(&g).contains(&"ConstantOfShape"));
    assert_eq!(names_out(&g), ["output", "h_n"]);
}

#[test]
fn a_projecting_lstm_is_refused_in_one_line() {
    let rnn = RnnConfig::new(3, 4).with_cell(Cell::Lstm).with_proj_size(2);
    let err = to_bytes(&model(rnn, None), &OnnxOptions::default()).unwrap_err().to_string();
    assert!(err.contains("proj_size 2") && err.contains("no projection"), "{err}");
    assert_eq!(err.lines().count(), 1);
}
