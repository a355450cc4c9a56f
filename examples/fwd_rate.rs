//! GFLOP/s of the inference forward pass (`TrainBench::forward`, 32 steps, one layer, input 32)
//! at a few hidden sizes and batches, on 2 threads: `fwd_rate [rnn|lstm|gru]` (default rnn).
fn main() -> Result<(), rnn::Error> {
    let cell: rnn::Cell = std::env::args().nth(1).as_deref().unwrap_or("rnn").parse()?;
    rnn::threads::init(Some(2))?;
    rnn::threads::keep_freed_memory();
    for (h, b) in [(512, 16), (768, 16), (1024, 16), (1024, 32), (1024, 64)] {
        let shape = rnn::bench::BenchShape { hidden_size: h, batch: b, seq_len: 32, num_layers: 1, input_size: 32 };
        let bench = rnn::bench::TrainBench::<f32>::new(shape, cell, 0)?;
        let s = rnn::bench::median_secs(
            || {
                std::hint::black_box(bench.forward().unwrap());
            },
            3,
            20,
            1000,
            std::time::Duration::from_secs(1),
        );
        println!("{cell} H {h} B {b}: {:.1} GFLOP/s", shape.forward_flops(cell) / s / 1e9);
    }
    Ok(())
}
