#!/usr/bin/env python3
"""IndRNN model files against PyTorch, both ways (PyTorch has no IndRNN module: this is the
README's ~20-line one, whose state_dict keys are the model file's).

    python3 tests/golden/indrnn_check.py [PATH_TO_RNN_BINARY]     # default target/release/rnn

1. For a few configurations, `rnn init --cell indrnn` writes a model; the file loads into the
   module below with `load_state_dict(strict=True)`, and `rnn forward` (output and h_n, from a
   random h0) equals the module's forward.
2. A freshly initialised module's own state_dict, saved bare (no `rnn.` prefix, no metadata),
   loads in `rnn forward` as an IndRNN (inferred from the 1-D `weight_hh_l0`; the activation
   given by --nonlinearity), with the same result.

Writes nothing into the repository; prints the largest absolute difference and exits non-zero
on a mismatch above 1e-5. Needs torch, numpy and safetensors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


# --- the README's module (keep the two in step) -------------------------------------------
class IndRNN(torch.nn.Module):
    """h_t = act(W_ih x_t + b_ih + u * h_{t-1} + b_hh); state_dict keys as in an rnn file."""

    def __init__(s, input_size, hidden_size, num_layers=1, nonlinearity="relu", bias=True, bidirectional=False):
        super().__init__()
        s.act, s.L, s.D = getattr(torch, nonlinearity), num_layers, 2 if bidirectional else 1
        for l in range(num_layers):
            for sfx in ["", "_reverse"][: s.D]:
                n_in = input_size if l == 0 else s.D * hidden_size
                shapes = {"weight_ih": (hidden_size, n_in), "weight_hh": (hidden_size,)}
                shapes.update({"bias_ih": (hidden_size,), "bias_hh": (hidden_size,)} if bias else {})
                for name, shape in shapes.items():
                    s.register_parameter(f"{name}_l{l}{sfx}", torch.nn.Parameter(torch.zeros(shape)))

    def forward(s, x, h0=None):  # x [T, B, in] -> output [T, B, D*H], h_n [L*D, B, H]
        h_n = []
        for l in range(s.L):
            outs = []
            for d, sfx in enumerate(["", "_reverse"][: s.D]):
                p = lambda name: getattr(s, f"{name}_l{l}{sfx}", None)
                a = x @ p("weight_ih").T + (0 if p("bias_ih") is None else p("bias_ih") + p("bias_hh"))
                h = torch.zeros_like(a[0]) if h0 is None else h0[l * s.D + d]
                ys = []
                for t in range(len(x)) if d == 0 else reversed(range(len(x))):
                    h = s.act(a[t] + p("weight_hh") * h)
                    ys.append(h)
                outs.append(torch.stack(ys if d == 0 else ys[::-1]))
                h_n.append(h)
            x = torch.cat(outs, -1)
        return x, torch.stack(h_n)
# -----------------------------------------------------------------------------------------


class Model(torch.nn.Module):
    """An rnn model file's layout: the recurrence named `rnn`, an optional head `head`."""

    def __init__(s, cfg):
        super().__init__()
        s.rnn = IndRNN(cfg["input_size"], cfg["hidden_size"], cfg["num_layers"], cfg["nonlinearity"],
                       cfg["bias"], cfg["bidirectional"])
        width = (2 if cfg["bidirectional"] else 1) * cfg["hidden_size"]
        s.head = torch.nn.Linear(width, cfg["output_size"]) if cfg.get("output_size") else None

    def forward(s, x, h0):
        y, h_n = s.rnn(x, h0)
        return (y if s.head is None else s.head(y)), h_n


CONFIGS = [
    # (input, hidden, layers, nonlinearity, bias, bidirectional, head)
    (3, 5, 1, "relu", True, False, None),
    (4, 6, 2, "tanh", True, True, 2),
    (2, 7, 3, "relu", False, False, 1),
    (3, 4, 2, "sigmoid", True, True, None),
]


def run(binary: str, *args) -> None:
    out = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} {' '.join(map(str, args))} failed: {out.stderr.strip()}")


def rnn_forward(binary: str, model: Path, x: np.ndarray, h0: np.ndarray, tmp: Path) -> tuple[np.ndarray, np.ndarray]:
    np.save(tmp / "x.npy", x)
    np.save(tmp / "h0.npy", h0)
    run(binary, "forward", "--model", model, "--input", tmp / "x.npy", "--h0", tmp / "h0.npy",
        "--output", tmp / "y.npy", "--hn", tmp / "hn.npy")
    return np.load(tmp / "y.npy"), np.load(tmp / "hn.npy")


def main() -> int:
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/rnn"
    rng = np.random.default_rng(7)
    worst, failed = 0.0, False
    with tempfile.TemporaryDirectory(prefix="indrnn_check_") as tmp:
        tmp = Path(tmp)
        for k, (i, h, layers, act, bias, bidir, head) in enumerate(CONFIGS):
            path = tmp / f"m{k}.safetensors"
            args = ["init", "--cell", "indrnn", "--nonlinearity", act, "--input-size", i, "--hidden-size", h,
                    "--num-layers", layers, "--seed", k, "--recurrent-max", 1.5, "--out", path]
            args += ([] if bias else ["--no-bias"]) + (["--bidirectional"] if bidir else [])
            args += ["--output-size", head] if head else []
            run(binary, *args)
            cfg = json.loads(safe_open(str(path), "pt").metadata()["rnn.config"])
            assert cfg["mode"] == "INDRNN" and cfg["nonlinearity"] == act, cfg
            module = Model(cfg)
            module.load_state_dict(load_file(str(path)), strict=True)  # every name and shape
            x = rng.standard_normal((6, 3, i)).astype(np.float32)
            h0 = rng.standard_normal((layers * (2 if bidir else 1), 3, h)).astype(np.float32)
            with torch.no_grad():
                y_t, hn_t = module(torch.from_numpy(x), torch.from_numpy(h0))
            # 1. the rnn file in PyTorch
            y, hn = rnn_forward(binary, path, x, h0, tmp)
            d1 = max(np.abs(y - y_t.numpy()).max(), np.abs(hn - hn_t.numpy()).max())
            # 2. a PyTorch-made IndRNN's bare state_dict in rnn (the cell inferred from the 1-D
            # weight_hh_l0): fresh weights, W_ih and biases U(-0.5, 0.5), u U(0, 1)
            torch.manual_seed(k)
            fresh = IndRNN(i, h, layers, act, bias, bidir)
            for name, t in fresh.named_parameters():
                low = 0.0 if name.startswith("weight_hh") else -0.5
                torch.nn.init.uniform_(t, low, 1.0 if low == 0.0 else 0.5)
            bare = tmp / f"bare{k}.safetensors"
            save_file({n: t.contiguous() for n, t in fresh.state_dict().items()}, str(bare))
            run(binary, "forward", "--model", bare, "--nonlinearity", act, "--input", tmp / "x.npy",
                "--h0", tmp / "h0.npy", "--output", tmp / "yb.npy", "--hn", tmp / "hnb.npy")
            with torch.no_grad():
                yb_t, hnb_t = fresh(torch.from_numpy(x), torch.from_numpy(h0))
            d2 = max(np.abs(np.load(tmp / "yb.npy") - yb_t.numpy()).max(),
                     np.abs(np.load(tmp / "hnb.npy") - hnb_t.numpy()).max())
            ok = max(d1, d2) <= 1e-5
            failed |= not ok
            worst = max(worst, d1, d2)
            print(f"{'ok  ' if ok else 'FAIL'} {layers} layer(s) {act} bias={bias} bidirectional={bidir} "
                  f"head={head}: rnn file in torch {d1:.1e}, torch state_dict in rnn {d2:.1e}")
    print(f"{len(CONFIGS)} configurations, max abs difference {worst:.1e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
