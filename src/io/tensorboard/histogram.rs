//! Histograms as TensorFlow summarizes them (`tensorflow/core/lib/histogram/histogram.cc`):
//! TensorFlow's default bucket limits, `±1e-12 · 1.1^k` up to `1e20`, `0` between them and
//! `±f64::MAX` at the ends; bucket `i` counts the values `v` with
//! `limit[i-1] <= v < limit[i]`; runs of empty buckets are merged into one, as TensorFlow's
//! `EncodeToProto` does, so a histogram holds only the occupied range.

use std::sync::OnceLock;

/// A histogram of values: TensorFlow's `HistogramProto`.
///
/// # Example
/// ```
/// use rnn::io::tensorboard::{Histogram, default_limits};
/// let h = Histogram::new((1..=100).map(f64::from)).ok_or("no values")?;
/// assert_eq!(h.bucket_limit.len(), h.bucket.len());
/// assert!(h.bucket_limit.windows(2).all(|w| w[0] < w[1]) && default_limits().len() > h.bucket_limit.len());
/// assert_eq!(h.bucket.iter().sum::<f64>(), 100.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// How many values.
    pub num: f64,
    /// Their sum.
    pub sum: f64,
    /// The sum of their squares.
    pub sum_squares: f64,
    /// Each bucket's right edge (exclusive); the first bucket starts at `min`.
    pub bucket_limit: Vec<f64>,
    /// Each bucket's count.
    pub bucket: Vec<f64>,
}

impl Histogram {
    /// The histogram of `values` over TensorFlow's default buckets. NaNs are left out (not
    /// counted); `±inf` fall in the end buckets. `None` when there is no (non-NaN) value.
    ///
    /// # Example
    /// ```
    /// use rnn::io::tensorboard::Histogram;
    ///
    /// let h = Histogram::new([-1.0, 0.0, 0.5, 2.0]).unwrap();
    /// assert_eq!((h.min, h.max, h.num, h.sum, h.sum_squares), (-1.0, 2.0, 4.0, 1.5, 5.25));
    /// assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
    /// assert!(Histogram::new(std::iter::empty()).is_none());
    /// ```
    pub fn new(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let limits = default_limits();
        let mut counts = vec![0.0f64; limits.len()];
        let (mut min, mut max, mut num, mut sum, mut sum_squares) = (f64::MAX, -f64::MAX, 0.0, 0.0, 0.0);
        for v in values.into_iter().filter(|v| !v.is_nan()) {
            // the first limit above v (C++'s upper_bound), the last bucket for what is beyond
            let b = limits.partition_point(|&l| l <= v).min(limits.len() - 1);
            counts[b] += 1.0;
            min = min.min(v);
            max = max.max(v);
            num += 1.0;
            sum += v;
            sum_squares += v * v;
        }
        if num == 0.0 {
            return None;
        }
        let (mut bucket_limit, mut bucket) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < counts.len() {
            let (mut end, mut count) = (limits[i], counts[i]);
            i += 1;
            if count <= 0.0 {
                // a run of empty buckets becomes one
                while i < counts.len() && counts[i] <= 0.0 {
                    (end, count) = (limits[i], counts[i]);
                    i += 1;
                }
            }
            bucket_limit.push(end);
            bucket.push(count);
        }
        Some(Histogram { min, max, num, sum, sum_squares, bucket_limit, bucket })
    }
}

/// TensorFlow's default bucket limits (1,551 of them), computed once.
///
/// # Example
/// ```
/// let limits = rnn::io::tensorboard::default_limits();
/// assert_eq!(limits.len(), 1551);
/// assert!(limits.windows(2).all(|w| w[0] < w[1]));
/// ```
pub fn default_limits() -> &'static [f64] {
    static LIMITS: OnceLock<Vec<f64>> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let mut positive = Vec::new();
        let mut v = 1.0e-12;
        while v < 1.0e20 {
            positive.push(v);
            v *= 1.1;
        }
        positive.push(f64::MAX);
        let mut limits: Vec<f64> = positive.iter().rev().map(|v| -v).collect();
        limits.push(0.0);
        limits.extend_from_slice(&positive);
        limits
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_are_tensorflows() {
        let l = default_limits();
        assert_eq!(l.len(), 1551);
        assert_eq!(l[775], 0.0);
        assert_eq!((l[776], l[777]), (1e-12, 1e-12 * 1.1));
        assert_eq!((l[0], l[1550]), (-f64::MAX, f64::MAX));
        assert!(l[1549] < 1e20 && l[1549] * 1.1 >= 1e20);
        assert!(l.windows(2).all(|w| w[0] < w[1]));
        assert!(l.iter().zip(l.iter().rev()).all(|(a, b)| *a == -*b));
    }

    #[test]
    fn buckets_hold_values_from_their_left_limit_up_to_their_right() {
        let l = default_limits();
        let h = Histogram::new([0.0, 1e-12, 1e-12, -3.0]).unwrap();
        // -3 lies in [l[k-1], l[k]) for the k with l[k-1] <= -3 < l[k]
        let k = l.partition_point(|&x| x <= -3.0);
        assert!(l[k - 1] <= -3.0 && -3.0 < l[k]);
        // empty run up to l[k-1], -3's bucket, empty run up to 0, then 0's bucket [0, 1e-12),
        // then [1e-12, 1.1e-12) with both 1e-12, then the empty rest up to f64::MAX
        assert_eq!(h.bucket_limit, vec![l[k - 1], l[k], l[775], l[776], l[777], f64::MAX]);
        assert_eq!(h.bucket, vec![0.0, 1.0, 0.0, 1.0, 2.0, 0.0]);
        assert_eq!((h.min, h.max, h.num, h.sum), (-3.0, 1e-12, 4.0, -3.0 + 2e-12));
    }

    #[test]
    fn counts_add_up_and_nan_is_left_out() {
        let values: Vec<f64> = (0..1000).map(|i| ((i as f64) * 0.37).sin() * 10f64.powi(i % 7 - 3)).collect();
        let h = Histogram::new(values.iter().copied().chain([f64::NAN])).unwrap();
        assert_eq!(h.num, 1000.0);
        assert_eq!(h.bucket.iter().sum::<f64>(), 1000.0);
        assert_eq!(h.bucket.len(), h.bucket_limit.len());
        assert!(h.bucket_limit.windows(2).all(|w| w[0] < w[1]));
        // no two empty buckets in a row
        assert!(h.bucket.windows(2).all(|w| w[0] > 0.0 || w[1] > 0.0));
        let ss: f64 = values.iter().map(|v| v * v).sum();
        assert!((h.sum_squares - ss).abs() <= 1e-12 * ss);
        let h = Histogram::new([f64::INFINITY, f64::NEG_INFINITY]).unwrap();
        assert_eq!((h.bucket[0], *h.bucket.last().unwrap()), (1.0, 1.0));
        assert!(Histogram::new([f64::NAN]).is_none());
    }
}
