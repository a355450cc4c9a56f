//! Fuzz target: see `rnn::fuzz::npy`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn::fuzz::npy(data));
