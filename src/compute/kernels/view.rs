//! The output of a product as the pool's parts see it: each part holds a [`MatMut`] over its
//! own rows or columns of C, and never a `&mut [F]` over the whole of it.
//!
//! Rust's aliasing rules forbid two live `&mut` references that overlap, whatever is written
//! through them: two threads each holding a `&mut [F]` over the whole of C and writing
//! disjoint columns is undefined behaviour, even though no element is written twice. Here a
//! part's view keeps a raw pointer and the rectangle it may touch (rows `0..rows`, columns
//! `j0..j1`), and hands out `&mut` slices only inside that rectangle, one row segment at a
//! time, checked. [`Split`] cuts one view into the parts' views: disjoint by construction (part
//! `p`'s range is computed from `p`), and each part claimable once (an atomic bit), so no two
//! live views overlap whoever calls it.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// At most this many parts in one [`Split`] (one claim bit each); the pool never has more
/// threads.
pub const MAX_PARTS: usize = 64;

/// A mutable view of a rectangle of a row-major buffer: rows `0..rows`, `ld` elements apart,
/// columns `j0..j1` (indices as in the whole matrix, so a part's kernels keep the column
/// numbers of C).
///
/// Invariant: `ptr.add(r * ld + j)` for `r < rows`, `j0 <= j < j1` points into one live
/// allocation that nothing else reads or writes while the view (lifetime `'a`) exists.
#[derive(Debug)]
pub struct MatMut<'a, F> {
    ptr: *mut F,
    rows: usize,
    ld: usize,
    j0: usize,
    j1: usize,
    _borrow: PhantomData<&'a mut [F]>,
}

// SAFETY: a `MatMut` is an exclusive borrow of its elements, as `&mut [F]` is (Send when F is).
unsafe impl<F: Send> Send for MatMut<'_, F> {}

impl<'a, F> MatMut<'a, F> {
    /// The `rows × cols` matrix in `data`, rows `ld` apart.
    ///
    /// # Panics
    /// When `data` is too short or `ld < cols` (with more than one row).
    pub fn new(data: &'a mut [F], rows: usize, cols: usize, ld: usize) -> Self {
        assert!(rows <= 1 || ld >= cols, "row distance below the width");
        assert!(rows == 0 || cols == 0 || data.len() >= (rows - 1) * ld + cols, "matrix buffer too short");
        // the invariant: every (r, j) in the rectangle is within `data`, which `'a` borrows
        // exclusively
        MatMut { ptr: data.as_mut_ptr(), rows, ld, j0: 0, j1: cols, _borrow: PhantomData }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The columns this view may touch.
    pub fn col_range(&self) -> (usize, usize) {
        (self.j0, self.j1)
    }

    /// Distance between rows.
    pub fn ld(&self) -> usize {
        self.ld
    }

    /// Columns `j..j + w` of row `r`.
    ///
    /// # Panics
    /// Outside the view.
    #[inline(always)]
    pub fn row(&mut self, r: usize, j: usize, w: usize) -> &mut [F] {
        assert!(r < self.rows && j >= self.j0 && j + w <= self.j1, "outside the view");
        // SAFETY: the segment lies in the view's rectangle (checked), which is in bounds and
        // borrowed exclusively by `self` (the invariant); the result borrows `self` mutably, so
        // no second segment can be live at the same time.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r * self.ld + j), w) }
    }

    /// A pointer to element `(r, j)` for a kernel that writes the `h × w` block there, rows
    /// [`ld`](Self::ld) apart.
    ///
    /// # Panics
    /// When the block leaves the view.
    #[inline(always)]
    pub fn block_ptr(&mut self, r: usize, h: usize, j: usize, w: usize) -> *mut F {
        assert!(r + h <= self.rows && j >= self.j0 && j + w <= self.j1, "block outside the view");
        // SAFETY: in bounds by the check and the invariant (`wrapping_add` would do too; the
        // offset is within the allocation).
        unsafe { self.ptr.add(r * self.ld + j) }
    }

    /// The same rectangle, borrowed for less time.
    pub fn reborrow(&mut self) -> MatMut<'_, F> {
        MatMut { ptr: self.ptr, rows: self.rows, ld: self.ld, j0: self.j0, j1: self.j1, _borrow: PhantomData }
    }

    /// Columns `j..j + w`, renumbered from 0.
    ///
    /// # Panics
    /// When they leave the view.
    pub fn columns(&mut self, j: usize, w: usize) -> MatMut<'_, F> {
        assert!(j >= self.j0 && j + w <= self.j1, "columns outside the view");
        // SAFETY: column j is within the allocation (invariant; `w = 0` at the end of a row is
        // one past a column, still in or one past the allocation).
        let ptr = unsafe { self.ptr.add(j) };
        MatMut { ptr, rows: self.rows, ld: self.ld, j0: 0, j1: w, _borrow: PhantomData }
    }

    /// Cuts the view into parts of `per` rows (`by_rows`) or `per` columns, for the pool.
    pub fn split(self, by_rows: bool, per: usize) -> Split<'a, F> {
        Split { whole: self, by_rows, per: per.max(1), claimed: AtomicU64::new(0) }
    }
}

/// A view cut into disjoint parts, handed out at most once each (see the module docs).
pub struct Split<'a, F> {
    whole: MatMut<'a, F>,
    by_rows: bool,
    per: usize,
    claimed: AtomicU64,
}

// SAFETY: through `&Split` only `part` reaches the elements, and it hands out each part's
// rectangle once (the claim bit); the rectangles of different parts are disjoint. So sharing a
// `Split` between threads shares no element, as sending disjoint `&mut` slices would.
unsafe impl<F: Send> Sync for Split<'_, F> {}

impl<F> Split<'_, F> {
    /// Part `p`'s view: rows (or columns) `p · per` up to `(p + 1) · per`, clipped to the whole;
    /// `None` when that is empty.
    ///
    /// # Panics
    /// When part `p` was claimed before, or `p >= MAX_PARTS`.
    pub fn part(&self, p: usize) -> Option<MatMut<'_, F>> {
        assert!(p < MAX_PARTS, "part {p} of at most {MAX_PARTS}");
        let bit = 1u64 << p;
        assert!(self.claimed.fetch_or(bit, Ordering::AcqRel) & bit == 0, "part {p} claimed twice");
        let w = &self.whole;
        if self.by_rows {
            let (r0, r1) = ((p * self.per).min(w.rows), ((p + 1) * self.per).min(w.rows));
            // SAFETY: row r0 <= rows is within (or one past) the rectangle's rows.
            let ptr = unsafe { w.ptr.add(r0 * w.ld) };
            (r0 < r1).then_some(MatMut { ptr, rows: r1 - r0, ld: w.ld, j0: w.j0, j1: w.j1, _borrow: PhantomData })
        } else {
            let (j0, j1) = ((w.j0 + p * self.per).min(w.j1), (w.j0 + (p + 1) * self.per).min(w.j1));
            (j0 < j1).then_some(MatMut { ptr: w.ptr, rows: w.rows, ld: w.ld, j0, j1, _borrow: PhantomData })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_the_whole_once() {
        let mut data = vec![0u32; 7 * 10];
        for by_rows in [false, true] {
            data.fill(0);
            let split = MatMut::new(&mut data, 7, 9, 10).split(by_rows, 4);
            for p in 0..4 {
                if let Some(mut v) = split.part(p) {
                    let (j0, j1) = v.col_range();
                    for r in 0..v.rows() {
                        v.row(r, j0, j1 - j0).iter_mut().for_each(|x| *x += 1);
                    }
                }
            }
            // the 9 columns of each of the 7 rows exactly once; the tenth (padding) never
            assert!(data.chunks(10).all(|row| row[..9].iter().all(|&x| x == 1) && row[9] == 0));
        }
    }

    #[test]
    #[should_panic(expected = "claimed twice")]
    fn a_part_cannot_be_claimed_twice() {
        let mut data = vec![0f32; 16];
        let split = MatMut::new(&mut data, 4, 4, 4).split(false, 2);
        let _a = split.part(1);
        let _b = split.part(1);
    }

    #[test]
    #[should_panic(expected = "outside the view")]
    fn a_part_cannot_reach_past_its_columns() {
        let mut data = vec![0f32; 16];
        let split = MatMut::new(&mut data, 4, 4, 4).split(false, 2);
        let mut v = split.part(0).unwrap();
        v.row(0, 1, 2);
    }

    #[test]
    fn columns_renumber_from_zero() {
        let mut data: Vec<u32> = (0..12).collect();
        let mut m = MatMut::new(&mut data, 3, 4, 4);
        let mut c = m.columns(2, 2);
        assert_eq!(c.row(1, 0, 2), &[6, 7]);
    }
}
