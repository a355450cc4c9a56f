//! Runs training steps of one bench shape, for profilers: `profile_step SHAPE_INDEX STEPS`.
fn main() -> Result<(), rnn::Error> {
    let mut args = std::env::args().skip(1);
    let shape = rnn::bench::SHAPES[args.next().and_then(|s| s.parse().ok()).unwrap_or(0)];
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    rnn::threads::init(std::env::var("THREADS").ok().and_then(|s| s.parse().ok()).or(Some(1)))?;
    let mut b = rnn::bench::TrainBench::<f32>::new(shape, 0)?;
    for _ in 0..steps {
        b.train_step()?;
    }
    Ok(())
}
