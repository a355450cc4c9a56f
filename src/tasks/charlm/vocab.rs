//! The vocabulary of a character model: the sorted distinct characters (Unicode scalar values,
//! not bytes) of its training text.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::text::end_position;
use crate::{Error, Result};

/// The characters a model reads and writes, sorted by code point; a character's class is its
/// index. Stored in the model file as one string (`"vocab"` in the task metadata).
///
/// # Example
/// ```
/// use rnn::tasks::charlm::Vocab;
/// let vocab = Vocab::from_text("hello, world")?;
/// assert_eq!(vocab.as_str(), " ,dehlorw");
/// assert_eq!(vocab.encode("hold")?, vec![4, 6, 5, 2]);
/// assert_eq!(vocab.decode(&[4, 3, 5, 5, 6])?, "hello");
/// assert!(vocab.encode("Hi").unwrap_err().to_string().contains("'H' (U+0048) at line 1, column 1"));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Vocab {
    chars: Vec<char>,
    text: String,
}

/// A character of a text that is not in a [`Vocab`]: where it first occurs and how often.
///
/// # Example
/// ```
/// use rnn::tasks::charlm::{Vocab, describe_unknown};
/// let vocab = Vocab::from_text("abc\n")?;
/// let unknown = vocab.unknown("ab\ncZbZ");
/// assert_eq!((unknown[0].ch, unknown[0].line, unknown[0].column, unknown[0].count), ('Z', 2, 2, 2));
/// assert_eq!(describe_unknown(&unknown), "'Z' (U+005A) at line 2, column 2, 2 times");
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownChar {
    /// The character.
    pub ch: char,
    /// 1-based line of its first occurrence.
    pub line: usize,
    /// 1-based column (in characters) of its first occurrence.
    pub column: usize,
    /// How many times it occurs.
    pub count: usize,
}

impl fmt::Display for UnknownChar {
    /// `'é' (U+00E9) at line 3, column 7` (`, 4 times` when it occurs more than once).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} (U+{:04X}) at line {}, column {}", self.ch, self.ch as u32, self.line, self.column)?;
        if self.count > 1 {
            write!(f, ", {} times", self.count)?;
        }
        Ok(())
    }
}

/// How many unknown characters an error message lists before `and N more`.
const LISTED: usize = 8;

/// `'Z' (U+005A) at line 1, column 3; 'é' (U+00E9) at ...` for at most 8 characters.
///
/// # Example
/// ```
/// use rnn::tasks::charlm::{Vocab, describe_unknown};
/// let unknown = Vocab::from_text("a")?.unknown("abc");
/// assert_eq!(describe_unknown(&unknown), "'b' (U+0062) at line 1, column 2; 'c' (U+0063) at line 1, column 3");
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn describe_unknown(unknown: &[UnknownChar]) -> String {
    let mut parts: Vec<String> = unknown.iter().take(LISTED).map(ToString::to_string).collect();
    if unknown.len() > LISTED {
        parts.push(format!("and {} more", unknown.len() - LISTED));
    }
    parts.join("; ")
}

impl Vocab {
    /// The distinct characters of `text`, sorted.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty text.
    pub fn from_text(text: &str) -> Result<Self> {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Self::from_chars(chars)
    }

    /// A vocabulary of exactly these characters, which must be sorted and distinct (as stored).
    ///
    /// # Errors
    /// [`Error::Config`] when `chars` is empty, unsorted or has a repeat.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::charlm::Vocab;
    /// let vocab = Vocab::from_chars(vec!['\n', ' ', 'a'])?;
    /// assert_eq!((vocab.len(), vocab.index('a'), vocab.char_at(1)), (3, Some(2), Some(' ')));
    /// assert_eq!(vocab.chars(), &['\n', ' ', 'a']);
    /// assert!(Vocab::from_chars(vec!['b', 'a']).is_err()); // not sorted
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn from_chars(chars: Vec<char>) -> Result<Self> {
        if chars.is_empty() {
            return Err(Error::Config("a vocabulary needs at least one character (the text is empty)".into()));
        }
        if let Some(w) = chars.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::Config(format!(
                "a vocabulary must be sorted distinct characters, but {:?} comes before {:?}",
                w[0], w[1]
            )));
        }
        let text = chars.iter().collect();
        Ok(Vocab { chars, text })
    }

    /// Number of characters (the model's `input_size` and `output_size`).
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Always false for a constructed vocabulary.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The characters in class order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The characters in class order, as one string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The class of `ch`, if it is in the vocabulary.
    pub fn index(&self, ch: char) -> Option<usize> {
        self.chars.binary_search(&ch).ok()
    }

    /// The character of class `i`.
    pub fn char_at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// The characters of `text` outside the vocabulary, in order of first occurrence.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::charlm::Vocab;
    /// let vocab = Vocab::from_text("hello")?;
    /// let unknown = vocab.unknown("help!");
    /// let chars: Vec<char> = unknown.iter().map(|u| u.ch).collect();
    /// assert_eq!(chars, ['p', '!']);
    /// assert!(vocab.unknown("hole").is_empty());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn unknown(&self, text: &str) -> Vec<UnknownChar> {
        let mut out: Vec<UnknownChar> = Vec::new();
        for (at, ch) in text.char_indices() {
            if self.index(ch).is_some() {
                continue;
            }
            match out.iter_mut().find(|u| u.ch == ch) {
                Some(u) => u.count += 1,
                None => {
                    let (line, column) = end_position(&text[..at]);
                    out.push(UnknownChar { ch, line, column, count: 1 });
                }
            }
        }
        out
    }

    /// The classes of the characters of `text`.
    ///
    /// # Errors
    /// [`Error::Config`] listing the characters outside the vocabulary, with the line and column
    /// where each first occurs.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>> {
        self.try_encode(text).ok_or_else(|| {
            Error::Config(format!("characters outside the vocabulary: {}", describe_unknown(&self.unknown(text))))
        })
    }

    /// As [`Vocab::encode`] for the content of the file `path` (used only in the error).
    ///
    /// # Errors
    /// [`Error::Data`] naming the file and listing the characters outside the vocabulary with the
    /// line and column where each first occurs.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::charlm::Vocab;
    /// let vocab = Vocab::from_text("ab")?;
    /// assert_eq!(vocab.encode_file("t.txt".as_ref(), "ba")?, [1, 0]);
    /// let err = vocab.encode_file("t.txt".as_ref(), "a\nc").unwrap_err().to_string();
    /// assert!(err.starts_with("t.txt") && err.contains("'c' (U+0063) at line 2, column 1"), "{err}");
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn encode_file(&self, path: &Path, text: &str) -> Result<Vec<usize>> {
        self.try_encode(text).ok_or_else(|| {
            let unknown = self.unknown(text);
            Error::data(
                path,
                None,
                None,
                format!(
                    "{} character{} outside the model's vocabulary of {}: {}",
                    unknown.len(),
                    if unknown.len() == 1 { "" } else { "s" },
                    self.len(),
                    describe_unknown(&unknown)
                ),
            )
        })
    }

    fn try_encode(&self, text: &str) -> Option<Vec<usize>> {
        text.chars().map(|c| self.index(c)).collect()
    }

    /// The text of classes `ids`.
    ///
    /// # Errors
    /// [`Error::Config`] for a class outside the vocabulary.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::charlm::Vocab;
    /// let vocab = Vocab::from_text("ab")?;
    /// assert_eq!(vocab.decode(&[1, 0, 1])?, "bab");
    /// assert!(vocab.decode(&[2]).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn decode(&self, ids: &[usize]) -> Result<String> {
        ids.iter()
            .map(|&i| {
                self.char_at(i).ok_or_else(|| {
                    Error::Config(format!("class {i} is outside the vocabulary of {} characters", self.len()))
                })
            })
            .collect()
    }
}

impl TryFrom<String> for Vocab {
    type Error = Error;
    fn try_from(text: String) -> Result<Self> {
        Vocab::from_chars(text.chars().collect())
    }
}

impl From<Vocab> for String {
    fn from(vocab: Vocab) -> String {
        vocab.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_unicode_scalars_sorted() {
        let v = Vocab::from_text("día\nñu día").unwrap();
        assert_eq!(v.chars(), &['\n', ' ', 'a', 'd', 'u', 'í', 'ñ']);
        let ids = v.encode("ñaí").unwrap();
        assert_eq!(ids, vec![6, 2, 5]);
        assert_eq!(v.decode(&ids).unwrap(), "ñaí");
        assert!(v.decode(&[7]).is_err());
    }

    #[test]
    fn unknown_characters_are_listed_with_positions_and_counts() {
        let v = Vocab::from_text("abc\n").unwrap();
        let u = v.unknown("ab\ncXdX\n€");
        assert_eq!(u.len(), 3);
        assert_eq!(u[0], UnknownChar { ch: 'X', line: 2, column: 2, count: 2 });
        assert_eq!(u[2].to_string(), "'€' (U+20AC) at line 3, column 1");
        assert_eq!(u[0].to_string(), "'X' (U+0058) at line 2, column 2, 2 times");
        let err = v.encode_file(Path::new("t.txt"), "ab\ncXdX\n€").unwrap_err().to_string();
        assert!(err.starts_with("t.txt: 3 characters outside the model's vocabulary of 4: 'X' (U+0058)"), "{err}");
        let many: String = ('A'..='Z').collect();
        assert!(describe_unknown(&v.unknown(&many)).ends_with("and 18 more"));
    }

    #[test]
    fn serialises_as_its_string_and_checks_it() {
        let v = Vocab::from_text("ba\t").unwrap();
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#""\tab""#);
        assert_eq!(serde_json::from_str::<Vocab>(&json).unwrap(), v);
        assert!(serde_json::from_str::<Vocab>(r#""ba""#).is_err());
        assert!(serde_json::from_str::<Vocab>(r#""aa""#).is_err());
        assert!(serde_json::from_str::<Vocab>(r#""""#).is_err());
    }
}
