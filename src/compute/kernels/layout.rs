//! Layout helpers: cache-blocked transposes and 64-byte-aligned buffers.

use super::Float;

/// Writes `src` transposed into `dst` (row-major `[src.ncols(), src.nrows()]`), in 16 × 16
/// blocks so both sides stay in cache.
///
/// # Panics
/// When `dst` is shorter than `src`.
pub fn transpose_into<F: Float>(src: ndarray::ArrayView2<'_, F>, dst: &mut [F]) {
    const BLOCK: usize = 16;
    let (rows, cols) = src.dim();
    assert!(dst.len() >= rows * cols, "transpose destination too small");
    let Some(s) = src.as_slice() else {
        for ((r, c), &v) in src.indexed_iter() {
            dst[c * rows + r] = v;
        }
        return;
    };
    for r0 in (0..rows).step_by(BLOCK) {
        let r1 = (r0 + BLOCK).min(rows);
        for c0 in (0..cols).step_by(BLOCK) {
            let c1 = (c0 + BLOCK).min(cols);
            for c in c0..c1 {
                let out = &mut dst[c * rows + r0..c * rows + r1];
                for (o, r) in out.iter_mut().zip(r0..r1) {
                    *o = s[r * cols + c];
                }
            }
        }
    }
}

/// A buffer whose data starts on a 64-byte boundary: a 512-bit load of a row of B then never
/// straddles two cache lines (measured: a streaming step at H = 128 took 0.85 or 1.25 µs
/// depending on where the allocator happened to place the weights).
#[derive(Clone, Debug)]
pub struct Aligned<F> {
    buf: Vec<F>,
    start: usize,
    len: usize,
}

impl<F: Float> Aligned<F> {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        let size = std::mem::size_of::<F>();
        let buf = vec![F::zero(); len + 64 / size];
        let misalign = buf.as_ptr() as usize % 64;
        let start = if misalign == 0 { 0 } else { (64 - misalign) / size };
        Aligned { buf, start, len }
    }
    /// The data.
    pub fn as_slice(&self) -> &[F] {
        &self.buf[self.start..self.start + self.len]
    }
    /// The data, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [F] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

/// `src` transposed into a 64-byte-aligned row-major buffer (see [`transpose_into`]).
pub fn transposed_aligned<F: Float>(src: ndarray::ArrayView2<'_, F>) -> Aligned<F> {
    let mut out = Aligned::zeros(src.len());
    transpose_into(src, out.as_mut_slice());
    out
}

/// `src` transposed, row-major (see [`transpose_into`]).
pub fn transposed<F: Float>(src: ndarray::ArrayView2<'_, F>) -> ndarray::Array2<F> {
    let (rows, cols) = src.dim();
    let mut out = vec![F::zero(); rows * cols];
    transpose_into(src, &mut out);
    ndarray::Array2::from_shape_vec((cols, rows), out).expect("rows * cols elements")
}
