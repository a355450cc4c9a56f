//! The memory estimate (`rnn::nn::memory::estimate`) against the real peak: with a counting
//! global allocator, training a model for an epoch (dataset, model, gradients, optimizer,
//! trace, checkpoints) never peaks above the estimate, and the estimate is at most twice
//! the peak, for each cell and a few sizes.

use ndarray::Array3;
use rnn::data::{Dataset, Targets};
use rnn::nn::memory::{self, Workload};
use rnn::optim::OptimizerConfig;
use rnn::train::{RunPaths, Silent, TrainConfig, Trainer};
use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};

/// The binary's counting allocator (`rnn bench` reports its peaks), the same file.
#[path = "../src/cli/peak.rs"]
mod peak;

#[global_allocator]
static GLOBAL: peak::Counting = peak::Counting;

/// (estimate, measured peak) of one epoch of Adam training with validation data.
fn measure(rnn: RnnConfig, n: usize, seq_len: usize, batch: usize, tbptt: Option<usize>) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let paths = RunPaths::from_model_path(&dir.path().join("m.safetensors"));
    let config = ModelConfig { output_size: Some(2), rnn };
    let train_config = TrainConfig::default()
        .with_epochs(1)
        .with_batch_size(batch)
        .with_optimizer(OptimizerConfig::adam())
        .with_tbptt(tbptt);
    let input = config.rnn.input_size;
    let floats = (n * seq_len * (input + 2) * 4) as u64;
    let work = Workload {
        batch_size: batch.min(n),
        seq_len: tbptt.unwrap_or(seq_len).min(seq_len),
        optimizer_slots: 2,
        training: true,
        data_bytes: floats + floats / 4,
    };
    let estimate = memory::estimate(&config, &work, 4).unwrap().total().unwrap();

    let before = peak::live();
    peak::reset_peak();
    {
        let x = Array3::<f32>::from_shape_fn((n, seq_len, input), |(i, t, k)| ((i + 2 * t + k) as f32 * 0.1).sin());
        let y = Array3::<f32>::from_shape_fn((n, seq_len, 2), |(i, t, k)| ((i + t + k) as f32 * 0.2).cos());
        let train = Dataset::new(x, Targets::Values(y), None).unwrap();
        let m = n / 4;
        let val = Dataset::new(
            Array3::<f32>::zeros((m, seq_len, input)),
            Targets::Values(Array3::<f32>::zeros((m, seq_len, 2))),
            None,
        )
        .unwrap();
        let model = Model::<f32>::new(config, Init::PyTorch, 0).unwrap();
        let mut trainer = Trainer::new(model, train_config).unwrap();
        trainer.fit(&train, Some(&val), &paths, &mut Silent).unwrap();
    }
    let peak = (peak::peak() - before) as u64;
    (estimate, peak)
}

fn within(rnn: RnnConfig, n: usize, seq_len: usize, batch: usize, tbptt: Option<usize>) {
    let what = format!("{rnn:?} n {n} T {seq_len} B {batch} tbptt {tbptt:?}");
    let (estimate, peak) = measure(rnn, n, seq_len, batch, tbptt);
    let ratio = estimate as f64 / peak as f64;
    eprintln!("{what}: estimate {estimate}, peak {peak}, ratio {ratio:.2}");
    if std::env::var_os("RNN_MEMORY_REPORT").is_some() {
        return;
    }
    assert!(estimate >= peak, "{what}: estimate {estimate} below the peak {peak}");
    assert!(ratio <= 2.0, "{what}: estimate {estimate} is {ratio:.2} times the peak {peak}");
}

/// One test: the counts are process-wide, so no other test may allocate meanwhile.
#[test]
fn the_estimate_bounds_the_peak_of_training() {
    // parameters dominate: 2 layers of H = 256
    for cell in [Cell::Rnn, Cell::Lstm, Cell::Gru] {
        within(RnnConfig::new(8, 256).with_cell(cell).with_num_layers(2), 64, 20, 16, None);
    }
    // activations dominate: long sequences, a big batch, a small model
    within(RnnConfig::new(4, 64).with_cell(Cell::Lstm).with_bidirectional(true), 128, 400, 64, None);
    within(RnnConfig::new(4, 64).with_cell(Cell::IndRnn).with_num_layers(3), 128, 400, 64, None);
    within(RnnConfig::new(4, 64).with_cell(Cell::Gru), 128, 400, 64, Some(100));
}
