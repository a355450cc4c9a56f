//! `rnn evaluate`: score a trained model on data against honest baselines; what it reports
//! depends on the task the model was trained for (its `rnn.task` metadata).

use anyhow::Result;
use rnn::model_file::{self, LoadOptions};

use super::args::evaluate::Args;

/// Runs `rnn evaluate`.
pub fn run(args: &Args) -> Result<()> {
    let loaded = model_file::load::<f64>(&args.model, &LoadOptions::default())?;
    super::common::warn_assumed(&args.model, &loaded, false);
    match rnn::tasks::kind(&loaded.metadata).as_deref() {
        Some("forecast") => super::forecast::evaluate(args, &loaded),
        Some("charlm") => super::charlm::evaluate(args, &loaded),
        Some("classify") => super::classify::evaluate(args, &loaded),
        _ => super::sequence::evaluate(args, &loaded),
    }
}
