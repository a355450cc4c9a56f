//! What recording the gradient's norm at every step costs a backward pass: a training step's
//! forward + backward (`Model::backward_owned_flow`) with and without a `GradFlow`, interleaved,
//! at (H, B, T, L) = (128, 32, 64, 2) for every cell; median of 15 rounds. Pin it:
//! `taskset -c 0 cargo run --release --example flow_overhead`.
use std::time::Instant;

use ndarray::Array3;
use rnn::nn::flow::GradFlow;
use rnn::{Cell, Init, Model, ModelConfig, Readout, RnnConfig};

fn main() -> rnn::Result<()> {
    let (h, b, t, l, input) = (128, 32, 64, 2, 32);
    println!("cell    without (ms)  with (ms)  overhead");
    for cell in [Cell::Rnn, Cell::Lstm, Cell::Gru, Cell::IndRnn] {
        let rnn = RnnConfig::new(input, h).with_num_layers(l).with_cell(cell);
        let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 1)?;
        let x = Array3::<f32>::from_shape_fn((t, b, input), |(s, j, i)| ((s * 7 + j * 3 + i) as f32 * 0.01).sin());
        let dy = Array3::<f32>::from_elem((t, b, 1), 1e-3);
        let mut rng = rand::rng();
        let mut step = |record: bool| -> rnn::Result<f64> {
            let started = Instant::now();
            let trace = model.forward_train(x.view(), None, Readout::EveryStep, &mut rng)?;
            let mut flow = GradFlow::new(model.rnn.config(), t);
            let g = model.backward_owned_flow(trace, dy.view(), None, false, record.then_some(&mut flow))?;
            std::hint::black_box(g);
            Ok(started.elapsed().as_secs_f64() * 1e3)
        };
        let (mut off, mut on) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            step(false)?;
            step(true)?;
        }
        for _ in 0..15 {
            off.push(step(false)?);
            on.push(step(true)?);
        }
        off.sort_by(f64::total_cmp);
        on.sort_by(f64::total_cmp);
        let (a, c) = (off[7], on[7]);
        println!("{:<7} {a:>12.3} {c:>10.3} {:>8.1}%", cell.to_string(), (c / a - 1.0) * 100.0);
    }
    Ok(())
}
