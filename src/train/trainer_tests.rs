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
