//! [`TensorBoard`]: an [`Observer`] that writes each epoch's figures and tensors to a
//! TensorBoard event file ([`SummaryWriter`]).

use std::path::Path;

use super::{EpochRecord, Observer, ParamView};
use crate::Result;
use crate::io::tensorboard::SummaryWriter;

/// Logs every epoch to a TensorBoard event file, the epoch number being the step (the x axis):
///
/// | tag | what |
/// |---|---|
/// | `loss/train` | mean training loss of the epoch |
/// | `loss/validation` | validation loss (with validation data) |
/// | `accuracy/validation` | validation accuracy (cross-entropy tasks) |
/// | `lr` | learning rate of the epoch's last step |
/// | `grad_norm` | mean global gradient norm before clipping |
/// | `time/epoch_seconds` | wall time of the epoch |
/// | `time/sequences_per_sec` | training sequences per second |
/// | `weights/<name>` | histogram of each parameter tensor after the epoch, `name` as in the model file (`rnn.weight_ih_l0`) |
/// | `grads/<name>` | histogram of its gradient at the epoch's last optimizer step, after any clipping |
///
/// The scalars are the history file's (`.history.csv`) figures, stored as `f32`. The file is
/// flushed after every epoch, so an interrupted run loses at most the epoch under way.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::data::{Dataset, Targets};
/// use rnn::train::{TensorBoard, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let dir = std::env::temp_dir().join(format!("rnn-doc-tb-observer-{}", std::process::id()));
/// let mut tensorboard = TensorBoard::create(dir.join("runs"))?;
/// assert!(tensorboard.path().starts_with(dir.join("runs")));
/// let x = Array3::from_shape_fn((4, 5, 1), |(n, t, _)| (n + t) as f32 * 0.1);
/// let train = Dataset::new(x.clone(), Targets::Values(x), None)?;
/// let model = Model::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
/// let mut trainer = Trainer::new(model, TrainConfig::default().with_epochs(2).with_batch_size(2))?;
/// trainer.fit_in_memory(&train, None, &mut tensorboard)?; // or fit(.., &paths, &mut tensorboard)
/// assert!(std::fs::metadata(tensorboard.path())?.len() > 0);
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TensorBoard {
    writer: SummaryWriter,
}

impl TensorBoard {
    /// Creates `dir` when missing and a new event file in it.
    ///
    /// # Errors
    /// As [`SummaryWriter::create`]: [`crate::Error::Io`] naming `dir` when it is not a
    /// directory or cannot be created, or naming the file.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self> {
        Ok(TensorBoard { writer: SummaryWriter::create(dir)? })
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        self.writer.path()
    }
}

impl Observer for TensorBoard {
    fn wants_tensors(&self) -> bool {
        true
    }

    fn tensors(&mut self, r: &EpochRecord, params: &[ParamView<'_>]) -> Result<()> {
        let step = i64::try_from(r.epoch).unwrap_or(i64::MAX);
        let w = &mut self.writer;
        w.add_scalar("loss/train", r.train_loss, step)?;
        if let Some(v) = r.val_loss {
            w.add_scalar("loss/validation", v, step)?;
        }
        if let Some(a) = r.val_accuracy {
            w.add_scalar("accuracy/validation", a, step)?;
        }
        w.add_scalar("lr", r.lr, step)?;
        w.add_scalar("grad_norm", r.grad_norm, step)?;
        w.add_scalar("time/epoch_seconds", r.seconds, step)?;
        w.add_scalar("time/sequences_per_sec", r.sequences_per_sec, step)?;
        if let Some(k) = r.clipped {
            w.add_scalar("grad_norm_clipped_steps", k as f64, step)?;
        }
        // with --diagnose: each layer's gradient norm at lag 0 and at the longest lag
        if let Some(flow) = &r.grad_flow {
            for (name, by_lag) in &flow.grad_norm_by_lag {
                let name = name.replace(' ', "_");
                if let (Some(&first), Some(&last)) = (by_lag.first(), by_lag.last()) {
                    w.add_scalar(&format!("grad_flow/lag_first/layer_{name}"), first, step)?;
                    w.add_scalar(&format!("grad_flow/lag_last/layer_{name}"), last, step)?;
                }
            }
        }
        let mut tag = String::new();
        for p in params {
            tag.clear();
            tag.push_str("weights/");
            tag.push_str(p.name);
            w.add_histogram(&tag, p.weights.iter_f64(), step)?;
            if let Some(g) = &p.grad {
                tag.clear();
                tag.push_str("grads/");
                tag.push_str(p.name);
                w.add_histogram(&tag, g.iter_f64(), step)?;
            }
        }
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use ndarray::Array3;

    use super::*;
    use crate::data::{Dataset, Targets};
    use crate::io::tensorboard::{proto::read, record};
    use crate::train::{RunPaths, TrainConfig, Trainer};
    use crate::{Cell, Init, Model, ModelConfig, RnnConfig};

    /// A double field, 0 when left out (protobuf leaves out zeros).
    fn double(fields: &[(u32, read::Field<'_>)], n: u32) -> f64 {
        read::get(fields, n).map_or(0.0, |f| f.f64())
    }

    /// (tag, step) -> the Summary.Value's fields, for every summary event of the file.
    fn summaries(path: &Path) -> HashMap<(String, u64), Vec<(u32, read::Field<'static>)>> {
        let bytes: &'static [u8] = Box::leak(std::fs::read(path).unwrap().into_boxed_slice());
        let mut out = HashMap::new();
        for data in record::unframe(bytes).unwrap().into_iter().skip(1) {
            let event = read::fields(data);
            let Some(read::Field::Varint(step)) = read::get(&event, 2) else { panic!("no step") };
            let summary = read::fields(read::get(&event, 5).unwrap().bytes());
            let value = read::fields(read::get(&summary, 1).unwrap().bytes());
            let tag = String::from_utf8(read::get(&value, 1).unwrap().bytes().to_vec()).unwrap();
            assert!(out.insert((tag, step), value).is_none(), "a tag twice at one step");
        }
        out
    }

    #[test]
    fn logs_the_history_and_every_tensor_each_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let x = Array3::from_shape_fn((6, 5, 2), |(n, t, i)| ((n * 7 + t * 3 + i) as f64 * 0.37).sin());
        let y = x.mapv(|v| 0.5 * v).slice_move(ndarray::s![.., .., ..1]);
        let data = Dataset::new(x, Targets::Values(y), None).unwrap();
        let rnn = RnnConfig::new(2, 3).with_cell(Cell::Lstm).with_proj_size(2).with_bidirectional(true);
        let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 3).unwrap();
        let names: Vec<(String, usize)> = model.named_tensors().into_iter().map(|(n, t)| (n, t.len())).collect();
        // one batch, so one optimizer step per epoch: the logged gradient is the epoch's only one
        let config = TrainConfig { epochs: 3, batch_size: 6, lr: 0.01, ..TrainConfig::default() };
        let mut trainer = Trainer::new(model, config).unwrap();
        let mut tb = TensorBoard::create(dir.path().join("runs")).unwrap();
        let report = trainer
            .fit(&data, Some(&data), &RunPaths::from_model_path(&dir.path().join("m.safetensors")), &mut tb)
            .unwrap();
        let s = summaries(tb.path());
        assert_eq!(s.len(), 3 * (6 + 2 * names.len()), "6 scalars and 2 histograms per tensor, 3 epochs");
        for r in &report.history {
            let step = r.epoch as u64;
            let scalar = |tag: &str| read::get(&s[&(tag.to_string(), step)], 2).map_or(0.0, |f| f.f32());
            assert_eq!(scalar("loss/train"), r.train_loss as f32);
            assert_eq!(scalar("loss/validation"), r.val_loss.unwrap() as f32);
            assert_eq!(scalar("lr"), r.lr as f32);
            assert_eq!(scalar("grad_norm"), r.grad_norm as f32);
            assert_eq!(scalar("time/epoch_seconds"), r.seconds as f32);
            let mut grad_sum_squares = 0.0;
            for (name, len) in &names {
                for kind in ["weights", "grads"] {
                    let histo = read::fields(read::get(&s[&(format!("{kind}/{name}"), step)], 5).unwrap().bytes());
                    assert_eq!(double(&histo, 3), *len as f64, "{kind}/{name}");
                    let buckets: f64 = read::get(&histo, 7).unwrap().packed_f64().iter().sum();
                    assert_eq!(buckets, *len as f64);
                    if kind == "grads" {
                        grad_sum_squares += double(&histo, 5);
                    }
                }
            }
            let norm = grad_sum_squares.sqrt();
            assert!((norm - r.grad_norm).abs() <= 1e-12 * r.grad_norm, "{norm} vs {}", r.grad_norm);
        }
        // the last epoch's weights are the trained model's
        for (name, t) in trainer.model().named_tensors() {
            let histo = read::fields(read::get(&s[&(format!("weights/{name}"), 3)], 5).unwrap().bytes());
            let (min, max) = t.iter().fold((f64::INFINITY, -f64::INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            assert_eq!((double(&histo, 1), double(&histo, 2)), (min, max), "{name}");
            let abs: f64 = t.iter().map(|v| v.abs()).sum();
            assert!((double(&histo, 4) - t.sum()).abs() <= 1e-12 * abs, "{name}");
        }
        assert!(s.contains_key(&("weights/rnn.weight_hr_l0_reverse".to_string(), 1)));
        assert!(s.contains_key(&("grads/head.bias".to_string(), 1)));
    }
}
