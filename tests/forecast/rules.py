#!/usr/bin/env python3
"""How the forecast combination's rule was picked (README, "Forecasting"), re-runnable.

For the models `tests/forecast/target.py OUT` trains (OUT/X.hH.safetensors), the networks' own
forecasts from every validation and test origin (`examples/forecast_members.rs`) are combined
with statistical members refitted at every origin, as `rnn` does, here with statsforecast and
statsmodels standing in for augurs and u-analytics:

- A: MSTL(m) + AutoETS(ZZN) on y (AutoETS alone without a season), B: the same on ln y,
- HWm / HWa: Holt-Winters with an additive trend and a multiplicative / additive season.

Each rule picks weights on the validation split only; the table gives the geometric mean over
series of test RMSE / the best of statsforecast's AutoETS, AutoTheta, AutoARIMA (baselines.json)
at h = 1 and h = season, and every series' ratio. Rules: equal, median, grid (weights on a 0.1
grid of the lowest validation RMSE, shrunk halfway to equal), invmse (inverse validation MSE),
best (the best member on validation, shrunk halfway), trim (the worst on validation dropped,
equal weights over the rest; two members: inverse validation MSE), the one `rnn` uses.

    cargo build --release --example forecast_members
    python3 -m pip install statsforecast statsmodels
    python3 tests/forecast/target.py OUT --skip-alone [--heldout]
    python3 tests/forecast/rules.py OUT [--heldout]
"""

import itertools
import json
import math
import pathlib
import subprocess
import sys
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
DUMP = ROOT / "target" / "release" / "examples" / "forecast_members"


def sizes(n):
    part = math.floor(n * 0.15 + 0.5)
    return n - 2 * part, part, part


def mstl(y, h, m, log=False):
    from statsforecast.models import MSTL, AutoETS

    if log and (y <= 0).any():
        return None
    z = np.log(y) if log else y
    if m >= 2 and len(z) > 2 * m:
        f = MSTL(season_length=m, trend_forecaster=AutoETS(model="ZZN")).forecast(y=z, h=h)["mean"]
    else:
        f = AutoETS(model="ZZN").forecast(y=z, h=h)["mean"]
    return np.exp(f) if log else f


def holt_winters(y, h, m, season):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    if m < 2 or len(y) < 2 * m or (season == "mul" and (y <= 0).any()):
        return None
    model = ExponentialSmoothing(y, trend="add", seasonal=season, seasonal_periods=m, initialization_method="heuristic")
    return model.fit().forecast(h)


MEMBERS = {
    "A": lambda y, h, m: mstl(y, h, m),
    "B": lambda y, h, m: mstl(y, h, m, log=True),
    "HWm": lambda y, h, m: holt_winters(y, h, m, "mul"),
    "HWa": lambda y, h, m: holt_winters(y, h, m, "add"),
}


def forecasts(out, folder, name, m, h):
    """The networks' and every member's forecasts, and the actual values, per split."""
    model = out / f"{pathlib.Path(name).stem}.h{h}.safetensors"
    data = folder / name
    d = json.loads(subprocess.run([str(DUMP), str(model), str(data)], capture_output=True, text=True, check=True).stdout)
    y = np.loadtxt(data, delimiter=",", skiprows=1, usecols=1)
    for part in ("val", "test"):
        p = d[part]
        p["members"] = {"net": np.array(p["model"])}
        for key, fit in MEMBERS.items():
            fc = [fit(y[: t + 1], h, m) for t in p["origins"]]
            if all(f is not None for f in fc):
                p["members"][key] = np.array(fc)
        p["y"] = np.array([[y[t + 1 + k] for k in range(h)] for t in p["origins"]])
    return d


def rmse(f, y):
    return float(np.sqrt(np.mean((f - y) ** 2)))


def weights(rule, val, yv):
    keys = list(val)
    n = len(keys)
    err = {k: rmse(val[k], yv) for k in keys}
    if rule == "equal" or n == 1:
        return {k: 1 / n for k in keys}
    if rule == "grid":
        best = None
        for c in itertools.product(range(11), repeat=n - 1):
            if sum(c) > 10:
                continue
            w = [x / 10 for x in c] + [(10 - sum(c)) / 10]
            e = rmse(sum(wi * val[k] for wi, k in zip(w, keys)), yv)
            if best is None or e < best[0] - 1e-12:
                best = (e, w)
        return {k: 0.5 * wi + 0.5 / n for k, wi in zip(keys, best[1])}
    if rule == "invmse" or (rule == "trim" and n == 2):
        inv = {k: 1 / max(err[k], 1e-300) ** 2 for k in keys}
        return {k: inv[k] / sum(inv.values()) for k in keys}
    if rule == "best":
        b = min(keys, key=err.get)
        return {k: 0.5 * (k == b) + 0.5 / n for k in keys}
    if rule == "trim":
        worst = max(keys, key=err.get)
        return {k: (k != worst) / (n - 1) for k in keys}
    raise ValueError(rule)


def main():
    warnings.filterwarnings("ignore")
    args = sys.argv[1:]
    heldout = "--heldout" in args
    out = pathlib.Path([a for a in args if a != "--heldout"][0])
    sys.path.insert(0, str(ROOT / "tests" / "forecast"))
    import target

    series = target.HELDOUT if heldout else target.SERIES
    folder = ROOT / "tests" / "forecast" / ("heldout" if heldout else "")
    data = folder if heldout else ROOT / "data"
    ref = json.loads((folder / "baselines.json").read_text())["series"]
    runs = {}
    for name, m in series.items():
        for h in sorted({1, m}):
            runs[(name, h)] = forecasts(out, data, name, m, h)
            print("fitted", name, "h =", h, file=sys.stderr, flush=True)
    print("| members | rule | h = 1 | h = season | per series |\n|---|---|---:|---:|---|")
    for members in (["A"], ["A", "B"], ["A", "B", "HWm"], ["A", "B", "HWa", "HWm"], ["B", "HWm"]):
        for rule in ("equal", "median", "grid", "invmse", "best", "trim"):
            ratios = {"1": [], "season": []}
            cells = []
            for (name, h), d in runs.items():
                keys = ["net"] + [k for k in members if k in d["val"]["members"] and k in d["test"]["members"]]
                val = {k: d["val"]["members"][k] for k in keys}
                test = {k: d["test"]["members"][k] for k in keys}
                if rule == "median":
                    f = np.median(np.stack(list(test.values())), axis=0)
                else:
                    w = weights(rule, val, d["val"]["y"])
                    f = sum(w[k] * test[k] for k in keys)
                row = ref[name]["horizons"][str(h)]
                best = min(row[k]["rmse"] for k in ("AutoETS", "AutoTheta", "AutoARIMA"))
                r = rmse(f, d["test"]["y"]) / best
                ratios["1" if h == 1 else "season"].append(r)
                cells.append(f"{r:.2f}")
            g = {k: math.exp(np.mean(np.log(v))) if v else float("nan") for k, v in ratios.items()}
            print(f"| net+{'+'.join(members)} | {rule} | {g['1']:.3f} | {g['season']:.3f} | {' '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
