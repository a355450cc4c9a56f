//! Fuzz target: see `rnn::fuzz::csv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn::fuzz::csv(data));
