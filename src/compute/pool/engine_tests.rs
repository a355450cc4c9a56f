//! The engine on std's threads: every part once, the caller alone, panics (loom checks the
//! interleavings in `tests/loom_pool.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::engine::Pool;

/// A pool of `workers` threads, run through `jobs`, then shut down and joined (also when
/// `jobs` panics, so that a failing test fails rather than waits for its workers forever).
fn with_pool(workers: usize, worker_spin: u32, caller_spin: u32, jobs: impl FnOnce(&Pool)) {
    let pool = Pool::new(worker_spin, caller_spin);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| pool.work());
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| jobs(&pool)));
        pool.shutdown();
        if let Err(payload) = result {
            std::panic::resume_unwind(payload);
        }
    });
}

#[test]
fn every_part_runs_once_whether_workers_spin_or_sleep() {
    for (spin, parts) in [(0, 2), (1 << 12, 3), (1, 7)] {
        with_pool(parts - 1, spin, spin, |pool| {
            for _ in 0..500 {
                let hits: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
                pool.run(
                    parts,
                    &|p| {
                        hits[p].fetch_add(1, Ordering::Relaxed);
                    },
                    |_| {},
                );
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            }
        });
    }
}

#[test]
fn the_caller_takes_every_part_when_no_worker_comes() {
    // no workers at all: the caller claims all parts itself and never waits
    with_pool(0, 0, 0, |pool| {
        let mut mine = 0;
        let hits = AtomicUsize::new(0);
        pool.run(
            4,
            &|_| {
                hits.fetch_add(1, Ordering::Relaxed);
            },
            |m| mine = m,
        );
        assert_eq!((mine, hits.load(Ordering::Relaxed)), (4, 4));
    });
}

#[test]
fn a_worker_panic_is_resumed_in_the_caller() {
    with_pool(1, 0, 0, |pool| {
        for _ in 0..20 {
            let result = std::panic::catch_unwind(|| {
                pool.run(
                    2,
                    &|p| {
                        if p == 1 {
                            panic!("boom");
                        }
                    },
                    |_| {},
                )
            });
            assert!(result.is_err());
            // and the pool still works
            let hits = AtomicUsize::new(0);
            pool.run(
                2,
                &|_| {
                    hits.fetch_add(1, Ordering::Relaxed);
                },
                |_| {},
            );
            assert_eq!(hits.load(Ordering::Relaxed), 2);
        }
    });
}

#[test]
fn a_sleeping_worker_wakes_for_each_job() {
    // The caller runs part 0, which waits for part 1 to start on the worker: the worker sleeps
    // between jobs (no spinning) and must be woken by each new job, or part 0 times out.
    with_pool(1, 0, 0, |pool| {
        for job in 0..50 {
            let started = std::sync::atomic::AtomicBool::new(false);
            let met = std::sync::atomic::AtomicBool::new(false);
            pool.run(
                2,
                &|p| {
                    if p == 1 {
                        started.store(true, Ordering::Release);
                        return;
                    }
                    let t = std::time::Instant::now();
                    while t.elapsed() < std::time::Duration::from_secs(5) {
                        if started.load(Ordering::Acquire) {
                            met.store(true, Ordering::Relaxed);
                            return;
                        }
                        std::thread::yield_now();
                    }
                },
                |_| {},
            );
            assert!(met.load(Ordering::Relaxed), "job {job}: the worker slept through it");
            // let the worker fall asleep before the next job
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
}
