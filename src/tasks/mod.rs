//! The jobs users run on real data, each building datasets for the training loop and reporting
//! against honest baselines: forecasting, character-level language modelling, classification,
//! and the long-memory benchmark experiments (adding, copy, pixel digits, depth).
//!
//! A model trained for a task carries the task's settings (normalisation, vocabulary, classes)
//! as JSON under the metadata key [`TASK_KEY`], with a `"kind"` field naming the task.
//!
//! # Example
//! ```
//! use rnn::tasks::{self, charlm::{CharLmTask, Vocab}};
//! // a model file's metadata says which task trained it
//! let metadata = CharLmTask { vocab: Vocab::from_text("abc")?, held_out: 0.1 }.to_metadata();
//! assert_eq!(tasks::kind(&metadata).as_deref(), Some("charlm"));
//! # Ok::<(), rnn::Error>(())
//! ```

pub mod charlm;
pub mod classify;
pub mod experiment;
pub mod forecast;

/// The metadata key of a model's task settings.
pub const TASK_KEY: &str = "rnn.task";

/// The `"kind"` of a model's task, read from its metadata (`None` for a plain model).
///
/// # Example
/// ```
/// use std::collections::HashMap;
/// use rnn::tasks::{self, charlm::{CharLmTask, Vocab}};
/// let meta = CharLmTask { vocab: Vocab::from_text("ab")?, held_out: 0.1 }.to_metadata();
/// assert_eq!(tasks::kind(&meta).as_deref(), Some("charlm"));
/// assert_eq!(tasks::kind(&HashMap::new()), None); // a plain model
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn kind(metadata: &std::collections::HashMap<String, String>) -> Option<String> {
    task_json(metadata)?.get("kind")?.as_str().map(str::to_owned)
}

/// A model's task settings: the JSON object under [`TASK_KEY`] (`None` for a plain model or
/// unreadable JSON).
///
/// # Example
/// ```
/// use std::collections::HashMap;
/// use rnn::tasks::{self, TASK_KEY};
/// let meta = HashMap::from([(TASK_KEY.to_string(), r#"{"kind":"classify","num_classes":3}"#.to_string())]);
/// assert_eq!(tasks::task_json(&meta).and_then(|v| v["num_classes"].as_u64()), Some(3));
/// ```
pub fn task_json(metadata: &std::collections::HashMap<String, String>) -> Option<serde_json::Value> {
    serde_json::from_str(metadata.get(TASK_KEY)?).ok()
}
