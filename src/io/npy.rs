//! `.npy` arrays (NumPy's format, what PyTorch users save with `np.save`), float32 or float64.
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::io::npy;
//! let path = std::env::temp_dir().join(format!("rnn-doc-npy-mod-{}.npy", std::process::id()));
//! let x = Array3::<f32>::from_shape_fn((5, 2, 3), |(t, b, i)| (t + b + i) as f32); // np.load reads it
//! npy::write(&path, x.view())?;
//! assert_eq!(npy::read(&path)?.into_float::<f32>(), x.into_dyn());
//! std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::BufWriter;
use std::path::Path;

use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension};
use ndarray_npy::{ReadNpyExt, ReadableElement, ViewElement, ViewNpyError, ViewNpyExt, WriteNpyExt};

use super::write_atomic_with;
use crate::{Error, Float, Result};

/// An array read from a `.npy` file, in the dtype the file holds.
///
/// # Example
/// ```
/// use ndarray::Array2;
/// use rnn::io::npy::{self, NpyArray};
/// let path = std::env::temp_dir().join(format!("rnn-doc-npyarray-{}.npy", std::process::id()));
/// npy::write(&path, Array2::<f32>::eye(3).view())?;
/// let a = npy::read(&path)?;
/// assert!(matches!(a, NpyArray::F32(_)));
/// assert_eq!(a.shape(), &[3, 3]);
/// let x = a.into_float::<f64>(); // whatever the file holds
/// assert_eq!(x.sum(), 3.0);
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum NpyArray {
    /// `<f4`
    F32(ArrayD<f32>),
    /// `<f8`
    F64(ArrayD<f64>),
}

impl NpyArray {
    /// The shape.
    ///
    /// # Example
    /// ```
    /// use ndarray::{ArrayD, IxDyn};
    /// use rnn::io::npy::NpyArray;
    /// let a = NpyArray::F64(ArrayD::zeros(IxDyn(&[4, 5, 2])));
    /// assert_eq!(a.shape(), &[4, 5, 2]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        match self {
            NpyArray::F32(a) => a.shape(),
            NpyArray::F64(a) => a.shape(),
        }
    }
    /// The array converted to `F`.
    ///
    /// # Example
    /// ```
    /// use ndarray::arr1;
    /// use rnn::io::npy::NpyArray;
    /// let a = NpyArray::F64(arr1(&[0.1, 2.0]).into_dyn());
    /// let x = a.into_float::<f32>(); // a float64 file read into an f32 model
    /// assert_eq!(x, arr1(&[0.1f32, 2.0]).into_dyn());
    /// ```
    pub fn into_float<F: Float>(self) -> ArrayD<F> {
        match self {
            NpyArray::F32(a) => a.mapv(|v| F::of(v as f64)),
            NpyArray::F64(a) => a.mapv(F::of),
        }
    }
}

/// Reads a float32 or float64 `.npy` file.
///
/// The file is read once and its header checked against its length before any array is
/// allocated, so a corrupt or hostile header cannot exhaust memory.
///
/// # Errors
/// [`Error::Npy`] naming the file: missing, not `.npy`, another dtype, truncated.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::io::npy;
/// let dir = std::env::temp_dir().join(format!("rnn-doc-npy-read-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let x = Array3::<f64>::from_shape_fn((2, 3, 4), |(a, b, c)| (a + b + c) as f64);
/// npy::write(&dir.join("x.npy"), x.view())?;
/// assert_eq!(npy::read(&dir.join("x.npy"))?.into_float::<f64>(), x.into_dyn());
/// let err = npy::read(&dir.join("missing.npy")).unwrap_err();
/// assert!(err.to_string().contains("missing.npy"));
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::Npy { path: path.to_path_buf(), msg: e.to_string() })?;
    parse(&bytes).map_err(|msg| Error::Npy { path: path.to_path_buf(), msg })
}

/// Parses the bytes of a `.npy` file.
///
/// # Errors
/// A one-line description of what is wrong.
///
/// # Example
/// ```
/// use rnn::io::npy;
/// // a float32 vector [1.5, -2]: magic, version 1.0, header length, header, data
/// let mut header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".to_string();
/// while (10 + header.len() + 1) % 64 != 0 {
///     header.push(' '); // padded so that the data starts at a multiple of 64
/// }
/// header.push('\n');
/// let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
/// bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
/// bytes.extend_from_slice(header.as_bytes());
/// for v in [1.5f32, -2.0] {
///     bytes.extend_from_slice(&v.to_le_bytes());
/// }
/// assert_eq!(npy::parse(&bytes)?.into_float::<f32>().into_raw_vec_and_offset().0, [1.5, -2.0]);
/// assert!(npy::parse(&bytes[..bytes.len() - 1]).is_err()); // truncated
/// assert!(npy::parse(b"not npy").is_err());
/// # Ok::<(), String>(())
/// ```
pub fn parse(bytes: &[u8]) -> std::result::Result<NpyArray, String> {
    check_header_length(bytes)?;
    match view::<f32>(bytes) {
        Ok(a) => return Ok(NpyArray::F32(a)),
        Err(ViewNpyError::WrongDescriptor(_)) => {}
        Err(e) => return Err(describe(e)),
    }
    match view::<f64>(bytes) {
        Ok(a) => Ok(NpyArray::F64(a)),
        Err(ViewNpyError::WrongDescriptor(d)) => {
            Err(format!("dtype {d} is not supported (expected float32 or float64)"))
        }
        Err(e) => Err(describe(e)),
    }
}

/// Reads a mask (or weights) `.npy` in `F`: float32 or float64 (finite), bool (NumPy's `y > 0`:
/// true is 1) or integers.
///
/// # Errors
/// [`Error::Npy`] naming the file: unreadable, not `.npy`, another dtype, a NaN or infinity.
///
/// # Example
/// ```
/// use ndarray::{ArrayD, IxDyn, arr2};
/// use ndarray_npy::WriteNpyExt;
/// let path = std::env::temp_dir().join(format!("rnn-doc-mask-{}.npy", std::process::id()));
/// arr2(&[[true, false]]).write_npy(std::fs::File::create(&path)?)?;
/// assert_eq!(rnn::io::npy::read_mask::<f32>(&path)?, arr2(&[[1.0, 0.0]]).into_dyn());
/// arr2(&[[0u8, 1]]).write_npy(std::fs::File::create(&path)?)?;
/// assert_eq!(rnn::io::npy::read_mask::<f64>(&path)?, arr2(&[[0.0, 1.0]]).into_dyn());
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_mask<F: Float>(path: &Path) -> Result<ArrayD<F>> {
    let err = |msg: String| Error::Npy { path: path.to_path_buf(), msg };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    check_header_length(&bytes).map_err(err)?;
    match view::<bool>(&bytes) {
        Ok(a) => return Ok(a.mapv(|b| if b { F::one() } else { F::zero() })),
        Err(ViewNpyError::WrongDescriptor(_)) => {}
        Err(e) => return Err(err(describe(e))),
    }
    macro_rules! try_int {
        ($($t:ty),*) => {$(
            match view::<$t>(&bytes) {
                Ok(a) => return Ok(a.mapv(|v| F::of(v as f64))),
                Err(ViewNpyError::WrongDescriptor(_)) => {}
                Err(e) => return Err(err(describe(e))),
            }
        )*};
    }
    try_int!(i64, i32, i16, i8, u64, u32, u16, u8);
    let a = parse(&bytes)
        .map_err(|msg| {
            err(msg.replace("(expected float32 or float64)", "(a mask is float32, float64, bool or integers)"))
        })?
        .into_float::<F>();
    check_finite(path, &a)?;
    Ok(a)
}

/// Checks the header's length field against the bytes, before `ndarray-npy` allocates a
/// buffer of that length (up to 4 GB for a format 2 or 3 file, whatever the file's size).
fn check_header_length(bytes: &[u8]) -> std::result::Result<(), String> {
    let (start, len) = match (bytes.get(..6), bytes.get(6)) {
        (Some(b"\x93NUMPY"), Some(1)) => (10, bytes.get(8..10).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)),
        (Some(b"\x93NUMPY"), Some(2 | 3)) => {
            (12, bytes.get(8..12).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize))
        }
        // the parser says what else is wrong
        _ => return Ok(()),
    };
    // `py_literal` backtracks on nested brackets (132 bytes of `(0,({ {` took 33 s); a header
    // is a dict holding a shape tuple: two levels
    if let Some(n) = len
        && let Some(header) = bytes.get(start..start + n)
    {
        let mut depth = 0usize;
        for &b in header {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > 3 {
                return Err("not a valid .npy file (its header nests brackets more than 3 deep)".to_string());
            }
        }
    }
    match len {
        Some(n) if start + n <= bytes.len() => Ok(()),
        Some(n) => Err(format!(
            "the file is truncated: its header claims {n} bytes but only {} follow",
            bytes.len().saturating_sub(start)
        )),
        None => Err("the file is truncated inside its header's length".to_string()),
    }
}

/// Views the data in place (which checks the header's dtype and length against the bytes
/// without allocating), then copies it out.
fn view<A: ViewElement + ReadableElement + Clone>(bytes: &[u8]) -> std::result::Result<ArrayD<A>, ViewNpyError> {
    match ArrayViewD::<A>::view_npy(bytes) {
        Ok(v) => Ok(v.to_owned()),
        // Length already checked; the buffer is merely not aligned for `A`: read by copying.
        Err(ViewNpyError::MisalignedData) => {
            ArrayD::<A>::read_npy(bytes).map_err(|e| ViewNpyError::InvalidData(e.to_string().into()))
        }
        Err(e) => Err(e),
    }
}

fn describe(e: ViewNpyError) -> String {
    match e {
        ViewNpyError::ParseHeader(e) => format!("not a valid .npy file ({e})"),
        ViewNpyError::MissingBytes(n) => format!("the file is truncated: {n} bytes of data are missing"),
        ViewNpyError::ExtraBytes(n) => format!("{n} unexpected bytes after the data: not a valid .npy file"),
        ViewNpyError::NonNativeEndian => "big-endian data is not supported".to_string(),
        ViewNpyError::LengthOverflow => "the header's shape is too large".to_string(),
        other => other.to_string(),
    }
}

/// Refuses an array holding a NaN or infinite value, naming the first one's index.
///
/// # Example
/// ```
/// use ndarray::arr2;
/// let a = arr2(&[[0.0, 1.0], [f64::NAN, 2.0]]).into_dyn();
/// let err = rnn::io::npy::check_finite(std::path::Path::new("x.npy"), &a).unwrap_err();
/// assert_eq!(err.to_string(), "x.npy: NaN at index [1, 0]: NaN and infinite values are not accepted");
/// ```
///
/// # Errors
/// [`Error::Npy`] naming `path` and the index.
pub fn check_finite<F: Float>(path: &Path, array: &ArrayD<F>) -> Result<()> {
    match array.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some((index, v)) => Err(Error::Npy {
            path: path.to_path_buf(),
            msg: format!(
                "{} at index {:?}: NaN and infinite values are not accepted",
                v.to_f64_lossless(),
                index.slice()
            ),
        }),
    }
}

/// Writes indices (class labels, ...) as an int64 `.npy` vector, atomically.
///
/// # Errors
/// [`Error::Io`] naming the file; [`Error::Config`] for an index beyond `i64`.
///
/// # Example
/// ```
/// use rnn::io::npy;
/// let path = std::env::temp_dir().join(format!("rnn-doc-indices-{}.npy", std::process::id()));
/// npy::write_indices(&path, &[2, 0, 1])?;
/// let bytes = std::fs::read(&path)?;
/// assert!(String::from_utf8_lossy(&bytes).contains("'descr': '<i8'"));
/// assert!(npy::read(&path).is_err()); // int64, not a float array
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_indices(path: &Path, indices: &[usize]) -> Result<()> {
    let values: Vec<i64> = indices
        .iter()
        .map(|&i| i64::try_from(i).map_err(|_| Error::Config(format!("index {i} does not fit in int64"))))
        .collect::<Result<_>>()?;
    write_npy_atomic(path, &ndarray::Array1::from(values))
}

/// Writes an array as `.npy` atomically.
///
/// # Errors
/// [`Error::Io`] naming the file.
///
/// # Example
/// ```
/// use ndarray::arr1;
/// use rnn::io::npy;
/// let path = std::env::temp_dir().join(format!("rnn-doc-npy-write-{}.npy", std::process::id()));
/// npy::write(&path, arr1(&[1.0f64, 2.0]).view())?;
/// assert_eq!(npy::read(&path)?, npy::NpyArray::F64(arr1(&[1.0, 2.0]).into_dyn()));
/// std::fs::remove_file(&path)?;
/// assert!(npy::write(std::path::Path::new("/nonexistent-dir/x.npy"), arr1(&[1.0f64]).view()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write<F: Float, D: Dimension>(path: &Path, array: ArrayView<'_, F, D>) -> Result<()> {
    write_npy_atomic(path, &array)
}

/// Any array `ndarray-npy` writes, through a temporary file (or in place for a device).
fn write_npy_atomic(path: &Path, array: &impl WriteNpyExt) -> Result<()> {
    write_atomic_with(path, |f| {
        let mut w = BufWriter::new(f);
        array.write_npy(&mut w).map_err(|e| match e {
            // the device's own error (`/dev/full`: no space left), not wrapped
            ndarray_npy::WriteNpyError::Io(e) => e,
            other => std::io::Error::other(other),
        })?;
        std::io::Write::flush(&mut w)
    })
}
