//! A persistent worker pool for splitting one large matrix product across cores, step after
//! step, without spawning threads or allocating. The synchronisation is in `engine` (model-
//! checked with loom); this file holds the process-wide pool and the rules that keep it from
//! ever being much slower than one thread:
//!
//! - a `run` inside a part (or on a worker) runs its parts inline, in order, so nesting cannot
//!   deadlock; so does a `run` while another thread's job holds the pool;
//! - the caller claims parts like a worker, so a worker the operating system does not schedule
//!   only loses its share of the speed-up;
//! - when a job still made the caller wait longer than a part takes (a worker claimed a part
//!   and was then descheduled, as happens when another process is busy on its core), the pool
//!   backs off: the following jobs run on the calling thread alone for 1 ms, doubling on each
//!   such job up to 100 ms, and a job that goes well resets it.
//!
//! `rayon` would do the splitting, but its global queue allocates a block every few dozen
//! injected jobs, and the per-step loops of this crate promise (and test) no allocation at all.

mod engine;
#[cfg(test)]
mod engine_tests;
mod sync;

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

use self::engine::Pool;

/// Checks a worker makes for a new job before it sleeps (about a millisecond: a step's next
/// product follows within microseconds, a wake-up from sleep costs several).
const WORKER_SPIN: u32 = 1 << 15;
/// Checks the caller makes for the workers' last part before it sleeps (tens of
/// microseconds): asleep, it leaves its core to a worker that waits for one.
const CALLER_SPIN: u32 = 1 << 10;
/// The first back-off, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(1);
const BACKOFF_MAX: Duration = Duration::from_millis(100);
/// A wait for the workers below this never counts against them (timer and wake-up noise).
const WAIT_SLACK: Duration = Duration::from_micros(50);

/// The most threads a job is split across.
pub const MAX_THREADS: usize = if engine::MAX_PARTS < crate::compute::kernels::MAX_PARTS {
    engine::MAX_PARTS
} else {
    crate::compute::kernels::MAX_PARTS
};

struct Shared {
    pool: Pool,
    /// Held by the thread whose job is on the pool.
    turn: Mutex<()>,
    /// Nanoseconds after `start` until which jobs run inline, and the current back-off.
    resume_at: AtomicU64,
    backoff: AtomicU64,
    start: Instant,
}

static SHARED: OnceLock<&'static Shared> = OnceLock::new();
static THREADS: OnceLock<usize> = OnceLock::new();

thread_local! {
    /// Whether this thread is running a part (or is a worker): a `run` from here runs inline.
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// The thread count from `RNN_NUM_THREADS`: `None` when unset, an error message when it is
/// not a whole number from 1 to [`MAX_THREADS`].
pub(crate) fn threads_from_env() -> Option<Result<usize, String>> {
    let raw = std::env::var_os("RNN_NUM_THREADS")?;
    let text = raw.to_string_lossy();
    Some(match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!("RNN_NUM_THREADS={text} is not a thread count from 1 to {MAX_THREADS}")),
    })
}

/// Sets the number of threads (the caller plus `n - 1` workers), clamped to
/// `1..=MAX_THREADS`. Effective only before the pool's first use; returns the number in force.
pub fn set_threads(n: usize) -> usize {
    *THREADS.get_or_init(|| n.clamp(1, MAX_THREADS))
}

/// Threads a parallel job runs on: as set, else `RNN_NUM_THREADS` if valid, else every core.
pub fn threads() -> usize {
    *THREADS.get_or_init(|| match threads_from_env() {
        Some(Ok(n)) => n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS),
    })
}

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            pool: Pool::new(WORKER_SPIN, CALLER_SPIN),
            turn: Mutex::new(()),
            resume_at: AtomicU64::new(0),
            backoff: AtomicU64::new(0),
            start: Instant::now(),
        }));
        for w in 1..threads() {
            let spawned = std::thread::Builder::new().name(format!("rnn-worker-{w}")).spawn(move || {
                BUSY.set(true);
                shared.pool.work();
            });
            // without this worker the caller claims its parts: slower, never wrong
            let _ = spawned;
        }
        shared
    })
}

/// Resets [`BUSY`] when a job ends, even by a panic.
struct Busy;

impl Busy {
    fn enter() -> Busy {
        BUSY.set(true);
        Busy
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.set(false);
    }
}

impl Shared {
    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    fn backing_off(&self, now: Instant) -> bool {
        self.nanos(now) < self.resume_at.load(Ordering::Relaxed)
    }

    /// Judges a job by the caller's time on its own `mine` parts and its wait for the rest.
    fn judge(&self, mine: usize, own: Duration, wait: Duration, end: Instant) {
        if mine == 0 {
            return;
        }
        let per_part = own / u32::try_from(mine).unwrap_or(u32::MAX);
        if wait > per_part.max(WAIT_SLACK) {
            let min = BACKOFF_MIN.as_nanos() as u64;
            let next = (self.backoff.load(Ordering::Relaxed) * 2).clamp(min, BACKOFF_MAX.as_nanos() as u64);
            self.backoff.store(next, Ordering::Relaxed);
            self.resume_at.store(self.nanos(end).saturating_add(next), Ordering::Relaxed);
        } else if wait < per_part / 2 {
            self.backoff.store(0, Ordering::Relaxed);
        }
    }
}

/// Runs `f(part)` for every `part` in `0..threads()` and returns when all are done: on the pool
/// (the calling thread takes parts too), or inline and in order on the calling thread with one
/// thread, inside another job, while another thread's job holds the pool, or while the pool
/// backs off (see the module docs). A panic in a part is resumed here once every part has
/// finished.
pub fn run<G: Fn(usize) + Sync>(f: &G) {
    let n = threads();
    let inline = || run_inline(n, f);
    if n < 2 || BUSY.get() {
        return inline();
    }
    let shared = shared();
    let start = Instant::now();
    if shared.backing_off(start) {
        return inline();
    }
    let _turn = match shared.turn.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return inline(),
    };
    let _busy = Busy::enter();
    let (mut mine, mut helped) = (0, start);
    shared.pool.run(n, f, |m| {
        mine = m;
        helped = Instant::now();
    });
    let end = Instant::now();
    shared.judge(mine, helped - start, end - helped, end);
}

/// [`run`] on the calling thread: every part in order; a panic is resumed after the last.
fn run_inline<G: Fn(usize)>(n: usize, f: &G) {
    let mut first = None;
    for part in 0..n {
        if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(part))) {
            first.get_or_insert(payload);
        }
    }
    if let Some(payload) = first {
        std::panic::resume_unwind(payload);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_part_runs_once_per_job() {
        let n = super::threads();
        for _ in 0..1000 {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            super::run(&|part| {
                hits[part].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn a_nested_run_runs_inline() {
        let n = super::threads();
        let hits = AtomicUsize::new(0);
        super::run(&|_| {
            super::run(&|_| {
                hits.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(hits.load(Ordering::Relaxed), n * n);
    }

    #[test]
    fn a_panicking_part_reaches_the_caller_and_leaves_the_pool_usable() {
        let n = super::threads();
        for bad in 0..n {
            let finished = AtomicUsize::new(0);
            let result = std::panic::catch_unwind(|| {
                super::run(&|part| {
                    if part == bad {
                        panic!("part {part} fails");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    finished.fetch_add(1, Ordering::Relaxed);
                })
            });
            let payload = result.expect_err("the panic reaches the caller");
            assert_eq!(
                payload.downcast_ref::<String>().map(String::as_str),
                Some(format!("part {bad} fails").as_str())
            );
            // every other part had finished before `run` unwound
            assert_eq!(finished.load(Ordering::Relaxed), n - 1);
        }
        every_part_runs_once_per_job();
    }

    #[test]
    fn runs_from_many_threads_at_once_all_complete() {
        let n = super::threads();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let hits = AtomicUsize::new(0);
                        super::run(&|_| {
                            hits.fetch_add(1, Ordering::Relaxed);
                        });
                        assert_eq!(hits.load(Ordering::Relaxed), n);
                    }
                });
            }
        });
    }
}
