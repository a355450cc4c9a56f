//! The task settings a classification model file carries: classes, their names, the majority
//! class.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{KIND, class_counts};
use crate::{Error, Result};

/// What a classification model file carries under [`crate::tasks::TASK_KEY`]:
/// `{"kind":"classify","num_classes":C,"majority_class":k,"train_counts":[..],...}`.
///
/// # Example
/// ```
/// use rnn::tasks::classify::ClassifySettings;
/// let names = vec!["cat".to_string(), "dog".to_string(), "bird".to_string()];
/// let s = ClassifySettings::new(&[0, 2, 2, 0, 2], Some(names))?;
/// assert_eq!((s.num_classes, s.majority_class, s.train_counts.clone()), (3, 2, vec![2, 0, 3]));
/// assert_eq!(s.name(1), "dog");
/// let back = ClassifySettings::from_metadata(&s.to_metadata(), "m.safetensors".as_ref())?;
/// assert_eq!(back, s);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifySettings {
    /// Always [`KIND`].
    pub kind: String,
    /// Classes `C`: the head's outputs, labels `0..C-1`.
    pub num_classes: usize,
    /// Optional names of the classes, `C` of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    /// The most frequent class of the training labels (the lowest on a tie): the majority
    /// baseline predicts it for every sequence.
    pub majority_class: usize,
    /// Training sequences per class.
    pub train_counts: Vec<usize>,
}

impl ClassifySettings {
    /// Settings from the training labels: `C = max label + 1`, or the number of `class_names`
    /// when given (which may name classes absent from the training data).
    ///
    /// # Errors
    /// [`Error::Config`] when there are no labels, or fewer names than `max label + 1`.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::classify::ClassifySettings;
    /// let s = ClassifySettings::new(&[1, 4, 4], None)?;
    /// assert_eq!((s.num_classes, s.name(4)), (5, "4".to_string())); // max label + 1
    /// assert!(ClassifySettings::new(&[], None).is_err());
    /// assert!(ClassifySettings::new(&[0, 3], Some(vec!["a".into(), "b".into()])).is_err()); // 2 names for 4 classes
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(train_labels: &[usize], class_names: Option<Vec<String>>) -> Result<Self> {
        let Some(&max) = train_labels.iter().max() else {
            return Err(Error::Config("no training labels".into()));
        };
        let num_classes = match &class_names {
            Some(names) if names.len() <= max => {
                return Err(Error::Config(format!(
                    "{} class names given but the labels go up to {max} ({} classes)",
                    names.len(),
                    max + 1
                )));
            }
            Some(names) => names.len(),
            None => max + 1,
        };
        let train_counts = class_counts(train_labels, num_classes);
        let majority_class =
            train_counts.iter().enumerate().fold(0, |b, (c, &k)| if k > train_counts[b] { c } else { b });
        Ok(ClassifySettings { kind: KIND.into(), num_classes, class_names, majority_class, train_counts })
    }

    /// The name of class `c` (its number when there are no names).
    pub fn name(&self, c: usize) -> String {
        self.class_names.as_ref().and_then(|n| n.get(c).cloned()).unwrap_or_else(|| c.to_string())
    }

    /// The metadata entry `{TASK_KEY: json}` to store in the model file.
    pub fn to_metadata(&self) -> HashMap<String, String> {
        // a struct of strings, integers and finite floats always serialises
        let json = serde_json::to_string(self).unwrap_or_default();
        HashMap::from([(crate::tasks::TASK_KEY.to_string(), json)])
    }

    /// Reads the settings from a model file's metadata; `path` names the file in errors.
    ///
    /// # Errors
    /// [`Error::ModelFile`] when the entry is missing, not a classify task, or inconsistent.
    ///
    /// # Example
    /// ```
    /// use std::collections::HashMap;
    /// use rnn::tasks::classify::ClassifySettings;
    /// let err = ClassifySettings::from_metadata(&HashMap::new(), "m.safetensors".as_ref()).unwrap_err();
    /// assert!(err.to_string().starts_with("m.safetensors"));
    /// ```
    pub fn from_metadata(metadata: &HashMap<String, String>, path: &Path) -> Result<Self> {
        let bad = |msg: String| Error::ModelFile { path: path.to_path_buf(), msg };
        let json = metadata
            .get(crate::tasks::TASK_KEY)
            .ok_or_else(|| bad(format!("no `{}` metadata", crate::tasks::TASK_KEY)))?;
        let s: ClassifySettings =
            serde_json::from_str(json).map_err(|e| bad(format!("`{}` metadata: {e}", crate::tasks::TASK_KEY)))?;
        if s.kind != KIND {
            return Err(bad(format!("the model's task is `{}`, not `{KIND}`", s.kind)));
        }
        if s.num_classes == 0 || s.majority_class >= s.num_classes || s.train_counts.len() != s.num_classes {
            return Err(bad(format!("`{}` metadata: inconsistent class counts", crate::tasks::TASK_KEY)));
        }
        if s.class_names.as_ref().is_some_and(|n| n.len() != s.num_classes) {
            return Err(bad(format!(
                "`{}` metadata: class_names must name {} classes",
                crate::tasks::TASK_KEY,
                s.num_classes
            )));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_metadata() {
        let s =
            ClassifySettings::new(&[2, 0, 2, 1], Some(vec!["a".into(), "b".into(), "c".into(), "d".into()])).unwrap();
        assert_eq!((s.num_classes, s.majority_class, s.train_counts.clone()), (4, 2, vec![1, 1, 2, 0]));
        let back = ClassifySettings::from_metadata(&s.to_metadata(), Path::new("m.safetensors")).unwrap();
        assert_eq!(back, s);
        assert_eq!(crate::tasks::kind(&s.to_metadata()).as_deref(), Some(KIND));
        assert!(ClassifySettings::new(&[3], Some(vec!["a".into()])).is_err());
        let other = HashMap::from([(crate::tasks::TASK_KEY.to_string(), r#"{"kind":"forecast"}"#.to_string())]);
        assert!(ClassifySettings::from_metadata(&other, Path::new("m")).is_err());
    }
}
