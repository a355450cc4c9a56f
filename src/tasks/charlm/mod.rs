//! Character-level language models: a UTF-8 text's characters (not bytes) as one-hot inputs,
//! the next character as the target at every step, trained with stateful truncated BPTT over
//! parallel streams of the text, scored in bits per character against the unigram baseline on
//! a held-out tail, and sampled one character at a time.
//!
//! A model is a plain [`Model`](crate::Model) with `input_size = output_size =` the vocabulary
//! size: a one-hot input times `weight_ih_l0` picks one of its columns, so that matrix is the
//! character embedding (and the file stays an `nn.RNN` + `nn.Linear` that PyTorch loads). The
//! vocabulary and the held-out fraction travel in the model's metadata, see [`CharLmTask`].
//!
//! ```
//! use rnn::tasks::charlm::{CharLmTask, StreamLayout, Vocab, split_tail, unigram_bits_per_char};
//! let text = "to be, or not to be: that is the question. ".repeat(20);
//! let vocab = Vocab::from_text(&text)?;
//! let ids = vocab.encode(&text)?;
//! let (head, tail) = split_tail(&ids, 0.1)?;
//! let layout = StreamLayout::new(head.len(), 4, 25)?; // batch_size 4, tbptt 25
//! let train = layout.dataset::<f32>(head, vocab.len())?;
//! assert_eq!(train.inputs().shape(), &[28, 25, vocab.len()]);
//! let baseline = unigram_bits_per_char(head, &tail[1..], vocab.len());
//! assert!(baseline > 3.0 && baseline < 4.0);
//! let meta = CharLmTask { vocab, held_out: 0.1 }.to_metadata();
//! assert_eq!(CharLmTask::from_metadata(&meta)?.held_out, 0.1);
//! # Ok::<(), rnn::Error>(())
//! ```

mod generate;
mod score;
mod streams;
mod text;
mod vocab;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use generate::{Generator, Sampling};
pub use score::{Score, bits_per_char, unigram_bits_per_char};
pub use streams::StreamLayout;
pub use text::{decode_text, end_position, read_text, split_tail};
pub use vocab::{UnknownChar, Vocab, describe_unknown};

use crate::{Error, Result};

/// The `"kind"` of a character model in [`TASK_KEY`](super::TASK_KEY).
pub const KIND: &str = "charlm";

/// What a character model carries besides its weights, stored as JSON under
/// [`TASK_KEY`](super::TASK_KEY): `{"kind":"charlm","vocab":"\n !...z","held_out":0.1}`.
///
/// # Example
/// ```
/// use rnn::tasks::charlm::{CharLmTask, Vocab};
/// let task = CharLmTask { vocab: Vocab::from_text("abc")?, held_out: 0.1 };
/// let meta = task.to_metadata();
/// assert_eq!(rnn::tasks::kind(&meta).as_deref(), Some("charlm"));
/// assert_eq!(CharLmTask::from_metadata(&meta)?, task);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CharLmTask {
    /// The characters, in class order.
    pub vocab: Vocab,
    /// The fraction at the end of a text that is held out (not trained on) and scored.
    pub held_out: f64,
}

#[derive(Serialize, Deserialize)]
struct Tagged {
    kind: String,
    #[serde(flatten)]
    task: CharLmTask,
}

impl CharLmTask {
    /// The metadata entry to save with the model.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::{TASK_KEY, charlm::{CharLmTask, Vocab}};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig, model_file};
    /// let task = CharLmTask { vocab: Vocab::from_text("ab")?, held_out: 0.2 };
    /// let meta = task.to_metadata();
    /// assert_eq!(meta[TASK_KEY], r#"{"kind":"charlm","vocab":"ab","held_out":0.2}"#);
    /// // stored beside the weights, it travels with the model
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(2) }, Init::PyTorch, 0)?;
    /// let bytes = model_file::to_bytes(&model, &meta)?;
    /// let loaded = model_file::from_bytes::<f32>(&bytes, "lm.safetensors".as_ref(), &Default::default())?;
    /// assert_eq!(CharLmTask::from_metadata(&loaded.metadata)?, task);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn to_metadata(&self) -> HashMap<String, String> {
        let json = serde_json::to_string(&Tagged { kind: KIND.into(), task: self.clone() })
            .unwrap_or_else(|_| unreachable!("a string and a number always serialise"));
        HashMap::from([(super::TASK_KEY.to_string(), json)])
    }

    /// Reads the task from a model file's metadata.
    ///
    /// # Errors
    /// [`Error::Config`] when there is no task entry, it is not of kind `charlm`, or its
    /// vocabulary or held-out fraction is invalid.
    ///
    /// # Example
    /// ```
    /// use std::collections::HashMap;
    /// use rnn::tasks::{TASK_KEY, charlm::CharLmTask};
    /// let forecast = HashMap::from([(TASK_KEY.to_string(), r#"{"kind":"forecast"}"#.to_string())]);
    /// assert!(CharLmTask::from_metadata(&forecast).is_err());
    /// assert!(CharLmTask::from_metadata(&HashMap::new()).is_err());
    /// let stored = HashMap::from([(TASK_KEY.to_string(), r#"{"kind":"charlm","vocab":"ab","held_out":0.2}"#.to_string())]);
    /// let task = CharLmTask::from_metadata(&stored)?;
    /// assert_eq!((task.vocab.as_str(), task.held_out), ("ab", 0.2));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn from_metadata(metadata: &HashMap<String, String>) -> Result<Self> {
        let key = super::TASK_KEY;
        let json = metadata.get(key).ok_or_else(|| {
            Error::Config(format!("no `{key}` metadata: not a character model (rnn train --task charlm)"))
        })?;
        let tagged: Tagged = serde_json::from_str(json)
            .map_err(|e| Error::Config(format!("metadata `{key}` is not a valid character-model task ({e})")))?;
        if tagged.kind != KIND {
            return Err(Error::Config(format!(
                "a model for the task `{}`, not a character model (rnn train --task charlm)",
                tagged.kind
            )));
        }
        if !(0.0..1.0).contains(&tagged.task.held_out) {
            return Err(Error::Config(format!("metadata `{key}`: held_out {} is not in [0, 1)", tagged.task.held_out)));
        }
        Ok(tagged.task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_metadata_round_trips_and_is_checked() {
        let task = CharLmTask { vocab: Vocab::from_text("ab\"\n").unwrap(), held_out: 0.25 };
        let meta = task.to_metadata();
        assert_eq!(meta[super::super::TASK_KEY], r#"{"kind":"charlm","vocab":"\n\"ab","held_out":0.25}"#);
        assert_eq!(super::super::kind(&meta).as_deref(), Some("charlm"));
        assert_eq!(CharLmTask::from_metadata(&meta).unwrap(), task);
        let with = |json: &str| HashMap::from([(super::super::TASK_KEY.to_string(), json.to_string())]);
        assert!(CharLmTask::from_metadata(&HashMap::new()).is_err());
        assert!(CharLmTask::from_metadata(&with(r#"{"kind":"forecast"}"#)).is_err());
        assert!(CharLmTask::from_metadata(&with(r#"{"kind":"charlm","vocab":"ba","held_out":0.1}"#)).is_err());
        assert!(CharLmTask::from_metadata(&with(r#"{"kind":"charlm","vocab":"ab","held_out":1.5}"#)).is_err());
    }
}
