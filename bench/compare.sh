#!/usr/bin/env bash
# Side-by-side CPU benchmark: `rnn bench` vs PyTorch, JAX, Keras-JAX (training /
# forward) and PyTorch RNNCell, ONNX Runtime (streaming step), each at 1 and 2
# threads, each run in its own process.
#
#   bash bench/compare.sh [extra args for the Python peers, e.g. --quick]
#
# Environment overrides:
#   THREADS="1 2"          thread settings to run
#   PYTHON=python3         interpreter for the peers
#   RNN_BIN=path           use this binary instead of building target/release/rnn
#   RUN_TIMEOUT=600        seconds before one run is killed (reported as skipped)
#   OUT=path.jsonl         results file (default bench/results/<date>.jsonl)
#
# Writes bench/results/<date>.jsonl (all JSON lines + one meta line),
# <date>.log (stderr of every run) and <date>.md (the report, also printed).
set -uo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-"1 2"}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
DATE=$(date +%F)
mkdir -p bench/results
OUT=${OUT:-bench/results/$DATE.jsonl}
LOG=${OUT%.jsonl}.log
REPORT=${OUT%.jsonl}.md
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cmdline="bash bench/compare.sh${*:+ $*}"
[ "$THREADS" != "1 2" ] && cmdline="THREADS=\"$THREADS\" $cmdline"

: > "$OUT"
: > "$LOG"
"$PYTHON" bench/compare.py meta --command "$cmdline" >> "$OUT"

if [ -z "${RNN_BIN:-}" ]; then
    RNN_BIN=target/release/rnn
    echo ">> cargo build --release" >&2
    if ! cargo build --release >> "$LOG" 2>&1; then
        echo "!! cargo build --release failed (see $LOG); ours will be missing" >&2
    fi
fi

# run NAME THREADS CMD...   (--json --threads T are appended)
run() {
    local name=$1 t=$2
    shift 2
    echo ">> [$name t$t] $* --json --threads $t" >&2
    echo "=== $name threads=$t: $* --json --threads $t" >> "$LOG"
    local start=$SECONDS rc=0
    timeout "$RUN_TIMEOUT" "$@" --json --threads "$t" > "$TMP/out" 2> "$TMP/err" || rc=$?
    cat "$TMP/err" >> "$LOG"
    "$PYTHON" bench/compare.py collect --peer "$name" --threads "$t" --rc "$rc" \
        --stdout "$TMP/out" --stderr "$TMP/err" >> "$OUT"
    echo "   done in $((SECONDS - start)) s (exit $rc)" >&2
}

for t in $THREADS; do
    if [ -x "$RNN_BIN" ]; then
        run rnn "$t" "$RNN_BIN" bench
    else
        echo "{\"peer\": \"rnn\", \"threads\": $t, \"skipped\": \"$RNN_BIN not found\"}" >> "$OUT"
    fi
done
for t in $THREADS; do run pytorch   "$t" "$PYTHON" bench/pytorch_baseline.py "$@"; done
for t in $THREADS; do run jax       "$t" "$PYTHON" bench/jax_baseline.py "$@"; done
for t in $THREADS; do run keras_jax "$t" "$PYTHON" bench/keras_baseline.py "$@"; done
for t in $THREADS; do run onnxruntime "$t" "$PYTHON" bench/onnx_stream.py "$@"; done

"$PYTHON" bench/compare.py report "$OUT" | tee "$REPORT"
echo >&2
echo ">> results: $OUT, report: $REPORT, stderr log: $LOG" >&2
