#!/usr/bin/env python3
"""The PyTorch character model issue 10 compares `rnn train --task charlm` with: a plain
`nn.LSTM` (default H = 256) and `nn.Linear`, Adam, a fixed time budget on 2 threads, on the same
text, split and score as `rnn`:

- vocabulary: the sorted distinct characters of the whole text; input one-hot (as `rnn`);
- the last 10% (rounded) held out; training on the rest as 32 parallel streams read in order in
  chunks of 50 characters, the state carried (detached) through the epoch (stateful truncated
  BPTT, `rnn`'s scheme), gradient norm clipped at 5;
- after each epoch the held-out text is scored as one stream from a zero state, every character
  after the first predicted; the best epoch's bits per character is reported (`rnn` keeps the
  best epoch on the same held-out text).

    python3 bench/charlm_pytorch.py data/hamlet.txt [--hidden 256] [--layers 1] [--dropout 0] [--seconds 240] [--lr 0.002] [--cell lstm|gru|rnn]

Prints one JSON line: {"cell", "hidden", "parameters", "epochs", "seconds", "best_bpc", "best_epoch", "per_epoch"}.
"""

import argparse
import json
import math
import time

import torch
from torch import nn


class CharModel(nn.Module):
    def __init__(self, cell, vocab, hidden, layers=1, dropout=0.0):
        super().__init__()
        kind = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = kind(vocab, hidden, num_layers=layers, dropout=dropout)
        self.head = nn.Linear(hidden, vocab)
        self.vocab = vocab

    def forward(self, ids, state):
        x = nn.functional.one_hot(ids, self.vocab).float()
        out, state = self.rnn(x, state)
        return self.head(out), state


def detach(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@torch.no_grad()
def score(model, ids):
    """Bits per character of `ids` read as one stream from a zero state."""
    logits, _ = model(ids[:-1].unsqueeze(1), None)
    nats = nn.functional.cross_entropy(logits.squeeze(1), ids[1:])
    return nats.item() / math.log(2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("text")
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--seconds", type=float, default=240.0)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--tbptt", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    text = open(a.text, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    held = round(len(ids) * 0.1)
    train, test = ids[: len(ids) - held], ids[len(ids) - held :]
    # streams x chunks x tbptt characters, inputs and next-character targets
    chunks = (len(train) - 1) // (a.streams * a.tbptt)
    used = a.streams * chunks * a.tbptt
    xs = train[:used].view(a.streams, chunks * a.tbptt).t()
    ys = train[1 : used + 1].view(a.streams, chunks * a.tbptt).t()

    model = CharModel(a.cell, len(chars), a.hidden, a.layers, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    params = sum(p.numel() for p in model.parameters())
    start = time.perf_counter()
    per_epoch, epoch = [], 0
    while time.perf_counter() - start < a.seconds:
        epoch += 1
        state = None
        model.train()
        for c in range(chunks):
            x, y = xs[c * a.tbptt : (c + 1) * a.tbptt], ys[c * a.tbptt : (c + 1) * a.tbptt]
            logits, state = model(x, detach(state))
            loss = nn.functional.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            if time.perf_counter() - start >= a.seconds:
                break
        model.eval()
        per_epoch.append(round(score(model, test), 4))
    best = min(range(len(per_epoch)), key=per_epoch.__getitem__)
    print(
        json.dumps(
            {
                "cell": a.cell,
                "hidden": a.hidden,
                "parameters": params,
                "epochs": epoch,
                "seconds": round(time.perf_counter() - start, 1),
                "best_bpc": per_epoch[best],
                "best_epoch": best + 1,
                "per_epoch": per_epoch,
            }
        )
    )


if __name__ == "__main__":
    main()
