//! GFLOP/s of the step kernel against ndarray's GEMM for one `[M, K] x [K, N]` product:
//! `kernel_rate M K N` (B plain, B pre-packed, ndarray).
use std::time::Duration;

use ndarray::Array2;
use rnn::bench::median_secs;
use rnn::kernels::{Mat, Packed, gemm, gemm_packed};

fn main() {
    let a: Vec<usize> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let (m, k, n) =
        (a.first().copied().unwrap_or(16), a.get(1).copied().unwrap_or(1024), a.get(2).copied().unwrap_or(1024));
    let x = Array2::<f32>::from_elem((m, k), 0.5);
    let w = Array2::<f32>::from_elem((k, n), 0.25);
    let mut c = Array2::<f32>::zeros((m, n));
    let flops = 2.0 * (m * k * n) as f64;
    let t = median_secs(
        || {
            gemm(
                Mat::new(x.as_slice().unwrap(), m, k),
                Mat::new(w.as_slice().unwrap(), k, n),
                c.as_slice_mut().unwrap(),
                n,
                true,
            )
        },
        3,
        20,
        100_000,
        Duration::from_millis(500),
    );
    let packed = Packed::pack(w.view());
    let tp = median_secs(
        || gemm_packed(Mat::new(x.as_slice().unwrap(), m, k), packed.view(), c.as_slice_mut().unwrap(), n, true, None),
        3,
        20,
        100_000,
        Duration::from_millis(500),
    );
    let t2 = median_secs(
        || ndarray::linalg::general_mat_mul(1.0, &x, &w, 1.0, &mut c),
        3,
        20,
        100_000,
        Duration::from_millis(500),
    );
    println!(
        "{m}x{k}x{n}: kernel {:.1} GFLOP/s ({:.2} us), B packed {:.1} GFLOP/s, ndarray {:.1} GFLOP/s ({:.2} us)",
        flops / t / 1e9,
        t * 1e6,
        flops / tp / 1e9,
        flops / t2 / 1e9,
        t2 * 1e6
    );
}
