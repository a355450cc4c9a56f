//! The floating-point types the library computes in: `f32` (the default) and `f64` (for gradient
//! checks).

use std::fmt::{Debug, Display};

use ndarray::{LinalgScalar, ScalarOperand};
use rand_distr::uniform::SampleUniform;

/// A floating-point element type: `f32` or `f64`.
///
/// Everything in the crate is generic over it; `f32` is the default of every type, as in PyTorch.
pub trait Float:
    LinalgScalar
    + ScalarOperand
    + num_traits::Float
    + SampleUniform
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + std::iter::Sum
    + ndarray_npy::ReadableElement
    + ndarray_npy::WritableElement
    + 'static
{
    /// The safetensors dtype this type is stored as.
    const DTYPE: safetensors::Dtype;
    /// Size in bytes.
    const BYTES: usize;
    /// Converts from `f64` (rounding for `f32`).
    fn of(v: f64) -> Self;
    /// Widens to `f64`.
    fn to_f64_lossless(self) -> f64;
    /// Appends the little-endian bytes of `self` to `out`.
    fn push_le_bytes(self, out: &mut Vec<u8>);
}

impl Float for f32 {
    const DTYPE: safetensors::Dtype = safetensors::Dtype::F32;
    const BYTES: usize = 4;
    fn of(v: f64) -> Self {
        v as f32
    }
    fn to_f64_lossless(self) -> f64 {
        self as f64
    }
    fn push_le_bytes(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Float for f64 {
    const DTYPE: safetensors::Dtype = safetensors::Dtype::F64;
    const BYTES: usize = 8;
    fn of(v: f64) -> Self {
        v
    }
    fn to_f64_lossless(self) -> f64 {
        self
    }
    fn push_le_bytes(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}
