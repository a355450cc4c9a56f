//! Writes a small sequence-regression task for `rnn train`: echo the input delayed by 3 steps.
//!
//! `cargo run --release --example echo_task -- DIR` writes `DIR/x.npy` `[1000, 20, 1]` (uniform
//! in [-1, 1]), `DIR/y.npy` `[1000, 20, 1]` with `y_t = x_{t-3}` (0 before), and
//! `DIR/y_last.npy` `[1000, 1]`, the last step's target only (many-to-one). Predicting 0
//! scores an MSE of about 0.29.

use std::path::PathBuf;

use ndarray::{Array3, s};
use rand::{Rng, SeedableRng};
use rnn::data::npy;

fn main() -> Result<(), rnn::Error> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir).map_err(|err| rnn::Error::Io { path: dir.clone(), err })?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let (n, t, delay) = (1000, 20, 3);
    let x = Array3::<f32>::from_shape_simple_fn((n, t, 1), || rng.random::<f32>() * 2.0 - 1.0);
    let mut y = Array3::<f32>::zeros((n, t, 1));
    y.slice_mut(s![.., delay.., ..]).assign(&x.slice(s![.., ..t - delay, ..]));
    npy::write(&dir.join("x.npy"), x.view())?;
    npy::write(&dir.join("y.npy"), y.view())?;
    npy::write(&dir.join("y_last.npy"), y.slice(s![.., t - 1, ..]))?;
    println!("wrote {}/x.npy, y.npy, y_last.npy", dir.display());
    Ok(())
}
