//! The integration tests, in one binary: one link of the library instead of one per file
//! (`alloc`, `memory` and `fuzz_smoke` count allocations with a global allocator of their own,
//! `loom_pool` compiles the pool under loom, and `reference` and `properties` also run in
//! the `checked` profile: they stay binaries of their own).

mod charlm;
mod classify;
mod cli;
mod cli_bad_input;
mod cli_cells;
mod cli_csv;
mod cli_diagnose;
mod cli_experiment;
mod cli_export;
mod cli_forward_errors;
mod cli_interrupt;
mod cli_limits;
mod cli_outputs;
mod cli_predict;
mod cli_train;
mod common;
mod diagnose;
mod experiment;
mod forecast;
mod forecast_baselines;
mod forecast_checks;
mod fuzz_regressions;
mod golden;
mod gradcheck;
mod optim_parity;
mod train;
