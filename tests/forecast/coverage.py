#!/usr/bin/env python3
"""Issue 14's interval coverage, measured: the empirical coverage of the 80% and 95% prediction
intervals on the test splits, pooled over the series (and per series), at h = 1 and at h = one
season, from the models tests/forecast/target.py left in OUT_DIR (`rnn evaluate --json` on each).

    python3 tests/forecast/target.py OUT_DIR --skip-alone && python3 tests/forecast/coverage.py OUT_DIR
    python3 tests/forecast/target.py OUT_DIR --skip-alone --heldout && python3 tests/forecast/coverage.py OUT_DIR --heldout
    (--heldout2 as --heldout, for the second set held aside)
"""

import json
import pathlib
import subprocess
import sys

from target import RNN, series_set


def main():
    args = sys.argv[1:]
    _, series, folder = series_set(args)
    out = pathlib.Path([a for a in args if a not in ("--heldout", "--heldout2")][0])
    for h_of in ("1", "season"):
        inside, n, per = [0.0, 0.0], 0, []
        for name, m in series.items():
            h = 1 if h_of == "1" else m
            if h_of == "season" and m == 1:
                continue
            model = out / f"{pathlib.Path(name).stem}.h{h}.safetensors"
            cmd = [str(RNN), "evaluate", "--model", str(model), "--data", str(folder / name), "--json", "--threads", "1"]
            c = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["coverage"]
            n += c["values"]
            for level in range(2):
                inside[level] += c["empirical"][level] * c["values"] / 100
            per.append(f"{pathlib.Path(name).stem} {c['empirical'][0]:.0f}% / {c['empirical'][1]:.0f}% of {c['values']}")
        print(f"h = {h_of}: {100 * inside[0] / n:.1f}% at 80%, {100 * inside[1] / n:.1f}% at 95% of {n} values ({'; '.join(per)})")


if __name__ == "__main__":
    main()
