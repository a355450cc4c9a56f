//! Fuzz target: see `rnn::fuzz::model_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rnn::fuzz::model_file(data));
