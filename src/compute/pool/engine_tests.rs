//! The engine on std's threads: every part once, the caller alone, panics (loom checks the
//! interleavings in `tests/loom_pool.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::engine::Pool;

/// A pool of `workers` threads, run through `jobs`, then shut down and joined.
fn with_pool(workers: usize, worker_spin: u32, caller_spin: u32, jobs: impl FnOnce(&Pool)) {
    let pool = Pool::new(worker_spin, caller_spin);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| pool.work());
        }
        jobs(&pool);
        pool.shutdown();
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
