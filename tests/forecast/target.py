#!/usr/bin/env python3
"""Issue 14's target, measured: the geometric mean over the bundled series of
RMSE(rnn) / RMSE(best of statsforecast's AutoETS, AutoTheta, AutoARIMA), at h = 1 and at h = one
season (sunspots 11, airline 12, nottem 12, lynx 10), with the task's defaults:

    rnn train --task forecast --data data/X.csv [--horizon H] --out M.safetensors --threads 1
    rnn evaluate --model M.safetensors --data data/X.csv --json

and the same with --no-combine (the network alone). The statsforecast figures are those of
tests/forecast/baselines.json (written by tests/forecast/baselines.py) on the same test origins.

    cargo build --release && python3 tests/forecast/target.py [OUT_DIR] [--skip-alone] [--heldout] [-- extra train flags]

(--skip-alone: not the --no-combine runs, half the time; their column is then empty.
--heldout: the series held aside in tests/forecast/heldout/ instead, against its baselines.json;
for a series without a season (m = 1) only h = 1 is measured. --heldout2: the second set held
aside, tests/forecast/heldout2/.
--refit: `rnn evaluate --refit`, the networks trained again on training + validation before the
test split is scored, as the statsforecast models are fitted.
--reuse: models already in OUT_DIR are evaluated again, not retrained.)
"""

import json
import math
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
RNN = pathlib.Path(__import__("os").environ.get("RNN", ROOT / "target" / "release" / "rnn"))
SERIES = {"sunspots_yearly.csv": 11, "airline_passengers.csv": 12, "nottem.csv": 12, "lynx.csv": 10}
HELDOUT = {"nile.csv": 1, "seattle_temp_max.csv": 1, "co2.csv": 12, "uk_driver_deaths.csv": 12, "uk_gas.csv": 4}
HELDOUT2 = {"austres.csv": 4, "discoveries.csv": 1, "johnson_johnson.csv": 4, "lake_huron.csv": 1}
FOLDER = ROOT / "data"
SETS = {None: SERIES, "heldout": HELDOUT, "heldout2": HELDOUT2}


def series_set(args):
    """The set of series the flags name (none: the bundled ones; `--heldout`, `--heldout2`):
    its name (None for the bundled), its series and seasons, its folder."""
    held = next((a[2:] for a in args if a in ("--heldout", "--heldout2")), None)
    return held, SETS[held], ROOT / "tests" / "forecast" / held if held else ROOT / "data"


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


REFIT, REUSE = False, False


def measure(out, name, h, extra):
    model = out / f"{pathlib.Path(name).stem}.h{h}{'.alone' if '--no-combine' in extra else ''}.safetensors"
    data = str(FOLDER / name)
    cmd = [str(RNN), "train", "--task", "forecast", "--data", data, "--out", str(model), "--threads", "1", "--quiet"]
    if h > 1:
        cmd += ["--horizon", str(h)]
    if not (REUSE and model.exists()):
        run(cmd + extra)
    evaluate = [str(RNN), "evaluate", "--model", str(model), "--data", data, "--json", "--threads", "1"]
    return json.loads(run(evaluate + (["--refit"] if REFIT else [])))


def main():
    args = sys.argv[1:]
    extra = args[args.index("--") + 1 :] if "--" in args else []
    args = args[: args.index("--")] if "--" in args else args
    global FOLDER, REFIT, REUSE
    skip_alone = "--skip-alone" in args
    REFIT, REUSE = "--refit" in args, "--reuse" in args
    held, series, FOLDER = series_set(args)
    args = [a for a in args if a not in ("--skip-alone", "--heldout", "--heldout2", "--refit", "--reuse")]
    out = pathlib.Path(args[0]) if args else pathlib.Path(tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    baselines = ROOT / "tests" / "forecast" / (held or "") / "baselines.json"
    ref = json.loads(baselines.read_text())["series"]
    print("| series | h | model RMSE / MASE | network alone | statsforecast best RMSE / MASE | ratio (alone) |")
    print("|---|---:|---|---|---|---|")
    logs = {}
    for h_of in ("1", "season"):
        ratios, alone = [], []
        for name, m in series.items():
            h = 1 if h_of == "1" else m
            if h_of == "season" and m == 1:
                continue
            ev = measure(out, name, h, extra)
            ev_alone = ev if skip_alone else measure(out, name, h, extra + ["--no-combine"])
            row = ref[name]["horizons"][str(h)]
            best = min(("AutoETS", "AutoTheta", "AutoARIMA"), key=lambda k: row[k]["rmse"])
            # MASE of statsforecast: its MAE over the same scale as the model's
            scale = ev["model"]["mae"] / ev["model"]["mase"]
            r, ra = ev["model"]["rmse"] / row[best]["rmse"], ev_alone["model"]["rmse"] / row[best]["rmse"]
            ratios.append(r)
            alone.append(ra)
            print(
                f"| {name} | {h} | {ev['model']['rmse']:.4g} / {ev['model']['mase']:.3f} | "
                + ("- | " if skip_alone else f"{ev_alone['model']['rmse']:.4g} / {ev_alone['model']['mase']:.3f} | ")
                + f"{row[best]['rmse']:.4g} / {row[best]['mae'] / scale:.3f} ({best}) | {r:.2f} ({ra:.2f}) |",
                flush=True,
            )
            logs[f"{name} h={h}"] = {"model": ev, "alone": ev_alone}
        g = math.exp(sum(map(math.log, ratios)) / len(ratios))
        ga = math.exp(sum(map(math.log, alone)) / len(alone))
        print(f"geometric mean at h = {h_of}: {g:.3f}" + ("" if skip_alone else f" (network alone {ga:.3f})"), flush=True)
    (out / "target.json").write_text(json.dumps(logs, indent=1))


if __name__ == "__main__":
    main()
