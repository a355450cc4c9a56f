//! A character model's one-hot products against the dense ones, in milliseconds (median of 21
//! runs of 20): a batch of 32 streams × 50 steps over a vocabulary of 75 into an LSTM of 256
//! (1024 gate columns): finding the hot columns, the input projection `X W_ihᵀ` and the weight
//! gradient `dAᵀ X`, at the pool size `RNN_NUM_THREADS` sets (the one-hot paths run on the
//! calling thread): `cargo run --release --example one_hot_rate`.
use ndarray::Array2;
use rnn::kernels::{Mat, gemm, matmul, one_hot_gather, one_hot_grad, one_hot_rows};
use std::time::Instant;

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut runs: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..20 {
                f();
            }
            t.elapsed().as_secs_f64() / 20.0 * 1e3
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[10]
}

fn main() {
    let (rows, vocab, n) = (1600usize, 75usize, 1024usize);
    let x = Array2::<f32>::from_shape_fn((rows, vocab), |(r, k)| f32::from(u8::from(k == (r * 7 + 3) % vocab)));
    let x = x.as_slice().expect("row-major");
    let w: Vec<f32> = (0..vocab * n).map(|i| (i % 17) as f32 * 0.1).collect();
    let da = Array2::<f32>::from_shape_fn((rows, n), |(r, j)| ((r + j) % 13) as f32 * 0.1);
    let da_flat = da.as_slice().expect("row-major");
    let mut out = vec![0f32; rows * n];
    let mut g = Array2::<f32>::zeros((n, vocab));
    let detect = median_ms(|| {
        std::hint::black_box(one_hot_rows(x, vocab));
    });
    let hot = one_hot_rows(x, vocab).expect("one-hot");
    let gather = median_ms(|| {
        one_hot_gather(&hot, Mat::new(&w, vocab, n), &mut out);
        std::hint::black_box(&out);
    });
    let dense = median_ms(|| {
        gemm(Mat::new(x, rows, vocab), Mat::new(&w, vocab, n), &mut out, n, false);
        std::hint::black_box(&out);
    });
    let grad = median_ms(|| {
        one_hot_grad(&hot, Mat::new(da_flat, rows, n), vocab, g.as_slice_mut().expect("row-major"));
        std::hint::black_box(&g);
    });
    let x2 = Array2::from_shape_vec((rows, vocab), x.to_vec()).expect("rows x vocab");
    let dense_grad = median_ms(|| {
        matmul(&da.t(), &x2.view(), &mut g.view_mut(), false);
        std::hint::black_box(&g);
    });
    println!(
        "[{rows}, {vocab}] one-hot, {n} columns: hot columns {detect:.3} ms; projection {gather:.3} ms (dense {dense:.3}); dW_ih {grad:.3} ms (dense {dense_grad:.3})"
    );
}
