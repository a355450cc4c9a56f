//! The final refit: before forecasting past the end of a series, every network is trained
//! again from its initialisation, with the settings it was trained with and for the number of
//! epochs early stopping kept, on all the rows (training + validation + test) instead of the
//! training split alone. The transformations' statistics (normalisation) stay those of the
//! training split, and the combination's weights and the intervals' widths stay those chosen on
//! the validation split.
//!
//! # Example
//! ```
//! # use rnn::tasks::forecast::{Plan, Settings, table};
//! # let csv: String = std::iter::once("year,value".to_string())
//! #     .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.6).sin())))
//! #     .collect::<Vec<_>>()
//! #     .join("\n");
//! # let table = table::parse(csv.as_bytes(), "sine.csv".as_ref(), &Default::default())?;
//! # let plan = Plan::new(&table, &Settings { horizon: 2, window: Some(6), season: Some(1), ..Settings::default() })?;
//! # let mut meta = plan.meta(&table, plan.candidates[0])?;
//! use rnn::tasks::forecast::Refit;
//! use rnn::train::TrainConfig;
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! let config = ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) };
//! let trained = vec![Model::<f32>::new(config, Init::PyTorch, 3)?]; // kept at epoch 2, say
//! meta.refit = Some(Refit { config: TrainConfig::default(), init: Init::PyTorch, forget_bias: None, chrono: None, seeds: vec![3], epochs: vec![2] });
//! let refitted = meta.refit(&trained, &table, None, &mut |_| {})?; // on all 60 rows
//! assert_eq!(refitted[0].config(), trained[0].config());
//! # Ok::<(), rnn::Error>(())
//! ```

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::{ForecastMeta, Part, Table};
use crate::data::Dataset;
use crate::train::{Silent, TrainConfig, Trainer};
use crate::{Error, Float, Init, Model, Result};

/// What a refit needs besides the data: how the networks were initialised and trained, and
/// for how many epochs each was kept.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::Refit;
/// use rnn::train::TrainConfig;
/// use rnn::Init;
/// // two networks, kept at epochs 12 and 9 by early stopping
/// let refit = Refit { config: TrainConfig::default(), init: Init::PyTorch, forget_bias: None, chrono: None, seeds: vec![1, 2], epochs: vec![12, 9] };
/// let json = serde_json::to_string(&refit).map_err(|e| rnn::Error::Config(e.to_string()))?; // stored in the model file
/// assert!(json.contains("\"epochs\":[12,9]"));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Refit {
    /// The training settings (their `epochs`, `patience` and `seed` are replaced per network).
    pub config: TrainConfig,
    /// The initialisation scheme.
    pub init: Init,
    /// LSTM: the forget-gate bias set after initialisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_bias: Option<f64>,
    /// LSTM/GRU: the chrono initialisation's T.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chrono: Option<f64>,
    /// Per network (0: the model's own), its seed.
    pub seeds: Vec<u64>,
    /// Per network, the epoch whose weights were kept (the best on validation).
    pub epochs: Vec<usize>,
}

impl Refit {
    /// The settings of network 0 alone (a file holding the first network only).
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::Refit;
    /// use rnn::train::TrainConfig;
    /// use rnn::Init;
    /// let refit = Refit { config: TrainConfig::default(), init: Init::PyTorch, forget_bias: None, chrono: None, seeds: vec![1, 2], epochs: vec![12, 9] };
    /// let first = refit.first();
    /// assert_eq!((first.seeds, first.epochs), (vec![1], vec![12]));
    /// ```
    pub fn first(self) -> Refit {
        Refit {
            seeds: self.seeds.into_iter().take(1).collect(),
            epochs: self.epochs.into_iter().take(1).collect(),
            ..self
        }
    }

    /// The model network `k` starts from: `config`'s architecture initialised as in training.
    ///
    /// # Errors
    /// As [`Model::new`] and the gate initialisations.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::Refit;
    /// use rnn::train::TrainConfig;
    /// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
    /// let refit = Refit { config: TrainConfig::default(), init: Init::PyTorch, forget_bias: Some(1.0), chrono: None, seeds: vec![7], epochs: vec![5] };
    /// let config = ModelConfig { rnn: RnnConfig::new(1, 4).with_cell(Cell::Lstm), output_size: Some(2) };
    /// let m = refit.initial::<f32>(config.clone(), 0)?;
    /// // network 0's seed, then the forget gate's bias (rows H..2H of b_ih + b_hh) set to 1
    /// let (b_ih, b_hh) = (m.rnn.layers()[0].bias_ih.clone().unwrap(), m.rnn.layers()[0].bias_hh.clone().unwrap());
    /// assert!((4..8).all(|j| (b_ih[j] + b_hh[j] - 1.0).abs() < 1e-6));
    /// assert_eq!(m.head, Model::<f32>::new(config, Init::PyTorch, 7)?.head);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn initial<F: Float>(&self, config: crate::ModelConfig, k: usize) -> Result<Model<F>> {
        let seed = self.seeds.get(k).copied().unwrap_or_default();
        let mut model = Model::<F>::new(config, self.init, seed)?;
        if let Some(t_max) = self.chrono {
            // the seed's offset is the command line's (`rnn train --chrono`)
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xC4_0A0);
            model.rnn.chrono_init(t_max, &mut rng)?;
        }
        if let Some(b) = self.forget_bias {
            model.rnn.set_forget_bias(b)?;
        }
        Ok(model)
    }
}

impl ForecastMeta {
    /// The windows of every origin of every series whose whole horizon is known: the training,
    /// validation and test rows together (targets from row W on).
    ///
    /// # Errors
    /// As [`ForecastMeta::dataset`].
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
    /// # let meta = plan.meta(&table, plan.candidates[0])?;
    /// use rnn::tasks::forecast::Part;
    /// let all = meta.dataset_all::<f32>(&table)?;
    /// assert_eq!(all.len(), 60 - 6 - 2 + 1); // every origin with 6 steps before and 2 after
    /// assert!(all.len() > meta.dataset::<f32>(&table, Part::Train)?.len());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn dataset_all<F: Float>(&self, table: &Table) -> Result<Dataset<F>> {
        self.dataset_through(table, Part::Test)
    }

    /// The windows of every origin of every series whose whole horizon lies in the rows up to
    /// the end of `part`: training + validation for [`Part::Validation`] (what the statistical
    /// baselines are fitted on before the test split), every row for [`Part::Test`]
    /// ([`ForecastMeta::dataset_all`]).
    ///
    /// # Errors
    /// As [`ForecastMeta::dataset`].
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
    /// # let meta = plan.meta(&table, plan.candidates[0])?;
    /// use rnn::tasks::forecast::Part;
    /// let [train, val, _] = meta.split.sizes(60);
    /// let seen = meta.dataset_through::<f32>(&table, Part::Validation)?;
    /// assert_eq!(seen.len(), train + val - 6 - 2 + 1); // no target past the validation split
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn dataset_through<F: Float>(&self, table: &Table, part: Part) -> Result<Dataset<F>> {
        let first = self.window - 1;
        let end = |n: usize| part.range(self.split.sizes(n)).end;
        self.windows(table, |n| first..end(n).saturating_sub(self.horizon).max(first), part.name())
    }

    /// Networks trained again on all the rows of `table` ([`ForecastMeta::dataset_all`]), each
    /// from its initialisation, with the settings and seed it was trained with, for the epochs
    /// [`Refit::epochs`] says; `models` gives their architectures. `stop`, when raised, ends
    /// training (an [`Error::Training`]). `progress` is told of each network before it starts.
    ///
    /// # Errors
    /// [`Error::Config`] when the model has no refit settings (trained before they were
    /// stored) or they do not cover every network; as [`ForecastMeta::dataset_all`] and
    /// [`Trainer::fit_in_memory`].
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
    /// # let mut meta = plan.meta(&table, plan.candidates[0])?;
    /// use rnn::tasks::forecast::Refit;
    /// use rnn::train::TrainConfig;
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) };
    /// let trained = vec![Model::<f32>::new(config, Init::PyTorch, 3)?]; // trained for 2 epochs, say
    /// meta.refit = Some(Refit { config: TrainConfig::default(), init: Init::PyTorch, forget_bias: None, chrono: None, seeds: vec![3], epochs: vec![2] });
    /// let mut started = Vec::new();
    /// let refitted = meta.refit(&trained, &table, None, &mut |k| started.push(k))?;
    /// assert_eq!((refitted.len(), started), (1, vec![0]));
    /// assert_ne!(refitted[0], trained[0]); // trained again, on every row
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn refit<F: Float>(
        &self,
        models: &[Model<F>],
        table: &Table,
        stop: Option<Arc<AtomicBool>>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Model<F>>> {
        self.refit_through(models, table, Part::Test, stop, progress)
    }

    /// [`ForecastMeta::refit`] on the rows up to the end of `part` only
    /// ([`ForecastMeta::dataset_through`]): with [`Part::Validation`], the networks as they
    /// would be before the test split if they were fitted as the statistical baselines are,
    /// on training + validation, for the epochs early stopping chose on validation.
    ///
    /// # Errors
    /// As [`ForecastMeta::refit`].
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
    /// # let mut meta = plan.meta(&table, plan.candidates[0])?;
    /// use rnn::tasks::forecast::{Part, Refit};
    /// use rnn::train::TrainConfig;
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let config = ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) };
    /// let trained = vec![Model::<f32>::new(config, Init::PyTorch, 3)?];
    /// meta.refit = Some(Refit { config: TrainConfig::default(), init: Init::PyTorch, forget_bias: None, chrono: None, seeds: vec![3], epochs: vec![2] });
    /// let before_test = meta.refit_through(&trained, &table, Part::Validation, None, &mut |_| {})?;
    /// let (scores, _) = meta.evaluate(&before_test, &table, Part::Test, None)?;
    /// assert!(scores.model.rmse.is_finite());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn refit_through<F: Float>(
        &self,
        models: &[Model<F>],
        table: &Table,
        part: Part,
        stop: Option<Arc<AtomicBool>>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Model<F>>> {
        self.check_networks(models)?;
        let Some(refit) = &self.refit else {
            return Err(Error::Config(
                "the model stores no refit settings (it was trained by an older version)".into(),
            ));
        };
        if refit.epochs.len() != models.len() || refit.seeds.len() != models.len() {
            return Err(Error::Config(format!(
                "the refit settings cover {} networks but the forecaster has {}",
                refit.epochs.len(),
                models.len()
            )));
        }
        let mut out = Vec::with_capacity(models.len());
        for (k, model) in models.iter().enumerate() {
            progress(k);
            let data = self.member(k).dataset_through::<F>(table, part)?;
            let mut config = refit.config.clone();
            config.epochs = refit.epochs[k].max(1);
            config.patience = None;
            config.seed = refit.seeds[k];
            config.time_limit = None;
            config.max_steps = None;
            let mut trainer = Trainer::new(refit.initial::<F>(model.config(), k)?, config)?;
            if let Some(s) = &stop {
                trainer = trainer.with_stop(s.clone());
            }
            if trainer.fit_in_memory(&data, None, &mut Silent)?.interrupted {
                return Err(Error::Training("interrupted".into()));
            }
            out.push(trainer.into_model());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tasks::forecast::{Part, Plan, Settings, table};
    use crate::{ModelConfig, RnnConfig};

    fn table() -> Table {
        let csv: String = std::iter::once("date,value".to_string())
            .chain((0..60).map(|t| format!("{},{}", 1900 + t, 10.0 + (t as f64 * 0.7).sin())))
            .collect::<Vec<_>>()
            .join("\n");
        table::parse(csv.as_bytes(), "s.csv".as_ref(), &Default::default()).unwrap()
    }

    #[test]
    fn the_whole_dataset_has_every_window_of_the_parts_and_the_refit_is_reproducible() {
        let table = table();
        let plan = Plan::new(&table, &Settings { horizon: 2, ..Settings::default() }).unwrap();
        let mut meta = plan.meta(&table, plan.candidates[0]).unwrap();
        let parts: usize = [Part::Train, Part::Validation, Part::Test]
            .iter()
            .map(|&p| meta.dataset::<f64>(&table, p).unwrap().len())
            .sum();
        let all = meta.dataset_all::<f64>(&table).unwrap();
        // every origin with a full window and horizon; the parts skip those straddling a boundary
        assert_eq!(all.len(), 60 - meta.window - 2 + 1);
        assert!(all.len() >= parts);
        let config = ModelConfig { rnn: RnnConfig::new(meta.input_size(), 3), output_size: Some(meta.horizon) };
        let models = vec![Model::<f64>::new(config, Init::PyTorch, 1).unwrap()];
        assert!(meta.refit(&models, &table, None, &mut |_| {}).is_err(), "no settings stored");
        let tc = TrainConfig::default().with_epochs(50).with_batch_size(8);
        meta.refit = Some(Refit {
            config: tc,
            init: Init::PyTorch,
            forget_bias: None,
            chrono: None,
            seeds: vec![1],
            epochs: vec![3],
        });
        let mut started = Vec::new();
        let a = meta.refit(&models, &table, None, &mut |k| started.push(k)).unwrap();
        let b = meta.refit(&models, &table, None, &mut |_| {}).unwrap();
        assert_eq!(started, [0]);
        assert_eq!(a, b);
        assert_ne!(a[0], models[0]);
        // three epochs from the same initialisation, not fifty, not the saved weights
        let three_epochs_on = |data: &Dataset<f64>| {
            let mut trainer = Trainer::new(
                Model::<f64>::new(models[0].config(), Init::PyTorch, 1).unwrap(),
                TrainConfig::default().with_epochs(3).with_batch_size(8).with_seed(1),
            )
            .unwrap();
            trainer.fit_in_memory(data, None, &mut Silent).unwrap();
            trainer.into_model()
        };
        assert_eq!(a[0], three_epochs_on(&all));
        // before the test split: the windows whose targets end by the validation split's end
        let [tr, va, _] = meta.split.sizes(60);
        let seen = meta.dataset_through::<f64>(&table, Part::Validation).unwrap();
        assert_eq!(seen.len(), tr + va - meta.window - 2 + 1);
        let train = meta.dataset::<f64>(&table, Part::Train).unwrap();
        assert!(seen.len() > train.len());
        let c = meta.refit_through(&models, &table, Part::Validation, None, &mut |_| {}).unwrap();
        assert_eq!(c[0], three_epochs_on(&seen));
        assert_ne!(c[0], a[0]);
        meta.refit.as_mut().unwrap().epochs = vec![3, 4];
        assert!(meta.refit(&models, &table, None, &mut |_| {}).is_err(), "settings for two networks");
    }
}
