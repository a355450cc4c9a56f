//! Text as parallel streams for stateful truncated BPTT.
//!
//! The text's `n - 1` (input, next character) pairs are cut into `streams` equal contiguous
//! parts, and each part into consecutive chunks of `chunk_len` characters. Row `k * streams + b`
//! of the dataset is chunk `k` of stream `b`, so with `batch_size = streams`, no shuffling and
//! the state carried from batch to batch ([`StateReset::Epoch`](crate::train::StateReset)), row
//! `b` of batch `k` continues row `b` of batch `k - 1`: every stream is read in order, its state
//! carried through the whole epoch and its gradient cut every `chunk_len` characters. What does
//! not fill a whole chunk at the end of a stream is left out (fewer than
//! `streams * (chunk_len + 1)` pairs in all).

use ndarray::{Array2, Array3};

use crate::data::{Dataset, Targets};
use crate::{Error, Float, Result};

/// How a text is laid out as streams of chunks.
///
/// # Example
/// ```
/// use rnn::tasks::charlm::StreamLayout;
/// // 101 characters: 100 (input, next character) pairs in 4 streams of 25, chunks of 10
/// let layout = StreamLayout::new(101, 4, 10)?;
/// assert_eq!((layout.streams, layout.chunks, layout.rows(), layout.used()), (4, 2, 8, 80));
/// // rows run stream 0 chunk 0, stream 1 chunk 0, ...: row 1 starts stream 1
/// assert_eq!((layout.row_start(0), layout.row_start(1), layout.row_start(4)), (0, 25, 10));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamLayout {
    /// Parallel streams (the batch size).
    pub streams: usize,
    /// Characters per chunk (the steps of a row).
    pub chunk_len: usize,
    /// Chunks per stream (batches per epoch).
    pub chunks: usize,
    /// Pairs in a stream part (`chunks * chunk_len` of them are used).
    part_len: usize,
}

impl StreamLayout {
    /// The layout of a text of `chars` characters in at most `streams` streams of chunks of at
    /// most `chunk_len`. A text too short for that gets fewer streams (one per pair at the least)
    /// or shorter chunks (the whole stream part).
    ///
    /// # Errors
    /// [`Error::Config`] when `streams` or `chunk_len` is 0 or the text has fewer than 2
    /// characters.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::charlm::StreamLayout;
    /// let l = StreamLayout::new(1001, 4, 100)?; // 1000 pairs: 4 streams of 250, 2 chunks each
    /// assert_eq!((l.streams, l.chunk_len, l.chunks, l.used()), (4, 100, 2, 800));
    /// let l = StreamLayout::new(21, 4, 100)?; // 20 pairs: 4 streams, one chunk of 5 each
    /// assert_eq!((l.streams, l.chunk_len, l.chunks), (4, 5, 1));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(chars: usize, streams: usize, chunk_len: usize) -> Result<Self> {
        if streams == 0 || chunk_len == 0 {
            return Err(Error::Config(format!(
                "streams ({streams}) and chunk length ({chunk_len}) must be at least 1"
            )));
        }
        let pairs = chars.saturating_sub(1);
        if pairs == 0 {
            return Err(Error::Config(format!("a text of {chars} character(s) has nothing to predict")));
        }
        let streams = streams.min(pairs);
        let part_len = pairs / streams;
        let chunk_len = chunk_len.min(part_len);
        Ok(StreamLayout { streams, chunk_len, chunks: part_len / chunk_len, part_len })
    }

    /// Rows of the dataset (`streams * chunks`).
    pub fn rows(&self) -> usize {
        self.streams * self.chunks
    }

    /// Characters predicted in one pass (`rows * chunk_len`).
    pub fn used(&self) -> usize {
        self.rows() * self.chunk_len
    }

    /// Where row `r`'s first input character is in the text.
    pub fn row_start(&self, r: usize) -> usize {
        let (k, b) = (r / self.streams, r % self.streams);
        b * self.part_len + k * self.chunk_len
    }

    /// The bytes [`StreamLayout::dataset`] allocates for a vocabulary of `vocab_size` in
    /// floats of `float_bytes`: one-hot inputs and class targets, so a size can be refused
    /// before it is allocated.
    ///
    /// # Errors
    /// [`Error::Config`] when the count overflows `u64`.
    #[doc(hidden)] // for the `rnn` binary
    pub fn dataset_bytes(&self, vocab_size: usize, float_bytes: usize) -> Result<u64> {
        let per_step = (vocab_size as u64)
            .checked_mul(float_bytes as u64)
            .and_then(|b| b.checked_add(std::mem::size_of::<usize>() as u64));
        per_step
            .and_then(|b| b.checked_mul(self.rows() as u64))
            .and_then(|b| b.checked_mul(self.chunk_len as u64))
            .ok_or_else(|| Error::Config(format!("a one-hot dataset of {vocab_size} characters overflows 64 bits")))
    }

    /// The dataset of `ids` (classes of a vocabulary of `vocab_size`): one-hot inputs
    /// `[rows, chunk_len, vocab_size]` and next-character class targets `[rows, chunk_len]`.
    ///
    /// # Errors
    /// [`Error::Config`] when `ids` is shorter than the layout was made for or has a class
    /// outside `vocab_size`.
    ///
    /// # Example
    /// ```
    /// use rnn::data::Targets;
    /// use rnn::tasks::charlm::StreamLayout;
    /// let ids: Vec<usize> = (0..9).collect(); // 8 pairs: 2 streams of 4, chunks of 2
    /// let layout = StreamLayout::new(ids.len(), 2, 2)?;
    /// let data = layout.dataset::<f32>(&ids, 9)?;
    /// let Targets::Classes(t) = data.targets() else { unreachable!() };
    /// // rows: stream 0 chunk 0, stream 1 chunk 0, stream 0 chunk 1, stream 1 chunk 1
    /// assert_eq!(t.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>(), [[1, 2], [5, 6], [3, 4], [7, 8]]);
    /// assert_eq!(data.inputs()[[1, 0, 4]], 1.0); // row 1 starts with character 4
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn dataset<F: Float>(&self, ids: &[usize], vocab_size: usize) -> Result<Dataset<F>> {
        self.dataset_bytes(vocab_size, size_of::<F>())?;
        if ids.len() < self.streams * self.part_len + 1 {
            return Err(Error::Config(format!("the layout needs {} characters, got {}", self.used() + 1, ids.len())));
        }
        if let Some(&bad) = ids.iter().find(|&&i| i >= vocab_size) {
            return Err(Error::Config(format!("class {bad} is outside the vocabulary of {vocab_size}")));
        }
        let (rows, t) = (self.rows(), self.chunk_len);
        let mut x = Array3::<F>::zeros((rows, t, vocab_size));
        let mut y = Array2::<usize>::zeros((rows, t));
        for r in 0..rows {
            let start = self.row_start(r);
            for s in 0..t {
                x[[r, s, ids[start + s]]] = F::one();
                y[[r, s]] = ids[start + s + 1];
            }
        }
        Dataset::new(x, Targets::Classes(y), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_b_of_each_batch_continues_row_b_of_the_one_before() {
        let ids: Vec<usize> = (0..1000).map(|i| i % 7).collect();
        let layout = StreamLayout::new(ids.len(), 5, 30).unwrap();
        assert_eq!((layout.streams, layout.chunk_len, layout.chunks), (5, 30, 6));
        for r in layout.streams..layout.rows() {
            assert_eq!(layout.row_start(r), layout.row_start(r - layout.streams) + layout.chunk_len);
        }
        let data = layout.dataset::<f64>(&ids, 7).unwrap();
        assert_eq!(data.inputs().shape(), &[30, 30, 7]);
        let Targets::Classes(t) = data.targets() else { unreachable!() };
        for r in 0..layout.rows() {
            let start = layout.row_start(r);
            for s in 0..30 {
                assert_eq!(t[[r, s]], ids[start + s + 1]);
                assert_eq!(data.inputs()[[r, s, ids[start + s]]], 1.0);
                assert_eq!(data.inputs().slice(ndarray::s![r, s, ..]).sum(), 1.0);
            }
        }
    }

    #[test]
    fn short_texts_get_fewer_streams_or_shorter_chunks() {
        assert!(StreamLayout::new(1, 4, 10).is_err());
        assert!(StreamLayout::new(10, 0, 10).is_err());
        let l = StreamLayout::new(3, 4, 10).unwrap();
        assert_eq!((l.streams, l.chunk_len, l.chunks), (2, 1, 1));
        let ids = [0, 1, 0];
        assert!(l.dataset::<f32>(&ids, 2).is_ok());
        assert!(l.dataset::<f32>(&ids, 1).is_err());
        assert!(l.dataset::<f32>(&ids[..2], 2).is_err());
    }
}
