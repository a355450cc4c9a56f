//! The pool's synchronisation: how a job is offered, how its parts are claimed and run, how
//! the caller waits, and how panics travel back. Written against `super::sync` so that
//! `tests/loom_pool.rs` model-checks this very file with loom's primitives.
//!
//! A job has `parts` parts, numbered from 0. The caller offers it and then claims parts itself
//! like any worker, from one atomic word (`claim`: the job's number and its next unclaimed
//! part), so a part no worker has picked up yet is simply done by the caller: a worker that the
//! operating system does not schedule (another process has its core) costs nothing but its
//! share of the speed-up. The caller then waits until every claimed part has finished, spinning
//! briefly, then asleep on a condition variable (so that a worker waiting for a core can take
//! the caller's). Panics inside a part are caught where they happen and resumed in the caller
//! once every part has finished, so `run` never unwinds while a worker still uses the job.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::PoisonError;

use super::sync::{AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering, spin_loop};

/// Bits of the claim word that count a job's parts; the job's number takes the others.
const PART_BITS: u32 = 8;
const PART_MASK: u64 = (1 << PART_BITS) - 1;
/// The most parts a job may have.
pub(super) const MAX_PARTS: usize = PART_MASK as usize;

/// A job: `f(data, part)` for every part in `0..parts`.
#[derive(Clone, Copy)]
struct Job {
    f: unsafe fn(*const (), usize),
    data: *const (),
    parts: usize,
    /// Its number: the claim word's high bits, and what workers wait to change.
    id: u64,
}

// SAFETY: `data` is dereferenced (by `f`) only by a thread that has claimed a part of the job
// while it was on offer, and `Pool::run` returns (or unwinds) only once every claimed part
// has finished; so the closure behind `data` (which is `Sync`) outlives every use.
unsafe impl Send for Job {}

/// What the lock guards.
struct Slot {
    /// The newest job offered (kept after it ends: its number no longer matches `claim`).
    job: Option<Job>,
    /// Workers asleep on `work`.
    sleepers: usize,
    /// Whether the caller of `run` is asleep on `finished`.
    caller_asleep: bool,
    /// Set by `shutdown`: workers return.
    shutdown: bool,
    /// The first panic of the current job's parts.
    panic: Option<Box<dyn Any + Send>>,
}

/// One pool: the caller of [`Pool::run`] plus the threads running [`Pool::work`].
pub(super) struct Pool {
    /// `job number << PART_BITS | next unclaimed part`.
    claim: AtomicU64,
    /// The newest job's number (0 before the first); workers wait for it to change.
    latest: AtomicU64,
    /// Parts of the current job finished.
    done: AtomicUsize,
    slot: Mutex<Slot>,
    /// Workers sleep here.
    work: Condvar,
    /// The caller sleeps here.
    finished: Condvar,
    /// Checks before a worker sleeps (a step's next product follows within microseconds).
    worker_spin: u32,
    /// Checks before the caller sleeps.
    caller_spin: u32,
}

impl Pool {
    /// A pool whose workers check `worker_spin` times for a job before they sleep, and whose
    /// caller checks `caller_spin` times for the last part before it sleeps.
    pub(super) fn new(worker_spin: u32, caller_spin: u32) -> Self {
        Pool {
            claim: AtomicU64::new(0),
            latest: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            slot: Mutex::new(Slot { job: None, sleepers: 0, caller_asleep: false, shutdown: false, panic: None }),
            work: Condvar::new(),
            finished: Condvar::new(),
            worker_spin,
            caller_spin,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // a panic never happens while the lock is held (parts run outside it)
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks `ready` up to `budget` times, pausing between checks; returns whether it became
    /// ready. (No `sched_yield` in between: with another process on the core, a yield hands
    /// it a whole time slice, milliseconds, while the next job comes in microseconds. A thread
    /// that must leave its core to another sleeps instead, after its budget.)
    fn spin(budget: u32, ready: impl Fn() -> bool) -> bool {
        for _ in 0..budget {
            if ready() {
                return true;
            }
            spin_loop();
        }
        ready()
    }

    /// Claims the next part of `job` if it is still on offer and has one left.
    fn claim(&self, job: Job) -> Option<usize> {
        let mut cur = self.claim.load(Ordering::Acquire);
        loop {
            let next = (cur & PART_MASK) as usize;
            if cur >> PART_BITS != job.id || next >= job.parts {
                return None;
            }
            match self.claim.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(next),
                Err(now) => cur = now,
            }
        }
    }

    /// Runs claimed part `part` of `job`, keeps its panic if it panics, and counts it done
    /// (waking the caller after the last).
    fn run_part(&self, job: Job, part: usize) {
        // SAFETY: the part was claimed while the job was on offer, so its `run` is waiting for
        // it (see `Job`): `data` is alive, and `f` is the `call::<G>` made for it.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (job.f)(job.data, part) }));
        if let Err(payload) = result {
            self.lock().panic.get_or_insert(payload);
        }
        if self.done.fetch_add(1, Ordering::AcqRel) + 1 == job.parts {
            // the last part: wake the caller if it sleeps (under the lock, so the wake-up
            // cannot fall between its check of `done` and its wait)
            if self.lock().caller_asleep {
                self.finished.notify_one();
            }
        }
    }

    /// Runs `f(part)` for every part in `0..parts` on the caller and the workers, and returns
    /// when all have finished; calls `helped(n)` when the caller has run the `n` parts it
    /// claimed and is about to wait for the rest. A panic in any part is resumed here after
    /// every part has finished. One caller at a time (the caller of the process-wide pool
    /// holds a lock).
    pub(super) fn run<G: Fn(usize) + Sync>(&self, parts: usize, f: &G, helped: impl FnOnce(usize)) {
        assert!((1..=MAX_PARTS).contains(&parts), "a job of {parts} parts");
        unsafe fn call<G: Fn(usize)>(data: *const (), part: usize) {
            // SAFETY: `data` is the `&G` that `run` published, alive while any part runs.
            unsafe { (*data.cast::<G>())(part) }
        }
        let job = {
            let mut slot = self.lock();
            let id = self.latest.load(Ordering::Relaxed) + 1;
            let job = Job { f: call::<G>, data: (f as *const G).cast(), parts, id };
            slot.job = Some(job);
            self.done.store(0, Ordering::Relaxed);
            self.claim.store(id << PART_BITS, Ordering::Release);
            self.latest.store(id, Ordering::Release);
            // spinning workers see `latest` change; only sleeping ones need the call
            if slot.sleepers > 0 {
                self.work.notify_all();
            }
            job
        };
        let mut mine = 0;
        while let Some(part) = self.claim(job) {
            self.run_part(job, part);
            mine += 1;
        }
        helped(mine);
        if !Self::spin(self.caller_spin, || self.done.load(Ordering::Acquire) == parts) {
            let mut slot = self.lock();
            while self.done.load(Ordering::Acquire) < parts {
                slot.caller_asleep = true;
                slot = self.finished.wait(slot).unwrap_or_else(PoisonError::into_inner);
                slot.caller_asleep = false;
            }
        }
        if let Some(payload) = self.lock().panic.take() {
            resume_unwind(payload);
        }
    }

    /// A worker's life: wait for a job (spinning, then asleep), claim and run its parts while
    /// any are left, and again, until [`shutdown`](Self::shutdown).
    pub(super) fn work(&self) {
        let mut seen = 0;
        loop {
            let job = {
                let ready = Self::spin(self.worker_spin, || self.latest.load(Ordering::Acquire) != seen);
                let mut slot = self.lock();
                if !ready {
                    while self.latest.load(Ordering::Acquire) == seen && !slot.shutdown {
                        slot.sleepers += 1;
                        slot = self.work.wait(slot).unwrap_or_else(PoisonError::into_inner);
                        slot.sleepers -= 1;
                    }
                }
                if slot.shutdown {
                    return;
                }
                seen = self.latest.load(Ordering::Acquire);
                slot.job
            };
            if let Some(job) = job {
                while let Some(part) = self.claim(job) {
                    self.run_part(job, part);
                }
            }
        }
    }

    /// Makes every worker return from [`work`](Self::work) once it is between jobs (the
    /// process-wide pool's workers live as long as the process; the tests' pools end).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn shutdown(&self) {
        let mut slot = self.lock();
        slot.shutdown = true;
        self.latest.fetch_add(1, Ordering::AcqRel);
        self.work.notify_all();
    }
}
