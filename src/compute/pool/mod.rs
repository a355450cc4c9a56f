//! A persistent worker pool for splitting one large matrix product across cores, step after
//! step, without spawning threads or allocating. The synchronisation is in `engine` (model-
//! checked with loom); this file holds the process-wide pool and the rules that keep it from
//! ever being much slower than one thread:
//!
//! - a `run` inside a part (or on a worker) runs its parts inline, in order, so nesting cannot
//!   deadlock; so does a `run` while another thread's job holds the pool;
//! - the caller claims parts like a worker, so a worker the operating system does not schedule
//!   only loses its share of the speed-up;
//! - the pool keeps the books (`books`): over windows of jobs it compares their wall time with
//!   what the calling thread alone would take (estimated, and now and then measured by running
//!   jobs inline at random), and watches whether the calling thread itself waits for a core;
//!   when the pool loses, the following jobs run on the calling thread alone for a back-off
//!   that doubles on each loss. So over time the pool is never much slower than one thread,
//!   whatever else the machine runs.
//!
//! `rayon` would do the splitting, but its global queue allocates a block every few dozen
//! injected jobs, and the per-step loops of this crate promise (and test) no allocation at all.

mod books;
mod engine;
#[cfg(test)]
mod engine_tests;
mod sync;

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};
use std::time::Instant;

use self::books::{Books, Job};
pub(crate) use self::engine::Line;
use self::engine::Pool;

/// Checks a worker makes for a new job before it sleeps (about a millisecond: a step's next
/// product follows within microseconds, a wake-up from sleep costs several).
const WORKER_SPIN: u32 = 1 << 15;
/// Checks the caller makes for the workers' last part before it sleeps (tens of
/// microseconds): asleep, it leaves its core to a worker that waits for one.
const CALLER_SPIN: u32 = 1 << 10;
/// The most threads a job is split across.
pub const MAX_THREADS: usize = if engine::MAX_PARTS < crate::compute::kernels::MAX_PARTS {
    engine::MAX_PARTS
} else {
    crate::compute::kernels::MAX_PARTS
};

struct Shared {
    pool: Pool,
    /// Held by the thread whose job is on the pool (or whose inline job is being booked).
    books: Mutex<Books>,
    start: Instant,
}

static SHARED: OnceLock<&'static Shared> = OnceLock::new();
static THREADS: OnceLock<usize> = OnceLock::new();

thread_local! {
    /// Whether this thread is running a part (or is a worker): a `run` from here runs inline.
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// Nanoseconds the calling thread has spent runnable but waiting for a core (the second field
/// of Linux's `/proc/thread-self/schedstat`), or `None` where the kernel does not say (and
/// under Miri, whose threads no kernel schedules). Reads into a stack buffer: no allocation
/// (the path is short enough for std's stack C string).
fn run_delay() -> Option<u64> {
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        use std::io::Read;
        let mut file = std::fs::File::open("/proc/thread-self/schedstat").ok()?;
        let mut buf = [0u8; 96];
        let n = file.read(&mut buf).ok()?;
        std::str::from_utf8(&buf[..n]).ok()?.split_ascii_whitespace().nth(1)?.parse().ok()
    }
    #[cfg(any(not(target_os = "linux"), miri))]
    None
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
        let shared: &'static Shared =
            Box::leak(Box::new(Shared::new(Pool::new(WORKER_SPIN, CALLER_SPIN), Instant::now())));
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
    fn new(pool: Pool, start: Instant) -> Self {
        Shared { pool, books: Mutex::new(Books::default()), start }
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Runs `f(part)` for every `part` in `0..threads()` and returns when all are done: on the pool
/// (the calling thread takes parts too), or inline and in order on the calling thread with one
/// thread, inside another job, while another thread's job holds the pool, or while the pool
/// backs off (see the module docs). `cost` is the job's work (its multiply-adds, or anything
/// proportional to them), which the books weigh jobs by. A panic in a part is resumed here once
/// every part has finished.
pub fn run<G: Fn(usize) + Sync>(cost: usize, f: &G) {
    match plan(cost) {
        Some(job) => job.run(f),
        None => run_inline(threads(), f),
    }
}

/// Runs `f` on each of `items`, one per part, as one job of `cost` (see [`run`]): the items
/// are handed out through a lock, each taken by the one part whose index it has. For work
/// already cut into disjoint pieces, such as the rows of a step's element-wise gate math: each
/// item owns its pieces (`&mut` slices), so no two parts can touch the same memory.
///
/// # Panics
/// When there are more items than [`threads`] (a programming error inside the crate: cut the
/// work with [`rows_per_part`]).
pub fn run_each<T: Send>(items: impl IntoIterator<Item = T>, cost: usize, f: &(impl Fn(T) + Sync)) {
    let mut slots: [Option<T>; MAX_THREADS] = std::array::from_fn(|_| None);
    let mut items = items.into_iter();
    slots.iter_mut().take(threads()).zip(&mut items).for_each(|(slot, item)| *slot = Some(item));
    assert!(items.next().is_none(), "more items than threads");
    let slots = Mutex::new(slots);
    run(cost, &|part| {
        let item = slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(part).and_then(Option::take);
        if let Some(item) = item {
            f(item);
        }
    });
}

/// Rows per part when `rows` rows of `width` elements of element-wise work are worth sharing
/// across the pool: with two threads or more, at least one row per thread and
/// [`SHARED_ROWS_MIN`] elements in all; else `None` (run them on the calling thread).
pub fn rows_per_part(rows: usize, width: usize) -> Option<usize> {
    let n = threads();
    (n > 1 && rows >= n && rows * width >= SHARED_ROWS_MIN).then(|| rows.div_ceil(n))
}

/// The fewest elements of element-wise work worth a job on the pool (a wake-up costs a few
/// microseconds; the gate math of 4096 LSTM units takes tens).
pub const SHARED_ROWS_MIN: usize = 4096;

/// `len` zeros, written by the pool's threads when there are at least [`SHARED_ZEROS_MIN`]:
/// memory reused from a freed block must be cleared by someone (the trace of an LSTM training
/// step at (128, 32, 64, 2) is 12 MB of it), and each core clears its share at its own speed.
pub(crate) fn zeros<F: crate::Float>(len: usize) -> Vec<F> {
    let per = match rows_per_part(len, 1) {
        Some(per) if len >= SHARED_ZEROS_MIN => per,
        _ => return vec![F::zero(); len],
    };
    let mut v: Vec<F> = Vec::with_capacity(len);
    let spare = &mut v.spare_capacity_mut()[..len];
    run_each(spare.chunks_mut(per), len, &|part: &mut [MaybeUninit<F>]| part.fill(MaybeUninit::new(F::zero())));
    // SAFETY: `run_each` returned, so it ran the closure on each of the chunks, which together
    // are the first `len` elements of the capacity, each written with a zero (a panic in a
    // part would have been resumed above, before this line).
    unsafe { v.set_len(len) };
    v
}

/// The fewest zeros [`zeros`] shares across the pool (512 KB of float32, about 20 µs of one
/// core's clearing against a wake-up's few).
pub(crate) const SHARED_ZEROS_MIN: usize = 1 << 17;

/// Asks the books whether a job of `cost` (as for [`run`]) runs on the pool. `None` when it
/// runs on the calling thread unbooked: with one thread, inside another job, or while another
/// thread's job holds the pool. Otherwise the job, booked when it is dropped: on the pool when
/// [`Planned::parallel`], else the caller runs it inline while holding it; then best whole,
/// not cut into parts: run in order on one thread, the parts measured 15% slower than the
/// whole (an LSTM training step at H = 512, batch 64; the cause was not pinned down), and the
/// results are the same bit for bit (`kernels::gemm`'s tests).
pub fn plan(cost: usize) -> Option<Planned> {
    if threads() < 2 || BUSY.get() {
        return None;
    }
    let shared = shared();
    let mut books = match shared.books.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return None,
    };
    let start = Instant::now();
    let parallel = books.plan(shared.nanos(start));
    Some(Planned { shared, books, start, cost, parallel, mine: 0, helped: start, _busy: Busy::enter() })
}

/// A job the books have planned ([`plan`]): booked with its wall time when dropped.
pub struct Planned {
    shared: &'static Shared,
    books: MutexGuard<'static, Books>,
    start: Instant,
    cost: usize,
    parallel: bool,
    /// On the pool: the parts the caller ran, and when it had run them.
    mine: usize,
    helped: Instant,
    _busy: Busy,
}

impl Planned {
    /// Whether the job runs on the pool ([`Planned::run`]); if not, the caller runs it inline,
    /// best whole, before dropping this.
    pub fn parallel(&self) -> bool {
        self.parallel
    }

    /// Runs `f(part)` for every `part` in `0..threads()`: on the pool when
    /// [`Planned::parallel`], else inline and in order; books the job. A panic in a part is
    /// resumed here once every part has finished.
    pub fn run<G: Fn(usize) + Sync>(mut self, f: &G) {
        let n = threads();
        if self.parallel {
            let (mut mine, mut helped) = (n, self.start);
            self.shared.pool.run(n, f, |m| {
                mine = m;
                helped = Instant::now();
            });
            (self.mine, self.helped) = (mine, helped);
        } else {
            run_inline(n, f);
        }
    }
}

impl Drop for Planned {
    fn drop(&mut self) {
        let end = Instant::now();
        let job = Job {
            parallel: self.parallel,
            cost: self.cost as f64,
            parts: threads(),
            mine: self.mine,
            own: self.helped - self.start,
            wall: end - self.start,
        };
        let end = self.shared.nanos(end);
        self.books.book(job, end, run_delay);
    }
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
            super::run(1, &|part| {
                hits[part].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    /// [`super::plan`] until the pool is free (other tests may hold it for a moment).
    fn plan_when_free() -> super::Planned {
        for _ in 0..100_000 {
            if let Some(job) = super::plan(1) {
                return job;
            }
            std::thread::yield_now();
        }
        panic!("the pool stayed busy");
    }

    #[test]
    fn a_planned_job_holds_the_pool_until_dropped_and_plans_inside_it_are_inline() {
        if super::threads() < 2 {
            assert!(super::plan(1).is_none());
            return;
        }
        let job = plan_when_free();
        // while it is held, this thread is inside a job: a plan here runs inline, unbooked
        assert!(super::plan(1).is_none());
        drop(job);
        // dropping it booked the job and let the next one plan
        drop(plan_when_free());
    }

    #[test]
    fn run_each_runs_every_item_once() {
        let n = super::threads();
        for rows in [1, n, 10 * n + 1] {
            let mut data = vec![0u32; rows];
            let per = rows.div_ceil(n);
            for _ in 0..100 {
                super::run_each(data.chunks_mut(per), 1, &|chunk: &mut [u32]| chunk.iter_mut().for_each(|x| *x += 1));
            }
            assert!(data.iter().all(|&x| x == 100), "{rows} rows");
        }
        let too_many = std::panic::catch_unwind(|| super::run_each(0..n + 1, 1, &|_| ()));
        assert!(too_many.is_err());
    }

    #[test]
    fn zeros_clears_memory_it_reuses() {
        let min = super::SHARED_ZEROS_MIN;
        for len in [0, 1, 4095, min - 1, min, min + 1, 3 * min + 7] {
            // a freed block of ones first, which the allocator may hand back
            drop(vec![1.0f32; len]);
            let z: Vec<f32> = super::zeros(len);
            assert_eq!(z.len(), len);
            assert!(z.iter().all(|&v| v.to_bits() == 0), "{len} zeros");
            let z: Vec<f64> = super::zeros(len);
            assert!(z.len() == len && z.iter().all(|&v| v.to_bits() == 0), "{len} zeros in f64");
        }
    }

    #[test]
    fn a_nested_run_runs_inline() {
        let n = super::threads();
        let hits = AtomicUsize::new(0);
        super::run(1, &|_| {
            super::run(1, &|_| {
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
                super::run(1, &|part| {
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
                        super::run(1, &|_| {
                            hits.fetch_add(1, Ordering::Relaxed);
                        });
                        assert_eq!(hits.load(Ordering::Relaxed), n);
                    }
                });
            }
        });
    }
}
