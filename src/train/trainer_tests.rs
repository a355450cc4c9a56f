//! The trainer's unit tests (a file of their own to keep `trainer.rs` short).

use ndarray::Array3;

use super::*;
use crate::data::Targets;
use crate::train::ParamView;
use crate::{Init, ModelConfig, RnnConfig};

/// Counts the tensors calls and what they carried.
#[derive(Default)]
struct Tensors(Vec<(usize, usize, usize)>);
impl Observer for Tensors {
    fn wants_tensors(&self) -> bool {
        true
    }
    fn tensors(&mut self, r: &EpochRecord, params: &[ParamView<'_>]) -> Result<()> {
        let grads = params.iter().filter(|p| p.grad.as_ref().is_some_and(|g| g.shape() == p.weights.shape()));
        self.0.push((r.epoch, params.len(), grads.count()));
        Ok(())
    }
}

fn trainer() -> (Trainer<f32>, Dataset<f32>) {
    let x = Array3::from_shape_fn((10, 4, 1), |(n, t, _)| ((n + 3 * t) as f32 * 0.7).sin());
    let data = Dataset::new(x.clone(), Targets::Values(x), None).unwrap();
    let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 3), output_size: Some(1) }, Init::PyTorch, 1);
    let config = TrainConfig { epochs: 2, batch_size: 4, ..TrainConfig::default() };
    (Trainer::new(model.unwrap(), config).unwrap(), data)
}

#[test]
fn gradients_are_kept_only_for_an_observer_that_wants_them() {
    let dir = tempfile::tempdir().unwrap();
    let paths = RunPaths::from_model_path(&dir.path().join("m.safetensors"));
    let (mut t, data) = trainer();
    t.fit(&data, None, &paths, &mut crate::train::Silent).unwrap();
    assert!(t.last_grads.is_empty() && t.grads_epoch == 0);

    let (mut t, data) = trainer();
    let mut seen = Tensors::default();
    t.fit(&data, None, &paths, &mut (crate::train::Silent, &mut seen)).unwrap();
    // 4 tensors (weight_ih, weight_hh, bias_ih, bias_hh) + the head's 2, each with a gradient
    assert_eq!(seen.0, vec![(1, 6, 6), (2, 6, 6)]);
    assert_eq!(t.grads_epoch, 2);
}

#[test]
fn max_steps_stops_fit_mid_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let paths = RunPaths::from_model_path(&dir.path().join("m.safetensors"));
    let (t, data) = trainer();
    // 10 sequences in batches of 4: 3 steps an epoch; 2 epochs would be 6 steps
    let config = TrainConfig { max_steps: Some(4), ..t.config().clone() };
    let mut t = Trainer::new(t.into_model(), config).unwrap();
    let report = t.fit(&data, None, &paths, &mut crate::train::Silent).unwrap();
    assert_eq!((t.steps_done(), report.history.len(), report.history[1].step), (4, 2, 4));
    assert!(t.out_of_steps());
    let zero = TrainConfig { max_steps: Some(0), ..TrainConfig::default() };
    assert!(zero.validate().is_err());
}

/// Raises the stop flag after `after` batches.
struct StopAfter(usize, Arc<AtomicBool>);
impl Observer for StopAfter {
    fn batch(&mut self, _: &crate::train::BatchProgress) {
        self.0 = self.0.saturating_sub(1);
        if self.0 == 0 {
            self.1.store(true, Ordering::SeqCst);
        }
    }
}

/// Trains 3 epochs of 3 batches uninterrupted, and again stopped after `after` batches then
/// resumed from the `last` checkpoint: the same weights, history and best epoch.
fn stop_and_resume_matches(reset: StateReset, after: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (t, data) = trainer();
    let config = TrainConfig { epochs: 3, state_reset: reset, ..t.config().clone() };
    let val = data.subset(&[0, 1, 2]);
    let whole = RunPaths::from_model_path(&dir.path().join("whole.safetensors"));
    let mut straight = Trainer::new(t.model().clone(), config.clone()).unwrap();
    let expected = straight.fit(&data, Some(&val), &whole, &mut crate::train::Silent).unwrap();
    assert!(!expected.interrupted);

    let paths = RunPaths::from_model_path(&dir.path().join("m.safetensors"));
    let stop = Arc::new(AtomicBool::new(false));
    let mut first = Trainer::new(t.into_model(), config.clone()).unwrap().with_stop(stop.clone());
    let report = first.fit(&data, Some(&val), &paths, &mut StopAfter(after, stop)).unwrap();
    assert!(report.interrupted, "stopped after {after} batches");
    assert!(paths.model.exists() && paths.last.exists());
    let mut resumed = Trainer::<f32>::resume(&paths.last, config).unwrap();
    let report = resumed.fit(&data, Some(&val), &paths, &mut crate::train::Silent).unwrap();
    assert!(!report.interrupted);
    assert_eq!(resumed.model(), straight.model(), "stopped after {after} batches");
    let losses = |h: &[EpochRecord]| h.iter().map(|r| (r.train_loss, r.val_loss)).collect::<Vec<_>>();
    assert_eq!(losses(&report.history), losses(&expected.history));
    assert_eq!((report.final_epoch, report.best_val_loss), (expected.final_epoch, expected.best_val_loss));
    let final_model = crate::model_file::load::<f32>(&paths.model, &Default::default()).unwrap().model;
    let expected_model = crate::model_file::load::<f32>(&whole.model, &Default::default()).unwrap().model;
    assert_eq!(final_model, expected_model);
}

#[test]
fn a_stop_within_an_epoch_resumes_bit_identically() {
    // 1: within epoch 1; 5: within epoch 2; 3: at an epoch's end (stops before epoch 2)
    for after in [1, 5, 3] {
        stop_and_resume_matches(StateReset::Sequence, after);
    }
}

#[test]
fn a_stop_within_a_stateful_epoch_keeps_the_carried_state() {
    stop_and_resume_matches(StateReset::Epoch, 4);
}

#[test]
fn fit_in_memory_trains_as_fit_does_and_writes_nothing() {
    let x = Array3::from_shape_fn((12, 5, 1), |(n, t, _)| ((n + 2 * t) as f32 * 0.9).cos());
    let data = Dataset::new(x.clone(), Targets::Values(x), None).unwrap();
    let make = || {
        let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 3);
        let config = TrainConfig { epochs: 4, batch_size: 4, ..TrainConfig::default() };
        Trainer::new(model.unwrap(), config).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let paths = RunPaths::from_model_path(&dir.path().join("m.safetensors"));
    let mut on_disk = make();
    let written = on_disk.fit(&data, Some(&data), &paths, &mut crate::train::Silent).unwrap();

    let mut in_memory = make();
    let report = in_memory.fit_in_memory(&data, Some(&data), &mut crate::train::Silent).unwrap();
    assert!(report.paths.is_none() && written.paths.is_some());
    // the same run, epoch for epoch (timings aside), and the same final weights as the file's
    let losses = |r: &TrainReport| r.history.iter().map(|e| (e.train_loss, e.val_loss, e.best)).collect::<Vec<_>>();
    assert_eq!(losses(&report), losses(&written));
    assert_eq!(report.final_epoch, written.final_epoch);
    let loaded = crate::io::model_file::load::<f32>(&paths.model, &Default::default()).unwrap().model;
    assert_eq!(in_memory.final_model().named_tensors(), loaded.named_tensors());
    let final_model = in_memory.into_final_model();
    assert_eq!(final_model.named_tensors(), loaded.named_tensors());
}
