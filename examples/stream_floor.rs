//! What bounds the streaming step (H = 128, input 32, batch 1) on this machine, measured on the
//! calling thread in its parts: the step's vector-matrix product (`kernels::gemv_packed` on
//! the packed `[x, h]` weights, `[1, 160] x [160, G · 128]` for a cell of G gate blocks, and
//! the half of it one of two threads streams), a plain read of the same bytes (the cache's
//! rate, with nothing to compute), and the exact sigmoid and tanh per value. From them, the
//! least time a step can take on one thread and, split by units, on two (each thread: half the
//! weights from its own core's L2, half the activations), before the threads meet or the head
//! runs. Then the split step with the least synchronisation: two threads stepping in lockstep,
//! one flag each way per step, the step's `[x, h]` and the second thread's half of the new
//! state passed through shared memory (the floor of `Stepper`'s pair of threads,
//! `src/nn/stepper/pair.rs`, which adds the books and the fallbacks to one thread).
//! `RNN_ISA=avx2 cargo run --release --example stream_floor`.
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use ndarray::Array2;
use rnn::Nonlinearity;
use rnn::kernels::{Packed, gemv_packed};

const HIDDEN: usize = 128;
const INPUT: usize = 32;

/// Median seconds per call of `f` over 101 blocks of `reps` calls, after one block.
fn median(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..102)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .skip(1)
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Seconds per product `[1, 160] x [160, cols]` on packed weights, and per plain read of the
/// same bytes ([`read_all`]).
fn product_and_read(cols: usize) -> (f64, f64) {
    let k = INPUT + HIDDEN;
    let w = Array2::<f32>::from_shape_fn((k, cols), |(i, j)| ((i * 7 + j * 13) % 17) as f32 * 0.01 - 0.08);
    let packed = Packed::pack(w.view());
    let x: Vec<f32> = (0..k).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut y = vec![0f32; cols];
    let product = median(2000, || {
        gemv_packed(std::hint::black_box(&x), packed.view(), &mut y, false);
        std::hint::black_box(&y);
    });
    let flat = w.as_slice().expect("standard layout");
    let read = median(2000, || {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked on the line above).
            std::hint::black_box(unsafe { read_avx2(std::hint::black_box(flat)) });
            return;
        }
        std::hint::black_box(read_all(std::hint::black_box(flat)));
    });
    (product, read)
}

/// Every element of `flat` read once: integer sums of the bits in 64 lanes (which vectorise
/// freely, so that the read, not the adds, is what is timed).
#[inline(always)]
fn read_all(flat: &[f32]) -> [u32; 64] {
    let mut sums = [0u32; 64];
    for chunk in flat.chunks_exact(64) {
        for (s, &v) in sums.iter_mut().zip(chunk) {
            *s = s.wrapping_add(v.to_bits());
        }
    }
    sums
}

/// [`read_all`] in 256-bit vectors (the build's baseline, SSE2, reads 128 bits at a time).
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn read_avx2(flat: &[f32]) -> [u32; 64] {
    read_all(flat)
}

/// The blocks [`paired`] times, of this many steps each.
const BLOCKS: usize = 101;
const BLOCK_STEPS: usize = 2000;

/// Each side's part of a split step: its half of the product, then its activations
/// (`sigmoids` gate blocks through the sigmoid, `tanhs` through tanh, of `HIDDEN / 2` units).
fn half_step(xh: &[f32], w: &Packed<f32>, a: &mut [f32], (sigmoids, tanhs): (usize, usize)) {
    gemv_packed(xh, w.view(), a, false);
    let n = HIDDEN / 2;
    let gate_tanhs = a.len() / n - sigmoids;
    Nonlinearity::Sigmoid.apply_slice(&mut a[..sigmoids * n]);
    Nonlinearity::Tanh.apply_slice(&mut a[sigmoids * n..]);
    for _ in gate_tanhs..tanhs {
        // the LSTM's tanh of its new cell state (over the first block again: the cost is timed)
        Nonlinearity::Tanh.apply_slice(&mut a[..n]);
    }
}

/// Median seconds per split step of a cell of `gates` gate blocks, two threads in lockstep:
/// per step the caller writes the step's `[x, h]` (its input, its own half of h, the worker's
/// half from the step before) into shared memory and raises `go`; both compute their halves;
/// the worker writes its half of the new h and raises `done`, which the caller waits for.
fn paired(gates: usize, acts: (usize, usize)) -> f64 {
    let k = INPUT + HIDDEN;
    let half = HIDDEN / 2;
    let weights = |seed: usize| {
        let w = Array2::<f32>::from_shape_fn((k, gates * half), |(i, j)| {
            ((i * 7 + j * 13 + seed) % 17) as f32 * 0.01 - 0.08
        });
        Packed::pack(w.view())
    };
    let (mine, theirs) = (weights(0), weights(5));
    let shared_xh: Vec<AtomicU32> = (0..k).map(|_| AtomicU32::new(0)).collect();
    let shared_h: Vec<AtomicU32> = (0..half).map(|_| AtomicU32::new(0)).collect();
    let (go, done) = (AtomicU64::new(0), AtomicU64::new(0));
    let steps = (BLOCKS + 1) * BLOCK_STEPS;
    let mut times = Vec::with_capacity(BLOCKS + 1);
    std::thread::scope(|s| {
        s.spawn(|| {
            let (mut xh, mut a) = (vec![0f32; k], vec![0f32; gates * half]);
            for i in 1..=steps as u64 {
                while go.load(Ordering::Acquire) < i {
                    std::hint::spin_loop();
                }
                xh.iter_mut().zip(&shared_xh).for_each(|(v, s)| *v = f32::from_bits(s.load(Ordering::Relaxed)));
                half_step(&xh, &theirs, &mut a, acts);
                shared_h.iter().zip(&a).for_each(|(s, v)| s.store(v.to_bits(), Ordering::Relaxed));
                done.store(i, Ordering::Release);
            }
        });
        let (mut xh, mut a) = (vec![0f32; k], vec![0f32; gates * half]);
        let mut start = Instant::now();
        for i in 1..=steps as u64 {
            // [x, h]: a new input, this side's half of h, the worker's half
            xh[0] = (i % 1000) as f32 * 1e-3;
            xh[INPUT..INPUT + half].copy_from_slice(&a[..half]);
            xh[INPUT + half..]
                .iter_mut()
                .zip(&shared_h)
                .for_each(|(v, s)| *v = f32::from_bits(s.load(Ordering::Relaxed)));
            shared_xh.iter().zip(&xh).for_each(|(s, v)| s.store(v.to_bits(), Ordering::Relaxed));
            go.store(i, Ordering::Release);
            half_step(&xh, &mine, &mut a, acts);
            while done.load(Ordering::Acquire) < i {
                std::hint::spin_loop();
            }
            if (i as usize).is_multiple_of(BLOCK_STEPS) {
                times.push(start.elapsed().as_secs_f64() / BLOCK_STEPS as f64);
                start = Instant::now();
            }
        }
    });
    times.remove(0);
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    // nanoseconds per value of each activation, over 512 values (an LSTM step's gates)
    let per_value = |act: Nonlinearity| {
        let base: Vec<f32> = (0..512).map(|i| (i as f32 - 256.0) * 0.013).collect();
        let mut v = base.clone();
        median(2000, || {
            v.copy_from_slice(&base);
            act.apply_slice(std::hint::black_box(&mut v));
        }) * 1e9
            / 512.0
    };
    let (sigmoid, tanh) = (per_value(Nonlinearity::Sigmoid), per_value(Nonlinearity::Tanh));
    println!("exact activations (f32 via f64, 0.5 ulp): sigmoid {sigmoid:.2} ns/value, tanh {tanh:.2} ns/value");
    println!(
        "cell   weights  product 1 thread (read)    half (read)        activations   floor 1 thread  floor 2 threads  split, least sync"
    );
    // (cell, gate blocks, sigmoids, tanhs) per step: Elman tanh h; LSTM σ i, f, o, tanh g, c;
    // GRU σ r, z, tanh n
    for (cell, gates, sigmoids, tanhs) in [("rnn", 1, 0, 1), ("lstm", 4, 3, 2), ("gru", 3, 2, 1)] {
        let cols = gates * HIDDEN;
        let kb = (INPUT + HIDDEN) * cols * 4 / 1024;
        let (whole, whole_read) = product_and_read(cols);
        let (half, half_read) = product_and_read(cols / 2);
        let act = (sigmoids as f64 * sigmoid + tanhs as f64 * tanh) * HIDDEN as f64 / 1e3;
        let us = |s: f64| s * 1e6;
        let split = paired(gates, (sigmoids, tanhs));
        println!(
            "{cell:<6} {kb:>4} KB  {:>6.3} us ({:>5.3}, {:>3.0} GB/s)  {:>5.3} us ({:>5.3})  {act:>6.3} us  {:>9.3} us  {:>11.3} us  {:>12.3} us",
            us(whole),
            us(whole_read),
            (kb * 1024) as f64 / whole_read / 1e9,
            us(half),
            us(half_read),
            us(whole) + act,
            us(half) + act / 2.0,
            us(split),
        );
    }
}
