//! Counts the arguments where the `f32` tanh and sigmoid with fused multiply-adds (the vector
//! paths') differ from the unfused ones, over every 4th `f32` in `2^-16 <= |x| <= 10`, both
//! signs (80.7 million): the measurement behind `Float::tanh_fused`'s doc. Build it for FMA,
//! or `mul_add` is a library call and the run takes minutes:
//! `RUSTFLAGS="-C target-feature=+fma,+avx2" CARGO_TARGET_DIR=target/fma cargo run --release
//! --example fused_agreement`.
use rnn::Float;
fn main() {
    let (mut n, mut dt, mut ds) = (0u64, 0u64, 0u64);
    for bits in ((2f32).powi(-16).to_bits()..=10f32.to_bits()).step_by(4) {
        for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
            n += 1;
            if x.tanh_fused().to_bits() != x.tanh_fast().to_bits() {
                dt += 1;
            }
            if x.sigmoid_fused().to_bits() != x.sigmoid_fast().to_bits() {
                ds += 1;
            }
        }
    }
    println!("{n} arguments: tanh differs {dt}, sigmoid differs {ds}");
}
