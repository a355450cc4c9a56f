"""The table of bench/loaded.sh: per cell and size, training sequences/s and streaming steps at 1
and 2 threads, idle and with a busy loop on one core, and the 2-thread / 1-thread ratios: each
round's 1- and 2-thread runs were taken back to back, so a ratio is formed per round, and the
table gives the median over the rounds and their range (the speeds: medians too)."""
import json
import statistics
import sys
from collections import defaultdict


def main(path):
    # rows[(cell, size)][(load, threads)][round] = speed (for the streaming step, µs per step)
    rows = defaultdict(lambda: defaultdict(dict))
    for line in open(path):
        r = json.loads(line)
        rnd = r.get("round", 1)
        if "stream_step_us" in r:
            rows[(r["cell"], "streaming step (µs)")][(r["load"], r["threads"])][rnd] = r["stream_step_us"]
        else:
            size = f'{r["hidden_size"]}, {r["batch"]}, {r["seq_len"]}, {r["num_layers"]}'
            rows[(r["cell"], size)][(r["load"], r["threads"])][rnd] = r["train_seq_per_s"]
    rounds = max((len(v) for row in rows.values() for v in row.values()), default=0)
    print(f"2-thread / 1-thread speed, median of {rounds} round(s) (range)\n")
    print("| cell | H, B, T, L | idle 1t | idle 2t | 2t/1t | busy 1t | busy 2t | 2t/1t |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (cell, size), v in rows.items():
        cells = []
        for load in ("idle", "busy"):
            a, b = v.get((load, 1), {}), v.get((load, 2), {})
            both = sorted(set(a) & set(b))
            # for a time per step, lower is better: the ratio is still "2 threads' speed / 1's"
            ratios = [(a[r] / b[r] if "µs" in size else b[r] / a[r]) for r in both]
            ratio = ""
            if ratios:
                ratio = f"{statistics.median(ratios):.2f}x"
                if len(ratios) > 1:
                    ratio += f" ({min(ratios):.2f}-{max(ratios):.2f})"
            med = lambda d: f"{statistics.median(d.values()):,.1f}" if d else ""
            cells += [med(a), med(b), ratio]
        print(f"| {cell} | {size} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
