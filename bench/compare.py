#!/usr/bin/env python3
"""Collects and compares the JSON lines of `rnn bench --json` and the peers.

  compare.py meta --command CMD            -> one {"meta": {...}} line (machine, date, versions)
  compare.py collect --peer P --threads T [--cell C] --rc RC --stdout F --stderr F
                                           -> the JSON lines of one run, tagged with "peer"
                                              (and "threads" / "cell" if missing); a "skipped"
                                              line if the run failed or printed nothing
  compare.py report RESULTS.jsonl          -> the comparison tables (Markdown), one set per
                                              cell (rnn, lstm, gru); a line without a "cell"
                                              key counts as rnn (older result files)

Ratios are always "> 1 means ours is faster": train_seq_per_s ours / best
peer; forward_ms and stream_step_us best peer / ours.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

OURS = "rnn"
TRAIN_PEERS = ["pytorch", "jax", "keras_jax"]
STREAM_PEERS = ["pytorch_rnncell", "onnxruntime"]
LABELS = {OURS: "ours (rnn)", "pytorch": "PyTorch", "jax": "JAX", "keras_jax": "Keras-JAX",
          "pytorch_rnncell": "PyTorch RNNCell", "onnxruntime": "ONNX Runtime"}
CONFIG_ORDER = [(32, 1, 100, 1), (128, 32, 64, 2), (512, 64, 64, 2), (1024, 16, 32, 1)]
CELL_ORDER = ["rnn", "lstm", "gru"]
CELL_TITLE = {"rnn": "Elman RNN (tanh)", "lstm": "LSTM", "gru": "GRU"}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# The streaming PyTorch peer keeps the name "pytorch_rnncell" for every cell.
STREAM_CELL_LABEL = {"rnn": "PyTorch RNNCell", "lstm": "PyTorch LSTMCell",
                     "gru": "PyTorch GRUCell"}


# ----------------------------------------------------------------------------- meta
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cmd_out(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


def meta(args):
    from importlib import metadata
    versions = {"python": platform.python_version()}
    for pkg in ["torch", "jax", "jaxlib", "optax", "keras", "onnx", "onnxruntime", "numpy"]:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    versions["rustc"] = cmd_out(["rustc", "--version"]) or None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    now = datetime.datetime.now().astimezone()
    m = {
        "date": now.strftime("%Y-%m-%d"),
        "time": now.isoformat(timespec="seconds"),
        "command": args.command,
        "nproc": int(cmd_out(["nproc"]) or os.cpu_count() or 0),
        "cpu_count": os.cpu_count(),
        "affinity_cpus": affinity,
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "git": cmd_out(["git", "rev-parse", "--short", "HEAD"]) or None,
        # the results this run is writing do not make the tree dirty
        "git_dirty": bool(cmd_out(["git", "status", "--porcelain", "--untracked-files=no",
                                   "--", ".", ":!bench/results"])),
        "versions": versions,
    }
    print(json.dumps({"meta": m}))


# -------------------------------------------------------------------------- collect
def collect(args):
    rows = []
    with open(args.stdout, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(row, dict):
                continue
            row.setdefault("peer", args.peer)
            if args.cell and not row.get("cell"):
                row["cell"] = args.cell
            if row.get("threads") is None:
                row["threads"] = args.threads
            rows.append(row)
    for row in rows:
        print(json.dumps(row))
    if args.rc != 0 or not rows:
        try:
            with open(args.stderr, errors="replace") as f:
                tail = [ln.strip() for ln in f if ln.strip()]
        except OSError:
            tail = []
        why = tail[-1] if tail else "no output"
        if args.rc == 124:
            why = "timed out; " + why
        skip = {"peer": args.peer, "threads": args.threads,
                "skipped": f"exit {args.rc}, {len(rows)} rows: {why}"[:300]}
        if args.cell:
            skip["cell"] = args.cell
        print(json.dumps(skip))


# --------------------------------------------------------------------------- report
def fmt_rate(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ms(v):
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def load_results(path):
    """(metas, rows, skipped) of a results file; a line without "cell" is an Elman line."""
    metas, rows, skipped = [], [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(r, dict):
                continue
            if "meta" in r:
                metas.append(r["meta"])
                continue
            if not r.get("cell"):
                r["cell"] = "rnn"
            if "skipped" in r:
                skipped.append(r)
            else:
                rows.append(r)
    return metas, rows, skipped


def report(args):
    metas, rows, skipped = load_results(args.results)
    threads = sorted({r["threads"] for r in rows if isinstance(r.get("threads"), int)})
    present = {r["cell"] for r in rows} | {s["cell"] for s in skipped}
    cells = [c for c in CELL_ORDER if c in present] + sorted(present - set(CELL_ORDER))

    out = []
    m = metas[-1] if metas else {}
    out.append("# rnn CPU benchmark: ours vs peers")
    out.append("")
    if m:
        v = m.get("versions", {})
        vs = ", ".join(f"{k} {val}" for k, val in v.items() if val)
        out.append(f"- Date: {m.get('date')} ({m.get('time')})")
        out.append(f"- Machine: {m.get('nproc')} cores (nproc), CPU: {m.get('cpu_model')}, "
                   f"Linux {m.get('kernel')}")
        out.append(f"- Command: `{m.get('command')}`")
        git = m.get("git")
        if git:
            out.append(f"- Commit: {git}{' (dirty tree)' if m.get('git_dirty') else ''}")
        out.append(f"- Versions: {vs}")
    out.append(f"- Cells: {', '.join(cells) or '-'}")
    out.append(f"- Thread settings: {', '.join(map(str, threads)) or '-'}; "
               "tN = N threads. Ratios > 1 mean ours is faster.")
    out.append("")
    for cell in cells:
        cell_section(out, cell, [r for r in rows if r["cell"] == cell],
                     [s for s in skipped if s["cell"] == cell], threads)
    print("\n".join(out).rstrip())


def cell_section(out, cell, rows, skipped, threads):
    """The tables of one cell (appended to `out`)."""
    cfg_rows = [r for r in rows if "train_seq_per_s" in r]
    stream_rows = [r for r in rows if "stream_step_us" in r]
    peers_present = {r["peer"] for r in rows}
    labels = dict(LABELS)
    labels["pytorch_rnncell"] = STREAM_CELL_LABEL.get(cell, f"PyTorch {cell} cell")
    gates = GATES.get(cell)

    out.append(f"## {CELL_TITLE.get(cell, cell)} (`--cell {cell}`)")
    out.append("")

    def key(r):
        return (r["hidden_size"], r["batch"], r["seq_len"], r["num_layers"])

    configs = [c for c in CONFIG_ORDER if any(key(r) == c for r in cfg_rows)]
    configs += sorted({key(r) for r in cfg_rows} - set(configs))

    def get(peer, cfg, t, field):
        vals = [r[field] for r in cfg_rows
                if r["peer"] == peer and key(r) == cfg and r.get("threads") == t
                and r.get(field) is not None]
        return vals[-1] if vals else None

    def best(peer, cfg, field, higher):
        cands = [(get(peer, cfg, t, field), t) for t in threads]
        cands = [c for c in cands if c[0] is not None]
        if not cands:
            return None, None
        return (max if higher else min)(cands, key=lambda c: c[0])

    def best_peer(cfg, field, higher, peers):
        cands = []
        for p in peers:
            v, t = best(p, cfg, field, higher)
            if v is not None:
                cands.append((v, p, t))
        if not cands:
            return None
        return (max if higher else min)(cands, key=lambda c: c[0])

    train_peers = [p for p in TRAIN_PEERS if p in peers_present]
    if configs:
        def metric_table(title, key, higher, fmt, ratio_label):
            """One table: ours (best thread setting) vs every peer at each thread setting."""
            out.append(title)
            out.append("")
            header = ["H, B, T, L", "ours (best)"]
            for p in train_peers:
                header += [f"{labels[p]} t{t}" for t in threads]
            header += ["best peer", ratio_label]
            body = []
            for cfg in configs:
                ov, ot = best(OURS, cfg, key, higher)
                row = [", ".join(map(str, cfg)), f"{fmt(ov)} (t{ot})" if ov is not None else "-"]
                for p in train_peers:
                    row += [fmt(get(p, cfg, t, key)) for t in threads]
                bp = best_peer(cfg, key, higher, train_peers)
                row.append(f"{labels[bp[1]]} t{bp[2]}: {fmt(bp[0])}" if bp else "-")
                ratio = (ov / bp[0] if higher else bp[0] / ov) if (bp and ov) else None
                row.append(f"{ratio:.2f}x" if ratio is not None else "-")
                body.append(row)
            out.append(table(header, body))
            out.append("")

        metric_table("### Training throughput (sequences/s, higher is better)", "train_seq_per_s",
                     True, fmt_rate, "ours / best peer")
        metric_table("### Inference forward pass (ms, lower is better)", "forward_ms", False,
                     fmt_ms, "best peer / ours")

        out.append("### Training GFLOP/s (at each one's best thread setting) and GEMM rate")
        out.append("")
        g_note = f" with {gates} gate block{'s' if gates != 1 else ''} per layer" if gates else ""
        out.append(f"FLOPs per training step = 3 x forward GEMM FLOPs{g_note} "
                   "(see bench/flops.py); GEMM = 1024x1024 float32 matmul measured in the same process.")
        out.append("")
        everyone = ([OURS] if OURS in peers_present else []) + train_peers
        header = ["H, B, T, L"] + [labels[p] for p in everyone]
        body = []
        for cfg in configs:
            row = [", ".join(map(str, cfg))]
            for p in everyone:
                sv, st = best(p, cfg, "train_seq_per_s", True)
                g = get(p, cfg, st, "train_gflops") if sv is not None else None
                row.append(f"{g:.1f} (t{st})" if g is not None else "-")
            body.append(row)
        gemm = ["GEMM 1024^3"]
        for p in everyone:
            parts = []
            for t in threads:
                vals = [r["gemm_gflops"] for r in cfg_rows if r["peer"] == p
                        and r.get("threads") == t and r.get("gemm_gflops") is not None]
                if vals:
                    parts.append(f"t{t} {max(vals):.0f}")
            gemm.append(", ".join(parts) or "-")
        body.append(gemm)
        out.append(table(header, body))
        out.append("")

    ours_rows = [r for r in cfg_rows if r["peer"] == OURS and r.get("peak_mb") is not None]
    if ours_rows:
        out.append("### Ours alone: forward rate against the GEMM, peak memory of a training step")
        out.append("")
        out.append("Forward GFLOP/s (by `rnn::Predictor`, the recurrent weights packed once) over "
                   "the GEMM GFLOP/s the same process measured, and the time of a one-off "
                   "`Model::forward` (which packs them in the call); peak heap of one training "
                   "step (a counting allocator) over what it must hold (hidden states, input, and "
                   "per parameter its value, gradient and Adam's two moments).")
        out.append("")
        header = ["H, B, T, L", "threads", "forward GFLOP/s", "GEMM GFLOP/s", "forward / GEMM",
                  "Model::forward ms", "peak MB", "needed MB", "peak / needed"]
        body = []
        for cfg in configs:
            for t in threads:
                g = lambda f: get(OURS, cfg, t, f)  # noqa: E731
                if g("peak_mb") is None:
                    continue
                fwd, gemm_rate = g("forward_gflops"), g("gemm_gflops")
                frac = f"{100 * fwd / gemm_rate:.0f}%" if fwd and gemm_rate else "-"
                need = g("required_mb")
                body.append([", ".join(map(str, cfg)), str(t),
                             f"{fwd:.1f}" if fwd else "-",
                             f"{gemm_rate:.0f}" if gemm_rate else "-", frac,
                             fmt_ms(g("forward_model_ms")) if g("forward_model_ms") else "-",
                             f"{g('peak_mb'):.2f}", f"{need:.2f}" if need else "-",
                             f"{g('peak_mb') / need:.2f}x" if need else "-"])
        out.append(table(header, body))
        out.append("")

    if stream_rows:
        out.append("### Streaming step, H=128, input 32, batch 1 (us per step, lower is better)")
        out.append("")
        speers = [p for p in [OURS] + STREAM_PEERS if any(r["peer"] == p for r in stream_rows)]
        speers += sorted({r["peer"] for r in stream_rows} - set(speers))

        def sget(p, t):
            vals = [r["stream_step_us"] for r in stream_rows
                    if r["peer"] == p and r.get("threads") == t]
            return vals[-1] if vals else None

        bests = {}
        for p in speers:
            ok = [(sget(p, t), t) for t in threads if sget(p, t) is not None]
            bests[p] = min(ok) if ok else None
        # Ratio columns: each reference peer's best time over this row's best time
        # (> 1 = this row is faster than the reference).
        refs = [p for p in STREAM_PEERS[::-1] if bests.get(p)]  # ONNX Runtime, then PyTorch
        header = (["peer"] + [f"t{t}" for t in threads] + ["best"]
                  + [f"{labels.get(p, p)} / this" for p in refs])
        body = []
        for p in speers:
            b = bests[p]
            row = [labels.get(p, p)]
            row += [f"{sget(p, t):.2f}" if sget(p, t) is not None else "-" for t in threads]
            row.append(f"{b[0]:.2f} (t{b[1]})" if b else "-")
            for ref in refs:
                row.append(f"{bests[ref][0] / b[0]:.2f}x" if b else "-")
            body.append(row)
        out.append(table(header, body))
        peer_b = [(bests[p][0], p, bests[p][1]) for p in speers if p != OURS and bests.get(p)]
        if peer_b and bests.get(OURS):
            bv, bp, bt = min(peer_b)
            out.append("")
            out.append(f"Best peer: {labels.get(bp, bp)} t{bt} {bv:.2f} us; ours "
                       f"{bests[OURS][0]:.2f} us (t{bests[OURS][1]}); best peer / ours = "
                       f"{bv / bests[OURS][0]:.2f}x")
        out.append("")

    if skipped:
        out.append("### Skipped")
        out.append("")
        for s in skipped:
            out.append(f"- {labels.get(s['peer'], s['peer'])} (threads {s.get('threads')}): "
                       f"{s['skipped']}")
        out.append("")
    if OURS not in peers_present:
        out.append(f"(no {cell} results from `rnn bench`; ours columns are empty)")
        out.append("")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pm = sub.add_parser("meta")
    pm.add_argument("--command", default="bash bench/compare.sh")
    pc = sub.add_parser("collect")
    pc.add_argument("--peer", required=True)
    pc.add_argument("--threads", type=int, required=True)
    pc.add_argument("--rc", type=int, required=True)
    pc.add_argument("--cell", default=None,
                    help="tag lines without a \"cell\" key (and a skipped line) with this cell")
    pc.add_argument("--stdout", required=True)
    pc.add_argument("--stderr", required=True)
    pr = sub.add_parser("report")
    pr.add_argument("results")
    args = p.parse_args()
    {"meta": meta, "collect": collect, "report": report}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
