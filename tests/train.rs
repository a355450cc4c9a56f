//! The training engine end to end: it learns, truncated BPTT is exact, the state carries,
//! resume is bit-identical, divergence is caught, early stopping ends on the best weights.

use std::path::Path;

use ndarray::{Array3, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rnn::data::{Dataset, Targets};
use rnn::loss::Loss;
use rnn::model_file;
use rnn::optim::{Optimizer, OptimizerConfig};
use rnn::train::{RunPaths, Silent, StateReset, TrainConfig, Trainer};
use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};

/// Echo the input delayed by `delay` steps: y_t = x_{t-delay} (0 before).
fn delayed_echo(n: usize, t: usize, delay: usize, seed: u64) -> Dataset<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array3::from_shape_simple_fn((n, t, 1), || rng.random::<f64>() * 2.0 - 1.0);
    let mut y = Array3::zeros((n, t, 1));
    y.slice_mut(s![.., delay.., ..])
        .assign(&x.slice(s![.., ..t - delay, ..]));
    Dataset::new(x, Targets::Values(y), None).unwrap()
}

fn model(layers: usize, hidden: usize, seed: u64) -> Model<f64> {
    let rnn = RnnConfig::new(1, hidden).with_num_layers(layers);
    Model::new(
        ModelConfig {
            rnn,
            output_size: Some(1),
        },
        Init::PyTorch,
        seed,
    )
    .unwrap()
}

fn paths(dir: &Path) -> RunPaths {
    RunPaths::from_model_path(&dir.join("m.safetensors"))
}

#[test]
fn learns_a_delayed_echo_with_one_and_three_layers() {
    let train = delayed_echo(256, 16, 3, 1);
    let val = delayed_echo(64, 16, 3, 2);
    for layers in [1, 3] {
        let dir = tempfile::tempdir().unwrap();
        let config = TrainConfig {
            epochs: 40,
            batch_size: 32,
            lr: 0.01,
            seed: 3,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(model(layers, 24, 4), config).unwrap();
        let report = trainer
            .fit(&train, Some(&val), &paths(dir.path()), &mut Silent)
            .unwrap();
        let first = report.history[0].val_loss.unwrap();
        let best = report.best_val_loss.unwrap();
        eprintln!("{layers} layer(s): val MSE {first:.4} -> {best:.5} (predicting 0 scores ~0.33)");
        assert!(best < 0.01, "{layers} layers: validation MSE {best} after 40 epochs");
    }
}
