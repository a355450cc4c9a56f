//! From the cells of a file to series: numbers (decimal points or commas), dates (their
//! pattern, order, step and gaps) and missing values (refused or filled).

use super::dates::{self, Date, DateUnit, Detected};
use super::read::{self, Cell, Decimal, Fill, ReadOptions};
use super::table::{Raw, Series, Table};
use crate::{Error, Result};

/// At most this many gaps or filled lines are named in a warning.
const NAMED: usize = 3;

/// Fills `table.series` (and its date pattern and warnings) from the `raw` cells; `numeric`
/// names the target's and features' columns, `date_col` the date column.
pub(super) fn finish(
    table: &mut Table,
    raw: Vec<Raw>,
    numeric: &[String],
    date_col: Option<String>,
    options: &ReadOptions,
) -> Result<()> {
    let path = table.path.clone();
    let fail = |line: usize, column: Option<&String>, msg: String| Error::data(&path, Some(line), column.cloned(), msg);
    // the decimal mark: the one given, else what the cells say (the first telling one)
    let cells = || {
        raw.iter()
            .flat_map(|s| s.cells.iter().zip(&s.lines).flat_map(|(row, &l)| row.iter().map(move |c| (c.as_str(), l))))
    };
    let decimal = match options.decimal {
        Some(d) => d,
        None => read::sniff_decimal(cells()).map_err(|(cell, line)| {
            let j = raw.iter().flat_map(|s| s.cells.iter()).find_map(|row| row.iter().position(|c| c == cell));
            fail(
                line,
                j.and_then(|j| numeric.get(j)),
                format!(
                    "\"{cell}\" reads as {} with a decimal comma and as {} with a thousands separator, and no \
                     other number tells which: give the decimal mark",
                    cell.replace(',', "."),
                    cell.replace(',', "")
                ),
            )
        })?,
    };
    // the first cell whose mark is the comma, to point at when a point turns up among them
    let comma = (decimal == Decimal::Comma)
        .then(|| cells().find(|(c, _)| c.contains(',')).map(|(c, l)| (c.to_string(), l)))
        .flatten();
    let mut numbers = Vec::with_capacity(raw.len());
    for s in &raw {
        let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(s.lines.len()); numeric.len()];
        for (row, &line) in s.cells.iter().zip(&s.lines) {
            for (j, cell) in row.iter().enumerate() {
                let v = match read::number(cell, decimal) {
                    Ok(Cell::Value(v)) => v,
                    Ok(Cell::Missing) if options.fill == Fill::None => {
                        let what = if cell.is_empty() { "empty cell".to_string() } else { format!("\"{cell}\"") };
                        return Err(fail(
                            line,
                            Some(&numeric[j]),
                            format!("{what}: a missing value (fill it: previous, linear or seasonal; or drop the row)"),
                        ));
                    }
                    Ok(Cell::Missing) => f64::NAN,
                    Err(msg) => {
                        let msg = match &comma {
                            Some((c, l)) if msg.contains("decimal point") => format!("{msg} (line {l} has \"{c}\")"),
                            _ => msg,
                        };
                        return Err(fail(line, Some(&numeric[j]), msg));
                    }
                };
                columns[j].push(v);
            }
        }
        numbers.push(columns);
    }
    // the dates' pattern
    let pattern = match (&date_col, raw.first().and_then(|s| s.dates.as_ref())) {
        (Some(col), Some(_)) => date_pattern(table, &raw, col, options)?,
        _ => None,
    };
    table.date_format = pattern.clone();
    for (s, mut columns) in raw.into_iter().zip(numbers) {
        let mut series = Series { id: s.id, dates: s.dates, values: Vec::new(), features: Vec::new(), lines: s.lines };
        let mut step = None;
        let mut inserted = vec![false; series.lines.len()];
        if let (Some(p), Some(col)) = (&pattern, &date_col) {
            if newest_first(&series, p) {
                reverse(&mut series, &mut columns);
                table.warnings.push(format!(
                    "{}: column {col}: {}: the rows run newest first ({} on line {} to {} on line {}): read oldest first",
                    table.path.display(),
                    series.name(),
                    series.dates.as_ref().and_then(|d| d.last()).map_or("", String::as_str),
                    series.lines.last().copied().unwrap_or(0),
                    series.dates.as_ref().and_then(|d| d.first()).map_or("", String::as_str),
                    series.lines.first().copied().unwrap_or(0),
                ));
            }
            let parsed = check_dates(table, &series, p, col)?;
            step = dates::infer_step(&parsed, p);
            if let Some((unit, k)) = step {
                let gaps = dates::gaps(&parsed, unit, k);
                if !gaps.is_empty() {
                    warn_gaps(table, &series, &gaps, (unit, k), col, options.fill);
                    let total: usize = gaps.iter().map(|g| g.missing).sum();
                    if options.fill != Fill::None && total > series.lines.len() {
                        let g = gaps.iter().max_by_key(|g| g.missing).copied().unwrap_or(gaps[0]);
                        return Err(fail(
                            series.lines[g.after + 1],
                            Some(col),
                            format!(
                                "{total} dates missing from dates that step by {} ({} before this row), more than the \
                                 {} rows present: not filled",
                                dates::describe_step(unit, k),
                                g.missing,
                                series.lines.len()
                            ),
                        ));
                    }
                    if options.fill != Fill::None {
                        insert_gaps(&mut series, &mut columns, &parsed, &gaps, (unit, k), p);
                        for g in gaps.iter().rev() {
                            inserted.splice(g.after + 1..g.after + 1, std::iter::repeat_n(true, g.missing));
                        }
                    }
                }
            }
        }
        let missing: Vec<usize> = (0..series.lines.len()).filter(|&i| columns.iter().any(|c| c[i].is_nan())).collect();
        if !missing.is_empty() {
            let season = options.season.or_else(|| step.and_then(season_of)).unwrap_or(1);
            if options.fill == Fill::Seasonal && season < 2 {
                return Err(fail(
                    series.lines[missing[0]],
                    Some(&numeric[0]),
                    "a missing value to fill from one season back, but no season was given and the dates' step \
                     implies none"
                        .into(),
                ));
            }
            for (j, c) in columns.iter_mut().enumerate() {
                read::fill_missing(c, options.fill, season)
                    .map_err(|m| fail(series.lines.last().copied().unwrap_or(1), Some(&numeric[j]), m))?;
            }
            let where_: Vec<String> = missing
                .iter()
                .take(NAMED)
                .map(|&i| match (&series.dates, inserted[i]) {
                    (Some(d), true) => format!("{} (inserted)", d[i]),
                    _ => format!("line {}", series.lines[i]),
                })
                .collect();
            table.warnings.push(format!(
                "{}: {}: filled {} missing value{} ({}{}): {}{}",
                table.path.display(),
                series.name(),
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                options.fill,
                if options.fill == Fill::Seasonal { format!(", season {season}") } else { String::new() },
                where_.join(", "),
                if missing.len() > NAMED { ", ..." } else { "" }
            ));
        }
        let mut columns = columns.into_iter();
        series.values = columns.next().unwrap_or_default();
        series.features = columns.collect();
        table.series.push(series);
    }
    Ok(())
}

/// The season a regular step implies: 12 for months, 4 for quarters, 7 for days, 52 for
/// weeks, 24 for hours.
fn season_of((unit, k): (DateUnit, i64)) -> Option<usize> {
    match (unit, k) {
        (DateUnit::Month, 1) => Some(12),
        (DateUnit::Month, 3) => Some(4),
        (DateUnit::Day, 1) => Some(7),
        (DateUnit::Day, 7) => Some(52),
        (DateUnit::Second, 3600) => Some(24),
        _ => None,
    }
}

/// The pattern of the date column: the one asked for, else detected; `None` (labels, with a
/// warning) when the cells do not look like dates at all.
fn date_pattern(table: &mut Table, raw: &[Raw], col: &str, options: &ReadOptions) -> Result<Option<String>> {
    if let Some(p) = &options.date_format {
        return Ok(Some(p.clone()));
    }
    let all: Vec<String> = raw.iter().flat_map(|s| s.dates.iter().flatten().cloned()).collect();
    let lines: Vec<usize> = raw.iter().flat_map(|s| s.lines.iter().copied()).collect();
    match dates::detect(&all) {
        Detected::Pattern(p) => Ok(Some(p)),
        Detected::Ambiguous(fits) => {
            let i = all.iter().position(|d| fits.iter().all(|p| dates::parse_with(d, p).is_some())).unwrap_or(0);
            Err(Error::data(
                &table.path,
                lines.get(i).copied(),
                Some(col.to_string()),
                format!(
                    "dates such as \"{}\" read as {}: give the date format",
                    all[i],
                    fits.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(" and as ")
                ),
            ))
        }
        Detected::Unknown { first } => {
            let cell = &all[first];
            let looks_like_date = cell.bytes().any(|b| b.is_ascii_digit()) && cell.contains(['/', '-', '.', ':']);
            if looks_like_date {
                return Err(Error::data(
                    &table.path,
                    lines.get(first).copied(),
                    Some(col.to_string()),
                    format!(
                        "\"{cell}\" is not a date in a known spelling (YYYY, YYYY-MM, YYYY-MM-DD[ HH:MM[:SS]], \
                         MM/DD/YYYY, DD/MM/YYYY, DD.MM.YYYY): give the date format, e.g. %d/%m/%Y"
                    ),
                ));
            }
            table.warnings.push(format!(
                "{}: column {col}: \"{cell}\" (line {}) is not a date: the column is kept as labels, and forecasts \
                 number their rows",
                table.path.display(),
                lines.get(first).copied().unwrap_or(0)
            ));
            Ok(None)
        }
    }
}

/// Whether every date of `series` (at least two) reads with `pattern` and comes before the one
/// above it: a file written newest first, as many downloads of prices and rates are.
fn newest_first(series: &Series, pattern: &str) -> bool {
    let Some(cells) = series.dates.as_deref().filter(|c| c.len() >= 2) else { return false };
    let parsed: Option<Vec<Date>> = cells.iter().map(|c| dates::parse_with(c, pattern)).collect();
    parsed.is_some_and(|d| d.windows(2).all(|w| w[1].dt < w[0].dt))
}

/// Puts the rows of `series` (and its number `columns`) in the opposite order.
fn reverse(series: &mut Series, columns: &mut [Vec<f64>]) {
    if let Some(d) = series.dates.as_mut() {
        d.reverse();
    }
    series.lines.reverse();
    columns.iter_mut().for_each(|c| c.reverse());
}

/// The dates of `series` read with `pattern`, checked to increase.
fn check_dates(table: &Table, series: &Series, pattern: &str, col: &str) -> Result<Vec<Date>> {
    let cells = series.dates.as_deref().unwrap_or(&[]);
    let mut out: Vec<Date> = Vec::with_capacity(cells.len());
    for (i, cell) in cells.iter().enumerate() {
        let line = series.lines[i];
        let fail = |msg: String| Error::data(&table.path, Some(line), Some(col.to_string()), msg);
        let d = dates::parse_with(cell, pattern)
            .ok_or_else(|| fail(format!("\"{cell}\" does not match the date format {pattern}")))?;
        if let Some(prev) = out.last()
            && d.dt <= prev.dt
        {
            return Err(fail(format!(
                "date {cell} does not come after {} (line {}): rows must be in time order",
                cells[i - 1],
                series.lines[i - 1]
            )));
        }
        out.push(d);
    }
    Ok(out)
}

fn warn_gaps(table: &mut Table, s: &Series, gaps: &[dates::Gap], step: (DateUnit, i64), col: &str, fill: Fill) {
    let cells = s.dates.as_deref().unwrap_or(&[]);
    let named: Vec<String> = gaps
        .iter()
        .take(NAMED)
        .map(|g| {
            format!(
                "{} missing after {} (line {})",
                g.missing,
                cells.get(g.after).map_or("", String::as_str),
                s.lines.get(g.after).copied().unwrap_or(0)
            )
        })
        .collect();
    let total: usize = gaps.iter().map(|g| g.missing).sum();
    let what = if fill == Fill::None {
        "the rows around them are taken as consecutive steps".to_string()
    } else {
        format!("the missing dates are inserted and filled ({fill})")
    };
    table.warnings.push(format!(
        "{}: column {col}: {}: {total} date{} missing from dates that step by {} ({}{}): {what}",
        table.path.display(),
        s.name(),
        if total == 1 { "" } else { "s" },
        dates::describe_step(step.0, step.1),
        named.join(", "),
        if gaps.len() > NAMED { ", ..." } else { "" },
    ));
}

/// Inserts a missing row (NaN in every column) for every date absent in `gaps`.
fn insert_gaps(
    s: &mut Series,
    columns: &mut [Vec<f64>],
    parsed: &[Date],
    gaps: &[dates::Gap],
    (unit, k): (DateUnit, i64),
    pattern: &str,
) {
    for g in gaps.iter().rev() {
        let at = g.after + 1;
        for m in (1..=g.missing).rev() {
            let date = parsed[g.after].plus(unit, k * m as i64).map(|d| d.format(pattern)).unwrap_or_default();
            if let Some(ds) = s.dates.as_mut() {
                ds.insert(at, date);
            }
            s.lines.insert(at, s.lines[g.after]);
            for c in columns.iter_mut() {
                c.insert(at, f64::NAN);
            }
        }
    }
}
