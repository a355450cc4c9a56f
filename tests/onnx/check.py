#!/usr/bin/env python3
"""`rnn export --format onnx` against ONNX's checker and ONNX Runtime.

Usage: python3 tests/onnx/check.py target/release/rnn   (needs onnx, onnxruntime, numpy)

For every configuration of the grid cell x layers x bias x direction x head (and residual
stacks of 2 layers), `rnn init` makes a model, `rnn export` writes it with the initial-state
inputs and final-state outputs, `onnx.checker.check_model(full_check=True)` checks the file
(with shape inference), and ONNX Runtime's outputs (output, h_n, c_n) on random inputs of two
shapes (the seq_len and batch dimensions are dynamic) must equal `rnn forward`'s within 1e-5
(absolute, scaled by max(1, |value|)). Every fourth configuration is also exported without the
state inputs and outputs and compared from zero states. The graph must hold one RNN/LSTM/GRU
node per layer (a Scan per direction for the IndRNN). An LSTM with proj_size must be refused
in one line. Prints one line per failure and a summary; exits 1 on any failure.
"""

import itertools
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

TOL = 1e-5
CELLS = [  # (--cell, --nonlinearity, the ONNX operator)
    ("rnn", "tanh", "RNN"),
    ("rnn", "relu", "RNN"),
    ("rnn", "sigmoid", "RNN"),
    ("lstm", None, "LSTM"),
    ("gru", None, "GRU"),
    ("indrnn", "relu", "Scan"),
    ("indrnn", "tanh", "Scan"),
]
SHAPES = [(5, 3), (2, 1)]  # (seq_len, batch)


def run(*args):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))}: {p.stderr.strip()}")
    return p


def grid():
    for (cell, act, op), layers, bias, bidir, head in itertools.product(
        CELLS, [1, 2], [True, False], [False, True], [None, 2]
    ):
        yield dict(cell=cell, act=act, op=op, layers=layers, bias=bias, bidir=bidir, head=head, residual=False)
    # residual stacks: layer 1 always residual, layer 0 too when the input is as wide as the output
    for (cell, act, op), bidir, wide in itertools.product(CELLS, [False, True], [False, True]):
        yield dict(cell=cell, act=act, op=op, layers=2, bias=True, bidir=bidir, head=1, residual=True, wide=wide)


def check(rnn, d, i, cfg, worst):
    hidden = 4
    width = hidden * (2 if cfg["bidir"] else 1)
    input_size = width if cfg.get("wide") else 3
    model, onnx_path = os.path.join(d, f"m{i}.safetensors"), os.path.join(d, f"m{i}.onnx")
    args = [rnn, "init", "--cell", cfg["cell"], "--input-size", input_size, "--hidden-size", hidden,
            "--num-layers", cfg["layers"], "--seed", i, "--out", model]
    args += ["--nonlinearity", cfg["act"]] if cfg["act"] else []
    args += [] if cfg["bias"] else ["--no-bias"]
    args += ["--bidirectional"] if cfg["bidir"] else []
    args += ["--output-size", cfg["head"]] if cfg["head"] else []
    args += ["--residual"] if cfg["residual"] else []
    run(*map(str, args))
    with_state = [True] + ([False] if i % 4 == 0 else [])
    for states in with_state:
        flags = ["--initial-state", "--final-state"] if states else []
        run(rnn, "export", "--model", model, "--format", "onnx", "--output", onnx_path, *flags)
        m = onnx.load(onnx_path)
        onnx.checker.check_model(m, full_check=True)
        ops = [n.op_type for n in m.graph.node]
        dirs = 2 if cfg["bidir"] else 1
        want = cfg["layers"] * (dirs if cfg["op"] == "Scan" else 1)
        if ops.count(cfg["op"]) != want:
            raise AssertionError(f"{ops.count(cfg['op'])} {cfg['op']} nodes, expected {want}: {ops}")
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(i)
        for seq_len, batch in SHAPES:
            x = rng.standard_normal((seq_len, batch, input_size)).astype(np.float32)
            n = cfg["layers"] * dirs
            h0 = rng.standard_normal((n, batch, hidden)).astype(np.float32)
            c0 = rng.standard_normal((n, batch, hidden)).astype(np.float32)
            files = {k: os.path.join(d, f"{k}{i}.npy") for k in ["x", "y", "h0", "c0", "hn", "cn"]}
            np.save(files["x"], x)
            fwd = [rnn, "forward", "--model", model, "--input", files["x"], "--output", files["y"]]
            feeds = {"input": x}
            if states:
                np.save(files["h0"], h0)
                fwd += ["--h0", files["h0"], "--hn", files["hn"]]
                feeds["h0"] = h0
                if cfg["cell"] == "lstm":
                    np.save(files["c0"], c0)
                    fwd += ["--c0", files["c0"], "--cn", files["cn"]]
                    feeds["c0"] = c0
            run(*fwd)
            names = [o.name for o in sess.get_outputs()]
            got = dict(zip(names, sess.run(None, feeds)))
            want_files = {"output": "y", "h_n": "hn", "c_n": "cn"}
            if set(names) != {k for k, f in want_files.items() if k == "output" or (states and os.path.exists(files[f]))}:
                raise AssertionError(f"graph outputs {names}")
            for name in names:
                ref = np.load(files[want_files[name]])
                if got[name].shape != ref.shape:
                    raise AssertionError(f"{name}: shape {got[name].shape}, rnn forward {ref.shape}")
                diff = np.abs(got[name] - ref)
                worst[0] = max(worst[0], float(diff.max()))
                if (diff / np.maximum(1, np.abs(ref))).max() > TOL:
                    raise AssertionError(f"{name}: max |onnxruntime - rnn forward| = {diff.max():.3g} > {TOL}")
            for f in ["hn", "cn"]:
                if os.path.exists(files[f]):
                    os.remove(files[f])


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rnn = sys.argv[1]
    start = time.time()
    failures, worst, configs = 0, [0.0], list(grid())
    with tempfile.TemporaryDirectory() as d:
        for i, cfg in enumerate(configs):
            try:
                check(rnn, d, i, cfg, worst)
            except Exception as e:  # report and go on
                failures += 1
                print(f"FAIL {cfg}: {e}")
        # LSTM with proj_size: refused in one line
        model = os.path.join(d, "p.safetensors")
        run(rnn, "init", "--cell", "lstm", "--proj-size", "2", "--input-size", "3", "--hidden-size", "4", "--out", model)
        p = subprocess.run([rnn, "export", "--model", model, "--format", "onnx", "--output", os.path.join(d, "p.onnx")],
                           capture_output=True, text=True)
        err = p.stderr.strip()
        if p.returncode != 1 or "proj_size" not in err or len(err.splitlines()) != 1 or os.path.exists(os.path.join(d, "p.onnx")):
            failures += 1
            print(f"FAIL proj_size refusal: exit {p.returncode}, stderr {err!r}")
    print(f"onnx: {len(configs) - failures}/{len(configs)} configurations match ONNX Runtime "
          f"(onnx {onnx.__version__}, onnxruntime {ort.__version__}, opset 14); "
          f"max |onnxruntime - rnn forward| = {worst[0]:.2g}; proj_size refused; {time.time() - start:.1f} s")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
