//! Draws the two kinds of chart the library writes, a loss curve and a forecast, as PNG and SVG.
//!
//! `cargo run --release --example plot_demo -- [folder]` (default: the system's temp folder).

use std::path::PathBuf;

use rnn::plot::{LinePlot, Series};

fn main() -> rnn::Result<()> {
    let dir = std::env::args().nth(1).map_or_else(std::env::temp_dir, PathBuf::from);

    // Loss over 30 epochs: training keeps falling, validation levels off and turns up.
    let epochs = 1..=30;
    let train = epochs.clone().map(|e| {
        let e = f64::from(e);
        (e, 0.015 + 0.9 * (-e / 5.0).exp() + 0.004 * (e * 1.7).sin())
    });
    let valid = epochs.map(|e| {
        let e = f64::from(e);
        (e, 0.035 + 0.95 * (-e / 5.5).exp() + 0.0006 * (e - 18.0).max(0.0).powi(2))
    });
    let loss = LinePlot::new("Training loss", "epoch", "MSE loss")
        .with_series([Series::solid("train", train.collect()), Series::dashed("validation", valid.collect())])
        .with_log_y(true);
    let (png, svg) = loss.save(&dir.join("rnn_loss"))?;
    println!("{}\n{}", png.display(), svg.display());

    // A daily series, 120 days: history, then the actual values and two forecasts over the last 30.
    let days: Vec<String> = (0..120).map(date).collect();
    let truth = |t: f64| 20.0 + 0.05 * t + 6.0 * (t * std::f64::consts::TAU / 30.0).sin() + 1.5 * (t * 1.3).sin();
    let split = 90;
    let actual: Vec<(f64, f64)> = (0..120).map(|t| (f64::from(t), truth(f64::from(t)))).collect();
    let rnn_fc: Vec<(f64, f64)> = (split..120)
        .map(|t| {
            let t = f64::from(t);
            (t, truth(t) - 1.5 * (t * 1.3).sin() + 0.04 * (t - 90.0))
        })
        .collect();
    let naive: Vec<(f64, f64)> = (split..120).map(|t| (f64::from(t), truth(89.0))).collect();
    let forecast = LinePlot::new("Daily demand: 30-day forecast", "date", "units")
        .with_series([
            Series::solid("actual", actual),
            Series::dashed("RNN forecast", rnn_fc),
            Series::dotted("naive (last value)", naive),
        ])
        .with_dates(days)
        .with_marker(f64::from(split) - 0.5, "test split");
    let (png, svg) = forecast.save(&dir.join("rnn_forecast"))?;
    println!("{}\n{}", png.display(), svg.display());
    Ok(())
}

/// `2024-01-01` plus `day` days (2024 is a leap year).
fn date(day: u32) -> String {
    const MONTHS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut month, mut d) = (0, day);
    while month < 11 && d >= MONTHS[month] {
        d -= MONTHS[month];
        month += 1;
    }
    format!("2024-{:02}-{:02}", month + 1, d + 1)
}
