#!/usr/bin/env python3
"""Optimizer parity fixtures for the `rnn` crate: 20 training steps of torch.optim.

    python3 tests/optim_golden/make_optim_golden.py

writes, next to this script:

  initial.safetensors   the starting weights in the crate's model-file format (float32,
                        metadata `rnn.config`): a module with rnn = nn.RNN(3, 5, num_layers=2,
                        nonlinearity='tanh') and head = nn.Linear(5, 2)
  data.safetensors      `x` [6, 4, 3] and `target` [6, 4, 2] (float32)
  <case>.safetensors    per case: the weights after 20 steps (model-file names, e.g.
                        `rnn.weight_ih_l0`, `head.bias`), the raw gradients of the first
                        REPLAY_STEPS steps (`grad.<k>.<name>`, before clipping) and the weights
                        after those steps (`replay.<name>`)
  cases.json            every case: the optimizer in the crate's serde form, lr, schedule,
                        clipping and the loss of each step

One step is: set the learning rate, zero_grad, loss = nn.MSELoss()(head(rnn(x)[0]), target),
loss.backward(), [clip], optimizer.step(). Optimizers run single-tensor (foreach=False), on the
CPU, in float32, single-threaded. The script also reruns every case in float64 and prints the
largest float32-vs-float64 weight difference (the float32 noise floor).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import safetensors
import torch
from safetensors.torch import save_file
from torch import nn

OUT = Path(__file__).resolve().parent
MODEL_SEED = 2024
DATA_SEED = 2025
STEPS = 20
REPLAY_STEPS = 3
RNN_CONFIG = {
    "input_size": 3,
    "hidden_size": 5,
    "num_layers": 2,
    "nonlinearity": "tanh",
    "bias": True,
    "bidirectional": False,
    "output_size": 2,
}


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(3, 5, num_layers=2, nonlinearity="tanh")
        self.head = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0])


def schedule_lr(schedule: dict | None, base_lr: float, step: int) -> float:
    """`rnn::schedule::Schedule::lr`, the same float operations in the same order."""
    if schedule is None:
        return base_lr
    warmup = schedule["warmup_steps"]
    if step < warmup:
        return base_lr / warmup * (step + 1)
    s = step - warmup
    kind = schedule["kind"]
    if kind["name"] == "constant":
        return base_lr
    if kind["name"] == "step":
        return base_lr * kind["gamma"] ** (s // kind["step_size"])
    if kind["name"] == "cosine":
        total, eta_min = kind["total_steps"], kind["eta_min"]
        s = min(s, total)
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * s / total)) / 2
    raise ValueError(kind)


def sgd(momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    cfg = {"name": "sgd", "momentum": momentum, "dampening": dampening, "nesterov": nesterov,
           "weight_decay": weight_decay}
    make = lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=momentum, dampening=dampening,
                                          nesterov=nesterov, weight_decay=weight_decay, foreach=False)
    return cfg, make


def adam(name="adam", beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=None, amsgrad=False):
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    if weight_decay is None:
        weight_decay = 0.0 if name == "adam" else 0.01
    cfg = {"name": name, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay,
           "amsgrad": amsgrad}
    make = lambda ps, lr: cls(ps, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                              amsgrad=amsgrad, foreach=False)
    return cfg, make


def adagrad(lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    cfg = {"name": "adagrad", "lr_decay": lr_decay, "weight_decay": weight_decay,
           "initial_accumulator_value": initial_accumulator_value, "eps": eps}
    make = lambda ps, lr: torch.optim.Adagrad(ps, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                              initial_accumulator_value=initial_accumulator_value,
                                              eps=eps, foreach=False)
    return cfg, make


def rmsprop(alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    cfg = {"name": "rmsprop", "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
           "momentum": momentum, "centered": centered}
    make = lambda ps, lr: torch.optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                              momentum=momentum, centered=centered, foreach=False)
    return cfg, make


# (name, (config, constructor), lr, clip_grad_norm, clip_grad_value, schedule)
CASES = [
    ("sgd", sgd(), 0.05, None, None, None),
    ("sgd_momentum_dampening_wd", sgd(momentum=0.9, dampening=0.1, weight_decay=0.01), 0.05, None, None, None),
    ("sgd_nesterov_clip_norm", sgd(momentum=0.9, nesterov=True), 0.05, 0.5, None, None),
    ("adam", adam(), 0.01, None, None, None),
    ("adam_wd_amsgrad", adam(weight_decay=0.01, amsgrad=True), 0.01, None, None, None),
    ("adamw_clip_value", adam("adamw"), 0.01, None, 0.05, None),
    ("adagrad_decay_wd_acc", adagrad(lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1), 0.01,
     None, None, None),
    ("rmsprop", rmsprop(), 0.01, None, None, None),
    ("rmsprop_centered_momentum_wd", rmsprop(weight_decay=0.01, momentum=0.5, centered=True), 0.01, None, None,
     None),
    ("adam_step_schedule", adam(), 0.01, None, None,
     {"kind": {"name": "step", "step_size": 5, "gamma": 0.5}, "warmup_steps": 3}),
]


def run(case, initial, x, target, dtype):
    name, (cfg, make), lr, clip_norm, clip_value, schedule = case
    model = Model().to(dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in initial.items()})
    params = list(model.parameters())
    names = [n for n, _ in model.named_parameters()]
    opt = make(params, lr)
    x, target = x.to(dtype), target.to(dtype)
    losses, norms, clipped, grads, replay = [], [], 0, {}, {}
    for step in range(STEPS):
        for group in opt.param_groups:
            group["lr"] = schedule_lr(schedule, lr, step)
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), target)
        loss.backward()
        if step < REPLAY_STEPS:
            for n, p in zip(names, params):
                grads[f"grad.{step}.{n}"] = p.grad.detach().clone()
        if clip_norm is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip_norm, foreach=False)))
        if clip_value is not None:
            clipped += sum(int((p.grad.abs() > clip_value).sum()) for p in params)
            torch.nn.utils.clip_grad_value_(params, clip_value, foreach=False)
        opt.step()
        losses.append(loss.item())
        if step + 1 == REPLAY_STEPS:
            replay = {f"replay.{n}": p.detach().clone() for n, p in zip(names, params)}
    final = {n: p.detach().clone() for n, p in zip(names, params)}
    return final, losses, grads, replay, norms, clipped


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(MODEL_SEED)
    initial = {k: v.detach().clone().contiguous() for k, v in Model().state_dict().items()}
    g = torch.Generator().manual_seed(DATA_SEED)
    x = torch.randn(6, 4, 3, generator=g)
    target = torch.randn(6, 4, 2, generator=g)

    save_file(initial, OUT / "initial.safetensors", metadata={"rnn.config": json.dumps(RNN_CONFIG)})
    save_file({"x": x, "target": target}, OUT / "data.safetensors")

    manifest = {
        "generator": "make_optim_golden.py",
        "torch": torch.__version__,
        "model_seed": MODEL_SEED,
        "data_seed": DATA_SEED,
        "steps": STEPS,
        "replay_steps": REPLAY_STEPS,
        "cases": [],
    }
    worst64 = 0.0
    for case in CASES:
        name, (cfg, _), lr, clip_norm, clip_value, schedule = case
        final, losses, grads, replay, norms, clipped = run(case, initial, x, target, torch.float32)
        save_file({**final, **grads, **replay}, OUT / f"{name}.safetensors")
        final64, losses64, *_ = run(case, initial, x, target, torch.float64)
        d64 = max(float(((final[n].double() - final64[n]).abs() / final64[n].abs().clamp(min=1)).max())
                  for n in final)
        worst64 = max(worst64, d64)
        moved = max(float((final[n] - initial[n]).abs().max()) for n in final)
        manifest["cases"].append({
            "name": name,
            "optimizer": cfg,
            "lr": lr,
            "schedule": schedule,
            "clip_grad_norm": clip_norm,
            "clip_grad_value": clip_value,
            "losses": losses,
        })
        extra = ""
        if norms:
            extra = f", grad norms {min(norms):.3f}..{max(norms):.3f} (clipped {sum(n > clip_norm for n in norms)}/{STEPS})"
        if clip_value is not None:
            extra = f", {clipped} gradient entries clipped"
        print(f"{name:32s} loss {losses[0]:.5f} -> {losses[-1]:.5f}, max |w - w0| {moved:.4f}, "
              f"f32 vs f64 {d64:.1e}{extra}")
    (OUT / "cases.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"largest float32-vs-float64 difference of final weights: {worst64:.1e}")
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.suffix in (".safetensors", ".json"))
    print(f"torch {torch.__version__}, numpy {np.__version__}, safetensors {safetensors.__version__}; "
          f"fixtures {total / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
