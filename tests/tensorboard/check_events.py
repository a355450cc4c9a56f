#!/usr/bin/env python3
"""`rnn train --tensorboard DIR`, read back with TensorBoard's own reader.

    python3 -m pip install tensorboard numpy
    python3 tests/tensorboard/check_events.py target/release/rnn

Runs the binary on small data (the bundled yearly sunspots; sequences, classes and a text made
here) with --tensorboard, then loads each run directory with TensorBoard's EventAccumulator
(size_guidance 0: keep every event) and asserts, for every run:

  * one event file per training run, named events.out.tfevents.<seconds>.<hostname>;
  * exactly the scalar tags loss/train, loss/validation, lr, grad_norm, time/epoch_seconds,
    time/sequences_per_sec (+ accuracy/validation for cross-entropy tasks), each at steps
    1..epochs, each value equal (as float32) to the same run's MODEL.history.jsonl, and the
    losses, lr and gradient norm also to MODEL.history.csv;
  * a histogram weights/<name> and grads/<name> for every tensor of the model file, at every
    epoch, with num = the tensor's element count and bucket counts adding up to it; at the last
    epoch the weights' min, max and sum are those of MODEL.last.safetensors;
  * with one optimizer step per epoch (batch >= training set), the gradient histograms'
    sum_squares add up to the history's gradient norm squared;
  * after --resume into the same directory, the directory holds both files and TensorBoard
    shows every epoch once, continuing the steps;
  * --tensorboard on a path that is a file: exit status 1, one line naming it, no training.

Prints one line per run and ends with "N passed, 0 failed".
"""

import csv
import json
import math
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCALARS = {"loss/train", "loss/validation", "lr", "grad_norm", "time/epoch_seconds", "time/sequences_per_sec"}
# tag -> history key
HISTORY_KEYS = {
    "loss/train": "train_loss",
    "loss/validation": "val_loss",
    "accuracy/validation": "val_accuracy",
    "lr": "lr",
    "grad_norm": "grad_norm",
    "time/epoch_seconds": "seconds",
    "time/sequences_per_sec": "sequences_per_sec",
    "grad_norm_clipped_steps": "clipped",
}
CSV_TAGS = ["loss/train", "loss/validation", "lr", "grad_norm", "grad_norm_clipped_steps"]


def run(rnn, *args):
    proc = subprocess.run([rnn, *args], capture_output=True, text=True, timeout=300)
    return proc


def train(rnn, *args):
    proc = run(rnn, "train", "--quiet", *args)
    if proc.returncode != 0:
        sys.exit(f"rnn train {' '.join(args)} failed:\n{proc.stderr}")


def read_safetensors(path):
    """name -> numpy array, for the model's own tensors (rnn.*, head.*)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": np.float32, "F64": np.float64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or not name.startswith(("rnn.", "head.")):
            continue
        lo, hi = info["data_offsets"]
        out[name] = np.frombuffer(data[lo:hi], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def load(logdir):
    acc = EventAccumulator(logdir, size_guidance={k: 0 for k in
                                                  ("scalars", "histograms", "compressedHistograms",
                                                   "images", "audio", "tensors")})
    acc.Reload()
    return acc


def check_run(name, logdir, model, epochs, accuracy=False, one_step_per_epoch=False, files=1):
    stem = model[: -len(".safetensors")]
    history = [json.loads(line) for line in open(stem + ".history.jsonl")]
    rows = list(csv.DictReader(open(stem + ".history.csv")))
    assert [r["epoch"] for r in history] == list(range(1, epochs + 1)), history

    event_files = sorted(os.listdir(logdir))
    assert len(event_files) == files, event_files
    host = re.escape(socket.gethostname())
    for f in event_files:
        assert re.fullmatch(rf"events\.out\.tfevents\.\d{{10}}\.{host}(\.\d+)?", f), f

    acc = load(logdir)
    tags = acc.Tags()
    expected = SCALARS | ({"accuracy/validation"} if accuracy else set())
    # with clipping by norm (charlm's default), the steps clipped per epoch
    if "clipped" in history[0]:
        expected |= {"grad_norm_clipped_steps"}
    assert set(tags["scalars"]) == expected, tags["scalars"]
    steps = list(range(1, epochs + 1))
    for tag in sorted(expected):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == steps, (tag, [e.step for e in events])
        key = HISTORY_KEYS[tag]
        for e, h in zip(events, history):
            assert np.float32(e.value) == np.float32(h[key]), (tag, e.step, e.value, h[key])
        if tag in CSV_TAGS:
            column = key
            for e, r in zip(events, rows):
                assert np.float32(e.value) == np.float32(float(r[column])), (tag, e.step, e.value, r[column])

    tensors = read_safetensors(model)
    last = read_safetensors(stem + ".last.safetensors")
    assert set(last) == set(tensors)
    wanted = {f"{kind}/{n}" for n in tensors for kind in ("weights", "grads")}
    assert set(tags["histograms"]) == wanted, sorted(set(tags["histograms"]) ^ wanted)
    grad_sum_squares = {s: 0.0 for s in steps}
    for n, t in tensors.items():
        for kind in ("weights", "grads"):
            events = acc.Histograms(f"{kind}/{n}")
            assert [e.step for e in events] == steps, (kind, n)
            for e in events:
                h = e.histogram_value
                assert h.num == t.size, (kind, n, h.num, t.shape)
                assert sum(h.bucket) == t.size, (kind, n, sum(h.bucket))
                assert h.min <= h.max and len(h.bucket) == len(h.bucket_limit)
                if kind == "grads":
                    grad_sum_squares[e.step] += h.sum_squares
        h = acc.Histograms(f"weights/{n}")[-1].histogram_value
        w = last[n].astype(np.float64)
        assert (h.min, h.max) == (w.min(), w.max()), (n, h.min, h.max, w.min(), w.max())
        assert math.isclose(h.sum, w.sum(), rel_tol=1e-9, abs_tol=1e-9 * np.abs(w).sum()), (n, h.sum, w.sum())
    if one_step_per_epoch:
        for r in history:
            norm = math.sqrt(grad_sum_squares[r["epoch"]])
            assert math.isclose(norm, r["grad_norm"], rel_tol=1e-5), (r["epoch"], norm, r["grad_norm"])
    n_hist = sum(len(acc.Histograms(t)) for t in wanted)
    print(f"ok {name}: {epochs} epochs, {len(expected)} scalar tags, {len(tensors)} tensors, "
          f"{n_hist} histograms, {len(event_files)} event file(s)")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rnn = os.path.abspath(sys.argv[1])
    passed = 0
    with tempfile.TemporaryDirectory() as tmp:
        j = lambda *p: os.path.join(tmp, *p)

        # forecasting the bundled sunspots with a 2-layer Elman RNN
        train(rnn, "--task", "forecast", "--data", os.path.join(ROOT, "data", "sunspots_yearly.csv"),
              "--transform", "residual", "--layers", "2", "--hidden", "8", "--epochs", "6",
              "--out", j("forecast.safetensors"), "--tensorboard", j("tb", "forecast"))
        check_run("forecast (Elman, 2 layers)", j("tb", "forecast"), j("forecast.safetensors"), 6)
        passed += 1

        # sequence regression with a bidirectional projected LSTM, one optimizer step per epoch,
        # then resumed into the same directory
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (40, 8, 2)).astype(np.float32)
        y = np.zeros((40, 8, 1), np.float32)
        y[:, 2:, 0] = x[:, :-2, 0]
        np.save(j("x.npy"), x)
        np.save(j("y.npy"), y)
        seq = ["--inputs", j("x.npy"), "--targets", j("y.npy"), "--cell", "lstm", "--proj-size", "3",
               "--hidden", "5", "--bidirectional", "--batch-size", "64", "--lr", "0.01",
               "--out", j("seq.safetensors"), "--tensorboard", j("tb", "seq")]
        train(rnn, *seq, "--epochs", "4")
        check_run("sequence (LSTM, proj_size, bidirectional)", j("tb", "seq"), j("seq.safetensors"), 4,
                  one_step_per_epoch=True)
        passed += 1
        train(rnn, *seq, "--epochs", "7", "--resume", j("seq.last.safetensors"))
        check_run("sequence resumed to 7 epochs", j("tb", "seq"), j("seq.safetensors"), 7,
                  one_step_per_epoch=True, files=2)
        passed += 1

        # classification (cross-entropy: validation accuracy too) with a GRU in float64
        labels = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
        np.save(j("labels.npy"), labels)
        train(rnn, "--task", "classify", "--inputs", j("x.npy"), "--labels", j("labels.npy"),
              "--cell", "gru", "--hidden", "6", "--dtype", "f64", "--epochs", "3",
              "--out", j("cls.safetensors"), "--tensorboard", j("tb", "cls"))
        check_run("classify (GRU, f64)", j("tb", "cls"), j("cls.safetensors"), 3, accuracy=True)
        passed += 1

        # character language model on a small text, truncated BPTT
        with open(j("text.txt"), "w") as f:
            f.write("the quick brown fox jumps over the lazy dog. " * 40)
        train(rnn, "--task", "charlm", "--data", j("text.txt"), "--hidden", "12", "--tbptt", "20",
              "--batch-size", "4", "--epochs", "2", "--sample", "0",
              "--out", j("lm.safetensors"), "--tensorboard", j("tb", "lm"))
        check_run("charlm (Elman, truncated BPTT)", j("tb", "lm"), j("lm.safetensors"), 2, accuracy=True)
        passed += 1

        # a file where the directory should be: one line, exit 1, nothing trained
        open(j("not_a_dir"), "w").close()
        proc = run(rnn, "train", "--inputs", j("x.npy"), "--targets", j("y.npy"), "--epochs", "2",
                   "--out", j("never.safetensors"), "--tensorboard", j("not_a_dir"))
        lines = proc.stderr.splitlines()
        assert proc.returncode == 1, proc.returncode
        assert len(lines) == 1 and j("not_a_dir") in lines[0], lines
        assert not os.path.exists(j("never.safetensors")) and not os.path.exists(j("never.last.safetensors"))
        print(f"ok bad directory: {lines[0]}")
        passed += 1

    print(f"{passed} passed, 0 failed")


if __name__ == "__main__":
    main()
