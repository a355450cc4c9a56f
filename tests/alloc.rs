//! The per-step loops allocate nothing: with a counting global allocator, a forward + backward
//! pass makes the same number of heap allocations whatever the sequence length, and a streaming
//! step makes none.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array3;
use rnn::{Init, Model, ModelConfig, Readout, RnnConfig, Stepper};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// Allocations of one forward + backward of `model` over `seq_len` steps.
fn pass(model: &Model<f32>, seq_len: usize, batch: usize) -> usize {
    let input = model.rnn.config().input_size;
    let x = Array3::<f32>::from_elem((seq_len, batch, input), 0.3);
    let mut rng = rand::rng();
    count(|| {
        let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rng).unwrap();
        let dy = Array3::<f32>::ones(trace.y().raw_dim());
        model.backward(&trace, dy.view(), None).unwrap();
    })
}

/// One test function: the counter is process-wide, and tests of one binary run in parallel.
#[test]
fn per_step_loops_and_streaming_steps_do_not_allocate() {
    per_step_loops_do_not_allocate();
    streaming_steps_do_not_allocate();
}

fn per_step_loops_do_not_allocate() {
    // a small model (the direct kernels) and a large one (products split across the pool)
    for (hidden, batch, layers, bidirectional) in [(16, 3, 2, true), (32, 1, 1, false), (256, 32, 2, false)] {
        let rnn = RnnConfig::new(8, hidden).with_num_layers(layers).with_bidirectional(bidirectional);
        let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(2) }, Init::PyTorch, 1).unwrap();
        pass(&model, 3, batch); // warm-up: lazy statics, thread pool
        let short = pass(&model, 4, batch);
        let long = pass(&model, 40, batch);
        assert_eq!(short, long, "H={hidden}: {short} allocations for 4 steps, {long} for 40");
    }
}

fn streaming_steps_do_not_allocate() {
    let rnn = RnnConfig::new(32, 128).with_num_layers(2);
    let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 1).unwrap();
    let mut stepper = Stepper::new(&model, 1).unwrap();
    let x = ndarray::Array2::<f32>::from_elem((1, 32), 0.1);
    stepper.step(x.view()).unwrap();
    let n = count(|| {
        for _ in 0..1000 {
            std::hint::black_box(stepper.step(x.view()).unwrap());
        }
    });
    assert_eq!(n, 0, "{n} allocations in 1000 streaming steps");
}
