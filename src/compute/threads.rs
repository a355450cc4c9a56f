//! Process-wide settings for speed: how many threads the large matrix products use, which
//! instruction set they run with, and (opt-in) how the C allocator treats freed memory.
//!
//! The products split across this crate's pool ([`crate::compute::pool`]); `ndarray`'s own GEMM
//! runs single-threaded (only a few small, once-per-call products use it).
//!
//! # Example
//! ```
//! // the number of threads the products use (the first call of a process sets it)
//! let n = rnn::threads::init(None)?;
//! assert!(n >= 1);
//! # Ok::<(), rnn::Error>(())
//! ```

use crate::compute::{kernels, pool};
use crate::{Error, Result};

/// Sets the thread count for large products and returns it: `threads` if given, else the
/// environment variable `RNN_NUM_THREADS`, else every core the process may run on (as
/// `taskset` or a container's CPU limit allows). Takes effect only before the first parallel
/// product of the process; later calls return the count in force.
///
/// # Errors
/// [`Error::Config`] for 0 threads, more than `pool::MAX_THREADS`, an `RNN_NUM_THREADS` that
/// is neither, or an `RNN_ISA` that names no instruction set ([`instruction_set`]).
///
/// # Example
/// ```
/// // the count in force (the first call of a process sets it)
/// let n = rnn::threads::init(None)?;
/// assert!(n >= 1);
/// assert!(rnn::threads::init(Some(0)).is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn init(threads: Option<usize>) -> Result<usize> {
    if let Some(Err(message)) = kernels::isa_from_env() {
        return Err(Error::Config(message));
    }
    let n = match threads {
        Some(n) if (1..=pool::MAX_THREADS).contains(&n) => n,
        Some(n) => {
            return Err(Error::Config(format!(
                "{n} threads: the thread count must be from 1 to {}",
                pool::MAX_THREADS
            )));
        }
        None => match pool::threads_from_env() {
            Some(Ok(n)) => n,
            Some(Err(message)) => return Err(Error::Config(message)),
            None => return Ok(pool::threads()),
        },
    };
    Ok(pool::set_threads(n))
}

/// The instruction set the matrix products and activations run with: `"avx512"`, `"avx2"`
/// (x86-64 with AVX2 and FMA) or `"portable"`. The CPU's widest, unless the environment
/// variable `RNN_ISA` asks for a narrower one (`avx2` or `portable`; read once per process),
/// so that a machine with AVX-512 can test and time the path most users' CPUs take. Results
/// agree across the paths to rounding (the kernels' tests check every path against the same
/// products).
///
/// # Example
/// ```
/// let isa = rnn::threads::instruction_set();
/// assert!(["avx512", "avx2", "portable"].contains(&isa));
/// ```
pub fn instruction_set() -> &'static str {
    kernels::isa().name()
}

/// Asks glibc's `malloc` to keep freed memory for reuse instead of returning it to the kernel,
/// and to serve large blocks from its heap rather than fresh mappings. A training step frees
/// and re-allocates the same multi-megabyte buffers (hidden states, gradients) every step, and
/// every fresh page costs a page fault and a zeroing by the kernel: measured 10% of a forward
/// pass at H = 512, and 19% more training steps per second with this setting. Resident memory
/// then stays at its high-water mark; the bytes in use do not change. A no-op on other C
/// libraries. The `rnn` binary calls it at start-up; a program using the library may too.
///
/// # Example
/// ```
/// rnn::threads::keep_freed_memory(); // once, at the start of a program that trains
/// let x = vec![0f32; 1 << 20];
/// assert_eq!(x.len(), 1 << 20);
/// ```
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: glibc's `mallopt` with documented parameters; it only moves two thresholds.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 1 << 30);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}
