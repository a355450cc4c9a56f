#!/usr/bin/env python3
"""ONNX Runtime streaming peer: a one-step ONNX graph built with onnx.helper
around the ONNX `RNN` operator (seq_length 1, batch 1, input 32, hidden 128,
tanh, forward direction, with `initial_h` input and `Y_h` output), run with
onnxruntime once per step with Y_h fed back as the next initial_h.

Reports {"peer": "onnxruntime", "stream_step_us", "hidden_size": 128,
"input_size": 32, "threads"}; stream_step_us is the median per-call time of
InferenceSession.run (blocks of 200 calls), i.e. including the Python
binding overhead, as a user of the Python API would see it.

Threads: --threads N -> SessionOptions.intra_op_num_threads = N,
inter_op_num_threads = 1, sequential execution mode.

Usage: python3 bench/onnx_stream.py [--json] [--threads N] [--quick]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PEER = "onnxruntime"


def build_model(hidden, inp, seed=0):
    import numpy as np
    from onnx import TensorProto, checker, helper, numpy_helper

    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden)
    w = rng.uniform(-bound, bound, (1, hidden, inp)).astype(np.float32)      # W_i
    r = rng.uniform(-bound, bound, (1, hidden, hidden)).astype(np.float32)   # R_i
    b = rng.uniform(-bound, bound, (1, 2 * hidden)).astype(np.float32)       # [Wb, Rb]
    node = helper.make_node(
        "RNN",
        inputs=["X", "W", "R", "B", "", "initial_h"],  # "" = no sequence_lens
        outputs=["", "Y_h"],                            # Y omitted, only Y_h
        hidden_size=hidden,
        activations=["Tanh"],
        direction="forward",
    )
    graph = helper.make_graph(
        [node], "rnn_step",
        inputs=[helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 1, inp]),
                helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [1, 1, hidden])],
        outputs=[helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, 1, hidden])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R"),
                     numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="rnn-bench")
    model.ir_version = 8
    checker.check_model(model)
    return model, (w, r, b)


def main():
    args = common.parse_args(__doc__.splitlines()[0], stream=True)
    try:
        import numpy as np
        import onnxruntime as ort
    except Exception as e:  # noqa: BLE001
        common.skip(PEER, e, args.json, args.threads)

    hidden, inp = common.STREAM_HIDDEN, common.STREAM_INPUT
    model, (w, r, b) = build_model(hidden, inp)

    so = ort.SessionOptions()
    if args.threads is not None:
        so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    threads = args.threads if args.threads is not None else len(common.available_cpus())
    common.log(f"onnxruntime {ort.__version__}, intra_op_num_threads={so.intra_op_num_threads}")

    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((1, 1, inp)).astype(np.float32) for _ in range(64)]

    # Correctness check against a numpy reference for a few steps.
    h_ref = np.zeros((1, hidden), np.float32)
    h = np.zeros((1, 1, hidden), np.float32)
    for i in range(5):
        h = sess.run(["Y_h"], {"X": xs[i], "initial_h": h})[0]
        h_ref = np.tanh(xs[i][0] @ w[0].T + h_ref @ r[0].T + b[0, :hidden] + b[0, hidden:])
    err = float(np.abs(h[0] - h_ref).max())
    if err > 1e-4:
        raise SystemExit(f"onnxruntime RNN step disagrees with numpy reference: {err}")

    state = {"h": np.zeros((1, 1, hidden), np.float32), "i": 0}
    run = sess.run
    out_names = ["Y_h"]

    def stream_step():
        i = state["i"]
        state["h"] = run(out_names, {"X": xs[i & 63], "initial_h": state["h"]})[0]
        state["i"] = i + 1

    step_s = common.measure_stream(stream_step, args)
    common.emit(common.stream_row(PEER, threads, step_s), args.json)


if __name__ == "__main__":
    main()
