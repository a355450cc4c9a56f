//! A persistent worker pool for splitting one large matrix product across cores, step after
//! step, without spawning threads or allocating. The synchronisation is in `engine` (model-
//! checked with loom); this file holds the process-wide pool and the rules that keep it from
//! ever being much slower than one thread:
//!
//! - a `run` inside a part (or on a worker) runs its parts inline, in order, so nesting cannot
//!   deadlock; so does a `run` while another thread's job holds the pool;
//! - the caller claims parts like a worker, so a worker the operating system does not schedule
//!   only loses its share of the speed-up;
//! - the pool keeps the books: over every window of `WINDOW` of jobs it compares their wall
//!   time with what the calling thread alone would have taken (its own parts' time, per part,
//!   times the parts). A worker that claims a part and is then descheduled (another process
//!   busy on its core) makes the caller wait for milliseconds; when such waits cost the window
//!   more than the other threads gave it (the window ran slower than `SLOWER` times the
//!   one-thread estimate), the following jobs run on the calling thread alone for
//!   `BACKOFF_MIN`, doubling on each losing window up to `BACKOFF_MAX` and halving on each
//!   winning one; the pool is tried again after each back-off. So over time the pool is never
//!   much slower than one thread, whatever else the machine runs;
//! - that estimate cannot see the calling thread itself lose its core: when the operating
//!   system places it beside another busy process, its own parts and its wall time stretch
//!   alike, and the window looks like a draw while the job runs at half speed. So the window
//!   also asks the kernel (Linux's `/proc/thread-self/schedstat`) how long the calling thread
//!   waited, runnable, for a core: more than `DELAYED` of the window loses it too. Backing off,
//!   the workers go to sleep, a core falls idle and the scheduler moves the caller onto it, as
//!   it would a one-thread run.
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
/// The wall time of jobs over which the pool's speed is judged: long enough to hold several
/// of the scheduler's time slices (a few milliseconds each), so a window shows the waits they
/// cause in their true proportion.
const WINDOW: Duration = Duration::from_millis(30);
/// A window whose jobs took longer than this times the one-thread estimate loses.
const SLOWER: f64 = 0.97;
/// A window in which the calling thread waited, runnable, for a core for more than this
/// fraction of it loses.
const DELAYED: f64 = 0.05;
/// The first back-off, and the longest.
const BACKOFF_MIN: Duration = Duration::from_millis(30);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

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
    /// The current window: the jobs' wall time and the calling thread's estimate of them alone,
    /// in nanoseconds (written only by the thread holding `turn`).
    window_wall: AtomicU64,
    window_alone: AtomicU64,
    /// The current window's number and its start, in nanoseconds after `start`.
    window_id: AtomicU64,
    window_start: AtomicU64,
    start: Instant,
}

static SHARED: OnceLock<&'static Shared> = OnceLock::new();
static THREADS: OnceLock<usize> = OnceLock::new();

thread_local! {
    /// Whether this thread is running a part (or is a worker): a `run` from here runs inline.
    static BUSY: Cell<bool> = const { Cell::new(false) };
    /// The window this thread started and its run delay then (see [`run_delay`]).
    static WINDOW_DELAY: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// Nanoseconds the calling thread has spent runnable but waiting for a core (the second field
/// of Linux's `/proc/thread-self/schedstat`), or `None` where the kernel does not say. Reads
/// into a stack buffer: no allocation (the path is short enough for std's stack C string).
fn run_delay() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::io::Read;
        let mut file = std::fs::File::open("/proc/thread-self/schedstat").ok()?;
        let mut buf = [0u8; 96];
        let n = file.read(&mut buf).ok()?;
        std::str::from_utf8(&buf[..n]).ok()?.split_ascii_whitespace().nth(1)?.parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
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
        Shared {
            pool,
            turn: Mutex::new(()),
            resume_at: AtomicU64::new(0),
            backoff: AtomicU64::new(0),
            window_wall: AtomicU64::new(0),
            window_alone: AtomicU64::new(0),
            window_id: AtomicU64::new(0),
            window_start: AtomicU64::new(0),
            start,
        }
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    fn backing_off(&self, now: Instant) -> bool {
        self.nanos(now) < self.resume_at.load(Ordering::Relaxed)
    }

    /// Books a job of `parts` parts, of which the caller ran `mine` in `own`, that took `wall`
    /// and ended at `end`; at the end of a window, judges it (see the module docs). `delay`
    /// reads the calling thread's run delay ([`run_delay`]; the tests pass their own), once at
    /// each window's start and end.
    fn judge(
        &self,
        parts: usize,
        mine: usize,
        own: Duration,
        wall: Duration,
        end: Instant,
        delay: impl Fn() -> Option<u64>,
    ) {
        if mine == 0 {
            // the workers took every part: no estimate of the caller alone, and no wait
            return;
        }
        let alone = own.as_nanos() as f64 / mine as f64 * parts as f64;
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let booked = self.window_wall.load(Ordering::Relaxed);
        if booked == 0 {
            // a new window: note when, and this thread's run delay
            let id = self.window_id.fetch_add(1, Ordering::Relaxed) + 1;
            self.window_start.store(self.nanos(end - wall), Ordering::Relaxed);
            WINDOW_DELAY.set(delay().map(|d| (id, d)));
        }
        let wall = booked.saturating_add(nanos(wall));
        let alone = self.window_alone.load(Ordering::Relaxed).saturating_add(alone as u64);
        if wall < nanos(WINDOW) {
            self.window_wall.store(wall, Ordering::Relaxed);
            self.window_alone.store(alone, Ordering::Relaxed);
            return;
        }
        self.window_wall.store(0, Ordering::Relaxed);
        self.window_alone.store(0, Ordering::Relaxed);
        // the share of the window this thread waited for a core (if it started the window)
        let waited = match (WINDOW_DELAY.take(), delay()) {
            (Some((id, before)), Some(after)) if id == self.window_id.load(Ordering::Relaxed) => {
                let span = self.nanos(end).saturating_sub(self.window_start.load(Ordering::Relaxed)).max(1);
                after.saturating_sub(before) as f64 / span as f64
            }
            _ => 0.0,
        };
        let backoff = self.backoff.load(Ordering::Relaxed);
        if (alone as f64) < SLOWER * wall as f64 || waited > DELAYED {
            let next = (backoff * 2).clamp(nanos(BACKOFF_MIN), nanos(BACKOFF_MAX));
            self.backoff.store(next, Ordering::Relaxed);
            self.resume_at.store(self.nanos(end).saturating_add(next), Ordering::Relaxed);
        } else {
            self.backoff.store(if backoff > nanos(BACKOFF_MIN) { backoff / 2 } else { 0 }, Ordering::Relaxed);
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
    shared.judge(n, mine, helped - start, end - start, end, run_delay);
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
    fn a_window_slower_than_one_thread_backs_off_and_winning_ones_undo_it() {
        use super::{BACKOFF_MAX, BACKOFF_MIN, Pool, Shared, WINDOW};
        use std::time::{Duration, Instant};
        let start = Instant::now();
        let shared = Shared::new(Pool::new(1, 1), start);
        let us = Duration::from_micros;
        // a window of jobs of 2 parts that take 100 us each: the caller's part took 50 us, so
        // alone it would take 100 us: a draw (not slower), so no back-off
        let mut end = start;
        let mut window = |shared: &Shared, own: Duration, wall: Duration| {
            let jobs = WINDOW.as_micros() as u64 / wall.as_micros() as u64 + 1;
            for _ in 0..jobs {
                end += wall;
                shared.judge(2, 1, own, wall, end, || None);
            }
            end
        };
        let e = window(&shared, us(50), us(100));
        assert!(!shared.backing_off(e));
        // the worker descheduled mid-part: jobs take 300 us against 100 alone: back off
        let e = window(&shared, us(50), us(300));
        assert!(shared.backing_off(e));
        assert!(!shared.backing_off(e + BACKOFF_MIN + us(1)));
        // every losing window doubles it, up to the longest
        for _ in 0..20 {
            window(&shared, us(50), us(300));
        }
        assert_eq!(shared.backoff.load(Ordering::Relaxed), BACKOFF_MAX.as_nanos() as u64);
        // jobs that take half of the one-thread time halve it back, down to nothing
        for _ in 0..20 {
            window(&shared, us(50), us(50));
        }
        assert_eq!(shared.backoff.load(Ordering::Relaxed), 0);
        // the workers took every part: nothing is booked
        let booked = shared.window_wall.load(Ordering::Relaxed);
        shared.judge(2, 0, us(0), us(10_000), end, || None);
        assert_eq!(shared.window_wall.load(Ordering::Relaxed), booked);
    }

    #[test]
    fn a_window_in_which_the_caller_waited_for_a_core_backs_off() {
        use super::{Pool, Shared, WINDOW};
        use std::cell::Cell;
        use std::time::{Duration, Instant};
        let start = Instant::now();
        let shared = Shared::new(Pool::new(1, 1), start);
        // jobs of 2 parts taking 100 us, the caller's part 50 us: a draw by the estimate; the
        // caller's run delay grows by `waited` of each job's wall time
        let us = Duration::from_micros;
        let mut end = start;
        let mut window = |waited: f64| {
            let delay = Cell::new(0u64);
            let jobs = WINDOW.as_micros() as u64 / 100 + 1;
            for _ in 0..jobs {
                end += us(100);
                delay.set(delay.get() + (100_000.0 * waited) as u64);
                shared.judge(2, 1, us(50), us(100), end, || Some(delay.get()));
            }
            end
        };
        // 2% of the time waiting (a wake-up now and then): the pool stays on
        assert!(!shared.backing_off(window(0.02)));
        // half of it: the caller shares its core with another busy thread
        assert!(shared.backing_off(window(0.5)));
        // and the kernel says (Linux): the delay is read without allocating
        #[cfg(target_os = "linux")]
        assert!(super::run_delay().is_some());
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
