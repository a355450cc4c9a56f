//! A step split in two halves by hidden units, the second half offered to a partner thread of
//! the stepper's own that steps in lockstep with the caller: one word each way per layer step
//! (the offer, then `done`), the step's rows and states passed in memory the two share.
//!
//! A pool job per step costs more: the books' clock readings, an offer spread over several
//! cache lines, a claim and a lock per part, each a hand-off between the cores. Measured on
//! the 2-core AMD EPYC (Zen 4, `RNN_ISA=avx2`, H = 128, input 32, batch 1, `examples/
//! stream_step`, four rounds alternating with the pool's split step of before): the Elman step
//! 0.78-0.82 µs (before: 1.07, on one thread, as splitting it on the pool lost), the LSTM's
//! 2.39-2.56 (2.70-2.77), the GRU's 1.84-1.87 (2.24-2.27). In one of the host's slow stretches
//! (four rounds; one thread: 1.07 / 3.97 / 3.00): 1.12-1.14 / 3.78-4.07 / 3.01-3.13 against
//! 1.07 / 4.89-5.14 / 4.14-4.39 on the pool; with a busy loop on one core 1.12 / 4.06-4.09 /
//! 3.11 against 1.06 / 4.17 / 3.21.
//!
//! Never much slower than one thread:
//! - the caller claims the second half itself when the partner has not claimed it by the time
//!   the caller's own half is done (a partner the operating system does not run costs nothing
//!   but the speed-up);
//! - a partner that claimed its half and then stopped (its core taken by another process)
//!   makes the caller wait; a wait longer than [`STALL`] sends the stepper to one thread for a
//!   back-off of 30 ms, doubling up to 1 s while stalls follow each other within 2 s;
//! - the books ([`Books`]) time both ways and keep the faster, for the hand-offs cost what the
//!   host makes them cost;
//! - between steps the partner spins for about a millisecond, then sleeps until the next
//!   offer wakes it.

use std::any::Any;
use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::part::{PartWeights, Scratch, StepInput, run_part};
use crate::compute::pool::Line;
use crate::{Cell, Float, Nonlinearity};

/// Checks the partner makes for an offer before it sleeps (about a millisecond).
const PARTNER_SPIN: u32 = 1 << 15;
/// How long the caller waits for a claimed half before it counts a stall.
const STALL: Duration = Duration::from_micros(50);
/// The first back-off after a stall, and the longest.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(30), Duration::from_secs(1));
/// Steps on one thread between two readings of the clock during a back-off.
const SOLO_CHECK: u32 = 64;
/// Layer steps in a block of the books (see [`Books`]).
const BLOCK: u32 = 64;
/// Every this many blocks, two blocks run the other way: the first to warm it up (a partner
/// asleep wakes), the second timed.
const PROBE_EVERY: u64 = 128;

/// The inputs of an offered half: written by the caller before the offer, read by whichever
/// thread claims the half.
struct Input<F> {
    layer: usize,
    in_size: usize,
    /// `[batch, in_size + state]`.
    xh: Vec<F>,
    /// `[batch, state]`.
    h_prev: Vec<F>,
    /// `[batch, hidden]` (an LSTM's), else empty.
    c_prev: Vec<F>,
}

/// What the caller and the partner share.
///
/// `input` and `scratch` are written by one thread at a time, by this protocol: the caller
/// writes `input` only while no half is on offer or running (before it publishes the step in
/// `claim`, having either run the step before's half itself or seen the partner's `done` for
/// it); the thread whose compare-and-swap sets the step's taken bit in `claim` is the only one
/// that reads `input` and writes `scratch` for that step, and the partner publishes `done`
/// after its last access; the caller reads `scratch` after it ran the half itself or saw
/// `done`. The release stores and acquire loads of `claim` and `done` order these accesses.
struct Shared<F: Float> {
    /// `step << 1 | taken`: the newest step offered and whether its half has been claimed.
    claim: Line<AtomicU64>,
    /// The newest step whose half the partner has finished.
    done: Line<AtomicU64>,
    /// Set by the partner before it sleeps, cleared when it wakes.
    asleep: AtomicBool,
    /// Set when the stepper is dropped: the partner returns.
    stop: AtomicBool,
    /// A panic of the partner's half (a bug: the half checks nothing of the caller's), resumed
    /// in the caller, which would otherwise wait for the half for ever.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    cell: Cell,
    act: Nonlinearity,
    batch: usize,
    state: usize,
    hidden: usize,
    /// Per layer, the second half's weights.
    weights: Vec<PartWeights<F>>,
    input: UnsafeCell<Input<F>>,
    scratch: UnsafeCell<Scratch<F>>,
}

// SAFETY: `input` and `scratch` are accessed by one thread at a time under the protocol above
// (see `Shared`); every other field is immutable after construction or atomic. `F` is `f32`
// or `f64`, and `PartWeights` owns plain vectors.
unsafe impl<F: Float> Sync for Shared<F> {}

impl<F: Float> Shared<F> {
    /// Runs the half of the step whose inputs are in `input`.
    ///
    /// # Safety
    /// The calling thread holds the half of the current step: it set the step's taken bit in
    /// `claim`; no other thread accesses `input` or `scratch` until it is done (see `Shared`).
    unsafe fn run_half(&self) {
        // SAFETY: this thread holds the half (the function's contract).
        let (input, scratch) = unsafe { (&*self.input.get(), &mut *self.scratch.get()) };
        let step = StepInput {
            cell: self.cell,
            act: self.act,
            batch: self.batch,
            xh: &input.xh[..self.batch * (input.in_size + self.state)],
            in_size: input.in_size,
            state: self.state,
            hidden: self.hidden,
            h_prev: &input.h_prev,
            c_prev: &input.c_prev,
        };
        run_part(&self.weights[input.layer], &step, scratch);
    }

    /// The partner's life: wait for an offer newer than the last it saw, claim its half and run
    /// it, until `stop`.
    fn partner(&self) {
        let mut seen = 0;
        while let Some(word) = self.next_offer(seen) {
            seen = word >> 1;
            if word & 1 == 0
                && self.claim.0.compare_exchange(word, word | 1, Ordering::AcqRel, Ordering::Acquire).is_ok()
            {
                // SAFETY: the compare-and-swap set the step's taken bit: the half is this
                // thread's until `done` says otherwise.
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| unsafe { self.run_half() })) {
                    self.panic.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(payload);
                }
                self.done.0.store(seen, Ordering::Release);
            }
        }
    }

    /// The claim word once it names a step newer than `seen` (spinning, then asleep), or
    /// `None` once `stop` is set.
    fn next_offer(&self, seen: u64) -> Option<u64> {
        loop {
            for _ in 0..PARTNER_SPIN {
                let word = self.claim.0.load(Ordering::Acquire);
                if word >> 1 > seen {
                    return Some(word);
                }
                if self.stop.load(Ordering::Relaxed) {
                    return None;
                }
                std::hint::spin_loop();
            }
            // Asleep from here: the caller stores its offer, then reads `asleep` (both SeqCst),
            // so either it sees the flag and wakes this thread, or the load below sees the offer.
            self.asleep.store(true, Ordering::SeqCst);
            let word = self.claim.0.load(Ordering::SeqCst);
            if self.stop.load(Ordering::SeqCst) {
                return None;
            }
            if word >> 1 <= seen {
                std::thread::park();
            }
            self.asleep.store(false, Ordering::Relaxed);
        }
    }
}

/// Which way is faster now, paired or on one thread, by the clock: the layer steps are timed in
/// blocks of [`BLOCK`], each block run one way; the way whose last three blocks' median time a
/// step is lower runs, and every [`PROBE_EVERY`] blocks a probe times the other (a median, so
/// that one block with a stall in it does not decide). One reading of the clock a block. The
/// two ways do the same work per step (unlike a pool's jobs, which differ), so their times
/// compare directly; what the caller does between steps adds to both alike.
/// Needed because the hand-offs cost what the host makes them cost: on the 2-core EPYC VM, in
/// stretches when its two CPUs are far apart, the paired Elman step at H = 128 took 1.70-1.76
/// µs against 1.07 on one thread (0.78-0.79 otherwise; a build that never probed). The probes
/// cost the way not taken: every 32 blocks, the LSTM step took 2.58-2.62 µs against 2.36-2.38
/// without probes; every 128 blocks, 2.39-2.56.
#[derive(Debug, Default)]
struct Books {
    /// Seconds a layer step in the last three timed blocks, paired and on one thread.
    paired: Recent,
    solo: Recent,
    /// Blocks begun.
    blocks: u64,
    /// Layer steps of the current block so far, how it runs, whether it is timed, since when.
    steps: u32,
    paired_now: bool,
    timed: bool,
    start: Option<Instant>,
}

impl Books {
    /// Whether the current layer step runs paired (beginning a block when the last ended).
    fn paired(&mut self) -> bool {
        if self.steps == 0 {
            let phase = self.blocks % PROBE_EVERY;
            self.blocks += 1;
            // paired until one thread has been timed faster
            let better = match (self.paired.median(), self.solo.median()) {
                (Some(p), Some(s)) => p <= s,
                _ => true,
            };
            let probe = phase >= PROBE_EVERY - 2;
            self.paired_now = better != probe;
            self.timed = phase != PROBE_EVERY - 2;
            self.start = Some(Instant::now());
        }
        self.paired_now
    }

    /// Counts the layer step just run (`paired`: whether it was offered; a block in which the
    /// way changed, for a back-off, is not booked); at a block's end, books its time.
    fn done(&mut self, paired: bool) {
        self.timed &= paired == self.paired_now;
        self.steps += 1;
        if self.steps < BLOCK {
            return;
        }
        self.steps = 0;
        if let (true, Some(start)) = (self.timed, self.start) {
            let per_step = start.elapsed().as_secs_f64() / f64::from(BLOCK);
            if self.paired_now { &mut self.paired } else { &mut self.solo }.push(per_step);
        }
    }
}

/// The last three values booked.
#[derive(Debug, Default)]
struct Recent {
    values: [f64; 3],
    len: usize,
    next: usize,
}

impl Recent {
    fn push(&mut self, v: f64) {
        self.values[self.next] = v;
        self.next = (self.next + 1) % 3;
        self.len = (self.len + 1).min(3);
    }

    /// The median of the values booked (of two, the larger), or `None` before the first.
    fn median(&self) -> Option<f64> {
        let mut v = self.values;
        let v = &mut v[..self.len];
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    }
}

/// The second half of every layer's step, run by a partner thread (or, when it is late, by the
/// caller).
pub(super) struct Pair<F: Float> {
    shared: Arc<Shared<F>>,
    partner: Option<JoinHandle<()>>,
    books: Books,
    /// The last step offered.
    step: u64,
    /// Until when every half runs on the calling thread (after a stall), and the back-off.
    solo_until: Option<Instant>,
    backoff: Duration,
    last_stall: Option<Instant>,
    solo_steps: u32,
}

impl<F: Float> Pair<F> {
    /// A pair whose partner runs `weights` (the second half of each layer) for `batch` streams
    /// of a `cell` layer; `xh` and `gates · units` size the shared memory. Without a partner
    /// thread (`partner` false, or none could be started) the caller runs both halves.
    pub(super) fn new(
        weights: Vec<PartWeights<F>>,
        cell: Cell,
        act: Nonlinearity,
        batch: usize,
        (xh, state, hidden): (usize, usize, usize),
        (units, gates): (usize, usize),
        partner: bool,
    ) -> Self {
        let lstm = cell == Cell::Lstm;
        let shared = Arc::new(Shared {
            claim: Line(AtomicU64::new(0)),
            done: Line(AtomicU64::new(0)),
            asleep: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            panic: Mutex::new(None),
            cell,
            act,
            batch,
            state,
            hidden,
            weights,
            input: UnsafeCell::new(Input {
                layer: 0,
                in_size: 0,
                xh: vec![F::zero(); xh],
                h_prev: vec![F::zero(); batch * state],
                c_prev: vec![F::zero(); if lstm { batch * hidden } else { 0 }],
            }),
            scratch: UnsafeCell::new(Scratch::new(batch, units, gates)),
        });
        let theirs = Arc::clone(&shared);
        let partner = partner
            .then(|| std::thread::Builder::new().name("rnn-stepper".into()).spawn(move || theirs.partner()).ok())
            .flatten();
        Pair {
            shared,
            partner,
            books: Books::default(),
            step: 0,
            solo_until: None,
            backoff: BACKOFF.0,
            last_stall: None,
            solo_steps: 0,
        }
    }

    /// The second half's weights of layer `layer`.
    pub(super) fn weights(&self, layer: usize) -> &PartWeights<F> {
        &self.shared.weights[layer]
    }

    /// One layer's step: offers the second half of layer `layer` (whose inputs `step` gives),
    /// runs `own` (the first half) here, then takes the second half back if the partner has
    /// not claimed it, or waits for it; returns the second half's results.
    pub(super) fn run(&mut self, layer: usize, step: &StepInput<'_, F>, own: impl FnOnce()) -> &Scratch<F> {
        let wanted = self.books.paired();
        let solo = self.partner.is_none() || self.in_backoff() || !wanted;
        let shared = &*self.shared;
        if solo {
            // Nothing offered (the claim word still names an older step, taken, and the partner
            // claims only newer untaken ones), so the half is this thread's, on its own inputs.
            own();
            // SAFETY: no half is on offer or running (see `Shared`): `scratch` is this thread's.
            run_part(&shared.weights[layer], step, unsafe { &mut *shared.scratch.get() });
            self.step += 1;
            self.books.done(false);
            // SAFETY: as above, until the next `run`, which takes `&mut self`.
            return unsafe { &*self.shared.scratch.get() };
        }
        // SAFETY: no half is on offer or running: the last one offered was run here or seen
        // done below before `run` returned (see `Shared`), so this thread alone holds `input`.
        let input = unsafe { &mut *shared.input.get() };
        input.layer = layer;
        input.in_size = step.in_size;
        input.xh[..step.xh.len()].copy_from_slice(step.xh);
        let (nh, nc) = (input.h_prev.len(), input.c_prev.len());
        input.h_prev.copy_from_slice(&step.h_prev[..nh]);
        input.c_prev.copy_from_slice(&step.c_prev[..nc]);
        self.step += 1;
        let offered = self.step << 1;
        shared.claim.0.store(offered, Ordering::SeqCst);
        if shared.asleep.load(Ordering::SeqCst)
            && let Some(partner) = &self.partner
        {
            partner.thread().unpark();
        }
        // a panic in the caller's own half unwinds only once the offered half is settled (taken
        // back, or finished), so that a stepper used again never writes `input` under it
        let own = catch_unwind(AssertUnwindSafe(own));
        let taken_back =
            shared.claim.0.compare_exchange(offered, offered | 1, Ordering::AcqRel, Ordering::Acquire).is_ok();
        if !taken_back {
            self.wait_done();
        }
        if let Err(payload) = own {
            resume_unwind(payload);
        }
        if taken_back {
            // SAFETY: this thread set the step's taken bit: the half is its own.
            unsafe { self.shared.run_half() };
        } else if let Some(payload) = self.shared.panic.lock().unwrap_or_else(PoisonError::into_inner).take() {
            resume_unwind(payload);
        }
        self.books.done(true);
        // SAFETY: the half has finished (run above, or `done` seen with acquire ordering), and
        // nothing is offered until the next `run`, which takes `&mut self`.
        unsafe { &*self.shared.scratch.get() }
    }

    /// Whether the stepper is in a back-off after a stall (the clock read every
    /// [`SOLO_CHECK`] steps).
    fn in_backoff(&mut self) -> bool {
        let Some(until) = self.solo_until else { return false };
        self.solo_steps += 1;
        if self.solo_steps < SOLO_CHECK {
            return true;
        }
        self.solo_steps = 0;
        if Instant::now() < until {
            return true;
        }
        self.solo_until = None;
        false
    }

    /// Waits for the partner's `done` of the current step: spinning, then (after [`STALL`])
    /// yielding, and starting a back-off.
    fn wait_done(&mut self) {
        let done = |s: &Shared<F>| s.done.0.load(Ordering::Acquire) >= self.step;
        let shared = &*self.shared;
        let mut start = None;
        let mut spins = 0u32;
        while !done(shared) {
            std::hint::spin_loop();
            spins += 1;
            if spins.is_multiple_of(256) {
                let t0 = *start.get_or_insert_with(Instant::now);
                if t0.elapsed() > STALL {
                    while !done(shared) {
                        std::thread::yield_now();
                    }
                    self.stalled();
                    return;
                }
            }
        }
    }

    /// A stall: one thread for a back-off, doubled if the last stall was recent.
    fn stalled(&mut self) {
        let now = Instant::now();
        self.backoff = match self.last_stall {
            Some(t) if now.duration_since(t) < Duration::from_secs(2) => (self.backoff * 2).min(BACKOFF.1),
            _ => BACKOFF.0,
        };
        self.last_stall = Some(now);
        self.solo_until = Some(now + self.backoff);
        self.solo_steps = 0;
    }
}

impl<F: Float> Drop for Pair<F> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(partner) = self.partner.take() {
            partner.thread().unpark();
            let _ = partner.join();
        }
    }
}

#[cfg(test)]
#[path = "pair_tests.rs"]
mod tests;
