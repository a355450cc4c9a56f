use rnn::Cell;
use rnn::bench::{BenchShape, TrainBench};
fn main() {
    rnn::threads::keep_freed_memory();
    let shape = BenchShape { hidden_size: 256, batch: 32, seq_len: 50, num_layers: 2, input_size: 75 };
    let mut b = TrainBench::<f32>::new(shape, Cell::Lstm, 1).unwrap();
    for _ in 0..5 {
        b.train_step().unwrap();
    }
    let mut ts = Vec::new();
    for _ in 0..7 {
        let t = std::time::Instant::now();
        for _ in 0..20 {
            b.train_step().unwrap();
        }
        ts.push(t.elapsed().as_secs_f64() / 20.0);
    }
    ts.sort_by(f64::total_cmp);
    println!(
        "rnn LSTM 256,32,50,2 in 75: {:.2} ms/step median, {:.2} best, {:.0} seq/s",
        ts[3] * 1e3,
        ts[0] * 1e3,
        32.0 / ts[3]
    );
}
