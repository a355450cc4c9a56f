#!/usr/bin/env python3
"""JAX peer: a jit-compiled Elman RNN (tanh) written with jax.lax.scan, one
scan per layer for stacked layers, a linear head (H -> 1) on every step, MSE
loss against a random [T, B, 1] target, jax.value_and_grad and
optax.adam(1e-3); the whole training step (forward, backward, Adam update) is
one jitted function with the parameters and optimizer state donated.

Per layer the input projection x_t W_ih^T + b for all T steps is one GEMM
outside the scan (as cuDNN / PyTorch do); the scan carries h and computes
h_t = tanh(xw_t + h_{t-1} W_hh^T). Parameters are initialised like
torch.nn.RNN (U(-1/sqrt(H), 1/sqrt(H))).

forward_ms  = jitted forward (RNN + head), block_until_ready.
gemm_gflops = jitted jnp.dot of two 1024x1024 float32 matrices.

Threads (set before jax is imported, see common.configure_xla_threads):
  --threads 1: XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
               intra_op_parallelism_threads=1" and the process pinned to one
               CPU (sched_setaffinity); --threads N: pinned to N CPUs.
  The number of threads that actually did work during the GEMM is printed
  to stderr.

Usage: python3 bench/jax_baseline.py [--json] [--threads N] [--quick]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PEER = "jax"


def main():
    args = common.parse_args(__doc__.splitlines()[0])
    threads = common.configure_xla_threads(args.threads)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import jax
        import jax.numpy as jnp
        import numpy as np
        import optax
    except Exception as e:  # noqa: BLE001
        common.skip(PEER, e, args.json, args.threads)
    common.log(f"jax {jax.__version__}, XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, "
               f"cpus={common.available_cpus()}")

    sync = jax.block_until_ready
    ka, kb = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(ka, (common.GEMM_N, common.GEMM_N), jnp.float32)
    b = jax.random.normal(kb, (common.GEMM_N, common.GEMM_N), jnp.float32)
    dot = jax.jit(jnp.dot)
    gemm_gf = common.measure_gemm(lambda: dot(a, b), sync=sync)

    for cfg in args.configs:
        h, bsz, t, layers = cfg
        rng = np.random.default_rng(0)
        bound = 1.0 / np.sqrt(h)

        def uni(*shape):
            return jnp.asarray(rng.uniform(-bound, bound, shape).astype(np.float32))

        params = {"layers": [], "head": {"w": uni(1, h), "b": uni(1)}}
        for layer in range(layers):
            in_l = common.INPUT_SIZE if layer == 0 else h
            params["layers"].append({"w_ih": uni(h, in_l), "w_hh": uni(h, h),
                                     "b_ih": uni(h), "b_hh": uni(h)})
        x = jnp.asarray(rng.standard_normal((t, bsz, common.INPUT_SIZE)).astype(np.float32))
        y = jnp.asarray(rng.standard_normal((t, bsz, 1)).astype(np.float32))

        def model(p, xs):
            for lp in p["layers"]:
                xw = xs @ lp["w_ih"].T + (lp["b_ih"] + lp["b_hh"])  # [T, B, H]
                w_hh_t = lp["w_hh"].T

                def cell(hc, xw_t, w_hh_t=w_hh_t):
                    hn = jnp.tanh(xw_t + hc @ w_hh_t)
                    return hn, hn

                h0 = jnp.zeros((xs.shape[1], lp["w_hh"].shape[0]), xs.dtype)
                _, xs = jax.lax.scan(cell, h0, xw)
            return xs @ p["head"]["w"].T + p["head"]["b"]  # [T, B, 1]

        def loss_fn(p, xs, ys):
            return jnp.mean((model(p, xs) - ys) ** 2)

        tx = optax.adam(1e-3)
        opt_state = tx.init(params)

        def step(p, s, xs, ys):
            loss, grads = jax.value_and_grad(loss_fn)(p, xs, ys)
            updates, s = tx.update(grads, s, p)
            return optax.apply_updates(p, updates), s, loss

        step_jit = jax.jit(step, donate_argnums=(0, 1))
        fwd_jit = jax.jit(model)

        state = {"p": params, "s": opt_state}

        def train_step():
            state["p"], state["s"], loss = step_jit(state["p"], state["s"], x, y)
            return loss

        def forward():
            return fwd_jit(state["p"], x)

        sync(train_step())  # compile
        sync(forward())     # compile
        train_s = common.measure(train_step, args, sync=sync)
        fwd_s = common.measure(forward, args, sync=sync)
        common.emit(common.result_row(PEER, cfg, threads, train_s, fwd_s, gemm_gf), args.json)


if __name__ == "__main__":
    main()
