//! Time of laying a transposed `[n, n]` matrix out row-major: `transpose_rate N`.
use std::time::Duration;

use ndarray::Array2;
use rnn::bench::median_secs;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let w = Array2::<f32>::from_elem((n, n), 0.25);
    let t = median_secs(
        || {
            std::hint::black_box(w.t().as_standard_layout().into_owned());
        },
        2,
        10,
        1000,
        Duration::from_millis(300),
    );
    let mut out = Array2::<f32>::zeros((n, n));
    let t2 = median_secs(
        || rnn::kernels::transpose_into(w.view(), out.as_slice_mut().unwrap()),
        2,
        10,
        1000,
        Duration::from_millis(300),
    );
    println!("{n}x{n}: as_standard_layout {:.1} us, blocked {:.1} us", t * 1e6, t2 * 1e6);
}
