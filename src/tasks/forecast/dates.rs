//! Dates of a series: parsing the common spellings, inferring the step between rows, and
//! continuing a series past its end (for the rows of a forecast).
//!
//! Understood: `YYYY` (yearly), `YYYY-MM` (monthly), `YYYY-MM-DD` (daily, weekly, ...) and
//! `YYYY-MM-DD HH:MM[:SS]` or with a `T` (hourly, ...); `/` may stand for `-`. Anything else is
//! kept as a label (plots show it) and a forecast numbers its rows instead.

/// How a date is spelled, and so which unit its step is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateFormat {
    /// `1700`: the step counts years.
    Year,
    /// `1949-01`: the step counts months.
    Month,
    /// `2012-01-31`: the step counts days.
    Day,
    /// `2012-01-31 13:00[:00]`: the step counts seconds.
    DateTime {
        /// Whether seconds are written.
        seconds: bool,
        /// The separator between date and time (`' '` or `'T'`).
        sep: char,
    },
}

/// A date as a position on its format's time line (years, months, days or seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// The spelling.
    pub format: DateFormat,
    /// Years, months since year 0, days since 1970-01-01 or seconds since then.
    pub ordinal: i64,
    /// `/` instead of `-` between date parts.
    pub slash: bool,
}

/// Parses one of the spellings above; `None` for anything else.
pub fn parse(s: &str) -> Option<Date> {
    let s = s.trim();
    let slash = s.contains('/');
    let norm = s.replace('/', "-");
    let (date, time, sep) = match norm.find([' ', 'T']) {
        Some(i) => (&norm[..i], Some(&norm[i + 1..]), norm[i..].chars().next().unwrap_or(' ')),
        None => (norm.as_str(), None, ' '),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let num = |p: &str, len: std::ops::RangeInclusive<usize>| -> Option<i64> {
        (len.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok()).flatten()
    };
    let year = num(parts.first()?, 4..=4)?;
    let (format, ordinal) = match (parts.len(), time) {
        (1, None) => (DateFormat::Year, year),
        (2, None) => {
            let month = num(parts[1], 1..=2).filter(|m| (1..=12).contains(m))?;
            (DateFormat::Month, year * 12 + month - 1)
        }
        (3, _) => {
            let month = num(parts[1], 1..=2).filter(|m| (1..=12).contains(m))?;
            let day = num(parts[2], 1..=2).filter(|&d| d >= 1 && d <= days_in_month(year, month))?;
            let days = days_from_civil(year, month, day);
            match time {
                None => (DateFormat::Day, days),
                Some(t) => {
                    let hms: Vec<&str> = t.split(':').collect();
                    if !(2..=3).contains(&hms.len()) {
                        return None;
                    }
                    let h = num(hms[0], 1..=2).filter(|h| *h < 24)?;
                    let m = num(hms[1], 2..=2).filter(|m| *m < 60)?;
                    let sec = if hms.len() == 3 { num(hms[2], 2..=2).filter(|s| *s < 60)? } else { 0 };
                    (DateFormat::DateTime { seconds: hms.len() == 3, sep }, days * 86_400 + h * 3600 + m * 60 + sec)
                }
            }
        }
        _ => return None,
    };
    Some(Date { format, ordinal, slash })
}

impl Date {
    /// The date `steps` units later.
    pub fn plus(self, steps: i64) -> Date {
        Date { ordinal: self.ordinal + steps, ..self }
    }

    /// Writes the date in its own spelling.
    pub fn format(&self) -> String {
        let dash = if self.slash { '/' } else { '-' };
        match self.format {
            DateFormat::Year => format!("{}", self.ordinal),
            DateFormat::Month => {
                format!("{:04}{dash}{:02}", self.ordinal.div_euclid(12), self.ordinal.rem_euclid(12) + 1)
            }
            DateFormat::Day => {
                let (y, m, d) = civil_from_days(self.ordinal);
                format!("{y:04}{dash}{m:02}{dash}{d:02}")
            }
            DateFormat::DateTime { seconds, sep } => {
                let (y, m, d) = civil_from_days(self.ordinal.div_euclid(86_400));
                let s = self.ordinal.rem_euclid(86_400);
                let time = if seconds {
                    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                } else {
                    format!("{:02}:{:02}", s / 3600, s / 60 % 60)
                };
                format!("{y:04}{dash}{m:02}{dash}{d:02}{sep}{time}")
            }
        }
    }
}

/// The step of a series of dates: the most common positive difference between neighbours over
/// the last 50 rows, when every date parses in one spelling and more than one date is given.
pub fn infer_step(dates: &[String]) -> Option<(Date, i64)> {
    let parsed: Vec<Date> = dates.iter().map(|d| parse(d)).collect::<Option<_>>()?;
    let last = *parsed.last()?;
    if parsed.len() < 2 || parsed.iter().any(|d| d.format != last.format) {
        return None;
    }
    let tail = &parsed[parsed.len().saturating_sub(50)..];
    let mut diffs: Vec<i64> = tail.windows(2).map(|w| w[1].ordinal - w[0].ordinal).filter(|d| *d > 0).collect();
    diffs.sort_unstable();
    let mut best = (0, 0usize);
    for chunk in diffs.chunk_by(|a, b| a == b) {
        if chunk.len() > best.1 {
            best = (chunk[0], chunk.len());
        }
    }
    (best.1 > 0).then_some((last, best.0))
}

/// The `n` dates after the last of `dates`, one step apart, or `None` when the step cannot be
/// inferred.
pub fn continue_dates(dates: &[String], n: usize) -> Option<Vec<String>> {
    let (last, step) = infer_step(dates)?;
    Some((1..=n as i64).map(|k| last.plus(k * step).format()).collect())
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn continues_each_spelling() {
        assert_eq!(continue_dates(&strings(&["2007", "2008"]), 2).unwrap(), ["2009", "2010"]);
        assert_eq!(continue_dates(&strings(&["1960-11", "1960-12"]), 2).unwrap(), ["1961-01", "1961-02"]);
        assert_eq!(continue_dates(&strings(&["2016-02-27", "2016-02-28"]), 2).unwrap(), ["2016-02-29", "2016-03-01"]);
        assert_eq!(continue_dates(&strings(&["2020-12-24", "2020-12-31"]), 1).unwrap(), ["2021-01-07"]);
        assert_eq!(
            continue_dates(&strings(&["2020-01-01 22:00", "2020-01-01 23:00"]), 1).unwrap(),
            ["2020-01-02 00:00"]
        );
        assert_eq!(continue_dates(&strings(&["2020/01/30", "2020/01/31"]), 1).unwrap(), ["2020/02/01"]);
    }

    #[test]
    fn unknown_or_mixed_spellings_give_no_step() {
        assert!(continue_dates(&strings(&["Q1", "Q2"]), 1).is_none());
        assert!(continue_dates(&strings(&["2020", "2020-02"]), 1).is_none());
        assert!(continue_dates(&strings(&["2020"]), 1).is_none());
        assert!(parse("2021-02-29").is_none());
        assert!(parse("12.5").is_none());
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 59, 10_957, 800_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }
}
