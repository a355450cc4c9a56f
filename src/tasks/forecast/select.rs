//! Choosing the transformation: train one model per candidate, keep the best on validation.

use serde::{Deserialize, Serialize};

use super::{ForecastMeta, Part, Plan, Scores, Table, Transformation};
use crate::data::Dataset;
use crate::{Float, Model, Result};

/// A transformation tried and how its model scored on the validation split.
///
/// # Example
/// ```
/// # use rnn::tasks::forecast::{Part, Plan, Settings, table};
/// # use rnn::{Init, Model, ModelConfig, RnnConfig};
/// # let csv: String = std::iter::once("year,value".to_string())
/// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
/// #     .collect::<Vec<_>>()
/// #     .join("\n");
/// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
/// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
/// # let meta = plan.meta(&table, plan.candidates[0])?;
/// # let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, 0)?;
/// let (best, _) = rnn::tasks::forecast::select::<f32>(&plan, &table, |meta, _, _| {
///     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, 0)
/// })?;
/// let c = &best.selection[0];
/// assert_eq!(c.transform, plan.candidates[0]);
/// assert!(c.validation.mase.is_finite() && c.persistence.mase.is_finite());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The transformation.
    pub transform: Transformation,
    /// Its model's rolling-origin scores on the validation split.
    pub validation: Scores,
    /// Persistence's on the same origins.
    pub persistence: Scores,
}

/// Trains a model for every candidate of `plan` with `train` (given the metadata, the training
/// and the validation windows) and returns the metadata of the one with the lowest validation
/// MASE (scale-free, so every series counts alike), with every candidate's scores recorded in
/// [`ForecastMeta::selection`]. The test split is not looked at.
///
/// # Errors
/// What `train` returns, and as [`ForecastMeta::dataset`] and [`ForecastMeta::evaluate`].
///
/// # Example
/// ```
/// # use rnn::tasks::forecast::{Part, Plan, Settings, table};
/// # use rnn::{Init, Model, ModelConfig, RnnConfig};
/// # let csv: String = std::iter::once("year,value".to_string())
/// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
/// #     .collect::<Vec<_>>()
/// #     .join("\n");
/// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
/// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
/// # let meta = plan.meta(&table, plan.candidates[0])?;
/// # let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, 0)?;
/// use rnn::train::{Silent, TrainConfig, Trainer};
/// let (best, model) = rnn::tasks::forecast::select::<f32>(&plan, &table, |meta, train, val| {
///     let config = ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) };
///     let mut trainer = Trainer::new(Model::new(config, Init::PyTorch, 0)?, TrainConfig::default().with_epochs(2))?;
///     trainer.fit_in_memory(train, Some(val), &mut Silent)?;
///     Ok(trainer.into_final_model())
/// })?;
/// assert_eq!(best.selection.len(), plan.candidates.len()); // every candidate's validation scores
/// assert_eq!(model.config().output_size, Some(2));
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn select<F: Float>(
    plan: &Plan,
    table: &Table,
    mut train: impl FnMut(&ForecastMeta, &Dataset<F>, &Dataset<F>) -> Result<Model<F>>,
) -> Result<(ForecastMeta, Model<F>)> {
    let mut tried: Vec<(ForecastMeta, Model<F>, Candidate)> = Vec::new();
    for &t in &plan.candidates {
        let meta = plan.meta(table, t)?;
        let train_set = meta.dataset::<F>(table, Part::Train)?;
        let val_set = meta.dataset::<F>(table, Part::Validation)?;
        let model = train(&meta, &train_set, &val_set)?;
        let (ev, _) = meta.evaluate(&model, table, Part::Validation, None)?;
        let candidate = Candidate { transform: t, validation: ev.model, persistence: ev.persistence };
        tried.push((meta, model, candidate));
    }
    if tried.is_empty() {
        return Err(crate::Error::Config("no transformation to try".into()));
    }
    let selection: Vec<Candidate> = tried.iter().map(|c| c.2.clone()).collect();
    let key = |c: &Candidate| if c.validation.mase.is_finite() { c.validation.mase } else { f64::INFINITY };
    let best = (0..tried.len()).min_by(|&a, &b| key(&tried[a].2).total_cmp(&key(&tried[b].2))).unwrap_or(0);
    let (mut meta, model, _) = tried.swap_remove(best);
    if selection.len() > 1 {
        meta.selection = selection;
    }
    Ok((meta, model))
}
