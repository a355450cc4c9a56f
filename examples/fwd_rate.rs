fn main() -> Result<(), rnn::Error> {
    rnn::threads::init(Some(2))?;
    rnn::threads::keep_freed_memory();
    for (h, b) in [(512, 16), (768, 16), (1024, 16), (1024, 32), (1024, 64)] {
        let shape = rnn::bench::BenchShape { hidden_size: h, batch: b, seq_len: 32, num_layers: 1, input_size: 32 };
        let bench = rnn::bench::TrainBench::<f32>::new(shape, rnn::Cell::Rnn, 0)?;
        let s = rnn::bench::median_secs(
            || {
                std::hint::black_box(bench.forward().unwrap());
            },
            3,
            20,
            1000,
            std::time::Duration::from_secs(1),
        );
        println!("H {h} B {b}: {:.1} GFLOP/s", shape.forward_flops(rnn::Cell::Rnn) / s / 1e9);
    }
    Ok(())
}
