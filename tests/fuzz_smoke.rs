//! The fuzz targets (`rnn::fuzz`, run long by `fuzz/` under libFuzzer) run briefly in the normal
//! suite: each on its seed corpus (`fuzz/corpus/TARGET/`) and on 20,000 random
//! mutations of it, with an allocator that fails the run on any single allocation above
//! 256 MB. `RNN_FUZZ_ITERS=N` runs N mutations per target instead.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest single allocation allowed while a target runs on an input of < 64 KB.
const LIMIT: usize = 256 << 20;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

struct Watching;

// SAFETY: forwards to the system allocator; refuses (returns null, so the process aborts
// with the allocation's size) only sizes above `LIMIT`.
unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() > LIMIT {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() > LIMIT {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        if new_size > LIMIT {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Watching = Watching;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that reach the interesting branches: huge and odd numbers, JSON and header syntax.
const TOKENS: [&[u8]; 14] = [
    b"18446744073709551615",
    b"4294967296",
    b"0",
    b"-1",
    b"1e308",
    b"NaN",
    b"\"shape\": [",
    b"\"hidden_size\": ",
    b"\"num_layers\": ",
    b"\"mode\": \"LSTM\"",
    b"\"proj_size\": ",
    b"'<f8'",
    b",\n",
    b"\xff\xfe",
];

/// One random mutation of `input`, possibly spliced with `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
            2 => out.insert(at, rng.next() as u8),
            3 => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            4 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            5 => out.truncate(at),
            _ if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + rng.below(64)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => {}
        }
    }
    out.truncate(64 << 10);
    out
}

/// Runs `target` on every seed of `fuzz/corpus/NAME` and on mutations of them.
fn run(name: &str, target: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(name);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    for seed in &seeds {
        target(seed);
    }
    let iters: usize = std::env::var("RNN_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let mut pool = seeds.clone();
    for _ in 0..iters {
        let (a, b) = (rng.below(pool.len()), rng.below(pool.len()));
        let input = mutate(&mut rng, &pool[a], &pool[b]);
        target(&input);
        // keep some mutants to mutate further (a crude stand-in for coverage feedback)
        if rng.below(8) == 0 && pool.len() < 256 {
            pool.push(input);
        }
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest <= LIMIT, "{name}: an allocation of {largest} bytes");
}

#[test]
fn model_file_loader_survives_mutated_files() {
    run("model_file", rnn::fuzz::model_file);
}

#[test]
fn model_config_json_survives_mutations() {
    run("model_config", rnn::fuzz::model_config);
}

#[test]
fn npy_reader_survives_mutated_files() {
    run("npy", rnn::fuzz::npy);
}

#[test]
fn csv_reader_survives_mutated_files() {
    run("csv", rnn::fuzz::csv);
}

#[test]
fn text_reader_survives_mutated_files() {
    run("text", rnn::fuzz::text);
}
