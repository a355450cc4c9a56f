//! The streaming step alone (`rnn::bench::stream_step_us`: H = 128, input 32, batch 1, one
//! output), for every cell, in microseconds: the figure `rnn bench` prints last, without the
//! training sizes before it. Compare with `python3 bench/onnx_stream.py --cell CELL --threads 1`
//! run right after, pinned to the same core (`taskset -c 0`). `stream_step lstm` times one cell.
use rnn::Cell;

fn main() -> rnn::Result<()> {
    let cells = match std::env::args().nth(1) {
        Some(name) => vec![name.parse()?],
        None => vec![Cell::Rnn, Cell::Lstm, Cell::Gru, Cell::IndRnn],
    };
    for cell in cells {
        println!("{cell}: {:.3} us", rnn::bench::stream_step_us(cell, 128, 32)?);
    }
    Ok(())
}
