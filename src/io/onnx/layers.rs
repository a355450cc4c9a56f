//! One layer of the exported graph: a standard `RNN`, `LSTM` or `GRU` node (both directions in
//! one node), or an IndRNN as one `Scan` per direction.

use super::OnnxOptions;
use super::graph::{self, Dim, Graph, tensor_value};
use super::weights;
use crate::{Cell, Float, LayerParams, Nonlinearity, Result, RnnConfig};

/// The values a layer leaves: its output `[seq_len, batch, D*S]` and its final states (values
/// to be concatenated along the first axis into `h_n` and `c_n`).
pub struct LayerOut {
    pub y: String,
    pub h_n: Vec<String>,
    pub c_n: Vec<String>,
}

/// ONNX's name of an activation (`RNN`'s `activations`, and the operator itself).
fn op_name(act: Nonlinearity) -> &'static str {
    match act {
        Nonlinearity::Tanh => "Tanh",
        Nonlinearity::Relu => "Relu",
        Nonlinearity::Sigmoid => "Sigmoid",
    }
}

/// Adds layer `l` (its directions' parameters `params`) reading the value `x`.
pub fn layer<F: Float>(
    g: &mut Graph,
    c: &RnnConfig,
    l: usize,
    params: &[LayerParams<F>],
    x: &str,
    options: &OnnxOptions,
) -> Result<LayerOut> {
    if c.cell == Cell::IndRnn {
        return Ok(indrnn(g, c, l, params, x, options));
    }
    let (dirs, h) = (params.len(), c.hidden_size);
    let gh = c.cell.gates() * h;
    let (w, r, b) = weights::layer_weights(params, c.cell, h);
    let w = g.floats(&format!("W_l{l}"), &[dirs, gh, c.layer_input_size(l)], &w);
    let r = g.floats(&format!("R_l{l}"), &[dirs, gh, h], &r);
    let b = b.map(|b| g.floats(&format!("B_l{l}"), &[dirs, 2 * gh], &b)).unwrap_or_default();
    let is_lstm = c.cell == Cell::Lstm;
    let mut inputs = vec![x.to_string(), w, r, b, String::new()];
    if options.initial_state {
        inputs.push(state_slice(g, "h0", l * dirs, dirs));
        if is_lstm {
            inputs.push(state_slice(g, "c0", l * dirs, dirs));
        }
    }
    while inputs.last().is_some_and(String::is_empty) {
        inputs.pop();
    }
    let (y, y_h, y_c) = (format!("Y_l{l}"), format!("Y_h_l{l}"), format!("Y_c_l{l}"));
    let mut outputs = vec![y.as_str()];
    if options.final_state {
        outputs.push(&y_h);
        if is_lstm {
            outputs.push(&y_c);
        }
    }
    let direction = if dirs == 2 { "bidirectional" } else { "forward" };
    let mut attrs =
        vec![graph::int("hidden_size", h as i64), graph::string("direction", direction), graph::int("layout", 0)];
    let op = match c.cell {
        Cell::Rnn => {
            attrs.push(graph::strings("activations", &vec![op_name(c.nonlinearity); dirs]));
            "RNN"
        }
        Cell::Lstm => "LSTM",
        Cell::Gru => {
            // PyTorch's GRU applies the reset gate after the recurrent product: n = tanh(W_in x
            // + b_in + r ⊙ (W_hn h + b_hn))
            attrs.push(graph::int("linear_before_reset", 1));
            "GRU"
        }
        Cell::IndRnn => unreachable!("handled above"),
    };
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    g.node(op, &refs, &outputs, attrs);

    // Y [seq_len, D, batch, H] -> [seq_len, batch, D*H]
    let out = format!("out_l{l}");
    if dirs == 1 {
        let axes = g.ints("axes_1", &[1]);
        g.node("Squeeze", &[&y, &axes], &[&out], vec![]);
    } else {
        let t = format!("Y_t_l{l}");
        g.node("Transpose", &[&y], &[&t], vec![graph::ints("perm", &[0, 2, 1, 3])]);
        let shape = g.ints("shape_seq_batch_rest", &[0, 0, -1]);
        g.node("Reshape", &[&t, &shape], &[&out], vec![]);
    }
    let states = |on: bool, name: String| if on { vec![name] } else { vec![] };
    Ok(LayerOut { y: out, h_n: states(options.final_state, y_h), c_n: states(options.final_state && is_lstm, y_c) })
}

/// `state[first..first + n]` (a graph input `h0` or `c0`), named `{state}_{first}_{n}`.
fn state_slice(g: &mut Graph, state: &str, first: usize, n: usize) -> String {
    let name = format!("{state}_{first}_{n}");
    let starts = g.ints(&format!("i64_{first}"), &[first as i64]);
    let ends = g.ints(&format!("i64_{}", first + n), &[(first + n) as i64]);
    let axes = g.ints("axes_0", &[0]);
    g.node("Slice", &[state, &starts, &ends, &axes], &[&name], vec![]);
    name
}

/// An IndRNN layer: per direction `a = x W_ih^T (+ b_ih + b_hh)` for every step, then a `Scan`
/// (backwards in time for the reverse direction) over `h = act(a_t + u ⊙ h)`.
fn indrnn<F: Float>(
    g: &mut Graph,
    c: &RnnConfig,
    l: usize,
    params: &[LayerParams<F>],
    x: &str,
    options: &OnnxOptions,
) -> LayerOut {
    let (dirs, h) = (params.len(), c.hidden_size);
    let f32s = |v: &mut dyn Iterator<Item = &F>| v.map(|v| v.to_f64_lossless() as f32).collect::<Vec<f32>>();
    let (mut ys, mut h_n) = (Vec::new(), Vec::new());
    for (d, p) in params.iter().enumerate() {
        let tag = format!("l{l}_d{d}");
        let wt = g.floats(&format!("W_ih_t_{tag}"), &[c.layer_input_size(l), h], &f32s(&mut p.weight_ih.t().iter()));
        let mut a = format!("a_{tag}");
        g.node("MatMul", &[x, &wt], &[&a], vec![]);
        if let (Some(bi), Some(bh)) = (&p.bias_ih, &p.bias_hh) {
            let b = g.floats(&format!("b_{tag}"), &[h], &f32s(&mut (bi + bh).iter()));
            let sum = format!("a_b_{tag}");
            g.node("Add", &[&a, &b], &[&sum], vec![]);
            a = sum;
        }
        let u = p.weight_hh_diag.as_ref().map(|u| f32s(&mut u.iter())).unwrap_or_else(|| vec![0.0; h]);
        let u = g.floats(&format!("u_{tag}"), &[h], &u);
        let init = if options.initial_state {
            let slice = state_slice(g, "h0", l * dirs + d, 1);
            let axes = g.ints("axes_0", &[0]);
            let squeezed = format!("h0_{tag}");
            g.node("Squeeze", &[&slice, &axes], &[&squeezed], vec![]);
            squeezed
        } else {
            zeros(g, h)
        };
        let body = scan_body(&tag, &u, c.nonlinearity, h);
        let (last, y) = (format!("h_last_{tag}"), format!("y_{tag}"));
        let reverse = [d as i64];
        g.node(
            "Scan",
            &[&init, &a],
            &[&last, &y],
            vec![
                graph::graph("body", body),
                graph::int("num_scan_inputs", 1),
                graph::ints("scan_input_directions", &reverse),
                graph::ints("scan_output_directions", &reverse),
            ],
        );
        ys.push(y);
        if options.final_state {
            let axes = g.ints("axes_0", &[0]);
            let state = format!("h_n_{tag}");
            g.node("Unsqueeze", &[&last, &axes], &[&state], vec![]);
            h_n.push(state);
        }
    }
    let y = match ys.as_slice() {
        [one] => one.clone(),
        _ => {
            let out = format!("out_l{l}");
            let refs: Vec<&str> = ys.iter().map(String::as_str).collect();
            g.node("Concat", &refs, &[&out], vec![graph::int("axis", 2)]);
            out
        }
    };
    LayerOut { y, h_n, c_n: vec![] }
}

/// One step of an IndRNN direction: state `h` `[batch, H]` and scan input `a_t` in, the new
/// state out twice (carried, and collected into the output sequence); `u` is read from the
/// enclosing graph.
fn scan_body(tag: &str, u: &str, act: Nonlinearity, h: usize) -> super::proto::GraphProto {
    let mut b = Graph::default();
    let name = |s: &str| format!("{s}_{tag}");
    let dims = [Dim::Named("batch"), Dim::Fixed(h)];
    b.node("Mul", &[u, &name("h_prev")], &[&name("uh")], vec![]);
    b.node("Add", &[&name("a_t"), &name("uh")], &[&name("pre")], vec![]);
    b.node(op_name(act), &[&name("pre")], &[&name("h_new")], vec![]);
    b.node("Identity", &[&name("h_new")], &[&name("y_t")], vec![]);
    let inputs = vec![tensor_value(&name("h_prev"), &dims, ""), tensor_value(&name("a_t"), &dims, "")];
    let outputs = vec![tensor_value(&name("h_new"), &dims, ""), tensor_value(&name("y_t"), &dims, "")];
    b.finish(&name("indrnn_step"), inputs, outputs)
}

/// Zeros `[batch, h]`, the batch taken from the graph input's shape at run time (made once).
fn zeros(g: &mut Graph, h: usize) -> String {
    let name = format!("zeros_batch_{h}");
    if g.nodes.iter().any(|n| n.output.contains(&name)) {
        return name;
    }
    if !g.nodes.iter().any(|n| n.output.iter().any(|o| o == "batch_size")) {
        g.node("Shape", &["input"], &["input_shape"], vec![]);
        let (start, end, axes) = (g.ints("i64_1", &[1]), g.ints("i64_2", &[2]), g.ints("axes_0", &[0]));
        g.node("Slice", &["input_shape", &start, &end, &axes], &["batch_size"], vec![]);
    }
    let width = g.ints(&format!("i64_{h}"), &[h as i64]);
    let shape = format!("shape_batch_{h}");
    g.node("Concat", &["batch_size", &width], &[&shape], vec![graph::int("axis", 0)]);
    // ConstantOfShape's default value is a float32 zero
    g.node("ConstantOfShape", &[&shape], &[&name], vec![]);
    name
}
