"""Shared helpers for the Python benchmark peers (no heavy imports here).

Everything a peer needs besides its framework: the configuration list, the
command line, thread pinning for XLA, the adaptive timing loop, the JSON /
table output and the "skipped" line for peers that cannot be imported.
"""

import argparse
import json
import os
import statistics
import sys
import time

from flops import (CELLS, GEMM_N, INPUT_SIZE, forward_flops, gates, gemm_flops,  # noqa: F401
                   train_flops)

# (hidden_size, batch, seq_len, num_layers); input_size is always 32.
CONFIGS = [
    (32, 1, 100, 1),
    (128, 32, 64, 2),
    (512, 64, 64, 2),
    (1024, 16, 32, 1),
]

STREAM_HIDDEN = 128
STREAM_INPUT = 32

KEYS = ["cell", "hidden_size", "batch", "seq_len", "num_layers", "input_size", "threads",
        "train_seq_per_s", "train_step_ms", "forward_ms", "train_gflops", "gemm_gflops"]


def parse_args(description, stream=False):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--cell", choices=CELLS, default="rnn",
                   help="recurrent cell: rnn (Elman, tanh), lstm or gru (default: rnn)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per line instead of a table")
    p.add_argument("--threads", type=int, default=None,
                   help="number of compute threads / cores (default: framework default)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before measuring")
    p.add_argument("--min-time", type=float, default=1.0,
                   help="stop measuring a quantity after this many seconds ...")
    p.add_argument("--max-steps", type=int, default=20, help="... or after this many steps")
    p.add_argument("--min-steps", type=int, default=3, help="but never fewer steps than this")
    p.add_argument("--config", action="append", default=None, metavar="H,B,T,L",
                   help="run only this configuration (repeatable; ignored by streaming-only peers)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 warm-up step, 0.2 s / 5 steps per measurement")
    args = p.parse_args()
    if args.quick:
        args.warmup, args.min_time, args.max_steps, args.min_steps = 1, 0.2, 5, 2
    if not stream:
        if args.config:
            args.configs = [tuple(int(v) for v in c.split(",")) for c in args.config]
        else:
            args.configs = list(CONFIGS)
    return args


def available_cpus():
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def configure_xla_threads(threads):
    """Must run BEFORE jax (or keras with the jax backend) is imported.

    XLA:CPU has no "number of intra-op threads" option. What we do:
      * threads == 1: XLA_FLAGS += --xla_cpu_multi_thread_eigen=false
        intra_op_parallelism_threads=1 (the second token has no leading "--",
        so XLA ignores it silently; it is kept because it is the commonly
        quoted recipe), AND the process is pinned to one CPU with
        sched_setaffinity. Without the pinning XLA still runs its thunks on
        several pool threads (about one core's worth of CPU time in total).
      * threads == N > 1: pin the process to the first N CPUs it may use.
        XLA sizes its thread pools from the affinity mask (verified: 17
        threads unpinned vs 13 pinned on this 2-core VM, and only one thread
        accumulates CPU time during a GEMM when pinned to one CPU).
    Returns the effective thread count to report.
    """
    cpus = available_cpus()
    if threads is None:
        return len(cpus)
    n = max(1, min(threads, len(cpus)))
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        extra = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = (flags + " " + extra).strip()
    if hasattr(os, "sched_setaffinity") and n < len(cpus):
        os.sched_setaffinity(0, set(cpus[:n]))
    return n


def thread_cpu_ticks():
    """{tid: utime+stime clock ticks} for every thread of this process (Linux)."""
    out = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[tid] = int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return out


def busy_threads(before, after, min_share=0.1):
    """Number of threads that did at least min_share of the busiest thread's work."""
    deltas = sorted((after[k] - before.get(k, 0) for k in after), reverse=True)
    deltas = [d for d in deltas if d > 0]
    if not deltas:
        return 0, []
    return sum(1 for d in deltas if d >= min_share * deltas[0]), deltas[:6]


def measure(fn, args, sync=None):
    """Median seconds of fn() after args.warmup untimed calls.

    Repeats until args.min_time seconds have been spent OR args.max_steps calls
    were made, but at least args.min_steps calls. `sync(result)` (e.g.
    block_until_ready) is called inside the timed region.
    """
    for _ in range(args.warmup):
        r = fn()
        if sync is not None:
            sync(r)
    times = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        r = fn()
        if sync is not None:
            sync(r)
        times.append(time.perf_counter() - t0)
        n = len(times)
        if n >= args.min_steps and (time.perf_counter() - start >= args.min_time
                                    or n >= args.max_steps):
            break
    return statistics.median(times)


def measure_gemm(fn, sync=None, min_time=0.5, max_reps=50):
    """Median GFLOP/s of fn() = one GEMM_N x GEMM_N product; also reports to
    stderr how many threads were busy (the thread-setting check)."""
    for _ in range(3):
        r = fn()
        if sync is not None:
            sync(r)
    before = thread_cpu_ticks()
    times = []
    start = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < min_time and len(times) < max_reps):
        t0 = time.perf_counter()
        r = fn()
        if sync is not None:
            sync(r)
        times.append(time.perf_counter() - t0)
    wall = time.perf_counter() - start
    nbusy, ticks = busy_threads(before, thread_cpu_ticks())
    gf = gemm_flops() / statistics.median(times) / 1e9
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    log(f"gemm {gf:.1f} GFLOP/s; busy threads during GEMM: {nbusy} "
        f"(top per-thread CPU s: {[round(t / hz, 2) for t in ticks]}, wall {wall:.2f} s)")
    return gf


def measure_stream(step, args, block=200):
    """Median per-call seconds of step(), timed in blocks of `block` calls
    (a single call is too short for perf_counter to time on its own)."""
    for _ in range(max(args.warmup, 1) * block):
        step()
    per_call = []
    start = time.perf_counter()
    max_blocks = max(args.max_steps, 20)
    while True:
        t0 = time.perf_counter()
        for _ in range(block):
            step()
        per_call.append((time.perf_counter() - t0) / block)
        n = len(per_call)
        if n >= max(args.min_steps, 5) and (time.perf_counter() - start >= args.min_time
                                            or n >= max_blocks):
            break
    return statistics.median(per_call)


def result_row(peer, cell, cfg, threads, train_s, forward_s, gemm_gf):
    h, b, t, l = cfg
    return {
        "peer": peer, "cell": cell,
        "hidden_size": h, "batch": b, "seq_len": t, "num_layers": l,
        "input_size": INPUT_SIZE, "threads": threads,
        "train_seq_per_s": b / train_s,
        "train_step_ms": train_s * 1e3,
        "forward_ms": forward_s * 1e3,
        "train_gflops": train_flops(h, b, t, l, cell) / train_s / 1e9,
        "gemm_gflops": gemm_gf,
    }


def stream_row(peer, cell, threads, step_s):
    return {"peer": peer, "cell": cell, "stream_step_us": step_s * 1e6,
            "hidden_size": STREAM_HIDDEN, "input_size": STREAM_INPUT, "threads": threads}


def emit(row, as_json):
    if as_json:
        print(json.dumps(row), flush=True)
        return
    if "stream_step_us" in row:
        print(f"{row['peer']:>16}  {row.get('cell', 'rnn'):<4}  streaming step "
              f"H={row['hidden_size']} I={row['input_size']}  threads={row['threads']}: "
              f"{row['stream_step_us']:.2f} us", flush=True)
        return
    if "skipped" in row:
        print(f"{row['peer']:>16}  {row.get('cell') or '':<4}  skipped: {row['skipped']}",
              flush=True)
        return
    print(f"{row['peer']:>16}  {row.get('cell', 'rnn'):<4}  H={row['hidden_size']:<5d} "
          f"B={row['batch']:<3d} T={row['seq_len']:<4d} L={row['num_layers']}  "
          f"thr={row['threads']}  "
          f"train {row['train_seq_per_s']:10.1f} seq/s {row['train_step_ms']:9.3f} ms "
          f"{row['train_gflops']:7.2f} GFLOP/s | fwd {row['forward_ms']:9.3f} ms | "
          f"gemm {row['gemm_gflops']:6.1f} GFLOP/s", flush=True)


def skip(peer, exc, as_json, threads=None, cell=None):
    """Report a peer whose framework cannot be imported (or that does not support
    `cell`); exits with status 0."""
    row = {"peer": peer, "threads": threads, "skipped": f"{type(exc).__name__}: {exc}"}
    if cell is not None:
        row["cell"] = cell
    emit(row, as_json)
    sys.exit(0)


def log(msg):
    print(f"[{os.path.basename(sys.argv[0])}] {msg}", file=sys.stderr, flush=True)
