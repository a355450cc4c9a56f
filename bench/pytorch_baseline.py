#!/usr/bin/env python3
"""PyTorch peer: torch.nn.RNN (tanh) / nn.LSTM / nn.GRU (--cell rnn|lstm|gru)
+ nn.Linear(H, 1) head on every step, MSE against a random [T, B, 1] target,
Adam(lr=1e-3), float32, CPU.

Training step = zero_grad, forward, loss, backward, optimizer.step.
forward_ms    = forward (recurrent layers + head) under torch.no_grad().
gemm_gflops   = torch.mm of two 1024x1024 float32 matrices in this process.
Streaming     = nn.RNNCell / nn.LSTMCell / nn.GRUCell (32, 128) called once per
                step with its state fed back (for the LSTM the (h, c) pair;
                batch 1, no_grad), reported as peer "pytorch_rnncell" (the
                same peer name for every cell; the "cell" key tells them apart).

Threads: --threads N -> torch.set_num_threads(N) and
torch.set_num_interop_threads(1), both before any work is done.

Usage: python3 bench/pytorch_baseline.py [--cell rnn|lstm|gru] [--json] [--threads N] [--quick]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PEER = "pytorch"
STREAM_PEER = "pytorch_rnncell"


def make_layers(nn, cell, hidden, layers):
    if cell == "lstm":
        return nn.LSTM(input_size=common.INPUT_SIZE, hidden_size=hidden, num_layers=layers)
    if cell == "gru":
        return nn.GRU(input_size=common.INPUT_SIZE, hidden_size=hidden, num_layers=layers)
    return nn.RNN(input_size=common.INPUT_SIZE, hidden_size=hidden, num_layers=layers,
                  nonlinearity="tanh")


def make_cell(nn, cell, inp, hidden):
    if cell == "lstm":
        return nn.LSTMCell(inp, hidden)
    if cell == "gru":
        return nn.GRUCell(inp, hidden)
    return nn.RNNCell(inp, hidden, nonlinearity="tanh")


def main():
    args = common.parse_args(__doc__.splitlines()[0])
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        common.skip(PEER, e, args.json, args.threads, args.cell)
    from torch import nn

    if args.threads is not None:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    common.log(f"torch {torch.__version__}, cell {args.cell}")

    a = torch.randn(common.GEMM_N, common.GEMM_N)
    b = torch.randn(common.GEMM_N, common.GEMM_N)
    gemm_gf = common.measure_gemm(lambda: torch.mm(a, b))

    for cfg in args.configs:
        h, bsz, t, layers = cfg
        rnn = make_layers(nn, args.cell, h, layers)
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
        common.emit(common.result_row(PEER, args.cell, cfg, threads, train_s, fwd_s, gemm_gf),
                    args.json)

    # Streaming: one cell step per call, state fed back.
    cell = make_cell(nn, args.cell, common.STREAM_INPUT, common.STREAM_HIDDEN)
    xs = [torch.randn(1, common.STREAM_INPUT) for _ in range(64)]
    zeros = torch.zeros(1, common.STREAM_HIDDEN)
    state = {"s": (zeros, zeros.clone()) if args.cell == "lstm" else zeros, "i": 0}

    def stream_step():
        i = state["i"]
        state["s"] = cell(xs[i & 63], state["s"])  # LSTMCell: (h, c) in, (h, c) out
        state["i"] = i + 1

    with torch.no_grad():
        step_s = common.measure_stream(stream_step, args)
    common.emit(common.stream_row(STREAM_PEER, args.cell, threads, step_s), args.json)


if __name__ == "__main__":
    main()
