#!/usr/bin/env python3
"""Keras 3 peer on the JAX backend (KERAS_BACKEND=jax): keras.layers.SimpleRNN(H,
return_sequences=True) (--cell rnn), LSTM(H, ...) (--cell lstm) or GRU(H, ...,
reset_after=True) (--cell gru) stacked L times + Dense(1) (applied at every
step), Adam(1e-3), MSE, float32. Keras is batch-major, so x is [B, T, 32] and
the target [B, T, 1].

Keras' LSTM has PyTorch's equations (its gate blocks are stored in the order
i, f, c, o, which does not change the work). Keras' GRU with reset_after=True
(the Keras 3 default) applies the reset gate after the recurrent product, r *
(h W_hn^T + b_hn), as PyTorch does, and h = z*h + (1-z)*n; its gate blocks are
stored z, r, h. Initialisers are Keras' defaults (glorot / orthogonal / zeros,
unit_forget_bias for the LSTM); they do not change the work either.

train step  = model.train_on_batch(x, y) (jit-compiled by Keras; it returns
              the loss as a host value, so it is synchronous), after warm-up.
forward_ms  = jax.jit(model.stateless_call) on the current weights,
              block_until_ready (lower overhead than predict_on_batch).
gemm_gflops = jitted jnp.dot of two 1024x1024 float32 matrices.

Threads: exactly as jax_baseline.py (XLA_FLAGS + CPU affinity set before keras
/ jax are imported; see common.configure_xla_threads).

Usage: python3 bench/keras_baseline.py [--cell rnn|lstm|gru] [--json] [--threads N] [--quick]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PEER = "keras_jax"


def make_layer(keras, cell, hidden):
    if cell == "lstm":
        return keras.layers.LSTM(hidden, return_sequences=True)
    if cell == "gru":
        return keras.layers.GRU(hidden, return_sequences=True, reset_after=True)
    return keras.layers.SimpleRNN(hidden, return_sequences=True)


def main():
    args = common.parse_args(__doc__.splitlines()[0])
    threads = common.configure_xla_threads(args.threads)
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import jax
        import jax.numpy as jnp
        import keras
        import numpy as np
    except Exception as e:  # noqa: BLE001
        common.skip(PEER, e, args.json, args.threads, args.cell)
    if keras.backend.backend() != "jax":
        common.skip(PEER, RuntimeError(f"keras backend is {keras.backend.backend()}"),
                    args.json, args.threads, args.cell)
    common.log(f"keras {keras.__version__} (backend {keras.backend.backend()}), "
               f"cell {args.cell}, "
               f"jax {jax.__version__}, XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, "
               f"cpus={common.available_cpus()}")
    keras.utils.set_random_seed(0)

    sync = jax.block_until_ready
    ka, kb = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(ka, (common.GEMM_N, common.GEMM_N), jnp.float32)
    b = jax.random.normal(kb, (common.GEMM_N, common.GEMM_N), jnp.float32)
    dot = jax.jit(jnp.dot)
    gemm_gf = common.measure_gemm(lambda: dot(a, b), sync=sync)

    for cfg in args.configs:
        h, bsz, t, layers = cfg
        rng = np.random.default_rng(0)
        x = rng.standard_normal((bsz, t, common.INPUT_SIZE)).astype(np.float32)
        y = rng.standard_normal((bsz, t, 1)).astype(np.float32)

        inputs = keras.Input(shape=(t, common.INPUT_SIZE), batch_size=bsz)
        z = inputs
        for _ in range(layers):
            z = make_layer(keras, args.cell, h)(z)
        outputs = keras.layers.Dense(1)(z)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")

        def train_step():
            return model.train_on_batch(x, y)

        model.train_on_batch(x, y)  # compile
        train_s = common.measure(train_step, args)

        fwd_jit = jax.jit(lambda tv, ntv, xs: model.stateless_call(tv, ntv, xs,
                                                                   training=False)[0])
        tv = [v.value for v in model.trainable_variables]
        ntv = [v.value for v in model.non_trainable_variables]
        xj = jnp.asarray(x)

        def forward():
            return fwd_jit(tv, ntv, xj)

        sync(forward())  # compile
        fwd_s = common.measure(forward, args, sync=sync)
        common.emit(common.result_row(PEER, args.cell, cfg, threads, train_s, fwd_s, gemm_gf),
                    args.json)


if __name__ == "__main__":
    main()
