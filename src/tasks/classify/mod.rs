//! Sequence classification (many-to-one): one integer class per sequence `[T, I]`, read by the
//! model's head at the last step (`Readout::LastStep`) and trained with cross-entropy on the
//! logits.
//!
//! Here: reading and checking labels ([`read_labels`]), a seeded stratified split
//! ([`stratified_split`]), the task settings a model file carries ([`ClassifySettings`]),
//! predictions ([`predict`]), the scores ([`Metrics`]: accuracy, confusion matrix, per-class
//! precision and recall) and the bundled digits data ([`read_digits`]).
//!
//! # Example
//! ```
//! use ndarray::{Array1, Array3};
//! use rnn::tasks::classify::{self, ClassifySettings, Metrics};
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//!
//! let labels = Array1::from(vec![0usize, 1, 1, 2, 1, 0]);
//! let settings = ClassifySettings::new(labels.as_slice().unwrap(), None)?;
//! assert_eq!((settings.num_classes, settings.majority_class), (3, 1));
//! let model = Model::<f32>::new(
//!     ModelConfig { rnn: RnnConfig::new(4, 8), output_size: Some(settings.num_classes) },
//!     Init::PyTorch,
//!     0,
//! )?;
//! let x = Array3::<f32>::zeros((6, 5, 4)); // [N, T, I]
//! let predicted = classify::predict(&model, x.view())?;
//! let metrics = Metrics::new(labels.as_slice().unwrap(), &predicted, settings.num_classes)?;
//! assert_eq!(metrics.total(), 6);
//! # Ok::<(), rnn::Error>(())
//! ```
//!
//! The files: `labels` (reading, counting and splitting labels), `settings`, `scores`
//! (predictions and metrics), `digits`.

mod digits;
mod labels;
mod scores;
mod settings;

pub use digits::{parse_digits_csv, read_digits};
pub use labels::{class_counts, parse_labels, read_labels, stratified_split};
pub use scores::{Metrics, argmax, constant_accuracy, predict, probabilities};
pub use settings::ClassifySettings;

/// The `"kind"` of a classification model's task settings.
pub const KIND: &str = "classify";

/// The most classes a label file may imply (`max label + 1`): a stray huge label is an error,
/// not a head with a billion outputs.
pub const MAX_CLASSES: usize = 65_536;
