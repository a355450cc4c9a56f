#!/usr/bin/env python3
"""PyTorch peer: torch.nn.RNN (tanh) + nn.Linear(H, 1) head on every step,
MSE against a random [T, B, 1] target, Adam(lr=1e-3), float32, CPU.

Training step = zero_grad, forward, loss, backward, optimizer.step.
forward_ms    = forward (RNN + head) under torch.no_grad().
gemm_gflops   = torch.mm of two 1024x1024 float32 matrices in this process.
Streaming     = nn.RNNCell(32, 128) called once per step with its state fed
                back (batch 1, no_grad), reported as peer "pytorch_rnncell".

Threads: --threads N -> torch.set_num_threads(N) and
torch.set_num_interop_threads(1), both before any work is done.

Usage: python3 bench/pytorch_baseline.py [--json] [--threads N] [--quick]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PEER = "pytorch"


def main():
    args = common.parse_args(__doc__.splitlines()[0])
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        common.skip(PEER, e, args.json, args.threads)
    from torch import nn

    if args.threads is not None:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
    threads = torch.get_num_threads()
    torch.manual_seed(0)

    a = torch.randn(common.GEMM_N, common.GEMM_N)
    b = torch.randn(common.GEMM_N, common.GEMM_N)
    gemm_gf = common.measure_gemm(lambda: torch.mm(a, b))

    for cfg in args.configs:
        h, bsz, t, layers = cfg
        rnn = nn.RNN(input_size=common.INPUT_SIZE, hidden_size=h, num_layers=layers,
                     nonlinearity="tanh")
        head = nn.Linear(h, 1)
        params = list(rnn.parameters()) + list(head.parameters())
        opt = torch.optim.Adam(params, lr=1e-3)
        loss_fn = nn.MSELoss()
        x = torch.randn(t, bsz, common.INPUT_SIZE)
        y = torch.randn(t, bsz, 1)

        def train_step():
            opt.zero_grad()
            out, _ = rnn(x)
            loss = loss_fn(head(out), y)
            loss.backward()
            opt.step()
            return loss

        def forward():
            with torch.no_grad():
                out, _ = rnn(x)
                return head(out)

        train_s = common.measure(train_step, args)
        fwd_s = common.measure(forward, args)
        common.emit(common.result_row(PEER, cfg, threads, train_s, fwd_s, gemm_gf), args.json)

    # Streaming: one RNNCell step per call, state fed back.
    cell = nn.RNNCell(common.STREAM_INPUT, common.STREAM_HIDDEN, nonlinearity="tanh")
    xs = [torch.randn(1, common.STREAM_INPUT) for _ in range(64)]
    state = {"h": torch.zeros(1, common.STREAM_HIDDEN), "i": 0}

    def stream_step():
        i = state["i"]
        state["h"] = cell(xs[i & 63], state["h"])
        state["i"] = i + 1

    with torch.no_grad():
        step_s = common.measure_stream(stream_step, args)
    common.emit(common.stream_row("pytorch_rnncell", threads, step_s), args.json)


if __name__ == "__main__":
    main()
