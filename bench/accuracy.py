#!/usr/bin/env python3
"""How far our float32 results are from float64, next to PyTorch's float32 (issue section 7).

Two measurements:

* ``activations``: max abs and max ulp error of float32 tanh and sigmoid against float64 on a
  dense grid of float32 inputs, ours (from ``examples/activation_error.rs``, which also reports
  the previous Eigen-based tanh) and PyTorch's (``torch.tanh`` / ``torch.sigmoid`` on the same
  grid).
* ``models``: for Elman tanh, LSTM and GRU models (several weight scales, ``--seeds`` seeds
  each) the error of a float32 forward pass against the float64 one of the same model and the
  same (float32-representable) input: ours ``|rnn f32 - rnn f64|`` with the ``rnn forward``
  binary, PyTorch's ``|torch f32 - torch f64|`` with the module and ``module.double()``. The
  ratio ours / PyTorch's per seed, summarised as median and max per cell.
* ``orders``: the Elman and LSTM cases simulated in NumPy with every float32 rounding spelled out, for
  three ways of forming a gate pre-activation ``A = (x W_ihᵀ + b) + h W_hhᵀ``: each product's
  sum rounded once (the best a float32 result can do), each product summed in float32 with
  one FMA per term from zero and then added to what ``A`` holds (``sum, then add``: what our
  kernels do), and the same sum started from ``A``'s value (``sum from C``: what the direct
  kernel did before), the activations correctly rounded in all three (the Elman's ``b`` is
  ``b_ih + b_hh`` as the LSTM's). The ratio to PyTorch's
  float32 error, as in ``models``.

Usage (from the repository root, after ``cargo build --release --bin rnn --example
activation_error``)::

    python3 bench/accuracy.py                 # both
    python3 bench/accuracy.py models --seeds 20 --rnn target/release/rnn
    python3 bench/accuracy.py activations --stride 1
    python3 bench/accuracy.py orders --seeds 20

The ulp error of a value y against the exact r is |y - r| / ulp(r), ulp(r) the spacing of
float32 numbers at |r| (2^(e-23) for 2^e <= |r| < 2^(e+1)).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))

# (name, cell, weight bound or None for PyTorch's default U(-1/sqrt(H), 1/sqrt(H)))
CASES = [
    ("elman U(-0.6,0.6)", "RNN_TANH", 0.6),
    ("elman U(-1,1) (chaotic)", "RNN_TANH", 1.0),
    ("lstm default init", "LSTM", None),
    ("lstm U(-1,1)", "LSTM", 1.0),
    ("gru default init", "GRU", None),
    ("gru U(-1,1)", "GRU", 1.0),
]


def ulp32(r):
    """Spacing of float32 numbers at |r| (float64 array in, float64 array out)."""
    _, e = np.frexp(np.abs(r))  # |r| = m 2^e, 0.5 <= m < 1
    return np.ldexp(1.0, np.maximum(e - 1, -126) - 23)


def grid_chunks(lo_bits, hi_bits, stride, chunk=1 << 24):
    """Every `stride`-th float32 bit pattern in [lo_bits, hi_bits], both signs, in chunks."""
    for start in range(lo_bits, hi_bits + 1, chunk * stride):
        b = np.arange(start, min(start + chunk * stride, hi_bits + 1), stride, dtype=np.uint32)
        x = b.view(np.float32)
        yield np.concatenate([x, -x])


def activations(args):
    import torch

    torch.set_num_threads(1)
    lo = int(np.float32(2.0**-16).view(np.uint32))
    hi = int(np.float32(args.limit).view(np.uint32))
    exe = os.path.join(TARGET, "release", "examples", "activation_error")
    ours = None
    if os.path.exists(exe):
        out = subprocess.run([exe, "--stride", str(args.stride), "--limit", str(args.limit)],
                             check=True, capture_output=True, text=True).stdout
        ours = json.loads(out)
    else:
        print(f"({exe} missing: cargo build --release --example activation_error)", file=sys.stderr)
    worst = {"tanh": [0.0, 0.0, 0.0], "sigmoid": [0.0, 0.0, 0.0]}  # abs, ulp, x at max ulp
    n = 0
    for x in grid_chunks(lo, hi, args.stride):
        n += x.size
        xd = x.astype(np.float64)
        t = torch.from_numpy(x)
        for name, got, ref in [
            ("tanh", torch.tanh(t).numpy(), np.tanh(xd)),
            ("sigmoid", torch.sigmoid(t).numpy(), 1.0 / (1.0 + np.exp(-xd))),
        ]:
            err = np.abs(got.astype(np.float64) - ref)
            u = err / ulp32(ref)
            w = worst[name]
            w[0] = max(w[0], float(err.max()))
            i = int(u.argmax())
            if u[i] > w[1]:
                w[1], w[2] = float(u[i]), float(x[i])
    rows = []
    for name in ["tanh", "sigmoid"]:
        if ours:
            for impl, r in ours[name].items():
                rows.append((name, impl, r["max_abs"], r["max_ulp"], r["x_max_ulp"]))
        rows.append((name, f"torch {torch.__version__}", *worst[name]))
    print(f"grid: every {args.stride}th float32 with 2^-16 <= |x| <= {args.limit} ({n} points)")
    print("| function | implementation | max abs error | max ulp error | at x |")
    print("|---|---|---|---|---|")
    for name, impl, a, u, x in rows:
        print(f"| {name} | {impl} | {a:.3g} | {u:.3g} | {x:.7g} |")


def make_module(cell, inp, hidden, bound, seed):
    import torch

    torch.manual_seed(seed)
    if cell == "RNN_TANH":
        m = torch.nn.RNN(inp, hidden, nonlinearity="tanh")
    elif cell == "LSTM":
        m = torch.nn.LSTM(inp, hidden)
    else:
        m = torch.nn.GRU(inp, hidden)
    if bound is not None:
        with torch.no_grad():
            for p in m.parameters():
                p.uniform_(-bound, bound)
    return m


def models(args):
    import torch
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    inp, hidden, steps, batch = args.input_size, args.hidden, args.steps, args.batch
    print(f"rnn binary: {args.rnn}; torch {torch.__version__}; input_size {inp}, hidden {hidden}, "
          f"{steps} steps, batch {batch}, {args.seeds} seeds; x ~ N(0, 1)")
    print("| case | ours max err (median) | torch max err (median) | ratio of max err: median | max "
          "| ratio of rms err: median | max | rnn f64 vs torch f64 |")
    print("|---|---|---|---|---|---|---|---|")
    summary = {}
    with tempfile.TemporaryDirectory() as d:
        for name, cell, bound in CASES:
            ours_max, torch_max, r_max, r_rms, agree = [], [], [], [], 0.0
            for seed in range(args.seeds):
                m = make_module(cell, inp, hidden, bound, seed)
                g = torch.Generator().manual_seed(1000 + seed)
                x32 = torch.randn(steps, batch, inp, generator=g)
                x64 = x32.double()
                with torch.no_grad():
                    t32 = m(x32)[0].numpy().astype(np.float64)
                    t64 = m.double()(x64)[0].numpy()
                    m.float()
                sd = {f"rnn.{k}": v.detach().float().contiguous() for k, v in m.state_dict().items()}
                cfg = {"input_size": inp, "hidden_size": hidden, "num_layers": 1, "mode": cell,
                       "bias": True, "bidirectional": False}
                mp = os.path.join(d, "m.safetensors")
                save_file(sd, mp, metadata={"rnn.config": json.dumps(cfg)})
                res = {}
                for tag, x in [("32", x32), ("64", x64)]:
                    xp, yp = os.path.join(d, f"x{tag}.npy"), os.path.join(d, f"y{tag}.npy")
                    np.save(xp, x.numpy())
                    subprocess.run([args.rnn, "forward", "--model", mp, "--input", xp, "--output", yp],
                                   check=True, capture_output=True)
                    res[tag] = np.load(yp).astype(np.float64)
                assert res["32"].shape == t32.shape, (res["32"].shape, t32.shape)
                e_ours = np.abs(res["32"] - res["64"])
                e_torch = np.abs(t32 - t64)
                agree = max(agree, float(np.abs(res["64"] - t64).max()))
                ours_max.append(float(e_ours.max()))
                torch_max.append(float(e_torch.max()))
                r_max.append(float(e_ours.max() / e_torch.max()))
                r_rms.append(float(np.sqrt((e_ours**2).mean() / (e_torch**2).mean())))
            med = statistics.median
            print(f"| {name} | {med(ours_max):.3g} | {med(torch_max):.3g} | {med(r_max):.2f} | "
                  f"{max(r_max):.2f} | {med(r_rms):.2f} | {max(r_rms):.2f} | {agree:.1e} |")
            summary[name] = {"ratio_max_median": med(r_max), "ratio_max_max": max(r_max),
                             "ratio_rms_median": med(r_rms), "ratio_rms_max": max(r_rms)}
    if args.json:
        print(json.dumps(summary))


def orders(args):
    import torch

    torch.set_num_threads(1)
    f32, f64 = np.float32, np.float64
    inp, hidden, steps, batch = args.input_size, args.hidden, args.steps, args.batch

    def fma_sum(a, w, start):
        """``start + a wᵀ`` summed term by term in float32, one FMA (one rounding) per term."""
        acc = start.astype(f32)
        a64, w64 = a.astype(f64), w.astype(f64)
        for k in range(a.shape[1]):
            acc = (acc.astype(f64) + np.outer(a64[:, k], w64[:, k])).astype(f32)
        return acc

    def product(a, w, c, how):
        if how == "rounded once":
            return (a.astype(f64) @ w.T.astype(f64) + c.astype(f64)).astype(f32)
        if how == "sum, then add":
            return (fma_sum(a, w, np.zeros_like(c)) + c).astype(f32)
        return fma_sum(a, w, c)  # sum from C

    def run(m, cell, x, how):
        w_ih, w_hh = m.weight_ih_l0.detach().numpy(), m.weight_hh_l0.detach().numpy()
        b = (m.bias_ih_l0.detach().numpy() + m.bias_hh_l0.detach().numpy()).astype(f32)
        sig = lambda v: (1 / (1 + np.exp(-v.astype(f64)))).astype(f32)  # noqa: E731
        tanh = lambda v: np.tanh(v.astype(f64)).astype(f32)  # noqa: E731
        h, c, out = np.zeros((batch, hidden), f32), np.zeros((batch, hidden), f32), []
        for t in range(steps):
            a = product(x[t], w_ih, np.broadcast_to(b, (batch, len(b))), how)
            if t > 0:
                a = product(h, w_hh, a, how)
            if cell == "RNN_TANH":
                h = tanh(a)
            else:
                i, f = sig(a[:, :hidden]), sig(a[:, hidden:2 * hidden])
                g, o = tanh(a[:, 2 * hidden:3 * hidden]), sig(a[:, 3 * hidden:])
                c = (f * c + i * g).astype(f32)
                h = (o * tanh(c)).astype(f32)
            out.append(h)
        return np.stack(out).astype(f64)

    hows = ["rounded once", "sum, then add", "sum from C"]
    print(f"torch {torch.__version__}; input_size {inp}, hidden {hidden}, {steps} steps, batch {batch}, "
          f"{args.seeds} seeds; ratio of max error to PyTorch's float32, median / max over seeds")
    print("| case | " + " | ".join(hows) + " |")
    print("|---|" + "---|" * len(hows))
    for name, cell, bound in CASES:
        if cell not in ("LSTM", "RNN_TANH"):
            continue
        ratios = {h: [] for h in hows}
        for seed in range(args.seeds):
            m = make_module(cell, inp, hidden, bound, seed)
            g = torch.Generator().manual_seed(1000 + seed)
            x32 = torch.randn(steps, batch, inp, generator=g)
            with torch.no_grad():
                t32 = m(x32)[0].numpy().astype(f64)
                t64 = m.double()(x32.double())[0].numpy()
                m.float()
            e_torch = np.abs(t32 - t64).max()
            for how in hows:
                ratios[how].append(np.abs(run(m, cell, x32.numpy(), how) - t64).max() / e_torch)
        cells = [f"{statistics.median(r):.2f} / {max(r):.2f}" for r in ratios.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", nargs="?", choices=["activations", "models", "orders", "all"], default="all")
    p.add_argument("--stride", type=int, default=2,
                   help="activations: take every STRIDE-th float32 bit pattern (1 = all)")
    p.add_argument("--limit", type=float, default=10.0, help="activations: grid is |x| <= LIMIT")
    p.add_argument("--rnn", default=os.path.join(TARGET, "release", "rnn"), help="models: the binary")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--hidden", type=int, default=33)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--input-size", type=int, default=5)
    p.add_argument("--json", action="store_true", help="models: also print a JSON summary")
    args = p.parse_args()
    if args.what in ("activations", "all"):
        activations(args)
    if args.what in ("models", "all"):
        models(args)
    if args.what in ("orders", "all"):
        orders(args)


if __name__ == "__main__":
    main()
