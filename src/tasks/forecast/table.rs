//! Reading series from a CSV file: a header row, an optional date column, the target column,
//! optional feature columns, and optionally an id column that splits the rows into many series
//! (the long format, e.g. Nixtla's `unique_id,ds,y`).
//!
//! The delimiter is sniffed (`,`, `;` or tab) unless given; numbers may have decimal commas;
//! dates are read as `dates` says; missing values are refused or filled
//! ([`ReadOptions`]).
//!
//! Every problem is an [`Error::Data`] naming the file, the line (1-based, the header is line 1)
//! and the column: an empty file, a missing column, a missing (unless filled), non-numeric or
//! infinite cell, a row with the wrong number of cells, dates out of order or unreadable.
//!
//! # Example
//! ```
//! use rnn::tasks::forecast::table;
//! let csv = "month;sales\n2024-01;10,5\n2024-02;\n2024-03;12\n"; // `;` and decimal commas
//! let options = rnn::tasks::forecast::ReadOptions { fill: rnn::tasks::forecast::Fill::Linear, ..Default::default() };
//! let t = table::parse_with(csv.as_bytes(), "sales.csv".as_ref(), &Default::default(), &options)?;
//! assert_eq!(t.series[0].values, [10.5, 11.25, 12.0]); // the missing February interpolated
//! let err = table::parse(b"month,sales\n2024-01,ten\n", "bad.csv".as_ref(), &Default::default()).unwrap_err();
//! assert!(err.to_string().contains("bad.csv") && err.to_string().contains("line 2"), "{err}");
//! # Ok::<(), rnn::Error>(())
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::clean;
use super::read::{self, ReadOptions};
use crate::{Error, Result};

/// Which columns to read.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Columns, table};
/// let csv = "day,sales,price\n1,10,2.5\n2,12,2.4\n3,11,2.6\n";
/// let columns = Columns { target: Some("sales".into()), features: vec!["price".into()], ..Columns::default() };
/// let t = table::parse(csv.as_bytes(), "shop.csv".as_ref(), &columns)?;
/// assert_eq!((t.target.as_str(), t.date.as_deref(), t.target_column()), ("sales", Some("day"), "2 (sales)".to_string()));
/// assert_eq!(t.series[0].features, [vec![2.5, 2.4, 2.6]]);
/// assert_eq!(t.columns().features, ["price"]);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Columns {
    /// The column to forecast; `None` picks the only numeric column that is not a date, an id
    /// or a feature (or one named `value` or `y`).
    pub target: Option<String>,
    /// Extra input columns (covariates), in this order.
    #[serde(default)]
    pub features: Vec<String>,
    /// The date column; `None` takes a column named `date`, `ds`, `time`, `timestamp`,
    /// `datetime`, `year`, `month`, `week` or `day`, if there is one.
    pub date: Option<String>,
    /// The column naming the series in the long format.
    pub id: Option<String>,
}

/// One series of a file.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Columns, table};
/// let csv = "id,date,y\nA,2024-01,1\nA,2024-02,2\nB,2024-01,5\n";
/// let columns = Columns { id: Some("id".into()), ..Columns::default() };
/// let t = table::parse(csv.as_bytes(), "long.csv".as_ref(), &columns)?;
/// assert_eq!(t.series.len(), 2); // the long format: one series per id
/// assert_eq!((t.series[0].len(), t.series[0].name(), t.series[1].values.clone()), (2, "series \"A\"".to_string(), vec![5.0]));
/// assert!(!t.series[1].is_empty());
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Its id in the long format.
    pub id: Option<String>,
    /// Its dates (the date column's text), when there is a date column.
    pub dates: Option<Vec<String>>,
    /// The target column's values.
    pub values: Vec<f64>,
    /// The feature columns' values `[feature][time]`.
    pub features: Vec<Vec<f64>>,
    /// The file line of each row.
    pub lines: Vec<usize>,
}

impl Series {
    /// Rows.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Columns, table};
    /// let csv = "id,y\nA,1\nA,2\nA,3\nB,5\n";
    /// let t = table::parse(csv.as_bytes(), "long.csv".as_ref(), &Columns { id: Some("id".into()), ..Columns::default() })?;
    /// assert_eq!((t.series[0].len(), t.series[1].len()), (3, 1));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// Whether there are no rows.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Columns, table};
    /// let csv = "id,y\nA,1\nA,2\nA,3\nB,5\n";
    /// let t = table::parse(csv.as_bytes(), "long.csv".as_ref(), &Columns { id: Some("id".into()), ..Columns::default() })?;
    /// assert!(t.series.iter().all(|s| !s.is_empty())); // a series has at least one row
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// `series "A"` in the long format, else `the series`.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Columns, table};
    /// let csv = "id,y\nA,1\nA,2\nA,3\nB,5\n";
    /// let t = table::parse(csv.as_bytes(), "long.csv".as_ref(), &Columns { id: Some("id".into()), ..Columns::default() })?;
    /// assert_eq!(t.series[1].name(), "series \"B\"");
    /// let single = table::parse(b"y\n1\n2\n", "one.csv".as_ref(), &Columns::default())?;
    /// assert_eq!(single.series[0].name(), "the series");
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn name(&self) -> String {
        self.id.as_ref().map_or_else(|| "the series".to_string(), |id| format!("series \"{id}\""))
    }
}

/// The series of a file and the columns they came from.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::table;
/// let t = table::parse(b"date;value\n2024-01-01;1,5\n2024-01-02;2,5\n", "d.csv".as_ref(), &Default::default())?;
/// assert_eq!((t.date_format.as_deref(), t.target_index), (Some("%Y-%m-%d"), 2));
/// assert_eq!(t.series[0].dates.as_deref(), Some(&["2024-01-01".to_string(), "2024-01-02".to_string()][..]));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The file (named in errors).
    pub path: PathBuf,
    /// The target column's name.
    pub target: String,
    /// Its 1-based column number.
    pub target_index: usize,
    /// The feature columns.
    pub features: Vec<String>,
    /// The date column, if any.
    pub date: Option<String>,
    /// The id column, if any.
    pub id: Option<String>,
    /// One series, or one per id in order of first appearance.
    pub series: Vec<Series>,
    /// The strftime pattern the dates were read with (`None`: no date column, or labels).
    pub date_format: Option<String>,
    /// What the reader changed or doubts (gaps in the dates, values filled, dates kept as
    /// labels), one line each, naming the file.
    pub warnings: Vec<String>,
}

impl Table {
    /// `2 (value)`: how errors name the target column.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::table;
    /// let t = table::parse(b"date,visitors\n2024-01-01,3\n2024-01-02,4\n", "v.csv".as_ref(), &Default::default())?;
    /// assert_eq!(t.target_column(), "2 (visitors)");
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn target_column(&self) -> String {
        format!("{} ({})", self.target_index, self.target)
    }

    /// The columns, as they would be asked for again.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::{Columns, table};
    /// // the columns were found, not given: `columns` says which, to read another file the same way
    /// let t = table::parse(b"date,visitors\n2024-01-01,3\n2024-01-02,4\n", "v.csv".as_ref(), &Columns::default())?;
    /// let found = t.columns();
    /// assert_eq!((found.target.as_deref(), found.date.as_deref()), (Some("visitors"), Some("date")));
    /// let again = table::parse(b"date,visitors\n2024-02-01,5\n", "w.csv".as_ref(), &found)?;
    /// assert_eq!(again.series[0].values, [5.0]);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn columns(&self) -> Columns {
        Columns {
            target: Some(self.target.clone()),
            features: self.features.clone(),
            date: self.date.clone(),
            id: self.id.clone(),
        }
    }
}

const DATE_NAMES: [&str; 10] =
    ["date", "ds", "time", "timestamp", "datetime", "year", "month", "week", "day", "period"];

/// Reads `path`.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read, [`Error::Data`] naming the line and column of
/// the first problem.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Columns, table};
/// let t = table::read("data/sunspots_yearly.csv".as_ref(), &Columns::default())?; // bundled
/// assert_eq!(t.series.len(), 1);
/// assert!(t.series[0].len() > 300);
/// assert!(table::read("data/missing.csv".as_ref(), &Columns::default()).is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn read(path: &Path, columns: &Columns) -> Result<Table> {
    read_with(path, columns, &ReadOptions::default())
}

/// Reads `path` as `options` say.
///
/// # Errors
/// As [`read()`].
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Fill, ReadOptions, table};
/// let path = std::env::temp_dir().join(format!("rnn-doc-read-with-{}.csv", std::process::id()));
/// std::fs::write(&path, "t;y\n1;1,5\n2;\n3;3,5\n")?; // semicolons, decimal commas, a gap
/// let options = ReadOptions { fill: Fill::Linear, ..ReadOptions::default() };
/// let t = table::read_with(&path, &Default::default(), &options)?;
/// assert_eq!(t.series[0].values, [1.5, 2.5, 3.5]);
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_with(path: &Path, columns: &Columns, options: &ReadOptions) -> Result<Table> {
    let text = std::fs::read(path).map_err(|err| Error::Io { path: path.to_path_buf(), err })?;
    parse_with(&text, path, columns, options)
}

/// Reads CSV `bytes` with the default [`ReadOptions`] (sniffed delimiter, detected dates, no
/// fill); `path` names them in errors.
///
/// # Errors
/// As [`read()`].
///
/// # Example
/// ```
/// use rnn::tasks::forecast::table;
/// let t = table::parse(b"month,value\n2024-01,1\n2024-02,2\n", "m.csv".as_ref(), &Default::default())?;
/// assert_eq!((t.date.as_deref(), t.series[0].values.clone()), (Some("month"), vec![1.0, 2.0]));
/// let err = table::parse(b"month,value\n2024-01,x\n", "m.csv".as_ref(), &Default::default()).unwrap_err();
/// assert!(err.to_string().starts_with("m.csv: line 2"), "{err}");
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn parse(bytes: &[u8], path: &Path, columns: &Columns) -> Result<Table> {
    parse_with(bytes, path, columns, &ReadOptions::default())
}

/// What to do with a file in another encoding than UTF-8 (Excel writes Windows-1252).
const LATIN1: &str = ": a Latin-1 or Windows-1252 file reads once converted to UTF-8 (iconv -f cp1252 -t utf-8)";

/// Reads CSV `bytes` as `options` say; `path` names them in errors.
///
/// # Errors
/// As [`read()`].
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Fill, ReadOptions, table};
/// let csv = b"date,y\n2024-01-01,1\n2024-01-02,NA\n2024-01-03,3\n";
/// assert!(table::parse_with(csv, "d.csv".as_ref(), &Default::default(), &ReadOptions::default()).is_err());
/// let filled = ReadOptions { fill: Fill::Previous, ..ReadOptions::default() };
/// let t = table::parse_with(csv, "d.csv".as_ref(), &Default::default(), &filled)?;
/// assert_eq!(t.series[0].values, [1.0, 1.0, 3.0]);
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn parse_with(bytes: &[u8], path: &Path, columns: &Columns, options: &ReadOptions) -> Result<Table> {
    let fail = |line: Option<usize>, column: Option<String>, msg: String| Error::data(path, line, column, msg);
    let delimiter = options.delimiter.unwrap_or_else(|| read::sniff_delimiter(bytes));
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).delimiter(delimiter).trim(csv::Trim::All).from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| match e.kind() {
            csv::ErrorKind::Utf8 { .. } => {
                fail(Some(1), None, format!("the header row is not valid UTF-8 text{LATIN1}"))
            }
            _ => fail(Some(1), None, format!("cannot read the header row ({e})")),
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(fail(Some(1), None, "the file is empty: expected a header row naming the columns".into()));
    }
    // a file without a header row: its first row of values read as column names
    let value_like = |h: &String| {
        matches!(read::number(h, read::Decimal::Point), Ok(read::Cell::Value(_)))
            || matches!(read::number(h, read::Decimal::Comma), Ok(read::Cell::Value(_)))
            || !matches!(super::dates::detect(std::slice::from_ref(h)), super::dates::Detected::Unknown { .. })
    };
    if columns.target.is_none() && headers.iter().all(value_like) {
        let cells: Vec<String> = headers.iter().map(|h| format!("\"{h}\"")).collect();
        return Err(fail(
            Some(1),
            None,
            format!(
                "the first row holds values ({}), not column names: the file needs a header row naming its columns, \
                 e.g. date,value",
                cells.join(", ")
            ),
        ));
    }
    let find = |name: &str, what: &str| -> Result<usize> {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            fail(
                Some(1),
                None,
                format!("no {what} column \"{name}\" in the header (the columns are: {})", headers.join(", ")),
            )
        })
    };
    let id = columns.id.as_deref().map(|c| find(c, "id")).transpose()?;
    let date = match &columns.date {
        Some(c) => Some(find(c, "date")?),
        None => headers.iter().position(|h| DATE_NAMES.contains(&h.to_lowercase().as_str())).filter(|&i| Some(i) != id),
    };
    let features: Vec<usize> = columns.features.iter().map(|c| find(c, "feature")).collect::<Result<_>>()?;
    let target = match &columns.target {
        Some(c) => find(c, "target")?,
        None => {
            let free: Vec<usize> =
                (0..headers.len()).filter(|i| Some(*i) != id && Some(*i) != date && !features.contains(i)).collect();
            match free.as_slice() {
                [one] => *one,
                [] => return Err(fail(Some(1), None, "no column left to forecast: name one with --column".into())),
                several => match several.iter().find(|&&i| ["value", "y"].contains(&headers[i].as_str())) {
                    Some(&i) => i,
                    None => {
                        let names: Vec<&str> = several.iter().map(|&i| headers[i].as_str()).collect();
                        return Err(fail(
                            Some(1),
                            None,
                            format!(
                                "several columns could be forecast ({}): choose one with --column",
                                names.join(", ")
                            ),
                        ));
                    }
                },
            }
        }
    };
    if features.contains(&target) {
        return Err(fail(Some(1), None, format!("\"{}\" is both the target and a feature", headers[target])));
    }
    let col = |i: usize| format!("{} ({})", i + 1, headers[i]);
    let numeric: Vec<usize> = std::iter::once(target).chain(features.iter().copied()).collect();

    let mut raw: Vec<Raw> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut last_line = 1;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(last_line + 1, |p| p.line() as usize);
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                        "{len} cells but the header has {expected_len} (cells separated by {})",
                        read::delimiter_name(delimiter)
                    ),
                    csv::ErrorKind::Utf8 { .. } => format!("not valid UTF-8 text{LATIN1}"),
                    _ => e.to_string(),
                };
                return Err(fail(Some(line), None, msg));
            }
        }
        let line = record.position().map_or(last_line + 1, |p| p.line() as usize);
        last_line = line;
        if record.iter().all(str::is_empty) {
            continue; // a blank line
        }
        let key = id.map(|i| record.get(i).unwrap_or("").to_string());
        if let (Some(i), Some("")) = (id, key.as_deref()) {
            return Err(fail(Some(line), Some(col(i)), "empty series id".into()));
        }
        let k = match raw.iter().position(|s| s.id == key) {
            Some(k) => k,
            None => {
                raw.push(Raw { id: key, dates: date.map(|_| Vec::new()), cells: Vec::new(), lines: Vec::new() });
                raw.len() - 1
            }
        };
        let s = &mut raw[k];
        if let (Some(d), Some(ds)) = (date, s.dates.as_mut()) {
            let cell = record.get(d).unwrap_or("");
            if cell.is_empty() {
                return Err(fail(Some(line), Some(col(d)), "empty date".into()));
            }
            ds.push(cell.to_string());
        }
        s.cells.push(numeric.iter().map(|&i| record.get(i).unwrap_or("").to_string()).collect());
        s.lines.push(line);
    }
    if raw.is_empty() {
        return Err(fail(Some(last_line), None, "no data rows after the header".into()));
    }
    let mut table = Table {
        path: path.to_path_buf(),
        target: headers[target].clone(),
        target_index: target + 1,
        features: features.iter().map(|&i| headers[i].clone()).collect(),
        date: date.map(|i| headers[i].clone()),
        id: id.map(|i| headers[i].clone()),
        series: Vec::new(),
        date_format: None,
        warnings: Vec::new(),
    };
    let names: Vec<String> = numeric.iter().map(|&i| col(i)).collect();
    let date_col = date.map(col);
    clean::finish(&mut table, raw, &names, date_col, options)?;
    Ok(table)
}

/// The cells of one series as read, before numbers, dates and fills.
pub(super) struct Raw {
    pub(super) id: Option<String>,
    pub(super) dates: Option<Vec<String>>,
    /// Per row: the target's cell, then each feature's.
    pub(super) cells: Vec<Vec<String>>,
    pub(super) lines: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str, columns: &Columns) -> String {
        parse(text.as_bytes(), Path::new("d.csv"), columns).unwrap_err().to_string()
    }

    #[test]
    fn reads_wide_and_long() {
        let t = parse(b"date,value\n2000,1\n2001,2.5\n", Path::new("d.csv"), &Columns::default()).unwrap();
        assert_eq!((t.target.as_str(), t.date.as_deref()), ("value", Some("date")));
        assert_eq!(t.series[0].values, [1.0, 2.5]);
        assert_eq!(t.series[0].lines, [2, 3]);
        let long = "unique_id,ds,y\nA,2000,1\nB,2000,5\nA,2001,2\nB,2001,6\n";
        let c = Columns { id: Some("unique_id".into()), ..Columns::default() };
        let t = parse(long.as_bytes(), Path::new("d.csv"), &c).unwrap();
        assert_eq!(t.series.len(), 2);
        assert_eq!(t.series[1].values, [5.0, 6.0]);
        assert_eq!(t.series[1].dates.as_deref().unwrap(), ["2000", "2001"]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let c = Columns::default();
        assert_eq!(err("", &c), "d.csv: line 1: the file is empty: expected a header row naming the columns");
        assert_eq!(err("date,value\n", &c), "d.csv: line 1: no data rows after the header");
        assert_eq!(err("date,value\n2000,1\n2001,x\n", &c), "d.csv: line 3, column 2 (value): \"x\" is not a number");
        assert!(err("date,value\n2000,1\n2001,\n", &c).starts_with("d.csv: line 3, column 2 (value): empty cell"));
        assert!(
            err("date,value\n2000,NaN\n", &c).starts_with("d.csv: line 2, column 2 (value): \"NaN\": a missing value")
        );
        assert!(err("date,value\n2000,inf\n", &c).starts_with("d.csv: line 2, column 2 (value): \"inf\" is inf"));
        assert!(err("date,value\n2000,1,3\n", &c).starts_with("d.csv: line 2: 3 cells but the header has 2"));
        let missing = Columns { target: Some("sales".into()), ..Columns::default() };
        assert!(err("date,value\n2000,1\n", &missing).starts_with("d.csv: line 1: no target column \"sales\""));
        // newest first is read in reverse; out of order otherwise is refused
        let down = parse(b"date,value\n2001,1\n2000,2\n", Path::new("d.csv"), &c).unwrap();
        assert_eq!((down.series[0].values.clone(), down.series[0].lines.clone()), (vec![2.0, 1.0], vec![3, 2]));
        assert!(
            err("date,value\n2000,1\n2002,2\n2001,3\n", &c).starts_with("d.csv: line 4, column 1 (date): date 2001")
        );
        assert!(err("date,a,b\n2001,1,2\n", &c).contains("choose one with --column"));
        // Windows-1252 (Excel's "CSV"): the header's or a row's bytes, and what to do
        for (bytes, line) in [(&b"date,Umsatz \x80\n2001,1\n"[..], 1), (b"date,y\n2001,1\n2002,\x802\n", 3)] {
            let e = parse(bytes, Path::new("d.csv"), &c).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("d.csv: line {line}: ")) && e.ends_with("(iconv -f cp1252 -t utf-8)"),
                "{e}"
            );
        }
    }
}
