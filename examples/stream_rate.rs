//! Median microseconds of one streaming step at H = 128, input 32, batch 1 (as `rnn bench`).
fn main() -> Result<(), rnn::Error> {
    for _ in 0..3 {
        println!("{:.3} us", rnn::bench::stream_step_us(128, 32)?);
    }
    Ok(())
}
