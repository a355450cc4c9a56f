#!/usr/bin/env python3
"""PyTorch's training step at the sizes of `rnn train --task charlm --cell lstm`'s defaults on
data/two_plays.txt: a 2-layer nn.LSTM of 256 (dropout 0.3) and nn.Linear, one-hot input over a
vocabulary of 75, 32 streams x 50 characters, the state carried (detached) from batch to batch,
cross-entropy, gradient norm clipped at 5, Adam at 0.004 (what bench/charlm_pytorch.py trains,
without the data pipeline and the held-out scoring). Prints the median sequences/s of 7 runs of
20 steps after 5 warm-up steps, to set beside the training sequences/s `rnn train` prints per
epoch (which do not count validation).

    python3 bench/charlm_step_pytorch.py [--threads 2] [--hidden 256] [--layers 2] [--cell lstm|gru|rnn]
"""

import argparse
import time

import torch
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    vocab, batch, steps = 75, 32, 50
    torch.manual_seed(0)
    kind = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[args.cell]
    rnn = kind(vocab, args.hidden, num_layers=args.layers, dropout=0.3 if args.layers > 1 else 0.0)
    head = nn.Linear(args.hidden, vocab)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=4e-3)
    ids = torch.randint(0, vocab, (steps, batch))
    target = torch.randint(0, vocab, (steps, batch))
    state = None

    def step():
        nonlocal state
        opt.zero_grad()
        x = nn.functional.one_hot(ids, vocab).float()
        out, new_state = rnn(x, state)
        state = tuple(s.detach() for s in new_state) if isinstance(new_state, tuple) else new_state.detach()
        loss = nn.functional.cross_entropy(head(out).reshape(-1, vocab), target.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    for _ in range(5):
        step()
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(20):
            step()
        runs.append((time.perf_counter() - t) / 20)
    runs.sort()
    print(f"pytorch {args.cell} H={args.hidden} L={args.layers} B={batch} T={steps} vocab={vocab}: "
          f"{batch / runs[3]:.0f} seq/s (median of 7; {runs[3] * 1e3:.1f} ms a step)")


if __name__ == "__main__":
    main()
