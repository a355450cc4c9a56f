//! The pool's books: whether the next job runs on the pool or inline on the calling thread, from
//! what the jobs before it measured. Pure bookkeeping (no clock: the caller passes the times
//! in, and the calling thread's run delay through a closure), so that the tests can play any
//! history through it.
//!
//! Three rules, each judged over a window of `WINDOW` of jobs' wall time:
//!
//! 1. The estimate (every window on the pool): the jobs' wall time against what the calling
//!    thread alone would have taken, its own parts' time per part times the parts. A worker
//!    that claims a part and is then descheduled (another process busy on its core) makes the
//!    caller wait for milliseconds; a window slower than `SLOWER` times the estimate loses.
//! 2. The run delay (every window): the time the calling thread waited, runnable, for a core
//!    (Linux's schedstat), as a share of the window. Placed beside another busy process, the
//!    caller's own parts and the wall time stretch alike, and the estimate sees a draw while
//!    the job runs at half speed; more than `DELAYED` of two windows in a row loses. (One
//!    alone does not: on an idle 2-core machine single windows of 6-10% came up every second
//!    or so, and each cost a back-off and a probe.)
//! 3. The probe (every so often): the estimate flatters the pool (the caller's parts run beside
//!    the workers', sharing caches and memory bandwidth), so now and then a window runs each
//!    job on the pool or inline at random, half and half, and compares the two sets' wall
//!    time per unit of cost (the multiply-adds the caller declares). Random assignment makes
//!    both sets the same mix of jobs on average, whatever order a training step runs them in.
//!    The pool loses if its jobs took longer per unit than `1 / SLOWER` times the inline ones.
//!
//! A losing window backs off: the following jobs run inline for `BACKOFF_MIN`, doubling on each
//! loss up to `BACKOFF_MAX`, and the window after a back-off is a probe. A winning probe halves
//! the back-off and puts the next probe further off (`PROBE_GAP_MIN` doubling to
//! `PROBE_GAP_MAX`, and never less than `PROBE_SPACING` times the probe's own length: a probe
//! of products of 100 ms takes a second or more, half of it inline), so on an idle machine
//! probing costs a few percent of the speed-up at most.

use std::cell::Cell;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The wall time of jobs over which the pool's speed is judged: long enough to hold several of
/// the scheduler's time slices (a few milliseconds each), so a window shows the waits they
/// cause in their true proportion.
pub(super) const WINDOW: Duration = Duration::from_millis(30);
/// A window slower than this times one thread's time loses.
pub(super) const SLOWER: f64 = 0.97;
/// A window in which the calling thread waited, runnable, for a core for more than this share
/// of it loses.
pub(super) const DELAYED: f64 = 0.05;
/// The first back-off, and the longest.
pub(super) const BACKOFF_MIN: Duration = Duration::from_millis(30);
pub(super) const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The time from a won probe to the next one: the first, and the longest.
pub(super) const PROBE_GAP_MIN: Duration = Duration::from_millis(100);
pub(super) const PROBE_GAP_MAX: Duration = Duration::from_secs(2);
/// A probe decides once each side has run at least this many jobs (and the window is full).
pub(super) const PROBE_JOBS: usize = 8;
/// After a won probe, at least this many times its length passes before the next.
pub(super) const PROBE_SPACING: u64 = 20;

thread_local! {
    /// The window this thread started and its run delay then.
    static WINDOW_DELAY: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// One finished job, as the pool saw it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Job {
    /// It ran on the pool (else inline on the caller).
    pub parallel: bool,
    /// Its multiply-adds (any measure proportional to its work).
    pub cost: f64,
    /// Its parts, and (on the pool) how many of them the caller ran, in `own`.
    pub parts: usize,
    pub mine: usize,
    pub own: Duration,
    /// From its start to its end.
    pub wall: Duration,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What the pool has measured, and what it decided; times in nanoseconds after the pool began.
#[derive(Debug)]
pub(super) struct Books {
    /// Jobs run inline until then, and the current back-off.
    resume_at: u64,
    backoff: u64,
    /// When the next probe may start, and the gap after a won one.
    next_probe: u64,
    probe_gap: u64,
    /// The current window: a probe or not, its number and start, and per side (inline, pool)
    /// the jobs, their wall time and cost; the estimate of the pool's jobs alone.
    probing: bool,
    window: u64,
    window_start: u64,
    jobs: [usize; 2],
    wall: [u64; 2],
    cost: [f64; 2],
    alone: u64,
    /// The probe's coin.
    coin: SmallRng,
    /// Whether the last window's run delay was over `DELAYED`.
    delayed: bool,
}

impl Default for Books {
    fn default() -> Self {
        Books {
            resume_at: 0,
            backoff: 0,
            next_probe: 0,
            probe_gap: 0,
            probing: false,
            window: 0,
            window_start: 0,
            jobs: [0, 0],
            wall: [0, 0],
            cost: [0.0, 0.0],
            alone: 0,
            coin: SmallRng::seed_from_u64(0x9E37_79B9_7F4A_7C15),
            delayed: false,
        }
    }
}

impl Books {
    /// Whether the job starting at `now` runs on the pool.
    pub(super) fn plan(&mut self, now: u64) -> bool {
        if now < self.resume_at {
            return false;
        }
        if !self.probing && self.jobs == [0, 0] && now >= self.next_probe && self.next_probe > 0 {
            self.probing = true;
        }
        if !self.probing {
            return true;
        }
        // a coin per job: no allocation, no lock beyond the books'
        self.coin.random()
    }

    /// Whether jobs run inline at `now` (a back-off).
    #[cfg(test)]
    pub(super) fn backing_off(&self, now: u64) -> bool {
        now < self.resume_at
    }

    /// Books `job`, which ended at `end`; at the end of a window, judges it (see the module
    /// docs). `delay` reads the calling thread's run delay (the tests pass their own), once at
    /// each window's start and end.
    pub(super) fn book(&mut self, job: Job, end: u64, delay: impl Fn() -> Option<u64>) {
        let side = usize::from(job.parallel);
        if job.parallel && job.mine == 0 && !self.probing {
            // the workers took every part: no estimate of the caller alone, and no wait
            return;
        }
        if self.jobs == [0, 0] {
            // a new window: note when, and this thread's run delay
            self.window += 1;
            self.window_start = end.saturating_sub(nanos(job.wall));
            WINDOW_DELAY.set(delay().map(|d| (self.window, d)));
        }
        self.jobs[side] += 1;
        self.wall[side] = self.wall[side].saturating_add(nanos(job.wall));
        self.cost[side] += job.cost;
        if job.parallel && job.mine > 0 {
            let alone = job.own.as_nanos() as f64 / job.mine as f64 * job.parts as f64;
            self.alone = self.alone.saturating_add(alone as u64);
        }
        let total = self.wall[0].saturating_add(self.wall[1]);
        let decided = !self.probing || self.jobs.iter().all(|&j| j >= PROBE_JOBS);
        if total < nanos(WINDOW) || !decided {
            return;
        }
        // the share of the window this thread waited for a core (if it started the window)
        let waited = match (WINDOW_DELAY.take(), delay()) {
            (Some((w, before)), Some(after)) if w == self.window => {
                after.saturating_sub(before) as f64 / end.saturating_sub(self.window_start).max(1) as f64
            }
            _ => 0.0,
        };
        let delayed = waited > DELAYED;
        let lost = (delayed && self.delayed)
            || if self.probing {
                // time per unit of cost on the pool against inline
                let rate = |s: usize| self.wall[s] as f64 / self.cost[s].max(f64::MIN_POSITIVE);
                SLOWER * rate(1) > rate(0)
            } else {
                self.jobs[0] == 0 && (self.alone as f64) < SLOWER * self.wall[1] as f64
            };
        let probed = self.probing;
        self.delayed = delayed;
        (self.probing, self.jobs, self.wall, self.cost, self.alone) = (false, [0, 0], [0, 0], [0.0, 0.0], 0);
        if lost {
            self.backoff = (self.backoff * 2).clamp(nanos(BACKOFF_MIN), nanos(BACKOFF_MAX));
            self.resume_at = end.saturating_add(self.backoff);
            // the window after the back-off is a probe
            self.next_probe = self.resume_at.max(1);
            self.probe_gap = 0;
        } else if probed {
            self.backoff = if self.backoff > nanos(BACKOFF_MIN) { self.backoff / 2 } else { 0 };
            self.probe_gap = (self.probe_gap * 2).clamp(nanos(PROBE_GAP_MIN), nanos(PROBE_GAP_MAX));
            let length = end.saturating_sub(self.window_start);
            self.next_probe = end.saturating_add(self.probe_gap.max(length.saturating_mul(PROBE_SPACING)));
        } else if self.next_probe == 0 {
            // the first window the pool won: probe soon after
            self.next_probe = end.saturating_add(nanos(PROBE_GAP_MIN));
        }
    }

    #[cfg(test)]
    pub(super) fn backoff(&self) -> u64 {
        self.backoff
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::{BACKOFF_MAX, BACKOFF_MIN, Books, Job, WINDOW, nanos};

    const US: u64 = 1_000;

    /// Plays one window of jobs through `books` from `*now`: jobs of 2 parts and cost 100,
    /// taking `inline_us` inline and `pool_us` on the pool, of which the caller's part took
    /// `own_us`; the caller's run delay grows by `waited` of each job's time. Returns how many
    /// jobs ran on the pool and inline.
    fn window(books: &mut Books, now: &mut u64, inline_us: u64, pool_us: u64, own_us: u64, waited: f64) -> [usize; 2] {
        let delay = Cell::new(0u64);
        let mut ran = [0; 2];
        let start = books.window;
        // until the books start the next window (a probe may take longer than `WINDOW`)
        for _ in 0..10_000 {
            let parallel = books.plan(*now);
            let wall = if parallel { pool_us } else { inline_us } * US;
            *now += wall;
            delay.set(delay.get() + (wall as f64 * waited) as u64);
            let (mine, own) = if parallel { (1, own_us * US) } else { (2, wall) };
            let job = Job {
                parallel,
                cost: 100.0,
                parts: 2,
                mine,
                own: Duration::from_nanos(own),
                wall: Duration::from_nanos(wall),
            };
            books.book(job, *now, || Some(delay.get()));
            ran[usize::from(parallel)] += 1;
            if books.jobs == [0, 0] && books.window > start {
                break;
            }
        }
        ran
    }

    #[test]
    fn a_window_slower_than_the_estimate_backs_off_and_a_won_probe_undoes_it() {
        let mut b = Books::default();
        let mut now = 1;
        // jobs of 100 us whose caller's part took 50 us: a draw by the estimate, no back-off
        window(&mut b, &mut now, 100, 100, 50, 0.0);
        assert!(!b.backing_off(now));
        // the worker descheduled mid-part: 300 us against 100 alone: back off
        window(&mut b, &mut now, 100, 300, 50, 0.0);
        assert!(b.backing_off(now));
        assert_eq!(b.backoff(), nanos(BACKOFF_MIN));
        // every losing window doubles it, up to the longest (a back-off runs inline; the
        // window after it is a probe, which the pool loses at 300 us against 100 inline)
        let mut windows = 0;
        while b.backoff() < nanos(BACKOFF_MAX) && windows < 1000 {
            let ran = window(&mut b, &mut now, 100, 300, 50, 0.0);
            assert!(ran[0] > 0);
            windows += 1;
        }
        assert_eq!(b.backoff(), nanos(BACKOFF_MAX));
        // the pool twice as fast as inline: probes win and halve it, down to nothing
        let mut windows = 0;
        while b.backoff() > 0 && windows < 1000 {
            window(&mut b, &mut now, 100, 50, 25, 0.0);
            windows += 1;
        }
        assert_eq!(b.backoff(), 0);
        window(&mut b, &mut now, 100, 50, 25, 0.0);
        assert!(!b.backing_off(now));
    }

    #[test]
    fn a_probe_catches_a_pool_slower_than_its_estimate() {
        let mut b = Books::default();
        let mut now = 1;
        // the estimate says a draw (the caller's part 60 us of a 120 us job), but inline the
        // job takes 100 us: only a probe can see it
        let mut probes = 0;
        while !b.backing_off(now) && now < nanos(Duration::from_secs(5)) {
            let ran = window(&mut b, &mut now, 100, 120, 60, 0.0);
            if ran[0] > 0 {
                probes += 1;
                // both sides ran, about half and half
                assert!(ran[0] >= 8 && ran[1] >= 8, "{ran:?}");
            }
        }
        assert_eq!(probes, 1, "the first probe decides");
        assert!(b.backing_off(now));
        // and a pool 10% faster than inline keeps winning its probes, further and further apart
        let mut b = Books::default();
        let mut now = 1;
        while now < nanos(Duration::from_secs(10)) {
            window(&mut b, &mut now, 110, 100, 50, 0.0);
            assert!(!b.backing_off(now));
        }
        assert_eq!(b.probe_gap, nanos(super::PROBE_GAP_MAX));
    }

    #[test]
    fn probes_of_long_jobs_take_a_small_share_of_the_time() {
        // products of 100 ms inline, 50 ms on the pool: a probe of 8 + 8 of them lasts over a
        // second; spaced by at least `PROBE_SPACING` times that, the jobs run inline take
        // under a tenth of the time (without the spacing, 28%)
        let mut b = Books::default();
        let mut now = 1;
        let mut inline = 0;
        while now < nanos(Duration::from_secs(600)) {
            inline += window(&mut b, &mut now, 100_000, 50_000, 25_000, 0.0)[0];
            assert!(!b.backing_off(now));
        }
        let share = (inline as u64 * 100_000 * US) as f64 / now as f64;
        assert!(share < 0.1, "{share}");
    }

    #[test]
    fn a_window_in_which_the_caller_waited_for_a_core_backs_off() {
        let mut b = Books::default();
        let mut now = 1;
        // 2% of the time waiting (a wake-up now and then): the pool stays on
        window(&mut b, &mut now, 100, 100, 50, 0.02);
        assert!(!b.backing_off(now));
        // one window of 10% (a passing burst): still on
        window(&mut b, &mut now, 100, 100, 50, 0.1);
        assert!(!b.backing_off(now));
        window(&mut b, &mut now, 100, 100, 50, 0.02);
        window(&mut b, &mut now, 100, 100, 50, 0.1);
        assert!(!b.backing_off(now));
        // half of it, two windows in a row: the caller shares its core with another busy thread
        window(&mut b, &mut now, 100, 100, 50, 0.5);
        window(&mut b, &mut now, 100, 100, 50, 0.5);
        assert!(b.backing_off(now));
    }

    #[test]
    fn a_job_the_workers_ran_whole_is_not_booked() {
        let mut b = Books::default();
        let job = Job { parallel: true, cost: 1.0, parts: 2, mine: 0, own: Duration::ZERO, wall: WINDOW * 2 };
        b.book(job, 1, || None);
        assert_eq!(b.jobs, [0, 0]);
    }

    #[test]
    fn the_run_delay_is_read() {
        #[cfg(all(target_os = "linux", not(miri)))]
        assert!(super::super::run_delay().is_some());
    }
}
