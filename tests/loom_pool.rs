//! The pool's synchronisation (`src/compute/pool/engine.rs`) model-checked with loom: every
//! interleaving of a caller and a worker (up to loom's preemption bound) through one or two
//! jobs and a shutdown, with each part's write made through a cell whose accesses loom checks
//! for data races. So a part's results are visible to the caller when `run` returns, no part
//! runs twice or not at all, a late worker never runs a finished job's part, and nothing
//! deadlocks (loom reports a deadlock as a failure).

/// What `engine.rs` imports from `super::sync`: loom's doubles.
mod sync {
    pub(super) use loom::hint::spin_loop;
    pub(super) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
    pub(super) use loom::sync::{Condvar, Mutex, MutexGuard};
}

#[path = "../src/compute/pool/engine.rs"]
#[allow(dead_code)]
mod engine;

use engine::Pool;
use loom::cell::UnsafeCell;
use loom::sync::Arc;

/// One cell per part.
struct Cells([UnsafeCell<usize>; 2]);
// SAFETY: part p touches only cell p, and the caller reads the cells only between jobs; loom
// checks exactly this (a racy access fails the model).
unsafe impl Sync for Cells {}

impl Cells {
    fn part(&self, p: usize) -> &UnsafeCell<usize> {
        &self.0[p]
    }
}

/// Runs `jobs` jobs of 2 parts on a pool of one worker; each part adds 1 to its own cell,
/// which the caller reads after `run`.
fn model(jobs: usize, worker_spin: u32, caller_spin: u32) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let pool = Arc::new(Pool::new(worker_spin, caller_spin));
        let worker = {
            let pool = pool.clone();
            loom::thread::spawn(move || pool.work())
        };
        let cells = Cells([UnsafeCell::new(0usize), UnsafeCell::new(0usize)]);
        for job in 1..=jobs {
            pool.run(
                2,
                &|p| {
                    // SAFETY (loom checks it): each part writes only its own cell, and only
                    // the thread that claimed the part runs it
                    cells.part(p).with_mut(|v| unsafe { *v += 1 });
                },
                |_| {},
            );
            for cell in &cells.0 {
                // SAFETY (loom checks it): read after `run`, which waited for both parts
                assert_eq!(cell.with(|v| unsafe { *v }), job);
            }
        }
        pool.shutdown();
        worker.join().expect("the worker ends");
    });
}

#[test]
fn one_job_with_workers_that_sleep() {
    model(1, 0, 0);
}

#[test]
fn one_job_with_workers_that_spin() {
    model(1, 1, 1);
}

#[test]
fn two_jobs_a_late_worker_cannot_run_the_first_again() {
    model(2, 0, 0);
}
