#!/usr/bin/env bash
# Side-by-side CPU benchmark: `rnn bench` vs PyTorch, JAX, Keras-JAX (training /
# forward) and the PyTorch cell (RNNCell / LSTMCell / GRUCell) and ONNX Runtime
# (streaming step), for each cell (Elman RNN, LSTM, GRU), each at 1 and 2
# threads, each run in its own process.
#
#   bash bench/compare.sh [extra args for the Python peers, e.g. --quick]
#
# Environment overrides:
#   CELLS="rnn lstm gru"   cells to run (each peer gets --cell C; `rnn bench` gets
#                          --cell C only for C != rnn, so a binary without --cell
#                          still runs the Elman part)
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
CELLS=${CELLS:-"rnn lstm gru"}
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
[ "$CELLS" != "rnn lstm gru" ] && cmdline="CELLS=\"$CELLS\" $cmdline"

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

# run NAME CELL THREADS CMD...   (--json --threads T are appended)
run() {
    local name=$1 cell=$2 t=$3
    shift 3
    echo ">> [$name $cell t$t] $* --json --threads $t" >&2
    echo "=== $name cell=$cell threads=$t: $* --json --threads $t" >> "$LOG"
    local start=$SECONDS rc=0
    timeout "$RUN_TIMEOUT" "$@" --json --threads "$t" > "$TMP/out" 2> "$TMP/err" || rc=$?
    cat "$TMP/err" >> "$LOG"
    "$PYTHON" bench/compare.py collect --peer "$name" --cell "$cell" --threads "$t" --rc "$rc" \
        --stdout "$TMP/out" --stderr "$TMP/err" >> "$OUT"
    echo "   done in $((SECONDS - start)) s (exit $rc)" >&2
}

for c in $CELLS; do
    # `rnn bench` gets --cell only for a gated cell: a binary without the flag runs the Elman part.
    cell_flag=()
    [ "$c" != rnn ] && cell_flag=(--cell "$c")
    for t in $THREADS; do
        if [ -x "$RNN_BIN" ]; then
            run rnn "$c" "$t" "$RNN_BIN" bench "${cell_flag[@]}"
        else
            printf '{"peer": "rnn", "cell": "%s", "threads": %s, "skipped": "%s not found"}\n' \
                "$c" "$t" "$RNN_BIN" >> "$OUT"
        fi
    done
    for peer in pytorch:pytorch_baseline jax:jax_baseline keras_jax:keras_baseline \
                onnxruntime:onnx_stream; do
        for t in $THREADS; do
            run "${peer%%:*}" "$c" "$t" "$PYTHON" "bench/${peer#*:}.py" --cell "$c" "$@"
        done
    done
done

"$PYTHON" bench/compare.py report "$OUT" | tee "$REPORT"
echo >&2
echo ">> results: $OUT, report: $REPORT, stderr log: $LOG" >&2
