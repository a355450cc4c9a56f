//! Runs training steps (or, with a third argument `fwd`, a `Predictor`'s inference forwards) of
//! one bench shape, for profilers: `profile_step SHAPE_INDEX STEPS [fwd]`; `THREADS=N` sets the
//! pool size (default 1), `CELL=lstm|gru|rnn|indrnn` the cell (default rnn).
fn main() -> Result<(), rnn::Error> {
    let mut args = std::env::args().skip(1);
    let shape = rnn::bench::SHAPES[args.next().and_then(|s| s.parse().ok()).unwrap_or(0)];
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let forward_only = args.next().as_deref() == Some("fwd");
    let threads = std::env::var("THREADS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    rnn::threads::init(Some(threads))?;
    rnn::threads::keep_freed_memory();
    let cell = std::env::var("CELL").map_or(Ok(rnn::Cell::Rnn), |s| s.parse())?;
    let mut b = rnn::bench::TrainBench::<f32>::new(shape, cell, 0)?;
    if forward_only {
        let predictor = b.predictor();
        for _ in 0..steps {
            std::hint::black_box(b.predict(&predictor)?);
        }
    } else {
        for _ in 0..steps {
            b.train_step()?;
        }
    }
    Ok(())
}
