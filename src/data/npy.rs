//! `.npy` arrays (NumPy's format, what PyTorch users save with `np.save`), float32 or float64.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use ndarray::{ArrayD, ArrayView, Dimension};
use ndarray_npy::{ReadNpyError, ReadNpyExt, WriteNpyExt};

use crate::{Error, Float, Result, io};

/// An array read from a `.npy` file, in the dtype the file holds.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyArray {
    /// `<f4`
    F32(ArrayD<f32>),
    /// `<f8`
    F64(ArrayD<f64>),
}

impl NpyArray {
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            NpyArray::F32(a) => a.shape(),
            NpyArray::F64(a) => a.shape(),
        }
    }
    /// The array converted to `F`.
    pub fn into_float<F: Float>(self) -> ArrayD<F> {
        match self {
            NpyArray::F32(a) => a.mapv(|v| F::of(v as f64)),
            NpyArray::F64(a) => a.mapv(F::of),
        }
    }
}

/// Reads a float32 or float64 `.npy` file.
///
/// # Errors
/// [`Error::Npy`] naming the file: missing, not `.npy`, another dtype, truncated.
pub fn read(path: &Path) -> Result<NpyArray> {
    let open = || {
        File::open(path).map_err(|e| Error::Npy {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })
    };
    match ArrayD::<f32>::read_npy(open()?) {
        Ok(a) => return Ok(NpyArray::F32(a)),
        Err(ReadNpyError::WrongDescriptor(_)) => {}
        Err(e) => return Err(npy_error(path, e)),
    }
    match ArrayD::<f64>::read_npy(open()?) {
        Ok(a) => Ok(NpyArray::F64(a)),
        Err(ReadNpyError::WrongDescriptor(d)) => Err(Error::Npy {
            path: path.to_path_buf(),
            msg: format!("dtype {d} is not supported (expected float32 or float64)"),
        }),
        Err(e) => Err(npy_error(path, e)),
    }
}

fn npy_error(path: &Path, e: ReadNpyError) -> Error {
    let msg = match e {
        ReadNpyError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "not a .npy file (too short)".to_string()
        }
        ReadNpyError::ParseHeader(e) => format!("not a valid .npy file ({e})"),
        ReadNpyError::MissingData => "the file is truncated: it holds less data than its header says".to_string(),
        other => other.to_string(),
    };
    Error::Npy {
        path: path.to_path_buf(),
        msg,
    }
}

/// Writes an array as `.npy` atomically.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write<F: Float, D: Dimension>(path: &Path, array: ArrayView<'_, F, D>) -> Result<()> {
    io::write_atomic_with(path, |f| {
        let mut w = BufWriter::new(f);
        array.write_npy(&mut w).map_err(std::io::Error::other)?;
        std::io::Write::flush(&mut w)
    })
}
