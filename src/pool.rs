//! A persistent worker pool for splitting one large matrix product across cores, step after
//! step, without spawning threads or allocating: a job is a function pointer and a data
//! pointer handed over under a mutex, workers sleep on a condition variable between jobs.
//!
//! `rayon` would do, but its global queue allocates a block every few dozen injected jobs, and
//! the per-step loops of this crate promise (and test) no allocation at all.

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

/// A job: call `f(data, part)` for `part` in `0..parts`.
#[derive(Clone, Copy)]
struct Job {
    f: unsafe fn(*const (), usize),
    data: *const (),
}

// SAFETY: a job's data outlives the `run` call that publishes it, and `run` returns only after
// every worker has finished with it.
unsafe impl Send for Job {}

struct State {
    epoch: u64,
    job: Option<Job>,
    remaining: usize,
}

struct Pool {
    state: Mutex<State>,
    work: Condvar,
    done: Condvar,
    /// Callers of `run` take turns (a pool runs one job at a time).
    turn: Mutex<()>,
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
            state: Mutex::new(State { epoch: 0, job: None, remaining: 0 }),
            work: Condvar::new(),
            done: Condvar::new(),
            turn: Mutex::new(()),
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

fn worker(pool: &'static Pool, part: usize) {
    let mut seen = 0;
    loop {
        let job = {
            let mut s = lock(&pool.state);
            while s.epoch == seen {
                s = pool.work.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            seen = s.epoch;
            s.job
        };
        if let Some(job) = job {
            // SAFETY: see `Job`.
            unsafe { (job.f)(job.data, part) };
        }
        let mut s = lock(&pool.state);
        s.remaining -= 1;
        if s.remaining == 0 {
            pool.done.notify_one();
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
        let mut s = lock(&pool.state);
        s.job = Some(Job { f: call::<G>, data: f as *const G as *const () });
        s.remaining = pool.workers;
        s.epoch += 1;
        pool.work.notify_all();
    }
    f(0);
    let mut s = lock(&pool.state);
    while s.remaining > 0 {
        s = pool.done.wait(s).unwrap_or_else(|p| p.into_inner());
    }
    s.job = None;
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
