#!/usr/bin/env python3
"""Continue training an `rnn` character model with PyTorch's DistributedDataParallel.

    torchrun --standalone --nproc_per_node 2 examples/scale_out/train_ddp.py \
        --model base.safetensors --text data/hamlet.txt --out tuned.safetensors [--epochs 3]

Loads the model file (written by `rnn train --task charlm`) into `torch.nn.RNN`, `nn.LSTM` or
`nn.GRU` plus an `nn.Linear` head, with `load_state_dict(strict=True)`; trains it on the same
training part of the text (the held-out tail, `held_out` in the file's task metadata, is left
alone) with one-hot inputs and cross-entropy, each process on its share of the chunks
(`DistributedSampler`), gradients averaged by DDP over the gloo backend (CPU); then rank 0
writes the weights back as an `rnn` model file with the input file's metadata (`rnn.config`,
`rnn.task`: the vocabulary), which `rnn forward`, `rnn evaluate` and `rnn generate` use as they
are. With `--reference DIR`, rank 0 also writes `DIR/x.npy` (one-hot, the first 200 held-out
characters, `[200, 1, V]`) and `DIR/y_torch.npy` (the trained module's logits on it) for
`rnn forward` to be compared with.

Needs torch, safetensors and numpy. Residual and IndRNN models have no PyTorch module of
their own (see the README's "Model files"), so they are refused here.
"""

import argparse
import json
import os

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

RESERVED = ("optim.", "best_model.", "carried.")  # checkpoint entries that are not parameters


class CharModel(torch.nn.Module):
    """An `rnn` model file's modules: `rnn` (nn.RNN/LSTM/GRU) and `head` (nn.Linear)."""

    def __init__(self, cfg):
        super().__init__()
        mode = cfg.get("mode", "RNN_TANH")
        if mode in ("INDRNN", "RNN_SIGMOID") or cfg.get("residual"):
            raise SystemExit(f"train_ddp.py: a {mode}{' residual' if cfg.get('residual') else ''} model has no PyTorch module")
        args = (cfg["input_size"], cfg["hidden_size"], cfg.get("num_layers", 1))
        kw = dict(bias=cfg.get("bias", True), bidirectional=cfg.get("bidirectional", False), dropout=cfg.get("dropout", 0.0))
        if mode == "LSTM":
            self.rnn = torch.nn.LSTM(*args, proj_size=cfg.get("proj_size", 0), **kw)
        elif mode == "GRU":
            self.rnn = torch.nn.GRU(*args, **kw)
        else:
            self.rnn = torch.nn.RNN(*args, nonlinearity=cfg["nonlinearity"], **kw)
        width = (cfg.get("proj_size") or cfg["hidden_size"]) * (2 if kw["bidirectional"] else 1)
        self.head = torch.nn.Linear(width, cfg["output_size"])

    def forward(self, x):  # x [T, B, V] one-hot -> logits [T, B, V]
        y, _ = self.rnn(x)
        return self.head(y)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=32, help="global batch, split over the processes")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reference", help="folder for x.npy and y_torch.npy (rank 0)")
    a = p.parse_args()

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(a.seed)  # the same on every rank; DDP also broadcasts rank 0's weights

    with safe_open(a.model, "pt") as f:
        metadata = f.metadata()
    cfg = json.loads(metadata["rnn.config"])
    task = json.loads(metadata["rnn.task"])
    if task.get("kind") != "charlm":
        raise SystemExit(f"{a.model}: not a character model (task {task.get('kind')})")
    vocab = {c: i for i, c in enumerate(task["vocab"])}
    model = CharModel(cfg)
    tensors = {k: v for k, v in load_file(a.model).items() if not k.startswith(RESERVED)}
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)

    with open(a.text, encoding="utf-8") as f:
        ids = torch.tensor([vocab[c] for c in f.read()])
    tail = round(len(ids) * task["held_out"])
    train, held_out = ids[: len(ids) - tail], ids[len(ids) - tail:]
    n = (len(train) - 1) // a.seq_len
    x = train[: n * a.seq_len].view(n, a.seq_len)
    y = train[1: n * a.seq_len + 1].view(n, a.seq_len)
    sampler = DistributedSampler(TensorDataset(x, y), num_replicas=world, rank=rank, shuffle=True, seed=a.seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=a.batch_size // world, sampler=sampler, drop_last=True)

    ddp = DDP(model)
    opt = torch.optim.Adam(ddp.parameters(), lr=a.lr)
    V = len(vocab)
    for epoch in range(a.epochs):
        sampler.set_epoch(epoch)
        total, steps = torch.zeros(2), 0
        for xb, yb in loader:  # [B, T] -> [T, B, V]
            logits = ddp(F.one_hot(xb.T, V).float())
            loss = F.cross_entropy(logits.reshape(-1, V), yb.T.reshape(-1))
            opt.zero_grad()
            loss.backward()  # DDP all-reduces (averages) the gradients here
            torch.nn.utils.clip_grad_norm_(ddp.parameters(), 5.0)
            opt.step()
            total += torch.tensor([loss.item(), 1.0])
        dist.all_reduce(total)
        if rank == 0:
            print(f"epoch {epoch + 1}/{a.epochs}: mean train loss {total[0] / total[1]:.4f} nats/char, "
                  f"{int(total[1]) // world} steps of {a.batch_size // world} sequences on each of {world} processes",
                  flush=True)

    # every rank holds the same weights (DDP's averaged gradients, the same optimizer steps)
    flat = torch.cat([q.detach().flatten() for q in model.parameters()])
    spread = flat.clone()
    dist.all_reduce(spread, op=dist.ReduceOp.MAX)
    spread -= flat
    dist.all_reduce(spread, op=dist.ReduceOp.MAX)
    if rank == 0:
        print(f"ranks agree: max |weight difference| across the {world} processes = {spread.max().item():.3g}")
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        tmp = a.out + ".tmp"
        save_file(state, tmp, metadata=metadata)  # the input's rnn.config and rnn.task
        os.replace(tmp, a.out)
        print(f"wrote {a.out}")
        if a.reference:
            xr = F.one_hot(held_out[:200], V).float().unsqueeze(1)  # [200, 1, V]
            with torch.no_grad():
                yr = model(xr)
            np.save(os.path.join(a.reference, "x.npy"), xr.numpy())
            np.save(os.path.join(a.reference, "y_torch.npy"), yr.numpy())
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
