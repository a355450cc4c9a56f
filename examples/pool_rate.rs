//! The pool's overhead per job: jobs of two parts of about 1 µs of work each, and where the
//! time goes, in time-stamp-counter cycles after the job's start (nanoseconds off x86-64):
//! the books' plan, each part's start and end, and `run`'s return (which books the job).
//! Jobs the books run inline (their probes) are run but not counted.
//! `RNN_NUM_THREADS=2 cargo run --release --example pool_rate`
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A cheap clock: the time-stamp counter on x86-64, else nanoseconds since the first call.
fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: reading the time-stamp counter has no precondition on x86-64.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// About a microsecond of dependent multiplies.
fn work(n: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..n {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
    }
    x
}

fn main() {
    if rnn::pool::threads() < 2 {
        eprintln!("one thread: set RNN_NUM_THREADS=2");
        return;
    }
    for _round in 0..4 {
        let jobs = 200_000;
        // per part: summed start and end, after the job's start
        let parts: [AtomicU64; 4] = Default::default();
        let (mut pooled, mut planned, mut returned) = (0u64, 0u64, 0u64);
        let t = Instant::now();
        for _ in 0..jobs {
            let t0 = ticks();
            let pooled_now = std::sync::atomic::AtomicBool::new(false);
            let f = |p: usize| {
                let a = ticks();
                std::hint::black_box(work(1000));
                let b = ticks();
                if pooled_now.load(Ordering::Relaxed) && p < 2 {
                    parts[p * 2].fetch_add(a - t0, Ordering::Relaxed);
                    parts[p * 2 + 1].fetch_add(b - t0, Ordering::Relaxed);
                }
            };
            let Some(job) = rnn::pool::plan(1 << 20) else { continue };
            if !job.parallel() {
                job.run(&f);
                continue;
            }
            pooled_now.store(true, Ordering::Relaxed);
            let t1 = ticks();
            job.run(&f);
            pooled += 1;
            planned += t1 - t0;
            returned += ticks() - t0;
        }
        let per = t.elapsed().as_secs_f64() / jobs as f64 * 1e9;
        let mean = |v: u64| v as f64 / pooled.max(1) as f64;
        let part = |i: usize| mean(parts[i].load(Ordering::Relaxed));
        println!(
            "{per:.0} ns a job; {pooled} on the pool, after their start: planned {:.0}, part 0 {:.0}-{:.0}, part 1 {:.0}-{:.0}, returned {:.0}",
            mean(planned),
            part(0),
            part(1),
            part(2),
            part(3),
            mean(returned)
        );
    }
}
