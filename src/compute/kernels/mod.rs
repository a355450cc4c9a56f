//! The small matrix product at the heart of the recurrence, without allocation or per-call
//! overhead: `C (+)= A · B` with all three row-major, register-blocked, compiled for AVX-512 or
//! AVX2+FMA when the CPU has them (detected once at run time), and split across the thread pool
//! by column blocks when the product is large enough to pay for it.
//!
//! `ndarray`'s GEMM (`matrixmultiply`) packs its operands into a freshly allocated buffer on every
//! call; that is right for the big once-per-sequence products but costs more than the work itself
//! for a `[B, H] x [H, H]` step at small `H`, and allocates inside the per-step loop.
//!
//! The files: `gemm` (the entry points, split across the pool), `packed` (right-hand operands
//! packed into panels), `direct` (the register-blocked kernels), `goto` (the packed path for
//! large products), `layout` (transposes and aligned buffers), `onehot` (products with a one-hot left-hand side).

use std::sync::OnceLock;

mod direct;
mod gemm;
mod gemv;
mod goto;
mod layout;
#[cfg(test)]
mod miri_tests;
mod onehot;
mod packed;
mod transpose;
mod view;

pub use gemm::{Epilogue, gemm, gemm_then, matmul};
pub use gemv::gemv_packed;
pub use layout::{Aligned, transpose_into, transposed, transposed_aligned};
pub use onehot::{one_hot_gather, one_hot_grad, one_hot_rows};
pub use packed::{PANEL, Packed, PackedRef, SUB, gemm_packed, pack_into, packed_path};
pub(crate) use view::MAX_PARTS;

use view::MatMut;

use crate::Float;

/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_MIN_MACS: usize = 1 << 21;

/// Which instruction set the kernels run with, narrowest first (so `a.min(b)` is the narrower).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Isa {
    Portable,
    Avx2,
    Avx512,
}

impl Isa {
    /// `avx512`, `avx2` or `portable`: the spelling of `RNN_ISA`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Unit tests run every path on one machine: an ISA other than the detected one (only ever
    /// a subset of it) can be forced, on the test's own thread (a test forcing it for the
    /// whole process would switch the path under another test's product between its choice
    /// of path and the kernel: the packed path without a vector ISA is unreachable).
    pub(crate) static FORCED_ISA: std::cell::Cell<Option<Isa>> = const { std::cell::Cell::new(None) };
}

/// The widest instruction set this CPU runs.
fn detected() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            return Isa::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
    }
    Isa::Portable
}

/// The instruction set `RNN_ISA` asks for (`avx512`, `avx2` or `portable`, any case): `None`
/// when unset, an error message when it is none of these.
pub(crate) fn isa_from_env() -> Option<Result<Isa, String>> {
    let raw = std::env::var_os("RNN_ISA")?;
    let text = raw.to_string_lossy();
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "avx512" => Ok(Isa::Avx512),
        "avx2" => Ok(Isa::Avx2),
        "portable" => Ok(Isa::Portable),
        _ => Err(format!("RNN_ISA={text} is not an instruction set: avx512, avx2 or portable")),
    })
}

/// The instruction set the kernels and the activations run with: the CPU's widest, or the
/// narrower one `RNN_ISA` asks for (so that a machine with AVX-512 can test and time the AVX2
/// path its users' CPUs run); a wider one than the CPU has is not used.
pub(crate) fn isa() -> Isa {
    #[cfg(test)]
    if let Some(forced) = FORCED_ISA.get() {
        return forced;
    }
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| match isa_from_env() {
        Some(Ok(asked)) => asked.min(detected()),
        _ => detected(),
    })
}

/// A matrix view over a slice: element `(r, c)` at `data[r * ld + c]`, or with `trans` (the
/// transpose of a row-major array, as `dAᵀ` in a weight gradient) at `data[c * ld + r]`.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a, F> {
    /// The elements.
    pub data: &'a [F],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows (`>= cols`), or between columns with `trans` (`>= rows`).
    pub ld: usize,
    /// Stored column by column (see above).
    pub trans: bool,
}

impl<'a, F> Mat<'a, F> {
    /// A contiguous row-major `rows × cols` matrix.
    pub fn new(data: &'a [F], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, ld: cols, trans: false }
    }

    /// The `rows × cols` transpose of a contiguous row-major `cols × rows` array.
    pub fn transposed(data: &'a [F], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, ld: rows, trans: true }
    }

    /// Index of element `(r, c)` in `data`, whichever the layout.
    fn at_dyn(&self, r: usize, c: usize) -> usize {
        if self.trans { c * self.ld + r } else { r * self.ld + c }
    }

    /// Index of element `(r, c)` in `data`.
    #[inline(always)]
    fn at<const T: bool>(&self, r: usize, c: usize) -> usize {
        if T { c * self.ld + r } else { r * self.ld + c }
    }
}

/// Depth of one pass over the inner dimension: a `KC × 64` panel of B (64 KB in f32) stays in
/// L2 while every row block of A runs over it, and the accumulators go back to C between passes.
const KC: usize = 256;
