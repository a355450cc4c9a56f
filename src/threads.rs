//! How many threads the large matrix products use.
//!
//! Two pools share the work: this crate's per-step products ([`crate::pool`]) and `ndarray`'s
//! GEMM (`matrixmultiply`), which reads `MATMUL_NUM_THREADS` once, at its first product. Set both
//! through [`init`] before any computation.

use crate::{Error, Result};

/// Sets the thread count for large products (all cores when `None`) and returns it. Must run
/// before the first matrix product of the process to take effect.
///
/// # Errors
/// [`Error::Config`] for 0 threads.
pub fn init(threads: Option<usize>) -> Result<usize> {
    let n = match threads {
        Some(0) => return Err(Error::Config("--threads must be at least 1".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    // SAFETY: called at start-up, before this process starts other threads.
    unsafe { std::env::set_var("MATMUL_NUM_THREADS", n.to_string()) };
    Ok(crate::pool::set_threads(n))
}
