//! The networks' own forecasts (the ensemble's mean, before any combination) from every
//! validation and test origin of a forecasting model, as JSON on stdout:
//! `{"val": {"origins": [..], "model": [[..], ..]}, "test": {..}}` (single-series models).
//! `tests/forecast/rules.py` combines them with statistical forecasts to compare combination
//! rules:
//!
//! ```sh
//! cargo run --release --example forecast_members -- M.safetensors data/airline_passengers.csv
//! ```
use rnn::model_file::{self, LoadOptions};
use rnn::tasks::forecast::{ForecastMeta, Part, table};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, data] = args.as_slice() else {
        return Err("usage: forecast_members MODEL.safetensors DATA.csv".into());
    };
    let (model, data) = (std::path::Path::new(model), std::path::Path::new(data));
    let loaded = model_file::load::<f64>(model, &LoadOptions::default())?;
    let meta = ForecastMeta::from_metadata(&loaded.metadata, model)?;
    let table = table::read_with(data, meta.columns(), &meta.read)?;
    let networks = meta.load_networks(model, &loaded.model)?;
    let alone = ForecastMeta { combine: None, combine_log: None, combine_hw: None, ..meta };
    let mut out = serde_json::Map::new();
    for (name, part) in [("val", Part::Validation), ("test", Part::Test)] {
        let (_, forecasts) = alone.evaluate(&networks, &table, part, None)?;
        let f = forecasts.first().ok_or("no series")?;
        out.insert(name.into(), serde_json::json!({ "origins": f.origins, "model": f.model }));
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
