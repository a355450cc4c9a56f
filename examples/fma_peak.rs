//! The float32 multiply-add peak of this machine's cores on the AVX2 path: 12 independent
//! chains of 8-lane FMAs held in registers (no memory traffic), on 1 and 2 threads, in GFLOP/s.
//! The ceiling a matrix kernel's rate is read against: `cargo run --release --example fma_peak`.

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn chains(n: u64) -> f32 {
    use std::arch::x86_64::{__m256, _mm256_add_ps, _mm256_cvtss_f32, _mm256_fmadd_ps, _mm256_set1_ps};
    let (b, c) = (_mm256_set1_ps(1.000_000_1), _mm256_set1_ps(1e-7));
    let mut t: [__m256; 12] = std::array::from_fn(|i| _mm256_set1_ps(i as f32));
    for _ in 0..n {
        for x in &mut t {
            *x = _mm256_fmadd_ps(*x, b, c);
        }
    }
    _mm256_cvtss_f32(t.iter().fold(_mm256_set1_ps(0.0), |s, &x| _mm256_add_ps(s, x)))
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    {
        if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
            println!("no AVX2 and FMA on this CPU");
            return;
        }
        let n = 200_000_000u64;
        for threads in [1, 2] {
            let start = std::time::Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    // SAFETY: the CPU was checked for AVX2 and FMA above.
                    s.spawn(|| std::hint::black_box(unsafe { chains(n) }));
                }
            });
            let flops = (threads as u64 * n * 12 * 16) as f64;
            println!("{threads} thread(s): {:.1} GFLOP/s", flops / start.elapsed().as_secs_f64() / 1e9);
        }
    }
}
