//! Criterion benches of the sizes: forward (by a `Predictor`, and by `Model::forward`),
//! forward + backward + Adam (a training step),
//! and one streaming step. `cargo bench`; `rnn bench` prints the same end to end with GFLOP/s.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use rnn::bench::{SHAPES, TrainBench};
use rnn::{Init, Model, ModelConfig, RnnConfig, Stepper};

fn shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("rnn");
    group.sample_size(10);
    for shape in SHAPES {
        let id = format!("H{}_B{}_T{}_L{}", shape.hidden_size, shape.batch, shape.seq_len, shape.num_layers);
        let mut bench = TrainBench::<f32>::new(shape, rnn::Cell::Rnn, 0).expect("valid shape");
        group.throughput(Throughput::Elements(shape.batch as u64));
        let predictor = bench.predictor();
        group.bench_function(BenchmarkId::new("forward", &id), |b| {
            b.iter(|| bench.predict(&predictor).expect("forward"))
        });
        group.bench_function(BenchmarkId::new("forward_model", &id), |b| b.iter(|| bench.forward().expect("forward")));
        drop(predictor);
        group.bench_function(BenchmarkId::new("train_step", &id), |b| b.iter(|| bench.train_step().expect("step")));
    }
    group.finish();
}

fn streaming(c: &mut Criterion) {
    let config = ModelConfig { rnn: RnnConfig::new(32, 128), output_size: Some(1) };
    let model = Model::<f32>::new(config, Init::PyTorch, 0).expect("valid config");
    let mut stepper = Stepper::new(&model, 1).expect("unidirectional");
    let x = Array2::<f32>::from_elem((1, 32), 0.5);
    c.bench_function("stream_step_H128_I32", |b| b.iter(|| stepper.step(x.view()).expect("step")[[0, 0]]));
}

criterion_group!(benches, shapes, streaming);
criterion_main!(benches);
