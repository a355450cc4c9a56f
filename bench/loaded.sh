#!/usr/bin/env bash
# The thread pool under load (issue: "a pool that is never slower than one thread"):
# `rnn bench` at 1 and 2 threads, first with the machine idle, then with a busy loop pinned to
# one core (as a laptop or CI machine with other work), each cell in its own process; ROUNDS
# rounds, each measuring 1 and 2 threads back to back, so that a ratio compares runs taken
# seconds apart (this machine's speed drifts by 10-20% over minutes).
# Writes bench/results/loaded-DATE.jsonl and prints the table of 2-thread / 1-thread ratios
# (the median over the rounds, and their range).
#
#   bash bench/loaded.sh                 # every cell, 3 rounds, 1 s per measurement
#   CELLS="rnn" ROUNDS=5 MIN_TIME=0.5 bash bench/loaded.sh
#
# Run it with nothing else busy: the busy loop is the only load it means to measure.
set -euo pipefail
cd "$(dirname "$0")/.."
RNN=${RNN:-target/release/rnn}
CELLS=${CELLS:-rnn lstm gru}
MIN_TIME=${MIN_TIME:-1}
ROUNDS=${ROUNDS:-3}
BUSY_CPU=${BUSY_CPU:-1}
OUT=${OUT:-bench/results/loaded-$(date +%F).jsonl}
[ -x "$RNN" ] || cargo build --release --bin rnn
: > "$OUT"
busy=""
trap '[ -n "$busy" ] && kill "$busy" 2>/dev/null || true' EXIT
for round in $(seq "$ROUNDS"); do
    for load in idle busy; do
        if [ "$load" = busy ]; then
            # exec: $busy is the loop itself, so `kill` stops it
            taskset -c "$BUSY_CPU" sh -c 'exec sh -c "while :; do :; done"' &
            busy=$!
            sleep 1
        fi
        for cell in $CELLS; do
            for t in 1 2; do
                echo ">> round $round, $load: rnn bench --cell $cell --threads $t" >&2
                "$RNN" bench --json --cell "$cell" --threads "$t" --min-time "$MIN_TIME" \
                    | sed "s/^{/{\"load\": \"$load\", \"round\": $round, /" >> "$OUT"
            done
        done
        if [ "$load" = busy ]; then
            kill "$busy"
            wait "$busy" 2>/dev/null || true
            busy=""
        fi
    done
done
python3 bench/loaded.py "$OUT"
