#!/usr/bin/env python3
"""Golden fixtures for the `rnn` crate: an Elman RNN checked against torch.nn.RNN.

Default mode
------------
    python3 tests/golden/make_golden.py

writes one directory per case under tests/golden/ (next to this script), plus
tests/golden/cases.json (a manifest) and tests/golden/README.md.  Each case
directory holds

  model.safetensors  the parameters, in the crate's model-file layout:
                     `rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`, `rnn.bias_ih_l{k}`,
                     `rnn.bias_hh_l{k}` (+ `_reverse` variants), `head.weight`,
                     `head.bias`, with metadata {"rnn.config": json}.
                     Variants: metadata=False (no metadata at all) and bare=True
                     (only nn.RNN's own state_dict: names without the `rnn.`
                     prefix, no head, no metadata).
  case.safetensors   inputs, outputs, loss weights and autograd gradients
                     (float32).
  *.npy              for a few cases only: plain numpy arrays for CLI tests.

The loss whose gradients are stored is

    L = sum(loss_weight_y * Y) + sum(loss_weight_h_n * h_n)

where Y is the head output `y` if the case has a head, else the nn.RNN
`output`.

Round-trip mode
---------------
    python3 tests/golden/make_golden.py --roundtrip PATH_TO_RNN_BINARY

asks the Rust binary to `init` a model for a few configurations, loads that
file into torch (strict state_dict loading, config read from the file's
metadata), runs the binary's `forward` on random inputs and compares with
torch.  Writes nothing into tests/golden/; exits non-zero on any mismatch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch
from torch import nn

GOLDEN_DIR = Path(__file__).resolve().parent

# ReLU cases: every pre-activation must be at least this far from zero, so that
# small (finite-difference / float32 rounding) perturbations cannot flip a ReLU.
RELU_MARGIN = 1e-3

# Seeds: case i (0-based position in CASES) uses seed BASE_SEED + i.
BASE_SEED = 1234


# ---------------------------------------------------------------------------
# The torch module matching the model-file contract
# ---------------------------------------------------------------------------


class RNNModel(nn.Module):
    """`rnn` = nn.RNN (seq-first), optional `head` = nn.Linear(D*H, O).

    Building this module (under a fixed torch seed) uses PyTorch's default
    init: nn.RNN draws every parameter from U(-1/sqrt(H), 1/sqrt(H)); the head
    uses nn.Linear's default (kaiming-uniform weight, uniform bias).  The RNN is
    constructed first, then the head, so the RNG consumption order is fixed.
    """

    def __init__(self, cfg: dict):
        super().__init__()
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
        num_dirs = 2 if cfg["bidirectional"] else 1
        if "output_size" in cfg:
            self.head = nn.Linear(num_dirs * cfg["hidden_size"], cfg["output_size"])
        else:
            self.head = None  # plain attribute: not part of the state_dict

    def forward(self, x: torch.Tensor, h0: torch.Tensor):
        output, h_n = self.rnn(x, h0)
        y = self.head(output) if self.head is not None else None
        return output, h_n, y


def make_config(input_size, hidden_size, num_layers, nonlinearity, bias,
                bidirectional, output_size=None) -> dict:
    """The `rnn.config` metadata dict (key order is the documented one)."""
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


# ---------------------------------------------------------------------------
# Case table
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    name: str
    num_layers: int
    nonlinearity: str
    bias: bool = True
    bidirectional: bool = False
    output_size: int | None = None  # None: no head
    input_size: int = 3
    hidden_size: int = 5
    seq_len: int = 4
    batch: int = 2
    metadata: bool = True   # False: model.safetensors carries no metadata
    bare: bool = False      # True: nn.RNN state_dict only, no `rnn.` prefix
    npy: tuple[str, ...] = ()  # extra .npy files to write (see write_npy)

    @property
    def config(self) -> dict:
        return make_config(self.input_size, self.hidden_size, self.num_layers,
                           self.nonlinearity, self.bias, self.bidirectional,
                           self.output_size)

    @property
    def num_dirs(self) -> int:
        return 2 if self.bidirectional else 1


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
]
assert not any(c.bare and c.output_size for c in CASES), "bare cases have no head"


# ---------------------------------------------------------------------------
# Independent float64 reference (documents the exact semantics, and yields the
# pre-activations for the ReLU margin check)
# ---------------------------------------------------------------------------


def reference_forward(rnn_params: dict[str, np.ndarray], cfg: dict,
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


# ---------------------------------------------------------------------------
# Fixture generation
# ---------------------------------------------------------------------------


def draw_data(case: Case):
    """x, h0, loss weights, drawn (in this order) from torch's global RNG."""
    T, B, H, L, D = case.seq_len, case.batch, case.hidden_size, case.num_layers, case.num_dirs
    y_width = case.output_size if case.output_size is not None else D * H
    x = torch.randn(T, B, case.input_size)
    h0 = torch.randn(L * D, B, H) * 0.5
    loss_weight_y = torch.randn(T, B, y_width)
    loss_weight_h_n = torch.randn(L * D, B, H)
    return x, h0, loss_weight_y, loss_weight_h_n


def run_with_grads(model: RNNModel, x: torch.Tensor, h0: torch.Tensor,
                   loss_weight_y: torch.Tensor, loss_weight_h_n: torch.Tensor):
    """Forward + backward of the golden loss, in the dtype of the inputs.

    Returns (output, h_n, y or None, loss, {param name: grad}, grad_x, grad_h0).
    """
    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    h0 = h0.detach().clone().requires_grad_(True)
    output, h_n, y = model(x, h0)
    y_or_output = y if y is not None else output
    loss = (loss_weight_y * y_or_output).sum() + (loss_weight_h_n * h_n).sum()
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
    return (output.detach(), h_n.detach(), None if y is None else y.detach(),
            loss.detach(), grads, x.grad.detach(), h0.grad.detach())


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
        x, h0, loss_weight_y, loss_weight_h_n = draw_data(case)
        ref_out, ref_hn, preacts = reference_forward(rnn_params, cfg, x.numpy(), h0.numpy())
        min_abs_preact = float(min(np.min(np.abs(a)) for a in preacts))
        if case.nonlinearity != "relu" or min_abs_preact >= RELU_MARGIN:
            break
        data_seed += 1
        assert data_seed < seed + 1000, f"{case.name}: cannot satisfy the ReLU margin"
        torch.manual_seed(data_seed)

    # float32 forward/backward: this is what the fixtures store.
    output, h_n, y, loss, grads, grad_x, grad_h0 = run_with_grads(
        model, x, h0, loss_weight_y, loss_weight_h_n)

    # Sanity: nn.RNN agrees with the independent reference ...
    ref_diff = max(max_abs_diff(output, ref_out), max_abs_diff(h_n, ref_hn))
    assert ref_diff < 1e-5, f"{case.name}: nn.RNN vs reference differ by {ref_diff}"
    # ... and the float32 results agree with a float64 rerun of the same model
    # (this shows the float32 rounding level the Rust tolerances must absorb).
    model64 = RNNModel(cfg)
    model64.load_state_dict(model.state_dict())
    model64 = model64.double()
    r64 = run_with_grads(model64, x.double(), h0.double(),
                         loss_weight_y.double(), loss_weight_h_n.double())
    out64, hn64, y64, loss64, grads64, gx64, gh064 = r64
    fwd_f32_vs_f64 = max(max_abs_diff(output, out64), max_abs_diff(h_n, hn64),
                         max_abs_diff(y, y64) if y is not None else 0.0)
    grad_f32_vs_f64 = max([max_abs_diff(grads[k], grads64[k]) for k in grads]
                          + [max_abs_diff(grad_x, gx64), max_abs_diff(grad_h0, gh064)])
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
        "loss_weight_y": to_f32(loss_weight_y),
        "loss_weight_h_n": to_f32(loss_weight_h_n),
        "loss": to_f32(loss.reshape(1)),
        "grad.x": to_f32(grad_x),
        "grad.h0": to_f32(grad_h0),
    }
    if y is not None:
        tensors["y"] = to_f32(y)
    for param_name, stored_name in grad_names.items():
        tensors[f"grad.{stored_name}"] = to_f32(grads[param_name])
    # Informational metadata only; nothing needs to read it.  It is a single
    # key on purpose: safetensors writes metadata from a hash map, so with
    # several keys their order (and the file bytes) would vary between runs.
    case_meta = {"golden": json.dumps({
        "case": case.name,
        "config": cfg,
        "seed": seed,
        "data_seed": data_seed,
        "loss": "sum(loss_weight_y * (y if present else output)) + sum(loss_weight_h_n * h_n)",
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
        "config": cfg,
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
    print(f"{case.name:24s} seed={seed} data_seed={data_seed} "
          f"min|preact|={min_abs_preact:.2e} f32-vs-f64 fwd={fwd_f32_vs_f64:.1e} "
          f"grad={grad_f32_vs_f64:.1e}")
    return entry


def verify_case(case: Case, out_root: Path) -> None:
    """Read the written files back and check names, dtypes, shapes, metadata."""
    case_dir = out_root / case.name
    cfg = case.config
    T, B, I, H, L, D = (case.seq_len, case.batch, case.input_size, case.hidden_size,
                        case.num_layers, case.num_dirs)

    # Expected parameter names/shapes, in model.safetensors naming.
    prefix = "" if case.bare else "rnn."
    expected_params = {}
    for k in range(L):
        for sfx in ([""] + (["_reverse"] if D == 2 else [])):
            in_k = I if k == 0 else D * H
            expected_params[f"{prefix}weight_ih_l{k}{sfx}"] = (H, in_k)
            expected_params[f"{prefix}weight_hh_l{k}{sfx}"] = (H, H)
            if case.bias:
                expected_params[f"{prefix}bias_ih_l{k}{sfx}"] = (H,)
                expected_params[f"{prefix}bias_hh_l{k}{sfx}"] = (H,)
    if case.output_size is not None:
        expected_params["head.weight"] = (case.output_size, D * H)
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

    y_width = case.output_size if case.output_size is not None else D * H
    expected_case = {
        "x": (T, B, I), "h0": (L * D, B, H), "output": (T, B, D * H), "h_n": (L * D, B, H),
        "loss_weight_y": (T, B, y_width), "loss_weight_h_n": (L * D, B, H), "loss": (1,),
        "grad.x": (T, B, I), "grad.h0": (L * D, B, H),
    }
    if case.output_size is not None:
        expected_case["y"] = (T, B, case.output_size)
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
    assert abs(float(loss) - float(t["loss"][0])) < 1e-4 * max(1.0, abs(float(loss))), case.name

    # npy files must match the safetensors copies exactly (float32 ones).
    for name in case.npy:
        arr = np.load(case_dir / f"{name}.npy")
        if name in t:
            assert arr.dtype == np.float32 and np.array_equal(arr, t[name].float().numpy()), name
    if "x64" in case.npy:
        assert np.array_equal(np.load(case_dir / "x64.npy"), t["x"].numpy())


# ---------------------------------------------------------------------------
# README / manifest
# ---------------------------------------------------------------------------


def write_readme(out_root: Path, entries: list[dict]) -> None:
    rows = []
    for e in entries:
        c = e["config"]
        flags = []
        if not e["model_metadata"]:
            flags.append("bare (no `rnn.` prefix, no metadata)" if e["bare"] else "no metadata")
        if e["npy"]:
            flags.append(", ".join(f"`{n}`" for n in e["npy"]))
        rows.append(
            f"| `{e['name']}` | {c['num_layers']} | {c['nonlinearity']} | "
            f"{'yes' if c['bias'] else 'no'} | {'yes' if c['bidirectional'] else 'no'} | "
            f"{c.get('output_size', '-')} | {e['seq_len']} | {e['batch']} | "
            f"{e['seed']} / {e['data_seed']} | {'; '.join(flags)} |")
    max_fwd = max(e["max_abs_diff_f32_vs_f64_forward"] for e in entries)
    max_grad = max(e["max_abs_diff_f32_vs_f64_grad"] for e in entries)
    text = f"""# Golden fixtures: Elman RNN vs `torch.nn.RNN`

Generated by `make_golden.py` with torch {torch.__version__}, numpy {np.__version__},
safetensors {safetensors.__version__} (CPU, float32, single thread).
Do not edit by hand; regenerate with

    pip install torch numpy safetensors && python3 tests/golden/make_golden.py

Regeneration with another torch version / CPU may change the last bits of the
float32 results (and, if torch's RNG or default init ever changed, the weights).

## Model-file layout

A torch module with `rnn = torch.nn.RNN(input_size, hidden_size, num_layers,
nonlinearity, bias, batch_first=False, dropout=0, bidirectional)` and optional
`head = torch.nn.Linear(D*hidden_size, output_size)` (D = 2 if bidirectional).
`model.safetensors` holds its state_dict in float32:

- `rnn.weight_ih_l{{k}}` [H, I for k = 0, else D*H], `rnn.weight_hh_l{{k}}` [H, H],
  `rnn.bias_ih_l{{k}}` [H], `rnn.bias_hh_l{{k}}` [H]; the reverse direction of a
  bidirectional RNN adds the same names with suffix `_reverse`;
- `head.weight` [O, D*H], `head.bias` [O] when there is a head;
- metadata `{{"rnn.config": json}}` with keys `input_size`, `hidden_size`,
  `num_layers`, `nonlinearity` (`"tanh"` | `"relu"`), `bias`, `bidirectional`,
  and `output_size` when there is a head.

Variants: `tanh_1l_nometa` has the same names but **no metadata at all**;
`tanh_2l_bare` is a bare `nn.RNN` state_dict: names **without** the `rnn.`
prefix (`weight_ih_l0`, ...), no head, no metadata. The config of every case
is also in `cases.json` (and, informationally, in the `golden` metadata key of
`case.safetensors`).

Semantics (torch.nn.RNN, sequence-first): for layer k and direction d,
`h_t = act(W_ih x_t + b_ih + W_hh h_{{t-1}} + b_hh)`; the reverse direction runs
t = T-1 .. 0 from its own initial state; layer k > 0 consumes the concatenation
[forward, reverse] of layer k-1's outputs. `output[t]` = [forward h_t, reverse h_t].
`h0` / `h_n` are indexed `k * D + d` (layer-major, forward before reverse).

## `case.safetensors` (all float32)

| tensor | shape | meaning |
|---|---|---|
| `x` | [T, B, I] | input, `torch.randn` |
| `h0` | [L*D, B, H] | initial state, `torch.randn * 0.5`; always passed to the RNN |
| `output` | [T, B, D*H] | `nn.RNN` output |
| `h_n` | [L*D, B, H] | `nn.RNN` final state |
| `y` | [T, B, O] | `head(output)`; only for cases with a head |
| `loss_weight_y` | shape of `y` (of `output` if no head) | `torch.randn` |
| `loss_weight_h_n` | [L*D, B, H] | `torch.randn` |
| `loss` | [1] | the loss value below |
| `grad.<param>` | param's shape | dL/dparam, one per tensor of `model.safetensors`, same name (bare case: bare names, e.g. `grad.weight_ih_l0`) |
| `grad.x`, `grad.h0` | shapes of `x`, `h0` | dL/dx, dL/dh0 |

The loss (exactly):

    L = sum(loss_weight_y * Y) + sum(loss_weight_h_n * h_n),   Y = y if the case has a head, else output

Gradients come from torch autograd in float32. The script also re-runs every
case in float64 and asserts agreement; the largest float32-vs-float64 difference
over all cases is {max_fwd:.1e} for forward values and {max_grad:.1e} for
gradients, a guide for the Rust tolerances.

## Plain `.npy` files (for CLI tests)

- `tanh_2l_bidir_head/`: `x.npy` [T,B,I], `h0.npy` [L*D,B,H], `y.npy` (head
  output) [T,B,O], `h_n.npy`; all float32, equal to the safetensors copies.
- `relu_3l/`: `x.npy`, `h0.npy`, `output.npy`, `h_n.npy` (float32), plus
  `x64.npy` (x as float64) and `output64.npy`: the same model run in float64
  (`module.double()`, i.e. the float32 weights and `h0.npy` upcast exactly).

## Cases

I = 3, H = 5 everywhere. Seed: `torch.manual_seed(seed)` before building the
module (PyTorch default init: RNN first, then head); `x`, `h0`,
`loss_weight_y`, `loss_weight_h_n` are then drawn in that order from the same
stream. For ReLU cases, if any pre-activation was within {RELU_MARGIN:g} of zero,
the data was re-drawn after `torch.manual_seed(seed + 1)` (then + 2, ...),
keeping the weights; "data seed" shows the seed the stored data came from
(equal to the seed when no re-draw was needed). Hence in every ReLU case all
pre-activations are at least {RELU_MARGIN:g} from zero.

| case | L | act | bias | bidir | head O | T | B | seed / data seed | notes |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

## Round-trip mode

    python3 tests/golden/make_golden.py --roundtrip target/release/RNN_BINARY

For three configs (1-layer tanh; 2-layer ReLU bidirectional with head O = 2;
3-layer tanh without bias) it runs `RNN init ... --seed 7`, loads the file into
torch (`load_state_dict(strict=True)`, config from the `rnn.config` metadata),
runs `RNN forward` on random `x.npy`/`h0.npy`, and checks `y.npy`/`hn.npy`
against torch with `numpy.allclose(..., atol=1e-5)`. It writes only to a
temporary directory and exits non-zero on any mismatch.
"""
    (out_root / "README.md").write_text(text)


def generate(out_root: Path) -> None:
    torch.set_num_threads(1)  # keep float32 reductions reproducible
    entries = [make_case(i, case, out_root) for i, case in enumerate(CASES)]
    for case in CASES:
        verify_case(case, out_root)
    (out_root / "cases.json").write_text(json.dumps(entries, indent=2) + "\n")
    write_readme(out_root, entries)
    # safetensors creates its files with mode 0600; make everything world-readable.
    for p in out_root.rglob("*"):
        if p.is_file() and p.name != Path(__file__).name:
            os.chmod(p, 0o644)
    total = sum(p.stat().st_size for p in out_root.rglob("*") if p.is_file())
    print(f"wrote {len(CASES)} cases to {out_root} ({total} bytes in total, incl. script)")


# ---------------------------------------------------------------------------
# Round-trip mode against the Rust binary
# ---------------------------------------------------------------------------

ROUNDTRIP_CONFIGS = [
    make_config(3, 5, 1, "tanh", True, False),
    make_config(4, 6, 2, "relu", True, True, output_size=2),
    make_config(2, 3, 3, "tanh", False, False),
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
    cmd = [binary, "init",
           "--input-size", str(want["input_size"]),
           "--hidden-size", str(want["hidden_size"]),
           "--num-layers", str(want["num_layers"]),
           "--nonlinearity", want["nonlinearity"]]
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
    x = rng.standard_normal((T, B, cfg["input_size"])).astype(np.float32)
    h0 = (0.5 * rng.standard_normal((cfg["num_layers"] * D, B, cfg["hidden_size"]))).astype(np.float32)
    np.save(workdir / "x.npy", x)
    np.save(workdir / "h0.npy", h0)

    run_cli([binary, "forward", "--model", str(model_path),
             "--input", str(workdir / "x.npy"), "--h0", str(workdir / "h0.npy"),
             "--output", str(workdir / "y.npy"), "--hn", str(workdir / "hn.npy")])

    with torch.no_grad():
        output, h_n, y = model(torch.from_numpy(x), torch.from_numpy(h0))
    want_y = (y if y is not None else output).numpy()
    want_hn = h_n.numpy()
    got_y = np.load(workdir / "y.npy")
    got_hn = np.load(workdir / "hn.npy")

    ok = True
    for label, got, ref in (("y", got_y, want_y), ("hn", got_hn, want_hn)):
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


def roundtrip(binary: str) -> int:
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240607)
    failures = 0
    for cfg in ROUNDTRIP_CONFIGS:
        print(f"config {json.dumps(cfg)}")
        with tempfile.TemporaryDirectory(prefix="rnn_roundtrip_") as tmp:
            try:
                ok = roundtrip_one(binary, cfg, Path(tmp), rng)
            except Exception as e:  # CLI failure, unreadable file, strict-load error, ...
                print(f"  FAIL: {type(e).__name__}: {e}")
                ok = False
        failures += not ok
    print(f"round-trip: {len(ROUNDTRIP_CONFIGS) - failures}/{len(ROUNDTRIP_CONFIGS)} configs ok")
    return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--roundtrip", metavar="RNN_BINARY",
                        help="check the Rust binary's init/forward against torch instead "
                             "of writing fixtures")
    args = parser.parse_args()
    if args.roundtrip:
        return roundtrip(args.roundtrip)
    generate(GOLDEN_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
