//! GFLOP/s of a step's product with a packed B (`h W_hhᵀ`, at most 64 rows): `step_rate M K N`.
use std::time::Duration;

use ndarray::Array2;
use rnn::bench::median_secs;
use rnn::kernels::{Mat, Packed, gemm_packed};

fn main() {
    let arg = |i: usize, d: usize| std::env::args().nth(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (m, k, n) = (arg(1, 64), arg(2, 512), arg(3, 2048));
    let a = Array2::<f32>::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 13) as f32 * 0.01);
    let b = Array2::<f32>::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 11) % 17) as f32 * 0.01);
    let packed = Packed::pack(b.view());
    let mut c = vec![0f32; m * n];
    let t = median_secs(
        || gemm_packed(Mat::new(a.as_slice().unwrap(), m, k), packed.view(), &mut c, n, false, None),
        2,
        10,
        100_000,
        Duration::from_millis(600),
    );
    println!("{m}x{k}x{n} packed B: {:.1} GFLOP/s ({:.0} us)", 2.0 * (m * k * n) as f64 / t / 1e9, t * 1e6);
}
