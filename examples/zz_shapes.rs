//! GFLOP/s of `kernels::matmul` at the products of an LSTM training step (H = 512, batch 64,
//! 64 steps, 2 layers, input 32), at the pool size `RNN_NUM_THREADS` sets: `gemm_shapes`.
use std::time::Duration;

use ndarray::Array2;
use rnn::bench::median_secs;
use rnn::kernels::matmul;

fn rate(name: &str, m: usize, k: usize, n: usize, trans_a: bool) {
    let a = if trans_a { Array2::<f32>::from_elem((k, m), 0.5) } else { Array2::<f32>::from_elem((m, k), 0.5) };
    let b = Array2::<f32>::from_elem((k, n), 0.25);
    let mut c = Array2::<f32>::zeros((m, n));
    let t = median_secs(
        || {
            let av = if trans_a { a.t() } else { a.view() };
            matmul(&av, &b.view(), &mut c.view_mut(), false)
        },
        2,
        10,
        100_000,
        Duration::from_millis(400),
    );
    let t_mm = median_secs(
        || {
            let av = if trans_a { a.t() } else { a.view() };
            ndarray::linalg::general_mat_mul(1.0, &av, &b, 0.0, &mut c)
        },
        2,
        10,
        100_000,
        Duration::from_millis(400),
    );
    let flops = 2.0 * (m * k * n) as f64;
    println!(
        "{name:>28} {m:>5}x{k:>5}x{n:>5}{}: {:6.1} GFLOP/s {:8.0} us, matrixmultiply {:6.1} GFLOP/s",
        if trans_a { "ᵀ" } else { " " },
        flops / t / 1e9,
        t * 1e6,
        flops / t_mm / 1e9
    );
}

fn main() {
    rate("project_input layer 1", 1600, 75, 1024, false);
    rate("project_input layer 2", 1600, 256, 1024, false);
    rate("dW_hh = dAᵀ H", 1024, 1568, 256, true);
    rate("dW_ih layer 2 = dAᵀ X", 1024, 1600, 256, true);
    rate("dW_ih layer 1 = dAᵀ X", 1024, 1600, 75, true);
    rate("dX layer 2 = dA W_ih", 1600, 1024, 256, false);
}
