use rnn::Cell;
use rnn::bench::{SHAPES, TrainBench};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cell: Cell = args[1].parse().unwrap();
    let shape = SHAPES[args[2].parse::<usize>().unwrap()];
    let n: usize = args.get(3).map_or(20, |s| s.parse().unwrap());
    rnn::threads::keep_freed_memory(); // as the `rnn` binary does
    let mut b = TrainBench::<f32>::new(shape, cell, 1).unwrap();
    b.train_step().unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n {
        b.train_step().unwrap();
    }
    let s = t.elapsed().as_secs_f64() / n as f64;
    println!("{cell} {:?}: {:.2} ms/step, {:.1} seq/s", shape, s * 1e3, shape.batch as f64 / s);
}
