//! How a CSV file is read: its delimiter (given or sniffed), its numbers (decimal points or
//! decimal commas), its missing values and how they are filled.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How missing values (empty cells, `NA`, `NaN`, `null`, ... and dates absent from a regular
/// date column) are handled.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{Fill, ReadOptions, table};
/// let csv = b"y\n1\nNA\n5\n";
/// let read = |fill: Fill| table::parse_with(csv, "y.csv".as_ref(), &Default::default(), &ReadOptions { fill, ..ReadOptions::default() });
/// assert!(read(Fill::None).is_err()); // the default: a missing value is an error naming its line
/// assert_eq!(read(Fill::Previous)?.series[0].values, [1.0, 1.0, 5.0]);
/// assert_eq!(read(Fill::Linear)?.series[0].values, [1.0, 3.0, 5.0]);
/// assert_eq!("linear".parse::<Fill>()?, Fill::Linear);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// Refused: the first missing value is an error naming its line.
    #[default]
    None,
    /// The last value before (the first value after, for leading ones).
    Previous,
    /// Linear interpolation between the values around (the nearest one at either end).
    Linear,
    /// The value one season back (linear where there is none).
    Seasonal,
}

impl fmt::Display for Fill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fill::None => "none",
            Fill::Previous => "previous",
            Fill::Linear => "linear",
            Fill::Seasonal => "seasonal",
        })
    }
}

impl FromStr for Fill {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(Fill::None),
            "previous" => Ok(Fill::Previous),
            "linear" => Ok(Fill::Linear),
            "seasonal" => Ok(Fill::Seasonal),
            _ => Err(Error::Config(format!("unknown fill `{s}` (expected none, previous, linear or seasonal)"))),
        }
    }
}

/// How to read a file besides which columns: all `None`/default means "find out".
///
/// # Example
/// ```
/// use rnn::tasks::forecast::{ReadOptions, table};
/// // day/month/year dates that could be read either way, said explicitly
/// let csv = b"date|y\n01/02/2024|1\n02/02/2024|2\n";
/// let options = ReadOptions { delimiter: Some(b'|'), date_format: Some("%d/%m/%Y".into()), ..ReadOptions::default() };
/// let t = table::parse_with(csv, "d.csv".as_ref(), &Default::default(), &options)?;
/// assert_eq!((t.series[0].values.clone(), t.date_format.as_deref()), (vec![1.0, 2.0], Some("%d/%m/%Y")));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadOptions {
    /// The cell delimiter; `None` sniffs `,`, `;`, tab or `|` from the header row.
    #[serde(default)]
    pub delimiter: Option<u8>,
    /// The strftime pattern of the date column (e.g. `%m/%d/%Y`); `None` detects it.
    #[serde(default)]
    pub date_format: Option<String>,
    /// How missing values are filled.
    #[serde(default)]
    pub fill: Fill,
    /// The numbers' decimal mark; `None` finds it from the cells (see [`sniff_decimal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal: Option<Decimal>,
    /// The season of [`Fill::Seasonal`]; `None` takes it from the dates' step (12 for months,
    /// 4 for quarters, 7 for days, 24 for hours, 52 for weeks).
    #[serde(skip)]
    pub season: Option<usize>,
}

/// The delimiter of a file: the most frequent of `,`, `;`, tab and `|` in its first line outside
/// quotes (`,` when none occurs; on a tie, the earlier in that list).
pub fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|&b| b == b'\n').find(|l| !l.iter().all(u8::is_ascii_whitespace)).unwrap_or(&[]);
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &b in first {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            b'|' if !quoted => counts[3] += 1,
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0);
    if counts[best] == 0 { b',' } else { [b',', b';', b'\t', b'|'][best] }
}

/// A delimiter written for messages: `"|"`, or `tab`.
pub fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tab".to_string(),
        d => format!("\"{}\"", d as char),
    }
}

/// The decimal mark of a file's numbers; the other of `.` and `,` may group thousands
/// (`1,234.5`, `1.234,5`).
///
/// # Example
/// ```
/// use rnn::tasks::forecast::read::{Cell, Decimal, number};
/// assert_eq!(number("1,234.5", Decimal::Point), Ok(Cell::Value(1234.5)));
/// assert_eq!(number("1.234,5", Decimal::Comma), Ok(Cell::Value(1234.5)));
/// assert!(number("12,34", Decimal::Point).is_err()); // not a grouping of thousands
/// assert_eq!("comma".parse::<Decimal>()?, Decimal::Comma);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decimal {
    /// `2.5`, thousands grouped by commas.
    Point,
    /// `2,5`, thousands grouped by points.
    Comma,
}

impl Decimal {
    /// The mark itself.
    pub fn mark(self) -> char {
        match self {
            Decimal::Point => '.',
            Decimal::Comma => ',',
        }
    }

    /// The other of `.` and `,`: the thousands separator.
    pub fn grouping(self) -> char {
        match self {
            Decimal::Point => ',',
            Decimal::Comma => '.',
        }
    }
}

impl FromStr for Decimal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "point" | "." => Ok(Decimal::Point),
            "comma" | "," => Ok(Decimal::Comma),
            _ => Err(Error::Config(format!("unknown decimal mark `{s}` (expected point or comma)"))),
        }
    }
}

/// What the `cells` (each with its line) say of their decimal mark, the first telling cell
/// deciding:
/// - one holding both `.` and `,` (`1,234.5`): the later of the two is the mark;
/// - a comma followed by other than three digits (`2,5`, `1,25`): comma;
/// - two commas (`1,234,567`), or a point that is no grouping of thousands (`2.5`): point;
/// - otherwise every comma is followed by exactly three digits (`1,234`): 1.234 or 1234 cannot
///   be told apart, and the error is that cell and its line.
///
/// No comma at all: point.
///
/// # Errors
/// The ambiguous cell and its line.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::read::{Decimal, sniff_decimal};
/// let cells = |c: &[&'static str]| c.iter().map(|&c| (c, 2)).collect::<Vec<_>>();
/// assert_eq!(sniff_decimal(cells(&["1", "2,5"])), Ok(Decimal::Comma));
/// assert_eq!(sniff_decimal(cells(&["1,234", "2.5"])), Ok(Decimal::Point));
/// assert_eq!(sniff_decimal(cells(&["1,234.5"])), Ok(Decimal::Point));
/// assert_eq!(sniff_decimal(cells(&["1.234,5"])), Ok(Decimal::Comma));
/// assert_eq!(sniff_decimal(cells(&["7"])), Ok(Decimal::Point));
/// assert_eq!(sniff_decimal(cells(&["1,234", "5,678"])), Err(("1,234", 2)));
/// ```
pub fn sniff_decimal<'a>(
    cells: impl IntoIterator<Item = (&'a str, usize)>,
) -> std::result::Result<Decimal, (&'a str, usize)> {
    let mut three = None;
    for (cell, line) in cells {
        let body = cell.trim_start_matches(['-', '+']);
        if !body.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',') || !body.contains([',', '.']) {
            continue;
        }
        match (body.rfind(','), body.rfind('.')) {
            (Some(c), Some(p)) => return Ok(if p > c { Decimal::Point } else { Decimal::Comma }),
            (Some(c), None) if body.len() - c - 1 != 3 => return Ok(Decimal::Comma),
            (Some(_), None) if body.matches(',').count() > 1 => return Ok(Decimal::Point),
            (Some(_), None) => three = three.or(Some((cell, line))),
            (None, Some(_)) if !is_grouped(body, '.') => return Ok(Decimal::Point),
            (None, _) => {}
        }
    }
    match three {
        Some(ambiguous) => Err(ambiguous),
        None => Ok(Decimal::Point),
    }
}

/// Whether `digits` (no sign) is a grouping of thousands by `sep`: `1,234`, `12,345,678`.
fn is_grouped(digits: &str, sep: char) -> bool {
    let mut groups = digits.split(sep);
    let first = groups.next().unwrap_or("");
    let rest: Vec<&str> = groups.collect();
    !rest.is_empty()
        && (1..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_digit())
        && rest.iter().all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// What a numeric cell holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    /// A finite number.
    Value(f64),
    /// A missing value.
    Missing,
}

/// Spellings of a missing value (compared without case).
pub const MISSING: [&str; 9] = ["", "na", "n/a", "nan", "null", "none", "#n/a", "?", "-"];

/// Reads a numeric cell whose decimal mark is `decimal`; the other of `.` and `,` may group
/// its thousands (`1,234.5` with a point, `1.234,5` with a comma).
///
/// # Errors
/// The message (without file or line) for a cell that is neither a number nor a spelling of a
/// missing value.
pub fn number(cell: &str, decimal: Decimal) -> std::result::Result<Cell, String> {
    if MISSING.iter().any(|m| cell.eq_ignore_ascii_case(m)) {
        return Ok(Cell::Missing);
    }
    // a unit written into the cells (`12%`, `$1,234.5`): say so when the number without it reads
    const UNITS: [char; 5] = ['%', '€', '$', '£', '¥'];
    let bare = cell.trim_end_matches(UNITS).trim_start_matches(UNITS).trim();
    if bare.len() < cell.len() {
        return Err(match number(bare, decimal) {
            Ok(Cell::Value(_)) => format!("\"{cell}\" is not a number: remove the unit sign from the column's cells"),
            _ => format!("\"{cell}\" is not a number"),
        });
    }
    let (mark, group) = (decimal.mark(), decimal.grouping());
    let sign = cell.len() - cell.trim_start_matches(['-', '+']).len();
    let (int, frac) = match cell[sign..].split_once(mark) {
        Some((int, frac)) => (int, Some(frac)),
        None => (&cell[sign..], None),
    };
    let int = if int.contains(group) {
        if !is_grouped(int, group) {
            return Err(match decimal {
                Decimal::Comma if frac.is_none() && !int.contains(',') => format!(
                    "\"{cell}\" has a decimal point but the file's numbers have decimal commas: write it with a comma"
                ),
                Decimal::Comma => {
                    format!("\"{cell}\" is not a number (its points must group thousands, as in 1.234,5)")
                }
                Decimal::Point => format!(
                    "\"{cell}\" is not a number (the file's decimal mark is a point; its commas must group thousands, \
                     as in 1,234.5)"
                ),
            });
        }
        int.replace(group, "")
    } else {
        int.to_string()
    };
    let text = match frac {
        Some(frac) => format!("{}{int}.{frac}", &cell[..sign]),
        None => format!("{}{int}", &cell[..sign]),
    };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Cell::Value(v)),
        Ok(v) => Err(format!("\"{cell}\" is {v}: only finite numbers can be forecast")),
        Err(_) => Err(format!("\"{cell}\" is not a number")),
    }
}

/// Fills the NaNs of `values` with `fill` (`season` for [`Fill::Seasonal`]). Nothing to do for
/// [`Fill::None`].
///
/// # Errors
/// A message when every value is missing.
pub fn fill_missing(values: &mut [f64], fill: Fill, season: usize) -> std::result::Result<(), String> {
    if fill == Fill::None || values.iter().all(|v| !v.is_nan()) {
        return Ok(());
    }
    let known: Vec<usize> = (0..values.len()).filter(|&i| !values[i].is_nan()).collect();
    let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
        return Err("every value is missing: nothing to fill from".into());
    };
    let original = values.to_vec();
    let linear = |i: usize| -> f64 {
        if i < first {
            return original[first];
        }
        if i > last {
            return original[last];
        }
        let before = (0..i).rev().find(|&j| !original[j].is_nan()).unwrap_or(first);
        let after = (i + 1..original.len()).find(|&j| !original[j].is_nan()).unwrap_or(last);
        if after == before {
            return original[before];
        }
        let w = (i - before) as f64 / (after - before) as f64;
        original[before] + w * (original[after] - original[before])
    };
    for i in 0..values.len() {
        if !values[i].is_nan() {
            continue;
        }
        values[i] = match fill {
            Fill::None => continue,
            Fill::Previous if i < first => original[first],
            Fill::Previous => values[i - 1],
            Fill::Linear => linear(i),
            Fill::Seasonal if season >= 2 && i >= season && !values[i - season].is_nan() => values[i - season],
            Fill::Seasonal => linear(i),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_and_reads_numbers() {
        assert_eq!(sniff_delimiter(b"date;value\n2020;1,5\n"), b';');
        assert_eq!(sniff_delimiter(b"date\tvalue\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a;b\",c\n"), b',');
        assert_eq!(sniff_delimiter(b"value\n1\n"), b',');
        assert_eq!(sniff_delimiter(b"date|value\n2020-01-01|1\n"), b'|');
        // a tie goes to the earlier of `,` `;` tab `|`
        assert_eq!(sniff_delimiter(b"a|b;c\n"), b';');
        let (point, comma) = (Decimal::Point, Decimal::Comma);
        assert_eq!(number("1.234,5", comma), Ok(Cell::Value(1234.5)));
        assert_eq!(number("-1.234.567", comma), Ok(Cell::Value(-1234567.0)));
        assert_eq!(number("-12,345,678.25", point), Ok(Cell::Value(-12345678.25)));
        assert_eq!(number("2,5", comma), Ok(Cell::Value(2.5)));
        assert_eq!(number("1e-3", point), Ok(Cell::Value(0.001)));
        assert_eq!(number("NA", point), Ok(Cell::Missing));
        assert!(number("1.5", comma).unwrap_err().contains("has a decimal point"));
        assert!(number("1,5", point).unwrap_err().contains("its commas must group thousands"));
        assert!(number("1,2345.5", point).is_err() && number("1234,567.5", point).is_err());
        assert!(number("1..2", point).is_err() && number("$", point).unwrap_err().ends_with("is not a number"));
        assert!(number("$1,234.5", point).unwrap_err().contains("remove the unit sign"));
        assert!(number("12,5 %", comma).unwrap_err().contains("remove the unit sign"));
        let sniff = |c: &[&'static str]| sniff_decimal(c.iter().enumerate().map(|(i, &c)| (c, i + 2)));
        assert_eq!(sniff(&["NA", "-2,5"]), Ok(comma));
        assert_eq!(sniff(&["1,234", "1,234,567"]), Ok(point));
        assert_eq!(sniff(&["1.234", "5"]), Ok(point));
        assert_eq!(sniff(&["3", "1,234", "9,876"]), Err(("1,234", 3)));
    }

    #[test]
    fn fills() {
        let n = f64::NAN;
        let run = |v: &[f64], f, m| {
            let mut v = v.to_vec();
            fill_missing(&mut v, f, m).unwrap();
            v
        };
        assert_eq!(run(&[n, 1.0, n, 3.0, n], Fill::Previous, 1), [1.0, 1.0, 1.0, 3.0, 3.0]);
        assert_eq!(run(&[n, 1.0, n, n, 4.0, n], Fill::Linear, 1), [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
        assert_eq!(run(&[1.0, 2.0, 3.0, 1.5, n, 3.5], Fill::Seasonal, 3), [1.0, 2.0, 3.0, 1.5, 2.0, 3.5]);
        assert!(fill_missing(&mut [n, n], Fill::Linear, 1).is_err());
    }
}
