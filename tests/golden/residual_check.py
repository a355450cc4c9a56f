#!/usr/bin/env python3
"""Residual model files against PyTorch. PyTorch's nn.RNN/LSTM/GRU have no residual option: a
residual `rnn` model is a stack of one-layer PyTorch modules, layer k's parameters being the
file's `*_l{k}` tensors, each layer whose input is as wide as its output adding that input to
its output (the README's ~15-line module below).

    python3 tests/golden/residual_check.py [PATH_TO_RNN_BINARY]     # default target/release/rnn

For a few configurations (every cell, deep, bidirectional, a head, the first layer residual or
not), `rnn init --residual` writes a model; its tensors load into the module below and
`rnn forward` (output and h_n from a random h0; an LSTM from zero c0) equals the module's
forward. Writes nothing into the repository; prints the largest absolute difference and exits
non-zero on a mismatch above 1e-5. Needs torch, numpy and safetensors.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file


# --- the README's module (keep the two in step) -------------------------------------------
class ResidualStack(torch.nn.Module):
    """An rnn file with `"residual": true`: one-layer PyTorch modules, layer k holding the file's
    `*_l{k}` tensors; a layer whose input is as wide as its output adds that input to it."""

    def __init__(s, cfg, tensors, prefix="rnn."):
        super().__init__()
        kind = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}.get(cfg["mode"], torch.nn.RNN)
        args = dict(bias=cfg.get("bias", True), bidirectional=cfg.get("bidirectional", False))
        args.update(proj_size=cfg["proj_size"]) if cfg.get("proj_size") else None
        args.update(nonlinearity=cfg["nonlinearity"]) if kind is torch.nn.RNN else None
        s.layers, width = torch.nn.ModuleList(), cfg["input_size"]
        for l in range(cfg.get("num_layers", 1)):
            m = kind(width, cfg["hidden_size"], **args)
            own = {re.sub(r"_l\d+", "_l0", n[len(prefix):]): t for n, t in tensors.items()
                   if re.fullmatch(rf"{re.escape(prefix)}\w+_l{l}(_reverse)?", n)}
            m.load_state_dict(own, strict=True)
            out = (1 + m.bidirectional) * (m.proj_size or m.hidden_size)
            m.residual, width = cfg.get("residual", False) and width == out, out
            s.layers.append(m)

    def forward(s, x, h0=None):  # x [T, B, in] -> output [T, B, D*S], h_n [L*D, B, S]
        h_n = []
        for l, m in enumerate(s.layers):
            d = 1 + m.bidirectional
            h = None if h0 is None else h0[l * d:(l + 1) * d]
            if isinstance(m, torch.nn.LSTM) and h is not None:  # zero c0, as `rnn forward`
                h = (h, torch.zeros(d, x.shape[1], m.hidden_size))
            y, st = m(x, h)
            h_n.append(st[0] if isinstance(m, torch.nn.LSTM) else st)
            x = y + x if m.residual else y
        return x, torch.cat(h_n)
# -----------------------------------------------------------------------------------------


CONFIGS = [
    # (cell args, input, hidden, layers, bidirectional, head)
    (["--cell", "rnn"], 6, 6, 3, False, None),             # every layer residual, the first too
    (["--cell", "rnn", "--nonlinearity", "relu"], 3, 5, 4, False, 2),
    (["--cell", "lstm"], 4, 5, 3, True, None),             # bidirectional: width 10
    (["--cell", "lstm", "--proj-size", "3"], 3, 6, 3, False, 1),
    (["--cell", "gru"], 10, 5, 3, True, 2),                # bidirectional, the first residual
]


def run(binary: str, *args) -> None:
    out = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} {' '.join(map(str, args))} failed: {out.stderr.strip()}")


def main() -> int:
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/rnn"
    rng = np.random.default_rng(11)
    worst, failed = 0.0, False
    with tempfile.TemporaryDirectory(prefix="residual_check_") as tmp:
        tmp = Path(tmp)
        for k, (cell, i, h, layers, bidir, head) in enumerate(CONFIGS):
            path = tmp / f"m{k}.safetensors"
            args = ["init", *cell, "--input-size", i, "--hidden-size", h, "--num-layers", layers,
                    "--residual", "--seed", k, "--out", path]
            args += (["--bidirectional"] if bidir else []) + (["--output-size", head] if head else [])
            run(binary, *args)
            cfg = json.loads(safe_open(str(path), "pt").metadata()["rnn.config"])
            assert cfg["residual"] is True, cfg
            tensors = load_file(str(path))
            stack = ResidualStack(cfg, tensors)
            d, s_ = 1 + bidir, cfg.get("proj_size") or h
            x = rng.standard_normal((7, 3, i)).astype(np.float32)
            h0 = rng.standard_normal((layers * d, 3, s_)).astype(np.float32)
            with torch.no_grad():
                y_t, hn_t = stack(torch.from_numpy(x), torch.from_numpy(h0))
                if head:
                    y_t = y_t @ tensors["head.weight"].T + tensors["head.bias"]
            np.save(tmp / "x.npy", x)
            np.save(tmp / "h0.npy", h0)
            run(binary, "forward", "--model", path, "--input", tmp / "x.npy", "--h0", tmp / "h0.npy",
                "--output", tmp / "y.npy", "--hn", tmp / "hn.npy")
            diff = max(np.abs(np.load(tmp / "y.npy") - y_t.numpy()).max(),
                       np.abs(np.load(tmp / "hn.npy") - hn_t.numpy()).max())
            residual = [m.residual for m in stack.layers]
            ok = diff <= 1e-5
            failed |= not ok
            worst = max(worst, diff)
            print(f"{'ok  ' if ok else 'FAIL'} {' '.join(cell[1:])} {layers} layers bidirectional={bidir} "
                  f"head={head} residual layers {residual}: max abs difference {diff:.1e}")
    print(f"{len(CONFIGS)} configurations, max abs difference {worst:.1e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
