#!/usr/bin/env bash
# The scale-out round trip, checked: rnn trains a character model, PyTorch continues training
# it with DistributedDataParallel (2 processes, gloo) under torchrun, and the result goes back
# to rnn (forward, evaluate, generate) and on to ONNX Runtime.
#
#   examples/scale_out/run.sh [WORK_DIR]     # from the repository root, after cargo build --release
#
# Needs: python3 -m pip install torch safetensors numpy onnxruntime   (torch's CPU wheel is enough)
set -euo pipefail
cd "$(dirname "$0")/../.."
RNN=${RNN:-target/release/rnn}
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
TEXT=data/hamlet.txt
python3 -c 'import torch, safetensors, numpy, onnxruntime' 2>/dev/null ||
    { echo "scale_out: needs python3 -m pip install torch safetensors numpy onnxruntime" >&2; exit 1; }
start=$SECONDS

echo "== 1. rnn: 2 epochs of a 1-layer LSTM character model on $TEXT"
"$RNN" train --task charlm --data "$TEXT" --cell lstm --hidden 64 --layers 1 --epochs 2 --quiet --out "$WORK/base.safetensors" >/dev/null
before=$("$RNN" evaluate --model "$WORK/base.safetensors" --data "$TEXT" --json)
echo "$before"

echo "== 2. PyTorch: 3 more epochs under torchrun, DDP on 2 processes (gloo)"
OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node 2 examples/scale_out/train_ddp.py \
    --model "$WORK/base.safetensors" --text "$TEXT" --out "$WORK/tuned.safetensors" --epochs 3 --reference "$WORK"

echo "== 3. back in rnn: evaluate, forward, generate; then ONNX Runtime"
after=$("$RNN" evaluate --model "$WORK/tuned.safetensors" --data "$TEXT" --json)
echo "$after"
"$RNN" forward --model "$WORK/tuned.safetensors" --input "$WORK/x.npy" --output "$WORK/y_rnn.npy"
"$RNN" export --model "$WORK/tuned.safetensors" --format onnx --output "$WORK/tuned.onnx"
"$RNN" generate --model "$WORK/tuned.safetensors" --prime $'HAMLET.\n' --length 120 --seed 1 | tee "$WORK/generated.txt"
echo
python3 - "$WORK" "$before" "$after" <<'PY'
import json, sys
import numpy as np, onnxruntime as ort
work, before, after = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
torch_y = np.load(f"{work}/y_torch.npy")
rnn_y = np.load(f"{work}/y_rnn.npy")
ort_y = ort.InferenceSession(f"{work}/tuned.onnx").run(None, {"input": np.load(f"{work}/x.npy")})[0]
d_rnn, d_ort = np.abs(rnn_y - torch_y).max(), np.abs(ort_y - torch_y).max()
b, a = before["model"]["bpc"], after["model"]["bpc"]
print(f"held-out bits/char: {b:.4f} after rnn's 2 epochs, {a:.4f} after DDP's 3 more (unigram {after['unigram']['bpc']:.4f})")
print(f"max |rnn forward - torch| = {d_rnn:.2g}, max |onnxruntime - torch| = {d_ort:.2g} (logits, 200 held-out steps)")
assert a < b, "DDP training did not improve the held-out score"
assert d_rnn < 1e-5 and d_ort < 1e-5, "outputs differ"
PY
test -s "$WORK/generated.txt"
echo "scale_out: OK in $((SECONDS - start)) s (files in $WORK)"
