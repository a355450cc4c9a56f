#!/usr/bin/env python3
"""JAX peer: a jit-compiled Elman RNN (tanh), LSTM or GRU (--cell rnn|lstm|gru)
written with jax.lax.scan, one scan per layer for stacked layers, a linear head
(H -> 1) on every step, MSE loss against a random [T, B, 1] target,
jax.value_and_grad and optax.adam(1e-3); the whole training step (forward,
backward, Adam update) is one jitted function with the parameters and optimizer
state donated.

Per layer the input projection x_t W_ih^T + b for all T steps is one GEMM
outside the scan (as cuDNN / PyTorch do); the scan carries the state and does
one [B, H] x [H, G*H] product per step (G = 1, 4, 3 gate blocks). The equations
and the gate order are PyTorch's (torch.nn.RNN / LSTM / GRU):

  rnn : h = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
  lstm: [i, f, g, o] = x W_ih^T + b_ih + h W_hh^T + b_hh
        i, f, o = sigmoid(.), g = tanh(.); c = f*c + i*g; h = o*tanh(c)
  gru : [r, z] = sigmoid(x W_ir,z^T + b_ir,z + h W_hr,z^T + b_hr,z)
        n = tanh(x W_in^T + b_in + r*(h W_hn^T + b_hn)); h = (1-z)*n + z*h

Parameters are initialised like torch.nn (U(-1/sqrt(H), 1/sqrt(H))).

forward_ms  = jitted forward (recurrent layers + head), block_until_ready.
gemm_gflops = jitted jnp.dot of two 1024x1024 float32 matrices.

Threads (set before jax is imported, see common.configure_xla_threads):
  --threads 1: XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
               intra_op_parallelism_threads=1" and the process pinned to one
               CPU (sched_setaffinity); --threads N: pinned to N CPUs.
  The number of threads that actually did work during the GEMM is printed
  to stderr.

Usage: python3 bench/jax_baseline.py [--cell rnn|lstm|gru] [--json] [--threads N] [--quick]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PEER = "jax"


def init_params(cell, h, layers, rng, np, jnp):
    """torch.nn-style parameters: per layer w_ih [G*H, in], w_hh [G*H, H],
    b_ih, b_hh [G*H] (gate blocks in PyTorch's order); head w [1, H], b [1]."""
    g = common.gates(cell)
    bound = 1.0 / np.sqrt(h)

    def uni(*shape):
        return jnp.asarray(rng.uniform(-bound, bound, shape).astype(np.float32))

    params = {"layers": [], "head": {"w": uni(1, h), "b": uni(1)}}
    for layer in range(layers):
        in_l = common.INPUT_SIZE if layer == 0 else h
        params["layers"].append({"w_ih": uni(g * h, in_l), "w_hh": uni(g * h, h),
                                 "b_ih": uni(g * h), "b_hh": uni(g * h)})
    return params


def make_model(cell, jax, jnp):
    """model(params, xs [T, B, I]) -> [T, B, 1] for `cell`, PyTorch's equations."""

    def rnn_layer(lp, xs):
        xw = xs @ lp["w_ih"].T + (lp["b_ih"] + lp["b_hh"])  # [T, B, H], one GEMM
        w_hh_t = lp["w_hh"].T

        def step(h, xw_t):
            hn = jnp.tanh(xw_t + h @ w_hh_t)
            return hn, hn

        h0 = jnp.zeros((xs.shape[1], lp["w_hh"].shape[1]), xs.dtype)
        return jax.lax.scan(step, h0, xw)[1]

    def lstm_layer(lp, xs):
        xw = xs @ lp["w_ih"].T + (lp["b_ih"] + lp["b_hh"])  # [T, B, 4H], one GEMM
        w_hh_t = lp["w_hh"].T

        def step(carry, xw_t):
            h, c = carry
            i, f, g, o = jnp.split(xw_t + h @ w_hh_t, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), h

        hsz = lp["w_hh"].shape[1]
        h0 = jnp.zeros((xs.shape[1], hsz), xs.dtype)
        return jax.lax.scan(step, (h0, h0), xw)[1]

    def gru_layer(lp, xs):
        hsz = lp["w_hh"].shape[1]
        # b_hr, b_hz fold into the input side; b_hn stays inside r * (W_hn h + b_hn).
        b = lp["b_ih"] + jnp.concatenate([lp["b_hh"][:2 * hsz],
                                          jnp.zeros((hsz,), lp["b_hh"].dtype)])
        xw = xs @ lp["w_ih"].T + b  # [T, B, 3H], one GEMM
        w_hh_t = lp["w_hh"].T
        b_hn = lp["b_hh"][2 * hsz:]

        def step(h, xw_t):
            hw = h @ w_hh_t
            r = jax.nn.sigmoid(xw_t[:, :hsz] + hw[:, :hsz])
            z = jax.nn.sigmoid(xw_t[:, hsz:2 * hsz] + hw[:, hsz:2 * hsz])
            n = jnp.tanh(xw_t[:, 2 * hsz:] + r * (hw[:, 2 * hsz:] + b_hn))
            hn = (1.0 - z) * n + z * h
            return hn, hn

        h0 = jnp.zeros((xs.shape[1], hsz), xs.dtype)
        return jax.lax.scan(step, h0, xw)[1]

    layer_fn = {"rnn": rnn_layer, "lstm": lstm_layer, "gru": gru_layer}[cell]

    def model(p, xs):
        for lp in p["layers"]:
            xs = layer_fn(lp, xs)
        return xs @ p["head"]["w"].T + p["head"]["b"]  # [T, B, 1]

    return model


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
        common.skip(PEER, e, args.json, args.threads, args.cell)
    common.log(f"jax {jax.__version__}, cell {args.cell}, "
               f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, cpus={common.available_cpus()}")

    sync = jax.block_until_ready
    ka, kb = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(ka, (common.GEMM_N, common.GEMM_N), jnp.float32)
    b = jax.random.normal(kb, (common.GEMM_N, common.GEMM_N), jnp.float32)
    dot = jax.jit(jnp.dot)
    gemm_gf = common.measure_gemm(lambda: dot(a, b), sync=sync)

    model = make_model(args.cell, jax, jnp)

    for cfg in args.configs:
        h, bsz, t, layers = cfg
        rng = np.random.default_rng(0)
        params = init_params(args.cell, h, layers, rng, np, jnp)
        x = jnp.asarray(rng.standard_normal((t, bsz, common.INPUT_SIZE)).astype(np.float32))
        y = jnp.asarray(rng.standard_normal((t, bsz, 1)).astype(np.float32))

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
        common.emit(common.result_row(PEER, args.cell, cfg, threads, train_s, fwd_s, gemm_gf),
                    args.json)


if __name__ == "__main__":
    main()
