//! The library's error type.
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::{Error, Init, Model, ModelConfig, RnnConfig};
//! let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: None }, Init::PyTorch, 0)?;
//! match model.forward(Array3::zeros((5, 1, 2)).view(), None) {
//!     Err(Error::Shape { what, got, .. }) => assert_eq!((what.as_str(), got), ("input", vec![5, 1, 2])),
//!     other => panic!("expected a shape error, got {other:?}"),
//! }
//! # Ok::<(), rnn::Error>(())
//! ```

use std::path::PathBuf;

/// Everything that can go wrong in the library. Each variant renders as one line that names the
/// tensor, file or setting at fault.
///
/// # Example
/// ```
/// use rnn::{Error, Init, Model, ModelConfig, RnnConfig};
/// let err = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(0, 4), output_size: None }, Init::PyTorch, 0).unwrap_err();
/// assert!(matches!(err, Error::Config(_)));
/// assert_eq!(err.to_string(), "invalid configuration: input_size must be at least 1");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range (zero sizes, dropout outside `[0, 1)`, ...).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// An array passed to a computation has the wrong shape.
    #[error("{what}: expected shape {expected}, got {got:?}")]
    Shape {
        /// Which array (e.g. `input`, `h0`, `grad of output`).
        what: String,
        /// The expected shape, written with the names of the sizes (e.g. `[seq_len, batch, 3]`).
        expected: String,
        /// The shape that was passed.
        got: Vec<usize>,
    },

    /// Reading or writing a file failed.
    #[error("{}: {err}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        err: std::io::Error,
    },

    /// A `.npy` file cannot be read or does not hold what was asked for.
    #[error("{}: {msg}", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },

    /// Drawing or writing a plot failed.
    #[error("{}: {msg}", path.display())]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },

    /// Training cannot go on (a NaN or infinite loss or gradient, a bad checkpoint, ...).
    #[error("{0}")]
    Training(String),

    /// A data file (a CSV series, ...) cannot be used as asked: names the file and, when one is at
    /// fault, the line (1-based, the header being line 1) and the column.
    #[error("{}: {}{msg}", .path.display(), location(.line, .column))]
    Data {
        /// The file.
        path: PathBuf,
        /// The 1-based line at fault, if one is.
        line: Option<usize>,
        /// The column at fault, e.g. `2 (value)`, if one is.
        column: Option<String>,
        /// What is wrong.
        msg: String,
    },

    /// A model file is malformed or does not describe a valid model.
    #[error("{}: {msg}", path.display())]
    ModelFile {
        /// The file (or `<memory>` for bytes).
        path: PathBuf,
        /// What is wrong, naming the tensor or metadata key.
        msg: String,
    },

    /// A model cannot be written in the asked format (an export target that lacks an operation
    /// the model needs); says what and why.
    #[error("{0}")]
    Unsupported(String),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn shape(what: impl Into<String>, expected: impl Into<String>, got: &[usize]) -> Self {
        Error::Shape { what: what.into(), expected: expected.into(), got: got.to_vec() }
    }

    /// A [`Error::Data`] error.
    ///
    /// # Example
    /// ```
    /// let err = rnn::Error::data("prices.csv", Some(3), Some("2 (value)".into()), "not a number");
    /// assert_eq!(err.to_string(), "prices.csv: line 3, column 2 (value): not a number");
    /// ```
    pub fn data(path: impl Into<PathBuf>, line: Option<usize>, column: Option<String>, msg: impl Into<String>) -> Self {
        Error::Data { path: path.into(), line, column, msg: msg.into() }
    }

    pub(crate) fn model_file(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::ModelFile { path: path.into(), msg: msg.into() }
    }
}

/// `line 5, column 2 (value): ` (the parts that are known).
fn location(line: &Option<usize>, column: &Option<String>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        (None, Some(c)) => format!("column {c}: "),
        (None, None) => String::new(),
    }
}
