//! The jobs users run on real data, each building datasets for the training loop and reporting
//! against honest baselines: forecasting, character-level language modelling, classification,
//! and the long-memory benchmark experiments (adding, copy, pixel digits, depth).
//!
//! A model trained for a task carries the task's settings (normalisation, vocabulary, classes)
//! as JSON under the metadata key [`TASK_KEY`], with a `"kind"` field naming the task.

pub mod charlm;
pub mod classify;
pub mod experiment;
pub mod forecast;

/// The metadata key of a model's task settings.
pub const TASK_KEY: &str = "rnn.task";

/// The `"kind"` of a model's task, read from its metadata (`None` for a plain model).
pub fn kind(metadata: &std::collections::HashMap<String, String>) -> Option<String> {
    task_json(metadata)?.get("kind")?.as_str().map(str::to_owned)
}

/// A model's task settings: the JSON object under [`TASK_KEY`] (`None` for a plain model or
/// unreadable JSON).
pub fn task_json(metadata: &std::collections::HashMap<String, String>) -> Option<serde_json::Value> {
    serde_json::from_str(metadata.get(TASK_KEY)?).ok()
}
