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
//!
//! The lock is for sleeping and panics only. A job is offered in atomics (`offer`), the
//! workers asleep are counted in the low bits of `latest` and the caller's sleep is a bit of
//! `done`, so that the two sides of each wake-up meet in one word's order of modifications;
//! a job takes no lock unless a thread sleeps. (Taking the lock on every job, the caller
//! returned 670-870 time-stamp-counter cycles after the worker's part ended, against 290-400
//! without: jobs of two 1.1 µs parts took 1,552-1,674 ns against 1,405-1,497, measured with
//! `examples/pool_rate.rs` on the 2-core AMD EPYC.)

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::PoisonError;

use super::sync::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering, spin_loop};

/// Bits of the claim word that count a job's parts; the job's number takes the others.
const PART_BITS: u32 = 8;
const PART_MASK: u64 = (1 << PART_BITS) - 1;
/// The most parts a job may have.
pub(super) const MAX_PARTS: usize = PART_MASK as usize;
/// Bits of `latest` that count the workers asleep; the job's number takes the others.
const SLEEPER_BITS: u32 = 16;
const SLEEPER_MASK: u64 = (1 << SLEEPER_BITS) - 1;
/// Job numbers run modulo 2^48 (a job a microsecond for nine years before they repeat).
const ID_MASK: u64 = (1 << (64 - SLEEPER_BITS)) - 1;
/// The bit of `done` the caller sets before it sleeps.
const CALLER_ASLEEP: usize = 1 << (usize::BITS - 1);

/// A part's function: `f(data, part)`.
type PartFn = unsafe fn(*const (), usize);

/// A job: `f(data, part)` for every part in `0..parts`.
#[derive(Clone, Copy)]
struct Job {
    f: PartFn,
    data: *const (),
    parts: usize,
    /// Its number: the claim word's high bits, and what workers wait to change.
    id: u64,
}

/// The job on offer, each field its own atomic: a worker reads them after it sees the job's
/// number in `latest`. `data` is dereferenced (by `f`) only by a thread that has claimed a
/// part of the job while it was on offer, and `Pool::run` returns (or unwinds) only once every
/// claimed part has finished; so the closure behind it (which is `Sync`) outlives every use.
/// A worker late enough to read some fields of the next job claims nothing with them: the
/// next job is written only once every part of its number's job has been claimed, and the
/// claim word is read by a read-modify-write that the field's acquire load orders after those
/// claims (see `Pool::offered`).
struct Offer {
    /// The job's `f`, as a data pointer (null before the first job).
    f: AtomicPtr<()>,
    data: AtomicPtr<()>,
    parts: AtomicUsize,
}

/// A value on a cache line (and the line beside it, which x86 cores prefetch in pairs) of its
/// own, so that the words the caller and the workers write do not share lines.
#[repr(align(128))]
pub(crate) struct Line<T>(pub(crate) T);

/// What the lock guards.
struct Slot {
    /// The first panic of the current job's parts.
    panic: Option<Box<dyn Any + Send>>,
}

/// One pool: the caller of [`Pool::run`] plus the threads running [`Pool::work`].
pub(super) struct Pool {
    offer: Line<Offer>,
    /// `job number << PART_BITS | next unclaimed part`.
    claim: Line<AtomicU64>,
    /// `newest job's number << SLEEPER_BITS | workers asleep` (number 0 before the first job).
    latest: Line<AtomicU64>,
    /// Parts of the current job finished, and [`CALLER_ASLEEP`].
    done: Line<AtomicUsize>,
    /// Whether `slot.panic` holds a panic of the current job.
    panicked: AtomicBool,
    /// Set by `shutdown` (under the lock, which sleeping workers check it under): workers
    /// return.
    stopping: AtomicBool,
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
            offer: Line(Offer {
                f: AtomicPtr::new(std::ptr::null_mut()),
                data: AtomicPtr::new(std::ptr::null_mut()),
                parts: AtomicUsize::new(0),
            }),
            claim: Line(AtomicU64::new(0)),
            latest: Line(AtomicU64::new(0)),
            done: Line(AtomicUsize::new(0)),
            panicked: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            slot: Mutex::new(Slot { panic: None }),
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
        let mut cur = self.claim.0.load(Ordering::Acquire);
        loop {
            let next = (cur & PART_MASK) as usize;
            if cur >> PART_BITS != job.id || next >= job.parts {
                return None;
            }
            match self.claim.0.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(next),
                Err(now) => cur = now,
            }
        }
    }

    /// Runs claimed part `part` of `job`, keeps its panic if it panics, and counts it done
    /// (waking the caller if it sleeps and this was the last).
    fn run_part(&self, job: Job, part: usize) {
        // SAFETY: the part was claimed while the job was on offer, so its `run` is waiting for
        // it (see `Offer`): `data` is alive, and `f` is the `call::<G>` made for it.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (job.f)(job.data, part) }));
        if let Err(payload) = result {
            self.lock().panic.get_or_insert(payload);
            // before the count below, whose release the caller acquires
            self.panicked.store(true, Ordering::Relaxed);
        }
        let before = self.done.0.fetch_add(1, Ordering::AcqRel);
        if before & CALLER_ASLEEP != 0 && (before & !CALLER_ASLEEP) + 1 == job.parts {
            // The caller set its bit before this count (the word's order), holding the lock
            // until it waits: taking the lock, the wake-up cannot come before the wait.
            let _slot = self.lock();
            self.finished.notify_one();
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
        let id = ((self.latest.0.load(Ordering::Relaxed) >> SLEEPER_BITS) + 1) & ID_MASK;
        let job = Job { f: call::<G>, data: (f as *const G).cast(), parts, id };
        // the offer, before the number that announces it (released by the `fetch_add`)
        self.offer.0.f.store(job.f as *mut (), Ordering::Release);
        self.offer.0.data.store(job.data.cast_mut(), Ordering::Release);
        self.offer.0.parts.store(parts, Ordering::Release);
        self.done.0.store(0, Ordering::Relaxed);
        // part 0 is the caller's, claimed here
        self.claim.0.store(id << PART_BITS | 1, Ordering::Release);
        let before = self.latest.0.fetch_add(1 << SLEEPER_BITS, Ordering::AcqRel);
        if before & SLEEPER_MASK != 0 {
            // A worker counted itself asleep before this number (the word's order), holding
            // the lock until it waits: taking the lock, the call cannot come before its wait.
            let _slot = self.lock();
            self.work.notify_all();
        }
        self.run_part(job, 0);
        let mut mine = 1;
        while let Some(part) = self.claim(job) {
            self.run_part(job, part);
            mine += 1;
        }
        helped(mine);
        let finished = |d: usize| d & !CALLER_ASLEEP == parts;
        if !Self::spin(self.caller_spin, || finished(self.done.0.load(Ordering::Acquire))) {
            let mut slot = self.lock();
            // asleep from here on: a part finishing after this sees the bit and wakes it
            if !finished(self.done.0.fetch_or(CALLER_ASLEEP, Ordering::AcqRel)) {
                while !finished(self.done.0.load(Ordering::Acquire)) {
                    slot = self.finished.wait(slot).unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
        if self.panicked.load(Ordering::Acquire) {
            self.panicked.store(false, Ordering::Relaxed);
            if let Some(payload) = self.lock().panic.take() {
                resume_unwind(payload);
            }
        }
    }

    /// The job announced as number `id` (seen in `latest`), read from the offer.
    fn offered(&self, id: u64) -> Job {
        // Acquire: a field written for a later job orders this thread's claim after every
        // claim of job `id` (they happened before `run` returned, before that write), so the
        // claim fails; fields of job `id` itself are all written before its number.
        let f = self.offer.0.f.load(Ordering::Acquire);
        let data = self.offer.0.data.load(Ordering::Acquire);
        let parts = self.offer.0.parts.load(Ordering::Acquire);
        // SAFETY: `latest` changed (the first job, or a later one, was announced) and the pool
        // is not stopping, so `f` was stored from a `PartFn` (`call::<G>`) and is one.
        let f = unsafe { std::mem::transmute::<*mut (), PartFn>(f) };
        Job { f, data: data.cast_const(), parts, id }
    }

    /// A worker's life: wait for a job (spinning, then asleep), claim and run its parts while
    /// any are left, and again, until [`shutdown`](Self::shutdown).
    pub(super) fn work(&self) {
        let mut seen = 0;
        loop {
            let announced = |v: u64| v >> SLEEPER_BITS != seen;
            if !Self::spin(self.worker_spin, || announced(self.latest.0.load(Ordering::Acquire))) {
                let mut slot = self.lock();
                // count this worker asleep; a job announced after the count sees it and wakes it
                while !announced(self.latest.0.fetch_add(1, Ordering::AcqRel)) && !self.stopping.load(Ordering::Acquire)
                {
                    slot = self.work.wait(slot).unwrap_or_else(PoisonError::into_inner);
                    self.latest.0.fetch_sub(1, Ordering::AcqRel);
                }
                self.latest.0.fetch_sub(1, Ordering::AcqRel);
            }
            if self.stopping.load(Ordering::Acquire) {
                return;
            }
            seen = self.latest.0.load(Ordering::Acquire) >> SLEEPER_BITS;
            let job = self.offered(seen);
            while let Some(part) = self.claim(job) {
                self.run_part(job, part);
            }
        }
    }

    /// Makes every worker return from [`work`](Self::work) once it is between jobs (the
    /// process-wide pool's workers live as long as the process; the tests' pools end).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn shutdown(&self) {
        let _slot = self.lock();
        self.stopping.store(true, Ordering::Release);
        self.latest.0.fetch_add(1 << SLEEPER_BITS, Ordering::AcqRel);
        self.work.notify_all();
    }
}
