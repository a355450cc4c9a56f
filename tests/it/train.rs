//! The training engine end to end: it learns, truncated BPTT is exact, the state carries,
//! resume is bit-identical, divergence is caught, early stopping ends on the best weights.

use std::ops::ControlFlow;
use std::path::Path;

use ndarray::{Array3, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rnn::data::{Dataset, Targets};
use rnn::loss::Loss;
use rnn::model_file;
use rnn::optim::{Optimizer, OptimizerConfig};
use rnn::train::{EpochRecord, Observer, RunPaths, Silent, StateReset, TrainConfig, Trainer};
use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};

/// Echo the input delayed by `delay` steps: y_t = x_{t-delay} (0 before).
fn delayed_echo(n: usize, t: usize, delay: usize, seed: u64) -> Dataset<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array3::from_shape_simple_fn((n, t, 1), || rng.random::<f64>() * 2.0 - 1.0);
    let mut y = Array3::zeros((n, t, 1));
    y.slice_mut(s![.., delay.., ..]).assign(&x.slice(s![.., ..t - delay, ..]));
    Dataset::new(x, Targets::Values(y), None).unwrap()
}

fn model(layers: usize, hidden: usize, seed: u64) -> Model<f64> {
    let rnn = RnnConfig::new(1, hidden).with_num_layers(layers);
    Model::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, seed).unwrap()
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
        let config = TrainConfig::default().with_epochs(40).with_batch_size(32).with_lr(0.01).with_seed(3);
        let mut trainer = Trainer::new(model(layers, 24, 4), config).unwrap();
        let report = trainer.fit(&train, Some(&val), &paths(dir.path()), &mut Silent).unwrap();
        let first = report.history[0].val_loss.unwrap();
        let best = report.best_val_loss.unwrap();
        eprintln!("{layers} layer(s): val MSE {first:.4} -> {best:.5} (predicting 0 scores ~0.33)");
        assert!(best < 0.01, "{layers} layers: validation MSE {best} after 40 epochs");
    }
}

fn weights(m: &Model<f64>) -> Vec<f64> {
    m.named_tensors().into_iter().flat_map(|(_, t)| t.iter().copied().collect::<Vec<_>>()).collect()
}

#[test]
fn tbptt_at_least_seq_len_is_full_bptt_exactly() {
    let data = delayed_echo(40, 12, 2, 5);
    let run = |tbptt: Option<usize>| {
        let dir = tempfile::tempdir().unwrap();
        let config =
            TrainConfig::default().with_epochs(3).with_batch_size(8).with_lr(0.01).with_tbptt(tbptt).with_seed(1);
        let mut t = Trainer::new(model(2, 8, 6), config).unwrap();
        t.fit(&data, None, &paths(dir.path()), &mut Silent).unwrap();
        weights(t.model())
    };
    let full = run(None);
    assert_eq!(full, run(Some(12)));
    assert_eq!(full, run(Some(1000)));
    assert_ne!(full, run(Some(5)), "a shorter truncation must change training");
}

/// One epoch of truncated BPTT (chunks of 4 over 10 steps, one batch) equals doing it by hand:
/// each chunk starts from the previous chunk's final state as a value, and each chunk takes one
/// optimizer step.
#[test]
fn tbptt_carries_the_state_between_chunks() {
    let data = delayed_echo(6, 10, 2, 7);
    let start = model(2, 5, 8);
    let dir = tempfile::tempdir().unwrap();
    let config =
        TrainConfig::default().with_epochs(1).with_batch_size(6).with_lr(0.05).with_tbptt(Some(4)).with_shuffle(false);
    let mut trainer = Trainer::new(start.clone(), config.clone()).unwrap();
    trainer.fit(&data, None, &paths(dir.path()), &mut Silent).unwrap();

    let mut m = start;
    let mut opt = Optimizer::<f64>::new(config.optimizer.clone()).unwrap();
    let batch = data.batch(&[0, 1, 2, 3, 4, 5]);
    let mut h: Option<Array3<f64>> = None;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for (t0, t1) in [(0, 4), (4, 8), (8, 10)] {
        let x = batch.x.slice(s![t0..t1, .., ..]);
        let trace = m.forward_train(x, h.as_ref().map(|h| h.view()), Readout::EveryStep, &mut rng).unwrap();
        let v = Loss::Mse.compute(trace.y(), batch.target_view(t0..t1), None).unwrap();
        let h_n = trace.h_n().to_owned();
        let mut g = m.backward_owned(trace, v.grad.view(), None, false).unwrap();
        let grads: Vec<_> = g.tensors_mut().into_iter().map(|t| t.to_owned()).collect();
        let views: Vec<_> = grads.iter().map(|t| t.view()).collect();
        let mut params: Vec<_> = m.named_tensors_mut().into_iter().map(|(_, t)| t).collect();
        opt.step(config.lr, &mut params, &views).unwrap();
        h = Some(h_n);
    }
    assert_eq!(weights(trainer.model()), weights(&m));
}

/// Stateful training (state carried across batches within an epoch) differs from resetting,
/// and its validation also carries the state.
#[test]
fn epoch_state_reset_carries_across_batches() {
    let data = delayed_echo(16, 6, 1, 9);
    let run = |reset: StateReset| {
        let dir = tempfile::tempdir().unwrap();
        let config = TrainConfig::default().with_epochs(2).with_batch_size(4).with_lr(0.01).with_state_reset(reset);
        let mut t = Trainer::new(model(1, 6, 10), config).unwrap();
        t.fit(&data, Some(&data), &paths(dir.path()), &mut Silent).unwrap();
        weights(t.model())
    };
    assert_ne!(run(StateReset::Sequence), run(StateReset::Epoch));
}

#[test]
fn resume_is_bit_identical() {
    let train = delayed_echo(50, 10, 2, 11);
    let val = delayed_echo(20, 10, 2, 12);
    let mut m = model(2, 8, 13);
    m.rnn.set_dropout(0.2).unwrap(); // dropout and shuffling both draw from the RNG
    let config = |epochs| {
        TrainConfig::default()
            .with_epochs(epochs)
            .with_batch_size(8)
            .with_lr(0.01)
            .with_optimizer(OptimizerConfig::adamw())
            .with_schedule("cosine".parse().unwrap())
            .with_clip_norm(Some(1.0))
            .with_seed(14)
    };
    let straight = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(m.clone(), config(4)).unwrap();
    let full = t.fit(&train, Some(&val), &paths(straight.path()), &mut Silent).unwrap();

    // the same run, interrupted after epoch 2
    struct StopAfter(usize);
    impl Observer for StopAfter {
        fn epoch(&mut self, r: &EpochRecord) -> ControlFlow<()> {
            if r.epoch == self.0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
    }
    let split = tempfile::tempdir().unwrap();
    let p = paths(split.path());
    Trainer::new(m, config(4)).unwrap().fit(&train, Some(&val), &p, &mut StopAfter(2)).unwrap();
    let mut resumed = Trainer::<f64>::resume(&p.last, config(4)).unwrap();
    assert_eq!(resumed.epochs_done(), 2);
    let rest = resumed.fit(&train, Some(&val), &p, &mut Silent).unwrap();

    assert_eq!(weights(t.model()), weights(resumed.model()));
    assert!(full.history[3].train_loss < full.history[0].train_loss, "it did not learn: {:?}", full.history);
    assert_eq!(full.history.len(), 4);
    let losses = |h: &[EpochRecord]| h.iter().map(|r| (r.train_loss, r.val_loss)).collect::<Vec<_>>();
    assert_eq!(losses(&full.history), losses(&rest.history));
    // the final model files are identical too
    let a = std::fs::read(straight.path().join("m.safetensors")).unwrap();
    let b = std::fs::read(split.path().join("m.safetensors")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn divergence_stops_with_epoch_and_step_and_keeps_the_last_checkpoint() {
    let data = delayed_echo(32, 8, 1, 15);
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let config = TrainConfig::default().with_epochs(2).with_batch_size(8).with_lr(0.01);
    let mut t = Trainer::new(model(1, 8, 16), config.clone()).unwrap();
    t.fit(&data, None, &p, &mut Silent).unwrap();
    let before = std::fs::read(&p.last).unwrap();

    // resume, then poison a weight: the first loss of epoch 3 is NaN
    let mut resumed = Trainer::<f64>::resume(&p.last, config.clone().with_epochs(4)).unwrap();
    resumed.model_mut().head.as_mut().unwrap().weight[[0, 0]] = f64::NAN;
    let err = resumed.fit(&data, None, &p, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("epoch 3, step 9: loss is NaN"), "{err}");
    assert!(err.contains("the last checkpoint (epoch 2) is intact"), "{err}");
    assert_eq!(std::fs::read(&p.last).unwrap(), before, "the last good checkpoint was touched");
}

#[test]
fn early_stopping_ends_on_the_best_epoch() {
    // validation on unrelated targets: it stops improving quickly
    let train = delayed_echo(64, 8, 1, 17);
    let val = delayed_echo(32, 8, 4, 18);
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let config = TrainConfig::default().with_epochs(60).with_batch_size(16).with_lr(0.02).with_patience(Some(3));
    let mut t = Trainer::new(model(1, 8, 19), config).unwrap();
    let report = t.fit(&train, Some(&val), &p, &mut Silent).unwrap();
    assert!(report.stopped_early, "ran all {} epochs", report.history.len());
    let best = report.history.iter().min_by(|a, b| a.val_loss.partial_cmp(&b.val_loss).unwrap()).unwrap();
    assert_eq!(report.final_epoch, best.epoch);
    assert_eq!(report.history.len(), best.epoch + 3);
    let saved = model_file::load::<f64>(&p.model, &Default::default()).unwrap().model;
    let best_ckpt = model_file::load::<f64>(&p.best, &Default::default()).unwrap().model;
    assert_eq!(saved, best_ckpt);
    assert_ne!(weights(&saved), weights(t.model()), "the final model must be the best epoch's, not the last");
    // history files and plots exist
    for f in [&p.history_csv, &p.history_jsonl, &p.last] {
        assert!(f.exists(), "{}", f.display());
    }
    for ext in ["png", "svg"] {
        assert!(dir.path().join(format!("m.loss.{ext}")).exists(), "{ext} plot");
    }
    let csv = std::fs::read_to_string(&p.history_csv).unwrap();
    assert_eq!(csv.lines().count(), report.history.len() + 1);
}

/// Clipping by norm is reported when it fires: every step is clipped under a tiny maximum,
/// none under a huge one, and nothing is recorded without clipping (in the history file too).
#[test]
fn clipping_is_counted_per_epoch() {
    let data = delayed_echo(24, 8, 2, 9);
    let run = |clip_norm: Option<f64>| {
        let dir = tempfile::tempdir().unwrap();
        let config = TrainConfig::default().with_epochs(2).with_batch_size(8).with_clip_norm(clip_norm);
        let mut trainer = Trainer::new(model(1, 6, 2), config).unwrap();
        let report = trainer.fit(&data, None, &paths(dir.path()), &mut Silent).unwrap();
        let csv = std::fs::read_to_string(dir.path().join("m.history.csv")).unwrap();
        (report.history.iter().map(|r| r.clipped).collect::<Vec<_>>(), csv)
    };
    // 24 sequences in batches of 8: 3 optimizer steps an epoch
    let (tiny, csv) = run(Some(1e-9));
    assert_eq!(tiny, vec![Some(3), Some(3)]);
    assert!(csv.lines().next().unwrap().ends_with(",clipped") && csv.lines().nth(1).unwrap().ends_with(",3"), "{csv}");
    assert_eq!(run(Some(1e9)).0, vec![Some(0), Some(0)]);
    let (none, csv) = run(None);
    assert_eq!(none, vec![None, None]);
    assert!(!csv.contains("clipped"));
}
