"""The table of bench/loaded.sh: per cell and size, training sequences/s and streaming steps at 1
and 2 threads, idle and with a busy loop on one core, and the 2-thread / 1-thread ratios."""
import json
import sys
from collections import defaultdict


def main(path):
    rows = defaultdict(dict)
    for line in open(path):
        r = json.loads(line)
        if "stream_step_us" in r:
            key = (r["cell"], "streaming step (µs)")
            rows[key][(r["load"], r["threads"])] = r["stream_step_us"]
        else:
            size = f'{r["hidden_size"]}, {r["batch"]}, {r["seq_len"]}, {r["num_layers"]}'
            rows[(r["cell"], size)][(r["load"], r["threads"])] = r["train_seq_per_s"]
    print("| cell | H, B, T, L | idle 1t | idle 2t | 2t/1t | busy 1t | busy 2t | 2t/1t |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for (cell, size), v in rows.items():
        cells = []
        for load in ("idle", "busy"):
            a, b = v.get((load, 1)), v.get((load, 2))
            ratio = ""
            if a and b:
                # for a time per step, lower is better: the ratio is still "2 threads' speed / 1's"
                ratio = f"{(a / b if 'µs' in size else b / a):.2f}x"
            cells += [f"{a:,.1f}" if a else "", f"{b:,.1f}" if b else "", ratio]
        print(f"| {cell} | {size} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
