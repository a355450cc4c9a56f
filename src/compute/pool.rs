//! A persistent worker pool for splitting one large matrix product across cores, step after
//! step, without spawning threads or allocating: a job is a function pointer and a data
//! pointer handed over under a mutex; workers spin briefly on an atomic epoch (a step's product
//! follows the last within microseconds), then sleep on a condition variable.
//!
//! `rayon` would do, but its global queue allocates a block every few dozen injected jobs, and
//! the per-step loops of this crate promise (and test) no allocation at all.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

/// How long a thread spins on an atomic before it sleeps on the condition variable: a step's
/// product takes tens to hundreds of microseconds, a sleep and wake-up several.
const SPIN: u32 = 1 << 16;

/// A job: call `f(data, part)` for `part` in `0..parts`.
#[derive(Clone, Copy)]
struct Job {
    f: unsafe fn(*const (), usize),
    data: *const (),
}

// SAFETY: a job's data outlives the `run` call that publishes it, and `run` returns only after
// every worker has finished with it.
unsafe impl Send for Job {}

struct Pool {
    /// Bumped for every job; workers wait for it to change.
    epoch: AtomicU64,
    /// Parts still running on workers.
    remaining: AtomicUsize,
    job: Mutex<Option<Job>>,
    work: Condvar,
    done: Condvar,
    /// Callers of `run` take turns (a pool runs one job at a time).
    turn: Mutex<()>,
    /// Workers asleep on `work` (changed under the `job` lock): a job wakes them with a system
    /// call only when there are any.
    sleepers: AtomicUsize,
    /// Whether the caller of `run` is asleep on `done` (changed under the `job` lock).
    caller_asleep: AtomicBool,
    workers: usize,
}

static POOL: OnceLock<&'static Pool> = OnceLock::new();
static THREADS: OnceLock<usize> = OnceLock::new();

/// Sets the number of threads (the caller plus `n - 1` workers). Effective only before the pool's
/// first use; returns the number in force.
pub fn set_threads(n: usize) -> usize {
    *THREADS.get_or_init(|| n.max(1))
}

/// Threads a parallel job runs on.
pub fn threads() -> usize {
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn pool() -> Option<&'static Pool> {
    let n = threads();
    if n < 2 {
        return None;
    }
    Some(POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            epoch: AtomicU64::new(0),
            remaining: AtomicUsize::new(0),
            job: Mutex::new(None),
            work: Condvar::new(),
            done: Condvar::new(),
            turn: Mutex::new(()),
            sleepers: AtomicUsize::new(0),
            caller_asleep: AtomicBool::new(false),
            workers: n - 1,
        }));
        for w in 0..n - 1 {
            std::thread::Builder::new()
                .name(format!("rnn-worker-{w}"))
                .spawn(move || worker(pool, w + 1))
                .expect("spawning a worker thread");
        }
        pool
    }))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Spins until `ready()` or the spin budget is spent; returns whether it became ready.
fn spin_until(ready: impl Fn() -> bool) -> bool {
    for _ in 0..SPIN {
        if ready() {
            return true;
        }
        std::hint::spin_loop();
    }
    ready()
}

fn worker(pool: &'static Pool, part: usize) {
    let mut seen = 0;
    loop {
        if !spin_until(|| pool.epoch.load(Ordering::Acquire) != seen) {
            let mut job = lock(&pool.job);
            while pool.epoch.load(Ordering::Acquire) == seen {
                pool.sleepers.fetch_add(1, Ordering::AcqRel);
                job = pool.work.wait(job).unwrap_or_else(|p| p.into_inner());
                pool.sleepers.fetch_sub(1, Ordering::AcqRel);
            }
        }
        seen = pool.epoch.load(Ordering::Acquire);
        let job = *lock(&pool.job);
        if let Some(job) = job {
            // SAFETY: see `Job`.
            unsafe { (job.f)(job.data, part) };
        }
        if pool.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            // the last part: wake the caller if it went to sleep (under the lock, so the
            // wake-up cannot fall between its check and its wait)
            let _guard = lock(&pool.job);
            if pool.caller_asleep.load(Ordering::Acquire) {
                pool.done.notify_one();
            }
        }
    }
}

/// Runs `f(part)` for every `part` in `0..threads()`, part 0 on the calling thread, and returns
/// when all are done. Without workers (one thread) it just calls `f(0)`.
pub fn run<G: Fn(usize) + Sync>(f: &G) {
    let Some(pool) = pool() else {
        f(0);
        return;
    };
    unsafe fn call<G: Fn(usize)>(data: *const (), part: usize) {
        // SAFETY: `data` is the `&G` that `run` published and keeps alive until all parts end.
        unsafe { (*(data as *const G))(part) }
    }
    let _turn = lock(&pool.turn);
    {
        let mut job = lock(&pool.job);
        *job = Some(Job { f: call::<G>, data: f as *const G as *const () });
        pool.remaining.store(pool.workers, Ordering::Release);
        pool.epoch.fetch_add(1, Ordering::AcqRel);
        // workers still spinning see the epoch change; only sleeping ones need the call
        if pool.sleepers.load(Ordering::Acquire) > 0 {
            pool.work.notify_all();
        }
    }
    f(0);
    if !spin_until(|| pool.remaining.load(Ordering::Acquire) == 0) {
        let mut job = lock(&pool.job);
        while pool.remaining.load(Ordering::Acquire) > 0 {
            pool.caller_asleep.store(true, Ordering::Release);
            job = pool.done.wait(job).unwrap_or_else(|p| p.into_inner());
            pool.caller_asleep.store(false, Ordering::Release);
        }
    }
    *lock(&pool.job) = None;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn every_part_runs_once_per_job() {
        let n = super::threads();
        for _ in 0..100 {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            super::run(&|part| {
                hits[part].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }
}
