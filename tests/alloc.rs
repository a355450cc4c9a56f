//! The per-step loops allocate nothing: with a counting global allocator, a forward + backward
//! pass over 200 steps makes no more heap allocations than one over 20 (up to a few from the
//! path a once-per-sequence product takes), and a streaming step makes none.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array3;
use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig, Stepper};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations made by this thread (the test harness's own threads allocate now and then,
    /// which a process-wide count would pick up).
    static MINE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn note() {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    let _ = MINE.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `alloc`, passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `realloc`, passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made while `f` runs by this thread (the pool's workers run only the kernels).
fn count(f: impl FnOnce()) -> usize {
    let before = MINE.with(|c| c.get());
    f();
    MINE.with(|c| c.get()) - before
}

/// Allocations of one forward + backward of `model` over `seq_len` steps, with the backward
/// that keeps the trace or (`consume`) the one that works in its memory.
fn pass(model: &Model<f32>, seq_len: usize, batch: usize, consume: bool) -> usize {
    let input = model.rnn.config().input_size;
    let x = Array3::<f32>::from_elem((seq_len, batch, input), 0.3);
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    count(|| {
        let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rng).unwrap();
        let dy = Array3::<f32>::ones(trace.y().raw_dim());
        if consume {
            model.backward_owned(trace, dy.view(), None, false).unwrap();
        } else {
            model.backward(&trace, dy.view(), None).unwrap();
        }
    })
}

/// One test function: the counter is process-wide, and tests of one binary run in parallel.
#[test]
fn per_step_loops_and_streaming_steps_do_not_allocate() {
    // two threads, so the products split across the pool even on a one-core machine
    rnn::pool::set_threads(2);
    per_step_loops_do_not_allocate();
    streaming_steps_do_not_allocate();
}

fn per_step_loops_do_not_allocate() {
    // a small model (the direct kernels) and a large one (products split across the pool)
    let cases = [(16, 3, 2, true), (32, 1, 1, false), (256, 32, 2, false)];
    for (cell, (hidden, batch, layers, bidirectional)) in
        [Cell::Rnn, Cell::Lstm, Cell::Gru, Cell::IndRnn].into_iter().flat_map(|c| cases.map(|case| (c, case)))
    {
        let rnn = RnnConfig::new(8, hidden).with_num_layers(layers).with_bidirectional(bidirectional).with_cell(cell);
        let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(2) }, Init::PyTorch, 1).unwrap();
        for consume in [false, true] {
            pass(&model, 3, batch, consume); // warm-up: lazy statics, thread pool
            let short = pass(&model, 20, batch, consume);
            let long = pass(&model, 200, batch, consume);
            // 180 more steps, forward and backward through every layer: one allocation per step
            // would add hundreds. A product over all steps at once may switch between code paths
            // with its size (the kernels with a transposed copy, or ndarray's GEMM with its
            // packing buffer), which changes the count by a few (at most one per product),
            // independent of the length.
            assert!(
                long <= short + 16,
                "{cell} H={hidden}, consume {consume}: {short} allocations for 20 steps, {long} for 200"
            );
        }
    }
}

fn streaming_steps_do_not_allocate() {
    for (cell, proj) in [(Cell::Rnn, 0), (Cell::Lstm, 0), (Cell::Lstm, 64), (Cell::Gru, 0), (Cell::IndRnn, 0)] {
        let rnn = RnnConfig::new(32, 128).with_num_layers(2).with_cell(cell).with_proj_size(proj);
        let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 1).unwrap();
        for split in [false, true] {
            let mut stepper =
                if split { Stepper::new(&model, 1).unwrap() } else { Stepper::on_one_thread(&model, 1).unwrap() };
            let x = ndarray::Array2::<f32>::from_elem((1, 32), 0.1);
            stepper.step(x.view()).unwrap();
            let n = count(|| {
                for _ in 0..1000 {
                    std::hint::black_box(stepper.step(x.view()).unwrap());
                }
            });
            assert_eq!(n, 0, "{cell} (split {split}): {n} allocations in 1000 streaming steps");
        }
    }
}
