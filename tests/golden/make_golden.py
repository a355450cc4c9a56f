#!/usr/bin/env python3
"""Golden fixtures for the `rnn` crate: Elman RNN, LSTM and GRU checked against
torch.nn.RNN / torch.nn.LSTM / torch.nn.GRU.

Default mode
------------
    python3 tests/golden/make_golden.py [--only PATTERN ...]

writes one directory per case under tests/golden/ (next to this script), plus
tests/golden/cases.json (a manifest) and tests/golden/README.md.  With --only,
only the cases whose names match one of the shell-style patterns are
regenerated (e.g. --only 'lstm_*' 'gru_*'); every other case directory and its
cases.json entry are kept exactly as they are (float32 results change in their
last bits between CPUs, so this keeps existing fixtures byte-identical).  Each
case directory holds

  model.safetensors  the parameters, in the crate's model-file layout:
                     `rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`, `rnn.bias_ih_l{k}`,
                     `rnn.bias_hh_l{k}`, `rnn.weight_hr_l{k}` (LSTM with
                     proj_size) (+ `_reverse` variants), `head.weight`,
                     `head.bias`, with metadata {"rnn.config": json}.
                     Variants: metadata=False (no metadata at all) and bare=True
                     (only the nn.RNN/LSTM/GRU's own state_dict: names without
                     the `rnn.` prefix, no head, no metadata).
  case.safetensors   inputs, outputs, loss weights and autograd gradients
                     (float32).
  *.npy              for a few cases only: plain numpy arrays for CLI tests.

The loss whose gradients are stored is

    L = sum(loss_weight_y * Y) + sum(loss_weight_h_n * h_n) [+ sum(loss_weight_c_n * c_n)]

where Y is the head output `y` if the case has a head, else the recurrent
module's `output`; the c_n term exists for LSTM cases only.

Round-trip mode
---------------
    python3 tests/golden/make_golden.py --roundtrip PATH_TO_RNN_BINARY

asks the Rust binary to `init` a model for a few configurations (Elman,
LSTM, GRU), loads that file into torch (strict state_dict loading, config read from the file's
metadata), runs the binary's `forward` on random inputs and compares with
torch.  Writes nothing into tests/golden/; exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch
from torch import nn

GOLDEN_DIR = Path(__file__).resolve().parent

# Harmless: torch falls back from oneDNN to its default LSTM kernel when
# proj_size > 0.
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

# ReLU cases: every pre-activation must be at least this far from zero, so that
# small (finite-difference / float32 rounding) perturbations cannot flip a ReLU.
RELU_MARGIN = 1e-3

# Seeds: case i (0-based position in CASES) uses seed BASE_SEED + i.
BASE_SEED = 1234


# ---------------------------------------------------------------------------
# The torch module matching the model-file contract
# ---------------------------------------------------------------------------


# Gates per cell: rows of weight_ih / weight_hh / biases are G * hidden_size.
# LSTM gate order i, f, g, o; GRU gate order r, z, n (PyTorch's).
NUM_GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def cfg_mode(cfg: dict) -> str:
    """"RNN" (Elman), "LSTM" or "GRU".  Elman configs of the fixtures carry no `mode` key;
    files `rnn init` writes carry PyTorch's `RNN_TANH` / `RNN_RELU`."""
    mode = cfg.get("mode", "RNN")
    return "RNN" if mode.startswith("RNN") else mode


def cfg_out_hidden(cfg: dict) -> int:
    """Hout: the width of h (proj_size for a projected LSTM, else hidden_size)."""
    return cfg.get("proj_size", 0) or cfg["hidden_size"]


class RNNModel(nn.Module):
    """`rnn` = nn.RNN / nn.LSTM / nn.GRU (seq-first), optional `head` =
    nn.Linear(D*Hout, O), Hout = proj_size if proj_size > 0 else hidden_size.

    Building this module (under a fixed torch seed) uses PyTorch's default
    init: nn.RNN/LSTM/GRU draw every parameter (including an LSTM's weight_hr)
    from U(-1/sqrt(H), 1/sqrt(H)); the head uses nn.Linear's default
    (kaiming-uniform weight, uniform bias).  The recurrent module is
    constructed first, then the head, so the RNG consumption order is fixed.
    """

    def __init__(self, cfg: dict):
        super().__init__()
        self.mode = cfg_mode(cfg)
        if self.mode == "RNN":
            self.rnn = nn.RNN(
                input_size=cfg["input_size"],
                hidden_size=cfg["hidden_size"],
                num_layers=cfg["num_layers"],
                nonlinearity=cfg["nonlinearity"],
                bias=cfg["bias"],
                batch_first=False,
                dropout=0.0,
                bidirectional=cfg["bidirectional"],
            )
        elif self.mode == "LSTM":
            self.rnn = nn.LSTM(
                input_size=cfg["input_size"],
                hidden_size=cfg["hidden_size"],
                num_layers=cfg["num_layers"],
                bias=cfg["bias"],
                batch_first=False,
                dropout=0.0,
                bidirectional=cfg["bidirectional"],
                proj_size=cfg.get("proj_size", 0),
            )
        elif self.mode == "GRU":
            assert cfg.get("proj_size", 0) == 0, "GRU has no proj_size"
            self.rnn = nn.GRU(
                input_size=cfg["input_size"],
                hidden_size=cfg["hidden_size"],
                num_layers=cfg["num_layers"],
                bias=cfg["bias"],
                batch_first=False,
                dropout=0.0,
                bidirectional=cfg["bidirectional"],
            )
        else:
            raise ValueError(f"unknown mode {self.mode!r}")
        num_dirs = 2 if cfg["bidirectional"] else 1
        if "output_size" in cfg:
            self.head = nn.Linear(num_dirs * cfg_out_hidden(cfg), cfg["output_size"])
        else:
            self.head = None  # plain attribute: not part of the state_dict

    def forward(self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor | None = None):
        """Returns (output, h_n, c_n or None, y or None); c0 is required for LSTM."""
        if self.mode == "LSTM":
            assert c0 is not None, "LSTM needs c0"
            output, (h_n, c_n) = self.rnn(x, (h0, c0))
        else:
            assert c0 is None, "only an LSTM takes c0"
            output, h_n = self.rnn(x, h0)
            c_n = None
        y = self.head(output) if self.head is not None else None
        return output, h_n, c_n, y


def make_config(input_size, hidden_size, num_layers, nonlinearity, bias,
                bidirectional, output_size=None) -> dict:
    """The Elman `rnn.config` metadata dict (key order is the documented one)."""
    cfg = {
        "input_size": input_size,
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "nonlinearity": nonlinearity,
        "bias": bias,
        "bidirectional": bidirectional,
    }
    if output_size is not None:
        cfg["output_size"] = output_size
    return cfg


def make_gated_config(input_size, hidden_size, num_layers, mode, bias,
                      bidirectional, proj_size=0, output_size=None) -> dict:
    """The LSTM/GRU `rnn.config` metadata dict (key order is the documented
    one).  `proj_size` is written only when > 0, `output_size` only with a
    head; there is no `nonlinearity` key."""
    assert mode in ("LSTM", "GRU"), mode
    assert proj_size == 0 or (mode == "LSTM" and 0 < proj_size < hidden_size), (mode, proj_size)
    cfg = {
        "input_size": input_size,
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "mode": mode,
        "bias": bias,
        "bidirectional": bidirectional,
    }
    if proj_size > 0:
        cfg["proj_size"] = proj_size
    if output_size is not None:
        cfg["output_size"] = output_size
    return cfg


# ---------------------------------------------------------------------------
# Case table
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    name: str
    num_layers: int
    nonlinearity: str | None  # Elman only; None for LSTM / GRU
    bias: bool = True
    bidirectional: bool = False
    output_size: int | None = None  # None: no head
    input_size: int = 3
    hidden_size: int = 5
    seq_len: int = 4
    batch: int = 2
    metadata: bool = True   # False: model.safetensors carries no metadata
    bare: bool = False      # True: nn.RNN state_dict only, no `rnn.` prefix
    npy: tuple[str, ...] = ()  # extra .npy files to write (see npy_arrays in make_case)
    mode: str = "RNN"       # "RNN" (Elman), "LSTM" or "GRU"
    proj_size: int = 0      # LSTM only; 0: no projection

    @property
    def config(self) -> dict:
        """The config as written to the `rnn.config` metadata."""
        if self.mode == "RNN":
            return make_config(self.input_size, self.hidden_size, self.num_layers,
                               self.nonlinearity, self.bias, self.bidirectional,
                               self.output_size)
        return make_gated_config(self.input_size, self.hidden_size, self.num_layers,
                                 self.mode, self.bias, self.bidirectional,
                                 self.proj_size, self.output_size)

    @property
    def manifest_config(self) -> dict:
        """The config as listed in cases.json: for LSTM/GRU cases the metadata
        config with `proj_size` always present (0 when none); Elman unchanged."""
        cfg = self.config
        if self.mode == "RNN":
            return cfg
        out = {k: cfg[k] for k in ("input_size", "hidden_size", "num_layers", "mode",
                                   "bias", "bidirectional")}
        out["proj_size"] = self.proj_size
        if "output_size" in cfg:
            out["output_size"] = cfg["output_size"]
        return out

    @property
    def num_dirs(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def out_hidden(self) -> int:
        """Hout: width of h0 / h_n / each direction's output."""
        return self.proj_size or self.hidden_size

    @property
    def num_gates(self) -> int:
        return NUM_GATES[self.mode]


def lstm_case(name: str, num_layers: int, **kw) -> Case:
    return Case(name, num_layers, None, mode="LSTM", **kw)


def gru_case(name: str, num_layers: int, **kw) -> Case:
    return Case(name, num_layers, None, mode="GRU", **kw)


CASES = [
    Case("tanh_1l", 1, "tanh"),
    Case("tanh_1l_nobias", 1, "tanh", bias=False),
    Case("relu_3l", 3, "relu", npy=("x", "h0", "output", "h_n", "x64", "output64")),
    Case("tanh_2l_bidir", 2, "tanh", bidirectional=True),
    Case("relu_2l_bidir_nobias", 2, "relu", bias=False, bidirectional=True),
    Case("tanh_2l_bidir_head", 2, "tanh", bidirectional=True, output_size=2,
         npy=("x", "h0", "y", "h_n")),
    Case("relu_1l_head", 1, "relu", output_size=1, seq_len=1, batch=1),
    Case("tanh_3l_head_bidir_b1", 3, "tanh", bidirectional=True, output_size=3,
         batch=1, seq_len=6),
    Case("tanh_1l_nometa", 1, "tanh", metadata=False),
    Case("tanh_2l_bare", 2, "tanh", bare=True),
    # ---- LSTM / GRU (appended: the Elman cases above keep their seeds) ----
    lstm_case("lstm_1l", 1),
    lstm_case("lstm_1l_nobias", 1, bias=False),
    lstm_case("lstm_2l_bidir_head", 2, bidirectional=True, output_size=2,
              npy=("x", "h0", "c0", "y", "h_n", "c_n")),
    lstm_case("lstm_2l_proj", 2, proj_size=3),
    lstm_case("lstm_2l_bidir_proj_head", 2, bidirectional=True, proj_size=3, output_size=2),
    lstm_case("lstm_3l_head_b1", 3, output_size=1, seq_len=6, batch=1),
    lstm_case("lstm_1l_bare", 1, bare=True),
    lstm_case("lstm_2l_nometa", 2, output_size=1, metadata=False),
    lstm_case("lstm_1l_proj_bare", 1, proj_size=3, bare=True),
    gru_case("gru_1l", 1),
    gru_case("gru_1l_nobias", 1, bias=False),
    gru_case("gru_2l_bidir_head", 2, bidirectional=True, output_size=2,
             npy=("x", "h0", "y", "h_n")),
    gru_case("gru_3l", 3),
    gru_case("gru_3l_head_b1", 3, output_size=3, seq_len=6, batch=1),
    gru_case("gru_1l_bare", 1, bare=True),
    gru_case("gru_2l_bidir_nometa", 2, bidirectional=True, metadata=False),
]
assert not any(c.bare and c.output_size for c in CASES), "bare cases have no head"
assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
assert all((c.mode == "RNN") == (c.nonlinearity is not None) for c in CASES)
assert all(c.proj_size == 0 or c.mode == "LSTM" for c in CASES)


# ---------------------------------------------------------------------------
# Independent float64 reference (documents the exact semantics, and yields the
# pre-activations for the ReLU margin check)
# ---------------------------------------------------------------------------


def reference_forward(rnn_params: dict[str, np.ndarray], cfg: dict,
                      x: np.ndarray, h0: np.ndarray, c0: np.ndarray | None = None):
    """Float64 numpy forward of the config's cell; returns
    (output, h_n, c_n or None, list of pre-activations)."""
    if cfg_mode(cfg) == "RNN":
        assert c0 is None
        output, h_n, preacts = reference_forward_elman(rnn_params, cfg, x, h0)
        return output, h_n, None, preacts
    return reference_forward_gated(rnn_params, cfg, x, h0, c0)


def reference_forward_elman(rnn_params: dict[str, np.ndarray], cfg: dict,
                            x: np.ndarray, h0: np.ndarray):
    """Elman RNN in float64 numpy, torch.nn.RNN semantics (seq-first).

    For layer k, direction d (0 forward, 1 reverse, suffix `_reverse`):
        a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh ;  h_t = act(a_t)
    the reverse direction runs t = T-1 .. 0 starting from its own h0 slice.
    Layer k>0 consumes concat(forward_out, reverse_out) of layer k-1.
    h0 / h_n index: k * D + d.  Returns (output, h_n, list of pre-activations).
    """
    act = np.tanh if cfg["nonlinearity"] == "tanh" else (lambda a: np.maximum(a, 0.0))
    num_dirs = 2 if cfg["bidirectional"] else 1
    seq_len = x.shape[0]
    layer_in = x.astype(np.float64)
    h_n = np.zeros_like(h0, dtype=np.float64)
    preacts = []
    for layer in range(cfg["num_layers"]):
        dir_outs = []
        for d in range(num_dirs):
            sfx = f"l{layer}" + ("_reverse" if d == 1 else "")
            w_ih = rnn_params[f"weight_ih_{sfx}"].astype(np.float64)
            w_hh = rnn_params[f"weight_hh_{sfx}"].astype(np.float64)
            h = h0[layer * num_dirs + d].astype(np.float64)
            out = np.zeros((seq_len, h.shape[0], h.shape[1]))
            steps = range(seq_len) if d == 0 else reversed(range(seq_len))
            for t in steps:
                a = layer_in[t] @ w_ih.T + h @ w_hh.T
                if cfg["bias"]:
                    a = a + rnn_params[f"bias_ih_{sfx}"] + rnn_params[f"bias_hh_{sfx}"]
                preacts.append(a)
                h = act(a)
                out[t] = h
            h_n[layer * num_dirs + d] = h
            dir_outs.append(out)
        layer_in = np.concatenate(dir_outs, axis=-1)
    return layer_in, h_n, preacts


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def reference_forward_gated(rnn_params: dict[str, np.ndarray], cfg: dict,
                            x: np.ndarray, h0: np.ndarray, c0: np.ndarray | None):
    """LSTM / GRU in float64 numpy, torch.nn.LSTM / torch.nn.GRU semantics.

    Per layer k, direction d (suffix `_reverse` for d = 1), with
    gi = W_ih x_t + b_ih and gh = W_hh h_{t-1} + b_hh (biases 0 without bias),
    split along the rows into G chunks of H:
      LSTM (i, f, g, o):  i = sig(gi_i + gh_i), f = sig(gi_f + gh_f),
                          g = tanh(gi_g + gh_g), o = sig(gi_o + gh_o),
                          c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t),
                          with proj_size: h_t = W_hr (o * tanh(c_t)).
      GRU (r, z, n):      r = sig(gi_r + gh_r), z = sig(gi_z + gh_z),
                          n = tanh(gi_n + r * gh_n),  h_t = (1 - z) * n + z * h_{t-1}.
    Direction / layer stacking and the h0 / h_n (/ c0 / c_n) index k * D + d as
    for the Elman RNN.  Pre-activations: the LSTM's 4H gate sums, the GRU's
    r, z sums and the n argument (informational only).
    """
    mode = cfg_mode(cfg)
    H = cfg["hidden_size"]
    num_dirs = 2 if cfg["bidirectional"] else 1
    seq_len = x.shape[0]
    layer_in = x.astype(np.float64)
    h_n = np.zeros_like(h0, dtype=np.float64)
    c_n = np.zeros_like(c0, dtype=np.float64) if mode == "LSTM" else None
    preacts = []
    for layer in range(cfg["num_layers"]):
        dir_outs = []
        for d in range(num_dirs):
            sfx = f"l{layer}" + ("_reverse" if d == 1 else "")
            w_ih = rnn_params[f"weight_ih_{sfx}"].astype(np.float64)
            w_hh = rnn_params[f"weight_hh_{sfx}"].astype(np.float64)
            G = w_ih.shape[0] // H
            if cfg["bias"]:
                b_ih = rnn_params[f"bias_ih_{sfx}"].astype(np.float64)
                b_hh = rnn_params[f"bias_hh_{sfx}"].astype(np.float64)
            else:
                b_ih = b_hh = np.zeros(G * H)
            w_hr = rnn_params.get(f"weight_hr_{sfx}")
            h = h0[layer * num_dirs + d].astype(np.float64)
            c = c0[layer * num_dirs + d].astype(np.float64) if mode == "LSTM" else None
            out = np.zeros((seq_len, h.shape[0], h.shape[1]))
            steps = range(seq_len) if d == 0 else reversed(range(seq_len))
            for t in steps:
                gi = layer_in[t] @ w_ih.T + b_ih
                gh = h @ w_hh.T + b_hh
                if mode == "LSTM":
                    a = gi + gh
                    preacts.append(a)
                    i, f, g, o = (a[:, j * H:(j + 1) * H] for j in range(4))
                    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                    h = _sigmoid(o) * np.tanh(c)
                    if w_hr is not None:
                        h = h @ w_hr.astype(np.float64).T
                else:
                    a_r = gi[:, :H] + gh[:, :H]
                    a_z = gi[:, H:2 * H] + gh[:, H:2 * H]
                    r, z = _sigmoid(a_r), _sigmoid(a_z)
                    a_n = gi[:, 2 * H:] + r * gh[:, 2 * H:]
                    preacts += [a_r, a_z, a_n]
                    h = (1.0 - z) * np.tanh(a_n) + z * h
                out[t] = h
            h_n[layer * num_dirs + d] = h
            if mode == "LSTM":
                c_n[layer * num_dirs + d] = c
            dir_outs.append(out)
        layer_in = np.concatenate(dir_outs, axis=-1)
    return layer_in, h_n, c_n, preacts


# ---------------------------------------------------------------------------
# Fixture generation
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Data:
    """A case's random inputs; c0 / loss_weight_c_n only for LSTM cases."""
    x: torch.Tensor
    h0: torch.Tensor
    c0: torch.Tensor | None
    loss_weight_y: torch.Tensor
    loss_weight_h_n: torch.Tensor
    loss_weight_c_n: torch.Tensor | None

    def to(self, dtype: torch.dtype) -> "Data":
        return Data(*(None if t is None else t.to(dtype) for t in dataclasses.astuple(self)))


def draw_data(case: Case) -> Data:
    """Drawn from torch's global RNG in this order: x, h0, [c0], loss_weight_y,
    loss_weight_h_n, [loss_weight_c_n] (bracketed: LSTM only).  For Elman and
    GRU cases this is x, h0, loss_weight_y, loss_weight_h_n."""
    T, B, H, L, D = case.seq_len, case.batch, case.hidden_size, case.num_layers, case.num_dirs
    Hout = case.out_hidden
    lstm = case.mode == "LSTM"
    y_width = case.output_size if case.output_size is not None else D * Hout
    x = torch.randn(T, B, case.input_size)
    h0 = torch.randn(L * D, B, Hout) * 0.5
    c0 = torch.randn(L * D, B, H) * 0.5 if lstm else None
    loss_weight_y = torch.randn(T, B, y_width)
    loss_weight_h_n = torch.randn(L * D, B, Hout)
    loss_weight_c_n = torch.randn(L * D, B, H) if lstm else None
    return Data(x, h0, c0, loss_weight_y, loss_weight_h_n, loss_weight_c_n)


@dataclasses.dataclass
class Result:
    output: torch.Tensor
    h_n: torch.Tensor
    c_n: torch.Tensor | None
    y: torch.Tensor | None
    loss: torch.Tensor
    grads: dict[str, torch.Tensor]  # parameter name (module naming) -> grad
    grad_x: torch.Tensor
    grad_h0: torch.Tensor
    grad_c0: torch.Tensor | None


def run_with_grads(model: RNNModel, data: Data) -> Result:
    """Forward + backward of the golden loss, in the dtype of the inputs."""
    model.zero_grad(set_to_none=True)
    x = data.x.detach().clone().requires_grad_(True)
    h0 = data.h0.detach().clone().requires_grad_(True)
    c0 = None if data.c0 is None else data.c0.detach().clone().requires_grad_(True)
    output, h_n, c_n, y = model(x, h0, c0)
    y_or_output = y if y is not None else output
    loss = (data.loss_weight_y * y_or_output).sum() + (data.loss_weight_h_n * h_n).sum()
    if c_n is not None:
        loss = loss + (data.loss_weight_c_n * c_n).sum()
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
    return Result(output.detach(), h_n.detach(), None if c_n is None else c_n.detach(),
                  None if y is None else y.detach(), loss.detach(), grads,
                  x.grad.detach(), h0.grad.detach(),
                  None if c0 is None else c0.grad.detach())


def max_abs_diff(a, b) -> float:
    a = a.detach().double().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, np.float64)
    b = b.detach().double().numpy() if isinstance(b, torch.Tensor) else np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def to_f32(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.float32).contiguous()


def make_case(index: int, case: Case, out_root: Path) -> dict:
    """Build, run, check and write one case; returns its manifest entry."""
    seed = BASE_SEED + index
    cfg = case.config

    torch.manual_seed(seed)
    model = RNNModel(cfg).float()
    rnn_params = {k: v.detach().double().numpy() for k, v in model.rnn.state_dict().items()}

    # Draw the data right after the module, from the same RNG stream.  For ReLU
    # cases, re-draw with seed+1, seed+2, ... while any pre-activation lies
    # within RELU_MARGIN of zero (the module's weights are kept).
    data_seed = seed
    while True:
        data = draw_data(case)
        ref_out, ref_hn, ref_cn, preacts = reference_forward(
            rnn_params, cfg, data.x.numpy(), data.h0.numpy(),
            None if data.c0 is None else data.c0.numpy())
        min_abs_preact = float(min(np.min(np.abs(a)) for a in preacts))
        if case.nonlinearity != "relu" or min_abs_preact >= RELU_MARGIN:
            break
        data_seed += 1
        assert data_seed < seed + 1000, f"{case.name}: cannot satisfy the ReLU margin"
        torch.manual_seed(data_seed)
    x, h0, c0 = data.x, data.h0, data.c0

    # float32 forward/backward: this is what the fixtures store.
    r32 = run_with_grads(model, data)
    output, h_n, c_n, y, loss = r32.output, r32.h_n, r32.c_n, r32.y, r32.loss

    # Sanity: the torch module agrees with the independent reference ...
    ref_diff = max(max_abs_diff(output, ref_out), max_abs_diff(h_n, ref_hn),
                   max_abs_diff(c_n, ref_cn) if c_n is not None else 0.0)
    assert ref_diff < 1e-5, f"{case.name}: nn.{case.mode} vs reference differ by {ref_diff}"
    # ... and the float32 results agree with a float64 rerun of the same model
    # (this shows the float32 rounding level the Rust tolerances must absorb).
    model64 = RNNModel(cfg)
    model64.load_state_dict(model.state_dict())
    model64 = model64.double()
    r64 = run_with_grads(model64, data.to(torch.float64))
    out64 = r64.output
    fwd_f32_vs_f64 = max(max_abs_diff(output, r64.output), max_abs_diff(h_n, r64.h_n),
                         max_abs_diff(c_n, r64.c_n) if c_n is not None else 0.0,
                         max_abs_diff(y, r64.y) if y is not None else 0.0)
    grad_f32_vs_f64 = max([max_abs_diff(r32.grads[k], r64.grads[k]) for k in r32.grads]
                          + [max_abs_diff(r32.grad_x, r64.grad_x),
                             max_abs_diff(r32.grad_h0, r64.grad_h0)]
                          + ([max_abs_diff(r32.grad_c0, r64.grad_c0)] if c0 is not None else []))
    assert fwd_f32_vs_f64 < 1e-5 and grad_f32_vs_f64 < 1e-4, (case.name, fwd_f32_vs_f64, grad_f32_vs_f64)

    case_dir = out_root / case.name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)

    # ---- model.safetensors -------------------------------------------------
    if case.bare:
        model_tensors = {k: to_f32(v) for k, v in model.rnn.state_dict().items()}
        grad_names = {f"rnn.{k}": k for k in model_tensors}  # param -> stored name
        model_meta = None
    else:
        model_tensors = {k: to_f32(v) for k, v in model.state_dict().items()}
        grad_names = {k: k for k in model_tensors}
        model_meta = {"rnn.config": json.dumps(cfg)} if case.metadata else None
    safetensors.torch.save_file(model_tensors, str(case_dir / "model.safetensors"),
                                metadata=model_meta)

    # ---- case.safetensors --------------------------------------------------
    tensors = {
        "x": to_f32(x),
        "h0": to_f32(h0),
        "output": to_f32(output),
        "h_n": to_f32(h_n),
        "loss_weight_y": to_f32(data.loss_weight_y),
        "loss_weight_h_n": to_f32(data.loss_weight_h_n),
        "loss": to_f32(loss.reshape(1)),
        "grad.x": to_f32(r32.grad_x),
        "grad.h0": to_f32(r32.grad_h0),
    }
    if y is not None:
        tensors["y"] = to_f32(y)
    if c0 is not None:  # LSTM
        tensors["c0"] = to_f32(c0)
        tensors["c_n"] = to_f32(c_n)
        tensors["loss_weight_c_n"] = to_f32(data.loss_weight_c_n)
        tensors["grad.c0"] = to_f32(r32.grad_c0)
    for param_name, stored_name in grad_names.items():
        tensors[f"grad.{stored_name}"] = to_f32(r32.grads[param_name])
    loss_text = "sum(loss_weight_y * (y if present else output)) + sum(loss_weight_h_n * h_n)"
    if c0 is not None:
        loss_text += " + sum(loss_weight_c_n * c_n)"
    # Informational metadata only; nothing needs to read it.  It is a single
    # key on purpose: safetensors writes metadata from a hash map, so with
    # several keys their order (and the file bytes) would vary between runs.
    case_meta = {"golden": json.dumps({
        "case": case.name,
        "config": case.manifest_config,
        "seed": seed,
        "data_seed": data_seed,
        "loss": loss_text,
        "torch_version": torch.__version__,
    })}
    safetensors.torch.save_file(tensors, str(case_dir / "case.safetensors"), metadata=case_meta)

    # ---- plain .npy files for CLI tests ------------------------------------
    npy_arrays = {
        "x": lambda: x.numpy(),
        "h0": lambda: h0.numpy(),
        "output": lambda: output.numpy(),
        "y": lambda: y.numpy(),
        "h_n": lambda: h_n.numpy(),
        "c0": lambda: c0.numpy(),    # LSTM only
        "c_n": lambda: c_n.numpy(),  # LSTM only
        # float64 run of the same model: float32 weights/h0 upcast exactly.
        "x64": lambda: x.double().numpy(),
        "output64": lambda: out64.numpy(),
    }
    for name in case.npy:
        arr = np.ascontiguousarray(npy_arrays[name]())
        expected = np.float64 if name.endswith("64") else np.float32
        assert arr.dtype == expected, (name, arr.dtype)
        np.save(case_dir / f"{name}.npy", arr)

    entry = {
        "name": case.name,
        "config": case.manifest_config,
        "seq_len": case.seq_len,
        "batch": case.batch,
        "has_head": case.output_size is not None,
        "model_metadata": bool(model_meta),
        "bare": case.bare,
        "seed": seed,
        "data_seed": data_seed,
        "npy": [f"{n}.npy" for n in case.npy],
        "min_abs_preactivation": min_abs_preact,
        "max_abs_diff_f32_vs_f64_forward": fwd_f32_vs_f64,
        "max_abs_diff_f32_vs_f64_grad": grad_f32_vs_f64,
    }
    print(f"{case.name:25s} seed={seed} data_seed={data_seed} "
          f"min|preact|={min_abs_preact:.2e} f32-vs-f64 fwd={fwd_f32_vs_f64:.1e} "
          f"grad={grad_f32_vs_f64:.1e}")
    return entry


def verify_case(case: Case, out_root: Path) -> None:
    """Read the written files back and check names, dtypes, shapes, metadata."""
    case_dir = out_root / case.name
    cfg = case.config
    T, B, I, H, L, D = (case.seq_len, case.batch, case.input_size, case.hidden_size,
                        case.num_layers, case.num_dirs)
    G, P, Hout = case.num_gates, case.proj_size, case.out_hidden
    lstm = case.mode == "LSTM"

    # Expected parameter names/shapes, in model.safetensors naming.
    prefix = "" if case.bare else "rnn."
    expected_params = {}
    for k in range(L):
        for sfx in ([""] + (["_reverse"] if D == 2 else [])):
            in_k = I if k == 0 else D * Hout
            expected_params[f"{prefix}weight_ih_l{k}{sfx}"] = (G * H, in_k)
            expected_params[f"{prefix}weight_hh_l{k}{sfx}"] = (G * H, Hout)
            if case.bias:
                expected_params[f"{prefix}bias_ih_l{k}{sfx}"] = (G * H,)
                expected_params[f"{prefix}bias_hh_l{k}{sfx}"] = (G * H,)
            if P > 0:
                expected_params[f"{prefix}weight_hr_l{k}{sfx}"] = (P, H)
    if case.output_size is not None:
        expected_params["head.weight"] = (case.output_size, D * Hout)
        expected_params["head.bias"] = (case.output_size,)

    with safetensors.safe_open(str(case_dir / "model.safetensors"), framework="pt") as f:
        meta = f.metadata()
        got = {k: tuple(f.get_tensor(k).shape) for k in f.keys()}
        assert all(f.get_tensor(k).dtype == torch.float32 for k in f.keys())
    assert got == expected_params, (case.name, got, expected_params)
    if case.bare or not case.metadata:
        assert not meta, (case.name, meta)  # None (or empty) when written without metadata
    else:
        assert json.loads(meta["rnn.config"]) == cfg, (case.name, meta)
        assert set(meta) == {"rnn.config"}, meta
        meta_cfg = json.loads(meta["rnn.config"])
        if case.mode != "RNN":
            assert meta_cfg["mode"] == case.mode and "nonlinearity" not in meta_cfg, meta_cfg
            assert ("proj_size" in meta_cfg) == (P > 0), meta_cfg
        else:
            assert "mode" not in meta_cfg, meta_cfg

    y_width = case.output_size if case.output_size is not None else D * Hout
    expected_case = {
        "x": (T, B, I), "h0": (L * D, B, Hout), "output": (T, B, D * Hout),
        "h_n": (L * D, B, Hout), "loss_weight_y": (T, B, y_width),
        "loss_weight_h_n": (L * D, B, Hout), "loss": (1,),
        "grad.x": (T, B, I), "grad.h0": (L * D, B, Hout),
    }
    if case.output_size is not None:
        expected_case["y"] = (T, B, case.output_size)
    if lstm:
        for name in ("c0", "c_n", "loss_weight_c_n", "grad.c0"):
            expected_case[name] = (L * D, B, H)
    for name, shape in expected_params.items():
        expected_case[f"grad.{name}"] = shape
    with safetensors.safe_open(str(case_dir / "case.safetensors"), framework="pt") as f:
        got = {k: tuple(f.get_tensor(k).shape) for k in f.keys()}
        assert all(f.get_tensor(k).dtype == torch.float32 for k in f.keys())
        # Recompute the loss from the stored tensors as a consistency check.
        t = {k: f.get_tensor(k).double() for k in f.keys()}
    assert got == expected_case, (case.name, got, expected_case)
    y_or_out = t["y"] if "y" in t else t["output"]
    loss = (t["loss_weight_y"] * y_or_out).sum() + (t["loss_weight_h_n"] * t["h_n"]).sum()
    if lstm:
        loss = loss + (t["loss_weight_c_n"] * t["c_n"]).sum()
    assert abs(float(loss) - float(t["loss"][0])) < 1e-4 * max(1.0, abs(float(loss))), case.name

    # npy files must match the safetensors copies exactly (float32 ones).
    for name in case.npy:
        arr = np.load(case_dir / f"{name}.npy")
        if name in t:
            assert arr.dtype == np.float32 and np.array_equal(arr, t[name].float().numpy()), name
    if "x64" in case.npy:
        assert np.array_equal(np.load(case_dir / "x64.npy"), t["x"].numpy())

    # The stored model, loaded strictly into a fresh torch module, must
    # reproduce the stored outputs from the stored inputs (up to float32
    # rounding: the fixtures may come from another CPU).
    state = safetensors.torch.load_file(str(case_dir / "model.safetensors"))
    if case.bare:
        state = {f"rnn.{k}": v for k, v in state.items()}
    module = RNNModel(cfg).float()
    module.load_state_dict(state, strict=True)
    with torch.no_grad():
        output, h_n, c_n, y = module(t["x"].float(), t["h0"].float(),
                                     t["c0"].float() if lstm else None)
    diffs = [max_abs_diff(output, t["output"]), max_abs_diff(h_n, t["h_n"])]
    if lstm:
        diffs.append(max_abs_diff(c_n, t["c_n"]))
    if y is not None:
        diffs.append(max_abs_diff(y, t["y"]))
    assert max(diffs) < 1e-5, (case.name, diffs)


# ---------------------------------------------------------------------------
# README / manifest
# ---------------------------------------------------------------------------


def case_torch_versions(out_root: Path) -> dict[str, list[str]]:
    """torch version -> case names, from each case.safetensors `golden` metadata."""
    versions: dict[str, list[str]] = {}
    for case in CASES:
        with safetensors.safe_open(str(out_root / case.name / "case.safetensors"), framework="pt") as f:
            golden = json.loads((f.metadata() or {})["golden"])
        versions.setdefault(golden["torch_version"], []).append(case.name)
    return versions


def write_readme(out_root: Path, entries: list[dict]) -> None:
    rows = []
    for e in entries:
        c = e["config"]
        mode = c.get("mode", "RNN")
        flags = []
        if not e["model_metadata"]:
            flags.append(f"bare (no `rnn.` prefix, no metadata)" if e["bare"] else "no metadata")
        if e["npy"]:
            flags.append(", ".join(f"`{n}`" for n in e["npy"]))
        rows.append(
            f"| `{e['name']}` | {mode} | {c['num_layers']} | {c.get('nonlinearity', '-')} | "
            f"{'yes' if c['bias'] else 'no'} | {'yes' if c['bidirectional'] else 'no'} | "
            f"{c.get('proj_size') or '-'} | "
            f"{c.get('output_size', '-')} | {e['seq_len']} | {e['batch']} | "
            f"{e['seed']} / {e['data_seed']} | {'; '.join(flags)} |")

    def max_diffs(modes):
        sel = [e for e in entries if e["config"].get("mode", "RNN") in modes]
        return (max(e["max_abs_diff_f32_vs_f64_forward"] for e in sel),
                max(e["max_abs_diff_f32_vs_f64_grad"] for e in sel))
    diff_rows = "\n".join(
        f"| {label} | {fwd:.1e} | {grad:.1e} |"
        for label, (fwd, grad) in (("Elman (`tanh_*`, `relu_*`)", max_diffs({"RNN"})),
                                   ("LSTM (`lstm_*`)", max_diffs({"LSTM"})),
                                   ("GRU (`gru_*`)", max_diffs({"GRU"})),
                                   ("all", max_diffs({"RNN", "LSTM", "GRU"}))))
    versions = case_torch_versions(out_root)
    if len(versions) == 1:
        version_text = f"torch {next(iter(versions))}"
    else:
        version_text = "; ".join(f"torch {v} ({', '.join(f'`{n}`' for n in names)})"
                                 for v, names in versions.items())
    text = f"""# Golden fixtures: Elman RNN, LSTM and GRU vs `torch.nn.RNN` / `LSTM` / `GRU`

Generated by `make_golden.py` with {version_text} (as recorded in each
`case.safetensors`), numpy {np.__version__}, safetensors {safetensors.__version__}
(CPU, float32, single thread).
Do not edit by hand; regenerate with

    pip install torch numpy safetensors && python3 tests/golden/make_golden.py

or, to regenerate only some cases and keep every other case directory and
`cases.json` entry byte-identical,

    python3 tests/golden/make_golden.py --only 'lstm_*' 'gru_*'

(shell-style patterns over the case names). The LSTM/GRU cases were added that
way, after the Elman cases: the Elman files are the ones of the first run.

Regeneration with another torch version / CPU may change the last bits of the
float32 results (and, if torch's RNG or default init ever changed, the weights).
Cases are seeded by their position in the case list, so new cases are appended
at its end.

## Model-file layout

A torch module with `rnn` = one of

- `torch.nn.RNN(input_size, hidden_size, num_layers, nonlinearity, bias,
  batch_first=False, dropout=0, bidirectional)` (Elman),
- `torch.nn.LSTM(input_size, hidden_size, num_layers, bias, batch_first=False,
  dropout=0, bidirectional, proj_size)`,
- `torch.nn.GRU(input_size, hidden_size, num_layers, bias, batch_first=False,
  dropout=0, bidirectional)`,

and optional `head = torch.nn.Linear(D*Hout, output_size)`, where D = 2 if
bidirectional (else 1) and Hout = proj_size if proj_size > 0 (LSTM only), else
H = hidden_size. `model.safetensors` holds its state_dict in float32. With G
gates per cell (G = 1 Elman; G = 4 LSTM, row blocks i, f, g, o; G = 3 GRU,
row blocks r, z, n):

- `rnn.weight_ih_l{{k}}` [G*H, I for k = 0, else D*Hout],
  `rnn.weight_hh_l{{k}}` [G*H, Hout], `rnn.bias_ih_l{{k}}` [G*H],
  `rnn.bias_hh_l{{k}}` [G*H] (biases only if `bias`);
- LSTM with proj_size > 0 only: `rnn.weight_hr_l{{k}}` [proj_size, H];
- the reverse direction of a bidirectional module adds the same names with
  suffix `_reverse` (`rnn.weight_ih_l0_reverse`, ...);
- `head.weight` [O, D*Hout], `head.bias` [O] when there is a head;
- metadata `{{"rnn.config": json}}`:
  - Elman: keys `input_size`, `hidden_size`, `num_layers`, `nonlinearity`
    (`"tanh"` | `"relu"`), `bias`, `bidirectional`, and `output_size` when there
    is a head (no `mode` key);
  - LSTM / GRU: keys `input_size`, `hidden_size`, `num_layers`, `mode`
    (`"LSTM"` | `"GRU"`), `bias`, `bidirectional`, `proj_size` (only when > 0),
    and `output_size` when there is a head (no `nonlinearity` key).
  E.g. `{{"input_size": 3, "hidden_size": 5, "num_layers": 2, "mode": "LSTM",
  "bias": true, "bidirectional": true, "proj_size": 3, "output_size": 2}}`.

Variants: `*_nometa` cases have the same names but **no metadata at all**
(the cell and sizes must be inferred from the tensor names and shapes);
`*_bare` cases are a bare `nn.RNN` / `nn.LSTM` / `nn.GRU` state_dict: names
**without** the `rnn.` prefix (`weight_ih_l0`, ...), no head, no metadata.
The config of every case is also in `cases.json` (and, informationally, in the
`golden` metadata key of `case.safetensors`); there, LSTM/GRU configs always
carry `mode` and `proj_size` (0 when none).

Semantics (sequence-first), for layer k and direction d:

- Elman: `h_t = act(W_ih x_t + b_ih + W_hh h_{{t-1}} + b_hh)`.
- LSTM: with `a = W_ih x_t + b_ih + W_hh h_{{t-1}} + b_hh` split into [i, f, g, o]
  blocks of H: `c_t = sigmoid(f) * c_{{t-1}} + sigmoid(i) * tanh(g)`,
  `h_t = sigmoid(o) * tanh(c_t)`, and with proj_size > 0
  `h_t = W_hr (sigmoid(o) * tanh(c_t))` (so h has width Hout = proj_size,
  c has width H).
- GRU: with `gi = W_ih x_t + b_ih`, `gh = W_hh h_{{t-1}} + b_hh` split into
  [r, z, n] blocks: `r = sigmoid(gi_r + gh_r)`, `z = sigmoid(gi_z + gh_z)`,
  `n = tanh(gi_n + r * gh_n)`, `h_t = (1 - z) * n + z * h_{{t-1}}`
  (note `b_hh`'s n block sits inside the `r *`).

The reverse direction runs t = T-1 .. 0 from its own initial state; layer k > 0
consumes the concatenation [forward, reverse] of layer k-1's outputs.
`output[t]` = [forward h_t, reverse h_t]. `h0` / `h_n` (and `c0` / `c_n`) are
indexed `k * D + d` (layer-major, forward before reverse).

## `case.safetensors` (all float32)

| tensor | shape | meaning |
|---|---|---|
| `x` | [T, B, I] | input, `torch.randn` |
| `h0` | [L*D, B, Hout] | initial state, `torch.randn * 0.5`; always passed |
| `c0` | [L*D, B, H] | LSTM only: initial cell state, `torch.randn * 0.5`; always passed |
| `output` | [T, B, D*Hout] | the module's output |
| `h_n` | [L*D, B, Hout] | final hidden state |
| `c_n` | [L*D, B, H] | LSTM only: final cell state |
| `y` | [T, B, O] | `head(output)`; only for cases with a head |
| `loss_weight_y` | shape of `y` (of `output` if no head) | `torch.randn` |
| `loss_weight_h_n` | [L*D, B, Hout] | `torch.randn` |
| `loss_weight_c_n` | [L*D, B, H] | LSTM only: `torch.randn` |
| `loss` | [1] | the loss value below |
| `grad.<param>` | param's shape | dL/dparam, one per tensor of `model.safetensors`, same name (bare cases: bare names, e.g. `grad.weight_ih_l0`) |
| `grad.x`, `grad.h0` | shapes of `x`, `h0` | dL/dx, dL/dh0 |
| `grad.c0` | [L*D, B, H] | LSTM only: dL/dc0 |

(For Elman and GRU, Hout = H.) The loss (exactly):

    L = sum(loss_weight_y * Y) + sum(loss_weight_h_n * h_n) [+ sum(loss_weight_c_n * c_n)]

with Y = y if the case has a head, else output; the bracketed term for LSTM
cases only.

Gradients come from torch autograd in float32. The script also re-runs every
case in float64 (the float32 weights and inputs upcast exactly) and asserts
agreement; the largest float32-vs-float64 differences (also per case in
`cases.json`) are, as a guide for the Rust tolerances:

| cases | forward (output, h_n, c_n, y) | gradients |
|---|---|---|
{diff_rows}

It also checks every case's module output against an independent float64
numpy implementation of the equations above, and reloads every written
`model.safetensors` strictly into a fresh torch module.

## Plain `.npy` files (for CLI tests)

- `tanh_2l_bidir_head/`: `x.npy` [T,B,I], `h0.npy` [L*D,B,H], `y.npy` (head
  output) [T,B,O], `h_n.npy`; all float32, equal to the safetensors copies.
- `relu_3l/`: `x.npy`, `h0.npy`, `output.npy`, `h_n.npy` (float32), plus
  `x64.npy` (x as float64) and `output64.npy`: the same model run in float64
  (`module.double()`, i.e. the float32 weights and `h0.npy` upcast exactly).
- `lstm_2l_bidir_head/`: `x.npy`, `h0.npy` [L*D,B,H], `c0.npy` [L*D,B,H],
  `y.npy` [T,B,O], `h_n.npy`, `c_n.npy`; all float32, equal to the
  safetensors copies.
- `gru_2l_bidir_head/`: `x.npy`, `h0.npy`, `y.npy`, `h_n.npy`; float32, equal
  to the safetensors copies.

## Cases

I = 3, H = 5 everywhere. Seed: `torch.manual_seed(seed)` before building the
module (PyTorch default init: the RNN/LSTM/GRU first, then the head); the data
is then drawn from the same stream in this order: `x`, `h0`, [`c0`],
`loss_weight_y`, `loss_weight_h_n`, [`loss_weight_c_n`] (bracketed: LSTM
only). For ReLU cases, if any pre-activation was within {RELU_MARGIN:g} of zero,
the data was re-drawn after `torch.manual_seed(seed + 1)` (then + 2, ...),
keeping the weights; "data seed" shows the seed the stored data came from
(equal to the seed when no re-draw was needed). Hence in every ReLU case all
pre-activations are at least {RELU_MARGIN:g} from zero. (`min_abs_preactivation`
in `cases.json` is informational for the other cases; for LSTM it is over the
4H gate sums, for GRU over the r and z sums and the n argument.)

| case | mode | L | act | bias | bidir | proj | head O | T | B | seed / data seed | notes |
|---|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

## Round-trip mode

    python3 tests/golden/make_golden.py --roundtrip target/release/RNN_BINARY

For each config below it runs `RNN init ... --seed 7`, loads the file into
torch (`load_state_dict(strict=True)`, config from the `rnn.config` metadata,
which must equal the requested config exactly), runs `RNN forward` on random
`x.npy`/`h0.npy` (and `c0.npy` for LSTM), and checks `y.npy`/`hn.npy` (and
`cn.npy`) against torch with `numpy.allclose(..., atol=1e-5)`. It writes only
to a temporary directory and exits non-zero on any mismatch. `--modes RNN`
(or `LSTM`, `GRU`, several allowed) restricts it to the configs of those cells.

- Elman (as before): 1-layer tanh; 2-layer ReLU bidirectional with head O = 2;
  3-layer tanh without bias. Command lines:
  `RNN init --input-size I --hidden-size H --num-layers L --nonlinearity tanh|relu
  [--no-bias] [--bidirectional] [--output-size O] --seed 7 --out M` and
  `RNN forward --model M --input x.npy --h0 h0.npy --output y.npy --hn hn.npy`.
- LSTM: 1-layer; 2-layer bidirectional, proj_size = 3, head O = 2; 2-layer
  without bias, proj_size = 2.
- GRU: 1-layer; 2-layer bidirectional with head O = 2; 3-layer without bias.
- LSTM/GRU command lines: `RNN init --cell lstm|gru --input-size I
  --hidden-size H --num-layers L [--proj-size P] [--no-bias] [--bidirectional]
  [--output-size O] --seed 7 --out M` (`--proj-size` only when P > 0) and
  `RNN forward --model M --input x.npy --h0 h0.npy [--c0 c0.npy] --output y.npy
  --hn hn.npy [--cn cn.npy]` (`--c0`/`--cn` for LSTM).

## IndRNN

    python3 tests/golden/indrnn_check.py target/release/RNN_BINARY

PyTorch has no IndRNN module; this script holds the 20-line one the top-level
README gives, whose `state_dict` keys are a model file's (`weight_hh_l{k}` the
vector `u`). For four configurations (1-3 layers, relu/tanh/sigmoid, bias on
and off, bidirectional, heads) it checks that an `RNN init --cell indrnn` file
loads into it with `load_state_dict(strict=True)` and that `RNN forward` equals
its forward, and that a freshly initialised module's bare `state_dict` runs in
`RNN forward` (the cell inferred from the 1-D `weight_hh_l0`) with the same
result (max abs difference <= 1e-5, else exit status 1). It writes only to a
temporary directory; no fixture comes from it.
"""
    (out_root / "README.md").write_text(text)


def generate(out_root: Path, only: list[str] | None = None) -> None:
    """Write all cases, or (with `only`) just the cases whose names match one
    of the patterns, keeping the other case directories and their cases.json
    entries untouched."""
    torch.set_num_threads(1)  # keep float32 reductions reproducible
    if only is None:
        selected = {case.name for case in CASES}
        old_entries = {}
    else:
        selected = set()
        for pattern in only:
            matched = {case.name for case in CASES if fnmatch.fnmatchcase(case.name, pattern)}
            if not matched:
                raise SystemExit(f"--only {pattern!r} matches no case")
            selected |= matched
        old_entries = {e["name"]: e for e in json.loads((out_root / "cases.json").read_text())}
        for case in CASES:
            if case.name not in selected and (case.name not in old_entries
                                              or not (out_root / case.name).is_dir()):
                raise SystemExit(f"case {case.name} is not selected but has no existing "
                                 "directory / cases.json entry; include it in --only")
    entries = [make_case(i, case, out_root) if case.name in selected else old_entries[case.name]
               for i, case in enumerate(CASES)]
    for case in CASES:
        verify_case(case, out_root)
    (out_root / "cases.json").write_text(json.dumps(entries, indent=2) + "\n")
    write_readme(out_root, entries)
    # safetensors creates its files with mode 0600; make what we wrote world-readable.
    for p in [out_root / "cases.json", out_root / "README.md"]:
        os.chmod(p, 0o644)
    for name in selected:
        for p in (out_root / name).rglob("*"):
            if p.is_file():
                os.chmod(p, 0o644)
    total = sum(p.stat().st_size for p in out_root.rglob("*") if p.is_file())
    print(f"wrote {len(selected)} of {len(CASES)} cases to {out_root} "
          f"({total} bytes in total, incl. script)")


# ---------------------------------------------------------------------------
# Round-trip mode against the Rust binary
# ---------------------------------------------------------------------------

ROUNDTRIP_CONFIGS = [
    make_config(3, 5, 1, "tanh", True, False),
    make_config(4, 6, 2, "relu", True, True, output_size=2),
    make_config(2, 3, 3, "tanh", False, False),
    # LSTM / GRU (appended so the Elman configs keep their random inputs)
    make_gated_config(3, 5, 1, "LSTM", True, False),
    make_gated_config(4, 6, 2, "LSTM", True, True, proj_size=3, output_size=2),
    make_gated_config(2, 3, 2, "LSTM", False, False, proj_size=2),
    make_gated_config(3, 5, 1, "GRU", True, False),
    make_gated_config(4, 6, 2, "GRU", True, True, output_size=2),
    make_gated_config(2, 3, 3, "GRU", False, False),
]
ROUNDTRIP_SEQ_LEN, ROUNDTRIP_BATCH = 5, 3


def run_cli(args: list[str]) -> None:
    """Run the binary; raise RuntimeError with its output if it fails."""
    print("  $", " ".join(args))
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"exit status {proc.returncode}\nstdout:\n{proc.stdout}\n"
                           f"stderr:\n{proc.stderr}")


def roundtrip_one(binary: str, want: dict, workdir: Path, rng: np.random.Generator) -> bool:
    model_path = workdir / "model.safetensors"
    mode = cfg_mode(want)
    cmd = [binary, "init"]
    if mode != "RNN":
        cmd += ["--cell", mode.lower()]
    cmd += ["--input-size", str(want["input_size"]),
            "--hidden-size", str(want["hidden_size"]),
            "--num-layers", str(want["num_layers"])]
    if mode == "RNN":
        cmd += ["--nonlinearity", want["nonlinearity"]]
    if want.get("proj_size", 0) > 0:
        cmd += ["--proj-size", str(want["proj_size"])]
    if not want["bias"]:
        cmd.append("--no-bias")
    if want["bidirectional"]:
        cmd.append("--bidirectional")
    if "output_size" in want:
        cmd += ["--output-size", str(want["output_size"])]
    cmd += ["--seed", "7", "--out", str(model_path)]
    run_cli(cmd)

    # Config from the file's own metadata; it must be the one we asked for.
    with safetensors.safe_open(str(model_path), framework="pt") as f:
        meta = f.metadata() or {}
    if "rnn.config" not in meta:
        print(f"  FAIL: no `rnn.config` metadata in {model_path} (metadata: {meta})")
        return False
    cfg = json.loads(meta["rnn.config"])
    if mode == "RNN":
        # the binary writes PyTorch's mode for Elman models too
        want = {**want, "mode": "RNN_" + want["nonlinearity"].upper()}
    if cfg != want:
        print(f"  FAIL: metadata config {cfg} != requested {want}")
        return False

    state = safetensors.torch.load_file(str(model_path))
    bad_dtypes = {k: v.dtype for k, v in state.items() if v.dtype != torch.float32}
    if bad_dtypes:
        print(f"  FAIL: non-float32 tensors: {bad_dtypes}")
        return False
    model = RNNModel(cfg).float()
    model.load_state_dict(state, strict=True)  # raises on missing/unexpected/mis-shaped
    model.eval()

    D = 2 if cfg["bidirectional"] else 1
    T, B = ROUNDTRIP_SEQ_LEN, ROUNDTRIP_BATCH
    LD = cfg["num_layers"] * D
    x = rng.standard_normal((T, B, cfg["input_size"])).astype(np.float32)
    h0 = (0.5 * rng.standard_normal((LD, B, cfg_out_hidden(cfg)))).astype(np.float32)
    np.save(workdir / "x.npy", x)
    np.save(workdir / "h0.npy", h0)
    c0 = None
    if mode == "LSTM":
        c0 = (0.5 * rng.standard_normal((LD, B, cfg["hidden_size"]))).astype(np.float32)
        np.save(workdir / "c0.npy", c0)

    fwd = [binary, "forward", "--model", str(model_path),
           "--input", str(workdir / "x.npy"), "--h0", str(workdir / "h0.npy")]
    if c0 is not None:
        fwd += ["--c0", str(workdir / "c0.npy")]
    fwd += ["--output", str(workdir / "y.npy"), "--hn", str(workdir / "hn.npy")]
    if c0 is not None:
        fwd += ["--cn", str(workdir / "cn.npy")]
    run_cli(fwd)

    with torch.no_grad():
        output, h_n, c_n, y = model(torch.from_numpy(x), torch.from_numpy(h0),
                                    None if c0 is None else torch.from_numpy(c0))
    checks = [("y", np.load(workdir / "y.npy"), (y if y is not None else output).numpy()),
              ("hn", np.load(workdir / "hn.npy"), h_n.numpy())]
    if c0 is not None:
        checks.append(("cn", np.load(workdir / "cn.npy"), c_n.numpy()))

    ok = True
    for label, got, ref in checks:
        # Explicit shape check: np.allclose would silently broadcast.
        if got.shape != ref.shape:
            print(f"  FAIL: {label} shape {got.shape} != torch {ref.shape}")
            ok = False
            continue
        diff = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
        close = bool(np.allclose(got, ref, atol=1e-5))
        print(f"  {label}: dtype={got.dtype} max|diff|={diff:.3e} {'ok' if close else 'MISMATCH'}")
        ok &= close
    return ok


def roundtrip(binary: str, only_modes: set[str] | None = None) -> int:
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240607)
    failures = ran = 0
    for cfg in ROUNDTRIP_CONFIGS:
        if only_modes is not None and cfg_mode(cfg) not in only_modes:
            # A skipped config draws no inputs, so the configs after it get
            # other (equally random) inputs than in a full run.
            print(f"config {json.dumps(cfg)}: skipped")
            continue
        ran += 1
        print(f"config {json.dumps(cfg)}")
        with tempfile.TemporaryDirectory(prefix="rnn_roundtrip_") as tmp:
            try:
                ok = roundtrip_one(binary, cfg, Path(tmp), rng)
            except Exception as e:  # CLI failure, unreadable file, strict-load error, ...
                print(f"  FAIL: {type(e).__name__}: {e}")
                ok = False
        failures += not ok
    print(f"round-trip: {ran - failures}/{ran} configs ok")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--roundtrip", metavar="RNN_BINARY",
                        help="check the Rust binary's init/forward against torch instead "
                             "of writing fixtures")
    parser.add_argument("--modes", nargs="+", choices=("RNN", "LSTM", "GRU"),
                        help="with --roundtrip: only the configs of these cells "
                             "(RNN = Elman); default all")
    parser.add_argument("--only", nargs="+", metavar="PATTERN",
                        help="regenerate only the cases matching these shell-style "
                             "patterns; keep all other cases byte-identical")
    args = parser.parse_args()
    if args.roundtrip:
        if args.only:
            parser.error("--only is for fixture generation, not --roundtrip")
        return roundtrip(args.roundtrip, set(args.modes) if args.modes else None)
    if args.modes:
        parser.error("--modes only applies to --roundtrip")
    generate(GOLDEN_DIR, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
