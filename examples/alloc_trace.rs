use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
static LIVE: AtomicUsize = AtomicUsize::new(0);
static ON: AtomicBool = AtomicBool::new(false);
static N: AtomicUsize = AtomicUsize::new(0);
static mut LOG: [(isize, usize); 4096] = [(0, 0); 4096];
struct C;
fn rec(d: isize) {
    let live = if d > 0 { LIVE.fetch_add(d as usize, Ordering::Relaxed) + d as usize } else { LIVE.fetch_sub((-d) as usize, Ordering::Relaxed) - (-d) as usize };
    if ON.load(Ordering::Relaxed) && d.unsigned_abs() >= 16384 {
        let i = N.fetch_add(1, Ordering::Relaxed);
        if i < 4096 { unsafe { LOG[i] = (d, live) } }
    }
}
unsafe impl GlobalAlloc for C {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 { let p = unsafe { System.alloc(l) }; rec(l.size() as isize); p }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 { let p = unsafe { System.alloc_zeroed(l) }; rec(l.size() as isize); p }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) { unsafe { System.dealloc(p, l) }; rec(-(l.size() as isize)); }
}
#[global_allocator]
static G: C = C;
fn main() -> Result<(), rnn::Error> {
    let shape = rnn::bench::SHAPES[std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1)];
    rnn::threads::init(Some(2))?;
    let base = LIVE.load(Ordering::Relaxed);
    let mut b = rnn::bench::TrainBench::<f32>::new(shape, 0)?;
    for _ in 0..3 { b.train_step()?; }
    println!("base {} live-before-step {} required {}", base, LIVE.load(Ordering::Relaxed) - base, b.required_bytes());
    ON.store(true, Ordering::Relaxed);
    b.train_step()?;
    ON.store(false, Ordering::Relaxed);
    let n = N.load(Ordering::Relaxed).min(4096);
    for i in 0..n { let (d, live) = unsafe { LOG[i] }; println!("{:>10} live {:>10}", d, live - base); }
    Ok(())
}
