//! What a model remembers of the series it was trained on, and the warnings when it is given
//! another: a shorter or longer file (whose re-cut test split is not the one held out), other
//! values, or values on another scale.

use crc::{CRC_64_ECMA_182, Crc};

use super::{ForecastMeta, Table};

/// The CRC-64 (ECMA-182) of the values' IEEE 754 bits: the same series gives the same number.
pub fn checksum(values: &[f64]) -> u64 {
    let crc = Crc::<u64>::new(&CRC_64_ECMA_182);
    let mut digest = crc.digest();
    for v in values {
        digest.update(&v.to_bits().to_le_bytes());
    }
    digest.finalize()
}

impl ForecastMeta {
    /// One line per series of `table` that is not the one trained on (`split` true: its split
    /// is meant to be the training one, as for evaluation), or whose values are on another scale
    /// (a mean more than 4 standard deviations from the training split's, or a spread 4 times
    /// larger or smaller), each naming the file.
    #[doc(hidden)] // for the `rnn` binary
    pub fn data_warnings(&self, table: &Table, split: bool) -> Vec<String> {
        let mut out = Vec::new();
        let file = table.path.display();
        for (k, s) in table.series.iter().enumerate() {
            let Ok(stats) = self.stats_for(table, k) else { continue };
            let trained: usize = stats.split.iter().sum();
            let [tr, va, _] = stats.split;
            if split {
                let sizes = self.split.sizes(s.len());
                let test_start = sizes[0] + sizes[1];
                if s.len() != trained {
                    let overlap = if test_start < tr + va {
                        format!(
                            ": its test split (rows {}-{}) includes rows the model was trained or validated on (1-{})",
                            test_start + 1,
                            s.len(),
                            tr + va
                        )
                    } else {
                        format!(": the test split is re-cut to rows {}-{}", test_start + 1, s.len())
                    };
                    out.push(format!(
                        "{file}: {} has {} rows but the model was trained on a series of {trained}{overlap}",
                        s.name(),
                        s.len()
                    ));
                } else if stats.checksum.is_some_and(|c| c != checksum(&s.values)) {
                    out.push(format!(
                        "{file}: {} has the length of the series the model was trained on ({trained} rows) but other \
                         values: the scores are not those of its held-out test split",
                        s.name()
                    ));
                }
            }
            let n = tr.min(s.len());
            let z: Vec<f64> = s.values[..n].iter().map(|&y| self.transform.forward(y)).collect();
            let (mean, std) = super::transform::mean_std(&z);
            if mean.is_finite()
                && (((mean - stats.mean).abs() > 4.0 * stats.std) || std > 4.0 * stats.std || 4.0 * std < stats.std)
            {
                out.push(format!(
                    "{file}: {} is on another scale than the series the model was trained on (mean {:.4} and \
                     standard deviation {:.4} of its first {n} rows{}, against {:.4} and {:.4}): forecasts may be poor",
                    s.name(),
                    mean,
                    std,
                    if self.transform.log { " in logs" } else { "" },
                    stats.mean,
                    stats.std
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_differ() {
        assert_eq!(checksum(&[1.0, 2.0]), checksum(&[1.0, 2.0]));
        assert_ne!(checksum(&[1.0, 2.0]), checksum(&[2.0, 1.0]));
    }
}
