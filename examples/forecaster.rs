//! Train a forecaster from Rust code, in memory (no file written): the bundled yearly sunspot
//! numbers, the window, season and transformation chosen from the data as `rnn train --task
//! forecast` chooses them, scored on the test split against persistence and seasonal naive.
//!
//! `cargo run --release --example forecaster [-- data/other.csv]`

use rnn::data::Dataset;
use rnn::tasks::forecast::{Columns, Part, Plan, Settings, select, table};
use rnn::train::{Silent, TrainConfig, Trainer};
use rnn::{Init, Model, ModelConfig, RnnConfig};

fn main() -> Result<(), rnn::Error> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "data/sunspots_yearly.csv".into());
    // the date and value columns are found by their names
    let table = table::read(path.as_ref(), &Columns::default())?;
    let plan = Plan::new(&table, &Settings::default())?;
    let tried: Vec<String> = plan.candidates.iter().map(ToString::to_string).collect();
    println!("window {}, season {}, transformations tried: {}", plan.window, plan.season, tried.join(", "));

    // three networks (seeds) per candidate transformation; the best transformations on the
    // validation split kept, the forecast the mean of their networks'
    let train = |meta: &rnn::tasks::forecast::ForecastMeta, seed: u64, train: &Dataset<f32>, val: &Dataset<f32>| {
        let rnn = RnnConfig::new(meta.input_size(), 32).with_num_layers(2);
        let model = Model::new(ModelConfig { rnn, output_size: Some(meta.horizon) }, Init::PyTorch, seed)?;
        let config = TrainConfig::default()
            .with_epochs(150)
            .with_batch_size(16)
            .with_lr(3e-3)
            .with_patience(Some(20))
            .with_seed(seed);
        let mut trainer = Trainer::new(model, config)?;
        trainer.fit_in_memory(train, Some(val), &mut Silent)?;
        Ok(trainer.into_final_model())
    };
    let (meta, models) = select::<f32>(&plan, &table, &[7, 8, 9], train)?;

    // rolling one-step forecasts over the test split, with the baselines on the same origins
    let (test, _) = meta.evaluate(&models, &table, Part::Test, None)?;
    println!("{}\n{}", test.legend(Part::Test, meta.horizon), test.table());
    let next = meta.forecast(&models, &table, 5)?.remove(0);
    println!("the next 5 values: {next:.1?}");
    Ok(())
}
