//! Draws the charts the library writes, as PNG and SVG: a loss curve, a forecast, and the
//! gradient flow of real networks (a heatmap per layer and step, and the norm against the lag).
//!
//! `cargo run --release --example plot_demo -- [folder]` (default: the system's temp folder).

use std::path::{Path, PathBuf};

use ndarray::{Array3, s};
use rnn::nn::flow::GradFlow;
use rnn::plot::{Heatmap, LinePlot, LineStyle, NonPositive, Series, layer_labels};
use rnn::{Cell, Init, Model, ModelConfig, Nonlinearity, Readout, RnnConfig};

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
    gradient_flow(&dir)
}

/// The gradient of a loss on the last of 150 steps, at every hidden state of untrained networks:
/// a heatmap for a 3-layer bidirectional tanh RNN, and the norm against the time lag for three
/// 3-layer networks (colour: layer; line style: network).
fn gradient_flow(dir: &Path) -> rnn::Result<()> {
    let steps = 150;
    let flow_of = |rnn: RnnConfig| -> rnn::Result<GradFlow> {
        let x =
            Array3::from_shape_fn((steps, 8, rnn.input_size), |(t, b, i)| ((t * 7 + b * 3 + i) as f64 * 0.37).sin());
        let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 7)?;
        let trace = model.forward_eval(x.view(), None, Readout::EveryStep)?;
        let mut dy = Array3::<f64>::zeros(trace.y().raw_dim());
        dy.slice_mut(s![steps - 1, .., ..]).fill(1.0);
        let mut flow = GradFlow::new(model.rnn.config(), steps);
        model.backward_flow(&trace, dy.view(), &mut flow)?;
        Ok(flow)
    };

    let flow = flow_of(RnnConfig::new(4, 32).with_num_layers(3).with_bidirectional(true))?;
    let map = Heatmap::new("Gradient flow: 3-layer bidirectional tanh RNN, loss on the last step", flow.h)
        .with_row_labels(layer_labels(3, 2))
        .with_value_label("‖dL/dh_t‖");
    let (png, svg) = map.save(&dir.join("rnn_grad_flow"))?;
    println!("{}\n{}", png.display(), svg.display());

    let nets = [
        ("tanh", RnnConfig::new(4, 32), LineStyle::Solid),
        ("ReLU", RnnConfig::new(4, 32).with_nonlinearity(Nonlinearity::Relu), LineStyle::Dashed),
        ("LSTM", RnnConfig::new(4, 32).with_cell(Cell::Lstm), LineStyle::DashDot),
    ];
    let mut lines = Vec::new();
    for (name, rnn, style) in nets {
        let flow = flow_of(rnn.with_num_layers(3))?;
        for (l, row) in flow.h.rows().into_iter().enumerate() {
            // Lag k: the step k before the loss's.
            let points = (0..steps).map(|k| (k as f64, row[steps - 1 - k])).collect();
            lines.push(Series::solid(format!("{name}, layer {l}"), points).with_color(l).with_style(style));
        }
    }
    let lag = LinePlot::new("Gradient norm against time lag (loss on the last step)", "time lag", "‖dL/dh_t‖")
        .with_series(lines)
        .with_log_y(true)
        .with_nonpositive(NonPositive::Skip);
    let (png, svg) = lag.save(&dir.join("rnn_grad_lag"))?;
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
