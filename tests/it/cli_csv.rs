//! Real-world CSV files through the binary: delimiters (given or sniffed: `;`, tab, `|`), decimal commas,
//! day-first and month-first dates, gaps in a date column, missing values filled or refused;
//! every failure is one line naming the file and line, exits 1 and writes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rnn")).args(args).output().unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A small, fast training run on `csv` (plus `extra`); returns stderr.
fn train(csv: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--task",
        "forecast",
        "--data",
        p(csv),
        "--out",
        p(out),
        "--epochs",
        "2",
        "--hidden",
        "4",
        "--transform",
        "residual",
        "--window",
        "4",
        "--season",
        "1",
        "--ensemble",
        "1",
    ];
    args.extend_from_slice(extra);
    rnn(&args)
}

fn ok(o: &Output) -> (String, String) {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    (String::from_utf8_lossy(&o.stdout).into_owned(), err)
}

/// Exit 1, one line `rnn: FILE: ...` containing `expected`, no model written.
fn refused(o: &Output, file: &Path, out: &Path, expected: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("rnn: {}: ", file.display())), "{err}");
    assert!(err.contains(expected), "expected {expected:?} in {err}");
    assert!(!out.exists(), "a model was written: {err}");
}

/// `date<sep>value` rows: dates from `date(t)`, values from `value(t)`.
fn write(
    dir: &Path,
    name: &str,
    sep: &str,
    date: impl Fn(usize) -> String,
    value: impl Fn(usize) -> String,
) -> PathBuf {
    let mut text = format!("date{sep}value\n");
    for t in 0..60 {
        text += &format!("{}{sep}{}\n", date(t), value(t));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn day(t: usize) -> jiff::civil::Date {
    jiff::civil::date(2020, 1, 1).checked_add(jiff::Span::new().days(t as i64)).unwrap()
}

fn wave(t: usize) -> f64 {
    10.0 + (t as f64 * 0.7).sin() * 3.0 + t as f64 * 0.1
}

#[test]
fn semicolons_tabs_and_decimal_commas() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let semi = write(d, "semi.csv", ";", |t| day(t).to_string(), |t| format!("{:.2}", wave(t)).replace('.', ","));
    let tab = write(d, "tab.csv", "\t", |t| day(t).to_string(), |t| format!("{:.2}", wave(t)));
    let pipe = write(d, "pipe.csv", "|", |t| day(t).to_string(), |t| format!("{:.2}", wave(t)));
    for (file, extra) in [
        (&semi, vec![]),
        (&semi, vec!["--delimiter", ";"]),
        (&tab, vec![]),
        (&tab, vec!["--delimiter", "tab"]),
        (&pipe, vec![]),
    ] {
        let out = d.join("m.safetensors");
        ok(&train(file, &out, &extra));
        let (csv, _) = ok(&rnn(&["forecast", "--model", p(&out), "--data", p(file), "--steps", "2"]));
        assert!(csv.starts_with("date,value") && csv.contains("\n2020-03-01,"), "{csv}");
        std::fs::remove_file(&out).unwrap();
    }
    // the wrong delimiter, a bad one, and a decimal point among decimal commas
    let out = d.join("m.safetensors");
    refused(&train(&semi, &out, &["--delimiter", ","]), &semi, &out, "cells but the header has 1");
    let o = train(&semi, &out, &["--delimiter", "ab"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--delimiter: expected one character"));
    let mixed =
        write(d, "mixed.csv", ";", |t| day(t).to_string(), |t| if t == 7 { "2.5".into() } else { "1,5".into() });
    refused(&train(&mixed, &out, &[]), &mixed, &out, "line 9, column 2 (value): \"2.5\" has a decimal point");
}

#[test]
fn us_and_european_dates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("m.safetensors");
    // month-first, unambiguous (days past 12): read, and the forecast continues in that spelling
    let us = write(d, "us.csv", ",", |t| day(t + 15).strftime("%m/%d/%Y").to_string(), |t| wave(t).to_string());
    ok(&train(&us, &out, &[]));
    let (csv, _) = ok(&rnn(&["forecast", "--model", p(&out), "--data", p(&us), "--steps", "2"]));
    assert!(csv.contains("\n03/16/2020,") && csv.contains("\n03/17/2020,"), "{csv}");
    std::fs::remove_file(&out).unwrap();
    // ambiguous: refused until the format is given
    let amb = write(d, "amb.csv", ",", |t| format!("{:02}/01/{}", t % 12 + 1, 1950 + t / 12), |t| wave(t).to_string());
    refused(
        &train(&amb, &out, &[]),
        &amb,
        &out,
        "line 2, column 1 (date): dates such as \"01/01/1950\" read as %m/%d/%Y and as %d/%m/%Y",
    );
    ok(&train(&amb, &out, &["--date-format", "%m/%d/%Y"]));
    let (csv, _) = ok(&rnn(&["forecast", "--model", p(&out), "--data", p(&amb), "--steps", "1"]));
    assert!(csv.contains("\n01/01/1955,"), "monthly step expected: {csv}");
    std::fs::remove_file(&out).unwrap();
    // a format that does not fit, and a date no known spelling reads
    refused(
        &train(&us, &out, &["--date-format", "%d.%m.%Y"]),
        &us,
        &out,
        "line 2, column 1 (date): \"01/16/2020\" does not match the date format %d.%m.%Y",
    );
    let bad = write(
        d,
        "bad.csv",
        ",",
        |t| if t == 5 { "2020-13-45".into() } else { day(t).to_string() },
        |t| wave(t).to_string(),
    );
    refused(&train(&bad, &out, &[]), &bad, &out, "line 7, column 1 (date): \"2020-13-45\" is not a date");
}

#[test]
fn gaps_are_named_and_missing_values_filled_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("m.safetensors");
    // days 10 and 11 absent
    let gap = write(d, "gap.csv", ",", |t| day(if t >= 10 { t + 2 } else { t }).to_string(), |t| wave(t).to_string());
    let (_, err) = ok(&train(&gap, &out, &[]));
    assert!(
        err.contains("warning")
            && err.contains("2 dates missing from dates that step by 1 day (2 missing after 2020-01-10 (line 11))"),
        "{err}"
    );
    std::fs::remove_file(&out).unwrap();
    // a missing value: refused by default, naming its line; filled by each method
    let na =
        write(d, "na.csv", ",", |t| day(t).to_string(), |t| if t == 20 { "NA".into() } else { wave(t).to_string() });
    refused(&train(&na, &out, &[]), &na, &out, "line 22, column 2 (value): \"NA\": a missing value");
    for fill in ["previous", "linear", "seasonal"] {
        let (_, err) = ok(&train(&na, &out, &["--fill", fill]));
        assert!(err.contains(&format!("filled 1 missing value ({fill}")), "{fill}: {err}");
        // the model remembers its fill: evaluate and forecast read the file the same way
        ok(&rnn(&["evaluate", "--model", p(&out), "--data", p(&na)]));
        ok(&rnn(&["forecast", "--model", p(&out), "--data", p(&na)]));
        std::fs::remove_file(&out).unwrap();
    }
    // the gap filled too: the inserted dates are named
    let (_, err) = ok(&train(&gap, &out, &["--fill", "linear"]));
    assert!(err.contains("filled 2 missing values (linear): 2020-01-11 (inserted), 2020-01-12 (inserted)"), "{err}");
    let o = train(&na, &out, &["--fill", "sometimes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown fill `sometimes`"));
}

/// A file written newest first (as many downloads of prices are) is read oldest first, with a
/// warning, to the same model and forecast as the same rows in time order; dates that go up and
/// then down are still refused.
#[test]
fn newest_first_rows_are_read_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let up = write(d, "up.csv", ",", |t| day(t).to_string(), |t| format!("{:.2}", wave(t)));
    let down = write(d, "down.csv", ",", |t| day(59 - t).to_string(), |t| format!("{:.2}", wave(59 - t)));
    let mut forecasts = Vec::new();
    for file in [&up, &down] {
        let out = d.join(format!("{}.safetensors", file.file_stem().unwrap().to_str().unwrap()));
        let (_, err) = ok(&train(file, &out, &[]));
        let warned = err.contains("the rows run newest first (2020-02-29 on line 2 to 2020-01-01 on line 61)");
        assert_eq!(warned, file == &down, "{err}");
        let (csv, _) = ok(&rnn(&["forecast", "--model", p(&out), "--data", p(file), "--steps", "2", "--no-refit"]));
        forecasts.push(csv);
    }
    assert!(forecasts[0].contains("\n2020-03-01,"), "{}", forecasts[0]);
    assert_eq!(forecasts[0], forecasts[1]);
    let zigzag =
        write(d, "zigzag.csv", ",", |t| day(if t < 30 { t } else { 100 - t }).to_string(), |t| wave(t).to_string());
    let out = d.join("z.safetensors");
    refused(&train(&zigzag, &out, &[]), &zigzag, &out, "rows must be in time order");
}

/// A file without a header row is refused naming its first row, not asked which of its
/// "columns" (values) to forecast.
#[test]
fn a_file_without_a_header_row_is_named_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let with = write(d, "with.csv", ",", |t| day(t).to_string(), |t| format!("{:.2}", wave(t)));
    let text = std::fs::read_to_string(&with).unwrap();
    let without = d.join("without.csv");
    std::fs::write(&without, text.split_once('\n').unwrap().1).unwrap();
    let out = d.join("m.safetensors");
    let expected = "line 1: the first row holds values (\"2020-01-01\", \"10.00\"), not column names";
    refused(&train(&without, &out, &[]), &without, &out, expected);
}

/// Thousands separators: `"1,234.50"` and `1.234,50` read as 1234.5; numbers such as `1,234`
/// alone (1.234 or 1234?) are refused until the decimal mark is given, which the model keeps.
#[test]
fn thousands_separators_and_the_decimal_mark() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = |t: usize| 1000.0 + wave(t) * 10.0;
    let us = write(
        d,
        "us.csv",
        ",",
        |t| day(t).to_string(),
        |t| {
            let v = format!("{:.2}", big(t));
            format!("\"{},{}\"", &v[..1], &v[1..])
        },
    );
    let eu = write(
        d,
        "eu.csv",
        ";",
        |t| day(t).to_string(),
        |t| {
            let v = format!("{:.2}", big(t)).replace('.', ",");
            format!("{}.{}", &v[..1], &v[1..])
        },
    );
    let plain = write(d, "plain.csv", ",", |t| day(t).to_string(), |t| format!("{:.2}", big(t)));
    let ints = write(
        d,
        "ints.csv",
        ",",
        |t| day(t).to_string(),
        |t| {
            let v = format!("{:.0}", big(t));
            format!("\"{},{}\"", &v[..1], &v[1..])
        },
    );
    let mut forecasts = Vec::new();
    for file in [&plain, &us, &eu] {
        let out = d.join("m.safetensors");
        ok(&train(file, &out, &[]));
        let (csv, _) = ok(&rnn(&["forecast", "--model", p(&out), "--data", p(file), "--steps", "2", "--no-refit"]));
        forecasts.push(csv);
        std::fs::remove_file(&out).unwrap();
    }
    assert!(forecasts.iter().all(|f| f == &forecasts[0]), "{forecasts:?}");
    let out = d.join("m.safetensors");
    let first = format!("{:.0}", big(0));
    let cell = format!("\"{},{}\"", &first[..1], &first[1..]);
    let expected =
        format!("line 2, column 2 (value): {cell} reads as {}.{} with a decimal comma", &first[..1], &first[1..]);
    refused(&train(&ints, &out, &[]), &ints, &out, &expected);
    ok(&train(&ints, &out, &["--decimal", "point"]));
    // the model keeps the mark: forecast reads the file without being told again
    let (csv, _) = ok(&rnn(&["forecast", "--model", p(&out), "--data", p(&ints), "--steps", "1", "--no-refit"]));
    let value: f64 = csv.lines().nth(1).unwrap().split(',').nth(1).unwrap().parse().unwrap();
    assert!((900.0..1200.0).contains(&value), "{csv}");
}

/// A model with features forecasts at most its horizon past the end (the features' future is
/// unknown): more steps are refused, saying how many it can and how many were asked.
#[test]
fn features_bound_the_steps_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = "date,value,temp\n".to_string();
    for t in 0..60 {
        text += &format!("{},{:.2},{:.2}\n", day(t), wave(t), 20.0 + (t as f64 * 0.3).cos());
    }
    let file = d.join("feat.csv");
    std::fs::write(&file, text).unwrap();
    let out = d.join("m.safetensors");
    ok(&train(&file, &out, &["--features", "temp"]));
    let o = rnn(&["forecast", "--model", p(&out), "--data", p(&file), "--steps", "3", "--no-refit"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "reads the features temp whose future is unknown: it forecasts at most 1 step (its horizon), not 3"
        ),
        "{err}"
    );
}
