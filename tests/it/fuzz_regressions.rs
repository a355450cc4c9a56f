//! Inputs that once hung, panicked or allocated without bound, each named after its bug: found
//! by the size audit of issue 12 and by fuzzing (`fuzz/`, `tests/fuzz_smoke.rs`). Each runs
//! the library call that failed, or the fuzz target body (`rnn::fuzz`) on the saved input.

use std::path::Path;
use std::time::{Duration, Instant};

use rnn::tasks::forecast::{Plan, Settings, table};

fn series(rows: usize) -> table::Table {
    let csv: String = std::iter::once("year,value".to_string())
        .chain((0..rows).map(|i| format!("{},{}", 1900 + i, (i as f64 * 0.3).sin())))
        .collect::<Vec<_>>()
        .join("\n");
    table::parse(csv.as_bytes(), Path::new("s.csv"), &Default::default()).unwrap()
}

/// `rnn train --task forecast --horizon 18446744073709551615` never returned: the search for
/// the rows needed overflowed and looped.
#[test]
fn a_horizon_of_usize_max_is_refused_at_once() {
    let table = series(20);
    let started = Instant::now();
    for settings in [
        Settings { horizon: usize::MAX, ..Settings::default() },
        Settings { window: Some(usize::MAX), ..Settings::default() },
        Settings { season: Some(usize::MAX), ..Settings::default() },
    ] {
        let err = Plan::new(&table, &settings).unwrap_err().to_string();
        assert!(err.contains("is not shorter than the longest series (20 rows)"), "{err}");
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// `rnn forecast --steps 18446744073709551615` panicked with `capacity overflow`.
#[test]
fn forecast_steps_past_the_maximum_are_an_error() {
    use rnn::tasks::forecast::MAX_FORECAST_STEPS;
    let table = series(60);
    let plan = Plan::new(&table, &Settings::default()).unwrap();
    let meta = plan.meta(&table, plan.candidates[0]).unwrap();
    let config = rnn::ModelConfig { rnn: rnn::RnnConfig::new(meta.input_size(), 4), output_size: Some(meta.horizon) };
    let model = rnn::Model::<f64>::new(config, rnn::Init::PyTorch, 0).unwrap();
    let err = meta.forecast(std::slice::from_ref(&model), &table, usize::MAX).unwrap_err().to_string();
    assert!(err.contains(&format!("at most {MAX_FORECAST_STEPS}")), "{err}");
}

/// A one-hot character dataset whose size overflows is an error, not an aborted allocation.
#[test]
fn a_one_hot_dataset_that_overflows_is_an_error() {
    let layout = rnn::tasks::charlm::StreamLayout::new(1000, 4, 25).unwrap();
    assert!(layout.dataset_bytes(usize::MAX, 4).is_err());
    assert!(layout.dataset::<f32>(&[0; 1000], usize::MAX).is_err());
}

/// Found by libFuzzer (`npy` target, `-malloc_limit_mb=256`): a 106-byte `.npy` of format 3
/// whose header-length field claims 662 MB made `ndarray-npy` allocate that much before
/// reading the header.
#[test]
fn an_npy_header_length_past_the_file_is_refused_before_allocating() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/npy_header_length_oom.npy");
    let bytes = std::fs::read(&path).unwrap();
    let err = rnn::io::npy::parse(&bytes).unwrap_err();
    assert!(err.starts_with("the file is truncated: its header claims 662372470 bytes"), "{err}");
    rnn::fuzz::npy(&bytes);
    // a format 1 header's 16-bit length is checked too
    let mut short = b"\x93NUMPY\x01\x00\xff\xff{}".to_vec();
    assert!(rnn::io::npy::parse(&short).unwrap_err().contains("header claims 65535 bytes"));
    short.truncate(9);
    assert!(rnn::io::npy::parse(&short).unwrap_err().contains("inside its header's length"));
}

/// Found by libFuzzer (`npy` target, as slow units): a 132-byte header of nested `(0,({ {`
/// took 33 s in the header parser, which backtracks; headers nesting more than 3 deep are
/// refused before parsing.
#[test]
fn an_npy_header_of_nested_brackets_is_refused_at_once() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/npy_nested_header_slow.npy");
    let bytes = std::fs::read(&path).unwrap();
    let started = Instant::now();
    let err = rnn::io::npy::parse(&bytes).unwrap_err();
    assert!(err.contains("nests brackets more than 3 deep"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}
