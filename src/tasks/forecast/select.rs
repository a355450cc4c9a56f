//! What the choice of the transformation records: every candidate's validation scores
//! ([`super::ensemble::select`] trains and chooses).

use serde::{Deserialize, Serialize};

use super::{Scores, Transformation};

/// A transformation tried and how its networks (the mean of their forecasts) scored on the
/// validation split.
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
/// use rnn::tasks::forecast::select;
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let (meta, _) = select::<f32>(&plan, &table, &[1], |meta, seed, _, _| {
///     Model::new(ModelConfig { rnn: RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) }, Init::PyTorch, seed)
/// })?;
/// // what `rnn train --task forecast` prints as its table of transformations
/// assert_eq!(meta.selection.len(), plan.candidates.len());
/// for c in &meta.selection {
///     println!("{:<16} MASE {:.3} (persistence {:.3})", c.transform.to_string(), c.validation.mase, c.persistence.mase);
/// }
/// assert!(meta.selection.iter().any(|c| c.transform == meta.transform));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The transformation.
    pub transform: Transformation,
    /// Its networks' rolling-origin scores on the validation split.
    pub validation: Scores,
    /// Persistence's on the same origins.
    pub persistence: Scores,
}
