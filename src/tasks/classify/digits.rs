//! The bundled digits data (scikit-learn's handwritten digits) as sequences of image rows.

use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array3};

use crate::{Error, Result};

/// Reads scikit-learn's handwritten digits (`data/digits.csv.gz`: gzip-compressed CSV lines of
/// 64 pixel values 0..16 of an 8x8 image, row by row, then the label 0..9) as sequences of the
/// image's 8 rows: `x [N, 8, 8]` with pixels scaled to `[0, 1]`, and the labels `[N]`.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be read or decompressed, or when a line is
/// malformed (with the line number).
///
/// # Example
/// ```
/// use rnn::tasks::classify::read_digits;
/// let (x, labels) = read_digits("data/digits.csv.gz".as_ref())?; // bundled with the crate
/// assert_eq!((x.dim(), labels.len()), ((1797, 8, 8), 1797));
/// assert!(x.iter().all(|p| (0.0..=1.0).contains(p)) && labels.iter().all(|l| *l < 10));
/// assert!(read_digits("data/missing.csv.gz".as_ref()).is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn read_digits(path: &Path) -> Result<(Array3<f32>, Array1<usize>)> {
    let io_err = |err: std::io::Error| Error::Io { path: path.to_path_buf(), err };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::io::BufReader::new(file)).read_to_string(&mut text).map_err(io_err)?;
    parse_digits_csv(&text).map_err(|msg| io_err(std::io::Error::new(std::io::ErrorKind::InvalidData, msg)))
}

/// Parses the digits CSV text (see [`read_digits`]).
///
/// # Errors
/// A one-line description naming the line at fault.
///
/// # Example
/// ```
/// use rnn::tasks::classify::parse_digits_csv;
/// let line = format!("{},7", vec!["16"; 64].join(","));
/// let (x, labels) = parse_digits_csv(&line)?;
/// assert_eq!((x.dim(), x[[0, 7, 7]], labels[0]), ((1, 8, 8), 1.0, 7));
/// assert!(parse_digits_csv("1,2,3").unwrap_err().starts_with("line 1:"));
/// # Ok::<(), String>(())
/// ```
pub fn parse_digits_csv(text: &str) -> std::result::Result<(Array3<f32>, Array1<usize>), String> {
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let values: Vec<&str> = line.split(',').map(str::trim).collect();
        if values.len() != 65 {
            return Err(format!("line {}: expected 65 comma-separated values, found {}", i + 1, values.len()));
        }
        for (j, v) in values.iter().enumerate() {
            let k: f64 = v.parse().map_err(|_| format!("line {}: `{v}` is not a number", i + 1))?;
            let ok = k.fract() == 0.0 && k >= 0.0 && if j < 64 { k <= 16.0 } else { k < 10.0 };
            if !ok {
                return Err(format!("line {}: value {k} is out of range (pixels 0..16, labels 0..9)", i + 1));
            }
            if j < 64 {
                pixels.push((k / 16.0) as f32);
            } else {
                labels.push(k as usize);
            }
        }
    }
    if labels.is_empty() {
        return Err("no data lines".into());
    }
    let x = Array3::from_shape_vec((labels.len(), 8, 8), pixels).map_err(|e| e.to_string())?;
    Ok((x, Array1::from(labels)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_csv_parses_and_rejects() {
        let line = |label: usize| format!("{}{label}\n", "16,".repeat(64));
        let (x, y) = parse_digits_csv(&(line(3) + &line(9))).unwrap();
        assert_eq!((x.shape(), y.to_vec()), (&[2, 8, 8][..], vec![3, 9]));
        assert_eq!(x[[1, 7, 7]], 1.0);
        assert!(parse_digits_csv("1,2,3\n").unwrap_err().contains("line 1"));
        assert!(parse_digits_csv(&format!("{}10\n", "0,".repeat(64))).unwrap_err().contains("out of range"));
        assert!(parse_digits_csv("").is_err());
    }
}
