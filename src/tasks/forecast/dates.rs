//! Dates of a series: parsing them (with `jiff`), inferring the step between rows, finding gaps
//! and continuing a series past its end (for the rows of a forecast).
//!
//! A date column is read with one strftime pattern for all its cells: the one given, or the
//! first of [`KNOWN`] (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, with a time `HH:MM[:SS]` after a space
//! or a `T`; `/` may stand for `-`) that reads every cell. Day-first and month-first spellings
//! ([`GUESSES`], e.g. `01/31/2020`) are taken only when exactly one of them reads every cell;
//! when both do (`01/02/2020`), the caller asks for a pattern. The calendar arithmetic is
//! `jiff`'s.

use jiff::civil::{Date as CivilDate, DateTime};
use jiff::fmt::strtime;
use jiff::{Span, Unit};

/// The unit a date pattern counts its step in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateUnit {
    /// Years.
    Year,
    /// Months.
    Month,
    /// Days.
    Day,
    /// Seconds.
    Second,
}

/// Patterns tried when none is given: ISO 8601 and its slash variants, year first.
pub const KNOWN: [&str; 13] = [
    "%Y",
    "%Y-%m",
    "%Y/%m",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y%m%d",
];

/// Day-first and month-first patterns: used only when exactly one reads every date.
pub const GUESSES: [&str; 10] = [
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%m-%d-%Y",
    "%d-%m-%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
];

/// The unit of a pattern's finest field.
pub fn unit_of(pattern: &str) -> DateUnit {
    if ["%H", "%M", "%S", "%T", "%I"].iter().any(|f| pattern.contains(f)) {
        DateUnit::Second
    } else if ["%d", "%e", "%j", "%F"].iter().any(|f| pattern.contains(f)) {
        DateUnit::Day
    } else if ["%m", "%b", "%B", "%h"].iter().any(|f| pattern.contains(f)) {
        DateUnit::Month
    } else {
        DateUnit::Year
    }
}

/// A date read with a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// The civil date and time (midnight, the 1st or January when the pattern has no such field).
    pub dt: DateTime,
}

/// Reads `s` with strftime `pattern`; `None` when it does not match. Fields the pattern lacks
/// are the first of their range, so `%Y-%m` reads `1949-03` as 1949-03-01.
pub fn parse_with(s: &str, pattern: &str) -> Option<Date> {
    let s = s.trim();
    // four-digit years only for year-first patterns: `12` is a step number, not the year 12
    if pattern.starts_with("%Y") && !(s.len() >= 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit)) {
        return None;
    }
    let tm = strtime::parse(pattern, s).ok()?;
    let year = tm.year()?;
    let date = CivilDate::new(year, tm.month().unwrap_or(1), tm.day().unwrap_or(1)).ok()?;
    let (h, m, sec) = (tm.hour().unwrap_or(0), tm.minute().unwrap_or(0), tm.second().unwrap_or(0));
    let time = jiff::civil::Time::new(h, m, sec, 0).ok()?;
    Some(Date { dt: DateTime::from_parts(date, time) })
}

/// The first of [`KNOWN`] that reads `s`.
pub fn parse(s: &str) -> Option<(Date, &'static str)> {
    KNOWN.iter().find_map(|p| parse_with(s, p).map(|d| (d, *p)))
}

/// What a column's dates are, as [`detect`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detected {
    /// Every date reads with this pattern.
    Pattern(String),
    /// Several day/month orders read every date: the caller must choose.
    Ambiguous(Vec<&'static str>),
    /// No known pattern reads every date; `first` is the index of the first that none reads.
    Unknown {
        /// Index of the first cell no pattern reads.
        first: usize,
    },
}

/// The pattern that reads every cell of `dates` (see the module doc).
pub fn detect(dates: &[String]) -> Detected {
    let reads_all = |p: &str| dates.iter().all(|d| parse_with(d, p).is_some());
    if let Some(p) = KNOWN.iter().find(|p| reads_all(p)) {
        return Detected::Pattern((*p).to_string());
    }
    let fits: Vec<&'static str> = GUESSES.iter().copied().filter(|p| reads_all(p)).collect();
    match fits.len() {
        1 => Detected::Pattern(fits[0].to_string()),
        0 => {
            let first =
                dates.iter().position(|d| parse(d).is_none() && GUESSES.iter().all(|p| parse_with(d, p).is_none()));
            Detected::Unknown { first: first.unwrap_or(0) }
        }
        _ => Detected::Ambiguous(fits),
    }
}

impl Date {
    /// The date `k` units later (`None` past jiff's range).
    pub fn plus(self, unit: DateUnit, k: i64) -> Option<Date> {
        let span = match unit {
            DateUnit::Year => Span::new().try_years(k),
            DateUnit::Month => Span::new().try_months(k),
            DateUnit::Day => Span::new().try_days(k),
            DateUnit::Second => Span::new().try_seconds(k),
        }
        .ok()?;
        self.dt.checked_add(span).ok().map(|dt| Date { dt })
    }

    /// Whole units from `self` to `later` (`None` when not a whole number of them).
    pub fn units_until(self, unit: DateUnit, later: Date) -> Option<i64> {
        let largest = match unit {
            DateUnit::Year => Unit::Year,
            DateUnit::Month => Unit::Month,
            DateUnit::Day => Unit::Day,
            DateUnit::Second => Unit::Second,
        };
        let span = self.dt.until((largest, later.dt)).ok()?;
        let n = match unit {
            DateUnit::Year => i64::from(span.get_years()),
            DateUnit::Month => i64::from(span.get_months()),
            DateUnit::Day => i64::from(span.get_days()),
            DateUnit::Second => span.get_seconds(),
        };
        (self.plus(unit, n)? == later).then_some(n)
    }

    /// Written with `pattern`.
    pub fn format(&self, pattern: &str) -> String {
        strtime::format(pattern, self.dt).unwrap_or_default()
    }
}

/// The step of a series of dates: its unit (the coarsest that every neighbour difference is
/// whole in, so dates on the 1st of each month step in months) and the most common difference
/// over the last 50 rows. `None` for fewer than two dates or no positive difference.
pub fn infer_step(dates: &[Date], pattern: &str) -> Option<(DateUnit, i64)> {
    if dates.len() < 2 {
        return None;
    }
    let finest = unit_of(pattern);
    let units = [DateUnit::Year, DateUnit::Month, DateUnit::Day, DateUnit::Second];
    let start = units.iter().position(|u| *u == finest).unwrap_or(3);
    let tail = &dates[dates.len().saturating_sub(50)..];
    for unit in units[..=start].iter().copied() {
        let diffs: Option<Vec<i64>> = tail.windows(2).map(|w| w[0].units_until(unit, w[1])).collect();
        let Some(mut diffs) = diffs else { continue };
        diffs.retain(|d| *d > 0);
        diffs.sort_unstable();
        let mut best = (0, 0usize);
        for chunk in diffs.chunk_by(|a, b| a == b) {
            if chunk.len() > best.1 {
                best = (chunk[0], chunk.len());
            }
        }
        if best.1 > 0 {
            return Some((unit, best.0));
        }
    }
    None
}

/// A run of missing dates: between rows `after` and `after + 1`, `missing` steps are absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// Index of the row before the gap.
    pub after: usize,
    /// Steps missing (at least 1).
    pub missing: usize,
}

/// The gaps of `dates` that step by `step` units: pairs of neighbours more than one step
/// apart (a whole number of steps; other irregularities are not gaps).
pub fn gaps(dates: &[Date], unit: DateUnit, step: i64) -> Vec<Gap> {
    dates
        .windows(2)
        .enumerate()
        .filter_map(|(i, w)| {
            let d = w[0].units_until(unit, w[1])?;
            (step > 0 && d > step && d % step == 0).then(|| Gap { after: i, missing: (d / step - 1) as usize })
        })
        .collect()
}

/// `3 days`, `1 month`.
pub fn describe_step(unit: DateUnit, step: i64) -> String {
    let name = match unit {
        DateUnit::Year => "year",
        DateUnit::Month => "month",
        DateUnit::Day => "day",
        DateUnit::Second => "second",
    };
    if step == 1 { format!("1 {name}") } else { format!("{step} {name}s") }
}

/// The `n` dates after the last of `dates` (read with `pattern`, or a known one when `None`),
/// one step apart, in the same spelling; `None` when they do not parse or no step is found.
pub fn continue_dates(dates: &[String], n: usize, pattern: Option<&str>) -> Option<Vec<String>> {
    let pattern = match pattern {
        Some(p) => p.to_string(),
        None => match detect(dates) {
            Detected::Pattern(p) => p,
            _ => return None,
        },
    };
    let parsed: Vec<Date> = dates.iter().map(|d| parse_with(d, &pattern)).collect::<Option<_>>()?;
    let (unit, step) = infer_step(&parsed, &pattern)?;
    let last = *parsed.last()?;
    (1..=n as i64).map(|k| Some(last.plus(unit, k.checked_mul(step)?)?.format(&pattern))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn continues_each_spelling() {
        let c = |v: &[&str], n| continue_dates(&strings(v), n, None).unwrap();
        assert_eq!(c(&["2007", "2008"], 2), ["2009", "2010"]);
        assert_eq!(c(&["1960-11", "1960-12"], 2), ["1961-01", "1961-02"]);
        assert_eq!(c(&["2016-02-27", "2016-02-28"], 2), ["2016-02-29", "2016-03-01"]);
        assert_eq!(c(&["2020-12-24", "2020-12-31"], 1), ["2021-01-07"]);
        assert_eq!(c(&["2020-01-01 22:00", "2020-01-01 23:00"], 1), ["2020-01-02 00:00"]);
        assert_eq!(c(&["2020/01/30", "2020/01/31"], 1), ["2020/02/01"]);
        assert_eq!(c(&["2020-01-01", "2020-02-01"], 2), ["2020-03-01", "2020-04-01"]);
        assert_eq!(c(&["01/30/2020", "01/31/2020"], 1), ["02/01/2020"]);
    }

    #[test]
    fn unknown_mixed_or_ambiguous_spellings() {
        assert!(continue_dates(&strings(&["Q1", "Q2"]), 1, None).is_none());
        assert!(continue_dates(&strings(&["2020", "2020-02"]), 1, None).is_none());
        assert!(continue_dates(&strings(&["2020"]), 1, None).is_none());
        assert!(parse("2021-02-29").is_none());
        assert!(parse("12.5").is_none());
        assert_eq!(detect(&strings(&["01/02/2020", "01/03/2020"])), Detected::Ambiguous(vec!["%m/%d/%Y", "%d/%m/%Y"]));
        assert_eq!(detect(&strings(&["01/31/2020", "02/01/2020"])), Detected::Pattern("%m/%d/%Y".into()));
        assert_eq!(detect(&strings(&["2020", "x"])), Detected::Unknown { first: 1 });
    }

    #[test]
    fn finds_gaps() {
        let d: Vec<Date> =
            ["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06"].iter().map(|s| parse(s).unwrap().0).collect();
        assert_eq!(infer_step(&d, "%Y-%m-%d"), Some((DateUnit::Day, 1)));
        assert_eq!(gaps(&d, DateUnit::Day, 1), [Gap { after: 1, missing: 2 }]);
    }
}
