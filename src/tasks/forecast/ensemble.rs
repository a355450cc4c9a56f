//! Ensembles over seeds and transformations, the other lesson of the M4 competition: the
//! forecast is the mean of several networks' forecasts (on the original scale), each trained
//! with its own seed and on its own [`Transformation`] of the series.
//!
//! [`select`] trains every seed of every candidate transformation, ranks the transformations by
//! the validation MASE of their seeds' mean forecast, and keeps the k best (k chosen by the same
//! validation MASE, ties to the smaller k): the test split is never looked at. The first network
//! is the model file's own (`rnn.*`, `head.*`, with [`ForecastMeta::transform`] and
//! [`ForecastMeta::series`]); the others are stored beside it as `ensemble.{k}.rnn.*` and
//! `ensemble.{k}.head.*` (a reserved prefix, so the file still loads as that one network), with
//! their transformation and statistics in [`ForecastMeta::ensemble`].
//!
//! # Example
//! ```
//! use rnn::tasks::forecast::{Part, Plan, Settings, ensemble, table};
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! let csv: String = std::iter::once("year,value".to_string())
//!     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
//!     .collect::<Vec<_>>()
//!     .join("\n");
//! let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
//! let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
//! // two seeds per transformation; the closure trains one network (here: none, for brevity)
//! let (meta, models) = ensemble::select::<f32>(&plan, &table, &[1, 2], |meta, seed, _train, _val| {
//!     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, seed)
//! })?;
//! assert_eq!(models.len(), meta.networks());
//! let (scores, _) = meta.evaluate(&models, &table, Part::Test, None)?; // the mean of their forecasts
//! assert!(scores.model.mase.is_finite());
//! # Ok::<(), rnn::Error>(())
//! ```

use std::collections::HashMap;
use std::path::Path;

use ndarray::ArrayD;
use serde::{Deserialize, Serialize};

use super::{Candidate, ForecastMeta, Part, Plan, Scores, SeriesStats, Table, Transformation, metrics};
use crate::data::Dataset;
use crate::{Error, Float, Model, Result, model_file};

/// The tensor-name prefix of the further networks of an ensemble.
pub const PREFIX: &str = "ensemble.";

/// A further network of an ensemble: how it reads the series.
///
/// # Example
/// ```
/// # use rnn::tasks::forecast::{Plan, Settings, table};
/// # let csv: String = std::iter::once("year,value".to_string())
/// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
/// #     .collect::<Vec<_>>()
/// #     .join("\n");
/// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
/// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
/// # use rnn::{Init, Model, ModelConfig, RnnConfig};
/// # let (meta, models) = rnn::tasks::forecast::select::<f32>(&plan, &table, &[1, 2], |meta, seed, _, _| {
/// #     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, seed)
/// # })?;
/// // networks 1.. of the forecaster, each with its own seed (and maybe transformation)
/// for (k, member) in meta.ensemble.iter().enumerate() {
///     assert_eq!(member.series.len(), table.series.len());
///     assert_eq!(meta.member(k + 1).transform, member.transform);
/// }
/// assert!(meta.ensemble.iter().any(|m| m.seed == 2));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its transformation.
    pub transform: Transformation,
    /// The seed it was trained with.
    pub seed: u64,
    /// Per series: its training statistics under that transformation.
    pub series: Vec<SeriesStats>,
}

impl ForecastMeta {
    /// Networks of the forecaster: the model's own and the ensemble's.
    ///
    /// # Example
    /// ```
    /// # use rnn::tasks::forecast::{Plan, Settings, table};
    /// # let csv: String = std::iter::once("year,value".to_string())
    /// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
    /// #     .collect::<Vec<_>>()
    /// #     .join("\n");
    /// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
    /// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
    /// # use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// # let (meta, models) = rnn::tasks::forecast::select::<f32>(&plan, &table, &[1, 2], |meta, seed, _, _| {
    /// #     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, seed)
    /// # })?;
    /// assert_eq!(meta.networks(), 1 + meta.ensemble.len());
    /// assert!(meta.networks() >= 2); // two seeds at least
    /// assert_eq!(models.len(), meta.networks());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn networks(&self) -> usize {
        1 + self.ensemble.len()
    }

    /// The metadata network `k` reads and decodes with (0: the model's own).
    ///
    /// # Example
    /// ```
    /// # use rnn::tasks::forecast::{Plan, Settings, table};
    /// # let csv: String = std::iter::once("year,value".to_string())
    /// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
    /// #     .collect::<Vec<_>>()
    /// #     .join("\n");
    /// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
    /// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
    /// # use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// # let (meta, models) = rnn::tasks::forecast::select::<f32>(&plan, &table, &[1, 2], |meta, seed, _, _| {
    /// #     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, seed)
    /// # })?;
    /// use rnn::tasks::forecast::Part;
    /// // network k alone, evaluated with its own transformation
    /// let (alone, _) = meta.member(1).evaluate(&models[1..2], &table, Part::Validation, None)?;
    /// assert!(alone.model.mase.is_finite());
    /// assert_eq!(meta.member(0).transform, meta.transform);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn member(&self, k: usize) -> ForecastMeta {
        let mut meta =
            ForecastMeta { ensemble: Vec::new(), combine: None, combine_log: None, combine_hw: None, ..self.clone() };
        if let Some(m) = k.checked_sub(1).and_then(|i| self.ensemble.get(i)) {
            meta.transform = m.transform;
            meta.series = m.series.clone();
        }
        meta
    }

    /// Checks that `models` are this forecaster's networks.
    ///
    /// # Errors
    /// [`Error::Config`] when their number is not [`ForecastMeta::networks`].
    pub(super) fn check_networks<F: Float>(&self, models: &[Model<F>]) -> Result<()> {
        if models.len() != self.networks() {
            return Err(Error::Config(format!(
                "the forecaster has {} networks but {} were given",
                self.networks(),
                models.len()
            )));
        }
        Ok(())
    }

    /// The tensors of networks 1.. of `models` under their [`PREFIX`]ed names, to store beside
    /// network 0.
    ///
    /// # Example
    /// ```
    /// # use rnn::tasks::forecast::{Plan, Settings, table};
    /// # let csv: String = std::iter::once("year,value".to_string())
    /// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
    /// #     .collect::<Vec<_>>()
    /// #     .join("\n");
    /// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
    /// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
    /// # use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// # let (meta, models) = rnn::tasks::forecast::select::<f32>(&plan, &table, &[1, 2], |meta, seed, _, _| {
    /// #     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, seed)
    /// # })?;
    /// use rnn::tasks::forecast::ForecastMeta;
    /// let tensors = ForecastMeta::ensemble_tensors(&models);
    /// assert!(tensors.iter().any(|(name, _)| name == "ensemble.1.rnn.weight_ih_l0"));
    /// assert!(tensors.iter().all(|(name, _)| !name.starts_with("ensemble.0."))); // network 0 is the file's own
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn ensemble_tensors<F: Float>(models: &[Model<F>]) -> Vec<(String, ArrayD<F>)> {
        models
            .iter()
            .enumerate()
            .skip(1)
            .flat_map(|(k, m)| {
                m.named_tensors().into_iter().map(move |(n, t)| (format!("{PREFIX}{k}.{n}"), t.to_owned()))
            })
            .collect()
    }

    /// The forecaster's model file as bytes: network 0 as the file's own model, the others under
    /// [`PREFIX`] ([`ForecastMeta::ensemble_tensors`]), and this metadata beside `extra` (the
    /// file's other metadata). [`ForecastMeta::load_networks`] reads it back.
    ///
    /// # Errors
    /// [`Error::Config`] when `models` is empty; [`Error::ModelFile`] when a tensor cannot be
    /// stored.
    ///
    /// # Example
    /// ```
    /// # use rnn::tasks::forecast::{Plan, Settings, table};
    /// # let csv: String = std::iter::once("year,value".to_string())
    /// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
    /// #     .collect::<Vec<_>>()
    /// #     .join("\n");
    /// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
    /// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
    /// # use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// # let (meta, models) = rnn::tasks::forecast::select::<f32>(&plan, &table, &[1, 2], |meta, seed, _, _| {
    /// #     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, seed)
    /// # })?;
    /// let extra = std::collections::HashMap::from([("note".to_string(), "sine".to_string())]);
    /// let bytes = meta.to_bytes(&models, &extra)?;
    /// let loaded = rnn::model_file::from_bytes::<f32>(&bytes, "m.safetensors".as_ref(), &Default::default())?;
    /// assert_eq!(loaded.model, models[0]);
    /// assert_eq!(loaded.metadata["note"], "sine");
    /// assert!(meta.to_bytes::<f32>(&[], &extra).is_err()); // no network, no file
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn to_bytes<F: Float>(&self, models: &[Model<F>], extra: &HashMap<String, String>) -> Result<Vec<u8>> {
        let first = models.first().ok_or_else(|| Error::Config("a forecaster needs at least one network".into()))?;
        let mut metadata = extra.clone();
        metadata.extend(self.to_metadata());
        model_file::to_bytes_with(first, &metadata, &Self::ensemble_tensors(models))
    }

    /// Reads the forecaster's networks from the model file at `path` whose own network is `first`.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::ModelFile`] naming the file when it cannot be read or a
    /// network's tensor is missing or misshapen.
    ///
    /// # Example
    /// ```
    /// # use rnn::tasks::forecast::{Plan, Settings, table};
    /// # let csv: String = std::iter::once("year,value".to_string())
    /// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
    /// #     .collect::<Vec<_>>()
    /// #     .join("\n");
    /// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
    /// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
    /// # use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// # let (meta, models) = rnn::tasks::forecast::select::<f32>(&plan, &table, &[1, 2], |meta, seed, _, _| {
    /// #     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, seed)
    /// # })?;
    /// use rnn::tasks::forecast::ForecastMeta;
    /// use rnn::model_file;
    /// // the file `rnn train --task forecast` writes: network 0, the others beside it, the metadata
    /// let bytes = meta.to_bytes(&models, &Default::default())?;
    /// let path = std::env::temp_dir().join(format!("rnn-doc-ensemble-{}.safetensors", std::process::id()));
    /// std::fs::write(&path, bytes)?;
    /// // reading it back: the file loads as network 0, its metadata names the others
    /// let loaded = model_file::load::<f32>(&path, &Default::default())?;
    /// let stored = ForecastMeta::from_metadata(&loaded.metadata, &path)?;
    /// assert_eq!(stored.load_networks(&path, &loaded.model)?, models);
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_networks<F: Float>(&self, path: &Path, first: &Model<F>) -> Result<Vec<Model<F>>> {
        let mut models = vec![first.clone()];
        if self.ensemble.is_empty() {
            return Ok(models);
        }
        let bytes = std::fs::read(path).map_err(|err| Error::Io { path: path.to_path_buf(), err })?;
        let tensors: HashMap<String, ArrayD<F>> = model_file::read_tensors(&bytes, path)?;
        for k in 1..self.networks() {
            let mut m = first.clone();
            for (name, mut t) in m.named_tensors_mut() {
                let key = format!("{PREFIX}{k}.{name}");
                let src = tensors
                    .get(&key)
                    .ok_or_else(|| Error::model_file(path, format!("tensor `{key}` of the ensemble is missing")))?;
                if src.shape() != t.shape() {
                    let msg = format!("tensor `{key}` has shape {:?}, expected {:?}", src.shape(), t.shape());
                    return Err(Error::model_file(path, msg));
                }
                t.assign(src);
            }
            models.push(m);
        }
        Ok(models)
    }
}

/// The mean over networks of forecasts `[network][origin][step]`.
pub(super) fn mean(forecasts: &[Vec<Vec<f64>>]) -> Vec<Vec<f64>> {
    let n = forecasts.len().max(1) as f64;
    let Some(first) = forecasts.first() else { return Vec::new() };
    let mut out = first.clone();
    for f in &forecasts[1..] {
        for (o, fo) in out.iter_mut().zip(f) {
            for (x, y) in o.iter_mut().zip(fo) {
                *x += y;
            }
        }
    }
    out.iter_mut().flatten().for_each(|x| *x /= n);
    out
}

/// One network trained for [`select`]: its metadata, seed, model and validation forecasts
/// `[series][origin][step]`.
struct Trained<F: Float> {
    meta: ForecastMeta,
    seed: u64,
    model: Model<F>,
    validation: Vec<Vec<Vec<f64>>>,
}

/// Scores of forecasts `[series][origin][step]` of the validation split.
fn score(plan: &Plan, table: &Table, origins: &[Vec<usize>], forecasts: &[Vec<Vec<f64>>]) -> Scores {
    let mut acc = metrics::Accumulator::default();
    for (k, (os, fs)) in origins.iter().zip(forecasts).enumerate() {
        let y = &table.series[k].values;
        let scale = metrics::mase_scale(&y[..plan.split.sizes(y.len())[0]], plan.season.max(1));
        for (&t, f) in os.iter().zip(fs) {
            for (i, v) in f.iter().enumerate() {
                acc.add(y[t + 1 + i], *v, scale);
            }
        }
    }
    acc.scores()
}

/// The mean over `members` of their validation forecasts `[series][origin][step]`.
fn mean_of<F: Float>(members: &[&Trained<F>]) -> Vec<Vec<Vec<f64>>> {
    let series = members.first().map_or(0, |m| m.validation.len());
    (0..series).map(|k| mean(&members.iter().map(|m| m.validation[k].clone()).collect::<Vec<_>>())).collect()
}

/// Trains a network for every seed of `seeds` and every candidate of `plan` with `train`
/// (given the metadata, the seed, the training and the validation windows), and returns the
/// metadata and networks of the ensemble that scores the lowest validation MASE among the k
/// best transformations (k = 1, 2, ..; each transformation ranked by its seeds' mean forecast).
/// Every candidate's validation scores (its seeds' mean) are recorded in
/// [`ForecastMeta::selection`]. The test split is not looked at.
///
/// # Errors
/// What `train` returns; as [`ForecastMeta::dataset`] and [`ForecastMeta::evaluate`];
/// [`Error::Config`] when there is no candidate or no seed.
///
/// # Example
/// ```
/// # use rnn::tasks::forecast::{Plan, Settings, table};
/// # let csv: String = std::iter::once("year,value".to_string())
/// #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
/// #     .collect::<Vec<_>>()
/// #     .join("\n");
/// # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
/// # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
/// use rnn::tasks::forecast::{Part, select};
/// use rnn::train::{Silent, TrainConfig, Trainer};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let (meta, models) = select::<f32>(&plan, &table, &[1, 2], |meta, seed, train, val| {
///     let config = ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) };
///     let mut trainer = Trainer::new(Model::new(config, Init::PyTorch, seed)?, TrainConfig::default().with_epochs(2).with_seed(seed))?;
///     trainer.fit_in_memory(train, Some(val), &mut Silent)?; // early stopping on the validation windows
///     Ok(trainer.into_final_model())
/// })?;
/// assert_eq!(models.len() % 2, 0); // both seeds of every transformation kept
/// assert!(plan.candidates.contains(&meta.transform));
/// // only now is the test split looked at
/// let (scores, _) = meta.evaluate(&models, &table, Part::Test, None)?;
/// assert!(scores.model.rmse.is_finite());
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn select<F: Float>(
    plan: &Plan,
    table: &Table,
    seeds: &[u64],
    mut train: impl FnMut(&ForecastMeta, u64, &Dataset<F>, &Dataset<F>) -> Result<Model<F>>,
) -> Result<(ForecastMeta, Vec<Model<F>>)> {
    if plan.candidates.is_empty() || seeds.is_empty() {
        return Err(Error::Config("no transformation or no seed to train".into()));
    }
    let mut groups: Vec<(Vec<Trained<F>>, Candidate)> = Vec::new();
    let mut origins: Vec<Vec<usize>> = Vec::new();
    for &t in &plan.candidates {
        let meta = plan.meta(table, t)?;
        let train_set = meta.dataset::<F>(table, Part::Train)?;
        let val_set = meta.dataset::<F>(table, Part::Validation)?;
        let mut group = Vec::new();
        let mut persistence = None;
        for &seed in seeds {
            let model = train(&meta, seed, &train_set, &val_set)?;
            let (ev, fc) = meta.evaluate(std::slice::from_ref(&model), table, Part::Validation, None)?;
            persistence = Some(ev.persistence);
            origins = fc.iter().map(|f| f.origins.clone()).collect();
            let validation = fc.into_iter().map(|f| f.model).collect();
            group.push(Trained { meta: meta.clone(), seed, model, validation });
        }
        let validation = score(plan, table, &origins, &mean_of(&group.iter().collect::<Vec<_>>()));
        let persistence = persistence.unwrap_or(validation);
        groups.push((group, Candidate { transform: t, validation, persistence }));
    }
    let key = |c: &Candidate| if c.validation.mase.is_finite() { c.validation.mase } else { f64::INFINITY };
    groups.sort_by(|a, b| key(&a.1).total_cmp(&key(&b.1)));
    // the k best transformations' seeds together, k chosen on validation
    let mut best = (1, f64::INFINITY);
    for k in 1..=groups.len() {
        let members: Vec<&Trained<F>> = groups[..k].iter().flat_map(|g| &g.0).collect();
        let mase = score(plan, table, &origins, &mean_of(&members)).mase;
        if mase < best.1 {
            best = (k, mase);
        }
    }
    let selection: Vec<Candidate> = plan
        .candidates
        .iter()
        .filter_map(|t| groups.iter().find(|g| g.1.transform == *t).map(|g| g.1.clone()))
        .collect();
    let mut kept = groups.into_iter().take(best.0).flat_map(|g| g.0);
    let Some(first) = kept.next() else { return Err(Error::Config("no network trained".into())) };
    let mut meta = first.meta;
    let mut models = vec![first.model];
    for m in kept {
        meta.ensemble.push(Member { transform: m.meta.transform, seed: m.seed, series: m.meta.series });
        models.push(m.model);
    }
    if selection.len() > 1 {
        meta.selection = selection;
    }
    Ok((meta, models))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tasks::forecast::{Settings, table};
    use crate::{Init, ModelConfig, RnnConfig};

    #[test]
    fn an_ensemble_forecasts_the_mean_of_its_networks_and_survives_its_file() {
        let csv: String = std::iter::once("date,value".to_string())
            .chain((0..80).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.7).sin() + 0.05 * t as f64)))
            .collect::<Vec<_>>()
            .join("\n");
        let table = table::parse(csv.as_bytes(), "s.csv".as_ref(), &Default::default()).unwrap();
        let plan = Plan::new(&table, &Settings { horizon: 2, ..Settings::default() }).unwrap();
        // untrained networks, one per seed: enough to check the bookkeeping
        let (meta, models) = select::<f64>(&plan, &table, &[1, 2], |meta, seed, _, _| {
            let config = ModelConfig { rnn: RnnConfig::new(meta.input_size(), 3), output_size: Some(meta.horizon) };
            Model::new(config, Init::PyTorch, seed)
        })
        .unwrap();
        assert_eq!(models.len(), meta.networks());
        assert!(models.len() >= 2 && models.len() % 2 == 0, "{}", models.len());
        assert_eq!(meta.selection.len(), plan.candidates.len());
        let (_, all) = meta.evaluate(&models, &table, Part::Test, None).unwrap();
        let each: Vec<Vec<Vec<f64>>> = (0..models.len())
            .map(|k| meta.member(k).evaluate(&models[k..=k], &table, Part::Test, None).unwrap().1[0].model.clone())
            .collect();
        let want = mean(&each);
        for (a, b) in all[0].model.iter().flatten().zip(want.iter().flatten()) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        assert!(meta.evaluate(&models[..1], &table, Part::Test, None).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let bytes = meta.to_bytes(&models, &Default::default()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let loaded = model_file::load::<f64>(&path, &Default::default()).unwrap();
        let back = ForecastMeta::from_metadata(&loaded.metadata, &path).unwrap();
        assert_eq!(back, meta);
        assert_eq!(back.load_networks(&path, &loaded.model).unwrap(), models);
    }

    #[test]
    fn means_over_networks() {
        let f = vec![vec![vec![1.0, 2.0]], vec![vec![3.0, 6.0]]];
        assert_eq!(mean(&f), [vec![2.0, 4.0]]);
        assert!(mean(&[]).is_empty());
    }
}
