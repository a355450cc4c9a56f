#!/usr/bin/env python3
"""ONNX Runtime streaming peer: a one-step ONNX graph built with onnx.helper
around the ONNX `RNN` (tanh), `LSTM` or `GRU` operator (--cell rnn|lstm|gru;
seq_length 1, batch 1, input 32, hidden 128, forward direction, opset 17), run
with onnxruntime once per step with the state fed back: `initial_h` in, `Y_h`
out (the LSTM also `initial_c` in, `Y_c` out).

The weights are random, drawn in PyTorch's layout (W_ih [G*H, I], W_hh [G*H, H],
b_ih, b_hh [G*H], gate blocks in PyTorch's order: LSTM i, f, g, o; GRU r, z, n)
and reordered into ONNX's W [1, G*H, I], R [1, G*H, H], B [1, 2*G*H] = [Wb, Rb]
with ONNX's gate order (LSTM i, o, f, c; GRU z, r, h). The GRU uses
linear_before_reset = 1, which is PyTorch's placement of b_hn:
n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)). The first 5 steps are checked
against a numpy reference of PyTorch's equations on the PyTorch-layout weights.

Reports {"peer": "onnxruntime", "cell", "stream_step_us", "hidden_size": 128,
"input_size": 32, "threads"}; stream_step_us is the median per-call time of
InferenceSession.run (blocks of 200 calls), i.e. including the Python
binding overhead, as a user of the Python API would see it.

Threads: --threads N -> SessionOptions.intra_op_num_threads = N,
inter_op_num_threads = 1, sequential execution mode.

Usage: python3 bench/onnx_stream.py [--cell rnn|lstm|gru] [--json] [--threads N] [--quick]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PEER = "onnxruntime"

# Block order of ONNX's W/R/B, as indices into PyTorch's gate blocks.
#   LSTM: PyTorch i, f, g, o -> ONNX i, o, f, c(=g)
#   GRU : PyTorch r, z, n    -> ONNX z, r, h(=n)
ONNX_ORDER = {"rnn": [0], "lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}
OP = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def torch_layout_weights(cell, hidden, inp, seed=0):
    """Random weights in PyTorch's layout, U(-1/sqrt(H), 1/sqrt(H))."""
    import numpy as np

    g = common.gates(cell)
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden)

    def uni(*shape):
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    return {"w_ih": uni(g * hidden, inp), "w_hh": uni(g * hidden, hidden),
            "b_ih": uni(g * hidden), "b_hh": uni(g * hidden)}


def reorder(a, cell, hidden):
    """Gate blocks along axis 0 from PyTorch's order to ONNX's."""
    import numpy as np
    blocks = [a[k * hidden:(k + 1) * hidden] for k in range(common.gates(cell))]
    return np.concatenate([blocks[k] for k in ONNX_ORDER[cell]], axis=0)


def reference_step(cell, p, x, h, c=None):
    """One step of PyTorch's equations in numpy; x [1, I], h, c [1, H]."""
    import numpy as np

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    hsz = p["w_hh"].shape[1]
    xw = x @ p["w_ih"].T + p["b_ih"]
    hw = h @ p["w_hh"].T + p["b_hh"]
    if cell == "rnn":
        return np.tanh(xw + hw), None
    if cell == "lstm":
        i, f, g, o = np.split(xw + hw, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c), c
    r = sigmoid(xw[:, :hsz] + hw[:, :hsz])
    z = sigmoid(xw[:, hsz:2 * hsz] + hw[:, hsz:2 * hsz])
    n = np.tanh(xw[:, 2 * hsz:] + r * hw[:, 2 * hsz:])  # hw_n includes b_hn
    return (1.0 - z) * n + z * h, None


def build_model(cell, hidden, inp, seed=0):
    import numpy as np
    from onnx import TensorProto, checker, helper, numpy_helper

    p = torch_layout_weights(cell, hidden, inp, seed)
    w = reorder(p["w_ih"], cell, hidden)[None]                       # [1, G*H, I]
    r = reorder(p["w_hh"], cell, hidden)[None]                       # [1, G*H, H]
    b = np.concatenate([reorder(p["b_ih"], cell, hidden),
                        reorder(p["b_hh"], cell, hidden)])[None]     # [1, 2*G*H]
    attrs = {"hidden_size": hidden, "direction": "forward"}
    state_in = [helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [1, 1, hidden])]
    state_out = [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, 1, hidden])]
    if cell == "rnn":
        attrs["activations"] = ["Tanh"]
        inputs = ["X", "W", "R", "B", "", "initial_h"]   # "" = no sequence_lens
        outputs = ["", "Y_h"]                             # Y omitted, only Y_h
    elif cell == "lstm":
        inputs = ["X", "W", "R", "B", "", "initial_h", "initial_c"]
        outputs = ["", "Y_h", "Y_c"]
        state_in.append(helper.make_tensor_value_info("initial_c", TensorProto.FLOAT,
                                                      [1, 1, hidden]))
        state_out.append(helper.make_tensor_value_info("Y_c", TensorProto.FLOAT,
                                                       [1, 1, hidden]))
    else:
        attrs["linear_before_reset"] = 1
        inputs = ["X", "W", "R", "B", "", "initial_h"]
        outputs = ["", "Y_h"]
    node = helper.make_node(OP[cell], inputs=inputs, outputs=outputs, **attrs)
    graph = helper.make_graph(
        [node], f"{cell}_step",
        inputs=[helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, inp])] + state_in,
        outputs=state_out,
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R"),
                     numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="rnn-bench")
    model.ir_version = 8
    checker.check_model(model)
    return model, p


def main():
    args = common.parse_args(__doc__.splitlines()[0], stream=True)
    try:
        import numpy as np
        import onnxruntime as ort
    except Exception as e:  # noqa: BLE001
        common.skip(PEER, e, args.json, args.threads, args.cell)

    cell = args.cell
    hidden, inp = common.STREAM_HIDDEN, common.STREAM_INPUT
    model, p = build_model(cell, hidden, inp)

    so = ort.SessionOptions()
    if args.threads is not None:
        so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    threads = args.threads if args.threads is not None else len(common.available_cpus())
    common.log(f"onnxruntime {ort.__version__}, cell {cell} (ONNX {OP[cell]}), "
               f"intra_op_num_threads={so.intra_op_num_threads}")

    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((1, 1, inp)).astype(np.float32) for _ in range(64)]
    lstm = cell == "lstm"
    out_names = ["Y_h", "Y_c"] if lstm else ["Y_h"]

    # Correctness check against a numpy reference of PyTorch's equations for a few steps.
    zero = np.zeros((1, 1, hidden), np.float32)
    h_ref, c_ref = np.zeros((1, hidden), np.float32), np.zeros((1, hidden), np.float32)
    h, c = zero, zero
    err = 0.0
    for i in range(5):
        feed = {"X": xs[i], "initial_h": h}
        if lstm:
            feed["initial_c"] = c
            h, c = sess.run(out_names, feed)
        else:
            h = sess.run(out_names, feed)[0]
        h_ref, c_new = reference_step(cell, p, xs[i][0], h_ref, c_ref)
        c_ref = c_new if lstm else c_ref
        err = max(err, float(np.abs(h[0] - h_ref).max()))
        if lstm:
            err = max(err, float(np.abs(c[0] - c_ref).max()))
    common.log(f"max |onnxruntime - numpy reference| over 5 steps: {err:.2e}")
    if err > 1e-4:
        raise SystemExit(f"onnxruntime {OP[cell]} step disagrees with numpy reference: {err}")

    run = sess.run
    if lstm:
        state = {"h": zero.copy(), "c": zero.copy(), "i": 0}

        def stream_step():
            i = state["i"]
            state["h"], state["c"] = run(out_names, {"X": xs[i & 63], "initial_h": state["h"],
                                                     "initial_c": state["c"]})
            state["i"] = i + 1
    else:
        state = {"h": zero.copy(), "i": 0}

        def stream_step():
            i = state["i"]
            state["h"] = run(out_names, {"X": xs[i & 63], "initial_h": state["h"]})[0]
            state["i"] = i + 1

    step_s = common.measure_stream(stream_step, args)
    common.emit(common.stream_row(PEER, cell, threads, step_s), args.json)


if __name__ == "__main__":
    main()
