#!/usr/bin/env bash
# Runs the small tests that reach the crate's `unsafe` code (src/compute/kernels/miri_tests.rs)
# under Miri, which reports undefined behaviour: out-of-bounds or misaligned accesses, use of
# uninitialised memory, data races, and references that break Rust's aliasing rules (Stacked
# Borrows). Twice: on the portable path, then built for AVX2 and FMA (the packed path and the
# AVX2 kernels). Two pool threads either way. Not part of CI (it needs the nightly toolchain
# with Miri, and takes some minutes):
#   rustup toolchain install nightly --component miri rust-src
#   bash tests/miri.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version > /dev/null 2>&1; then
    echo "tests/miri.sh: needs Miri: rustup toolchain install nightly --component miri rust-src" >&2
    exit 1
fi
# isolated from the host but for the pool's thread count; the pool's workers live as long as
# the process, by design, so the threads still running at its end are not reported
export MIRIFLAGS="-Zmiri-env-forward=RNN_NUM_THREADS -Zmiri-ignore-leaks" RNN_NUM_THREADS=2
echo "== portable path" >&2
CARGO_TARGET_DIR=target/miri cargo +nightly miri test --lib miri_ -- --test-threads 1
echo "== AVX2 and FMA" >&2
RUSTFLAGS="-C target-feature=+avx2,+fma" CARGO_TARGET_DIR=target/miri-avx2 \
    cargo +nightly miri test --lib miri_ -- --test-threads 1
