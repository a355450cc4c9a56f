#!/usr/bin/env python3
"""Reference numbers for the statistical baselines of `rnn evaluate`, computed with statsforecast.

    python3 -m pip install statsforecast   # 2.x
    python3 tests/forecast/baselines.py    # writes tests/forecast/baselines.json
    python3 tests/forecast/baselines.py --heldout    # tests/forecast/heldout/baselines.json
    python3 tests/forecast/baselines.py --heldout2   # tests/forecast/heldout2/baselines.json

For each bundled series (data/), split like `rnn` (70/15/15 by time: validation and test are
round(n * 0.15) rows, half away from zero; training the rest), and for horizons 1 and one season,
every test origin t (the last known row, from the last validation row to n - 1 - h) is forecast
h steps ahead by models fitted on y[0..=t] (refitted at every origin, as `rnn` does):

- the counterpart of rnn's baseline: `MSTL(season_length=m, trend_forecaster=AutoETS(model="ZZN"))`
  for a season m >= 2, `AutoETS(model="ZZN")` without one;
- the counterpart of rnn's second baseline: `Theta(season_length=m)`, the standard Theta method
  (tests/forecast_baselines.rs checks anofox-forecast's against it);
- for context, the models issue 14 measured: AutoETS, AutoTheta and AutoARIMA with season m, each
  fitted once on training + validation and applied from every origin with `forward` (parameters
  fixed, states updated), the issue's protocol.

RMSE and MAE are over every step of every origin. The season m is the one `rnn` detects on the
training split (tests/forecast_baselines.rs checks that it still does).
"""

import json
import math
import pathlib
import sys
import warnings

import numpy as np
import statsforecast
from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta, Theta
from target import series_set  # the sets of series and their seasons (the one rnn detects)

ROOT = pathlib.Path(__file__).resolve().parents[2]


def sizes(n):
    part = math.floor(n * 0.15 + 0.5)
    return n - 2 * part, part, part


def counterpart(m):
    if m >= 2:
        return MSTL(season_length=m, trend_forecaster=AutoETS(model="ZZN"))
    return AutoETS(model="ZZN")


def rolling(make, y, h):
    tr, va, _ = sizes(len(y))
    out = []
    for t in range(tr + va - 1, len(y) - h):
        fc = make().forecast(y=y[: t + 1], h=h)["mean"]
        out.append([float(v) for v in fc])
    return out


def fixed(make, y, h):
    tr, va, _ = sizes(len(y))
    model = make().fit(y=y[: tr + va])
    return [[float(v) for v in model.forward(y=y[: t + 1], h=h)["mean"]] for t in range(tr + va - 1, len(y) - h)]


def score(y, h, forecasts):
    tr, va, _ = sizes(len(y))
    errs = []
    for o, fc in enumerate(forecasts):
        t = tr + va - 1 + o
        errs.extend(y[t + 1 + k] - fc[k] for k in range(h))
    errs = np.array(errs)
    return {"rmse": float(np.sqrt(np.mean(errs**2))), "mae": float(np.mean(np.abs(errs)))}


def main():
    warnings.filterwarnings("ignore")
    held, series, folder = series_set(sys.argv[1:])
    result = {"statsforecast": statsforecast.__version__, "series": {}}
    for name, m in series.items():
        y = np.loadtxt(folder / name, delimiter=",", skiprows=1, usecols=1)
        entry = {"season": m, "rows": len(y), "horizons": {}}
        for h in sorted({1, m}):
            fc = rolling(lambda: counterpart(m), y, h)
            row = {"origins": len(fc), "counterpart": score(y, h, fc), "counterpart_forecasts": fc}
            theta = rolling(lambda: Theta(season_length=m), y, h)
            row["theta"], row["theta_forecasts"] = score(y, h, theta), theta
            for label, make in [
                ("AutoETS", lambda: AutoETS(season_length=m)),
                ("AutoTheta", lambda: AutoTheta(season_length=m)),
                ("AutoARIMA", lambda: AutoARIMA(season_length=m)),
            ]:
                row[label] = score(y, h, fixed(make, y, h))
            entry["horizons"][str(h)] = row
            print(name, "h =", h, {k: v for k, v in row.items() if not k.endswith("_forecasts")}, file=sys.stderr)
        result["series"][name] = entry
    out = ROOT / "tests" / "forecast" / (held or "") / "baselines.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print("wrote", out, file=sys.stderr)


if __name__ == "__main__":
    main()
