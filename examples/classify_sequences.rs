//! Classify sequences from Rust code: the bundled 8x8 digits read one row of pixels per step
//! (8 steps of 8 features), an LSTM trained in memory, scored on held-out digits.
//!
//! `cargo run --release --example classify_sequences`

use ndarray::Axis;
use rnn::data::{Dataset, Targets};
use rnn::loss::Loss;
use rnn::tasks::classify::{self, Metrics};
use rnn::train::{Silent, TrainConfig, Trainer};
use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};

fn main() -> Result<(), rnn::Error> {
    // x [N, 8, 8] (a row of pixels per step), labels 0..9
    let (x, labels) = classify::read_digits("data/digits.csv.gz".as_ref())?;
    let (rest, test) = classify::stratified_split(labels.as_slice().unwrap_or(&[]), 0.2, 0)?;
    let subset = |rows: &[usize]| {
        let y = labels.select(Axis(0), rows).insert_axis(Axis(1));
        Dataset::new(x.select(Axis(0), rows), Targets::Classes(y), None)
    };
    let (train, test_set) = (subset(&rest)?, subset(&test)?);

    let rnn = RnnConfig::new(8, 64).with_cell(Cell::Lstm);
    let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(10) }, Init::PyTorch, 0)?;
    let config = TrainConfig::default().with_epochs(30).with_batch_size(32).with_lr(3e-3).with_loss(Loss::CrossEntropy);
    let mut trainer = Trainer::new(model, config)?;
    let report = trainer.fit_in_memory(&train, Some(&test_set), &mut Silent)?;
    let model = trainer.into_final_model();

    let predicted = classify::predict(&model, test_set.inputs().view())?;
    let truth: Vec<usize> = test.iter().map(|&r| labels[r]).collect();
    let metrics = Metrics::new(&truth, &predicted, 10)?;
    println!(
        "{} epochs (weights of epoch {}); held-out accuracy {:.2}% on {} digits",
        report.history.len(),
        report.final_epoch,
        100.0 * metrics.accuracy(),
        metrics.total()
    );
    let p = classify::probabilities(&model, test_set.inputs().view())?;
    println!("first test digit: class {} with probability {:.3}", predicted[0], p[[0, predicted[0]]]);
    Ok(())
}
