//! Accuracy and speed of the `f32` tanh and sigmoid, next to the previous approximations.
//!
//! `activation_error [--stride S] [--limit L]` prints, as JSON, the max abs and max ulp error
//! against `f64` over every `S`-th `f32` bit pattern with `2^-16 <= |x| <= L` (both signs), of
//! the current functions (through [`Nonlinearity::apply_slice`], the vectorised path the cells
//! use), of the previous ones (Eigen's rational tanh, sigmoid as `(1 + tanh(x/2)) / 2`) and of an
//! all-`f32` exp-based tanh (a candidate that was measured and not taken).
//!
//! `activation_error --bench` times them side by side in one process (ns per element on a
//! 4096-element slice, interleaved rounds, median); pin it with `taskset -c 0`.
//!
//! `bench/accuracy.py` runs the first form and adds PyTorch's errors on the same grid.
use std::hint::black_box;
use std::time::Instant;

use rnn::Nonlinearity;

/// The tanh before: Eigen's `generic_fast_tanh_float` (max abs error 4.1e-7).
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn tanh_eigen(x0: f32) -> f32 {
    let x = x0.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16_f32;
    p = x2 * p + 2.000_187_9e-13;
    p = x2 * p - 8.604_672e-11;
    p = x2 * p + 5.122_297e-8;
    p = x2 * p + 1.485_722_4e-5;
    p = x2 * p + 6.372_619_3e-4;
    p = x2 * p + 4.893_524_6e-3;
    p *= x;
    let mut q = 1.198_258_4e-6_f32;
    q = x2 * q + 1.185_347_1e-4;
    q = x2 * q + 2.268_434_6e-3;
    q = x2 * q + 4.893_525e-3;
    if x0.abs() < 4e-4 { x0 } else { p / q }
}

/// The sigmoid before: `(1 + tanh(x / 2)) / 2` with Eigen's tanh.
#[inline(always)]
fn sigmoid_eigen(x: f32) -> f32 {
    0.5 + 0.5 * tanh_eigen(0.5 * x)
}

/// `e^y` in `f32` (Cephes' `expf`: Cody-Waite reduction, degree-5 polynomial), branch-free.
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn exp_f32(y: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0; // 1.5 * 2^23
    let k = y * std::f32::consts::LOG2_E + SHIFT;
    let n = k - SHIFT;
    let r = (y - n * 0.693_359_375) - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let e = p * (r * r) + r + 1.0;
    e * f32::from_bits(k.to_bits().wrapping_sub(SHIFT.to_bits()).wrapping_add(127) << 23)
}

/// The all-`f32` candidate: an odd minimax polynomial below 0.75, `1 - 2 / (e^{2|x|} + 1)`
/// above (max error 1.05 ulp).
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn tanh_f32_exp(x: f32) -> f32 {
    let a = x.abs();
    let s = a * a;
    let mut p = 1.737_021_4e-3_f32;
    p = p * s - 7.657_388_7e-3;
    p = p * s + 2.145_211e-2;
    p = p * s - 5.389_274_3e-2;
    p = p * s + 1.333_269_5e-1;
    p = p * s - 3.333_331_6e-1;
    let small = a + (a * s) * p;
    let c = a.min(10.0);
    let big = 1.0 - 2.0 / (exp_f32(c + c) + 1.0);
    let y = if a < 0.75 { small } else { big };
    y.copysign(x)
}

macro_rules! avx2_map {
    ($name:ident, $f:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $name(a: &mut [f32]) {
            a.iter_mut().for_each(|v| *v = $f(*v));
        }
    };
}
avx2_map!(tanh_eigen_avx2, tanh_eigen);
avx2_map!(sigmoid_eigen_avx2, sigmoid_eigen);
avx2_map!(tanh_f32_exp_avx2, tanh_f32_exp);

/// The slice map of each implementation: vectorised with AVX2 where the CPU has it, as
/// [`Nonlinearity::apply_slice`] is.
fn map(which: &str, a: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        unsafe {
            return match which {
                "tanh eigen (before)" => tanh_eigen_avx2(a),
                "sigmoid eigen (before)" => sigmoid_eigen_avx2(a),
                "tanh f32 exp (candidate)" => tanh_f32_exp_avx2(a),
                "tanh (now)" => Nonlinearity::Tanh.apply_slice(a),
                "sigmoid (now)" => Nonlinearity::Sigmoid.apply_slice(a),
                _ => unreachable!(),
            };
        }
    }
    match which {
        "tanh eigen (before)" => a.iter_mut().for_each(|v| *v = tanh_eigen(*v)),
        "sigmoid eigen (before)" => a.iter_mut().for_each(|v| *v = sigmoid_eigen(*v)),
        "tanh f32 exp (candidate)" => a.iter_mut().for_each(|v| *v = tanh_f32_exp(*v)),
        "tanh (now)" => Nonlinearity::Tanh.apply_slice(a),
        "sigmoid (now)" => Nonlinearity::Sigmoid.apply_slice(a),
        _ => unreachable!(),
    }
}

const TANH: [&str; 3] = ["tanh (now)", "tanh eigen (before)", "tanh f32 exp (candidate)"];
const SIGMOID: [&str; 2] = ["sigmoid (now)", "sigmoid eigen (before)"];

/// Spacing of `f32` numbers at `|r|`.
fn ulp32(r: f64) -> f64 {
    let e = if r == 0.0 { -126 } else { (r.abs().log2().floor() as i32).max(-126) };
    // log2 can be off by one next to powers of two: fix up
    let e = if 2f64.powi(e) > r.abs() && e > -126 {
        e - 1
    } else if 2f64.powi(e + 1) <= r.abs() {
        e + 1
    } else {
        e
    };
    2f64.powi(e - 23)
}

#[derive(Default, Clone, Copy)]
struct Worst {
    abs: f64,
    ulp: f64,
    x: f32,
}

fn errors(stride: u32, limit: f32) {
    let lo = (2f32).powi(-16).to_bits();
    let hi = limit.to_bits();
    let names: Vec<&str> = TANH.iter().chain(SIGMOID.iter()).copied().collect();
    let mut worst = vec![Worst::default(); names.len()];
    let chunk = 1 << 16;
    let mut xs = Vec::with_capacity(2 * chunk);
    let mut buf = vec![0f32; 2 * chunk];
    let mut bits = lo;
    while bits <= hi {
        xs.clear();
        for _ in 0..chunk {
            if bits > hi {
                break;
            }
            let x = f32::from_bits(bits);
            xs.push(x);
            xs.push(-x);
            bits = bits.saturating_add(stride);
        }
        let tanh_ref: Vec<f64> = xs.iter().map(|&x| (x as f64).tanh()).collect();
        let sig_ref: Vec<f64> = xs.iter().map(|&x| 1.0 / (1.0 + (-(x as f64)).exp())).collect();
        for (k, name) in names.iter().enumerate() {
            let b = &mut buf[..xs.len()];
            b.copy_from_slice(&xs);
            map(name, b);
            let r = if k < TANH.len() { &tanh_ref } else { &sig_ref };
            let w = &mut worst[k];
            for ((&y, &r), &x) in b.iter().zip(r).zip(&xs) {
                let e = (y as f64 - r).abs();
                w.abs = w.abs.max(e);
                let u = e / ulp32(r);
                if u > w.ulp {
                    w.ulp = u;
                    w.x = x;
                }
            }
        }
    }
    let entry = |names: &[&str], off: usize| {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let w = worst[off + i];
                format!(r#""{n}": {{"max_abs": {:e}, "max_ulp": {}, "x_max_ulp": {:e}}}"#, w.abs, w.ulp, w.x)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(r#"{{"tanh": {{{}}}, "sigmoid": {{{}}}}}"#, entry(&TANH, 0), entry(&SIGMOID, TANH.len()));
}

fn bench() {
    let n = 4096;
    let src: Vec<f32> = (0..n).map(|i| ((i * 7919) % n) as f32 / n as f32 * 12.0 - 6.0).collect();
    let names: Vec<&str> = TANH.iter().chain(SIGMOID.iter()).copied().collect();
    let mut times = vec![Vec::new(); names.len()];
    let reps = 200;
    for _round in 0..15 {
        for (k, name) in names.iter().enumerate() {
            // the same slice over and over: every value stays in range (branch-free code: the
            // values do not change the time)
            let mut buf = src.clone();
            let t = Instant::now();
            for _ in 0..reps {
                map(name, black_box(&mut buf));
            }
            times[k].push(t.elapsed().as_secs_f64() / (reps * n) as f64 * 1e9);
        }
    }
    for (name, mut t) in names.iter().zip(times) {
        t.sort_by(f64::total_cmp);
        println!("{name:28} {:.3} ns/element (median of 15; min {:.3}, max {:.3})", t[7], t[0], t[14]);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    if args.iter().any(|a| a == "--bench") {
        return bench();
    }
    let stride = opt("--stride").map_or(2, |s| s.parse().expect("--stride N"));
    let limit = opt("--limit").map_or(10.0, |s| s.parse().expect("--limit L"));
    errors(stride, limit);
}
