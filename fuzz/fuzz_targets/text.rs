//! Fuzz target: see `rnn::fuzz::text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn::fuzz::text(data));
